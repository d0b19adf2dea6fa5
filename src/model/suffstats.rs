//! Sufficient statistics: families whose coupled kernel is a linear combination of per-sample
//! statistics,
//!
//! ```text
//! Σᵢ k(fᵢ, θ) = Σⱼ ηⱼ(θ)·Tⱼ + n·κ(θ),   Tⱼ = Σᵢ tⱼ(fᵢ),
//! ```
//!
//! so that one reduction over the samples gives every T, and each grid point then costs O(1).
//! The features fᵢ are the same (centred) features the direct paths use.

use super::kernel::{Kernel, MAX_FEATURES};
use crate::model::grid::Grid;

/// Largest number of statistics.
pub const MAX_STATS: usize = 4;

/// The per-sample statistics t(f).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatsForm {
    /// t = f (each feature): kernels linear in the features.
    Linear,
    /// t = (f₀, f₀²): kernels quadratic in one feature (normal, lognormal).
    Quadratic,
    /// t = (f₀, exp(cⱼ·f₀)) with cⱼ the kernel constant `j`, which must be the same for every
    /// grid point (its parameter held fixed): the Weibull with fixed shape.
    ExpScaled(usize),
}

impl StatsForm {
    /// Number of statistics for a family with `nf` features.
    pub fn n_stats(self, nf: usize) -> usize {
        match self {
            StatsForm::Linear => nf,
            StatsForm::Quadratic | StatsForm::ExpScaled(_) => 2,
        }
    }

    /// t(f), in f64; `c` are the kernel constants of any grid point (only the fixed ones are read).
    pub fn stats(self, f: &[f64], c: &[f64], out: &mut [f64]) {
        match self {
            StatsForm::Linear => out[..f.len()].copy_from_slice(f),
            StatsForm::Quadratic => {
                out[0] = f[0];
                out[1] = f[0] * f[0];
            }
            StatsForm::ExpScaled(j) => {
                out[0] = f[0];
                out[1] = (c[j] * f[0]).exp();
            }
        }
    }
}

/// η(θ) and κ(θ) from the kernel constants: fills `eta[..n_stats]` and returns κ.
pub type Natural = fn(c: &[f64], eta: &mut [f64]) -> f64;

/// Outside-support counts per grid point for θ-dependent supports, from the data.
pub type OutsideCounts = fn(grid: &Grid, xs: &[f64]) -> Vec<u64>;

/// How a family evaluates by sufficient statistics.
#[derive(Clone, Copy)]
pub struct SuffStatsSpec {
    pub form: StatsForm,
    /// Parameters that must be held fixed by the grid (one value) for the statistics to be valid.
    pub fixed_params: &'static [usize],
    pub natural: Natural,
    /// For θ-dependent supports: the number of samples outside per grid point.
    pub outside: Option<OutsideCounts>,
}

impl SuffStatsSpec {
    /// The spec of a kernel linear and homogeneous in its features: t = f, ηⱼ = k(eⱼ, c), κ = 0.
    pub fn linear<K: Kernel>() -> SuffStatsSpec {
        SuffStatsSpec {
            form: StatsForm::Linear,
            fixed_params: &[],
            natural: linear_natural::<K>,
            outside: None,
        }
    }
}

/// ηⱼ = k(eⱼ, c) for a kernel linear and homogeneous in the features.
fn linear_natural<K: Kernel>(c: &[f64], eta: &mut [f64]) -> f64 {
    for (j, e) in eta.iter_mut().enumerate().take(K::NF) {
        let mut unit = [0.0; MAX_FEATURES];
        unit[j] = 1.0;
        *e = K::k(&unit[..K::NF], c);
    }
    0.0
}
