//! The table report, for people: the best point, the MLE, the identity, timings, agreement and a
//! short view of the grid.

use super::{argmin_cross_entropy, fmt_num, theta_text, Report};
use std::io::Write;

/// Rows of the "top points" view.
const TOP: usize = 5;

/// Writes the table.
pub fn write(r: &Report<'_>, w: &mut dyn Write) -> std::io::Result<()> {
    let fam = r.family;
    let out = r.outcome;
    let p = &out.primary.partials;
    let ev = &out.primary;
    writeln!(w, "family      {} ({})", fam.name(), fam.support())?;
    let format = out
        .input
        .as_ref()
        .map(|(i, _)| format!("{}, ", i.describe()))
        .unwrap_or_default();
    let skipped = match out.skipped_nonfinite {
        0 => String::new(),
        k => format!(", {k} non-finite skipped"),
    };
    writeln!(
        w,
        "data        {} ({format}n = {}{skipped})",
        r.data_source, p.n
    )?;
    let axes: Vec<String> = r
        .grid
        .axes()
        .iter()
        .map(|a| {
            if a.values.len() == 1 {
                format!("{} = {}", a.name, fmt_num(a.min))
            } else {
                let (lo, hi) = (fmt_num(a.min), fmt_num(a.max));
                format!(
                    "{} in [{lo}, {hi}] ({} values, {})",
                    a.name,
                    a.values.len(),
                    a.spacing.name()
                )
            }
        })
        .collect();
    writeln!(
        w,
        "grid        {} points: {}",
        r.grid.len(),
        axes.join("; ")
    )?;
    match &ev.adapter {
        Some(a) => writeln!(
            w,
            "backend     {} on {} ({})",
            ev.backend,
            a.label(),
            ev.strategy
        )?,
        None => writeln!(w, "backend     {} ({})", ev.backend, ev.strategy)?,
    }
    writeln!(w)?;
    match out.best {
        Some(i) => {
            let m = p.mean_loglik(i);
            writeln!(
                w,
                "best θ      {}   mean loglik {}   cross-entropy {}",
                theta_text(fam, &r.grid.theta(i)),
                fmt_num(m),
                fmt_num(-m)
            )?;
            let ce = argmin_cross_entropy(out);
            let same = ce == Some(i);
            writeln!(
                w,
                "identity    argmax likelihood {} argmin cross-entropy (grid point {i}{})",
                if same { "=" } else { "!=" },
                if same { "" } else { ", check precision" }
            )?;
        }
        None => writeln!(
            w,
            "best θ      none: every grid point has a sample outside its support (likelihood 0)"
        )?,
    }
    match &out.mle {
        Some(m) => {
            let ll = r
                .mle_mean_loglik
                .map(|v| format!("   mean loglik {}", fmt_num(v)));
            writeln!(
                w,
                "MLE         {}{}",
                theta_text(fam, m),
                ll.unwrap_or_default()
            )?
        }
        None => match &out.mle_note {
            Some(note) => writeln!(w, "MLE         {note}")?,
            None => writeln!(w, "MLE         no closed form for {}", fam.name())?,
        },
    }
    if let (Some(a), Some(re)) = (&out.agreement, &out.reference) {
        writeln!(
            w,
            "agreement   {} vs {}: max |Δ mean loglik| {:.3e}, max relative {:.3e} (tolerance {:.0e}), argmax {}{} -> {}",
            ev.backend,
            re.backend,
            a.max_abs_diff,
            a.max_rel_diff,
            a.tolerance,
            if a.argmax_agrees { "agrees" } else { "differs" },
            if a.support_mismatches > 0 {
                format!(", {} support mismatches", a.support_mismatches)
            } else {
                String::new()
            },
            if a.within_tolerance { "OK" } else { "FAILED" }
        )?;
    }
    let evals = p.n as f64 * r.grid.len() as f64;
    write!(w, "time        data {:.3} s", r.data_seconds)?;
    if ev.compile_seconds > 0.0 {
        write!(w, ", compile {:.3} s", ev.compile_seconds)?;
    }
    write!(
        w,
        ", evaluate {:.3} s ({:.3e} evaluations/s)",
        ev.eval_seconds,
        evals / ev.eval_seconds.max(1e-12)
    )?;
    if let Some(d) = ev.device_seconds {
        write!(w, " (device {d:.3} s)")?;
    }
    if let Some(re) = &out.reference {
        write!(w, ", {} {:.3} s", re.backend, re.eval_seconds)?;
    }
    writeln!(w)?;

    // Top points.
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p.loglik(i).is_finite()).collect();
    order.sort_by(|&a, &b| p.loglik(b).total_cmp(&p.loglik(a)).then(a.cmp(&b)));
    let infinite = p.len() - order.len();
    writeln!(w)?;
    writeln!(
        w,
        "top grid points (of {}{}):",
        p.len(),
        if infinite > 0 {
            format!(", {infinite} with likelihood 0")
        } else {
            String::new()
        }
    )?;
    writeln!(
        w,
        "  {:>9}  {:<40} {:>16} {:>16}",
        "index", "θ", "mean loglik", "cross-entropy"
    )?;
    for &i in order.iter().take(TOP) {
        let m = p.mean_loglik(i);
        writeln!(
            w,
            "  {:>9}  {:<40} {:>16.9} {:>16.9}",
            i,
            theta_text(fam, &r.grid.theta(i)),
            m,
            -m
        )?;
    }
    Ok(())
}
