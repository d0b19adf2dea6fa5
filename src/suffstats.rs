//! The sufficient-statistics strategy (`--strategy suffstats`): one reduction over the samples
//! gives Tⱼ = Σᵢ tⱼ(fᵢ) (on the GPU by a WGSL reduction, on the CPU in f64), then every grid point
//! costs O(1) on the host in f64: Σᵢ k(fᵢ, θ) = Σⱼ ηⱼ(θ)·Tⱼ + n·κ(θ), assembled with the same
//! a(θ), Σb and centring terms as the direct paths (see [`crate::split`]).

use crate::error::{Error, Result};
use crate::family::suffstats::MAX_STATS;
use crate::family::{Family, SuffStatsSpec, MAX_FEATURES, MAX_KERNEL_CONSTS};
use crate::gpu::GpuContext;
use crate::grid::Grid;
use crate::numeric::Neumaier;
use crate::split::{KernelSums, Prepared};
use rayon::prelude::*;
use std::str::FromStr;

/// How the grid is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Sufficient statistics where the family and grid allow it, else direct.
    Auto,
    /// Every sample at every grid point.
    Direct,
    /// One pass for the statistics, then O(1) per grid point.
    SuffStats,
}

impl FromStr for Strategy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Strategy> {
        match s {
            "auto" => Ok(Strategy::Auto),
            "direct" => Ok(Strategy::Direct),
            "suffstats" => Ok(Strategy::SuffStats),
            _ => Err(Error::input(format!(
                "unknown strategy '{s}' (expected auto, direct or suffstats)"
            ))),
        }
    }
}

/// The family's sufficient statistics for this grid, or why they do not apply.
pub fn spec_for(family: &dyn Family, grid: &Grid) -> std::result::Result<SuffStatsSpec, String> {
    let spec = family
        .suffstats()
        .ok_or_else(|| format!("{} has no sufficient statistics", family.name()))?;
    let fixed = grid.fixed_values();
    for &j in spec.fixed_params {
        if fixed[j].is_none() {
            return Err(format!(
                "{}'s sufficient statistics need '{}' fixed on the grid (e.g. --grid {}=V)",
                family.name(),
                family.params()[j].name,
                family.params()[j].name
            ));
        }
    }
    Ok(spec)
}

/// Resolves `strategy` for a family and grid: `Auto` picks suffstats where valid; asking for
/// suffstats where it is invalid is an input error.
pub fn resolve(strategy: Strategy, family: &dyn Family, grid: &Grid) -> Result<Strategy> {
    match (strategy, spec_for(family, grid)) {
        (Strategy::Direct, _) => Ok(Strategy::Direct),
        (Strategy::Auto, Ok(_)) | (Strategy::SuffStats, Ok(_)) => Ok(Strategy::SuffStats),
        (Strategy::Auto, Err(_)) => Ok(Strategy::Direct),
        (Strategy::SuffStats, Err(why)) => {
            Err(Error::input(format!("--strategy suffstats: {why}")))
        }
    }
}

/// Kernel constants of grid point 0 (the fixed parameters' constants are the same everywhere).
fn fixed_consts(family: &dyn Family, grid: &Grid, shift: f64) -> [f64; MAX_KERNEL_CONSTS] {
    let mut c = [0.0; MAX_KERNEL_CONSTS];
    family.kernel_consts(&grid.theta(0), shift, &mut c);
    c
}

/// T on the CPU: Σ t(f) of the prepared (f32) features, in f64, in blocks combined in order.
pub fn stats_cpu(
    family: &dyn Family,
    spec: &SuffStatsSpec,
    grid: &Grid,
    prep: &Prepared,
) -> [f64; MAX_STATS] {
    let nf = family.n_features();
    let c = fixed_consts(family, grid, prep.shift);
    let ns = spec.form.n_stats(nf);
    let parts: Vec<[Neumaier; MAX_STATS]> = prep
        .features
        .par_chunks(nf << 16)
        .map(|chunk| {
            let mut acc = [Neumaier::default(); MAX_STATS];
            let mut f = [0.0; MAX_FEATURES];
            let mut t = [0.0; MAX_STATS];
            for x in chunk.chunks_exact(nf) {
                for j in 0..nf {
                    f[j] = x[j] as f64;
                }
                spec.form.stats(&f[..nf], &c, &mut t);
                for j in 0..ns {
                    acc[j].add(t[j]);
                }
            }
            acc
        })
        .collect();
    let mut total = [Neumaier::default(); MAX_STATS];
    for p in parts {
        for j in 0..ns {
            total[j].add(p[j].value());
        }
    }
    total.map(|t| t.value())
}

