//! Writing sweep results: JSON (the documented schema), CSV (one row per grid point), a table
//! for people, and the binary column formats for big grids: NPZ (NumPy) and Parquet.

pub mod bench;
pub mod columns;
pub mod csv;
pub mod json;
pub mod npz;
pub mod num;
pub mod parquet;
pub mod table;

use crate::analysis::identity::Units;
use crate::analysis::Analysis;
use crate::engine::SweepOutcome;
use crate::input::InputInfo;
use crate::model::grid::Grid;
use crate::model::Family;
/// A number for people (see [`crate::numeric::fmt_num`]); the writers and plots use it from here.
pub use crate::numeric::fmt_num;

/// Where the samples of a report came from: `data_format` and `data_compression` in JSON, the
/// format on the table's data line. Said by the caller, never guessed from the outcome.
#[derive(Debug, Clone, Copy)]
pub enum DataOrigin<'a> {
    /// Drawn by `--sample` (`data_format` "sample").
    Drawn,
    /// Read from a file or stdin, streamed or into memory.
    Read(&'a InputInfo),
}

impl<'a> DataOrigin<'a> {
    /// The input read, if any.
    pub fn info(self) -> Option<&'a InputInfo> {
        match self {
            DataOrigin::Drawn => None,
            DataOrigin::Read(i) => Some(i),
        }
    }
}

/// Everything a report shows.
pub struct Report<'a> {
    pub family: &'static dyn Family,
    pub grid: &'a Grid,
    pub outcome: &'a SweepOutcome,
    /// Where the data came from, in words.
    pub data_source: String,
    /// Where the data came from: drawn, or read (with the format).
    pub origin: DataOrigin<'a>,
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
    /// For people: best point, entropy, identity, MLE, intervals, timings, the top grid points.
    Table,
    /// One row per grid point.
    Csv,
    /// The documented schema, with the per-point list.
    Json,
    /// NumPy .npz: one array per column, the axes, and the JSON summary as `metadata`.
    Npz,
    /// Apache Parquet: one row per grid point, the JSON summary as key-value metadata `klgrid`.
    Parquet,
}

impl Format {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Npz => "npz",
            Format::Parquet => "parquet",
        }
    }

    /// Whether the output is binary (not for a terminal).
    pub fn is_binary(self) -> bool {
        matches!(self, Format::Npz | Format::Parquet)
    }
}

impl std::str::FromStr for Format {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Format> {
        <Format as clap::ValueEnum>::from_str(s, false).map_err(|_| {
            crate::Error::input(format!(
                "unknown format '{s}' (expected table, csv, json, npz or parquet)"
            ))
        })
    }
}

/// Which grid points a report lists (`--points`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Points {
    /// Every grid point (the table: its view of the top 5).
    #[default]
    All,
    /// Only the best grid point.
    Best,
    /// None: the summary only.
    None,
}

impl Points {
    /// The indices listed, in grid order, for a grid of `len` points whose best is `best`.
    pub fn indices(
        self,
        len: usize,
        best: Option<usize>,
    ) -> std::iter::Chain<std::ops::Range<usize>, std::option::IntoIter<usize>> {
        match self {
            Points::All => (0..len).chain(None),
            Points::Best => (0..0).chain(best),
            Points::None => (0..0).chain(None),
        }
    }

    /// The k-th index [`Points::indices`] yields (k below [`Points::count`]).
    #[inline]
    pub fn at(self, k: usize, best: Option<usize>) -> usize {
        match self {
            Points::All => k,
            _ => best.unwrap_or(k),
        }
    }

    /// How many indices [`Points::indices`] yields.
    pub fn count(self, len: usize, best: Option<usize>) -> usize {
        match self {
            Points::All => len,
            Points::Best => usize::from(best.is_some()),
            Points::None => 0,
        }
    }
}

/// Writes the report in `format` with every grid point.
pub fn write(
    report: &Report<'_>,
    format: Format,
    w: &mut (dyn std::io::Write + Send),
) -> std::io::Result<()> {
    write_points(report, format, Points::All, w)
}

