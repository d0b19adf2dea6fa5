//! Beyond one process and one device: the `sweep` options of data and grid shards, partial
//! files, MPI ranks and several devices ([`ScaleArgs`]), and the report of a merged sweep
//! (shared by `klgrid merge` and MPI rank 0).

use super::job::JobArgs;
use super::output::{self, Target};
use super::sweep::{disagreement_code, IntervalArgs, PlotArgs, SweepArgs};
use clap::Args;
use klgrid::analysis;
use klgrid::analysis::identity::Units;
use klgrid::engine::merge::Merged;
use klgrid::engine::multi::{self, AdapterSet, DeviceSplit};
#[cfg(feature = "mpi")]
use klgrid::engine::shard::ShardOutput;
use klgrid::engine::shard::{self, ShardData, ShardJob, Split};
use klgrid::engine::{self, Hooks, Session, SessionOptions, StreamJob, SweepJob};
use klgrid::input::{self, Column, InputSpec};
use klgrid::model::grid::Grid;
use klgrid::model::sample_spec::{SampleSpec, DEFAULT_SEED};
use klgrid::model::Family;
use klgrid::report::{self, DataOrigin, Format, Report};
use klgrid::{Error, Result};
use std::path::{Path, PathBuf};

/// How `sweep --mpi` splits the work across the ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MpiSplit {
    /// Rank r evaluates data shard r+1 of R (whole chunks of the data).
    #[default]
    Data,
    /// Rank r evaluates grid shard r+1 of R (a contiguous range of grid points).
    Grid,
}

/// The options of `sweep` for shards, partial files, MPI and several devices.
#[derive(Debug, Args, Default)]
pub struct ScaleArgs {
    /// Evaluate only data shard I of K: the I-th of K contiguous runs of whole chunks of 2²²
    /// samples (needs --partials-out; merge the K files with `klgrid merge`)
    #[arg(long, value_name = "I/K")]
    pub shard: Option<Split>,

    /// Evaluate only grid shard I of K: the I-th of K contiguous ranges of grid points (needs
    /// --partials-out)
    #[arg(long = "grid-shard", value_name = "I/K")]
    pub grid_shard: Option<Split>,

    /// Write this shard's exact partials to FILE (the binary format of README's "Partial
    /// files") instead of a report; `klgrid merge` makes the report
    #[arg(long, value_name = "FILE")]
    pub partials_out: Option<PathBuf>,

    /// Run as one rank of an MPI job (`mpirun -n R klgrid sweep ... --mpi`): each rank
    /// evaluates one shard, rank 0 merges them exactly and writes the report (needs a klgrid
    /// built with `--features mpi`)
    #[arg(long)]
    pub mpi: bool,

    /// With --mpi: split the data (rank r takes data shard r+1/R) or the grid
    #[arg(long, value_name = "SPLIT", default_value = "data")]
    pub mpi_split: MpiSplit,

    /// With --adapter all (or a list of indices): split the grid across the devices (default)
    /// or deal them the chunks of the data
    #[arg(long, value_name = "SPLIT", default_value = "grid")]
    pub device_split: DeviceSplit,
}

/// What `sweep` does with these options: `None` when none applies (a plain sweep), else the
/// exit code of the shard, MPI or multi-device run.
pub fn intercept(args: &SweepArgs) -> Result<Option<i32>> {
    let s = &args.scale;
    let devices = args.job.adapter.as_deref().and_then(AdapterSet::parse);
    let sharded = s.shard.is_some() || s.grid_shard.is_some() || s.partials_out.is_some();
    if !sharded && !s.mpi && devices.is_none() {
        return Ok(None);
    }
    if s.mpi {
        if sharded {
            return Err(Error::input(
                "--mpi gives each rank its shard: leave out --shard, --grid-shard and --partials-out",
            ));
        }
        return run_mpi(args, devices.as_ref()).map(Some);
    }
    if sharded {
        return run_shard(args, devices.as_ref()).map(Some);
    }
    let devices = devices.expect("a device set");
    run_devices(args, &devices).map(Some)
}

