//! The backend trait every evaluation path implements ([`ChunkEvaluator`]), and what an
//! evaluation produces ([`Evaluation`]).
//!
//! A data set reaches an evaluator as chunks of [`CHUNK`](crate::engine::prepare::CHUNK)
//! samples, in order: [`ChunkEvaluator::start`] fixes the centring (from the first chunk), then
//! [`ChunkEvaluator::chunk`] once per chunk, then [`ChunkEvaluator::finish`]. Each chunk's
//! partials are accumulated exactly ([`PartialSums`]), so the result does not depend on how the
//! chunks were grouped (in memory, streamed, sharded). Opening an evaluator for a path and
//! strategy is [`crate::engine::backend::open`].

use crate::engine::config::{EvalPath, Strategy};
use crate::engine::gpu::{AdapterSummary, KernelShape};
use crate::engine::partials::{PartialSums, Partials};
use crate::engine::prepare::{
    evaluate_f64, f64_points, features_fit, ln_pdf_sums, Centre, Prepared,
};
use crate::error::Result;
use crate::model::grid::Grid;
use crate::model::Family;
use std::time::Instant;

/// One path's evaluation of the whole grid.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The path that evaluated (`gpu`, `cpu` or `cpu-ref`).
    pub backend: EvalPath,
    /// [`Strategy::Direct`] or [`Strategy::SuffStats`].
    pub strategy: Strategy,
    pub adapter: Option<AdapterSummary>,
    pub shape: Option<KernelShape>,
    pub partials: Partials,
    /// The exact accumulation `partials` was rounded from, for merging this evaluation with
    /// others of other samples (shards, ranks, devices) without a second rounding.
    pub exact: PartialSums,
    /// Kernel compilation (GPU), seconds; 0 when the session had compiled it already.
    pub compile_seconds: f64,
    /// Device time of the kernels (gpu, where the adapter has timestamp queries).
    pub device_seconds: Option<f64>,
    /// Evaluation, seconds: sample preparation (the data set's centring included), kernel and
    /// host assembly (gpu, cpu) or the whole reference sum (cpu-ref).
    pub eval_seconds: f64,
    /// What the f32 paths did to stay exact: rescaling, points evaluated in f64.
    pub conditioning: Conditioning,
}

/// What an f32 path did because the data or the grid were outside what f32 holds
/// ([`crate::engine::prepare::f64_points`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditioning {
    /// The factors the features were divided by (one per feature), when any is not 1.
    pub rescaled_by: Option<Vec<f64>>,
    /// Grid points evaluated in f64 (by the full density) for at least one chunk.
    pub f64_points: u64,
    /// Samples in the chunks where some point was evaluated in f64.
    pub f64_samples: u64,
    /// Per grid point, whether it was evaluated in f64 (allocated on first use).
    seen: Vec<bool>,
}

impl Conditioning {
    /// Records that `points` of a chunk of `n` samples were evaluated in f64.
    pub fn record(&mut self, points: &[usize], n: usize, grid_len: usize) {
        if points.is_empty() {
            return;
        }
        if self.seen.is_empty() {
            self.seen = vec![false; grid_len];
        }
        for &p in points {
            if !self.seen[p] {
                self.seen[p] = true;
                self.f64_points += 1;
            }
        }
        self.f64_samples += n as u64;
    }

    /// Adds the conditioning of another part of the same evaluation (other devices, shards):
    /// the counts add (a point evaluated in f64 on two parts counts twice).
    pub fn merge(&mut self, o: &Conditioning) {
        if self.rescaled_by.is_none() {
            self.rescaled_by.clone_from(&o.rescaled_by);
        }
        self.f64_points += o.f64_points;
        self.f64_samples += o.f64_samples;
    }

    /// Whether anything was done.
    pub fn is_empty(&self) -> bool {
        self.rescaled_by.is_none() && self.f64_points == 0
    }
}

/// An evaluation path, chunk by chunk.
pub trait ChunkEvaluator: Send {
    /// Fixes the centring of the data set, before the first chunk.
    fn start(&mut self, centre: &Centre) -> Result<()>;

    /// Evaluates the next chunk of samples (in data order) and accumulates its partials.
    fn chunk(&mut self, xs: &[f64]) -> Result<()>;

    /// Completes the work still in flight and returns the evaluation.
    fn finish(self: Box<Self>) -> Result<Evaluation>;
}

