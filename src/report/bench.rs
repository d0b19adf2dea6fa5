//! The document of `klgrid bench --format json` (and of `klgrid.bench` in Python): one object
//! with the job's size and one entry per measured path.

use crate::engine::bench::{BenchReport, Stats};
use serde_json::{json, Value};

/// {median, min, max} of a measured quantity.
fn stats(s: &Stats) -> Value {
    json!({"median": s.median, "min": s.min, "max": s.max})
}

/// The bench document: `n`, `grid_points`, `evaluations_per_run` (n · grid points, an integer,
/// saturating), `peak_rss_bytes` and `results`, one object per path with its evaluations/s,
/// seconds and device seconds as {median, min, max}, and `speedup_vs_cpu` = evals/s ÷ the cpu
/// path's.
pub fn document(r: &BenchReport, peak: Option<u64>) -> Value {
    let cpu = r.cpu_evals_per_s();
    let results: Vec<_> = r
        .results
        .iter()
        .map(|b| {
            json!({
                "backend": b.path.name(),
                "strategy": b.strategy,
                "adapter": b.adapter,
                "kernel": b.kernel.map(|k| json!({
                    "points_per_invocation": k.points_per_invocation(),
                    "workgroup_size": k.workgroup_size,
                    "chunk_len": k.chunk_len,
                })),
                "runs": b.runs,
                "evals_per_s": stats(&b.evals_per_s),
                "seconds": stats(&b.seconds),
                "device_seconds": b.device_seconds.as_ref().map(stats),
                "compile_seconds": b.compile_seconds,
                "speedup_vs_cpu": cpu.map(|c| b.evals_per_s.median / c),
                "max_rel_diff": b.max_rel_diff,
            })
        })
        .collect();
    json!({
        "n": r.n,
        "grid_points": r.grid_points,
        // n · grid points, an integer (saturating: no real run comes near 2⁶⁴).
        "evaluations_per_run": (r.n as u64).saturating_mul(r.grid_points as u64),
        "peak_rss_bytes": peak,
        "results": results,
    })
}