/// The family, the whole grid and the data of a sweep, without reading or drawing the data.
pub fn parts(job: &JobArgs) -> Result<(&'static dyn Family, Grid, ShardData)> {
    let (family, grid) = job.family_and_grid()?;
    if job.seed.is_some() && job.sample.is_none() {
        return Err(Error::input("--seed only applies to --sample"));
    }
    let data = match (&job.data, &job.sample) {
        (Some(path), _) => ShardData::File(InputSpec {
            source: input::Source::from_arg(path),
            format: job.format_in,
            column: job.column.as_deref().map(Column::parse),
            integers: family.integer_data(),
            skip_nonfinite: job.skip_nonfinite,
        }),
        (None, Some(spec)) => {
            let spec = SampleSpec::parse(spec)?;
            let n = job.n.ok_or_else(|| Error::input("--sample needs -n N"))?;
            if n == 0 {
                return Err(Error::input("-n must be at least 1"));
            }
            usize::try_from(n).map_err(|_| Error::input("-n is too large"))?;
            ShardData::Sample {
                spec,
                n,
                seed: job.seed.unwrap_or(DEFAULT_SEED),
            }
        }
        (None, None) => return Err(Error::input("give --data PATH or --sample SPEC -n N")),
    };
    Ok((family, grid, data))
}

/// `--true SPEC` or the `--sample` spec: the declared P, as text.
fn truth_text(args: &SweepArgs) -> Result<Option<String>> {
    let t = match (&args.truth, &args.job.sample) {
        (Some(t), _) => Some(
            SampleSpec::parse(t)
                .map_err(|e| Error::input(e.to_string().replacen("--sample", "--true", 1)))?,
        ),
        (None, Some(s)) => Some(SampleSpec::parse(s)?),
        (None, None) => None,
    };
    Ok(t.map(|t| t.to_string()))
}

/// The options a shard's run cannot honour (its report comes from `klgrid merge`).
fn refuse_report_options(args: &SweepArgs, what: &str) -> Result<()> {
    if args.refine > 0 {
        return Err(Error::input(format!(
            "--refine re-evaluates the data around the best point, which {what} does not have; refine with a second sweep"
        )));
    }
    if args.out.is_some() || args.plot.plot.is_some() {
        return Err(Error::input(format!(
            "{what} writes partials, not a report: leave out --out and --plot, and give them to `klgrid merge`"
        )));
    }
    let iv = &args.intervals;
    let default = super::sweep::IntervalArgs::default_values();
    if iv.method != default.method
        || iv.levels != default.levels
        || iv.region_levels != default.region_levels
    {
        return Err(Error::input(format!(
            "{what} writes partials, not a report: leave out --intervals, --cl and --region-cl, \
             and give them to `klgrid merge`"
        )));
    }
    Ok(())
}

/// The sessions of the devices `--adapter` lists, each with the kernel shape of the whole grid.
fn device_sessions(
    job: &JobArgs,
    set: &AdapterSet,
    family: &dyn Family,
    grid: &Grid,
) -> Result<Vec<Session>> {
    let options = SessionOptions {
        adapter: None,
        shape: job.kernel_shape,
        limits: None,
    };
    Ok(multi::sessions(set.open()?, &options, family, grid.len()))
}

/// The session of a job on one device (`--adapter SUBSTRING`).
fn one_session(job: &JobArgs, devices: Option<&AdapterSet>) -> Session {
    Session::new(SessionOptions {
        adapter: if devices.is_some() {
            None
        } else {
            job.adapter.clone()
        },
        shape: job.kernel_shape,
        limits: None,
    })
}

/// `--shard`, `--grid-shard`, `--partials-out`: evaluates the shard and writes its partial file.
fn run_shard(args: &SweepArgs, devices: Option<&AdapterSet>) -> Result<i32> {
    let s = &args.scale;
    let out = s.partials_out.as_deref().ok_or_else(|| {
        Error::input(
            "--shard and --grid-shard write the shard's partials: give --partials-out FILE (then klgrid merge FILE...)",
        )
    })?;
    refuse_report_options(args, "a shard")?;
    let backend = args.backend.backend()?;
    let (family, grid, data) = parts(&args.job)?;
    let sessions = match devices {
        Some(set) => Some(device_sessions(&args.job, set, family, &grid)?),
        None => None,
    };
    let session = one_session(&args.job, devices);
    let job = ShardJob {
        family,
        grid,
        backend,
        strategy: args.backend.strategy,
        data: &data,
        data_split: s.shard.unwrap_or(Split::WHOLE),
        grid_split: s.grid_shard.unwrap_or(Split::WHOLE),
        truth: truth_text(args)?,
        devices: sessions.as_deref().map(|v| (v, s.device_split)),
    };
    let result = shard::run(&session, &job, &mut |m| output::note(m), &engine::Silent)?;
    klgrid::engine::partial_file::write(out, &result.header, &result.sums)?;
    if !args.job.quiet {
        output::note(&format!(
            "wrote {} ({} samples, {} path, {}) to {}",
            result.header.describe(),
            result.header.n,
            result.header.path,
            result.header.strategy,
            out.display()
        ));
    }
    Ok(0)
}

