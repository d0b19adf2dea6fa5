//! Running a sweep: choosing the paths of the backend, and driving the data through their
//! evaluators chunk by chunk ([`CHUNK`] samples), from memory ([`run`]) or streamed from a
//! reader on its own thread ([`run_stream`]), then comparing the paths (`both`).
//!
//! Data in memory and streamed data are cut at the same places and centred the same way, and
//! every evaluator accumulates its chunks exactly, so both give bitwise-equal results on the same
//! backend. A streamed source is read once: its samples are kept for the analysis while there
//! are at most [`KEEP_SAMPLES`] of them, and summarised ([`Moments`]) in any case.

pub use crate::engine::prepare::CHUNK;

use crate::engine::agreement::Agreement;
use crate::engine::backend;
use crate::engine::config::{Backend, EvalPath, Strategy};
use crate::engine::evaluation::{ChunkEvaluator, Evaluation};
use crate::engine::prepare::Centre;
use crate::engine::session::Session;
use crate::engine::suffstats::resolve;
use crate::error::{Error, Result};
use crate::input::{InputInfo, Position, SampleReader};
use crate::model::grid::Grid;
use crate::model::moments::Moments;
use crate::model::Family;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Largest number of streamed samples kept in memory for the analysis: 2²⁵ (256 MiB of f64).
pub const KEEP_SAMPLES: usize = 1 << 25;

/// Progress of a sweep and of its analysis, for display. Called from the reading thread, the
/// evaluating one and the analysis' workers; every method has an empty default.
pub trait Observer: Sync {
    /// The reader has consumed this much of its input.
    fn read(&self, _pos: Position) {}
    /// This many samples have been evaluated, in all.
    fn evaluated(&self, _samples: u64) {}
    /// The analysis begins a phase that can take a while: `"refine"`, `"MLE"`, `"intervals"`.
    fn phase(&self, _name: &str) {}
    /// The analysis' f64 likelihood has been evaluated this many times in all (most of them a
    /// pass over the samples).
    fn likelihood_evaluations(&self, _count: u64) {}
}

/// An [`Observer`] that shows nothing.
pub struct Silent;

impl Observer for Silent {}

/// A sweep over data in memory.
pub struct SweepJob<'a> {
    pub family: &'static dyn Family,
    pub grid: Grid,
    pub data: &'a [f64],
    pub backend: Backend,
    /// Direct or sufficient statistics, for the reported path (`--strategy`); cpu-ref, and the
    /// reference path of `both`, are always direct.
    pub strategy: Strategy,
}

/// A sweep over data streamed from a [`SampleReader`] ([`run_stream`]).
pub struct StreamJob {
    pub family: &'static dyn Family,
    pub grid: Grid,
    pub backend: Backend,
    /// As in [`SweepJob`].
    pub strategy: Strategy,
}

/// What a sweep produced.
pub struct SweepOutcome {
    /// The evaluation reported (the first path with `both`).
    pub primary: Evaluation,
    /// With `both`: the second path's evaluation.
    pub reference: Option<Evaluation>,
    pub agreement: Option<Agreement>,
    /// Index of the best grid point (largest likelihood); `None` if every point is −∞.
    pub best: Option<usize>,
    /// Non-finite values dropped by the reader (`--skip-nonfinite`); `n` counts only the rest.
    pub skipped_nonfinite: u64,
    /// Streamed data: what was read, and the seconds the reading thread spent reading.
    pub input: Option<(InputInfo, f64)>,
    /// Streamed data: the samples, when there were at most [`KEEP_SAMPLES`] (`None` for data
    /// in memory: the caller holds them).
    pub kept: Option<Vec<f64>>,
    /// Streamed data: their summary (count, mean, M₂, extremes, moments of ln x).
    pub moments: Option<Moments>,
}

impl SweepOutcome {
    /// The samples for the analysis: `memory` (data the caller held) or the kept streamed ones.
    pub fn samples<'a>(&'a self, memory: Option<&'a [f64]>) -> Option<&'a [f64]> {
        memory.or(self.kept.as_deref())
    }
}

