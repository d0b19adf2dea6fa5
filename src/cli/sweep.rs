//! `klgrid sweep`.

use super::exit;
use super::job::{BackendArgs, JobArgs, JobData};
use super::progress::Progress;
use clap::Args;
use klgrid::input;
use klgrid::report::{self, Format, Report};
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
}

/// Runs the sweep and writes the report; returns the exit code.
pub fn run(args: &SweepArgs) -> Result<i32> {
    let format: Format = args.format.parse()?;
    let backend = args.backend.backend()?;
    let job = args.job.build()?;
    let outcome = match &job.data {
        JobData::Memory(xs) => {
            let sj = SweepJob {
                family: job.family,
                grid: job.grid.clone(),
                data: xs,
                backend,
                adapter: job.adapter.clone(),
                shape: job.shape,
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
            };
            let out = sweep::run_stream(&sj, reader, &mut |msg| progress.note(msg), &progress);
            progress.finish();
            out?
        }
    };
    let rep = Report {
        family: job.family,
        grid: &job.grid,
        outcome: &outcome,
        data_source: job.data_source.clone(),
        data_seconds: outcome.input.as_ref().map_or(job.data_seconds, |i| i.1),
        mle_mean_loglik: outcome.mle_mean_loglik,
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
