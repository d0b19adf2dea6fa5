//! The sufficient-statistics strategy (`--strategy suffstats`): one reduction over the samples
//! gives Tⱼ = Σᵢ tⱼ(fᵢ) (on the GPU by a WGSL reduction, on the CPU in f64), then every grid point
//! costs O(1) on the host in f64: Σᵢ k(fᵢ, θ) = Σⱼ ηⱼ(θ)·Tⱼ + n·κ(θ), assembled with the same
//! a(θ), Σb and centring terms as the direct paths (see [`crate::engine::prepare`]). The
//! evaluator that runs it chunk by chunk is [`crate::engine::backend`]'s.

use crate::engine::config::{EvalPath, Strategy};
use crate::engine::evaluation::{ChunkEvaluator, Evaluation, Tally};
use crate::engine::partials::{KernelSums, Partials};
use crate::engine::prepare::{
    assemble_into, features_fit, point_sum, prepare_centred, scale_consts, theta_terms_at, Centre,
    Prepared, ThetaTerms,
};
use crate::engine::session::{PooledReducer, Session};
use crate::error::{Error, Result};
use crate::model::grid::Grid;
use crate::model::suffstats::MAX_STATS;
use crate::model::{Family, Shift, SuffStatsSpec, MAX_FEATURES, MAX_KERNEL_CONSTS};
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
                    natural_at(family, spec, prep, theta, c, out);
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