/// The paths a backend evaluates, in order (the first is reported). `auto` opens the session's
/// GPU and says which it chose through `note`.
fn paths(backend: Backend, session: &Session, notes: &mut Vec<String>) -> Vec<EvalPath> {
    match backend {
        Backend::One(p) => vec![p],
        Backend::Both(a, b) => vec![a, b],
        Backend::Auto => match session.gpu() {
            Ok(c) => {
                notes.push(format!("backend auto: using gpu on {}", c.summary.label()));
                vec![EvalPath::Gpu]
            }
            Err(e) => {
                notes.push(format!("backend auto: {e}; using cpu"));
                vec![EvalPath::Cpu]
            }
        },
    }
}

/// Opens the evaluators of a job: the strategy applies to the reported path; the reference path
/// of `both` is always direct, so that `both` checks the strategy against the plain evaluation.
pub fn open_paths(
    session: &Session,
    family: &'static dyn Family,
    grid: &Grid,
    backend: Backend,
    strategy: Strategy,
    notes: &mut Vec<String>,
) -> Result<Vec<Box<dyn ChunkEvaluator>>> {
    let paths = paths(backend, session, notes);
    if paths[0] == EvalPath::CpuRef && strategy == Strategy::SuffStats {
        return Err(Error::input(
            "--strategy suffstats applies to the gpu and cpu paths; cpu-ref is always direct",
        ));
    }
    paths
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let s = match (i, p) {
                (0, EvalPath::Gpu | EvalPath::Cpu) => resolve(strategy, family, grid)?,
                _ => Strategy::Direct,
            };
            backend::open(p, s, session, family, grid)
        })
        .collect()
}

/// How a run departs from a plain sweep of a whole data set on one session: what data shards
/// ([`crate::engine::shard`]) and several devices ([`crate::engine::multi`]) need. The default
/// is a plain run.
#[derive(Default)]
pub struct Hooks<'h> {
    /// The centring of the whole data set, fixed beforehand (a data shard: from the first chunk
    /// of the whole data set), instead of the centring of the first chunk evaluated.
    pub centre: Option<Centre>,
    /// Opens the evaluators instead of [`open_paths`] on the session (several devices).
    #[allow(clippy::type_complexity)]
    pub open:
        Option<Box<dyn FnOnce(&mut Vec<String>) -> Result<Vec<Box<dyn ChunkEvaluator>>> + 'h>>,
    /// Called with every chunk, in order, as it is evaluated, with its summary when the data
    /// were streamed.
    #[allow(clippy::type_complexity)]
    pub on_chunk: Option<Box<dyn FnMut(&[f64], Option<&Moments>) + 'h>>,
    /// Streamed data: do not keep the samples for the analysis (a shard's report is written by
    /// `klgrid merge`, which never has them).
    pub discard: bool,
}

impl Hooks<'_> {
    fn open(
        &mut self,
        session: &Session,
        family: &'static dyn Family,
        grid: &Grid,
        backend: Backend,
        strategy: Strategy,
        notes: &mut Vec<String>,
    ) -> Result<Vec<Box<dyn ChunkEvaluator>>> {
        match self.open.take() {
            Some(f) => f(notes),
            None => open_paths(session, family, grid, backend, strategy, notes),
        }
    }
}

/// How [`drive`] runs: the session (for its cancellation hook), what to keep and summarise of
/// streamed data, progress, and the hooks.
struct Driving<'a, 'h> {
    session: &'a Session,
    keep_limit: usize,
    keep: bool,
    summary: Option<&'a AtomicBool>,
    observer: &'a dyn Observer,
    hooks: &'a mut Hooks<'h>,
}

/// One chunk of samples, and whether it is the last one.
struct Chunk {
    data: Vec<f64>,
    last: bool,
    /// Its summary (streamed data).
    moments: Option<Moments>,
}

