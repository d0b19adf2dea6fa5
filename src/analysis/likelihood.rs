//! The exact log-likelihood S(θ) = Σᵢ ln Q(xᵢ | θ) of the data in memory, in f64, for everything
//! the analysis derives from it: the MLE, the profile-likelihood intervals and regions, the
//! standard errors. Intervals depend on differences of S in nats, not on its relative error (at
//! n = 10⁶ a relative error of 4·10⁻⁷ is about a nat, as large as the χ² thresholds), so none of
//! these evaluations comes from the f32 kernel sums of the sweep.
//!
//! How S is evaluated, by the cheapest exact form the family and data allow:
//! * **sufficient statistics** (continuous families with [`Family::suffstats`] valid for the grid):
//!   S(θ) = n·a(θ) + Σb + Σⱼ ηⱼ(θ)·Tⱼ + n·κ(θ) (+ n·k(s, θ) for kernels linear in the features),
//!   with Tⱼ = Σᵢ tⱼ(fᵢ) summed once in f64 (Neumaier) from features fᵢ computed in f64 from the
//!   samples and centred on their exact f64 means — O(1) per evaluation;
//! * **counts** (discrete families): S(θ) = Σ_v c_v·ln Q(v | θ) over the distinct values —
//!   O(distinct values);
//! * the family's **split in f64** on features computed once in f64, or the **full density**
//!   [`Family::ln_pdf_sum`] (θ-dependent supports) — O(n), in parallel blocks combined in order
//!   (see [`LikelihoodData`]).
//!
//! Derivatives: [`Likelihood::derivatives`] sums the family's analytic per-sample derivatives
//! ([`Family::ln_pdf_derivatives`]) over the samples (or the counts), in f64.

use crate::analysis::mle::LikelihoodData;
use crate::engine::Observer;
use crate::model::grid::Grid;
use crate::model::suffstats::MAX_STATS;
use crate::model::{Family, Shift, SuffStatsSpec, MAX_FEATURES, MAX_KERNEL_CONSTS};
use crate::numeric::Neumaier;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// Samples per parallel block (results combine in block order, so sums are deterministic).
const BLOCK: usize = 1 << 16;

/// The f64 sufficient statistics of a data set (see the module documentation).
#[derive(Clone)]
struct Stats {
    spec: SuffStatsSpec,
    /// Tⱼ, j < `ns`.
    t: Vec<f64>,
    ns: usize,
    /// The shift of the constants and the `_at` hooks ([`Centre::shift`]).
    ///
    /// [`Centre::shift`]: crate::engine::prepare::Centre::shift
    shift: f64,
    /// [`Shift::Linear`]: the feature means sⱼ subtracted from the features, else 0.
    linear_shift: Vec<f64>,
    /// Σ b(xᵢ).
    data_sum: f64,
    n: f64,
}

/// How S is evaluated.
enum Repr<'a> {
    Stats(Stats),
    Data(LikelihoodData<'a>),
}

/// The exact log-likelihood of a data set under a family. Cheap to query from several threads;
/// counts its evaluations.
pub struct Likelihood<'a> {
    family: &'a dyn Family,
    xs: &'a [f64],
    repr: Repr<'a>,
    evaluations: AtomicU64,
    /// Told the count of evaluations as it grows ([`Likelihood::observed`]).
    observer: Option<&'a dyn Observer>,
}

/// Buffers sized for a family's features, kernel constants and statistics: the built-in
/// families' bounds, or more for a model written as an expression.
fn features_buf(family: &dyn Family) -> Vec<f64> {
    vec![0.0; family.n_features().max(MAX_FEATURES)]
}

fn consts_buf(family: &dyn Family) -> Vec<f64> {
    vec![0.0; family.n_kernel_consts().max(MAX_KERNEL_CONSTS)]
}