/// η then κ of one grid point, θ = `theta`, at the centring and scaling of `prep`, into `out`
/// (`n_stats + 1` values; `c` is scratch for the kernel constants): the values
/// [`NaturalCache`] holds.
#[inline]
fn natural_at(
    family: &dyn Family,
    spec: &SuffStatsSpec,
    prep: &Prepared,
    theta: &[f64],
    c: &mut [f64],
    out: &mut [f64],
) {
    family.kernel_consts(theta, prep.shift, c);
    scale_consts(family, &prep.scale, c);
    let ns = out.len() - 1;
    out[ns] = (spec.natural)(c, &mut out[..ns]);
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

/// Chunks at most whose per-point values wait for one pass ([`PartialSums::add_batch`]).
///
/// [`PartialSums::add_batch`]: crate::engine::partials::PartialSums::add_batch
const BATCH_CHUNKS: usize = 64;

/// Largest |S(θ)| bound of a batched chunk, 2¹⁰⁰⁰: below it every step of S's f64 arithmetic
/// stays finite (a handful of roundings cannot reach f64::MAX ≈ 2¹⁰²⁴).
const BATCH_BOUND: f64 = 1.0715086071862673e301;

/// Over the valid points of a grid at one centring: max |a(θ)|, |k(s, θ)|, |κ(θ)| and |ηⱼ(θ)|.
#[derive(Debug, Clone, Copy, Default)]
struct ThetaBounds {
    a: f64,
    k_shift: f64,
    kappa: f64,
    eta: [f64; MAX_STATS],
}

impl ThetaBounds {
    fn max(self, o: ThetaBounds) -> ThetaBounds {
        let mut eta = self.eta;
        for (e, &x) in eta.iter_mut().zip(&o.eta) {
            *e = e.max(x);
        }
        ThetaBounds {
            a: self.a.max(o.a),
            k_shift: self.k_shift.max(o.k_shift),
            kappa: self.kappa.max(o.kappa),
            eta,
        }
    }

    /// Whether every valid point's S(θ) on a chunk of statistics `t` is finite:
    /// |S| ≤ n·(max|a| + max|κ| + max|k(s, θ)|) + |Σb| + Σⱼ max|ηⱼ|·|Tⱼ| stays below
    /// [`BATCH_BOUND`]. Such a chunk has no point to re-evaluate in f64.
    fn admit(&self, prep: &Prepared, t: &[f64]) -> bool {
        let n = prep.n_inside as f64;
        let mut b = n * (self.a + self.kappa + self.k_shift) + prep.data_sum.abs();
        for (e, tj) in self.eta.iter().zip(t) {
            b += e * tj.abs();
        }
        b.is_finite() && b < BATCH_BOUND
    }
}

/// What decides the θ-terms and natural parameters of a chunk: the bits of the shift, the scale
/// exponents and the linear shifts.
type CentringKey = (u64, Vec<i32>, Vec<u64>);

fn centring_key(prep: &Prepared) -> CentringKey {
    (
        prep.shift.to_bits(),
        prep.scale.clone(),
        prep.linear_shift.iter().map(|v| v.to_bits()).collect(),
    )
}

/// The sizes of a batched grid's per-point work, each within its stack buffer.
#[derive(Debug, Clone, Copy)]
struct BatchDims {
    /// Statistics and kernel constants.
    ns: usize,
    nc: usize,
    /// Whether the family's shift is linear (k(s, θ) is a θ-term).
    linear: bool,
}

impl BatchDims {
    /// The sizes for `family`, or `None` when one exceeds what the batch holds on the stack
    /// (such a family is evaluated chunk by chunk).
    fn of(family: &dyn Family, spec: &SuffStatsSpec) -> Option<BatchDims> {
        let d = BatchDims {
            ns: spec.form.n_stats(family.n_features()),
            nc: family.n_kernel_consts(),
            linear: family.shift() == Shift::Linear,
        };
        (d.ns <= MAX_STATS && d.nc <= MAX_KERNEL_CONSTS).then_some(d)
    }

    /// The θ-terms ([`theta_terms_at`]) of the point θ and, for a valid θ, its η then κ in
    /// `v[..=ns]` ([`natural_at`]), at the centring of `prep` — what the caches of the
    /// chunk-by-chunk path hold for it.
    #[inline]
    fn point(
        &self,
        family: &dyn Family,
        spec: &SuffStatsSpec,
        prep: &Prepared,
        theta: &[f64],
        v: &mut [f64; MAX_STATS + 1],
    ) -> Option<(f64, f64)> {
        let mut c = [0.0; MAX_KERNEL_CONSTS];
        let terms = theta_terms_at(family, self.linear, prep, theta, &mut c[..self.nc]);
        if terms.is_some() {
            natural_at(
                family,
                spec,
                prep,
                theta,
                &mut c[..self.nc],
                &mut v[..=self.ns],
            );
        }
        terms
    }
}

/// One pass over the grid: the [`ThetaBounds`] at the centring of `prep`, or `None` when the
/// grid cannot be batched there — a valid point with a non-finite a, k(s, θ), κ or η (whose S
/// may need the f64 re-evaluation over the chunk's samples).
fn theta_bounds(
    family: &dyn Family,
    spec: &SuffStatsSpec,
    grid: &Grid,
    prep: &Prepared,
    dims: BatchDims,
) -> Option<ThetaBounds> {
    let ns = dims.ns;
    // Blocks of consecutive points, each visited in order by one cursor.
    const POINTS: usize = 1 << 14;
    (0..grid.len().div_ceil(POINTS))
        .into_par_iter()
        .map(|b| {
            let mut cursor = grid.cursor();
            let mut acc = ThetaBounds::default();
            for p in b * POINTS..((b + 1) * POINTS).min(grid.len()) {
                let mut v = [0.0; MAX_STATS + 1];
                let Some((a, k_shift)) = dims.point(family, spec, prep, cursor.theta(p), &mut v)
                else {
                    continue;
                };
                if !(a.is_finite() && k_shift.is_finite() && v[..=ns].iter().all(|x| x.is_finite()))
                {
                    return None;
                }
                acc.a = acc.a.max(a.abs());
                acc.k_shift = acc.k_shift.max(k_shift.abs());
                acc.kappa = acc.kappa.max(v[ns].abs());
                for (e, x) in acc.eta.iter_mut().zip(&v[..ns]) {
                    *e = e.max(x.abs());
                }
            }
            Some(acc)
        })
        .try_reduce(ThetaBounds::default, |x, y| Some(x.max(y)))
}

/// A chunk whose per-point values wait for the batch's pass: its preparation (the features
/// dropped) and statistics.
struct Pending {
    prep: Prepared,
    t: Vec<f64>,
}

/// The sufficient-statistics strategy as a [`ChunkEvaluator`]: per chunk, T = Σ t(f) on the
/// device (the reduction) or on the CPU in f64, then Σ k = η·T + n·κ per grid point on the host.
///
/// The per-point values of consecutive chunks are added in one pass over the grid (up to
/// [`BATCH_CHUNKS`] chunks, [`PartialSums::add_batch`]): each point's θ-terms and natural
/// parameters are computed once per batch, on the stack, and its exact sum read and written
/// once, instead of per-point buffers and a pass per chunk. The values and their order are those
/// of the chunk-by-chunk accumulation, so the sums are bitwise the same. A chunk is batched when
/// no point of it can need the f64 re-evaluation over its samples ([`ThetaBounds::admit`]), its
/// features fit f32, and the family has neither host-coupled sums nor a θ-dependent support;
/// any other chunk is evaluated on its own, after the batch before it.
///
/// [`PartialSums::add_batch`]: crate::engine::partials::PartialSums::add_batch
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
    /// Chunks waiting for the batch's pass, all at the centring of `bounds`.
    pending: Vec<Pending>,
    /// The centring the bounds are for, and the bounds (`None`: no batching there).
    bounds: Option<(CentringKey, Option<ThetaBounds>)>,
    /// The batch's sizes; `None` when this grid is never batched (sizes beyond the stack
    /// buffers, or the chunk-by-chunk accumulation kept for tests).
    dims: Option<BatchDims>,
    /// Chunks that joined a batch so far.
    batched: usize,
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
        let dims = BatchDims::of(family, &spec);
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
            pending: Vec::new(),
            bounds: None,
            dims,
            batched: 0,
        })
    }

    /// The evaluator that adds every chunk on its own (the accumulation batching must equal).
    #[cfg(test)]
    fn unbatched(mut self) -> SuffStats {
        self.dims = None;
        self
    }

    /// Whether the chunk of `prep` and statistics `t` may join the batch (see [`SuffStats`]);
    /// a chunk at another centring first ends the batch before it.
    fn admit(&mut self, prep: &Prepared, t: &[f64], host: bool) -> bool {
        let Some(dims) = self.dims else {
            return false;
        };
        if host || self.spec.outside.is_some() || !features_fit(prep) {
            return false;
        }
        let key = centring_key(prep);
        if self.bounds.as_ref().is_none_or(|(k, _)| *k != key) {
            self.flush();
            let b = theta_bounds(self.family, &self.spec, &self.grid, prep, dims);
            self.bounds = Some((key, b));
        }
        self.bounds
            .as_ref()
            .and_then(|(_, b)| b.as_ref())
            .is_some_and(|b| b.admit(prep, t))
    }

    /// Adds the waiting chunks' per-point values in one pass: per point, its θ-terms and natural
    /// parameters once, then S(θ) of each chunk in order — the arithmetic of the chunk-by-chunk
    /// path (`kernel_sums_into`, `assemble_into`), bit for bit.
    fn flush(&mut self) {
        // Chunks wait only where `dims` is set (see `admit`).
        let Some(dims) = self.dims.filter(|_| !self.pending.is_empty()) else {
            return;
        };
        let pending = std::mem::take(&mut self.pending);
        let (family, grid, spec) = (self.family, &self.grid, &self.spec);
        let ns = dims.ns;
        let at = &pending[0].prep;
        let n: u64 = pending.iter().map(|c| c.prep.n as u64).sum();
        self.tally.sums.add_batch(
            n,
            || grid.cursor(),
            |cursor, p, emit| {
                let mut v = [0.0; MAX_STATS + 1];
                let terms = dims.point(family, spec, at, cursor.theta(p), &mut v);
                for ch in &pending {
                    let n_in = ch.prep.n_inside as f64;
                    let k = natural_sum(&v[..=ns], &ch.t, n_in);
                    let (s, o) = point_sum(&ch.prep, n_in, terms, k, 0.0, 0);
                    emit(s, o);
                }
            },
        );
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
        let prep = prepare_centred(
            family,
            xs,
            self.centre.as_ref().expect("start before chunk"),
        );
        let t = match &mut self.reducer {
            Some(r) => {
                let c = fixed_consts(family, grid, &prep);
                r.get()
                    .reduce(&prep.features, prep.n_inside, fixed_for_device(&c))?
            }
            None => stats_cpu(family, spec, grid, &prep),
        };
        let host = family.host_coupled_sums_at(grid, xs, prep.shift);
        if self.admit(&prep, &t, host.is_some()) {
            let mut prep = prep;
            prep.features = Vec::new();
            self.pending.push(Pending { prep, t });
            self.batched += 1;
            if self.pending.len() >= BATCH_CHUNKS {
                self.flush();
            }
            self.tally.eval_seconds += t0.elapsed().as_secs_f64();
            return Ok(());
        }
        self.flush();
        let (family, grid, spec) = (self.family, &self.grid, &self.spec);
        let centre = self.centre.as_ref().expect("start before chunk");
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

    fn finish(mut self: Box<Self>) -> Result<Evaluation> {
        let t0 = std::time::Instant::now();
        self.flush();
        self.tally.eval_seconds += t0.elapsed().as_secs_f64();
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

    /// The batched evaluator against the chunk-by-chunk one on the same chunks: the exact
    /// per-point states (hence the sums, bit for bit), the outside counts, n and the f64
    /// re-evaluations are equal, for every family with statistics, with a batch longer than
    /// [`BATCH_CHUNKS`], a chunk that must be evaluated on its own between batches (features
    /// beyond f32), and a grid whose natural parameters overflow (no batching at all).
    #[test]
    fn batched_chunks_accumulate_the_chunk_by_chunk_states_bit_for_bit() {
        use rand::SeedableRng;
        let session = Session::default();
        let run = |fam: &'static dyn Family, grid: &Grid, chunks: &[Vec<f64>], batch: bool| {
            let mut e = SuffStats::new(&session, EvalPath::Cpu, fam, grid).unwrap();
            if !batch {
                e = e.unbatched();
            }
            e.start(&Centre::of(fam, &chunks[0])).unwrap();
            for c in chunks {
                e.chunk(c).unwrap();
            }
            let batched = e.batched;
            (Box::new(e).finish().unwrap(), batched)
        };
        let mut checked = 0;
        for fam in REGISTRY.iter().filter(|f| f.suffstats().is_some()) {
            let fam: &'static dyn Family = *fam;
            let spec = fam.suffstats().unwrap();
            let theta = fam.example_theta();
            let axes: Vec<AxisSpec> = fam
                .params()
                .iter()
                .enumerate()
                .map(|(j, p)| {
                    let v = theta[j];
                    let range = format!("{}={}:{}:5", p.name, v * 0.8, v * 1.25);
                    match AxisSpec::parse(&range) {
                        Ok(a) if !spec.fixed_params.contains(&j) && v != 0.0 => a,
                        _ => AxisSpec::parse(&format!("{}={v}", p.name)).unwrap(),
                    }
                })
                .collect();
            let Ok(grid) = Grid::new(fam, axes) else {
                continue;
            };
            let mut rng = rand::rngs::StdRng::seed_from_u64(11);
            let mut xs = vec![0.0; 4000];
            fam.sample_into(&theta, &mut rng, &mut xs).unwrap();
            // 140 chunks (two batches and a half), of uneven sizes.
            let mut chunks = Vec::new();
            let mut rest = &xs[..];
            for k in 0..140 {
                let (a, b) = rest.split_at((k % 7 + 20).min(rest.len()));
                chunks.push(a.to_vec());
                rest = b;
            }
            chunks.push(rest.to_vec());
            let ((a, batched), (b, _)) = (
                run(fam, &grid, &chunks, true),
                run(fam, &grid, &chunks, false),
            );
            if fam.host_coupled_sums_at(&grid, &xs[..1], 0.0).is_none() && spec.outside.is_none() {
                assert_eq!(batched, chunks.len(), "{}: every chunk batched", fam.name());
            }
            assert_eq!(a.exact, b.exact, "{}", fam.name());
            assert_eq!(a.partials.outside, b.partials.outside, "{}", fam.name());
            assert_eq!(a.conditioning, b.conditioning, "{}", fam.name());
            let bits = |e: &Evaluation| {
                e.partials
                    .sum
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>()
            };
            assert_eq!(bits(&a), bits(&b), "{}", fam.name());
            assert_eq!(a.partials.n, 4000);
            checked += 1;
        }
        assert!(checked >= 8, "only {checked} families checked");

        // The normal family: a chunk whose features do not fit f32 between batches, and a grid
        // with σ so small that η = 1/σ² overflows (batching is off there).
        let normal = lookup("normal").unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let mut xs = vec![0.0; 3000];
        normal.sample_into(&[1.0, 2.0], &mut rng, &mut xs).unwrap();
        let mut chunks: Vec<Vec<f64>> = xs.chunks(37).map(|c| c.to_vec()).collect();
        chunks.insert(30, vec![1.0, 3e39, -2.0]);
        for (sigma, want) in [("sigma=1:3:4", chunks.len() - 1), ("sigma=1e-170,1,2", 0)] {
            let grid = Grid::new(
                normal,
                vec![
                    AxisSpec::parse("mu=0:2:5").unwrap(),
                    AxisSpec::parse(sigma).unwrap(),
                ],
            )
            .unwrap();
            let ((a, batched), (b, _)) = (
                run(normal, &grid, &chunks, true),
                run(normal, &grid, &chunks, false),
            );
            assert_eq!(batched, want, "{sigma}: chunks batched");
            assert_eq!(a.exact, b.exact, "{sigma}");
            assert_eq!(a.conditioning, b.conditioning, "{sigma}");
            assert_eq!(a.partials.n, 3003);
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
