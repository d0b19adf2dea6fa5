//! The sufficient-statistics strategy (`--strategy suffstats`): one reduction over the samples
//! gives Tⱼ = Σᵢ tⱼ(fᵢ) (on the GPU by a WGSL reduction, on the CPU in f64), then every grid point
//! costs O(1) on the host in f64: Σᵢ k(fᵢ, θ) = Σⱼ ηⱼ(θ)·Tⱼ + n·κ(θ), assembled with the same
//! a(θ), Σb and centring terms as the direct paths (see [`crate::engine::prepare`]). The
//! evaluator that runs it chunk by chunk is [`crate::engine::backend`]'s.

use crate::engine::config::{EvalPath, Strategy};
use crate::engine::evaluation::{ChunkEvaluator, Evaluation, Tally};
use crate::engine::partials::{KernelSums, Partials};
use crate::engine::prepare::{
    assemble_into, features_fit, point_sum, prepare_centred, scale_consts, Centre, Prepared,
    ThetaTerms,
};
use crate::engine::session::{PooledReducer, Session};
use crate::error::{Error, Result};
use crate::model::grid::Grid;
use crate::model::suffstats::MAX_STATS;
use crate::model::{Family, SuffStatsSpec, MAX_FEATURES};
use crate::numeric::Neumaier;
use rayon::prelude::*;

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

/// Kernel constants of grid point 0 (the fixed parameters' constants are the same everywhere),
/// scaled like the prepared features.
pub fn fixed_consts(family: &dyn Family, grid: &Grid, prep: &Prepared) -> Vec<f64> {
    let mut c = vec![0.0; family.n_kernel_consts()];
    family.kernel_consts(&grid.theta(0), prep.shift, &mut c);
    scale_consts(family, &prep.scale, &mut c);
    c
}

/// The first four fixed constants in f32, as the device reduction reads them.
pub fn fixed_for_device(c: &[f64]) -> [f32; 4] {
    let mut f = [0f32; 4];
    for (d, &v) in f.iter_mut().zip(c) {
        *d = v as f32;
    }
    f
}

/// acc += Σ t(f) over the samples of `chunk` (`f.len()` features each), in order.
#[inline(always)]
fn sum_stats(
    spec: &SuffStatsSpec,
    c: &[f64],
    chunk: &[f32],
    f: &mut [f64],
    t: &mut [f64],
    acc: &mut [Neumaier],
) {
    for x in chunk.chunks_exact(f.len()) {
        for (fj, &xj) in f.iter_mut().zip(x) {
            *fj = xj as f64;
        }
        spec.form.stats(f, c, t);
        for (a, &tj) in acc.iter_mut().zip(t.iter()) {
            a.add(tj);
        }
    }
}

/// T on the CPU: Σ t(f) of the prepared (f32) features, in f64, in blocks combined in order.
pub fn stats_cpu(
    family: &dyn Family,
    spec: &SuffStatsSpec,
    grid: &Grid,
    prep: &Prepared,
) -> Vec<f64> {
    let nf = family.n_features();
    let c = fixed_consts(family, grid, prep);
    let ns = spec.form.n_stats(nf);
    let parts: Vec<Vec<Neumaier>> = prep
        .features
        .par_chunks(nf << 16)
        .map(|chunk| {
            if nf <= MAX_FEATURES && ns <= MAX_STATS {
                // The built-in families: buffers on the stack, which the compiler keeps in
                // registers (heap buffers would be stored and reloaded for every sample).
                let mut acc = [Neumaier::default(); MAX_STATS];
                let (mut f, mut t) = ([0.0; MAX_FEATURES], [0.0; MAX_STATS]);
                sum_stats(spec, &c, chunk, &mut f[..nf], &mut t, &mut acc[..ns]);
                acc[..ns].to_vec()
            } else {
                let mut acc = vec![Neumaier::default(); ns];
                let (mut f, mut t) = (vec![0.0; nf], vec![0.0; ns]);
                sum_stats(spec, &c, chunk, &mut f, &mut t, &mut acc);
                acc
            }
        })
        .collect();
    let mut total = vec![Neumaier::default(); ns];
    for p in parts {
        for j in 0..ns {
            total[j].add(p[j].value());
        }
    }
    total.iter().map(|t| t.value()).collect()
}