/// Writes the report in `format`, listing the grid points `points` selects: the per-point list
/// of JSON (`points`), the rows of CSV, NPZ and Parquet, and the table's top-points view.
pub fn write_points(
    report: &Report<'_>,
    format: Format,
    points: Points,
    w: &mut (dyn std::io::Write + Send),
) -> std::io::Result<()> {
    match format {
        Format::Table => table::write(report, points, w),
        Format::Csv => csv::write(report, points, w),
        Format::Json => json::write(report, points, w),
        Format::Npz => npz::write(report, points, w),
        Format::Parquet => parquet::write(report, points, w),
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

/// Small real sweeps for the writers' tests: the outcome, its analysis and the grid.
#[cfg(test)]
pub(crate) mod fixture {
    use crate::analysis::identity::Units;
    use crate::analysis::{self, Analysis, AnalysisOptions};
    use crate::engine::{self, Backend, EvalPath, Session, Strategy, SweepJob, SweepOutcome};
    use crate::model::grid::{AxisSpec, Grid};
    use crate::model::lookup;
    use crate::model::sample_spec::SampleSpec;

    /// What a [`super::Report`] borrows.
    pub struct Swept {
        pub family: &'static dyn crate::model::Family,
        pub grid: Grid,
        pub outcome: SweepOutcome,
        pub analysis: Analysis,
    }

    impl Swept {
        pub fn report(&self) -> super::Report<'_> {
            super::Report {
                family: self.family,
                grid: &self.grid,
                outcome: &self.outcome,
                data_source: "test".into(),
                origin: super::DataOrigin::Drawn,
                data_seconds: 0.0,
                analysis: &self.analysis,
            }
        }
    }

    /// `family` on `grid` (axis specs) over n samples of `truth`, on cpu-ref, P known.
    pub fn sweep(family: &str, truth: &str, n: usize, grid: &[&str], units: Units) -> Swept {
        let family = lookup(family).unwrap();
        let truth = SampleSpec::parse(truth).unwrap();
        let grid = Grid::new(
            family,
            grid.iter().map(|s| AxisSpec::parse(s).unwrap()).collect(),
        )
        .unwrap();
        let xs = truth.draw(n, 7).unwrap();
        let job = SweepJob {
            family,
            grid: grid.clone(),
            data: &xs,
            backend: Backend::One(EvalPath::CpuRef),
            strategy: Strategy::Direct,
        };
        let session = Session::default();
        let outcome = engine::run(&session, &job, &mut |_| {}).unwrap();
        let opts = AnalysisOptions {
            truth: Some(truth),
            refine: 0,
            units,
            ..AnalysisOptions::default()
        };
        let analysis =
            analysis::analyse(&session, family, &grid, Some(&xs), &outcome, &opts).unwrap();
        Swept {
            family,
            grid,
            outcome,
            analysis,
        }
    }

    /// A few sweeps covering the writers' cases: kl and kl_exact columns, −∞ points (uniform),
    /// a missing exact KL (binomial with other trials), bits, three parameters in an order that
    /// is not alphabetical (student_t), axes given in another order than the family's.
    pub fn cases() -> Vec<Swept> {
        vec![
            sweep(
                "normal",
                "normal(mu=1.5, sigma=2)",
                2000,
                &["sigma=1:3:7", "mu=0:3:9"],
                Units::Nats,
            ),
            sweep(
                "uniform",
                "uniform(0, 1)",
                500,
                &["low=-0.5:0.5:11", "high=0.5:1.5:11"],
                Units::Bits,
            ),
            sweep(
                "binomial",
                "binomial(trials=10, p=0.3)",
                500,
                &["trials=8,10,12", "p=0.1:0.9:9"],
                Units::Nats,
            ),
            sweep(
                "student_t",
                "student_t(nu=4, mu=0, sigma=1)",
                500,
                &["nu=2:6:3", "mu=-0.5:0.5:3", "sigma=log:0.5:2:4"],
                Units::Nats,
            ),
        ]
    }
}
