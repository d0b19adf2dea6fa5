//! Running a sweep: choosing the backend, evaluating every grid point chunk by chunk (data in
//! memory or streamed, see [`CHUNK`]), comparing paths.

use crate::cpu_ref;
use crate::error::{Error, Result};
use crate::family::Family;
use crate::family::SuffStatsSpec;
use crate::gpu::{AdapterSummary, GpuContext, GpuEvaluator, KernelShape};
use crate::grid::Grid;
use crate::input::{InputInfo, Position, SampleReader};
use crate::partial::Partials;
use crate::split::{self, Centre};
use crate::stats::Moments;
use crate::suffstats::{self as suff, Strategy};
use std::borrow::Cow;
use std::str::FromStr;
use std::time::Instant;

/// An evaluation path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// WGSL kernels through wgpu.
    Gpu,
    /// The fast CPU path: the same split, vectorised, all cores.
    Cpu,
    /// The f64 reference.
    CpuRef,
}

impl Path {
    /// The CLI name: `gpu`, `cpu` or `cpu-ref`.
    pub fn name(self) -> &'static str {
        match self {
            Path::Gpu => "gpu",
            Path::Cpu => "cpu",
            Path::CpuRef => "cpu-ref",
        }
    }
}

impl FromStr for Path {
    type Err = Error;
    fn from_str(s: &str) -> Result<Path> {
        match s {
            "gpu" => Ok(Path::Gpu),
            "cpu" => Ok(Path::Cpu),
            "cpu-ref" => Ok(Path::CpuRef),
            _ => Err(Error::input(format!(
                "unknown path '{s}' (expected gpu, cpu or cpu-ref)"
            ))),
        }
    }
}

/// Which path evaluates the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A hardware adapter, else a software adapter, else the fast CPU path; says on stderr which.
    Auto,
    /// One path; `gpu` fails when no adapter exists.
    One(Path),
    /// Two paths on the same data, compared: the first is reported and tested against the
    /// second (default `gpu` against `cpu-ref`).
    Both(Path, Path),
}

impl FromStr for Backend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Backend> {
        match s {
            "auto" => Ok(Backend::Auto),
            "both" => Ok(Backend::Both(Path::Gpu, Path::CpuRef)),
            _ => s.parse().map(Backend::One).map_err(|_| {
                Error::input(format!(
                    "unknown backend '{s}' (expected auto, gpu, cpu, cpu-ref or both)"
                ))
            }),
        }
    }
}

/// Parses `--compare A,B` into the pair for `--backend both`.
pub fn parse_compare(s: &str) -> Result<(Path, Path)> {
    let (a, b) = s.split_once(',').ok_or_else(|| {
        Error::input(format!(
            "--compare '{s}': expected two paths, e.g. cpu,cpu-ref"
        ))
    })?;
    let (a, b): (Path, Path) = (a.trim().parse()?, b.trim().parse()?);
    if a == b {
        return Err(Error::input(format!(
            "--compare '{s}': the two paths must differ"
        )));
    }
    Ok((a, b))
}

/// One path's evaluation of the whole grid.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// `gpu`, `cpu` or `cpu-ref`.
    pub backend: &'static str,
    /// `direct` or `suffstats`.
    pub strategy: &'static str,
    pub adapter: Option<AdapterSummary>,
    pub shape: Option<KernelShape>,
    pub partials: Partials,
    /// Kernel compilation (GPU), seconds.
    pub compile_seconds: f64,
    /// Device time of the kernels (gpu, where the adapter has timestamp queries).
    pub device_seconds: Option<f64>,
    /// Evaluation, seconds: sample preparation, kernel and host assembly (gpu, cpu) or the
    /// whole reference sum (cpu-ref).
    pub eval_seconds: f64,
}

/// How closely two paths agree on the mean log-likelihood.
#[derive(Debug, Clone)]
pub struct Agreement {
    /// Largest |a − b| of the mean log-likelihood over points finite on both paths.
    pub max_abs_diff: f64,
    /// Largest |a − b| / max(|b|, 1), b the reference.
    pub max_rel_diff: f64,
    /// Whether both paths pick the same best grid point.
    pub argmax_agrees: bool,
    /// Points that are −∞ on one path and finite on the other.
    pub support_mismatches: u64,
    /// The family's documented tolerance on `max_rel_diff`.
    pub tolerance: f64,
    /// Within tolerance: `max_rel_diff ≤ tolerance`, no support mismatch, and either the argmax
    /// agrees or the two best points differ by no more than the tolerance on the reference.
    pub within_tolerance: bool,
}