/// Drives the chunks `next` yields through every evaluator: fixes the centring from the first
/// chunk (or takes the one of `hooks`), then evaluates chunk after chunk, in order, handing each
/// to `hooks.on_chunk` (with its summary, for streamed data). With `summary` (streamed data),
/// keeps the samples while they number at most `keep_limit` (unless `keep` is false) and, from
/// the point where they are not kept, summarises them ([`Moments`]): the flag tells the reading
/// thread to summarise the chunks it reads from then on; the kept samples are summarised here
/// when they are dropped. Before each chunk it asks the session's cancellation hook whether to
/// stop ([`Session::with_cancel`]): [`Error::Cancelled`]. `Ok(None)` when there are no samples
/// at all.
fn drive<'c>(
    family: &dyn Family,
    runs: &mut [Box<dyn ChunkEvaluator>],
    mut next: impl FnMut() -> Result<Option<ChunkRef<'c>>>,
    d: Driving<'_, '_>,
) -> Result<Option<Driven>> {
    let Driving {
        session,
        keep_limit,
        keep,
        summary,
        observer,
        hooks,
    } = d;
    let Some(first) = next()? else {
        return Ok(None);
    };
    // The centring is a pass over the first chunk that every kernel path's preparation needs:
    // its time belongs to their evaluation time (0 when a hook hands the centre over).
    let t0 = std::time::Instant::now();
    let centre = match hooks.centre.take() {
        Some(c) => c,
        None => Centre::of(family, first.data()),
    };
    let centre_seconds = t0.elapsed().as_secs_f64();
    for r in runs.iter_mut() {
        r.start(&centre)?;
    }
    let mut kept: Option<Vec<f64>> = (keep && summary.is_some()).then(Vec::new);
    let mut moments: Option<Moments> = None;
    // Every chunk's summary is wanted when a hook takes them.
    let each = summary.is_some() && hooks.on_chunk.is_some();
    if let Some(flag) = summary {
        if kept.is_none() || each {
            flag.store(true, Ordering::Relaxed);
        }
    }
    let mut done = 0u64;
    let mut current = first;
    loop {
        if session.cancelled() {
            return Err(Error::Cancelled);
        }
        let xs = current.data();
        for r in runs.iter_mut() {
            r.chunk(xs)?;
        }
        done += xs.len() as u64;
        observer.evaluated(done);
        if let Some(flag) = summary {
            match &mut kept {
                Some(k) if k.len() + xs.len() <= keep_limit => k.extend_from_slice(xs),
                Some(k) => {
                    // Too many to keep: summarise what was kept, and everything from here on.
                    flag.store(true, Ordering::Relaxed);
                    moments = Some(Moments::of(k));
                    kept = None;
                }
                None => {}
            }
            let m = (kept.is_none() || each)
                .then(|| current.moments().unwrap_or_else(|| Moments::of(xs)));
            if let (Some(f), true) = (&mut hooks.on_chunk, each) {
                f(xs, m.as_ref());
            }
            if let (Some(m), None) = (&m, &kept) {
                moments.get_or_insert_with(Moments::default).merge(m);
            }
        } else if let Some(f) = &mut hooks.on_chunk {
            f(xs, None);
        }
        if current.last() {
            break;
        }
        drop(current);
        match next()? {
            Some(c) => current = c,
            None => break,
        }
    }
    Ok(Some(Driven {
        n: done,
        kept,
        moments,
        centre_seconds,
    }))
}

/// A chunk as the driver sees it: borrowed from memory or owned from the reader.
enum ChunkRef<'c> {
    Borrowed(&'c [f64], bool),
    Owned(Chunk),
}

impl ChunkRef<'_> {
    fn data(&self) -> &[f64] {
        match self {
            ChunkRef::Borrowed(d, _) => d,
            ChunkRef::Owned(c) => &c.data,
        }
    }

    fn last(&self) -> bool {
        match self {
            ChunkRef::Borrowed(_, last) => *last,
            ChunkRef::Owned(c) => c.last,
        }
    }

    fn moments(&self) -> Option<Moments> {
        match self {
            ChunkRef::Borrowed(..) => None,
            ChunkRef::Owned(c) => c.moments,
        }
    }
}

/// What [`drive`] saw of the data besides the partials.
struct Driven {
    #[allow(dead_code)]
    n: u64,
    kept: Option<Vec<f64>>,
    moments: Option<Moments>,
    /// Seconds spent computing the [`Centre`].
    centre_seconds: f64,
}

