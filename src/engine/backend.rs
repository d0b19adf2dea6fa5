//! Opening the evaluator of a path and strategy: the one place that knows every
//! [`ChunkEvaluator`] implementation. Adding a backend is one impl and one arm here.

use crate::engine::config::{EvalPath, Strategy};
use crate::engine::cpu_ref::CpuRef;
use crate::engine::direct::{DirectCpu, DirectGpu};
use crate::engine::evaluation::ChunkEvaluator;
use crate::engine::session::Session;
use crate::engine::suffstats::SuffStats;
use crate::error::{Error, Result};
use crate::model::grid::Grid;
use crate::model::Family;

/// The evaluator of `family` on `grid` for `path` with a resolved `strategy` (direct or
/// suffstats; see [`crate::engine::suffstats::resolve`]), its device resources from `session`.
pub fn open(
    path: EvalPath,
    strategy: Strategy,
    session: &Session,
    family: &'static dyn Family,
    grid: &Grid,
) -> Result<Box<dyn ChunkEvaluator>> {
    Ok(match (path, strategy) {
        (EvalPath::CpuRef, Strategy::Direct) => Box::new(CpuRef::new(family, grid)),
        (EvalPath::CpuRef, _) => {
            return Err(Error::input(
                "--strategy suffstats applies to the gpu and cpu paths; cpu-ref is always direct",
            ))
        }
        (EvalPath::Cpu, Strategy::Direct) => Box::new(DirectCpu::new(family, grid)),
        (EvalPath::Gpu, Strategy::Direct) => Box::new(DirectGpu::new(session, family, grid)?),
        (p, Strategy::SuffStats) => Box::new(SuffStats::new(session, p, family, grid)?),
        (_, Strategy::Auto) => {
            return Err(Error::input(
                "internal: the strategy must be resolved before opening an evaluator",
            ))
        }
    })
}
