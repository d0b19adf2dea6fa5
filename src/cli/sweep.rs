//! `klgrid sweep`.

use super::exit;
use super::job::{BackendArgs, JobArgs, JobData};
use super::progress::Progress;
use clap::Args;
use klgrid::analysis::identity::Units;
use klgrid::analysis::{self, AnalysisOptions};
use klgrid::engine::{self, StreamJob, SweepJob, SweepOutcome};
use klgrid::input;
use klgrid::model::sample_spec::SampleSpec;
use klgrid::plot::MetricChoice;
use klgrid::report::{self, Format, Report};
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
    #[arg(long, value_name = "FORMAT", default_value = "table")]
    pub format: Format,

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
    #[arg(long, value_name = "UNITS", default_value = "nats")]
    pub units: Units,

    #[command(flatten)]
    pub plot: PlotArgs,

    /// Shards, partial files, MPI ranks, several devices (`src/cli/scale.rs`).
    #[command(flatten)]
    pub scale: super::scale::ScaleArgs,
}

/// Options of `--plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Draw the likelihood curve (1 parameter), heatmap (2) or profiles (more) to this .png or
    /// .svg file
    #[arg(long, value_name = "PATH")]
    pub plot: Option<PathBuf>,

    /// What the plot shows: the mean log-likelihood, the cross-entropy, or the KL divergence
    /// (which needs H(P): --sample, --true, or discrete data)
    #[arg(long, value_name = "METRIC", default_value = "loglik")]
    pub plot_metric: MetricChoice,

    /// Picture size in pixels
    #[arg(long, value_name = "WxH", default_value = "1200x800")]
    pub plot_size: String,

    /// With more than two parameters: draw the 2-D profile surface of these two
    #[arg(long, value_name = "A,B")]
    pub plot_pair: Option<String>,
}

/// Runs the sweep and writes the report; returns the exit code.
pub fn run(args: &SweepArgs) -> Result<i32> {
    if let Some(code) = super::scale::intercept(args)? {
        return Ok(code);
    }
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
            engine::run(&session, &sj, &mut |msg| eprintln!("klgrid: {msg}"))?
        }
        JobData::Input(spec) => {
            let reader = input::open(spec)?;
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
        units: args.units,
    };
    // The samples the analysis needs: drawn, or kept by the pipeline from its one pass over a
    // streamed source (never read twice).
    let memory = match &job.data {
        JobData::Memory(xs) => Some(xs.as_slice()),
        JobData::Input(_) => None,
    };
    let xs = outcome.samples(memory);
    let an = analysis::analyse(&session, job.family, &job.grid, xs, &outcome, &opts)?;
    let rep = Report {
        family: job.family,
        grid: &job.grid,
        outcome: &outcome,
        data_source: job.data_source.clone(),
        data_seconds: outcome.input.as_ref().map_or(job.data_seconds, |i| i.1),
        analysis: &an,
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
                .map_or("reference", |r| r.backend.name());
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
    grid: &klgrid::model::grid::Grid,
    family: &'static dyn klgrid::model::Family,
    outcome: &SweepOutcome,
    an: &analysis::Analysis,
    path: &std::path::Path,
) -> Result<()> {
    use klgrid::plot::{self, Metric, PlotInput};
    let p = &args.plot;
    plot::ImageFormat::from_path(path)?;
    let metric = match p.plot_metric {
        MetricChoice::Loglik => Metric::Loglik,
        MetricChoice::CrossEntropy => Metric::CrossEntropy,
        MetricChoice::Kl => {
            let entropy = an.entropy.as_ref().map(|h| h.value).ok_or_else(|| {
                Error::input(format!(
                    "--plot-metric kl needs H(P): {}",
                    an.entropy_note.as_deref().unwrap_or("unknown")
                ))
            })?;
            Metric::Kl { entropy }
        }
    };
    let ev = &outcome.primary;
    let title = format!(
        "{} — n = {}, {} points, {} ({}), nats",
        family.name(),
        ev.partials.n,
        grid.len(),
        ev.backend,
        ev.strategy
    );
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
    };
    plot::render(&input, path)
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
