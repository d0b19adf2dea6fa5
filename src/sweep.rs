//! Running a sweep: choosing the backend, evaluating every grid point, comparing paths.

use crate::cpu_ref;
use crate::error::{Error, Result};
use crate::family::Family;
use crate::gpu::{AdapterSummary, GpuContext, GpuEvaluator, KernelShape};
use crate::grid::Grid;
use crate::partial::Partials;
use crate::split;
use crate::suffstats::Strategy;
use std::str::FromStr;
use std::time::Instant;

/// An evaluation path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// WGSL kernels through wgpu.
    Gpu,
    /// The fast CPU path: the same split, vectorised, all cores.
    Cpu,
    /// The f64 reference.
    CpuRef,
}

impl Path {
    /// The CLI name: `gpu`, `cpu` or `cpu-ref`.
    pub fn name(self) -> &'static str {
        match self {
            Path::Gpu => "gpu",
            Path::Cpu => "cpu",
            Path::CpuRef => "cpu-ref",
        }
    }
}

impl FromStr for Path {
    type Err = Error;
    fn from_str(s: &str) -> Result<Path> {
        match s {
            "gpu" => Ok(Path::Gpu),
            "cpu" => Ok(Path::Cpu),
            "cpu-ref" => Ok(Path::CpuRef),
            _ => Err(Error::input(format!(
                "unknown path '{s}' (expected gpu, cpu or cpu-ref)"
            ))),
        }
    }
}

/// Which path evaluates the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A hardware adapter, else a software adapter, else the fast CPU path; says on stderr which.
    Auto,
    /// One path; `gpu` fails when no adapter exists.
    One(Path),
    /// Two paths on the same data, compared: the first is reported and tested against the
    /// second (default `gpu` against `cpu-ref`).
    Both(Path, Path),
}

impl FromStr for Backend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Backend> {
        match s {
            "auto" => Ok(Backend::Auto),
            "both" => Ok(Backend::Both(Path::Gpu, Path::CpuRef)),
            _ => s.parse().map(Backend::One).map_err(|_| {
                Error::input(format!(
                    "unknown backend '{s}' (expected auto, gpu, cpu, cpu-ref or both)"
                ))
            }),
        }
    }
}

/// Parses `--compare A,B` into the pair for `--backend both`.
pub fn parse_compare(s: &str) -> Result<(Path, Path)> {
    let (a, b) = s.split_once(',').ok_or_else(|| {
        Error::input(format!(
            "--compare '{s}': expected two paths, e.g. cpu,cpu-ref"
        ))
    })?;
    let (a, b): (Path, Path) = (a.trim().parse()?, b.trim().parse()?);
    if a == b {
        return Err(Error::input(format!(
            "--compare '{s}': the two paths must differ"
        )));
    }
    Ok((a, b))
}

/// One path's evaluation of the whole grid.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// `gpu`, `cpu` or `cpu-ref`.
    pub backend: &'static str,
    /// `direct` or `suffstats`.
    pub strategy: &'static str,
    pub adapter: Option<AdapterSummary>,
    pub shape: Option<KernelShape>,
    pub partials: Partials,
    /// Kernel compilation (GPU), seconds.
    pub compile_seconds: f64,
    /// Device time of the kernels (gpu, where the adapter has timestamp queries).
    pub device_seconds: Option<f64>,
    /// Evaluation, seconds: sample preparation, kernel and host assembly (gpu, cpu) or the
    /// whole reference sum (cpu-ref).
    pub eval_seconds: f64,
}