impl Agreement {
    /// Compares `test` against `reference` with the family's tolerance.
    pub fn compare(test: &Partials, reference: &Partials, tolerance: f64) -> Agreement {
        let mut max_abs: f64 = 0.0;
        let mut max_rel: f64 = 0.0;
        let mut mismatches = 0;
        for i in 0..reference.len() {
            let (a, b) = (test.mean_loglik(i), reference.mean_loglik(i));
            match (a.is_finite(), b.is_finite()) {
                (true, true) => {
                    let d = (a - b).abs();
                    max_abs = max_abs.max(d);
                    max_rel = max_rel.max(d / b.abs().max(1.0));
                }
                (false, false) if a == b => {}
                _ => mismatches += 1,
            }
        }
        let (ia, ib) = (test.argmax(), reference.argmax());
        let argmax_agrees = ia == ib;
        let argmax_ok = argmax_agrees
            || match (ia, ib) {
                (Some(ia), Some(ib)) => {
                    let (va, vb) = (reference.mean_loglik(ia), reference.mean_loglik(ib));
                    (vb - va).abs() <= tolerance * vb.abs().max(1.0)
                }
                _ => false,
            };
        Agreement {
            max_abs_diff: max_abs,
            max_rel_diff: max_rel,
            argmax_agrees,
            support_mismatches: mismatches,
            tolerance,
            within_tolerance: max_rel <= tolerance && mismatches == 0 && argmax_ok,
        }
    }
}

/// Samples per chunk of the evaluation pipeline: 2²² = 4,194,304.
///
/// Every path evaluates a data set chunk by chunk — chunk k holds samples
/// [k·CHUNK, (k+1)·CHUNK) — into per-grid-point [`Partials`] (Σ log Q, samples outside the
/// support, n), and merges them by addition in chunk order. Data in memory ([`run`],
/// [`evaluate_gpu`], [`evaluate_cpu`], …) and data streamed from a reader ([`run_stream`]) are
/// cut at the same places, centred the same way ([`split::Centre`], from the first chunk), and
/// merged in the same order, so their results are bitwise equal on the same backend; streamed
/// data never take more memory than a few chunks, whatever n.
pub const CHUNK: usize = 1 << 22;

/// Progress of a sweep, for display. Called from the reading thread and the evaluating one.
pub trait Observer: Sync {
    /// The reader has consumed this much of its input.
    fn read(&self, _pos: Position) {}
    /// This many samples have been evaluated, in all.
    fn evaluated(&self, _samples: u64) {}
}

/// An [`Observer`] that shows nothing.
pub struct Silent;

impl Observer for Silent {}

