//! `klgrid bench`.

use super::job::JobArgs;
use super::output::{self, Target};
use clap::Args;
use klgrid::engine::bench::{self, BenchOptions, BenchReport};
use klgrid::engine::{EvalPath, Strategy};
use klgrid::{Error, Result};
use std::io::Write;

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub job: JobArgs,

    /// Paths to measure, comma-separated [default: gpu,cpu,cpu-ref; gpu is left out with a note
    /// when no adapter exists]
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub backends: Option<Vec<EvalPath>>,

    /// Timed runs per path, after one warm-up run
    #[arg(long, value_name = "R", default_value_t = 5)]
    pub repeat: usize,

    /// Timed runs of cpu-ref (slow, nothing to warm up)
    #[arg(long, value_name = "R", default_value_t = 1)]
    pub ref_repeat: usize,

    /// Strategy of the gpu and cpu paths (cpu-ref is always direct): direct measures the kernels
    #[arg(long, value_name = "STRATEGY", default_value = "direct")]
    pub strategy: Strategy,

    /// Output format
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = BenchFormat::Table)]
    pub format: BenchFormat,

    /// Write the output to this file instead of stdout
    #[arg(long, value_name = "PATH")]
    pub out: Option<std::path::PathBuf>,
}

/// Output format of `bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchFormat {
    /// For people.
    Table,
    /// `{"n", "grid_points", "evaluations_per_run", "peak_rss_bytes", "results": [...]}`.
    Json,
}

/// Most timed runs `--repeat` and `--ref-repeat` accept: enough for a stable median of the
/// smallest job, and a bound on the time a typo can cost.
const MAX_REPEAT: usize = 10_000;

pub fn run(args: &BenchArgs) -> Result<i32> {
    if args.repeat == 0 {
        return Err(Error::input("--repeat must be at least 1"));
    }
    for (flag, r) in [("--repeat", args.repeat), ("--ref-repeat", args.ref_repeat)] {
        if r > MAX_REPEAT {
            return Err(Error::input(format!(
                "{flag} {r} is too many: at most {MAX_REPEAT} timed runs"
            )));
        }
    }
    // Checked (and its temporary file created) before the data are read or drawn.
    let out = Target::out(args.out.as_deref(), None)?;
    let job = args.job.build()?;
    let data = job.load()?;
    let session = job.session();
    let paths: Vec<EvalPath> = match &args.backends {
        Some(list) => list.clone(),
        None => {
            let mut v = vec![EvalPath::Gpu, EvalPath::Cpu, EvalPath::CpuRef];
            if let Err(e) = session.gpu() {
                output::note(&format!("bench: leaving out gpu: {e}"));
                v.remove(0);
            }
            v
        }
    };
    let opts = BenchOptions {
        paths,
        repeat: args.repeat,
        ref_repeat: args.ref_repeat,
        strategy: args.strategy,
    };
    let report = bench::run(&session, job.family, &job.grid, &data, &opts, &mut |m| {
        output::note(m)
    })?;
    let peak = bench::peak_rss_bytes();
    let json = args.format == BenchFormat::Json;
    out.write(|w| {
        if json {
            write_json(&report, peak, w)
        } else {
            write_table(&report, &job.data_source, job.family.name(), peak, w)
        }
    })?;
    Ok(0)
}

fn write_json(r: &BenchReport, peak: Option<u64>, w: &mut dyn Write) -> std::io::Result<()> {
    let doc = klgrid::report::bench::document(r, peak);
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(std::io::Error::other)?;
    writeln!(w)
}

fn write_table(
    r: &BenchReport,
    source: &str,
    family: &str,
    peak: Option<u64>,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    let evals = r.n as f64 * r.grid_points as f64;
    writeln!(
        w,
        "bench: {family} on {source}: n = {}, {} grid points, {evals:.3e} evaluations per run",
        r.n, r.grid_points
    )?;
    writeln!(
        w,
        "{:<8} {:>11} {:>11} {:>11} {:>10} {:>10} {:>9} {:>9} {:>12}",
        "backend",
        "evals/s",
        "min",
        "max",
        "seconds",
        "device s",
        "compile",
        "vs cpu",
        "max rel diff"
    )?;
    let cpu = r.cpu_evals_per_s();
    for b in &r.results {
        let opt = |v: Option<f64>, p: usize| v.map_or("-".to_string(), |v| format!("{v:.p$}"));
        writeln!(
            w,
            "{:<8} {:>11.3e} {:>11.3e} {:>11.3e} {:>10.4} {:>10} {:>9} {:>9} {:>12}",
            b.path.name(),
            b.evals_per_s.median,
            b.evals_per_s.min,
            b.evals_per_s.max,
            b.seconds.median,
            opt(b.device_seconds.map(|d| d.median), 4),
            opt(b.compile_seconds, 3),
            cpu.map_or("-".into(), |c| format!("{:.2}x", b.evals_per_s.median / c)),
            b.max_rel_diff.map_or("-".into(), |d| format!("{d:.2e}")),
        )?;
    }
    for b in r.results.iter().filter(|b| b.adapter.is_some()) {
        match b.kernel {
            Some(k) => writeln!(
                w,
                "{}: {}; kernel {} points/invocation, workgroup {}, chunk {}",
                b.path.name(),
                b.adapter.as_deref().unwrap_or(""),
                k.points_per_invocation(),
                k.workgroup_size,
                k.chunk_len
            )?,
            None => writeln!(
                w,
                "{}: {}; {}",
                b.path.name(),
                b.adapter.as_deref().unwrap_or(""),
                b.strategy
            )?,
        }
    }
    if let Some(b) = r.results.iter().find(|b| b.strategy != Strategy::Direct) {
        writeln!(
            w,
            "strategy: {} for gpu and cpu (cpu-ref is direct)",
            b.strategy
        )?;
    }
    writeln!(w, "runs: {} timed after one warm-up (cpu-ref: no warm-up); evals/s = n · grid points / wall seconds (median of runs)", r.results.iter().map(|b| b.runs).max().unwrap_or(0))?;
    if let Some(p) = peak {
        writeln!(
            w,
            "peak resident memory: {:.0} MiB",
            p as f64 / (1 << 20) as f64
        )?;
    }
    Ok(())
}
