//! klgrid: sweep parameter grids of statistical models over millions of samples on the GPU.
//!
//! For a family Q(x | θ), samples x₁…xₙ and every θ of a grid, klgrid evaluates
//! S(θ) = Σᵢ log Q(xᵢ | θ), the mean log-likelihood S/n and the cross-entropy
//! H(P̂, Q_θ) = −S/n. Since D_KL(P̂‖Q_θ) = H(P̂, Q_θ) − H(P̂) and H(P̂) does not depend on θ,
//! the grid point that maximises the likelihood also minimises the cross-entropy and the KL
//! divergence.
//!
//! Paths: [`gpu`] (WGSL kernels through wgpu, f32 kernel with f64 host accumulation),
//! [`cpu_fast`] (the same split on the CPU, vectorised, all cores) and [`cpu_ref`] (the f64
//! reference). [`sweep`] runs a job on a chosen backend.

pub mod analysis;
pub mod bench;
pub mod cpu_fast;
pub mod cpu_ref;
pub mod data;
pub mod error;
pub mod family;
pub mod gpu;
pub mod grid;
pub mod identity;
pub mod intervals;
pub mod mle;
pub mod numeric;
pub mod partial;
pub mod quadrature;
pub mod refine;
pub mod report;
pub mod sample_spec;
pub mod split;
pub mod stats;
pub mod sweep;

pub use error::{Error, Result};