/// One path's state through the chunks of a data set.
struct PathRun<'e> {
    path: Path,
    gpu: Option<(&'e GpuEvaluator<'e>, &'e GpuContext)>,
    /// The sufficient-statistics strategy: the spec, and the device for the reduction (gpu).
    suff: Option<(SuffStatsSpec, Option<&'e GpuContext>)>,
    /// Kernel constants (device paths), once the centring is fixed.
    consts: Vec<f32>,
    eval: Evaluation,
}

impl<'e> PathRun<'e> {
    fn new(path: Path, gpu: Option<(&'e GpuEvaluator<'e>, &'e GpuContext)>, len: usize) -> Self {
        PathRun {
            path,
            gpu,
            suff: None,
            consts: Vec::new(),
            eval: Evaluation {
                backend: path.name(),
                strategy: "direct",
                adapter: gpu.map(|(_, ctx)| ctx.summary.clone()),
                shape: gpu.map(|(ev, _)| ev.shape()),
                partials: Partials::zeros(len),
                compile_seconds: gpu.map_or(0.0, |(ev, _)| ev.compile_seconds),
                device_seconds: None,
                eval_seconds: 0.0,
            },
        }
    }

    /// The sufficient-statistics strategy on `path` (the reduction on `ctx` for gpu).
    fn suffstats(path: Path, spec: SuffStatsSpec, ctx: Option<&'e GpuContext>, len: usize) -> Self {
        let mut run = PathRun::new(path, None, len);
        run.suff = Some((spec, ctx));
        run.eval.strategy = "suffstats";
        run.eval.adapter = ctx.map(|c| c.summary.clone());
        run
    }

    /// Fixes the centring: computes the kernel constants of the device paths.
    fn start(&mut self, family: &dyn Family, grid: &Grid, centre: &Centre) {
        let t0 = Instant::now();
        if self.path != Path::CpuRef {
            self.consts = split::kernel_consts(family, grid, centre.shift());
        }
        self.eval.eval_seconds += t0.elapsed().as_secs_f64();
    }

    /// Σᵢ k(xᵢ, θ) of one prepared chunk on this path: sufficient statistics, the GPU kernel or
    /// the fast CPU kernel.
    fn kernel_sums(
        &mut self,
        family: &dyn Family,
        grid: &Grid,
        prep: &split::Prepared,
        xs: &[f64],
    ) -> Result<split::KernelSums> {
        if let Some((spec, ctx)) = self.suff {
            let t = match ctx {
                Some(ctx) => suff::stats_gpu(ctx, family, &spec, grid, prep)?,
                None => suff::stats_cpu(family, &spec, grid, prep),
            };
            return Ok(suff::kernel_sums(family, &spec, grid, prep, &t, xs));
        }
        match (self.path, self.gpu) {
            (Path::Gpu, Some((evaluator, _))) => {
                let sums = evaluator.kernel_sums(&prep.features, prep.n_inside, &self.consts)?;
                if let Some(d) = sums.device_seconds {
                    *self.eval.device_seconds.get_or_insert(0.0) += d;
                }
                Ok(sums)
            }
            (Path::Gpu, None) => Err(Error::Gpu("no device opened".into())),
            _ => Ok(crate::cpu_fast::kernel_sums(family, prep, &self.consts)),
        }
    }

    /// Evaluates one chunk and merges its partials.
    fn chunk(
        &mut self,
        family: &dyn Family,
        grid: &Grid,
        centre: &Centre,
        xs: &[f64],
    ) -> Result<()> {
        let t0 = Instant::now();
        let part = if self.path == Path::CpuRef {
            cpu_ref::evaluate(family, grid, xs)
        } else {
            let prep = split::prepare_centred(family, xs, centre);
            let sums = self.kernel_sums(family, grid, &prep, xs)?;
            let host = family.host_coupled_sums(grid, xs);
            split::assemble(family, grid, &prep, &sums, host.as_deref())
        };
        self.eval.partials.merge(&part);
        self.eval.eval_seconds += t0.elapsed().as_secs_f64();
        Ok(())
    }
}

/// What [`drive`] saw of the data besides the partials.
struct Driven<'d> {
    /// The data, when they were a single chunk (kept for the MLE).
    single: Option<Cow<'d, [f64]>>,
    /// Their summary, when there were several chunks and `moments` was asked for.
    moments: Option<Moments>,
}

/// One chunk of samples, and whether it is the last one.
struct Chunk<'d> {
    data: Cow<'d, [f64]>,
    last: bool,
}

/// A chunk source: the next chunk (exactly `CHUNK` samples, fewer only for the last), `None`
/// at the end. It is handed the previous chunk back, to drop it before the next one comes.
type NextChunk<'n, 'd> = &'n mut dyn FnMut(Option<Cow<'d, [f64]>>) -> Result<Option<Chunk<'d>>>;

