//! Guards against hostile or mistaken input, shared by every parser and reader:
//!
//! * [`quote`] — what an error message shows of the user's text: at most [`QUOTE_CHARS`]
//!   characters, then `…` and the full length, control characters escaped (`\0`, `\n`,
//!   `\u{1b}`); so an error on a
//!   10 MB line is still one short line;
//! * [`suggest`] / [`did_you_mean`] — the nearest known name for a misspelt one (`gama` →
//!   `gamma`), by Damerau–Levenshtein distance;
//! * [`memory_budget`] / [`check_memory`] — how much memory this process may still allocate
//!   (available physical memory, the cgroup limit, and the address-space and data-segment
//!   limits of `setrlimit`, whichever is smallest), so that a job that cannot fit is refused up
//!   front with the figure it would need, instead of aborting on a failed allocation.

use crate::error::{Error, Result};

/// Characters of the user's text an error message quotes at most.
pub const QUOTE_CHARS: usize = 40;

/// At most [`QUOTE_CHARS`] characters of `s`, with control characters escaped (`\n`, `\u{1b}`);
/// a longer text is cut and ends in `…` with its length in bytes.
pub fn quote(s: &str) -> String {
    quote_of(s, s.len())
}

/// [`quote`] of bytes that may not be UTF-8 (invalid sequences shown as U+FFFD).
pub fn quote_bytes(b: &[u8]) -> String {
    // Enough bytes for QUOTE_CHARS characters of up to 4 bytes, and one more.
    let head = &b[..b.len().min(4 * QUOTE_CHARS + 4)];
    quote_of(&String::from_utf8_lossy(head), b.len())
}

/// [`quote_bytes`] of the start of a text whose length is unknown: `…` without a length.
pub fn quote_start(b: &[u8]) -> String {
    let q = quote_bytes(b);
    match q.rfind("… (") {
        Some(i) => format!("{}…", &q[..i]),
        None => q,
    }
}

/// The first [`QUOTE_CHARS`] characters of `s`, escaped, then `… (len bytes)` when `s` has more
/// or is the head of a longer text of `len` bytes.
fn quote_of(s: &str, len: usize) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    for c in chars.by_ref().take(QUOTE_CHARS) {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    if chars.next().is_some() || len > s.len() {
        out.push_str(&format!("… ({len} bytes)"));
    }
    out
}

/// The candidate nearest to `given`: the smallest Damerau–Levenshtein distance (case
/// ignored), when it is at most max(1, ⌊len/3⌋) edits — or else a candidate that starts with
/// `given` (3 characters or more). `None` when nothing is close.
pub fn suggest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let g = given.trim().to_lowercase();
    if g.is_empty() {
        return None;
    }
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let limit = (g.chars().count() / 3).max(1);
    let nearest = candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&g, &c.to_lowercase()), *c))
        .min_by_key(|(d, _)| *d);
    match nearest {
        Some((d, c)) if d <= limit && d > 0 => Some(c),
        Some((0, _)) => None,
        _ if g.chars().count() >= 3 => candidates
            .iter()
            .copied()
            .find(|c| c.to_lowercase().starts_with(&g)),
        _ => None,
    }
}

/// `did you mean 'gamma'? ` (with the trailing space) when [`suggest`] finds a name, else
/// nothing: meant to be put in front of the list of known names.
pub fn did_you_mean<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    suggest(given, candidates).map_or_else(String::new, |s| format!("did you mean '{s}'? "))
}

