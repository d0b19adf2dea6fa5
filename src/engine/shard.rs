//! Shards of a sweep: a part of the data (`--shard I/K`) and/or of the grid (`--grid-shard
//! I/K`) evaluated on its own, into exact partials that merge into the bits of one process
//! ([`crate::engine::partial_file`], `klgrid merge`, MPI ranks).
//!
//! * **Data shard I/K**: the data set's C = ⌈N / 2²²⌉ chunks are split into K contiguous runs,
//!   shard I taking chunks ⌊(I−1)·C/K⌋ .. ⌊I·C/K⌋ — the very chunks one process evaluates, read
//!   on their own ([`crate::input::range`]; for `--sample`, drawn block by block,
//!   [`SampleSpec::draw_range`]). Every shard also reads the first chunk of the whole data set
//!   and centres with it ([`Centre`]), as one process does.
//! * **Grid shard I/K**: the P grid points are split into K contiguous ranges, shard I taking
//!   points ⌊(I−1)·P/K⌋ .. ⌊I·P/K⌋ ([`Grid::range`]); every shard reads all the data.
//!
//! Each chunk's partials are the single process's, and they are accumulated exactly
//! ([`PartialSums`]), so any set of shards that tiles the sweep merges, in any order, into the
//! single process's bits.

use crate::engine::config::{Backend, EvalPath, Strategy};
use crate::engine::gpu::KernelShape;
use crate::engine::multi::{self, DeviceSplit};
use crate::engine::partial_file::{
    AdapterRecord, CentreRecord, DataRecord, DataShardRecord, GridRecord, MomentsRecord,
    PartRecord, PartialHeader, TimingsRecord, FORMAT_VERSION, MAX_VALUE_COUNTS,
};
use crate::engine::partials::PartialSums;
use crate::engine::pipeline::{self, Hooks, Observer, StreamJob, SweepJob, SweepOutcome};
use crate::engine::prepare::{Centre, CHUNK};
use crate::engine::session::{Session, SessionOptions};
use crate::error::{Error, Result};
use crate::input::range::DataPlan;
use crate::input::{InputSpec, SampleReader};
use crate::model::grid::Grid;
use crate::model::moments::Moments;
use crate::model::sample_spec::SampleSpec;
use crate::model::Family;
use std::collections::HashMap;
use std::time::Instant;

/// Part `index` of `count` (1-based): `--shard I/K`, `--grid-shard I/K`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    pub index: u32,
    pub count: u32,
}

impl Split {
    /// The whole (part 1 of 1).
    pub const WHOLE: Split = Split { index: 1, count: 1 };

    /// The range [⌊(I−1)·total/K⌋, ⌊I·total/K⌋) of part I of K of `total` items.
    pub fn part(&self, total: u64) -> (u64, u64) {
        let (i, k) = (self.index as u128, self.count as u128);
        let t = total as u128;
        (((i - 1) * t / k) as u64, (i * t / k) as u64)
    }