/// Several devices in one process, the whole sweep: the report `sweep` writes.
fn run_devices(args: &SweepArgs, set: &AdapterSet) -> Result<i32> {
    let backend = args.backend.backend()?;
    let strategy = args.backend.strategy;
    let mut job = args.job.build()?;
    job.session.adapter = None;
    let sessions = device_sessions(&args.job, set, job.family, &job.grid)?;
    let split = args.scale.device_split;
    let family = job.family;
    let grid = job.grid.clone();
    let hooks = || Hooks {
        open: Some(Box::new({
            let (sessions, grid) = (&sessions, grid.clone());
            move |notes: &mut Vec<String>| {
                multi::open(sessions, split, family, &grid, backend, strategy, notes)
            }
        })),
        ..Hooks::default()
    };
    let session = &sessions[0];
    let outcome = match &job.data {
        super::job::JobData::Memory(xs) => {
            let sj = SweepJob {
                family,
                grid: grid.clone(),
                data: xs,
                backend,
                strategy,
            };
            engine::run_with(session, &sj, hooks(), &mut |m| output::note(m))?
        }
        data => {
            let reader = data.reader()?.expect("streamed data have a reader");
            let progress = super::progress::Progress::new(job.quiet, reader.position().total);
            let sj = StreamJob {
                family,
                grid: grid.clone(),
                backend,
                strategy,
            };
            let out = engine::run_stream_with(
                session,
                &sj,
                reader,
                hooks(),
                &mut |m| progress.note(m),
                &progress,
            );
            progress.finish();
            out?
        }
    };
    let truth = truth_text(args)?
        .map(|t| SampleSpec::parse(&t))
        .transpose()?;
    let mut opts =
        args.intervals
            .analysis(truth, args.refine, args.units, args.plot.plot.is_some())?;
    opts.replay = job.data.replay();
    let memory = match &job.data {
        super::job::JobData::Memory(xs) => Some(xs.as_slice()),
        _ => None,
    };
    let xs = outcome.samples(memory);
    let progress = super::progress::Progress::analysing(job.quiet);
    let an = analysis::analyse_observed(session, family, &grid, xs, &outcome, &opts, &progress);
    progress.finish();
    let an = an?;
    let rep = Report {
        family,
        grid: &grid,
        outcome: &outcome,
        data_source: job.data_source.clone(),
        origin: match &outcome.input {
            Some((info, _)) => DataOrigin::Read(info),
            None => DataOrigin::Drawn,
        },
        data_seconds: outcome.input.as_ref().map_or(job.data_seconds, |i| i.1),
        analysis: &an,
    };
    if let Some(path) = &args.plot.plot {
        draw_plot(&args.plot, &grid, family, &outcome, &an, path)?;
    }
    let binary = args.format.is_binary().then(|| args.format.name());
    Target::out(args.out.as_deref(), binary)?.write(|w| report::write(&rep, args.format, w))?;
    Ok(disagreement_code(&outcome))
}

/// How the report of a merged sweep is written.
pub struct ReportOptions<'a> {
    pub format: Format,
    pub out: Option<&'a Path>,
    pub units: Units,
    pub intervals: &'a IntervalArgs,
    pub plot: &'a PlotArgs,
}

