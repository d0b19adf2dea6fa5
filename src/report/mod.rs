//! Writing sweep results: JSON (the documented schema), CSV (one row per grid point) and a table
//! for people.

pub mod csv;
pub mod json;
pub mod table;

use crate::analysis::Analysis;
use crate::family::Family;
use crate::grid::Grid;
use crate::identity::Units;
use crate::sweep::SweepOutcome;

/// Everything a report shows.
pub struct Report<'a> {
    pub family: &'static dyn Family,
    pub grid: &'a Grid,
    pub outcome: &'a SweepOutcome,
    /// Where the data came from, in words.
    pub data_source: String,
    /// Seconds spent reading or drawing the data.
    pub data_seconds: f64,
    /// Mean log-likelihood at the closed-form MLE, by the f64 full density.
    pub mle_mean_loglik: Option<f64>,
    /// Entropy, KL, identity, MLE, refinement and intervals (`sweep`); `None` reports the grid
    /// and the closed-form MLE only.
    pub analysis: Option<&'a Analysis>,
}

impl Report<'_> {
    /// Units of entropy, cross-entropy and KL figures.
    pub fn units(&self) -> Units {
        self.analysis.map_or(Units::Nats, |a| a.units)
    }
}

/// Output format of `sweep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
}

impl std::str::FromStr for Format {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Format> {
        match s {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            _ => Err(crate::Error::input(format!(
                "unknown format '{s}' (expected table, csv or json)"
            ))),
        }
    }
}

/// Writes the report in `format`.
pub fn write(
    report: &Report<'_>,
    format: Format,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Table => table::write(report, w),
        Format::Csv => csv::write(report, w),
        Format::Json => json::write(report, w),
    }
}

/// Index of the smallest cross-entropy −S/n, computed from its own column (ties: first).
pub fn argmin_cross_entropy(outcome: &SweepOutcome) -> Option<usize> {
    let p = &outcome.primary.partials;
    let mut best: Option<(usize, f64)> = None;
    for i in 0..p.len() {
        let ce = -p.mean_loglik(i);
        if ce.is_finite() && best.is_none_or(|(_, b)| ce < b) {
            best = Some((i, ce));
        }
    }
    best.map(|(i, _)| i)
}

/// `mu = 1.5, sigma = 2` for θ in the family's parameter order.
pub fn theta_text(family: &dyn Family, theta: &[f64]) -> String {
    family
        .params()
        .iter()
        .zip(theta)
        .map(|(p, v)| format!("{} = {}", p.name, fmt_num(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A number for people: up to 6 significant digits, no trailing noise.
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if (1e-4..1e7).contains(&a) {
        let digits = (5 - a.log10().floor() as i32).clamp(0, 10) as usize;
        let s = format!("{v:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{v:.5e}")
    }
}