    /// Whether this is the whole.
    pub fn is_whole(&self) -> bool {
        self.count == 1
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Split {
    type Err = Error;
    /// `I/K` with 1 ≤ I ≤ K.
    fn from_str(s: &str) -> Result<Split> {
        let bad = || {
            Error::input(format!(
                "'{s}': expected I/K with 1 ≤ I ≤ K (e.g. 2/3: the second of three shards)"
            ))
        };
        let (a, b) = s.trim().split_once('/').ok_or_else(bad)?;
        let index: u32 = a.trim().parse().map_err(|_| bad())?;
        let count: u32 = b.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Split { index, count })
    }
}

/// The data of a sharded sweep.
#[derive(Debug, Clone)]
pub enum ShardData {
    /// A data file.
    File(InputSpec),
    /// `--sample SPEC -n N --seed S`.
    Sample { spec: SampleSpec, n: u64, seed: u64 },
}

/// One shard of a sweep.
pub struct ShardJob<'a> {
    pub family: &'static dyn Family,
    /// The whole grid.
    pub grid: Grid,
    pub backend: Backend,
    pub strategy: Strategy,
    pub data: &'a ShardData,
    pub data_split: Split,
    pub grid_split: Split,
    /// The distribution P declared by `--true` or `--sample`, recorded for the merged report.
    pub truth: Option<String>,
    /// Several devices in this process (`--adapter all`): their sessions and how the work is
    /// split across them.
    pub devices: Option<(&'a [Session], DeviceSplit)>,
}

/// What a shard produced: its partial file's header and exact partials.
pub struct ShardOutput {
    pub header: PartialHeader,
    pub sums: PartialSums,
}

/// Whether `backend` may evaluate on the GPU.
fn may_use_gpu(backend: Backend) -> bool {
    matches!(
        backend,
        Backend::Auto | Backend::One(EvalPath::Gpu) | Backend::Both(EvalPath::Gpu, _)
    )
}

/// A session whose kernel shape is the one chosen for the whole grid of `whole` points, so that
/// a grid shard gets the kernel one process would (the shape decides the order of the device's
/// f32 sums). Without a device, the session itself.
pub fn pinned_session(session: &Session, family: &dyn Family, whole: usize) -> Session {
    if session.options().shape.is_some() {
        return session.clone();
    }
    match session.gpu() {
        Ok(ctx) => {
            let shape =
                KernelShape::choose_for(ctx.summary.is_software, whole, family.n_kernel_consts());
            Session::on_device(
                SessionOptions {
                    shape: Some(shape),
                    ..session.options().clone()
                },
                ctx,
            )
        }
        Err(_) => session.clone(),
    }
}

/// CRC-32 of samples as little-endian f64 (the data's identity in partial files).
fn crc_of(xs: &[f64]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for x in xs {
        h.update(&x.to_le_bytes());
    }
    h.finalize()
}

/// What a shard collects of its chunks as they are evaluated.
#[derive(Default)]
struct Collected {
    /// The first chunk's centring and CRC (a shard that starts at chunk 0).
    first: Option<(Centre, u32)>,
    moments: Vec<MomentsRecord>,
    counts: Option<HashMap<u64, u64>>,
}

impl Collected {
    fn chunk(&mut self, family: &dyn Family, want_first: bool, xs: &[f64], m: Option<&Moments>) {
        if want_first && self.first.is_none() {
            self.first = Some((Centre::of(family, xs), crc_of(xs)));
        }
        let m = m.copied().unwrap_or_else(|| Moments::of(xs));
        self.moments.push(MomentsRecord::from(&m));
        if let Some(c) = &mut self.counts {
            for &x in xs {
                // +0.0 and −0.0 are one value (as for H(P̂)).
                *c.entry((x + 0.0).to_bits()).or_default() += 1;
            }
            if c.len() > MAX_VALUE_COUNTS {
                self.counts = None;
            }
        }
    }
}

/// Checks that drawn samples are integers for a discrete family.
fn check_integers(family: &dyn Family, spec: &SampleSpec, xs: &[f64], base: u64) -> Result<()> {
    if family.integer_data() {
        if let Some((i, x)) = xs.iter().enumerate().find(|(_, x)| x.fract() != 0.0) {
            return Err(Error::input(format!(
                "sample #{} = {x} from {spec} is not an integer, but {} is a discrete family",
                base + i as u64 + 1,
                family.name()
            )));
        }
    }
    Ok(())
}

/// Runs one shard: evaluates its chunks and grid points on `session` (or on the job's devices)
/// and returns its exact partials with their header. `note` receives one-line messages.
pub fn run(
    session: &Session,
    job: &ShardJob<'_>,
    note: &mut dyn FnMut(&str),
    observer: &dyn Observer,
) -> Result<ShardOutput> {
    if matches!(job.backend, Backend::Both(..)) {
        return Err(Error::input(
            "--backend both compares two paths in one process; shards, partial files and MPI ranks take one path (gpu, cpu, cpu-ref or auto)",
        ));
    }
    let t0 = Instant::now();
    let family = job.family;
    let whole = job.grid.whole_len();
    let (g0, g1) = job.grid_split.part(whole as u64);
    if g0 == g1 {
        return Err(Error::input(format!(
            "grid shard {}: the grid has only {whole} point(s), fewer than the {} shards",
            job.grid_split, job.grid_split.count
        )));
    }
    let sub = job
        .grid
        .range(g0 as usize, g1 as usize)
        .expect("a shard's range lies in the grid");
    let session = if may_use_gpu(job.backend) && job.devices.is_none() {
        pinned_session(session, family, whole)
    } else {
        session.clone()
    };
    // The data: how many chunks, which this shard takes, the centring of the whole set.
    let (total, method, bytes_of): (u64, String, Option<DataPlan>) = match job.data {
        ShardData::File(spec) => {
            let plan = DataPlan::of(spec, CHUNK)?;
            (plan.total, plan.method().to_string(), Some(plan))
        }
        ShardData::Sample { n, .. } => (*n, "draw".to_string(), None),
    };
    let chunks = total.div_ceil(CHUNK as u64);
    let (c0, c1) = job.data_split.part(chunks);
    let (s0, s1) = (
        (c0 * CHUNK as u64).min(total),
        (c1 * CHUNK as u64).min(total),
    );
    let head_centre: Option<(Centre, u32)> = if c0 > 0 || c0 == c1 {
        let xs = match (job.data, &bytes_of) {
            (ShardData::File(_), Some(plan)) => {
                let mut r = plan.open_range(0, 1)?;
                let mut xs = Vec::with_capacity(CHUNK);
                while r.read(&mut xs, 1 << 16)? > 0 {}
                xs
            }
            (ShardData::Sample { spec, n, seed }, _) => {
                let xs = spec.draw_range(*n as usize, *seed, 0, (CHUNK as u64).min(*n) as usize)?;
                check_integers(family, spec, &xs, 0)?;
                xs
            }
            _ => unreachable!("a file has a plan"),
        };
        Some((Centre::of(family, &xs), crc_of(&xs)))
    } else {
        None
    };
    let data_s = t0.elapsed().as_secs_f64();
    let mut collected = Collected {
        counts: family.integer_data().then(HashMap::new),
        ..Collected::default()
    };
    let mut notes: Vec<String> = Vec::new();
    let mut outcome: Option<SweepOutcome> = None;
    if c0 < c1 {
        let want_first = head_centre.is_none();
        let hooks = Hooks {
            centre: head_centre.as_ref().map(|(c, _)| c.clone()),
            open: job.devices.map(|(sessions, split)| {
                let (grid, backend, strategy) = (sub.clone(), job.backend, job.strategy);
                Box::new(move |notes: &mut Vec<String>| {
                    multi::open(sessions, split, family, &grid, backend, strategy, notes)
                }) as Box<dyn FnOnce(&mut Vec<String>) -> _>
            }),
            on_chunk: Some(Box::new(|xs: &[f64], m: Option<&Moments>| {
                collected.chunk(family, want_first, xs, m)
            })),
            discard: true,
        };
        let mut n = |m: &str| notes.push(m.to_string());
        let o = match (job.data, &bytes_of) {
            (ShardData::File(_), Some(plan)) => {
                let reader: Box<dyn SampleReader> = plan.open_range(c0, c1)?;
                let sj = StreamJob {
                    family,
                    grid: sub.clone(),
                    backend: job.backend,
                    strategy: job.strategy,
                };
                pipeline::run_stream_with(&session, &sj, reader, hooks, &mut n, observer)?
            }
            (
                ShardData::Sample {
                    spec,
                    n: total,
                    seed,
                },
                _,
            ) => {
                let xs = spec.draw_range(*total as usize, *seed, s0 as usize, s1 as usize)?;
                check_integers(family, spec, &xs, s0)?;
                let sj = SweepJob {
                    family,
                    grid: sub.clone(),
                    data: &xs,
                    backend: job.backend,
                    strategy: job.strategy,
                };
                pipeline::run_with(&session, &sj, hooks, &mut n)?
            }
            _ => unreachable!("a file has a plan"),
        };
        outcome = Some(o);
    }
    let (centre, first_crc) = match (&head_centre, &collected.first) {
        (Some(h), _) | (None, Some(h)) => h.clone(),
        (None, None) => return Err(Error::input("the data set is empty")),
    };
    let data = match (job.data, &bytes_of) {
        (ShardData::File(spec), Some(plan)) => DataRecord::File {
            name: plan.info.name.clone(),
            format: plan.info.format.name().to_string(),
            compression: plan.info.compression.name().map(str::to_string),
            column: spec.column.as_ref().map(|c| c.text()),
            detail: plan.info.detail.clone(),
            skip_nonfinite: spec.skip_nonfinite,
            file_bytes: plan.file_bytes,
            samples: total,
            first_chunk_crc: first_crc,
        },
        (ShardData::Sample { spec, n, seed }, _) => DataRecord::Sample {
            spec: spec.to_string(),
            seed: *seed,
            samples: *n,
        },
        _ => unreachable!("a file has a plan"),
    };
    // An empty data shard (more shards than chunks): nothing evaluated, the path as asked.
    let (sums, path, strategy, adapter, kernel, skipped, timings) = match outcome {
        Some(o) => {
            let e = o.primary;
            (
                e.exact,
                e.backend,
                e.strategy,
                e.adapter.map(|a| AdapterRecord {
                    name: a.name,
                    backend: a.backend,
                    device_type: a.device_type,
                }),
                e.shape.map(|s| {
                    [
                        s.points_per_invocation() as u32,
                        s.workgroup_size,
                        s.chunk_len,
                    ]
                }),
                o.skipped_nonfinite,
                TimingsRecord {
                    data_s: data_s + o.input.map_or(0.0, |i| i.1),
                    compile_s: e.compile_seconds,
                    eval_s: e.eval_seconds,
                    device_s: e.device_seconds,
                },
            )
        }
        None => {
            let path = match job.backend {
                Backend::One(p) => p,
                _ if session.gpu().is_ok() => EvalPath::Gpu,
                _ => EvalPath::Cpu,
            };
            let strategy = match path {
                EvalPath::CpuRef => Strategy::Direct,
                _ => crate::engine::suffstats::resolve(job.strategy, family, &sub)?,
            };
            (
                PartialSums::zeros(sub.len()),
                path,
                strategy,
                None,
                None,
                0,
                TimingsRecord {
                    data_s,
                    ..TimingsRecord::default()
                },
            )
        }
    };
    notes.iter().for_each(|m| note(m));
    let bytes = bytes_of
        .as_ref()
        .and_then(|p| p.byte_range(c0, c1))
        .map(|(a, b)| [a, b]);
    let mut counts: Option<Vec<[u64; 2]>> = collected
        .counts
        .map(|m| m.into_iter().map(|(v, c)| [v, c]).collect());
    if let Some(c) = &mut counts {
        c.sort_unstable();
    }
    let header = PartialHeader {
        format_version: FORMAT_VERSION,
        klgrid_version: env!("CARGO_PKG_VERSION").to_string(),
        family: family.name().to_string(),
        params: family.params().iter().map(|p| p.name.to_string()).collect(),
        grid: GridRecord::of(&job.grid),
        data,
        data_shard: DataShardRecord {
            part: PartRecord {
                index: job.data_split.index,
                count: job.data_split.count,
                range: [c0, c1],
            },
            samples: [s0, s1],
            bytes,
            method,
        },
        grid_shard: PartRecord {
            index: job.grid_split.index,
            count: job.grid_split.count,
            range: [g0, g1],
        },
        chunk: CHUNK as u64,
        path: path.name().to_string(),
        strategy: strategy.name().to_string(),
        adapter,
        kernel,
        centre: CentreRecord::from(&centre),
        n: sums.n(),
        skipped_nonfinite: skipped,
        chunk_moments: collected.moments,
        value_counts: counts,
        truth: job.truth.clone(),
        timings,
        notes,
    };
    Ok(ShardOutput { header, sums })
}