/// `8.0 GiB`: a byte count for people, in binary units.
pub fn fmt_bytes(b: u64) -> String {
    const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Bytes this process may still allocate: the smallest of the available physical memory
/// (`MemAvailable`), the cgroup's limit less its usage, and the soft `RLIMIT_AS` / `RLIMIT_DATA`
/// limits less what is mapped already. `None` where none of these is known (other systems).
pub fn memory_budget() -> Option<u64> {
    let mut budget: Option<u64> = None;
    let mut take = |v: Option<u64>| {
        if let Some(v) = v {
            budget = Some(budget.map_or(v, |b| b.min(v)));
        }
    };
    take(meminfo_available());
    take(cgroup_available());
    take(rlimit_available());
    budget
}

/// Fails with `what` and the figures when `bytes` exceed [`memory_budget`]; passes when the
/// budget is unknown.
pub fn check_memory(bytes: u64, what: impl FnOnce() -> String) -> Result<()> {
    match memory_budget() {
        Some(budget) if bytes > budget => Err(Error::input(format!(
            "{} would need {} of memory, more than the {} available to klgrid",
            what(),
            fmt_bytes(bytes),
            fmt_bytes(budget)
        ))),
        _ => Ok(()),
    }
}

/// A `kB` field of a `/proc` status-like file, in bytes.
fn proc_kb(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line[key.len()..]
        .trim_start_matches(':')
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    kb.checked_mul(1024)
}

fn meminfo_available() -> Option<u64> {
    proc_kb(
        &std::fs::read_to_string("/proc/meminfo").ok()?,
        "MemAvailable",
    )
}

/// cgroup v2: `memory.max − memory.current` of this process's cgroup.
fn cgroup_available() -> Option<u64> {
    let cg = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cg.lines().find_map(|l| l.strip_prefix("0::"))?.trim();
    let dir = std::path::Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let max: u64 = std::fs::read_to_string(dir.join("memory.max"))
        .ok()?
        .trim()
        .parse()
        .ok()?; // "max": no limit
    let current: u64 = std::fs::read_to_string(dir.join("memory.current"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    Some(max.saturating_sub(current))
}

#[cfg(unix)]
fn rlimit_available() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let soft = |resource| {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes one rlimit into the struct we own.
        let ok = unsafe { libc::getrlimit(resource, &mut r) } == 0;
        // rlim_t is not u64 on every platform.
        #[allow(clippy::unnecessary_cast)]
        let cur = r.rlim_cur as u64;
        (ok && r.rlim_cur != libc::RLIM_INFINITY).then_some(cur)
    };
    let used = |key| proc_kb(&status, key).unwrap_or(0);
    let mut best: Option<u64> = None;
    for (limit, in_use) in [
        (soft(libc::RLIMIT_AS), used("VmSize")),
        (soft(libc::RLIMIT_DATA), used("VmData")),
    ] {
        if let Some(l) = limit {
            let left = l.saturating_sub(in_use);
            best = Some(best.map_or(left, |b| b.min(left)));
        }
    }
    best
}

#[cfg(not(unix))]
fn rlimit_available() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_short_and_escape_control_characters() {
        assert_eq!(quote("abc"), "abc");
        assert_eq!(quote("a\nb\u{1b}\0"), "a\\nb\\u{1b}\\0");
        let long = "x".repeat(10_000_000);
        let q = quote(&long);
        assert!(q.starts_with(&"x".repeat(QUOTE_CHARS)), "{q}");
        assert!(q.ends_with("… (10000000 bytes)"), "{q}");
        assert!(q.chars().count() < QUOTE_CHARS + 30);
        let qb = quote_bytes(&vec![0u8; 5_000_000]);
        assert!(qb.ends_with("… (5000000 bytes)") && qb.len() < 400, "{qb}");
        assert_eq!(quote_bytes(b"1.5"), "1.5");
    }

    #[test]
    fn suggestions_pick_the_nearest_name_or_a_prefix() {
        let fams = ["normal", "gamma", "beta", "student_t", "negative_binomial"];
        assert_eq!(suggest("gama", fams), Some("gamma"));
        assert_eq!(suggest("Normall", fams), Some("normal"));
        assert_eq!(suggest("student-t", fams), Some("student_t"));
        assert_eq!(suggest("neg", fams), Some("negative_binomial"));
        assert_eq!(suggest("zzzzzz", fams), None);
        assert_eq!(suggest("normal", fams), None);
        assert_eq!(suggest("sigm", ["mu", "sigma"]), Some("sigma"));
        assert_eq!(did_you_mean("rte", ["rate"]), "did you mean 'rate'? ");
        assert_eq!(did_you_mean("q", ["rate"]), "");
    }

    #[test]
    fn byte_counts_are_written_in_binary_units() {
        assert_eq!(fmt_bytes(512), "512 bytes");
        assert_eq!(fmt_bytes(8 << 30), "8.0 GiB");
        assert_eq!(fmt_bytes(1536), "1.5 KiB");
    }

    #[test]
    fn the_memory_budget_refuses_what_cannot_fit() {
        // Nothing has an exbibyte to spare; a kibibyte always fits.
        if memory_budget().is_some() {
            let e = check_memory(1 << 60, || "a test".into()).unwrap_err();
            assert!(
                e.to_string().starts_with("a test would need 1.0 EiB"),
                "{e}"
            );
        }
        check_memory(1024, || "a test".into()).unwrap();
    }
}
