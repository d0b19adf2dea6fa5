//! `--sample 'FAMILY(p=v, ...)'`: a distribution to draw synthetic data from.
//!
//! Draws come in blocks of [`BLOCK`] samples, block k from its own generator seeded from
//! (seed, k), so the data depend neither on the thread count nor on how they are consumed: all
//! at once into memory ([`SampleSpec::draw`]) or streamed block after block like a file
//! ([`DrawReader`], for `-n` beyond [`DRAW_IN_MEMORY`]); both give the same samples, bitwise.
//!
//! Every drawn sample goes through the checks of data read from a file
//! ([`crate::input::check`]: finite, an integer for a discrete swept family) and must lie in the
//! support of the spec's own family: parameters too extreme for double precision
//! (`normal(mu=1e308, sigma=1e308)` overflows to ±∞, `gamma(shape=1e-5)` rounds to 0) are an
//! input error naming the spec and the first bad draw, not silently wrong data.

use crate::error::{Error, Result};
use crate::guard::{check_memory, did_you_mean, quote};
use crate::input::check::Checker;
use crate::input::{Compression, Format, InputInfo, Position, SampleReader};
use crate::model::{lookup, Family};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rayon::prelude::*;

/// Default seed of `--sample` when `--seed` is not given.
pub const DEFAULT_SEED: u64 = 42;

/// Samples drawn per independently seeded block (the draw does not depend on the thread count).
pub const BLOCK: usize = 1 << 16;

/// Largest `-n` drawn into memory by the command line (2²⁵ samples, 256 MiB); more are streamed
/// with a [`DrawReader`], like a file of that size (and analysed as one: the parts of the
/// analysis that need the samples themselves are left out with a note).
pub const DRAW_IN_MEMORY: u64 = 1 << 25;

/// Largest `-n`: 2⁵³, the largest count that f64 sums and means hold exactly.
pub const MAX_DRAWS: u64 = 1 << 53;

/// Blocks a [`DrawReader`] draws at once, in parallel (4 Mi samples, 32 MiB).
const PAR_BLOCKS: usize = 64;

/// A parsed distribution specification.
#[derive(Clone)]
pub struct SampleSpec {
    pub family: &'static dyn Family,
    /// Parameters in the family's canonical order.
    pub theta: Vec<f64>,
}

impl std::fmt::Debug for SampleSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self)
    }
}

impl std::fmt::Display for SampleSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .family
            .params()
            .iter()
            .zip(&self.theta)
            .map(|(p, &v)| format!("{}={}", p.name, fmt_param(v)))
            .collect();
        write!(f, "{}({})", self.family.name(), parts.join(", "))
    }
}