/// Writes the report of a merged sweep: what `sweep` reports, with the closed-form MLE from the
/// merged data summary, H(P̂) of discrete data from the merged counts, and the parts that need
/// the samples (numeric MLE, refinement) left out with a note.
pub fn report_merged(merged: &Merged, opts: &ReportOptions<'_>) -> Result<i32> {
    for n in &merged.notes {
        output::note(&format!("note: {n}"));
    }
    let family = merged.family;
    let outcome = &merged.outcome;
    let aopts = opts
        .intervals
        .analysis(None, 0, opts.units, opts.plot.plot.is_some())?;
    let an = analysis::merged::analyse_merged(merged, aopts)?;
    let rep = Report {
        family,
        grid: &merged.grid,
        outcome,
        data_source: merged.data.source(),
        origin: match &outcome.input {
            Some((info, _)) => DataOrigin::Read(info),
            None => DataOrigin::Drawn,
        },
        data_seconds: merged.data_seconds,
        analysis: &an,
    };
    if let Some(path) = &opts.plot.plot {
        draw_plot(opts.plot, &merged.grid, family, outcome, &an, path)?;
    }
    let binary = opts.format.is_binary().then(|| opts.format.name());
    Target::out(opts.out, binary)?.write(|w| report::write(&rep, opts.format, w))?;
    Ok(0)
}

/// Draws `--plot` (as `sweep` does).
fn draw_plot(
    p: &PlotArgs,
    grid: &Grid,
    family: &'static dyn Family,
    outcome: &engine::SweepOutcome,
    an: &analysis::Analysis,
    path: &Path,
) -> Result<()> {
    klgrid::plot::ImageFormat::from_path(path)?;
    let options = p.options(grid)?;
    let input = klgrid::plot::sweep_input(family, grid, outcome, an, &options)?;
    klgrid::plot::render(&input, path)?;
    Ok(())
}

/// `sweep --mpi` without the feature.
#[cfg(not(feature = "mpi"))]
fn run_mpi(_args: &SweepArgs, _devices: Option<&AdapterSet>) -> Result<i32> {
    Err(Error::input(
        "--mpi: this klgrid was built without MPI; build it with `cargo build --release --features mpi` (needs the system MPI: apt-get install openmpi-bin libopenmpi-dev libclang-dev)",
    ))
}

/// `sweep --mpi`: this process is one rank; see [`klgrid::engine::mpi`].
#[cfg(feature = "mpi")]
fn run_mpi(args: &SweepArgs, devices: Option<&AdapterSet>) -> Result<i32> {
    use klgrid::engine::mpi::{Mpi, Verdict};
    refuse_report_options_for_ranks(args)?;
    let mpi = Mpi::init()?;
    let (rank, size) = (mpi.rank(), mpi.size());
    let split = Split {
        index: rank as u32 + 1,
        count: size as u32,
    };
    // This rank's shard; any error (or panic) is carried to rank 0, never left to hang.
    let computed: Result<ShardOutput> =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<ShardOutput> {
            let backend = args.backend.backend()?;
            let (family, grid, data) = parts(&args.job)?;
            let sessions = match devices {
                Some(set) => Some(device_sessions(&args.job, set, family, &grid)?),
                None => None,
            };
            let session = one_session(&args.job, devices);
            let (data_split, grid_split) = match args.scale.mpi_split {
                MpiSplit::Data => (split, Split::WHOLE),
                MpiSplit::Grid => (Split::WHOLE, split),
            };
            let job = ShardJob {
                family,
                grid,
                backend,
                strategy: args.backend.strategy,
                data: &data,
                data_split,
                grid_split,
                truth: truth_text(args)?,
                devices: sessions.as_deref().map(|v| (v, args.scale.device_split)),
            };
            let quiet = rank != 0;
            shard::run(
                &session,
                &job,
                &mut |m| {
                    if !quiet {
                        output::note(m)
                    }
                },
                &engine::Silent,
            )
        }))
        .unwrap_or_else(|_| Err(Error::Gpu(format!("rank {rank} panicked"))));
    let opts = ReportOptions {
        format: args.format,
        out: args.out.as_deref(),
        units: args.units,
        intervals: &args.intervals,
        plot: &args.plot,
    };
    let code = match mpi.reduce(computed, |merged| report_merged(&merged, &opts)) {
        Ok(Verdict::Root(code) | Verdict::Other(code)) => code,
        // Reported here, before the barrier, so that it is written before any rank exits.
        Err(e) => output::report_error(&e),
    };
    mpi.barrier();
    Ok(code)
}

#[cfg(feature = "mpi")]
fn refuse_report_options_for_ranks(args: &SweepArgs) -> Result<()> {
    if args.refine > 0 {
        return Err(Error::input(
            "--refine re-evaluates the data around the best point, which MPI rank 0 does not have; refine with a second sweep",
        ));
    }
    Ok(())
}
