//! `klgrid bench`: every chosen path on the same data in one process — a warm-up, then timed
//! runs — with throughput, device time, compile time, and each path's largest relative
//! difference against the f64 reference.

use crate::engine::agreement::Agreement;
use crate::engine::config::{EvalPath, Strategy};
use crate::engine::evaluation::Evaluation;
use crate::engine::gpu::KernelShape;
use crate::engine::partials::Partials;
use crate::engine::pipeline::evaluate;
use crate::engine::session::Session;
use crate::engine::suffstats::resolve;
use crate::error::Result;
use crate::model::grid::Grid;
use crate::model::Family;

/// Median, minimum and maximum of a set of measurements.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    /// Statistics of `v` (not empty).
    pub fn of(v: &[f64]) -> Stats {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        let m = s.len();
        let median = if m % 2 == 1 {
            s[m / 2]
        } else {
            0.5 * (s[m / 2 - 1] + s[m / 2])
        };
        Stats {
            median,
            min: s[0],
            max: s[m - 1],
        }
    }
}

/// One path's measurements.
#[derive(Debug, Clone)]
pub struct BenchResult {
    pub path: EvalPath,
    /// [`Strategy::Direct`] or [`Strategy::SuffStats`].
    pub strategy: Strategy,
    /// Adapter label (gpu only).
    pub adapter: Option<String>,
    pub kernel: Option<KernelShape>,
    /// Kernel compilation, seconds (gpu only).
    pub compile_seconds: Option<f64>,
    /// Wall time per timed run.
    pub seconds: Stats,
    /// n · grid points / wall seconds.
    pub evals_per_s: Stats,
    /// Device time per run (gpu with timestamp queries).
    pub device_seconds: Option<Stats>,
    /// Largest relative difference of the mean log-likelihood against cpu-ref.
    pub max_rel_diff: Option<f64>,
    /// Number of timed runs.
    pub runs: usize,
}

/// What `bench` measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub n: usize,
    pub grid_points: usize,
    pub results: Vec<BenchResult>,
}

impl BenchReport {
    /// Median throughput of the fast CPU path, if it ran.
    pub fn cpu_evals_per_s(&self) -> Option<f64> {
        self.results
            .iter()
            .find(|r| r.path == EvalPath::Cpu)
            .map(|r| r.evals_per_s.median)
    }
}

/// How to run the benchmark.
pub struct BenchOptions {
    /// Paths to measure, in order.
    pub paths: Vec<EvalPath>,
    /// Timed runs per path after one warm-up run (cpu-ref: `ref_repeat`, no warm-up).
    pub repeat: usize,
    /// Timed runs of cpu-ref (it is slow, and has nothing to warm up).
    pub ref_repeat: usize,
    /// Direct or sufficient statistics for the gpu and cpu paths (cpu-ref is always direct).
    pub strategy: Strategy,
}

/// Runs the benchmark on `session` (one device, every kernel compiled once: the compilation
/// is timed on the warm-up run). `note` receives progress lines for stderr.
pub fn run(
    session: &Session,
    family: &'static dyn Family,
    grid: &Grid,
    xs: &[f64],
    opts: &BenchOptions,
    note: &mut dyn FnMut(&str),
) -> Result<BenchReport> {
    let evals = xs.len() as f64 * grid.len() as f64;
    let suff = resolve(opts.strategy, family, grid)? == Strategy::SuffStats;
    let mut reference: Option<Partials> = None;
    let mut results = Vec::new();
    // cpu-ref first: every other path is compared against it.
    let mut order = opts.paths.clone();
    order.sort_by_key(|p| *p != EvalPath::CpuRef);
    for path in order {
        note(&format!("bench: {}", path.name()));
        let strategy = if suff && path != EvalPath::CpuRef {
            Strategy::SuffStats
        } else {
            Strategy::Direct
        };
        let run = || evaluate(session, path, strategy, family, grid, xs);
        // cpu-ref has nothing to warm up; the others' warm-up run compiles what the session
        // has not compiled yet.
        let (compile, repeat) = match path {
            EvalPath::CpuRef => (None, opts.ref_repeat.max(1)),
            _ => (Some(run()?.compile_seconds), opts.repeat),
        };
        let runs: Vec<Evaluation> = (0..repeat).map(|_| run()).collect::<Result<_>>()?;
        let first = &runs[0];
        let secs: Vec<f64> = runs.iter().map(|r| r.eval_seconds).collect();
        let device: Option<Vec<f64>> = runs.iter().map(|r| r.device_seconds).collect();
        let last = runs.last().expect("at least one run").partials.clone();
        if path == EvalPath::CpuRef {
            reference = Some(last.clone());
        }
        let max_rel_diff = reference
            .as_ref()
            .map(|r| Agreement::compare(&last, r, family.kernel_class().tolerance()).max_rel_diff);
        results.push(BenchResult {
            path,
            strategy: first.strategy,
            adapter: first.adapter.as_ref().map(|a| a.label()),
            kernel: first.shape,
            compile_seconds: compile.filter(|_| path == EvalPath::Gpu),
            seconds: Stats::of(&secs),
            evals_per_s: Stats::of(&secs.iter().map(|s| evals / s).collect::<Vec<_>>()),
            device_seconds: device.filter(|d| !d.is_empty()).map(|d| Stats::of(&d)),
            max_rel_diff,
            runs: secs.len(),
        });
    }
    Ok(BenchReport {
        n: xs.len(),
        grid_points: grid.len(),
        results,
    })
}

/// Peak resident memory of this process in bytes (Linux: VmHWM), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_give_median_min_max() {
        let s = Stats::of(&[3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(Stats::of(&[4.0, 1.0]).median, 2.5);
    }
}