/// T on the GPU by the WGSL reduction.
pub fn stats_gpu(
    ctx: &GpuContext,
    family: &dyn Family,
    spec: &SuffStatsSpec,
    grid: &Grid,
    prep: &Prepared,
) -> Result<[f64; MAX_STATS]> {
    let c = fixed_consts(family, grid, prep.shift);
    let fixed = [c[0] as f32, c[1] as f32, c[2] as f32, c[3] as f32];
    crate::gpu::stats::reduce(
        ctx,
        spec.form,
        family.n_features(),
        &prep.features,
        prep.n_inside,
        fixed,
    )
}

/// Σᵢ k(fᵢ, θ) = Σⱼ ηⱼ Tⱼ + n·κ for every grid point, in f64 on the host (all cores), and the
/// samples outside θ-dependent supports.
pub fn kernel_sums(
    family: &dyn Family,
    spec: &SuffStatsSpec,
    grid: &Grid,
    prep: &Prepared,
    t: &[f64; MAX_STATS],
    xs: &[f64],
) -> KernelSums {
    let n = prep.n_inside as f64;
    let ns = spec.form.n_stats(family.n_features());
    let mut k = vec![0.0; grid.len()];
    k.par_iter_mut().enumerate().for_each_init(
        || vec![0.0; grid.n_params()],
        |theta, (p, out)| {
            grid.theta_into(p, theta);
            let mut c = [0.0; MAX_KERNEL_CONSTS];
            family.kernel_consts(theta, prep.shift, &mut c);
            let mut eta = [0.0; MAX_STATS];
            let kappa = (spec.natural)(&c, &mut eta);
            let mut s = n * kappa;
            for j in 0..ns {
                s += eta[j] * t[j];
            }
            *out = s;
        },
    );
    let outside = match spec.outside {
        Some(f) => f(grid, xs),
        None => vec![0; grid.len()],
    };
    KernelSums {
        k,
        outside,
        device_seconds: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::{lookup, REGISTRY};
    use crate::grid::AxisSpec;

    /// Σ k(f, c) over a few samples equals η·T + n·κ, for every family with statistics.
    #[test]
    fn natural_parameters_reproduce_the_kernel_sum_for_every_family() {
        use rand::SeedableRng;
        for fam in REGISTRY.iter().filter(|f| f.suffstats().is_some()) {
            let spec = fam.suffstats().unwrap();
            let theta = fam.example_theta();
            let mut rng = rand::rngs::StdRng::seed_from_u64(3);
            let mut xs = vec![0.0; 50];
            fam.sample_into(&theta, &mut rng, &mut xs).unwrap();
            let mut c = [0.0; MAX_KERNEL_CONSTS];
            fam.kernel_consts(&theta, 0.25, &mut c);
            let nf = fam.n_features();
            let ns = spec.form.n_stats(nf);
            let (mut direct, mut t) = (0.0, [0.0; MAX_STATS]);
            for &x in &xs {
                let mut f = [0.0; MAX_FEATURES];
                fam.features(x, 0.0, &mut f);
                for v in &mut f[..nf] {
                    *v -= 0.25;
                }
                direct += fam.kernel(&f[..nf], &c);
                let mut ti = [0.0; MAX_STATS];
                spec.form.stats(&f[..nf], &c, &mut ti);
                for j in 0..ns {
                    t[j] += ti[j];
                }
            }
            let mut eta = [0.0; MAX_STATS];
            let kappa = (spec.natural)(&c, &mut eta);
            let via: f64 = xs.len() as f64 * kappa + (0..ns).map(|j| eta[j] * t[j]).sum::<f64>();
            assert!(
                (via - direct).abs() <= 1e-9 * direct.abs().max(1.0),
                "{}: {via} vs {direct}",
                fam.name()
            );
        }
    }

    #[test]
    fn strategy_resolution_follows_validity() {
        let w = lookup("weibull").unwrap();
        let g = |specs: &[&str]| {
            Grid::new(
                w,
                specs.iter().map(|s| AxisSpec::parse(s).unwrap()).collect(),
            )
            .unwrap()
        };
        let fixed = g(&["shape=1.5", "scale=1:2:3"]);
        let free = g(&["shape=1:2:3", "scale=1:2:3"]);
        assert_eq!(
            resolve(Strategy::Auto, w, &fixed).unwrap(),
            Strategy::SuffStats
        );
        assert_eq!(resolve(Strategy::Auto, w, &free).unwrap(), Strategy::Direct);
        assert!(resolve(Strategy::SuffStats, w, &free)
            .unwrap_err()
            .is_input());
        let c = lookup("cauchy").unwrap();
        let gc = Grid::new(
            c,
            vec![
                AxisSpec::parse("mu=0").unwrap(),
                AxisSpec::parse("scale=1").unwrap(),
            ],
        )
        .unwrap();
        assert_eq!(resolve(Strategy::Auto, c, &gc).unwrap(), Strategy::Direct);
        assert!(resolve(Strategy::SuffStats, c, &gc).is_err());
    }
}