impl Driven {
    /// Adds the centring's time to the evaluation time of a path that centres (gpu, cpu; the
    /// f64 reference evaluates the raw samples).
    fn charge(&self, e: &mut Evaluation) {
        if e.backend != EvalPath::CpuRef {
            e.eval_seconds += self.centre_seconds;
        }
    }
}

/// Finishes the evaluators and compares the paths.
fn outcome(
    family: &dyn Family,
    runs: Vec<Box<dyn ChunkEvaluator>>,
    driven: Driven,
) -> Result<SweepOutcome> {
    let mut evals = runs
        .into_iter()
        .map(|r| r.finish())
        .collect::<Result<Vec<_>>>()?
        .into_iter();
    let mut primary = evals
        .next()
        .ok_or_else(|| Error::input("no evaluation path"))?;
    let mut reference = evals.next();
    driven.charge(&mut primary);
    if let Some(r) = &mut reference {
        driven.charge(r);
    }
    let agreement = reference.as_ref().map(|r| {
        Agreement::compare(
            &primary.partials,
            &r.partials,
            family.kernel_class().tolerance(),
        )
    });
    let best = primary.partials.argmax();
    Ok(SweepOutcome {
        primary,
        reference,
        agreement,
        best,
        skipped_nonfinite: 0,
        input: None,
        kept: driven.kept,
        moments: driven.moments,
    })
}

/// Runs a sweep over data in memory on `session`. `note` receives one-line messages for stderr
/// (the path `auto` chose), after the data have been evaluated.
pub fn run(
    session: &Session,
    job: &SweepJob<'_>,
    note: &mut dyn FnMut(&str),
) -> Result<SweepOutcome> {
    run_with(session, job, Hooks::default(), note)
}

/// [`run`] telling `observer` how many samples have been evaluated after each chunk (every
/// path of `both` included), for a progress display.
pub fn run_observed(
    session: &Session,
    job: &SweepJob<'_>,
    note: &mut dyn FnMut(&str),
    observer: &dyn Observer,
) -> Result<SweepOutcome> {
    run_hooked(session, job, Hooks::default(), note, observer)
}

/// [`run`] with [`Hooks`]: shards and several devices.
pub fn run_with(
    session: &Session,
    job: &SweepJob<'_>,
    hooks: Hooks<'_>,
    note: &mut dyn FnMut(&str),
) -> Result<SweepOutcome> {
    run_hooked(session, job, hooks, note, &Silent)
}

fn run_hooked(
    session: &Session,
    job: &SweepJob<'_>,
    mut hooks: Hooks<'_>,
    note: &mut dyn FnMut(&str),
    observer: &dyn Observer,
) -> Result<SweepOutcome> {
    if job.data.is_empty() {
        return Err(Error::input("the data set is empty"));
    }
    let mut notes = Vec::new();
    let mut runs = hooks.open(
        session,
        job.family,
        &job.grid,
        job.backend,
        job.strategy,
        &mut notes,
    )?;
    let mut chunks = job.data.chunks(CHUNK);
    let driven = drive(
        job.family,
        &mut runs,
        || Ok(chunks.next().map(|c| ChunkRef::Borrowed(c, false))),
        Driving {
            session,
            keep_limit: 0,
            keep: false,
            summary: None,
            observer,
            hooks: &mut hooks,
        },
    )?
    .ok_or_else(|| Error::input("the data set is empty"))?;
    notes.iter().for_each(|n| note(n));
    outcome(job.family, runs, driven)
}

/// Evaluates `xs` on one path and strategy of `session` through the chunked pipeline.
pub fn evaluate(
    session: &Session,
    path: EvalPath,
    strategy: Strategy,
    family: &'static dyn Family,
    grid: &Grid,
    xs: &[f64],
) -> Result<Evaluation> {
    let mut runs = vec![backend::open(path, strategy, session, family, grid)?];
    let mut chunks = xs.chunks(CHUNK);
    let driven = drive(
        family,
        &mut runs,
        || Ok(chunks.next().map(|c| ChunkRef::Borrowed(c, false))),
        Driving {
            session,
            keep_limit: 0,
            keep: false,
            summary: None,
            observer: &Silent,
            hooks: &mut Hooks::default(),
        },
    )?;
    let mut e = runs.pop().expect("one evaluator").finish()?;
    if let Some(d) = driven {
        d.charge(&mut e);
    }
    Ok(e)
}

