//! `klgrid sweep`.

use super::exit;
use super::job::{BackendArgs, JobArgs, JobData};
use super::output::{self, Target};
use super::progress::Progress;
use clap::Args;
use klgrid::analysis::identity::Units;
use klgrid::analysis::intervals::IntervalMethod;
use klgrid::analysis::{self, AnalysisOptions};
use klgrid::engine::{self, StreamJob, SweepJob, SweepOutcome};
use klgrid::model::sample_spec::SampleSpec;
use klgrid::plot::{MetricChoice, PlotOptions};
use klgrid::report::{self, DataOrigin, Format, Points, Report};
use klgrid::{Error, Result};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub job: JobArgs,

    #[command(flatten)]
    pub backend: BackendArgs,

    /// Output format: table, csv, json, or the binary npz (NumPy) and parquet (one row per grid
    /// point) for big grids
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Which grid points the output lists: all, only the best, or none (the summary only). For
    /// csv, npz and parquet it chooses the rows; the table shows its top 5 (all), 1 or none
    #[arg(long, value_name = "WHICH", value_enum, default_value_t = Points::All)]
    pub points: Points,

    /// Write the output to this file instead of stdout (atomically: a temporary file in the same
    /// folder, renamed on success)
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,

    /// Declare the distribution P that generated --data, e.g. 'normal(mu=1.5, sigma=2)': reports
    /// H(P), KL = cross-entropy − H(P) and, for P of the swept family, the exact KL
    #[arg(long = "true", value_name = "SPEC", conflicts_with = "sample")]
    pub truth: Option<String>,

    /// Refine the grid K times around the best point (same shape, span halved each round)
    #[arg(long, value_name = "K", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=60))]
    pub refine: u32,

    /// Units of every entropy, cross-entropy and KL figure (log-likelihoods stay in nats)
    #[arg(long, value_name = "UNITS", default_value = "nats")]
    pub units: Units,

    // Boxed, so that the subcommand enum stays small (clippy::large_enum_variant).
    #[command(flatten)]
    pub intervals: Box<IntervalArgs>,

    #[command(flatten)]
    pub plot: Box<PlotArgs>,

    /// Shards, partial files, MPI ranks, several devices (`src/cli/scale.rs`).
    #[command(flatten)]
    pub scale: super::scale::ScaleArgs,
}

/// `--cl` when not given: the 1σ and 95% levels.
const DEFAULT_CL: &str = "0.6827,0.95";
/// `--region-cl` when not given.
const DEFAULT_REGION_CL: &str = "0.68,0.95";

/// Options of the intervals, regions and errors.
#[derive(Debug, Args)]
pub struct IntervalArgs {
    /// How intervals and regions are computed: profile (the other parameters optimised in f64 on
    /// the exact likelihood) or grid (read off the grid's values)
    #[arg(long = "intervals", value_name = "METHOD", value_enum, default_value_t = IntervalMethod::Profile)]
    pub method: IntervalMethod,

    /// Confidence levels of the per-parameter intervals, comma-separated, each in (0, 1)
    #[arg(long = "cl", value_name = "LEVELS", default_value = DEFAULT_CL)]
    pub levels: String,

    /// Confidence (coverage) levels of the joint two-parameter regions, comma-separated
    #[arg(long = "region-cl", value_name = "LEVELS", default_value = DEFAULT_REGION_CL)]
    pub region_levels: String,
}

impl IntervalArgs {
    /// The options as clap gives them when none is on the command line.
    pub fn default_values() -> IntervalArgs {
        IntervalArgs {
            method: IntervalMethod::Profile,
            levels: DEFAULT_CL.into(),
            region_levels: DEFAULT_REGION_CL.into(),
        }
    }

    /// The analysis options: these intervals with `truth`, `refine` and `units`, and the
    /// optimised profile curves when a plot will draw them.
    pub fn analysis(
        &self,
        truth: Option<SampleSpec>,
        refine: u32,
        units: Units,
        plot: bool,
    ) -> Result<AnalysisOptions> {
        Ok(AnalysisOptions {
            truth,
            refine,
            units,
            intervals: self.method,
            levels: parse_levels("--cl", &self.levels)?,
            region_levels: parse_levels("--region-cl", &self.region_levels)?,
            curve_points: if plot { 61 } else { 0 },
            replay: None,
        })
    }
}

