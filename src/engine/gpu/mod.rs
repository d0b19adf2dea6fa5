//! The GPU path: adapters and devices ([`adapter`]), kernel shapes ([`shape`]), WGSL generation
//! ([`codegen`]), the sweep kernel ([`evaluator`]), the sufficient-statistics reduction
//! ([`reduce`]) and the buffer helpers they share ([`buffers`]).

pub mod adapter;
pub(crate) mod buffers;
pub mod codegen;
pub mod evaluator;
pub mod probe;
pub mod reduce;
pub mod shape;

pub use adapter::{list_adapters, AdapterSummary, GpuContext};
pub use evaluator::{BatchLimits, GpuSweep, SweepPipeline};
pub use reduce::{GpuReducer, ReducePipeline};
pub use shape::KernelShape;