/// The bookkeeping every evaluator shares: what it is, the exact accumulation of its chunks'
/// partials, and its timings.
#[derive(Debug)]
pub struct Tally {
    pub backend: EvalPath,
    pub strategy: Strategy,
    pub adapter: Option<AdapterSummary>,
    pub shape: Option<KernelShape>,
    pub sums: PartialSums,
    pub compile_seconds: f64,
    pub device_seconds: Option<f64>,
    pub eval_seconds: f64,
    pub conditioning: Conditioning,
}

impl Tally {
    /// An empty tally for a grid of `len` points.
    pub fn new(backend: EvalPath, strategy: Strategy, len: usize) -> Tally {
        Tally {
            backend,
            strategy,
            adapter: None,
            shape: None,
            sums: PartialSums::zeros(len),
            compile_seconds: 0.0,
            device_seconds: None,
            eval_seconds: 0.0,
            conditioning: Conditioning::default(),
        }
    }

    /// Accumulates one chunk's partials.
    pub fn add(&mut self, p: &Partials) {
        self.sums.add(p);
    }

    /// Adds device time.
    pub fn device(&mut self, s: Option<f64>) {
        if let Some(s) = s {
            *self.device_seconds.get_or_insert(0.0) += s;
        }
    }

    /// Runs `f`, adding its wall time to the evaluation time.
    pub fn timed<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let t0 = Instant::now();
        let out = f(self);
        self.eval_seconds += t0.elapsed().as_secs_f64();
        out
    }

    /// The finished evaluation.
    pub fn evaluation(self) -> Evaluation {
        Evaluation {
            backend: self.backend,
            strategy: self.strategy,
            adapter: self.adapter,
            shape: self.shape,
            partials: self.sums.value(),
            exact: self.sums,
            compile_seconds: self.compile_seconds,
            device_seconds: self.device_seconds,
            eval_seconds: self.eval_seconds,
            conditioning: self.conditioning,
        }
    }

    /// [`Tally::add_checked`] without the prediction, of the chunk partial whose point i is
    /// `value(i)` = (Σ log Q, samples outside), accumulated in one pass without materialising it
    /// ([`PartialSums::add_with`]): a point with every sample inside and a non-finite sum (an
    /// f32 failure, never "outside the support") is evaluated in f64 over `xs` instead, as
    /// [`f64_points`] and [`evaluate_f64`] do. The same sums, bit for bit. For a chunk whose
    /// features all fit f32 ([`features_fit`]); other chunks need every check of
    /// [`Tally::add_checked`].
    pub fn add_checked_with(
        &mut self,
        family: &dyn Family,
        grid: &Grid,
        prep: &Prepared,
        xs: &[f64],
        value: impl Fn(usize) -> (f64, u64) + Sync,
    ) {
        debug_assert!(features_fit(prep), "a chunk with features beyond f32");
        let deferred = self
            .sums
            .add_with(prep.n as u64, &value, |s, o| o == 0 && !s.is_finite());
        if deferred.is_empty() {
            return;
        }
        // A θ outside the family's constraints keeps its value (f64_points skips it).
        let (points, invalid): (Vec<usize>, Vec<usize>) = deferred
            .iter()
            .partition(|&&p| family.validate(&grid.theta(p)).is_ok());
        for (&p, (s, o)) in points.iter().zip(ln_pdf_sums(family, grid, xs, &points)) {
            self.sums.add_one(p, s, o);
        }
        for p in invalid {
            let (s, o) = value(p);
            self.sums.add_one(p, s, o);
        }
        self.conditioning.record(&points, xs.len(), grid.len());
    }

    /// Accumulates one chunk's partials from an f32 path, after evaluating in f64 the points the
    /// f32 evaluation cannot be trusted with ([`f64_points`]); those points are replaced in
    /// `part`, a buffer the caller may reuse for its next chunk.
    #[allow(clippy::too_many_arguments)]
    pub fn add_checked(
        &mut self,
        family: &dyn Family,
        grid: &Grid,
        centre: &Centre,
        prep: &Prepared,
        xs: &[f64],
        part: &mut Partials,
        predict: bool,
    ) {
        let points = f64_points(family, grid, centre, prep, part, predict);
        if !points.is_empty() {
            evaluate_f64(family, grid, xs, &points, part);
            self.conditioning.record(&points, xs.len(), grid.len());
        }
        self.add(part);
    }
}