/// The chunks of data in memory, each flagged whether it is the last.
fn memory_chunks<'d>(
    xs: &'d [f64],
) -> impl FnMut(Option<Cow<'d, [f64]>>) -> Result<Option<Chunk<'d>>> {
    let mut it = xs.chunks(CHUNK).peekable();
    move |_previous| {
        let data = it.next();
        Ok(data.map(|c| Chunk {
            data: Cow::Borrowed(c),
            last: it.peek().is_none(),
        }))
    }
}

/// The pipeline: fixes the centring from the first chunk, evaluates every chunk on every path,
/// merging in chunk order; with `moments`, summarises the data (when there is more than one
/// chunk). A chunk is dropped before the next one is taken, so at most one is held here.
/// `Ok(None)` when there are no samples at all.
fn drive<'d>(
    family: &dyn Family,
    grid: &Grid,
    runs: &mut [PathRun<'_>],
    next: NextChunk<'_, 'd>,
    moments: bool,
    observer: &dyn Observer,
) -> Result<Option<Driven<'d>>> {
    let Some(mut current) = next(None)? else {
        return Ok(None);
    };
    let centre = Centre::of(family, &current.data);
    for r in runs.iter_mut() {
        r.start(family, grid, &centre);
    }
    let mut summary: Option<Moments> = None;
    let mut done = 0u64;
    let mut chunks = 0usize;
    loop {
        chunks += 1;
        for r in runs.iter_mut() {
            r.chunk(family, grid, &centre, &current.data)?;
        }
        done += current.data.len() as u64;
        observer.evaluated(done);
        if moments && (!current.last || summary.is_some()) {
            summary
                .get_or_insert_with(Moments::default)
                .merge(&Moments::of(&current.data));
        }
        if current.last {
            break;
        }
        match next(Some(current.data))? {
            Some(c) => current = c,
            None => {
                return Ok(Some(Driven {
                    single: None,
                    moments: summary,
                }))
            }
        }
    }
    Ok(Some(Driven {
        single: (chunks == 1).then_some(current.data),
        moments: summary,
    }))
}

/// Evaluates `xs` on one path through the chunked pipeline.
fn evaluate_memory(
    family: &dyn Family,
    grid: &Grid,
    mut run: PathRun<'_>,
    xs: &[f64],
) -> Result<Evaluation> {
    let mut next = memory_chunks(xs);
    drive(
        family,
        grid,
        std::slice::from_mut(&mut run),
        &mut next,
        false,
        &Silent,
    )?;
    Ok(run.eval)
}

/// Evaluates the grid on the GPU path of an open device.
pub fn evaluate_gpu(
    ctx: &GpuContext,
    family: &'static dyn Family,
    grid: &Grid,
    xs: &[f64],
) -> Result<Evaluation> {
    let evaluator = GpuEvaluator::new(ctx, family, grid.len(), None)?;
    evaluate_with(&evaluator, ctx, family, grid, xs)
}

/// Evaluates the grid with an already compiled evaluator.
pub fn evaluate_with(
    evaluator: &GpuEvaluator<'_>,
    ctx: &GpuContext,
    family: &'static dyn Family,
    grid: &Grid,
    xs: &[f64],
) -> Result<Evaluation> {
    let run = PathRun::new(Path::Gpu, Some((evaluator, ctx)), grid.len());
    evaluate_memory(family, grid, run, xs)
}

/// Evaluates the grid on the fast CPU path.
pub fn evaluate_cpu(family: &'static dyn Family, grid: &Grid, xs: &[f64]) -> Evaluation {
    let run = PathRun::new(Path::Cpu, None, grid.len());
    match evaluate_memory(family, grid, run, xs) {
        Ok(e) => e,
        // The CPU path has no failure mode; an error here would be a bug in this module.
        Err(e) => unreachable!("cpu path failed: {e}"),
    }
}

/// Evaluates the grid by sufficient statistics: the statistics on `ctx`'s GPU when given, else on
/// the CPU in f64; then O(1) per grid point on the host.
pub fn evaluate_suffstats(
    ctx: Option<&GpuContext>,
    family: &'static dyn Family,
    grid: &Grid,
    xs: &[f64],
) -> Result<Evaluation> {
    let spec = suff::spec_for(family, grid).map_err(Error::Input)?;
    let path = if ctx.is_some() { Path::Gpu } else { Path::Cpu };
    evaluate_memory(
        family,
        grid,
        PathRun::suffstats(path, spec, ctx, grid.len()),
        xs,
    )
}

/// Evaluates the grid on the f64 reference path.
pub fn evaluate_cpu_ref(family: &dyn Family, grid: &Grid, xs: &[f64]) -> Evaluation {
    let run = PathRun::new(Path::CpuRef, None, grid.len());
    match evaluate_memory(family, grid, run, xs) {
        Ok(e) => e,
        Err(e) => unreachable!("cpu-ref path failed: {e}"),
    }
}

