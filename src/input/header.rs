//! When the first row of a table (text, CSV, TSV) is a header.
//!
//! A header is accepted only when it really looks like one: at least one field is a *name*, and
//! no field is a *malformed number*. A name is a field that is not a number and does not start
//! (after an optional sign) with a digit or with `.` and a digit, and is not a missing-value
//! marker (`NA`, `N/A`, `null`, `None`). So `value`, `x 1`, `id,"the value"` are headers, while
//! `1_000`, `0x10`, `1e`, `3,` or `2.5f` are data lines — which then fail with their line
//! number, instead of being dropped silently. Empty fields count for neither.

/// Markers of a missing value that other tools write; never a column name.
const MISSING: [&str; 5] = ["na", "n/a", "null", "none", "nil"];

/// Whether `field` (trimmed, not a number) starts like a number: an optional sign, then a digit,
/// or `.` and a digit.
pub(crate) fn number_like(field: &str) -> bool {
    let t = field.trim();
    let t = t.strip_prefix(['+', '-']).unwrap_or(t);
    let mut c = t.chars();
    match c.next() {
        Some(d) if d.is_ascii_digit() => true,
        Some('.') => c.next().is_some_and(|d| d.is_ascii_digit()),
        _ => false,
    }
}

/// Whether a first row with these fields is a header (see the module documentation).
pub(crate) fn is_header<'a>(fields: impl IntoIterator<Item = &'a str>) -> bool {
    let mut name = false;
    for f in fields {
        let t = f.trim();
        if t.is_empty() || t.parse::<f64>().is_ok() {
            continue;
        }
        if number_like(t) || MISSING.contains(&t.to_lowercase().as_str()) {
            return false;
        }
        name = true;
    }
    name
}

/// What a first-row error adds to say why the row was not taken as a header.
pub(crate) const NOT_A_HEADER: &str =
    "(the first row is not a header: column names must not start with a digit, a sign or '.')";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_make_a_header_and_malformed_numbers_do_not() {
        for h in [
            &["value"][..],
            &["id", "value"],
            &["x", "1"],
            &["the value", ""],
            &["µ"],
            &["_x"],
            &["-"],
            &["(mm)"],
            &["x1"],
        ] {
            assert!(is_header(h.iter().copied()), "{h:?}");
        }
        for d in [
            &["1_000"][..],
            &["0x10"],
            &["1e"],
            &["3,"],
            &["2.5f"],
            &["-1_0"],
            &[".5x"],
            &["1"],
            &["nan"],
            &["inf", "2"],
            &["", ""],
            &["NA"],
            &["x", "1_000"],
        ] {
            assert!(!is_header(d.iter().copied()), "{d:?}");
        }
    }
}
