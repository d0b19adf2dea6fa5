//! Evaluating a grid: the chunked [`pipeline`], the paths behind one backend trait
//! ([`evaluation::ChunkEvaluator`], opened by [`backend::open`]) — the f64 reference
//! ([`cpu_ref`]), the direct split on the CPU and GPU ([`direct`], [`cpu_fast`], [`gpu`]) and
//! sufficient statistics ([`suffstats`]) — the [`session`] that owns the device and the compiled
//! pipelines, exact [`partials`], path [`agreement`], and the [`bench`].
//!
//! Layers, lowest first: `config`, `partials`, `prepare`, `agreement`, `cpu_fast`, `gpu`,
//! `evaluation`, `cpu_ref`, `session`, `direct`, `suffstats`, `backend`, `pipeline`, `bench`,
//! then beyond one device: `partial_file`, `multi`, `shard`, `mpi` (feature `mpi`); each module
//! imports only from modules before it.

pub mod agreement;
pub mod backend;
pub mod bench;
pub mod config;
pub mod cpu_fast;
pub mod cpu_ref;
pub mod direct;
pub mod evaluation;
pub mod gpu;
pub mod merge;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod multi;
pub mod partial_file;
pub mod partials;
pub mod pipeline;
pub mod prepare;
pub mod session;
pub mod shard;
pub mod suffstats;

pub use agreement::Agreement;
pub use config::{parse_compare, Backend, BackendChoice, EvalPath, Strategy};
pub use evaluation::{ChunkEvaluator, Evaluation};
pub use partials::{PartialSums, Partials};
pub use pipeline::{
    evaluate, evaluate_cpu, evaluate_cpu_ref, evaluate_gpu, evaluate_suffstats, run, run_observed,
    run_stream, run_stream_with, run_with, Hooks, Observer, Silent, StreamJob, SweepJob,
    SweepOutcome, CHUNK,
};
pub use session::{CancelHook, Compilations, Session, SessionOptions};
