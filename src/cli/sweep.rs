//! `klgrid sweep`.

use super::exit;
use super::job::{BackendArgs, JobArgs};
use clap::Args;
use klgrid::analysis::{self, AnalysisOptions};
use klgrid::report::{self, Format, Report};
use klgrid::sample_spec::SampleSpec;
use klgrid::sweep::{self, SweepJob};
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
}

/// Runs the sweep and writes the report; returns the exit code.
pub fn run(args: &SweepArgs) -> Result<i32> {
    let format: Format = args.format.parse()?;
    let backend = args.backend.backend()?;
    let job = args.job.build()?;
    let sj = SweepJob {
        family: job.family,
        grid: job.grid,
        data: &job.data,
        backend,
        adapter: job.adapter.clone(),
        shape: job.shape,
    };
    let outcome = sweep::run(&sj, &mut |msg| eprintln!("klgrid: {msg}"))?;
    let mle_mean_loglik = outcome.mle.as_ref().and_then(|m| {
        let (s, outside) = job.family.ln_pdf_sum(&job.data, m);
        (outside == 0).then(|| s / job.data.len() as f64)
    });
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
    };
    let an = analysis::analyse(job.family, &sj.grid, &job.data, &outcome, &opts)?;
    let rep = Report {
        family: job.family,
        grid: &sj.grid,
        outcome: &outcome,
        data_source: job.data_source.clone(),
        data_seconds: job.data_seconds,
        mle_mean_loglik,
        analysis: Some(&an),
    };
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
