//! Models written as expressions (`klgrid sweep --model FILE.toml` or `--logpdf EXPR`): the
//! language, its automatic split into a(θ) + b(x) + k(x, θ), and the three evaluators — WGSL for
//! the device, a program of fused instructions for the fast CPU path, and the whole expression in
//! f64 for the reference.
//!
//! * [`parse`] — the grammar (the `peg` crate) and the syntax tree with spans;
//! * [`resolve`] — names, arity and types; every built-in family's `NAME_lpdf`/`NAME_lpmf`
//!   expanded for the split and kept as the family's exact `ln_pdf` for the reference;
//! * [`graph`] — the hash-consed DAG: constant folding and the constant / θ-only / x-only /
//!   coupled classification; [`interval`] — bounds from the domains (division check);
//! * [`split`] — the split, hoisting, centring and sufficient-statistics detection;
//! * [`wgsl`], [`bytecode`] — the device and fast-CPU kernels; [`special`] and
//!   `shaders/lib/special.wgsl` — lgamma, erf, erfc, log1p, expm1, tanh in f32;
//! * [`norm`] — log Z(θ) for `normalise = true`; [`spec`] — model files and inline options;
//! * [`model`] — [`UserModel`], the [`Family`](crate::model::Family) implementation.

pub mod bytecode;
pub mod graph;
pub mod interval;
pub mod model;
pub mod norm;
pub mod parse;
pub mod resolve;
pub mod spec;
pub mod special;
pub mod split;
pub mod wgsl;

pub use model::{build, model_of, UserModel};
pub use spec::ModelSpec;