/// Evaluates the grid on the GPU path of `session` (direct).
pub fn evaluate_gpu(
    session: &Session,
    family: &'static dyn Family,
    grid: &Grid,
    xs: &[f64],
) -> Result<Evaluation> {
    evaluate(session, EvalPath::Gpu, Strategy::Direct, family, grid, xs)
}

/// Evaluates the grid on the fast CPU path (direct).
pub fn evaluate_cpu(family: &'static dyn Family, grid: &Grid, xs: &[f64]) -> Evaluation {
    match evaluate(
        &Session::default(),
        EvalPath::Cpu,
        Strategy::Direct,
        family,
        grid,
        xs,
    ) {
        Ok(e) => e,
        // The CPU path has no failure mode; an error here would be a bug in this module.
        Err(e) => unreachable!("cpu path failed: {e}"),
    }
}

/// Evaluates the grid by sufficient statistics: the statistics on `session`'s GPU when given,
/// else on the CPU in f64; then O(1) per grid point on the host.
pub fn evaluate_suffstats(
    session: Option<&Session>,
    family: &'static dyn Family,
    grid: &Grid,
    xs: &[f64],
) -> Result<Evaluation> {
    match session {
        Some(s) => evaluate(s, EvalPath::Gpu, Strategy::SuffStats, family, grid, xs),
        None => evaluate(
            &Session::default(),
            EvalPath::Cpu,
            Strategy::SuffStats,
            family,
            grid,
            xs,
        ),
    }
}

