//! `klgrid sweep`.

use super::exit;
use super::job::{BackendArgs, JobArgs, JobData};
use super::progress::Progress;
use clap::Args;
use klgrid::analysis::{self, AnalysisOptions};
use klgrid::input;
use klgrid::intervals::IntervalMethod;
use klgrid::report::{self, Format, Report};
use klgrid::sample_spec::SampleSpec;
use klgrid::sweep::{self, StreamJob, SweepJob};
use klgrid::{Error, Result};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub job: JobArgs,

    #[command(flatten)]
    pub backend: BackendArgs,

    /// Output format
    #[arg(long, value_name = "FORMAT", default_value = "table",
          value_parser = ["table", "csv", "json"])]
    pub format: String,

    /// Write the output to this file instead of stdout
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
    #[arg(long, value_name = "UNITS", default_value = "nats", value_parser = ["nats", "bits"])]
    pub units: String,

    // Boxed, so that the subcommand enum stays small (clippy::large_enum_variant).
    #[command(flatten)]
    pub intervals: Box<IntervalArgs>,

    #[command(flatten)]
    pub plot: Box<PlotArgs>,
}

/// Options of the intervals, regions and errors.
#[derive(Debug, Args)]
pub struct IntervalArgs {
    /// How intervals and regions are computed: profile (the other parameters optimised in f64 on
    /// the exact likelihood) or grid (read off the grid's values)
    #[arg(long = "intervals", value_name = "METHOD", value_enum, default_value_t = IntervalMethod::Profile)]
    pub method: IntervalMethod,

    /// Confidence levels of the per-parameter intervals, comma-separated, each in (0, 1)
    #[arg(long = "cl", value_name = "LEVELS", default_value = "0.6827,0.95")]
    pub levels: String,

    /// Confidence (coverage) levels of the joint two-parameter regions, comma-separated
    #[arg(long = "region-cl", value_name = "LEVELS", default_value = "0.68,0.95")]
    pub region_levels: String,
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
    #[arg(long, value_name = "METRIC", default_value = "deviance",
          value_parser = ["deviance", "delta_loglik", "loglik", "cross_entropy", "kl"])]
    pub plot_metric: String,

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

/// Largest number of streamed samples the analysis reads back into memory (2²⁵: 256 MiB).
const ANALYSIS_IN_MEMORY: u64 = 1 << 25;

/// Runs the sweep and writes the report; returns the exit code.
pub fn run(args: &SweepArgs) -> Result<i32> {
    let format: Format = args.format.parse()?;
    let levels = parse_levels("--cl", &args.intervals.levels)?;
    let region_levels = parse_levels("--region-cl", &args.intervals.region_levels)?;
    let backend = args.backend.backend()?;
    let job = args.job.build()?;
    // Checked before the sweep, so that a typo costs no work.
    klgrid::plot::parse_labels(&args.plot.labels, &job.grid)?;
    let strategy = args.backend.strategy.parse()?;
    let outcome = match &job.data {
        JobData::Memory(xs) => {
            let sj = SweepJob {
                family: job.family,
                grid: job.grid.clone(),
                data: xs,
                backend,
                adapter: job.adapter.clone(),
                shape: job.shape,
                strategy,
            };
            sweep::run(&sj, &mut |msg| eprintln!("klgrid: {msg}"))?
        }
        JobData::Input(spec) => {
            let reader = input::open(spec)?;
            let progress = Progress::new(job.quiet, reader.position().total);
            let sj = StreamJob {
                family: job.family,
                grid: job.grid.clone(),
                backend,
                adapter: job.adapter.clone(),
                shape: job.shape,
                strategy,
            };
            let out = sweep::run_stream(&sj, reader, &mut |msg| progress.note(msg), &progress);
            progress.finish();
            out?
        }
    };
    let truth = match (&args.truth, &args.job.sample) {
        (Some(t), _) => Some(
            SampleSpec::parse(t)
                .map_err(|e| Error::input(e.to_string().replacen("--sample", "--true", 1)))?,
        ),
        (None, Some(s)) => Some(SampleSpec::parse(s)?),
        (None, None) => None,
    };
    let opts = AnalysisOptions {
        truth,
        refine: args.refine,
        units: args.units.parse()?,
        adapter: job.adapter.clone(),
        shape: job.shape,
        intervals: args.intervals.method,
        levels,
        region_levels,
        curve_points: if args.plot.plot.is_some() { 61 } else { 0 },
    };
    // The analysis re-reads streamed data into memory (numeric MLE, refinement, empirical
    // entropy) unless they are too many or came from stdin; then those parts are skipped with a
    // note (and --refine is an error).
    let loaded = match &job.data {
        JobData::Memory(_) => None,
        // Standard input cannot be read twice.
        JobData::Input(spec)
            if !matches!(spec.source, input::Source::Stdin)
                && outcome.primary.partials.n <= ANALYSIS_IN_MEMORY =>
        {
            Some(job.load()?)
        }
        JobData::Input(_) => None,
    };
    let xs: Option<&[f64]> = match &job.data {
        JobData::Memory(xs) => Some(xs),
        JobData::Input(_) => loaded.as_deref(),
    };
    let an = analysis::analyse(job.family, &job.grid, xs, &outcome, &opts)?;
    let rep = Report {
        family: job.family,
        grid: &job.grid,
        outcome: &outcome,
        data_source: job.data_source.clone(),
        data_seconds: outcome.input.as_ref().map_or(job.data_seconds, |i| i.1),
        mle_mean_loglik: outcome.mle_mean_loglik,
        analysis: Some(&an),
    };
    if let Some(path) = &args.plot.plot {
        draw_plot(args, &job.grid, job.family, &outcome, &an, path)?;
    }
    write_output(args.out.as_deref(), |w| report::write(&rep, format, w))?;
    if let Some(a) = &outcome.agreement {
        if !a.within_tolerance {
            let reference = outcome
                .reference
                .as_ref()
                .map_or("reference", |r| r.backend);
            eprintln!(
                "klgrid: {} and {reference} disagree: max relative difference {:.3e} (tolerance {:.0e}), argmax {}, {} support mismatches",
                outcome.primary.backend,
                a.max_rel_diff,
                a.tolerance,
                if a.argmax_agrees { "agrees" } else { "differs" },
                a.support_mismatches
            );
            return Ok(exit::DISAGREE);
        }
    }
    Ok(0)
}