/// How closely two paths agree on the mean log-likelihood.
#[derive(Debug, Clone)]
pub struct Agreement {
    /// Largest |a − b| of the mean log-likelihood over points finite on both paths.
    pub max_abs_diff: f64,
    /// Largest |a − b| / max(|b|, 1), b the reference.
    pub max_rel_diff: f64,
    /// Whether both paths pick the same best grid point.
    pub argmax_agrees: bool,
    /// Points that are −∞ on one path and finite on the other.
    pub support_mismatches: u64,
    /// The family's documented tolerance on `max_rel_diff`.
    pub tolerance: f64,
    /// Within tolerance: `max_rel_diff ≤ tolerance`, no support mismatch, and either the argmax
    /// agrees or the two best points differ by no more than the tolerance on the reference.
    pub within_tolerance: bool,
}

impl Agreement {
    /// Compares `test` against `reference` with the family's tolerance.
    pub fn compare(test: &Partials, reference: &Partials, tolerance: f64) -> Agreement {
        let mut max_abs: f64 = 0.0;
        let mut max_rel: f64 = 0.0;
        let mut mismatches = 0;
        for i in 0..reference.len() {
            let (a, b) = (test.mean_loglik(i), reference.mean_loglik(i));
            match (a.is_finite(), b.is_finite()) {
                (true, true) => {
                    let d = (a - b).abs();
                    max_abs = max_abs.max(d);
                    max_rel = max_rel.max(d / b.abs().max(1.0));
                }
                (false, false) if a == b => {}
                _ => mismatches += 1,
            }
        }
        let (ia, ib) = (test.argmax(), reference.argmax());
        let argmax_agrees = ia == ib;
        let argmax_ok = argmax_agrees
            || match (ia, ib) {
                (Some(ia), Some(ib)) => {
                    let (va, vb) = (reference.mean_loglik(ia), reference.mean_loglik(ib));
                    (vb - va).abs() <= tolerance * vb.abs().max(1.0)
                }
                _ => false,
            };
        Agreement {
            max_abs_diff: max_abs,
            max_rel_diff: max_rel,
            argmax_agrees,
            support_mismatches: mismatches,
            tolerance,
            within_tolerance: max_rel <= tolerance && mismatches == 0 && argmax_ok,
        }
    }
}

/// Evaluates the grid on the GPU path of an open device.
pub fn evaluate_gpu(
    ctx: &GpuContext,
    family: &'static dyn Family,
    grid: &Grid,
    xs: &[f64],
) -> Result<Evaluation> {
    let evaluator = GpuEvaluator::new(ctx, family, grid.len(), None)?;
    evaluate_with(&evaluator, ctx, family, grid, xs)
}