impl Stats {
    /// The statistics of `xs` for `spec`; the constants of `theta0` give the ones the statistics
    /// read (parameters the grid holds fixed). `None` when a sample is outside the support.
    fn of(family: &dyn Family, spec: SuffStatsSpec, xs: &[f64], theta0: &[f64]) -> Option<Stats> {
        if xs.is_empty() || !xs.iter().all(|&x| family.in_support(x)) {
            return None;
        }
        let nf = family.n_features();
        // The engine's centring (location, linear shifts, and the shift the constants and the
        // `_at` hooks take), so that the f64 split is the one the device paths evaluate.
        let centre = crate::engine::prepare::Centre::of(family, xs);
        let (location, linear_shift, shift) =
            (centre.location, centre.linear_shift.clone(), centre.shift());
        let mut c = consts_buf(family);
        family.kernel_consts(theta0, shift, &mut c);
        let ns = spec.form.n_stats(nf);
        let parts: Vec<(Vec<Neumaier>, Neumaier)> = xs
            .par_chunks(BLOCK)
            .map(|chunk| {
                // Plain f64 sums over runs of SUB samples, compensated across runs.
                const SUB: usize = 256;
                let mut acc = vec![Neumaier::default(); ns];
                let mut b = Neumaier::default();
                let mut f = features_buf(family);
                let mut t = vec![0.0; ns.max(MAX_STATS)];
                let mut run = vec![0.0; ns];
                for sub in chunk.chunks(SUB) {
                    let mut run_b = 0.0;
                    for &x in sub {
                        family.features(x, location, &mut f);
                        for (fj, sj) in f.iter_mut().zip(&linear_shift) {
                            *fj -= sj;
                        }
                        spec.form.stats(&f[..nf], &c, &mut t);
                        for (r, tj) in run.iter_mut().zip(&t) {
                            *r += *tj;
                        }
                        run_b += family.data_term_at(x, shift);
                    }
                    for (a, r) in acc.iter_mut().zip(run.iter_mut()) {
                        a.add(std::mem::take(r));
                    }
                    b.add(run_b);
                }
                (acc, b)
            })
            .collect();
        let mut t = vec![Neumaier::default(); ns];
        let mut data_sum = Neumaier::default();
        for (p, b) in parts {
            for (tj, v) in t.iter_mut().zip(p) {
                tj.add(v.value());
            }
            data_sum.add(b.value());
        }
        Some(Stats {
            spec,
            t: t.iter().map(|v| v.value()).collect(),
            ns,
            shift,
            linear_shift,
            data_sum: data_sum.value(),
            n: xs.len() as f64,
        })
    }

    /// S(θ) = n·a(θ) + Σb + Σⱼ ηⱼTⱼ + n·κ (+ n·k(s, θ) for a linear shift s).
    fn loglik(&self, family: &dyn Family, theta: &[f64]) -> f64 {
        let mut c = consts_buf(family);
        family.kernel_consts(theta, self.shift, &mut c);
        let mut eta = vec![0.0; self.ns.max(MAX_STATS)];
        let kappa = (self.spec.natural)(&c, &mut eta);
        let mut s = Neumaier::default();
        s.add(self.n * family.log_norm_at(theta, self.shift));
        s.add(self.data_sum);
        s.add(self.n * kappa);
        for (e, t) in eta.iter().zip(&self.t).take(self.ns) {
            s.add(e * t);
        }
        if family.shift() == Shift::Linear {
            s.add(self.n * family.kernel(&self.linear_shift, &c));
        }
        s.value()
    }
}