/// Σᵢ k(fᵢ, θ) = Σⱼ ηⱼ Tⱼ + n·κ for every grid point, in f64 on the host (all cores), and the
/// samples outside θ-dependent supports.
pub fn kernel_sums(
    family: &dyn Family,
    spec: &SuffStatsSpec,
    grid: &Grid,
    prep: &Prepared,
    t: &[f64],
    xs: &[f64],
) -> KernelSums {
    let mut out = KernelSums::default();
    kernel_sums_into(
        family,
        spec,
        grid,
        prep,
        t,
        xs,
        &mut NaturalCache::default(),
        &mut out,
    );
    out
}

/// The natural parameters (η, κ) of every grid point at one centring and scaling, kept by the
/// evaluator from its first chunk for the others (they depend on θ and the centring only).
#[derive(Debug, Default)]
pub struct NaturalCache {
    /// Bits of the shift and the scale exponents the values were computed for.
    key: Option<(u64, Vec<i32>)>,
    /// Per point, `n_stats` values of η then κ.
    values: Vec<f64>,
}

impl NaturalCache {
    /// Per point, η (`n_stats` values) then κ, for `grid` at the centring and scaling of `prep`:
    /// computed unless held already.
    pub fn ensure(
        &mut self,
        family: &dyn Family,
        spec: &SuffStatsSpec,
        grid: &Grid,
        prep: &Prepared,
    ) -> &[f64] {
        let ns = spec.form.n_stats(family.n_features());
        let nc = family.n_kernel_consts();
        let key = (prep.shift.to_bits(), prep.scale.clone());
        if self.key.as_ref() != Some(&key) || self.values.len() != grid.len() * (ns + 1) {
            let mut values = vec![0.0; grid.len() * (ns + 1)];
            values.par_chunks_mut(ns + 1).enumerate().for_each_init(
                || (vec![0.0; grid.n_params()], vec![0.0; nc]),
                |(theta, c), (p, out)| {
                    grid.theta_into(p, theta);
                    family.kernel_consts(theta, prep.shift, c);
                    scale_consts(family, &prep.scale, c);
                    out[ns] = (spec.natural)(c, &mut out[..ns]);
                },
            );
            *self = NaturalCache {
                key: Some(key),
                values,
            };
        }
        &self.values
    }
}

/// Σᵢ k(fᵢ, θ) = n·κ + Σⱼ ηⱼ Tⱼ of one point from its natural parameters `v` (η then κ), in this
/// order of operations.
#[inline]
fn natural_sum(v: &[f64], t: &[f64], n: f64) -> f64 {
    let ns = v.len() - 1;
    let mut s = n * v[ns];
    for j in 0..ns {
        s += v[j] * t[j];
    }
    s
}

/// [`kernel_sums`] with η and κ held in `natural` from an earlier chunk (bitwise the same sums),
/// into `out`, whose buffers are reused (resized to the grid; every value
/// is written), so that an evaluator of many chunks allocates them once.
#[allow(clippy::too_many_arguments)]
pub fn kernel_sums_into(
    family: &dyn Family,
    spec: &SuffStatsSpec,
    grid: &Grid,
    prep: &Prepared,
    t: &[f64],
    xs: &[f64],
    natural: &mut NaturalCache,
    out: &mut KernelSums,
) {
    let n = prep.n_inside as f64;
    let ns = spec.form.n_stats(family.n_features());
    let values = natural.ensure(family, spec, grid, prep);
    out.k.resize(grid.len(), 0.0);
    out.k
        .par_iter_mut()
        .zip(values.par_chunks(ns + 1))
        .for_each(|(out, v)| *out = natural_sum(v, t, n));
    match spec.outside {
        Some(f) => out.outside = f(grid, xs),
        None => {
            out.outside.clear();
            out.outside.resize(grid.len(), 0);
        }
    }
    out.device_seconds = None;
}