/// A sweep to run over data in memory.
pub struct SweepJob<'a> {
    pub family: &'static dyn Family,
    pub grid: Grid,
    pub data: &'a [f64],
    pub backend: Backend,
    /// Substring of the adapter name to use (`--adapter`).
    pub adapter: Option<String>,
    /// GPU kernel shape overriding the automatic choice (`--kernel-shape`).
    pub shape: Option<KernelShape>,
    /// Direct or sufficient statistics, for the reported path (`--strategy`); cpu-ref, and the
    /// reference path of `both`, are always direct.
    pub strategy: Strategy,
}

/// A sweep to run over data streamed from a [`SampleReader`] ([`run_stream`]).
pub struct StreamJob {
    pub family: &'static dyn Family,
    pub grid: Grid,
    pub backend: Backend,
    /// Substring of the adapter name to use (`--adapter`).
    pub adapter: Option<String>,
    /// GPU kernel shape overriding the automatic choice (`--kernel-shape`).
    pub shape: Option<KernelShape>,
    /// Direct or sufficient statistics, as in [`SweepJob`].
    pub strategy: Strategy,
}

/// What a sweep produced.
pub struct SweepOutcome {
    /// The evaluation reported (the GPU one with `both`).
    pub primary: Evaluation,
    /// With `both`: the cpu-ref evaluation.
    pub reference: Option<Evaluation>,
    pub agreement: Option<Agreement>,
    /// Index of the best grid point (largest likelihood); `None` if every point is −∞.
    pub best: Option<usize>,
    /// Closed-form MLE, where the family has one.
    pub mle: Option<Vec<f64>>,
    /// Mean log-likelihood at the MLE by the f64 full density, where the data were in memory.
    pub mle_mean_loglik: Option<f64>,
    /// Why `mle` is missing although the family has a closed form (data streamed past memory).
    pub mle_note: Option<String>,
    /// Non-finite values dropped by the reader (`--skip-nonfinite`); `n` counts only the rest.
    pub skipped_nonfinite: u64,
    /// Streamed data: what was read, and the seconds the reading thread spent reading.
    pub input: Option<(InputInfo, f64)>,
}

/// The options shared by [`SweepJob`] and [`StreamJob`].
struct Setup<'a> {
    family: &'static dyn Family,
    grid: &'a Grid,
    backend: Backend,
    adapter: Option<&'a str>,
    shape: Option<KernelShape>,
    strategy: Strategy,
}

