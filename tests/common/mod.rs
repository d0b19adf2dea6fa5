//! Shared helpers for the integration tests.
#![allow(dead_code)]

use klgrid::family::{lookup, Family};
use klgrid::gpu::GpuContext;
use klgrid::grid::{AxisSpec, Grid};

/// Opens the GPU, or returns `None` (test skipped, with a note) when no adapter exists. With
/// `KLGRID_REQUIRE_GPU=1` (as in CI) a missing adapter fails the test instead.
pub fn gpu() -> Option<GpuContext> {
    match GpuContext::open(std::env::var("KLGRID_ADAPTER").ok().as_deref()) {
        Ok(ctx) => Some(ctx),
        Err(e) => {
            if std::env::var("KLGRID_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("KLGRID_REQUIRE_GPU=1 but no GPU adapter: {e}");
            }
            eprintln!("SKIPPED (no GPU adapter: {e}); set KLGRID_REQUIRE_GPU=1 to fail instead");
            None
        }
    }
}

pub fn family(name: &str) -> &'static dyn Family {
    lookup(name).unwrap()
}

pub fn grid(fam: &dyn Family, specs: &[&str]) -> Grid {
    Grid::new(
        fam,
        specs.iter().map(|s| AxisSpec::parse(s).unwrap()).collect(),
    )
    .unwrap()
}
