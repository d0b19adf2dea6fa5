//! CSV report: a header, then one row per grid point in grid order:
//! `index,<params...>,loglik,mean_loglik,cross_entropy,outside_support`. −∞ is written `-inf`.

use super::Report;
use std::io::Write;

/// Writes the CSV rows.
pub fn write(r: &Report<'_>, w: &mut dyn Write) -> std::io::Result<()> {
    let fam = r.family;
    let p = &r.outcome.primary.partials;
    let names: Vec<&str> = fam.params().iter().map(|p| p.name).collect();
    writeln!(
        w,
        "index,{},loglik,mean_loglik,cross_entropy,outside_support",
        names.join(",")
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
        let _ = writeln!(line, ",{},{},{},{}", p.loglik(i), m, -m, p.outside[i]);
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}