/// Runs the pipeline over `next`'s chunks on the job's backend; `whole` is the whole data set
/// when it is in memory (for the MLE). `Ok(None)` when there are no samples.
fn run_chunks(
    job: &Setup<'_>,
    whole: Option<&[f64]>,
    next: NextChunk<'_, '_>,
    note: &mut dyn FnMut(&str),
    observer: &dyn Observer,
) -> Result<Option<SweepOutcome>> {
    let (family, grid) = (job.family, job.grid);
    let mut ctx: Option<GpuContext> = None;
    // Said once the data have been evaluated, so that an error in the data stays one line.
    let mut notes = Vec::new();
    let paths = match job.backend {
        Backend::One(p) => vec![p],
        Backend::Both(a, b) => vec![a, b],
        Backend::Auto => match GpuContext::open(job.adapter) {
            Ok(c) => {
                notes.push(format!("backend auto: using gpu on {}", c.summary.label()));
                ctx = Some(c);
                vec![Path::Gpu]
            }
            Err(e) => {
                notes.push(format!("backend auto: {e}; using cpu"));
                vec![Path::Cpu]
            }
        },
    };
    if paths.contains(&Path::Gpu) && ctx.is_none() {
        ctx = Some(GpuContext::open(job.adapter)?);
    }
    // The strategy applies to the reported path; the reference path of `both` is always
    // direct, so that `both` checks the strategy against the plain evaluation.
    if paths[0] == Path::CpuRef && job.strategy == Strategy::SuffStats {
        return Err(Error::input(
            "--strategy suffstats applies to the gpu and cpu paths; cpu-ref is always direct",
        ));
    }
    let strategies: Vec<Strategy> = paths
        .iter()
        .enumerate()
        .map(|(i, &p)| match (i, p) {
            (0, Path::Gpu | Path::Cpu) => suff::resolve(job.strategy, family, grid),
            _ => Ok(Strategy::Direct),
        })
        .collect::<Result<_>>()?;
    let direct_gpu = paths
        .iter()
        .zip(&strategies)
        .any(|(&p, &s)| p == Path::Gpu && s == Strategy::Direct);
    // Compiled once, before the first chunk (which is being read meanwhile).
    let evaluator = match &ctx {
        Some(c) if direct_gpu => Some((GpuEvaluator::new(c, family, grid.len(), job.shape)?, c)),
        _ => None,
    };
    let gpu = evaluator.as_ref().map(|(e, c)| (e, *c));
    let mut runs: Vec<PathRun<'_>> = Vec::with_capacity(paths.len());
    for (&p, &s) in paths.iter().zip(&strategies) {
        runs.push(if s == Strategy::SuffStats {
            let spec = suff::spec_for(family, grid).map_err(Error::Input)?;
            PathRun::suffstats(
                p,
                spec,
                if p == Path::Gpu { ctx.as_ref() } else { None },
                grid.len(),
            )
        } else {
            PathRun::new(p, if p == Path::Gpu { gpu } else { None }, grid.len())
        });
    }
    let Some(driven) = drive(family, grid, &mut runs, next, whole.is_none(), observer)? else {
        return Ok(None);
    };
    notes.iter().for_each(|n| note(n));
    let mut runs = runs.into_iter().map(|r| r.eval);
    let primary = runs
        .next()
        .ok_or_else(|| Error::input("no evaluation path"))?;
    let reference = runs.next();
    let agreement = reference.as_ref().map(|r| {
        Agreement::compare(
            &primary.partials,
            &r.partials,
            family.kernel_class().tolerance(),
        )
    });
    let best = primary.partials.argmax();
    let fixed = grid.fixed_values();
    let (mle, mle_mean_loglik, mle_note) = match whole.or(driven.single.as_deref()) {
        Some(xs) => {
            let mle = family.mle(xs, &fixed);
            let ll = mle.as_ref().and_then(|m| {
                let (s, outside) = family.ln_pdf_sum(xs, m);
                (outside == 0).then(|| s / xs.len() as f64)
            });
            (mle, ll, None)
        }
        None => match driven.moments.map(|m| family.mle_streamed(&m, &fixed)) {
            Some(Ok(m)) => (m, None, None),
            Some(Err(why)) => (
                None,
                None,
                Some(format!(
                    "not computed: {why}, and the data were streamed in chunks of {CHUNK} samples"
                )),
            ),
            None => (None, None, None),
        },
    };
    Ok(Some(SweepOutcome {
        primary,
        reference,
        agreement,
        best,
        mle,
        mle_mean_loglik,
        mle_note,
        skipped_nonfinite: 0,
        input: None,
    }))
}

/// Runs a sweep over data in memory. `note` receives one-line messages for stderr (the path
/// `auto` chose).
pub fn run(job: &SweepJob<'_>, note: &mut dyn FnMut(&str)) -> Result<SweepOutcome> {
    if job.data.is_empty() {
        return Err(Error::input("the data set is empty"));
    }
    let setup = Setup {
        family: job.family,
        grid: &job.grid,
        backend: job.backend,
        adapter: job.adapter.as_deref(),
        shape: job.shape,
        strategy: job.strategy,
    };
    let mut next = memory_chunks(job.data);
    run_chunks(&setup, Some(job.data), &mut next, note, &Silent)?
        .ok_or_else(|| Error::input("the data set is empty"))
}

/// Fills `buf` with up to `chunk` samples from `reader`, telling `observer` how far it got.
fn fill(
    reader: &mut dyn SampleReader,
    buf: &mut Vec<f64>,
    chunk: usize,
    observer: &dyn Observer,
) -> Result<()> {
    while buf.len() < chunk {
        let want = (chunk - buf.len()).min(1 << 16);
        let got = reader.read(buf, want)?;
        observer.read(reader.position());
        if got == 0 {
            break;
        }
    }
    Ok(())
}

/// Runs a sweep over data streamed from `reader`: a reading thread fills chunks of [`CHUNK`]
/// samples and hands each over when the evaluator takes it, so that the next chunk is read
/// while the current one is evaluated, and at most two chunks are in memory at once. Results are
/// bitwise those of [`run`] on the same samples in memory. The MLE comes from
/// [`Family::mle_streamed`] when the data span more than one chunk.
pub fn run_stream(
    job: &StreamJob,
    reader: Box<dyn SampleReader>,
    note: &mut dyn FnMut(&str),
    observer: &dyn Observer,
) -> Result<SweepOutcome> {
    run_stream_chunked(job, reader, CHUNK, note, observer)
}