/// Parses `--cl`-style levels: comma-separated numbers in (0, 1), at most 8, duplicates dropped.
fn parse_levels(flag: &str, s: &str) -> Result<Vec<f64>> {
    let mut out: Vec<f64> = Vec::new();
    for part in s.split(',') {
        let v: f64 = part.trim().parse().map_err(|_| {
            Error::input(format!(
                "{flag} '{s}': '{}' is not a number (expected levels such as 0.6827,0.95)",
                part.trim()
            ))
        })?;
        if !(v > 0.0 && v < 1.0) {
            return Err(Error::input(format!(
                "{flag} '{s}': each level must lie strictly between 0 and 1 (got {v})"
            )));
        }
        if !out.contains(&v) {
            out.push(v);
        }
    }
    if out.len() > 8 {
        return Err(Error::input(format!("{flag}: at most 8 levels")));
    }
    Ok(out)
}

/// Options of `--plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Draw the likelihood curve (1 parameter), heatmap (2) or profiles (more) to this .png or
    /// .svg file
    #[arg(long, value_name = "PATH")]
    pub plot: Option<PathBuf>,

    /// What the plot shows: Δ(−2 ln L) from the maximum (deviance), Δ mean log-likelihood
    /// (delta_loglik), the mean log-likelihood, the cross-entropy, or the KL divergence (which
    /// needs H(P): --sample, --true, or discrete data)
    #[arg(long, value_name = "METRIC", default_value = "deviance")]
    pub plot_metric: MetricChoice,

    /// Picture size in pixels
    #[arg(long, value_name = "WxH", default_value = "1200x800")]
    pub plot_size: String,

    /// With more than two parameters: draw the 2-D profile surface of these two
    #[arg(long, value_name = "A,B")]
    pub plot_pair: Option<String>,

    /// Axis label of a parameter in the plot, e.g. --label 'mu=μ (GeV)' (repeatable)
    #[arg(long = "label", value_name = "NAME=TEXT")]
    pub labels: Vec<String>,

    /// Title of the plot [default: the family and n]
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
}

impl PlotArgs {
    /// The plot options, checked against the grid (size, pair, labels), before any sweep.
    pub fn options(&self, grid: &klgrid::model::grid::Grid) -> Result<PlotOptions> {
        use klgrid::plot;
        Ok(PlotOptions {
            metric: self.plot_metric,
            size: Some(plot::parse_size(&self.plot_size)?),
            pair: self
                .plot_pair
                .as_deref()
                .map(|s| plot::parse_pair(s, grid))
                .transpose()?,
            title: self.title.clone(),
            labels: plot::parse_labels(&self.labels, grid)?,
        })
    }
}

/// Runs the sweep and writes the report; returns the exit code.
pub fn run(args: &SweepArgs) -> Result<i32> {
    if let Some(code) = super::scale::intercept(args)? {
        return Ok(code);
    }
    // Every option is checked before any data are read or drawn.
    let checked = check_options(args)?;
    let format = args.format;
    let backend = args.backend.backend()?;
    let job = args.job.build()?;
    let strategy = args.backend.strategy;
    let session = job.session();
    let outcome = match &job.data {
        JobData::Memory(xs) => {
            let sj = SweepJob {
                family: job.family,
                grid: job.grid.clone(),
                data: xs,
                backend,
                strategy,
            };
            let progress = Progress::evaluating(job.quiet, xs.len() as u64);
            let out = engine::run_observed(&session, &sj, &mut |msg| progress.note(msg), &progress);
            progress.finish();
            out?
        }
        data => {
            let reader = data.reader()?.expect("streamed data have a reader");
            let progress = Progress::new(job.quiet, reader.position().total);
            let sj = StreamJob {
                family: job.family,
                grid: job.grid.clone(),
                backend,
                strategy,
            };
            let out = engine::run_stream(
                &session,
                &sj,
                reader,
                &mut |msg| progress.note(msg),
                &progress,
            );
            progress.finish();
            out?
        }
    };
    let mut opts = checked.analysis;
    opts.replay = job.data.replay();
    // The samples the analysis needs: drawn, or kept by the pipeline from its one pass over a
    // streamed source (never read twice).
    let memory = match &job.data {
        JobData::Memory(xs) => Some(xs.as_slice()),
        _ => None,
    };
    let xs = outcome.samples(memory);
    let progress = Progress::analysing(job.quiet);
    let an = analysis::analyse_observed(
        &session, job.family, &job.grid, xs, &outcome, &opts, &progress,
    );
    progress.finish();
    let an = an?;
    let rep = Report {
        family: job.family,
        grid: &job.grid,
        outcome: &outcome,
        data_source: job.data_source.clone(),
        origin: match (&job.data, &outcome.input) {
            (JobData::Memory(_), _) => DataOrigin::Drawn,
            (_, Some((info, _))) => DataOrigin::Read(info),
            (_, None) => {
                return Err(Error::Output(format!(
                    "{}: the sweep did not say how it read the data",
                    job.data_source
                )))
            }
        },
        data_seconds: outcome.input.as_ref().map_or(job.data_seconds, |i| i.1),
        analysis: &an,
    };
    if let Some(plot) = checked.plot {
        draw_plot(&job.grid, job.family, &outcome, &an, plot)?;
    }
    let points = args.points;
    checked
        .out
        .write(|w| report::write_points(&rep, format, points, w))?;
    Ok(disagreement_code(&outcome))
}