/// Draws `--plot`.
fn draw_plot(
    args: &SweepArgs,
    grid: &klgrid::grid::Grid,
    family: &'static dyn klgrid::family::Family,
    outcome: &sweep::SweepOutcome,
    an: &analysis::Analysis,
    path: &std::path::Path,
) -> Result<()> {
    use klgrid::plot::{self, Metric, PlotInput};
    let p = &args.plot;
    plot::ImageFormat::from_path(path)?;
    let metric = match p.plot_metric.as_str() {
        "deviance" => Metric::Deviance,
        "delta_loglik" => Metric::DeltaLoglik,
        "loglik" => Metric::Loglik,
        "cross_entropy" => Metric::CrossEntropy,
        "kl" => {
            let entropy = an.entropy.as_ref().map(|h| h.value).ok_or_else(|| {
                Error::input(format!(
                    "--plot-metric kl needs H(P): {}",
                    an.entropy_note.as_deref().unwrap_or("unknown")
                ))
            })?;
            Metric::Kl { entropy }
        }
        other => {
            return Err(Error::input(format!("unknown --plot-metric '{other}'")));
        }
    };
    let ev = &outcome.primary;
    let n = ev.partials.n as f64;
    // The deviance's zero: S(θ̂) by the exact likelihood, else the grid's best point.
    let peak = match an.uncertainty.s_hat {
        Some(s) => s / n,
        None => outcome.best.map_or(0.0, |b| ev.partials.mean_loglik(b)),
    };
    let title = p
        .title
        .clone()
        .unwrap_or_else(|| format!("{}, n = {}", family.name(), ev.partials.n));
    let labels = plot::parse_labels(&p.labels, grid)?;
    let input = PlotInput {
        family,
        grid,
        partials: &ev.partials,
        metric,
        best: outcome.best,
        mle: an.mle.as_ref().map(|m| m.theta.as_slice()),
        title,
        size: plot::parse_size(&p.plot_size)?,
        pair: p
            .plot_pair
            .as_deref()
            .map(|s| plot::parse_pair(s, grid))
            .transpose()?,
        intervals: &an.uncertainty.intervals,
        regions: &an.regions,
        curves: &an.uncertainty.curves,
        peak,
        labels: &labels,
    };
    plot::render(&input, path).map(|_| ())
}

/// Writes through `f` to `path`, or to stdout; a closed stdout pipe is not an error.
pub fn write_output(
    path: Option<&std::path::Path>,
    f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let res = match path {
        Some(p) => {
            let file = std::fs::File::create(p)
                .map_err(|e| Error::Output(format!("{}: {e}", p.display())))?;
            let mut w = std::io::BufWriter::new(file);
            f(&mut w).and_then(|_| w.flush())
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            f(&mut w).and_then(|_| w.flush())
        }
    };
    match res {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| Error::Output(e.to_string())),
    }
}
