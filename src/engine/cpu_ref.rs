//! The f64 reference path (`cpu-ref`): the family's full log-density, per sample per grid point,
//! with Neumaier-compensated summation, on all cores. It is the oracle the other paths are
//! checked against, so it deliberately does not use the a(θ) + b(x) + k(x, θ) split.

use crate::engine::config::{EvalPath, Strategy};
use crate::engine::evaluation::{ChunkEvaluator, Evaluation, Tally};
use crate::engine::partials::Partials;
use crate::engine::prepare::Centre;
use crate::error::Result;
use crate::model::grid::Grid;
use crate::model::Family;
use crate::numeric::Neumaier;
use rayon::prelude::*;

/// Samples per task when a small grid is split along the data.
const BLOCK: usize = 1 << 20;

/// Evaluates Σᵢ log Q(xᵢ | θ) for every grid point.
///
/// Work is split into (grid point, data block) tasks; each block's compensated sum is combined
/// per grid point in block order with a second compensated sum, so results are deterministic.
pub fn evaluate(family: &dyn Family, grid: &Grid, xs: &[f64]) -> Partials {
    let len = grid.len();
    let threads = rayon::current_num_threads();
    let blocks = if len >= 4 * threads {
        1
    } else {
        xs.len().div_ceil(BLOCK).max(1)
    };
    let block_len = xs.len().div_ceil(blocks).max(1);
    let per_task: Vec<(f64, u64)> = (0..len * blocks)
        .into_par_iter()
        .map(|t| {
            let (p, b) = (t / blocks, t % blocks);
            let theta = grid.theta(p);
            if family.validate(&theta).is_err() {
                // Not a distribution: every sample is outside its support.
                let lo = (b * block_len).min(xs.len());
                let hi = ((b + 1) * block_len).min(xs.len());
                return (0.0, (hi - lo) as u64);
            }
            let lo = (b * block_len).min(xs.len());
            let hi = ((b + 1) * block_len).min(xs.len());
            family.ln_pdf_sum(&xs[lo..hi], &theta)
        })
        .collect();
    let mut out = Partials::zeros(len);
    out.n = xs.len() as u64;
    for p in 0..len {
        let mut s = Neumaier::default();
        for &(v, o) in &per_task[p * blocks..(p + 1) * blocks] {
            s.add(v);
            out.outside[p] += o;
        }
        out.sum[p] = s.value();
    }
    out
}

/// The f64 reference as a [`ChunkEvaluator`]: each chunk by [`evaluate`].
pub struct CpuRef {
    family: &'static dyn Family,
    grid: Grid,
    tally: Tally,
}

impl CpuRef {
    pub fn new(family: &'static dyn Family, grid: &Grid) -> CpuRef {
        CpuRef {
            family,
            grid: grid.clone(),
            tally: Tally::new(EvalPath::CpuRef, Strategy::Direct, grid.len()),
        }
    }
}

impl ChunkEvaluator for CpuRef {
    fn start(&mut self, _centre: &Centre) -> Result<()> {
        Ok(())
    }

    fn chunk(&mut self, xs: &[f64]) -> Result<()> {
        let (family, grid) = (self.family, &self.grid);
        self.tally.timed(|t| t.add(&evaluate(family, grid, xs)));
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Evaluation> {
        Ok(self.tally.evaluation())
    }
}
