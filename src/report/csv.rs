//! CSV report: a header, then one row per grid point in grid order:
//! `index,<params...>,loglik,mean_loglik,cross_entropy,outside_support`, followed by `kl` when
//! H(P) is known and `kl_exact` when P is of the swept family with a closed-form KL. −∞ is
//! written `-inf`, +∞ `inf`, a missing exact KL `nan`. Cross-entropy and KL are in the report's
//! units (`--units`); log-likelihoods in nats.

use super::Report;
use std::io::Write;

/// Writes the CSV rows.
pub fn write(r: &Report<'_>, w: &mut dyn Write) -> std::io::Result<()> {
    let fam = r.family;
    let p = &r.outcome.primary.partials;
    let units = r.units();
    let kl = r.analysis.kl.as_deref();
    let kl_exact = r.analysis.kl_exact.as_deref();
    let names: Vec<&str> = fam.params().iter().map(|p| p.name).collect();
    writeln!(
        w,
        "index,{},loglik,mean_loglik,cross_entropy,outside_support{}{}",
        names.join(","),
        if kl.is_some() { ",kl" } else { "" },
        if kl_exact.is_some() { ",kl_exact" } else { "" },
    )?;
    let mut theta = vec![0.0; r.grid.n_params()];
    let mut line = String::new();
    for i in 0..p.len() {
        use std::fmt::Write as _;
        r.grid.theta_into(i, &mut theta);
        line.clear();
        let _ = write!(line, "{i}");
        for t in &theta {
            let _ = write!(line, ",{t}");
        }
        let m = p.mean_loglik(i);
        let _ = write!(
            line,
            ",{},{},{},{}",
            p.loglik(i),
            m,
            units.of(-m),
            p.outside[i]
        );
        if let Some(k) = kl {
            let _ = write!(line, ",{}", units.of(k[i]));
        }
        if let Some(k) = kl_exact {
            let _ = write!(line, ",{}", units.of(k[i]));
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}