impl<'a> Likelihood<'a> {
    /// The likelihood of `xs` under `family`, for the model of `grid` (parameters it holds fixed
    /// stay at their value, which decides whether sufficient statistics apply).
    pub fn new(family: &'a dyn Family, grid: &Grid, xs: &'a [f64]) -> Likelihood<'a> {
        let stats = if family.integer_data() {
            None
        } else {
            crate::engine::suffstats::spec_for(family, grid)
                .ok()
                .filter(|s| s.outside.is_none())
                .and_then(|spec| Stats::of(family, spec, xs, &grid.theta(0)))
        };
        let repr = match stats {
            Some(s) => Repr::Stats(s),
            None => Repr::Data(LikelihoodData::new(family, xs)),
        };
        Likelihood {
            family,
            xs,
            repr,
            evaluations: AtomicU64::new(0),
            observer: None,
        }
    }

    /// The same likelihood, telling `observer` its count of evaluations as it grows (a progress
    /// display of the analysis).
    pub fn observed(self, observer: &'a dyn Observer) -> Likelihood<'a> {
        Likelihood {
            observer: Some(observer),
            ..self
        }
    }

    /// The family.
    pub fn family(&self) -> &'a dyn Family {
        self.family
    }

    /// Number of samples.
    pub fn n(&self) -> usize {
        self.xs.len()
    }

    /// The samples.
    pub fn samples(&self) -> &'a [f64] {
        self.xs
    }

    /// How S is evaluated, in words (for notes).
    pub fn method(&self) -> &'static str {
        match &self.repr {
            Repr::Stats(_) => "f64 sufficient statistics",
            Repr::Data(LikelihoodData::Counts { .. }) => "f64 counts of the distinct values",
            Repr::Data(LikelihoodData::Split { .. }) => "the f64 split over the samples",
            Repr::Data(LikelihoodData::Samples(_)) => "the f64 density over the samples",
        }
    }

    /// Whether one evaluation costs O(1) (sufficient statistics), so that finite differences are
    /// cheaper than a pass over the samples for the analytic derivatives.
    pub fn is_o1(&self) -> bool {
        matches!(self.repr, Repr::Stats(_))
    }

    /// Evaluations of S so far.
    pub fn evaluations(&self) -> u64 {
        self.evaluations.load(Ordering::Relaxed)
    }

    /// S(θ) in f64; −∞ when θ is not a distribution of the family, a sample lies outside its
    /// support, or the value is not a number.
    pub fn loglik(&self, theta: &[f64]) -> f64 {
        let count = self.evaluations.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(o) = self.observer {
            o.likelihood_evaluations(count);
        }
        if self.family.validate(theta).is_err() {
            return f64::NEG_INFINITY;
        }
        let v = match &self.repr {
            Repr::Stats(s) => s.loglik(self.family, theta),
            Repr::Data(d) => d.mean_loglik(self.family, theta) * d.n() as f64,
        };
        if v.is_nan() {
            f64::NEG_INFINITY
        } else {
            v
        }
    }

    /// The gradient and Hessian of S at θ with respect to the parameters `vars` (indices in the
    /// family's order): Σᵢ ∇ ln Q(xᵢ | θ) and Σᵢ ∇² ln Q(xᵢ | θ) from the family's analytic
    /// derivatives (weighted by the counts for discrete data), row-major `vars.len()²`, at a θ
    /// where S is finite (every sample inside the support; not checked again here). `None` when
    /// the family has none, or a value is not finite.
    pub fn derivatives(&self, theta: &[f64], vars: &[usize]) -> Option<(Vec<f64>, Vec<f64>)> {
        let p = theta.len();
        let k = vars.len();
        let fam = self.family;
        let probe = self.xs.first()?;
        let (mut g1, mut h1) = (vec![0.0; p], vec![0.0; p * p]);
        if !fam.ln_pdf_derivatives(*probe, theta, &mut g1, &mut h1) {
            return None;
        }
        // Σ over (value, weight) pairs of the selected derivatives: plain f64 sums over runs of
        // SUB pairs (error ~√SUB·ε of a term), compensated across runs.
        const SUB: usize = 256;
        let block = |pairs: &mut dyn Iterator<Item = (f64, f64)>| -> Option<Vec<Neumaier>> {
            let mut acc = vec![Neumaier::default(); k + k * k];
            let mut run = vec![0.0; k + k * k];
            let (mut g, mut h) = (vec![0.0; p], vec![0.0; p * p]);
            let mut in_run = 0;
            for (x, w) in pairs {
                fam.ln_pdf_derivatives(x, theta, &mut g, &mut h);
                for (a, &ja) in vars.iter().enumerate() {
                    run[a] += w * g[ja];
                    let row = &mut run[k + a * k..k + (a + 1) * k];
                    for (r, &jb) in row.iter_mut().zip(vars) {
                        *r += w * h[ja * p + jb];
                    }
                }
                in_run += 1;
                if in_run == SUB {
                    for (a, r) in acc.iter_mut().zip(run.iter_mut()) {
                        a.add(std::mem::take(r));
                    }
                    in_run = 0;
                }
            }
            for (a, r) in acc.iter_mut().zip(&run) {
                a.add(*r);
            }
            Some(acc)
        };
        let parts: Vec<Option<Vec<Neumaier>>> = match &self.repr {
            Repr::Data(LikelihoodData::Counts { values, counts, .. }) => {
                vec![block(
                    &mut values.iter().copied().zip(counts.iter().copied()),
                )]
            }
            _ => self
                .xs
                .par_chunks(BLOCK)
                .map(|c| block(&mut c.iter().map(|&x| (x, 1.0))))
                .collect(),
        };
        let mut total = vec![Neumaier::default(); k + k * k];
        for part in parts {
            for (t, v) in total.iter_mut().zip(part?) {
                t.add(v.value());
            }
        }
        let v: Vec<f64> = total.iter().map(|t| t.value()).collect();
        if !v.iter().all(|x| x.is_finite()) {
            return None;
        }
        Some((v[..k].to_vec(), v[k..].to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::grid::{AxisSpec, Spacing};
    use crate::model::{lookup, REGISTRY};
    use rand::SeedableRng;

    fn point_grid(fam: &dyn Family, theta: &[f64], free: &[usize]) -> Grid {
        Grid::new(
            fam,
            fam.params()
                .iter()
                .zip(theta)
                .enumerate()
                .map(|(j, (p, &v))| AxisSpec {
                    name: p.name.to_string(),
                    values: if free.contains(&j) {
                        vec![v * 0.9, v * 1.1]
                    } else {
                        vec![v]
                    },
                    spacing: Spacing::Linear,
                })
                .collect(),
        )
        .unwrap()
    }

    /// Every representation equals the full f64 density Σ ln Q to rounding, for every family, at
    /// θ away from where the data were drawn (so the statistics' centring is exercised).
    #[test]
    fn every_representation_equals_the_full_density_for_every_family() {
        for fam in REGISTRY {
            let theta = fam.example_theta();
            let mut xs = vec![0.0; 5000];
            fam.sample_into(&theta, &mut rand::rngs::StdRng::seed_from_u64(2), &mut xs)
                .unwrap();
            // Free everything the family allows (weibull's statistics need the shape fixed).
            let free: Vec<usize> = (0..theta.len())
                .filter(|&j| {
                    fam.params()[j].domain != crate::model::Domain::PositiveInteger
                        && !(fam.name() == "weibull" && j == 0)
                })
                .collect();
            let g = point_grid(*fam, &theta, &free);
            let lik = Likelihood::new(*fam, &g, &xs);
            let mut t = theta.clone();
            for &j in &free {
                t[j] *= 1.03;
            }
            if fam.validate(&t).is_err() {
                continue;
            }
            let (full, out) = fam.ln_pdf_sum(&xs, &t);
            let want = if out > 0 { f64::NEG_INFINITY } else { full };
            let got = lik.loglik(&t);
            assert!(
                got == want || (got - want).abs() <= 1e-11 * want.abs().max(1.0),
                "{} ({}): {got} vs {want}",
                fam.name(),
                lik.method()
            );
        }
    }

    #[test]
    fn sufficient_statistics_are_used_where_valid_and_stay_exact_far_from_zero() {
        // |mean| ≫ sd: the centred f64 statistics lose nothing to cancellation.
        let fam = lookup("normal").unwrap();
        let xs: Vec<f64> = (0..20_000)
            .map(|i| 1e6 + ((i * 7919) % 1000) as f64 * 1e-3)
            .collect();
        let g = point_grid(fam, &[1e6, 0.3], &[0, 1]);
        let lik = Likelihood::new(fam, &g, &xs);
        assert!(lik.is_o1(), "{}", lik.method());
        let t = [1e6 + 0.4, 0.29];
        let (full, _) = fam.ln_pdf_sum(&xs, &t);
        assert!((lik.loglik(&t) - full).abs() < 1e-9 * full.abs());
        assert_eq!(lik.loglik(&[1e6, -1.0]), f64::NEG_INFINITY);
        // Discrete data: counts.
        let p = lookup("poisson").unwrap();
        let lik = Likelihood::new(p, &point_grid(p, &[3.0], &[0]), &[1.0, 3.0, 3.0]);
        assert!(lik.method().contains("counts"));
    }

    #[test]
    fn analytic_derivatives_of_s_match_finite_differences_of_s() {
        let fam = lookup("gamma").unwrap();
        let theta = [2.0, 1.5];
        let mut xs = vec![0.0; 3000];
        fam.sample_into(&theta, &mut rand::rngs::StdRng::seed_from_u64(5), &mut xs)
            .unwrap();
        let g = point_grid(fam, &theta, &[0, 1]);
        let lik = Likelihood::new(fam, &g, &xs);
        let (grad, hess) = lik.derivatives(&theta, &[0, 1]).unwrap();
        for j in 0..2 {
            let e = 1e-5;
            let mut a = theta;
            let mut b = theta;
            a[j] += e;
            b[j] -= e;
            let fd = (lik.loglik(&a) - lik.loglik(&b)) / (2.0 * e);
            assert!(
                (fd - grad[j]).abs() < 1e-5 * grad[j].abs().max(1.0),
                "{fd} {grad:?}"
            );
            let (ga, _) = lik.derivatives(&a, &[0, 1]).unwrap();
            let (gb, _) = lik.derivatives(&b, &[0, 1]).unwrap();
            for k in 0..2 {
                let fd = (ga[k] - gb[k]) / (2.0 * e);
                assert!(
                    (fd - hess[j * 2 + k]).abs() < 1e-5 * fd.abs(),
                    "{fd} {hess:?}"
                );
            }
        }
    }
}
