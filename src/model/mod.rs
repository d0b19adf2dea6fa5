//! The models: parameters and their domains, the [`Family`] trait with its split
//! a(θ) + b(x) + k(x, θ), the built-in [`families`], parameter [`grid`]s, synthetic data
//! ([`sample_spec`]) and streamed data summaries ([`moments`]).
//!
//! Nothing here knows how or where a grid is evaluated: that is [`crate::engine`].

pub mod expr;
pub mod families;
pub mod family;
pub mod grid;
pub mod kernel;
pub mod moments;
pub mod param;
pub mod sample_spec;
pub mod suffstats;

pub use families::{lookup, REGISTRY};
pub use family::{Family, KernelClass, Scaling, Shift, StreamedMle, HALF_LN_2PI};
pub use kernel::{
    Blocked, CoupledKernel, Kernel, KernelFloat, ScaledKernel, MAX_FEATURES, MAX_KERNEL_CONSTS,
};
pub use param::{validate_domains, Domain, HasParams, ParamSpec};
pub use suffstats::{StatsForm, SuffStatsSpec};
