//! CSV report: a header, then one row per grid point in grid order:
//! `index,<params...>,loglik,mean_loglik,cross_entropy,outside_support`, followed by `kl` when
//! H(P) is known and `kl_exact` when P is of the swept family with a closed-form KL. −∞ is
//! written `-inf`, +∞ `inf`, a missing exact KL `NaN`. Cross-entropy and KL are in the report's
//! units (`--units`); log-likelihoods in nats. `--points best` writes the best point's row only,
//! `--points none` the header only.
//!
//! Numbers are written as Rust's `{}` writes them (shortest round-trip digits, positional), by
//! [`super::num::push_display`]; parameter values are formatted once per axis value.

use super::columns::{Columns, Kind};
use super::num::{push_display, push_int};
use super::{Points, Report};
use std::io::Write;

/// Bytes gathered before each write to the output.
const FLUSH_AT: usize = 1 << 16;

/// Writes the header and the rows `points` selects.
pub fn write(r: &Report<'_>, points: Points, w: &mut dyn Write) -> std::io::Result<()> {
    let cols = Columns::new(r);
    let names: Vec<&str> = cols.list.iter().map(|c| c.name.as_str()).collect();
    writeln!(w, "{}", names.join(","))?;
    // Each parameter's axis values, formatted once.
    let axis_text: Vec<Vec<Vec<u8>>> = (0..r.grid.n_params())
        .map(|j| {
            cols.axis_values(j)
                .iter()
                .map(|&v| {
                    let mut t = Vec::new();
                    push_display(&mut t, v);
                    t
                })
                .collect()
        })
        .collect();
    let p = &r.outcome.primary.partials;
    let mut buf = Vec::with_capacity(FLUSH_AT + 1024);
    for i in points.indices(p.len(), r.outcome.best) {
        for (c, col) in cols.list.iter().enumerate() {
            if c > 0 {
                buf.push(b',');
            }
            match col.kind {
                Kind::Index => push_int(&mut buf, i),
                Kind::OutsideSupport => push_int(&mut buf, p.outside[i]),
                Kind::Param(j) => buf.extend_from_slice(&axis_text[j][cols.axis_index(j, i)]),
                kind => push_display(&mut buf, cols.f64(kind, i)),
            }
        }
        buf.push(b'\n');
        if buf.len() >= FLUSH_AT {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    /// The rows as `write!` with `{}` wrote them before.
    fn reference_rows(r: &Report<'_>) -> String {
        use std::fmt::Write as _;
        let p = &r.outcome.primary.partials;
        let units = r.units();
        let kl = r.analysis.kl.as_deref();
        let kl_exact = r.analysis.kl_exact.as_deref();
        let mut theta = vec![0.0; r.grid.n_params()];
        let mut out = String::new();
        for i in 0..p.len() {
            r.grid.theta_into(i, &mut theta);
            let _ = write!(out, "{i}");
            for t in &theta {
                let _ = write!(out, ",{t}");
            }
            let m = p.mean_loglik(i);
            let _ = write!(
                out,
                ",{},{},{},{}",
                p.loglik(i),
                m,
                units.of(-m),
                p.outside[i]
            );
            if let Some(k) = kl {
                let _ = write!(out, ",{}", units.of(k[i]));
            }
            if let Some(k) = kl_exact {
                let _ = write!(out, ",{}", units.of(k[i]));
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn rows_are_byte_identical_to_display_formatting() {
        for case in fixture::cases() {
            let r = case.report();
            let mut out = Vec::new();
            write(&r, Points::All, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            let (_, rows) = text.split_once('\n').unwrap();
            assert_eq!(rows, reference_rows(&r), "{}", r.family.name());
        }
    }

    #[test]
    fn points_best_writes_the_best_row_and_none_the_header_only() {
        let case = &fixture::cases()[1];
        let r = case.report();
        let mut all = Vec::new();
        write(&r, Points::All, &mut all).unwrap();
        let all = String::from_utf8(all).unwrap();
        let lines: Vec<&str> = all.lines().collect();
        let mut best = Vec::new();
        write(&r, Points::Best, &mut best).unwrap();
        let best = String::from_utf8(best).unwrap();
        let i = r.outcome.best.unwrap();
        assert_eq!(best, format!("{}\n{}\n", lines[0], lines[i + 1]));
        let mut none = Vec::new();
        write(&r, Points::None, &mut none).unwrap();
        assert_eq!(String::from_utf8(none).unwrap(), format!("{}\n", lines[0]));
    }
}
