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
//! reference). [`sweep`] runs a job on a chosen backend, on data in memory or streamed in chunks
//! from [`input`] (text, CSV/TSV, NPY, raw binary; files or stdin).

//! ```
//! use klgrid::family::lookup;
//! use klgrid::grid::{AxisSpec, Grid};
//! use klgrid::sample_spec::SampleSpec;
//! use klgrid::sweep::{evaluate_cpu, evaluate_cpu_ref, Agreement};
//!
//! let family = lookup("normal")?;
//! let xs = SampleSpec::parse("normal(mu=1.5, sigma=2)")?.draw(100_000, 42)?;
//! let axes = ["mu=0:3:7", "sigma=1:3:5"].iter().map(|s| AxisSpec::parse(s)).collect::<Result<_, _>>()?;
//! let grid = Grid::new(family, axes)?;
//!
//! let fast = evaluate_cpu(family, &grid, &xs);
//! let best = fast.partials.argmax().expect("a finite point");
//! assert_eq!(grid.theta(best), vec![1.5, 2.0]);
//!
//! // The f64 reference agrees within the family's documented tolerance.
//! let reference = evaluate_cpu_ref(family, &grid, &xs);
//! let agreement = Agreement::compare(&fast.partials, &reference.partials, 1e-6);
//! assert!(agreement.within_tolerance && agreement.argmax_agrees);
//! # Ok::<(), klgrid::Error>(())
//! ```

pub mod analysis;
pub mod bench;
pub mod cpu_fast;
pub mod cpu_ref;
pub mod error;
pub mod family;
pub mod gpu;
pub mod grid;
pub mod hessian;
pub mod identity;
pub mod input;
pub mod intervals;
pub mod likelihood;
pub mod mle;
pub mod numeric;
pub mod optim;
pub mod partial;
pub mod plot;
pub mod profile;
pub mod quadrature;
pub mod refine;
pub mod report;
pub mod sample_spec;
pub mod split;
pub mod stats;
pub mod suffstats;
pub mod sweep;

pub use error::{Error, Result};
