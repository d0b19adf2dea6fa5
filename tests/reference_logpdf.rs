//! `Family::ln_pdf` (the cpu-ref oracle) against independent reference values for every family.
//!
//! The values in `tests/data/reference_logpdf.csv` were computed with mpmath at 40 significant
//! digits from the textbook formulas, independently of this crate:
//!
//! ```text
//! python3 tests/data/gen_reference.py > tests/data/reference_logpdf.csv
//! ```
//!
//! Each row must match within 1e-12 relative (absolute floor 1e-12: |Δ| ≤ 1e-12·max(|ref|, 1)),
//! and be exactly −∞ where the reference says `-inf` (outside the support). Every family named in
//! the file must exist; all mismatches are reported together, grouped by family.

use klgrid::model::lookup;
use std::collections::BTreeMap;

const CSV: &str = include_str!("data/reference_logpdf.csv");

/// Largest |ln_pdf − ref| / max(|ref|, 1) allowed.
const TOL: f64 = 1e-12;

/// The families the reference file must cover (all of klgrid's).
const FAMILIES: &[&str] = &[
    "normal",
    "lognormal",
    "exponential",
    "gamma",
    "beta",
    "weibull",
    "laplace",
    "cauchy",
    "student_t",
    "logistic",
    "uniform",
    "normal_mixture",
    "poisson",
    "binomial",
    "bernoulli",
    "geometric",
    "negative_binomial",
];

fn parse_f64(s: &str, line: usize) -> f64 {
    s.trim()
        .parse()
        .unwrap_or_else(|_| panic!("line {line}: '{s}' is not a number"))
}

/// Checks one row; `Err` says why it fails.
fn check_row(family: &str, params: &str, x: f64, want: f64) -> Result<(), String> {
    let fam = lookup(family).map_err(|e| format!("family not found: {e}"))?;
    let spec = fam.params();
    let mut theta = vec![f64::NAN; spec.len()];
    for kv in params.split(';') {
        let (name, value) = kv
            .split_once('=')
            .ok_or_else(|| format!("bad parameter '{kv}'"))?;
        let j = spec
            .iter()
            .position(|p| p.name == name.trim())
            .ok_or_else(|| format!("no parameter '{name}'"))?;
        theta[j] = value
            .trim()
            .parse()
            .map_err(|_| format!("bad value '{value}'"))?;
    }
    if let Some(j) = theta.iter().position(|v| v.is_nan()) {
        return Err(format!("parameter '{}' missing", spec[j].name));
    }
    fam.validate(&theta).map_err(|e| e.to_string())?;
    let got = fam.ln_pdf(x, &theta);
    let ok = if want == f64::NEG_INFINITY {
        got == f64::NEG_INFINITY
    } else {
        (got - want).abs() <= TOL * want.abs().max(1.0)
    };
    if ok {
        Ok(())
    } else {
        let rel = (got - want).abs() / want.abs().max(1.0);
        Err(format!(
            "ln_pdf = {got:e}, reference {want:e} (rel {rel:.2e})"
        ))
    }
}

#[test]
fn ln_pdf_matches_mpmath_reference_values_for_every_family() {
    let mut rows = 0;
    let mut failed_rows = 0;
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut header = false;
    for (i, line) in CSV.lines().enumerate() {
        let lineno = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !header {
            assert_eq!(line, "family,params,x,logpdf", "line {lineno}: header");
            header = true;
            continue;
        }
        let cols: Vec<&str> = line.split(',').collect();
        assert_eq!(cols.len(), 4, "line {lineno}: expected 4 columns");
        let (family, params) = (cols[0], cols[1]);
        let x = parse_f64(cols[2], lineno);
        let want = parse_f64(cols[3], lineno);
        assert!(
            want.is_finite() || want == f64::NEG_INFINITY,
            "line {lineno}: reference must be finite or -inf"
        );
        rows += 1;
        *seen.entry(family).or_default() += 1;
        if lookup(family).is_err() {
            // Reported once per family below.
            continue;
        }
        if let Err(why) = check_row(family, params, x, want) {
            failed_rows += 1;
            failures
                .entry(family)
                .or_default()
                .push(format!("  line {lineno}: {params}, x = {x}: {why}"));
        }
    }
    for f in FAMILIES {
        assert!(seen.contains_key(f), "no reference rows for {f}");
    }
    for (&fam, &n) in &seen {
        if let Err(e) = lookup(fam) {
            failed_rows += n;
            failures
                .entry(fam)
                .or_default()
                .push(format!("  all {n} rows: {e}"));
        }
    }
    if !failures.is_empty() {
        let mut msg = format!(
            "{failed_rows} of {rows} reference rows fail, in {} families ({}):\n",
            failures.len(),
            failures.keys().copied().collect::<Vec<_>>().join(", ")
        );
        for (fam, lines) in &failures {
            msg.push_str(&format!("{fam}:\n{}\n", lines.join("\n")));
        }
        panic!("{msg}");
    }
}