/// A parameter value as written in a spec: plain decimals (`1.5`, `2`), but exponent notation
/// for very large or small magnitudes (`1e308`, `1e-5`), which would otherwise print hundreds of
/// digits.
fn fmt_param(v: f64) -> String {
    if v != 0.0 && v.is_finite() && !(1e-4..1e16).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

impl SampleSpec {
    /// Parses `name(p1=v1, p2=v2)` (named, any order) or `name(v1, v2)` (positional, in the
    /// family's parameter order).
    pub fn parse(spec: &str) -> Result<SampleSpec> {
        let bad = |why: &str| {
            Error::input(format!(
                "--sample '{}': {why} (expected e.g. 'normal(mu=1.5, sigma=2)')",
                quote(spec)
            ))
        };
        let s = spec.trim();
        let open = s.find('(').ok_or_else(|| bad("missing '('"))?;
        if !s.ends_with(')') {
            return Err(bad("missing closing ')'"));
        }
        let family = lookup(s[..open].trim())?;
        let inner = &s[open + 1..s.len() - 1];
        let params = family.params();
        let mut theta: Vec<Option<f64>> = vec![None; params.len()];
        let items: Vec<&str> = if inner.trim().is_empty() {
            vec![]
        } else {
            inner.split(',').collect()
        };
        for (pos, item) in items.iter().enumerate() {
            let (name, value) = match item.split_once('=') {
                Some((n, v)) => (Some(n.trim()), v.trim()),
                None => (None, item.trim()),
            };
            let j = match name {
                Some(n) => params.iter().position(|p| p.name == n).ok_or_else(|| {
                    let names: Vec<&str> = params.iter().map(|p| p.name).collect();
                    bad(&format!(
                        "unknown parameter '{}' of {} ({}parameters: {})",
                        quote(n),
                        family.name(),
                        did_you_mean(n, names.iter().copied()),
                        names.join(", ")
                    ))
                })?,
                None if pos < params.len() => pos,
                None => return Err(bad("too many values")),
            };
            let v: f64 = value
                .parse()
                .map_err(|_| bad(&format!("'{}' is not a number", quote(value))))?;
            if theta[j].replace(v).is_some() {
                return Err(bad(&format!(
                    "parameter '{}' is given more than once",
                    params[j].name
                )));
            }
        }
        let missing: Vec<&str> = params
            .iter()
            .zip(&theta)
            .filter(|(_, v)| v.is_none())
            .map(|(p, _)| p.name)
            .collect();
        if !missing.is_empty() {
            return Err(bad(&format!("missing parameter(s) {}", missing.join(", "))));
        }
        let theta: Vec<f64> = theta.into_iter().map(|v| v.unwrap_or_default()).collect();
        family.validate(&theta).map_err(|e| bad(&e.to_string()))?;
        Ok(SampleSpec { family, theta })
    }

    /// Draws `n` samples, seeded: block k of 65,536 samples uses its own generator seeded from
    /// (seed, k), so the result is the same for any number of threads. Every sample is checked
    /// (see the module documentation); `n` samples that do not fit in memory are an error.
    pub fn draw(&self, n: usize, seed: u64) -> Result<Vec<f64>> {
        self.draw_checked(n, seed, false)
    }

    /// [`SampleSpec::draw`], with `integers`: every sample must also be an integer (the swept
    /// family is discrete).
    pub fn draw_checked(&self, n: usize, seed: u64, integers: bool) -> Result<Vec<f64>> {
        let bytes = (n as u64).saturating_mul(8);
        check_memory(bytes, || format!("drawing {n} samples into memory"))?;
        let mut out = zeroed(n).ok_or_else(|| {
            Error::input(format!(
                "drawing {n} samples into memory: cannot allocate {}",
                crate::guard::fmt_bytes(bytes)
            ))
        })?;
        self.draw_blocks(&mut out, 0, seed, integers)?;
        Ok(out)
    }

    /// A reader that streams `n` samples in blocks, the same samples as [`SampleSpec::draw`].
    pub fn reader(&self, n: u64, seed: u64, integers: bool) -> DrawReader {
        DrawReader {
            spec: self.clone(),
            n,
            seed,
            integers,
            next_block: 0,
            buf: Vec::new(),
            pos: 0,
            handed: 0,
        }
    }

    /// Fills `out` with blocks `first`, `first + 1`, … (each [`BLOCK`] long, the last of the
    /// data maybe shorter), in parallel, and checks them; the error is the first bad sample.
    fn draw_blocks(&self, out: &mut [f64], first: u64, seed: u64, integers: bool) -> Result<()> {
        let results: Vec<Result<()>> = out
            .par_chunks_mut(BLOCK)
            .enumerate()
            .map(|(i, block)| {
                let k = first + i as u64;
                let mut rng = StdRng::seed_from_u64(mix(seed, k));
                self.family.sample_into(&self.theta, &mut rng, block)?;
                self.check(block, k * BLOCK as u64, integers)
            })
            .collect();
        results.into_iter().collect()
    }

    /// Checks drawn samples, the first of which is sample number `base` (0-based).
    fn check(&self, xs: &[f64], base: u64, integers: bool) -> Result<()> {
        let checker = Checker::for_draws(integers);
        let fam = self.family;
        let ok = |x: f64| checker.accepts(x) && fam.in_support(x);
        if xs.iter().all(|&x| ok(x)) {
            return Ok(());
        }
        let Some((i, &x)) = xs.iter().enumerate().find(|(_, &x)| !ok(x)) else {
            return Ok(());
        };
        let at = || format!("sample #{} = {x} drawn from {self}", base + i as u64 + 1);
        let extreme = "the parameters are too extreme to draw from in double precision";
        if !x.is_finite() {
            return Err(Error::input(format!("{}: not finite: {extreme}", at())));
        }
        if !fam.in_support(x) {
            return Err(Error::input(format!(
                "{} is outside the support of {} ({}): {extreme}",
                at(),
                fam.name(),
                fam.support()
            )));
        }
        let mut checker = checker;
        checker.keep(x, at, || format!("{x}"))?;
        Ok(())
    }
}

/// Streams the samples of a [`SampleSpec`] in blocks (see [`SampleSpec::reader`]): memory is
/// bounded by [`PAR_BLOCKS`] blocks whatever `n`, as for a file streamed by
/// [`crate::sweep::run_stream`], and the samples are bitwise those of [`SampleSpec::draw`].
pub struct DrawReader {
    spec: SampleSpec,
    n: u64,
    seed: u64,
    integers: bool,
    /// The next block to draw.
    next_block: u64,
    /// Drawn samples not yet handed out: `buf[pos..]`.
    buf: Vec<f64>,
    pos: usize,
    /// Samples handed out so far.
    handed: u64,
}

impl SampleReader for DrawReader {
    fn read(&mut self, out: &mut Vec<f64>, max: usize) -> Result<usize> {
        if self.pos == self.buf.len() {
            let start = self.next_block * BLOCK as u64;
            let left = self.n.saturating_sub(start);
            if left == 0 {
                return Ok(0);
            }
            let len = left.min((PAR_BLOCKS * BLOCK) as u64) as usize;
            self.buf.resize(len, 0.0);
            self.spec
                .draw_blocks(&mut self.buf, self.next_block, self.seed, self.integers)?;
            self.next_block += len.div_ceil(BLOCK) as u64;
            self.pos = 0;
        }
        let k = max.min(self.buf.len() - self.pos);
        out.extend_from_slice(&self.buf[self.pos..self.pos + k]);
        self.pos += k;
        self.handed += k as u64;
        Ok(k)
    }

    fn skipped_nonfinite(&self) -> u64 {
        0
    }

    /// Progress in bytes of drawn f64 samples, of the whole `n`.
    fn position(&self) -> Position {
        Position {
            bytes: self.handed.saturating_mul(8),
            total: Some(self.n.saturating_mul(8)),
        }
    }

    fn info(&self) -> InputInfo {
        InputInfo {
            name: format!("{}, seed {}", self.spec, self.seed),
            format: Format::Sample,
            compression: Compression::None,
            detail: None,
        }
    }

    fn len_hint(&self) -> Option<u64> {
        Some(self.n)
    }
}

impl SampleSpec {
    /// Samples per independently seeded block of [`SampleSpec::draw`]: 65,536.
    pub const BLOCK: usize = BLOCK;

    /// Samples `start..end` of `draw(n, seed)`, drawn on their own (a data shard): block k is
    /// drawn from its own generator seeded from (seed, k), exactly as in the whole draw, so the
    /// union of the ranges of a split is the whole draw. `start` must be a multiple of
    /// [`SampleSpec::BLOCK`], and `end` one too or `n`.
    pub fn draw_range(&self, n: usize, seed: u64, start: usize, end: usize) -> Result<Vec<f64>> {
        let end = end.min(n);
        if !start.is_multiple_of(BLOCK) || (!end.is_multiple_of(BLOCK) && end != n) || start > end {
            return Err(Error::input(format!(
                "internal: samples {start}..{end} are not a range of whole {BLOCK}-sample blocks"
            )));
        }
        let mut out = vec![0.0; end - start];
        out.par_chunks_mut(BLOCK)
            .enumerate()
            .try_for_each(|(k, block)| {
                let k = start / BLOCK + k;
                let mut rng = StdRng::seed_from_u64(mix(seed, k as u64));
                self.family.sample_into(&self.theta, &mut rng, block)
            })?;
        Ok(out)
    }
}

/// SplitMix64 finaliser of (seed, block): well-separated seeds for neighbouring blocks.
fn mix(seed: u64, block: u64) -> u64 {
    let mut z = seed ^ block.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// n zeros, or `None` when they cannot be allocated. The zeroed allocation (calloc) maps zero
/// pages lazily, so the pages are first touched by the threads that draw into them rather than
/// zeroed up front by one.
fn zeroed(n: usize) -> Option<Vec<f64>> {
    if n == 0 {
        return Some(Vec::new());
    }
    let layout = std::alloc::Layout::array::<f64>(n).ok()?;
    // SAFETY: the layout has a non-zero size; all-zero bits are the f64 0.0; the pointer comes
    // from the global allocator with the layout of a Vec<f64> of capacity n, which from_raw_parts
    // requires, and all n elements are initialised.
    unsafe {
        let p = std::alloc::alloc_zeroed(layout) as *mut f64;
        (!p.is_null()).then(|| Vec::from_raw_parts(p, n, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_of_whole_blocks_are_the_same_draws_as_the_whole() {
        let spec = SampleSpec::parse("gamma(shape=2, rate=3)").unwrap();
        let n = 3 * BLOCK + 1234;
        let all = spec.draw(n, 7).unwrap();
        let mut parts = spec.draw_range(n, 7, 2 * BLOCK, n).unwrap();
        let mut head = spec.draw_range(n, 7, 0, 2 * BLOCK).unwrap();
        head.append(&mut parts);
        assert_eq!(head, all);
        assert!(spec.draw_range(n, 7, 5, n).is_err());
    }

    #[test]
    fn named_and_positional_specs_agree() {
        let a = SampleSpec::parse("normal(mu=1.5, sigma=2)").unwrap();
        let b = SampleSpec::parse(" normal(1.5,2) ").unwrap();
        let c = SampleSpec::parse("normal(sigma=2,mu=1.5)").unwrap();
        assert_eq!(a.theta, vec![1.5, 2.0]);
        assert_eq!(b.theta, a.theta);
        assert_eq!(c.theta, a.theta);
    }

    #[test]
    fn malformed_specs_are_input_errors() {
        for bad in [
            "normal",
            "normal(mu=1",
            "normal(mu=1)",
            "normal(mu=1,sigma=0)",
            "normal(mu=x,sigma=1)",
            "normal(mu=1,mu=2,sigma=1)",
            "nosuch(a=1)",
            "normal(mu=1,sigma=1,nu=2)",
            "normal(1,2,3)",
        ] {
            assert!(SampleSpec::parse(bad).unwrap_err().is_input(), "{bad}");
        }
    }

    #[test]
    fn specs_print_extreme_parameters_in_exponent_notation() {
        let s = SampleSpec::parse("normal(mu=1e308, sigma=0.00001)").unwrap();
        assert_eq!(s.to_string(), "normal(mu=1e308, sigma=1e-5)");
        let s = SampleSpec::parse("normal(1.5, 2)").unwrap();
        assert_eq!(s.to_string(), "normal(mu=1.5, sigma=2)");
    }

    #[test]
    fn the_streamed_reader_checks_its_draws_like_the_draw_in_memory() {
        let s = SampleSpec::parse("normal(mu=3, sigma=1)").unwrap();
        let mut r = s.reader(10, 1, true);
        let e = r.read(&mut Vec::new(), 10).unwrap_err().to_string();
        assert!(
            e.contains("sample #1") && e.contains("not an integer"),
            "{e}"
        );
        let e = s.draw_checked(10, 1, true).unwrap_err().to_string();
        assert!(
            e.contains("sample #1") && e.contains("not an integer"),
            "{e}"
        );
    }

    #[test]
    fn draw_is_deterministic_and_seed_dependent() {
        let s = SampleSpec::parse("normal(mu=0, sigma=1)").unwrap();
        let a = s.draw(200_000, 1).unwrap();
        assert_eq!(a, s.draw(200_000, 1).unwrap());
        assert_ne!(a, s.draw(200_000, 2).unwrap());
    }
}
