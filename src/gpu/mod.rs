//! The GPU path: adapter selection, kernel generation and the batched evaluator.

pub mod adapter;
pub mod evaluator;
pub mod kernel;
pub mod stats;

pub use adapter::{list_adapters, AdapterSummary, GpuContext};
pub use evaluator::{BatchLimits, GpuEvaluator};
pub use kernel::KernelShape;
