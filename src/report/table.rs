//! The table report, for people: the best point, the MLE, the identity, timings, agreement and a
//! short view of the grid.

use super::{fmt_num, theta_text, Points, Report};
use crate::analysis::identity::{EntropyMethod, EntropySource};
use crate::analysis::intervals::IntervalMethod;
use crate::analysis::refine::Stopped;
use crate::analysis::Analysis;
use crate::engine::SweepOutcome;
use std::io::Write;

/// Rows of the "top points" view.
const TOP: usize = 5;

/// Writes the table; `points` chooses its view of the grid: the top 5 points (`all`), the best
/// one (`best`), or none.
pub fn write(r: &Report<'_>, points: Points, w: &mut dyn Write) -> std::io::Result<()> {
    let fam = r.family;
    let out = r.outcome;
    let p = &out.primary.partials;
    let ev = &out.primary;
    writeln!(w, "family      {} ({})", fam.name(), fam.support())?;
    let format = r
        .origin
        .info()
        .map(|i| format!("{}, ", i.describe()))
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
    if let Some(line) = conditioning_line(&ev.conditioning, r.grid.len()) {
        writeln!(w, "conditioning {line}")?;
    }
    writeln!(w)?;
    let units = r.units();
    let u = units.name();
    let an = r.analysis;
    let kl = an.kl.as_deref();
    let kl_exact = an.kl_exact.as_deref();
    let kl_text = |i: usize| {
        let mut t = String::new();
        if let Some(k) = kl {
            t.push_str(&format!("   KL {} {u}", fmt_num(units.of(k[i]))));
        }
        if let Some(k) = kl_exact {
            if k[i].is_finite() {
                t.push_str(&format!(" (exact {})", fmt_num(units.of(k[i]))));
            }
        }
        t
    };
    if let Some(t) = &an.truth {
        writeln!(w, "truth       P = {t}")?;
    }
    match out.best {
        Some(i) => {
            let m = p.mean_loglik(i);
            writeln!(
                w,
                "best θ      {}   mean loglik {}   cross-entropy {} {u}{}",
                theta_text(fam, &r.grid.theta(i)),
                fmt_num(m),
                fmt_num(units.of(-m)),
                kl_text(i)
            )?;
        }
        None => writeln!(
            w,
            "best θ      none: every grid point has a sample outside its support (likelihood 0)"
        )?,
    }
    analysis_lines(r, an, w)?;
    if let Some(line) = agreement(out) {
        writeln!(w, "agreement   {line}")?;
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
    if let Some(rf) = r.analysis.refined.as_ref() {
        write!(w, ", refine {:.3} s", rf.eval_seconds)?;
    }
    writeln!(w)?;

    // Top points.
    let top = match points {
        Points::All => TOP,
        Points::Best => 1,
        Points::None => return Ok(()),
    };
    let order = top_points(p, top);
    let infinite = (0..p.len()).filter(|&i| !p.loglik(i).is_finite()).count();
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
        "  {:>9}  {:<40} {:>16} {:>16}{}",
        "index",
        "θ",
        "mean loglik",
        "cross-entropy",
        if kl.is_some() {
            format!(" {:>16}", "KL")
        } else {
            String::new()
        }
    )?;
    for &i in &order {
        let m = p.mean_loglik(i);
        writeln!(
            w,
            "  {:>9}  {:<40} {:>16.9} {:>16.9}{}",
            i,
            theta_text(fam, &r.grid.theta(i)),
            m,
            units.of(-m),
            kl.map_or(String::new(), |k| format!(" {:>16.9}", units.of(k[i])))
        )?;
    }
    Ok(())
}

/// The `k` grid points of largest finite log-likelihood, largest first (ties: smaller index
/// first) — a partial selection, O(points), not a sort of the whole grid.
fn top_points(p: &crate::engine::partials::Partials, k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p.loglik(i).is_finite()).collect();
    let cmp = |a: &usize, b: &usize| p.loglik(*b).total_cmp(&p.loglik(*a)).then(a.cmp(b));
    if order.len() > k {
        order.select_nth_unstable_by(k - 1, cmp);
        order.truncate(k);
    }
    order.sort_by(cmp);
    order
}