/// The sufficient-statistics strategy as a [`ChunkEvaluator`]: per chunk, T = Σ t(f) on the
/// device (the reduction) or on the CPU in f64, then Σ k = η·T + n·κ per grid point on the host.
pub struct SuffStats {
    family: &'static dyn Family,
    grid: Grid,
    spec: SuffStatsSpec,
    centre: Option<Centre>,
    reducer: Option<PooledReducer>,
    tally: Tally,
    /// η, κ and the θ-only terms, from the first chunk for the others.
    natural: NaturalCache,
    terms: ThetaTerms,
    /// The per-point buffers of a chunk (kernel sums, partials), reused by the next one.
    sums: KernelSums,
    part: Partials,
}

impl SuffStats {
    /// The strategy on `path`: the reduction on `session`'s GPU for [`EvalPath::Gpu`], else on
    /// the CPU.
    pub fn new(
        session: &Session,
        path: EvalPath,
        family: &'static dyn Family,
        grid: &Grid,
    ) -> Result<SuffStats> {
        let spec = spec_for(family, grid).map_err(Error::Input)?;
        let mut tally = Tally::new(path, Strategy::SuffStats, grid.len());
        let reducer = match path {
            EvalPath::Gpu => {
                let ctx = session.gpu()?;
                tally.adapter = Some(ctx.summary.clone());
                let (kernel, compile) = session.reduce_pipeline(spec.form, family.n_features())?;
                tally.compile_seconds = compile;
                Some(session.reduce_buffers(&kernel)?)
            }
            _ => None,
        };
        Ok(SuffStats {
            family,
            grid: grid.clone(),
            spec,
            centre: None,
            reducer,
            tally,
            natural: NaturalCache::default(),
            terms: ThetaTerms::default(),
            sums: KernelSums::default(),
            part: Partials::zeros(0),
        })
    }
}

impl ChunkEvaluator for SuffStats {
    fn start(&mut self, centre: &Centre) -> Result<()> {
        self.tally.conditioning.rescaled_by = centre.rescaled_by();
        self.centre = Some(centre.clone());
        Ok(())
    }

    fn chunk(&mut self, xs: &[f64]) -> Result<()> {
        let t0 = std::time::Instant::now();
        let (family, grid, spec) = (self.family, &self.grid, &self.spec);
        let centre = self.centre.as_ref().expect("start before chunk");
        let prep = prepare_centred(family, xs, centre);
        let t = match &mut self.reducer {
            Some(r) => {
                let c = fixed_consts(family, grid, &prep);
                r.get()
                    .reduce(&prep.features, prep.n_inside, fixed_for_device(&c))?
            }
            None => stats_cpu(family, spec, grid, &prep),
        };
        let host = family.host_coupled_sums_at(grid, xs, prep.shift);
        if features_fit(&prep) {
            // S(θ) per point straight into the exact accumulation, in one pass (the arithmetic
            // of `kernel_sums_into` then `assemble_into`, bit for bit, without their per-point
            // buffers).
            let ns = spec.form.n_stats(family.n_features());
            let outside = spec.outside.map(|f| f(grid, xs));
            let natural = self.natural.ensure(family, spec, grid, &prep);
            let terms = self.terms.ensure(family, grid, &prep);
            let n_in = prep.n_inside as f64;
            let value = |p: usize| {
                point_sum(
                    &prep,
                    n_in,
                    terms[p],
                    natural_sum(&natural[p * (ns + 1)..(p + 1) * (ns + 1)], &t, n_in),
                    host.as_ref().map_or(0.0, |h| h[p]),
                    outside.as_ref().map_or(0, |o| o[p]),
                )
            };
            self.tally.add_checked_with(family, grid, &prep, xs, value);
        } else {
            // Features beyond f32: every point takes the general checks.
            let (sums, part) = (&mut self.sums, &mut self.part);
            kernel_sums_into(family, spec, grid, &prep, &t, xs, &mut self.natural, sums);
            assemble_into(
                family,
                grid,
                &prep,
                sums,
                host.as_deref(),
                &mut self.terms,
                part,
            );
            self.tally
                .add_checked(family, grid, centre, &prep, xs, part, false);
        }
        self.tally.eval_seconds += t0.elapsed().as_secs_f64();
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Evaluation> {
        Ok(self.tally.evaluation())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::grid::AxisSpec;
    use crate::model::{lookup, MAX_FEATURES, MAX_KERNEL_CONSTS, REGISTRY};
    const MAX_STATS: usize = 8;

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