/// [`run_stream`] with another chunk size (tests).
#[doc(hidden)]
pub fn run_stream_chunked(
    job: &StreamJob,
    mut reader: Box<dyn SampleReader>,
    chunk: usize,
    note: &mut dyn FnMut(&str),
    observer: &dyn Observer,
) -> Result<SweepOutcome> {
    let setup = Setup {
        family: job.family,
        grid: &job.grid,
        backend: job.backend,
        adapter: job.adapter.as_deref(),
        shape: job.shape,
        strategy: job.strategy,
    };
    let chunk = chunk.max(1);
    std::thread::scope(|s| {
        // A rendezvous channel: the reader hands a full chunk over when the evaluator takes it,
        // and meanwhile fills the next; so at most two chunks are in memory at once.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<(Vec<f64>, bool)>>(0);
        let reading = s.spawn(move || {
            let mut busy = 0.0;
            let mut buf = Vec::with_capacity(chunk);
            loop {
                let t0 = Instant::now();
                let mut res = fill(&mut *reader, &mut buf, chunk, observer);
                // A full chunk: read one sample ahead, to know whether it is the last.
                let mut ahead = Vec::new();
                if res.is_ok() && buf.len() == chunk {
                    ahead = Vec::with_capacity(chunk);
                    res = fill(&mut *reader, &mut ahead, 1, observer);
                }
                busy += t0.elapsed().as_secs_f64();
                let last = buf.len() < chunk || ahead.is_empty();
                let msg = match res {
                    Ok(()) if buf.is_empty() => break,
                    Ok(()) => Ok((buf, last)),
                    Err(e) => Err(e),
                };
                let failed = msg.is_err();
                if tx.send(msg).is_err() || failed || last {
                    break;
                }
                buf = ahead;
            }
            (reader, busy)
        });
        let mut next = move |previous: Option<Cow<'_, [f64]>>| {
            drop(previous);
            match rx.recv() {
                Ok(Ok((v, last))) => Ok(Some(Chunk {
                    data: Cow::Owned(v),
                    last,
                })),
                Ok(Err(e)) => Err(e),
                Err(_) => Ok(None),
            }
        };
        let out = run_chunks(&setup, None, &mut next, note, observer);
        // Closes the channel, so that a reader still running stops at its next chunk.
        drop(next);
        let (reader, busy) = reading
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let info = reader.info();
        let skipped = reader.skipped_nonfinite();
        match out? {
            None => Err(crate::input::empty_error(&info.name, skipped)),
            Some(mut o) => {
                o.skipped_nonfinite = skipped;
                o.input = Some((info, busy));
                Ok(o)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_flags_relative_difference_support_mismatch_and_argmax() {
        let r = Partials {
            sum: vec![-10.0, -8.0, -9.0],
            outside: vec![0, 0, 0],
            n: 4,
        };
        let same = Agreement::compare(&r, &r, 1e-6);
        assert!(same.within_tolerance && same.argmax_agrees && same.max_abs_diff == 0.0);

        let mut off = r.clone();
        off.sum[0] += 4e-5; // mean differs by 1e-5
        let a = Agreement::compare(&off, &r, 1e-6);
        assert!(!a.within_tolerance && a.argmax_agrees);
        assert!((a.max_abs_diff - 1e-5).abs() < 1e-12);

        let mut inf = r.clone();
        inf.outside[2] = 1;
        assert_eq!(Agreement::compare(&inf, &r, 1e-6).support_mismatches, 1);

        let mut swapped = r.clone();
        swapped.sum[2] = -7.0;
        let s = Agreement::compare(&swapped, &r, 1e-6);
        assert!(!s.argmax_agrees && !s.within_tolerance);
    }

    #[test]
    fn near_tie_with_different_argmax_is_within_tolerance() {
        let r = Partials {
            sum: vec![-8.0, -8.0 - 1e-7],
            outside: vec![0, 0],
            n: 1,
        };
        let t = Partials {
            sum: vec![-8.0 - 2e-7, -8.0 - 1e-7],
            outside: vec![0, 0],
            n: 1,
        };
        let a = Agreement::compare(&t, &r, 1e-6);
        assert!(!a.argmax_agrees && a.within_tolerance);
    }
}