/// The entropy, identity, MLE, refinement, interval and region lines.
/// One line on what the f32 path did to stay exact, when it did anything.
fn conditioning_line(c: &crate::engine::evaluation::Conditioning, points: usize) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(f) = &c.rescaled_by {
        let f: Vec<String> = f.iter().map(|v| format!("{v:.3e}")).collect();
        parts.push(format!(
            "features in units of {} (the data's spread, a power of two)",
            f.join(", ")
        ));
    }
    if c.f64_points > 0 {
        parts.push(format!(
            "{} of {points} grid points evaluated in f64 over {} samples (beyond what f32 holds or resolves)",
            c.f64_points, c.f64_samples
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn analysis_lines(r: &Report<'_>, a: &Analysis, w: &mut dyn Write) -> std::io::Result<()> {
    let fam = r.family;
    let p = &r.outcome.primary.partials;
    let units = a.units;
    let u = units.name();
    match (&a.entropy, &a.entropy_note) {
        (Some(h), _) => {
            let how = match (h.source, h.method) {
                (EntropySource::Empirical, _) => {
                    "empirical: H(P̂) of the data's distinct values, so KL = D_KL(P̂‖Q_θ) exactly"
                        .to_string()
                }
                (_, EntropyMethod::Quadrature) => format!(
                    "analytic: −∫ p ln p by adaptive Gauss–Kronrod quadrature, error ≤ {:.1e} {u}",
                    units.of(h.error.unwrap_or(f64::NAN))
                ),
                _ => "analytic: the family's formula".to_string(),
            };
            writeln!(
                w,
                "entropy     H(P) = {} {u} ({how}); KL = cross-entropy − H(P)",
                fmt_num(units.of(h.value))
            )?;
        }
        (None, Some(why)) => writeln!(w, "entropy     none: {why}")?,
        (None, None) => {}
    }
    let id = &a.identity;
    match id.argmax_loglik {
        Some(i) => {
            let m = p.mean_loglik(i);
            let theta = theta_text(fam, &r.grid.theta(i));
            let idx = |v: Option<usize>| v.map_or("none".to_string(), |v| v.to_string());
            let claim = if a.kl.is_some() {
                "argmax likelihood = argmin cross-entropy = argmin KL"
            } else {
                "argmax likelihood = argmin cross-entropy"
            };
            if id.holds {
                write!(
                    w,
                    "identity    {claim}: grid point {i} ({theta}): mean loglik {}, cross-entropy {} {u}",
                    fmt_num(m),
                    fmt_num(units.of(-m))
                )?;
                if let Some(k) = &a.kl {
                    write!(w, ", KL {} {u}", fmt_num(units.of(k[i])))?;
                }
                writeln!(w)?;
            } else {
                writeln!(
                    w,
                    "identity    does not hold: argmax likelihood {i}, argmin cross-entropy {}, argmin KL {} (near-tie or precision; see --backend both)",
                    idx(id.argmin_cross_entropy),
                    idx(id.argmin_kl)
                )?;
            }
        }
        None => writeln!(w, "identity    no grid point has a finite likelihood")?,
    }
    match (&a.mle, &a.mle_note) {
        (Some(m), note) => writeln!(
            w,
            "MLE         {} ({})   mean loglik {}{}",
            theta_text(fam, &m.theta),
            m.method.name().replace('_', " "),
            if m.mean_loglik.is_nan() {
                // The streamed MLE: no second pass over the data for its likelihood.
                "not computed".to_string()
            } else {
                fmt_num(m.mean_loglik)
            },
            // On the boundary of the parameter space.
            note.as_ref().map_or(String::new(), |n| format!("   {n}"))
        )?,
        // Each note says what it is: "not computed: …", "does not exist: …", "none: …".
        (None, Some(note)) => writeln!(w, "MLE         {note}")?,
        (None, None) => writeln!(
            w,
            "MLE         none: the likelihood is 0 at every grid point"
        )?,
    }
    if let Some(e) = &a.uncertainty.errors {
        match (&e.errors, &e.correlation) {
            (Some(se), Some(corr)) => {
                let k = e.params.len();
                let list: Vec<String> = e
                    .names
                    .iter()
                    .zip(se)
                    .map(|(n, v)| format!("{n} ± {}", fmt_num(*v)))
                    .collect();
                writeln!(
                    w,
                    "errors      {}   (Hessian of −S at the MLE, {}; JSON: errors, covariance)",
                    list.join(", "),
                    e.method.name().replace('_', " ")
                )?;
                let mut pairs = Vec::new();
                for r in 0..k {
                    for c in r + 1..k {
                        pairs.push(format!(
                            "{}–{} {:.4}",
                            e.names[r],
                            e.names[c],
                            corr[r * k + c]
                        ));
                    }
                }
                if !pairs.is_empty() {
                    writeln!(w, "correlation {}", pairs.join(", "))?;
                }
            }
            _ => writeln!(
                w,
                "errors      none: {}",
                e.note.as_deref().unwrap_or("no Hessian")
            )?,
        }
    }
    if let Some(rf) = &a.refined {
        let steps: Vec<String> = fam
            .params()
            .iter()
            .zip(&rf.step)
            .filter_map(|(p, s)| s.map(|s| format!("{} {}", p.name, fmt_num(s))))
            .collect();
        writeln!(
            w,
            "refined     {}   mean loglik {}   after {} round{} (step {}){}",
            theta_text(fam, &rf.theta),
            fmt_num(rf.mean_loglik),
            rf.rounds.len(),
            if rf.rounds.len() == 1 { "" } else { "s" },
            steps.join(", "),
            if rf.on_edge {
                ", on the grid's edge"
            } else {
                ""
            }
        )?;
        let per_param = |v: &[Option<f64>]| -> String {
            fam.params()
                .iter()
                .zip(v)
                .filter_map(|(p, s)| s.map(|s| format!("{} {}", p.name, fmt_num(s))))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let why = match rf.stopped {
            Stopped::Resolution => "stopped at the evaluating path's resolution,".to_string(),
            Stopped::NoFinitePoint => "stopped: a round had no finite point".to_string(),
            Stopped::Rounds => "resolution of the evaluating path".to_string(),
        };
        let res = per_param(&rf.resolution);
        writeln!(
            w,
            "            uncertainty {}; {}{}",
            per_param(&rf.uncertainty),
            why,
            if res.is_empty() {
                String::new()
            } else {
                format!(" {res}")
            }
        )?;
    }
    let profile = a.uncertainty.method == Some(IntervalMethod::Profile);
    for iv in &a.uncertainty.intervals {
        let edge = if profile {
            "the search range"
        } else {
            "the grid's edge"
        };
        let end = |v: Option<f64>, open: bool, side: &str| {
            if open {
                format!("open ({side} {edge})")
            } else {
                fmt_num(v.unwrap_or(f64::NAN))
            }
        };
        let how = match iv.method {
            IntervalMethod::Profile => "profile likelihood, nuisance optimised in f64".to_string(),
            IntervalMethod::Grid if iv.round == 0 => "read off the sweep grid".to_string(),
            IntervalMethod::Grid => format!("read off refinement round {}", iv.round),
        };
        writeln!(
            w,
            "interval    {} in [{}, {}]   {}% likelihood ratio (Wilks, 2·ΔS ≤ {:.4}), {how}",
            iv.name,
            end(iv.span.low, iv.span.open_low, "below"),
            end(iv.span.high, iv.span.open_high, "beyond"),
            fmt_num(100.0 * iv.level),
            iv.threshold,
        )?;
    }
    for rg in &a.regions {
        writeln!(
            w,
            "region      {}% joint {} × {}: {} rows, {} contour points, 2·ΔS ≤ {:.3}{} (JSON: regions)",
            fmt_num(100.0 * rg.level),
            rg.x,
            rg.y,
            rg.rows.len(),
            rg.polygon.len(),
            rg.threshold,
            if rg.open {
                if profile {
                    ", open (reaches the search range)"
                } else {
                    ", reaches the grid's edge"
                }
            } else {
                ""
            }
        )?;
    }
    for warning in &a.uncertainty.warnings {
        writeln!(w, "warning     {warning}")?;
    }
    Ok(())
}

/// The agreement of `--backend both`, after its label: "gpu vs cpu-ref: max |Δ mean loglik| …,
/// max relative … (tolerance …), argmax agrees -> OK"; `None` without a reference path.
pub fn agreement(out: &SweepOutcome) -> Option<String> {
    let (a, re) = (out.agreement.as_ref()?, out.reference.as_ref()?);
    Some(format!(
        "{} vs {}: max |Δ mean loglik| {:.3e}, max relative {:.3e} (tolerance {:.0e}), argmax {}{} -> {}",
        out.primary.backend,
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
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::partials::Partials;

    /// The MLE from a streamed summary has no likelihood (no second pass over the data): the
    /// table says so instead of printing NaN.
    #[test]
    fn streamed_mle_without_samples_says_not_computed() {
        let mut swept = crate::report::fixture::sweep(
            "normal",
            "normal(mu=1.5, sigma=2)",
            500,
            &["mu=0:3:7", "sigma=1:3:5"],
            crate::analysis::identity::Units::Nats,
        );
        if let Some(m) = &mut swept.analysis.mle {
            m.mean_loglik = f64::NAN;
        }
        let mut out = Vec::new();
        write(&swept.report(), Points::All, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mle = text.lines().find(|l| l.starts_with("MLE")).unwrap();
        assert!(mle.contains("mean loglik not computed"), "{mle}");
        assert!(!text.contains("NaN"), "{text}");
    }

    #[test]
    fn top_points_equal_the_head_of_the_full_sort_with_ties_and_minus_infinity() {
        let mut x: u64 = 12345;
        let sum: Vec<f64> = (0..5000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Few distinct values, so that ties are common.
                -((x % 50) as f64)
            })
            .collect();
        let outside = (0..5000).map(|i| u64::from(i % 7 == 0)).collect();
        let p = Partials {
            sum,
            outside,
            n: 10,
        };
        let mut full: Vec<usize> = (0..p.len()).filter(|&i| p.loglik(i).is_finite()).collect();
        full.sort_by(|&a, &b| p.loglik(b).total_cmp(&p.loglik(a)).then(a.cmp(&b)));
        for k in [1, 5, 100, 5000] {
            assert_eq!(
                top_points(&p, k),
                full[..k.min(full.len())].to_vec(),
                "k = {k}"
            );
        }
    }
}
