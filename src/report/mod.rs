//! Writing sweep results: JSON (the documented schema), CSV (one row per grid point) and a table
//! for people.

pub mod csv;
pub mod json;
pub mod table;

use crate::analysis::identity::Units;
use crate::analysis::Analysis;
use crate::engine::SweepOutcome;
use crate::model::grid::Grid;
use crate::model::Family;

/// Everything a report shows.
pub struct Report<'a> {
    pub family: &'static dyn Family,
    pub grid: &'a Grid,
    pub outcome: &'a SweepOutcome,
    /// Where the data came from, in words.
    pub data_source: String,
    /// Seconds spent reading or drawing the data.
    pub data_seconds: f64,
    /// Entropy, KL, identity, MLE, refinement and intervals.
    pub analysis: &'a Analysis,
}

impl Report<'_> {
    /// Units of entropy, cross-entropy and KL figures.
    pub fn units(&self) -> Units {
        self.analysis.units
    }
}

/// Output format of `sweep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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