/// Evaluates the grid with an already compiled evaluator.
pub fn evaluate_with(
    evaluator: &GpuEvaluator<'_>,
    ctx: &GpuContext,
    family: &'static dyn Family,
    grid: &Grid,
    xs: &[f64],
) -> Result<Evaluation> {
    let t0 = Instant::now();
    let prep = split::prepare(family, xs);
    let consts = split::kernel_consts(family, grid, prep.shift);
    let sums = evaluator.kernel_sums(&prep.features, prep.n_inside, &consts)?;
    let host = family.host_coupled_sums(grid, xs);
    let partials = split::assemble(family, grid, &prep, &sums, host.as_deref());
    Ok(Evaluation {
        backend: "gpu",
        strategy: "direct",
        adapter: Some(ctx.summary.clone()),
        shape: Some(evaluator.shape()),
        partials,
        compile_seconds: evaluator.compile_seconds,
        device_seconds: sums.device_seconds,
        eval_seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Evaluates the grid on the fast CPU path.
pub fn evaluate_cpu(family: &'static dyn Family, grid: &Grid, xs: &[f64]) -> Evaluation {
    let t0 = Instant::now();
    let prep = split::prepare(family, xs);
    let consts = split::kernel_consts(family, grid, prep.shift);
    let sums = crate::cpu_fast::kernel_sums(family, &prep, &consts);
    let host = family.host_coupled_sums(grid, xs);
    let partials = split::assemble(family, grid, &prep, &sums, host.as_deref());
    Evaluation {
        backend: "cpu",
        strategy: "direct",
        adapter: None,
        shape: None,
        partials,
        compile_seconds: 0.0,
        device_seconds: None,
        eval_seconds: t0.elapsed().as_secs_f64(),
    }
}

/// Evaluates the grid by sufficient statistics: the statistics on `ctx`'s GPU when given, else on
/// the CPU in f64; then O(1) per grid point on the host.
pub fn evaluate_suffstats(
    ctx: Option<&GpuContext>,
    family: &'static dyn Family,
    grid: &Grid,
    xs: &[f64],
) -> Result<Evaluation> {
    let spec = crate::suffstats::spec_for(family, grid).map_err(Error::Input)?;
    let t0 = Instant::now();
    let prep = split::prepare(family, xs);
    let t = match ctx {
        Some(ctx) => crate::suffstats::stats_gpu(ctx, family, &spec, grid, &prep)?,
        None => crate::suffstats::stats_cpu(family, &spec, grid, &prep),
    };
    let sums = crate::suffstats::kernel_sums(family, &spec, grid, &prep, &t, xs);
    let host = family.host_coupled_sums(grid, xs);
    let partials = split::assemble(family, grid, &prep, &sums, host.as_deref());
    Ok(Evaluation {
        backend: if ctx.is_some() { "gpu" } else { "cpu" },
        strategy: "suffstats",
        adapter: ctx.map(|c| c.summary.clone()),
        shape: None,
        partials,
        compile_seconds: 0.0,
        device_seconds: None,
        eval_seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Evaluates the grid on the f64 reference path.
pub fn evaluate_cpu_ref(family: &dyn Family, grid: &Grid, xs: &[f64]) -> Evaluation {
    let t0 = Instant::now();
    let partials = cpu_ref::evaluate(family, grid, xs);
    Evaluation {
        backend: "cpu-ref",
        strategy: "direct",
        adapter: None,
        shape: None,
        partials,
        compile_seconds: 0.0,
        device_seconds: None,
        eval_seconds: t0.elapsed().as_secs_f64(),
    }
}

/// A sweep to run.
pub struct SweepJob<'a> {
    pub family: &'static dyn Family,
    pub grid: Grid,
    pub data: &'a [f64],
    pub backend: Backend,
    /// Substring of the adapter name to use (`--adapter`).
    pub adapter: Option<String>,
    /// GPU kernel shape overriding the automatic choice (`--kernel-shape`).
    pub shape: Option<KernelShape>,
    /// Direct or sufficient statistics, for the gpu and cpu paths (`--strategy`); cpu-ref is
    /// always direct.
    pub strategy: Strategy,
}

/// What a sweep produced.
pub struct SweepOutcome {
    /// The evaluation reported (the GPU one with `both`).
    pub primary: Evaluation,
    /// With `both`: the cpu-ref evaluation.
    pub reference: Option<Evaluation>,
    pub agreement: Option<Agreement>,
    /// Index of the best grid point (largest likelihood); `None` if every point is −∞.
    pub best: Option<usize>,
    /// Closed-form MLE, where the family has one.
    pub mle: Option<Vec<f64>>,
}

/// Evaluates on `path`, opening the GPU on first use.
fn evaluate_path(
    path: Path,
    strategy: Strategy,
    gpu: &mut Option<GpuContext>,
    job: &SweepJob<'_>,
) -> Result<Evaluation> {
    let (family, grid, xs) = (job.family, &job.grid, job.data);
    let suff = crate::suffstats::resolve(strategy, family, grid)? == Strategy::SuffStats;
    if path == Path::CpuRef && strategy == Strategy::SuffStats {
        return Err(Error::input(
            "--strategy suffstats applies to the gpu and cpu paths; cpu-ref is always direct",
        ));
    }
    if gpu.is_none() && path == Path::Gpu {
        *gpu = Some(GpuContext::open(job.adapter.as_deref())?);
    }
    match path {
        Path::CpuRef => Ok(evaluate_cpu_ref(family, grid, xs)),
        Path::Cpu if suff => evaluate_suffstats(None, family, grid, xs),
        Path::Cpu => Ok(evaluate_cpu(family, grid, xs)),
        Path::Gpu if suff => evaluate_suffstats(gpu.as_ref(), family, grid, xs),
        Path::Gpu => {
            let ctx = gpu.as_ref().expect("opened above");
            let evaluator = GpuEvaluator::new(ctx, family, grid.len(), job.shape)?;
            evaluate_with(&evaluator, ctx, family, grid, xs)
        }
    }
}

/// Runs a sweep. `note` receives one-line messages for stderr (the path `auto` chose).
pub fn run(job: &SweepJob<'_>, note: &mut dyn FnMut(&str)) -> Result<SweepOutcome> {
    let family = job.family;
    if job.data.is_empty() {
        return Err(Error::input("the data set is empty"));
    }
    let mut gpu = None;
    // The strategy applies to the reported path; a reference path is always direct, so that
    // `both` checks the strategy against the plain evaluation.
    let s = job.strategy;
    let (primary, reference) = match job.backend {
        Backend::One(p) => (evaluate_path(p, s, &mut gpu, job)?, None),
        Backend::Both(a, b) => {
            let ea = evaluate_path(a, s, &mut gpu, job)?;
            (ea, Some(evaluate_path(b, Strategy::Direct, &mut gpu, job)?))
        }
        Backend::Auto => match GpuContext::open(job.adapter.as_deref()) {
            Ok(ctx) => {
                note(&format!(
                    "backend auto: using gpu on {}",
                    ctx.summary.label()
                ));
                gpu = Some(ctx);
                (evaluate_path(Path::Gpu, s, &mut gpu, job)?, None)
            }
            Err(e) => {
                note(&format!("backend auto: {e}; using cpu"));
                (evaluate_path(Path::Cpu, s, &mut gpu, job)?, None)
            }
        },
    };
    let agreement = reference.as_ref().map(|r| {
        Agreement::compare(
            &primary.partials,
            &r.partials,
            family.kernel_class().tolerance(),
        )
    });
    let best = primary.partials.argmax();
    let mle = family.mle(job.data, &job.grid.fixed_values());
    Ok(SweepOutcome {
        primary,
        reference,
        agreement,
        best,
        mle,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_flags_relative_difference_support_mismatch_and_argmax() {
        let r = Partials {
            sum: vec![-10.0, -8.0, -9.0],
            outside: vec![0, 0, 0],
            n: 4,
        };
        let same = Agreement::compare(&r, &r, 1e-6);
        assert!(same.within_tolerance && same.argmax_agrees && same.max_abs_diff == 0.0);

        let mut off = r.clone();
        off.sum[0] += 4e-5; // mean differs by 1e-5
        let a = Agreement::compare(&off, &r, 1e-6);
        assert!(!a.within_tolerance && a.argmax_agrees);
        assert!((a.max_abs_diff - 1e-5).abs() < 1e-12);

        let mut inf = r.clone();
        inf.outside[2] = 1;
        assert_eq!(Agreement::compare(&inf, &r, 1e-6).support_mismatches, 1);

        let mut swapped = r.clone();
        swapped.sum[2] = -7.0;
        let s = Agreement::compare(&swapped, &r, 1e-6);
        assert!(!s.argmax_agrees && !s.within_tolerance);
    }

    #[test]
    fn near_tie_with_different_argmax_is_within_tolerance() {
        let r = Partials {
            sum: vec![-8.0, -8.0 - 1e-7],
            outside: vec![0, 0],
            n: 1,
        };
        let t = Partials {
            sum: vec![-8.0 - 2e-7, -8.0 - 1e-7],
            outside: vec![0, 0],
            n: 1,
        };
        let a = Agreement::compare(&t, &r, 1e-6);
        assert!(!a.argmax_agrees && a.within_tolerance);
    }
}
