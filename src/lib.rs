//! klgrid: sweep parameter grids of statistical models over millions of samples on the GPU.
//!
//! For a family Q(x | θ), samples x₁…xₙ and every θ of a grid, klgrid evaluates
//! S(θ) = Σᵢ log Q(xᵢ | θ), the mean log-likelihood S/n and the cross-entropy
//! H(P̂, Q_θ) = −S/n. Since D_KL(P̂‖Q_θ) = H(P̂, Q_θ) − H(P̂) and H(P̂) does not depend on θ,
//! the grid point that maximises the likelihood also minimises the cross-entropy and the KL
//! divergence.
//!
//! The modules read as the pipeline, each importing only from those before it:
//! [`guard`] (defences against hostile input) and [`numeric`] (compensated and exact sums,
//! quadrature) → [`input`] (readers) → [`model`] (parameters, the [`Family`](model::Family)
//! trait and its split, the built-in families, grids, synthetic data) → [`engine`] (the chunked pipeline, the evaluation paths behind one
//! backend trait — GPU, fast CPU, f64 reference, sufficient statistics — and the
//! [`Session`](engine::Session) that owns the device and compiled pipelines) → [`analysis`]
//! (entropy and KL, identity, MLE, refinement, intervals) → [`report`] → [`plot`]; the `klgrid`
//! command is a thin layer over these.
//!
//! ```
//! use klgrid::engine::{evaluate_cpu, evaluate_cpu_ref, Agreement};
//! use klgrid::model::grid::{AxisSpec, Grid};
//! use klgrid::model::lookup;
//! use klgrid::model::sample_spec::SampleSpec;
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
pub mod engine;
pub mod error;
pub mod guard;
pub mod input;
pub mod model;
pub mod numeric;
pub mod plot;
pub mod report;

pub use error::{Error, Result};