/// Exit code 3, with one note saying by how much, when `--backend both` disagreed beyond
/// tolerance; 0 otherwise.
pub(super) fn disagreement_code(outcome: &SweepOutcome) -> i32 {
    if let Some(a) = &outcome.agreement {
        if !a.within_tolerance {
            let reference = outcome
                .reference
                .as_ref()
                .map_or("reference", |r| r.backend.name());
            output::note(&format!(
                "{} and {reference} disagree: max relative difference {:.3e} (tolerance {:.0e}), argmax {}, {} support mismatches",
                outcome.primary.backend,
                a.max_rel_diff,
                a.tolerance,
                if a.argmax_agrees { "agrees" } else { "differs" },
                a.support_mismatches
            ));
            return exit::DISAGREE;
        }
    }
    0
}

/// The options checked up front, and the outputs prepared.
struct Checked {
    /// The analysis: P, from `--true` or `--sample`; `--refine`, `--units`, the intervals.
    analysis: AnalysisOptions,
    /// `--out` (or stdout), its temporary file created.
    out: Target,
    /// `--plot`: its target prepared, the size and pair parsed.
    plot: Option<PlotTarget>,
}

/// `--plot`, checked.
struct PlotTarget {
    target: Target,
    options: PlotOptions,
}

/// Checks every option that can be checked without the data, before any are read or drawn, so
/// that a mistake costs no sweep: the family and grid, `--true`, `--out` (its folder writable:
/// the temporary file is created in it now; stdout open, and not a terminal for a binary
/// format), the intervals' `--cl` and `--region-cl`, and `--plot` (extension, folder,
/// `--plot-size`, `--plot-pair`, `--label`, a free axis, `--plot-metric kl` without any way to
/// know H(P)).
fn check_options(args: &SweepArgs) -> Result<Checked> {
    use klgrid::plot;
    let (family, grid) = args.job.family_and_grid()?;
    let truth = match (&args.truth, &args.job.sample) {
        (Some(t), _) => Some(
            SampleSpec::parse(t)
                .map_err(|e| Error::input(e.to_string().replacen("--sample", "--true", 1)))?,
        ),
        (None, Some(s)) => Some(SampleSpec::parse(s)?),
        (None, None) => None,
    };
    let plot = match &args.plot.plot {
        None => None,
        Some(path) => {
            plot::ImageFormat::from_path(path)?;
            let options = args.plot.options(&grid)?;
            if options.pair.is_none() && grid.axes().iter().all(|a| a.values.len() < 2) {
                return Err(Error::input(
                    "--plot: the grid has no axis with more than one value",
                ));
            }
            if args.plot.plot_metric == MetricChoice::Kl
                && truth.is_none()
                && !family.integer_data()
            {
                return Err(Error::input(
                    "--plot-metric kl needs H(P): the data are continuous and P is unknown (give --true SPEC)",
                ));
            }
            let ext = path
                .extension()
                .map(|e| format!(".{}", e.to_string_lossy()))
                .unwrap_or_default();
            Some(PlotTarget {
                target: Target::file(path, &ext, "--plot")?,
                options,
            })
        }
    };
    let analysis =
        args.intervals
            .analysis(truth, args.refine, args.units, args.plot.plot.is_some())?;
    let binary = args.format.is_binary().then(|| args.format.name());
    let out = Target::out(args.out.as_deref(), binary)?;
    Ok(Checked {
        analysis,
        out,
        plot,
    })
}

/// Draws `--plot` into its prepared target.
fn draw_plot(
    grid: &klgrid::model::grid::Grid,
    family: &'static dyn klgrid::model::Family,
    outcome: &SweepOutcome,
    an: &analysis::Analysis,
    plot: PlotTarget,
) -> Result<()> {
    let input = klgrid::plot::sweep_input(family, grid, outcome, an, &plot.options)?;
    let Some(path) = plot.target.path() else {
        return Err(Error::Output("--plot needs a file".into()));
    };
    klgrid::plot::render(&input, path)?;
    plot.target.commit()
}