/// Evaluates the grid on the f64 reference path.
pub fn evaluate_cpu_ref(family: &'static dyn Family, grid: &Grid, xs: &[f64]) -> Evaluation {
    match evaluate(
        &Session::default(),
        EvalPath::CpuRef,
        Strategy::Direct,
        family,
        grid,
        xs,
    ) {
        Ok(e) => e,
        Err(e) => unreachable!("cpu-ref path failed: {e}"),
    }
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
/// samples (and summarises them) and hands each over when the evaluator takes it, so that the
/// next chunk is read while the current one is evaluated, and at most two chunks are in flight.
/// Results are bitwise those of [`run`] on the same samples in memory.
pub fn run_stream(
    session: &Session,
    job: &StreamJob,
    reader: Box<dyn SampleReader>,
    note: &mut dyn FnMut(&str),
    observer: &dyn Observer,
) -> Result<SweepOutcome> {
    run_stream_chunked(session, job, reader, CHUNK, note, observer)
}

/// [`run_stream`] with another chunk size (tests).
#[doc(hidden)]
pub fn run_stream_chunked(
    session: &Session,
    job: &StreamJob,
    reader: Box<dyn SampleReader>,
    chunk: usize,
    note: &mut dyn FnMut(&str),
    observer: &dyn Observer,
) -> Result<SweepOutcome> {
    stream(
        session,
        job,
        reader,
        chunk,
        KEEP_SAMPLES,
        Hooks::default(),
        note,
        observer,
    )
}

/// [`run_stream`] with [`Hooks`]: shards and several devices.
pub fn run_stream_with(
    session: &Session,
    job: &StreamJob,
    reader: Box<dyn SampleReader>,
    hooks: Hooks<'_>,
    note: &mut dyn FnMut(&str),
    observer: &dyn Observer,
) -> Result<SweepOutcome> {
    stream(
        session,
        job,
        reader,
        CHUNK,
        KEEP_SAMPLES,
        hooks,
        note,
        observer,
    )
}

/// [`run_stream`] with another chunk size and another limit on the samples kept (tests of the
/// streamed summary).
#[doc(hidden)]
pub fn run_stream_limited(
    session: &Session,
    job: &StreamJob,
    reader: Box<dyn SampleReader>,
    chunk: usize,
    keep_limit: usize,
    note: &mut dyn FnMut(&str),
    observer: &dyn Observer,
) -> Result<SweepOutcome> {
    stream(
        session,
        job,
        reader,
        chunk,
        keep_limit,
        Hooks::default(),
        note,
        observer,
    )
}

#[allow(clippy::too_many_arguments)]
fn stream(
    session: &Session,
    job: &StreamJob,
    mut reader: Box<dyn SampleReader>,
    chunk: usize,
    keep_limit: usize,
    mut hooks: Hooks<'_>,
    note: &mut dyn FnMut(&str),
    observer: &dyn Observer,
) -> Result<SweepOutcome> {
    let chunk = chunk.max(1);
    let mut notes = Vec::new();
    let mut runs = hooks.open(
        session,
        job.family,
        &job.grid,
        job.backend,
        job.strategy,
        &mut notes,
    )?;
    let hint = reader.len_hint();
    // Set once the samples are not kept: the reading thread then summarises each chunk.
    let summarise = AtomicBool::new(false);
    let summarise = &summarise;
    std::thread::scope(|s| {
        // A rendezvous channel: the reader hands a full chunk over when the evaluator takes it,
        // and meanwhile fills the next; so at most two chunks are in memory at once.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Chunk>>(0);
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
                let last = buf.len() < chunk || ahead.is_empty();
                let msg = match res {
                    Ok(()) if buf.is_empty() => break,
                    Ok(()) => Ok(Chunk {
                        moments: summarise.load(Ordering::Relaxed).then(|| Moments::of(&buf)),
                        data: buf,
                        last,
                    }),
                    Err(e) => Err(e),
                };
                busy += t0.elapsed().as_secs_f64();
                let failed = msg.is_err();
                if tx.send(msg).is_err() || failed || last {
                    break;
                }
                buf = ahead;
            }
            (reader, busy)
        });
        // Moved into the driver, so that the channel closes when it returns and a reader still
        // running stops at its next chunk.
        let next = move || match rx.recv() {
            Ok(Ok(c)) => Ok(Some(ChunkRef::Owned(c))),
            Ok(Err(e)) => Err(e),
            Err(_) => Ok(None),
        };
        // Keep the samples for the analysis unless the source says up front there are too many.
        let keep = !hooks.discard && hint.is_none_or(|n| n <= keep_limit as u64);
        let driven = drive(
            job.family,
            &mut runs,
            next,
            Driving {
                session,
                keep_limit,
                keep,
                summary: Some(summarise),
                observer,
                hooks: &mut hooks,
            },
        );
        let (reader, busy) = reading
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let info = reader.info();
        let skipped = reader.skipped_nonfinite();
        match driven? {
            None => Err(crate::input::empty_error(&info.name, skipped)),
            Some(d) => {
                notes.iter().for_each(|n| note(n));
                let mut o = outcome(job.family, runs, d)?;
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
    use crate::model::grid::AxisSpec;
    use crate::model::lookup;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn a_cancellation_hook_stops_run_and_evaluate_between_chunks() {
        let family = lookup("normal").unwrap();
        let axes = vec![
            AxisSpec::parse("mu=0,1").unwrap(),
            AxisSpec::parse("sigma=1").unwrap(),
        ];
        let grid = Grid::new(family, axes).unwrap();
        // Three chunks; the hook is asked before each and says stop on its second call.
        let xs: Vec<f64> = (0..2 * CHUNK + 1).map(|i| (i % 7) as f64 * 0.1).collect();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let plain = Session::default();
        let session = plain.with_cancel(Arc::new(move || c.fetch_add(1, Ordering::SeqCst) >= 1));
        let job = SweepJob {
            family,
            grid: grid.clone(),
            data: &xs,
            backend: Backend::One(EvalPath::Cpu),
            strategy: Strategy::Direct,
        };
        let err = run(&session, &job, &mut |_| {}).err().expect("cancelled");
        assert!(matches!(err, Error::Cancelled), "{err}");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "stopped before the second chunk"
        );
        let err = evaluate(
            &session,
            EvalPath::CpuRef,
            Strategy::Direct,
            family,
            &grid,
            &xs,
        )
        .expect_err("cancelled");
        assert!(matches!(err, Error::Cancelled), "{err}");
        // The handle without the hook shares the session and runs to the end.
        let out = run(&plain, &job, &mut |_| {}).unwrap();
        assert_eq!(out.primary.partials.n, xs.len() as u64);
    }
}
