//! The maximum-likelihood estimate θ̂ = argmax_θ S(θ), S(θ) = Σᵢ ln Q(xᵢ | θ), within the model
//! the grid spans: parameters the grid holds fixed (one value) stay fixed, and integer parameters
//! (the binomial's `trials`) are held at their value at the best grid point.
//!
//! The family's closed form is used where it exists and respects those constraints
//! (`method` "closed_form"). Otherwise S/n is maximised numerically in f64 on the CPU by the
//! Nelder–Mead simplex of the `argmin` crate, started at the best grid point with the grid's step
//! as the initial simplex, then restarted once at the result with a simplex 100 times smaller.
//! The search runs in an unconstrained reparametrisation, so every candidate lies inside the
//! parameter domain: u = θ for real parameters, u = ln θ for positive ones, u = ln(θ/(1 − θ)) for
//! those in (0, 1) (`method` "numeric").

use crate::error::{Error, Result};
use crate::model::grid::{Axis, Grid};
use crate::model::{Domain, Family, MAX_KERNEL_CONSTS};
use crate::numeric::Neumaier;
use argmin::core::{CostFunction, Executor, State};
use argmin::solver::neldermead::NelderMead;
use rayon::prelude::*;
use std::collections::HashMap;

/// How the MLE was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MleMethod {
    ClosedForm,
    Numeric,
}

impl MleMethod {
    /// `closed_form` or `numeric`.
    pub fn name(self) -> &'static str {
        match self {
            MleMethod::ClosedForm => "closed_form",
            MleMethod::Numeric => "numeric",
        }
    }
}

/// A maximum-likelihood estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Mle {
    /// θ̂ in the family's parameter order.
    pub theta: Vec<f64>,
    pub method: MleMethod,
    /// S(θ̂)/n by the f64 full density.
    pub mean_loglik: f64,
}

/// The data as the likelihood needs them.
pub enum LikelihoodData<'a> {
    /// The samples, evaluated with the full density.
    Samples(&'a [f64]),
    /// Integer data: the distinct values with their counts (a few hundred terms instead of
    /// millions), evaluated with the full density.
    Counts {
        values: Vec<f64>,
        counts: Vec<f64>,
        n: usize,
    },
    /// Continuous data whose support does not depend on θ, all inside it: the family's split in
    /// f64, S(θ) = n·a(θ) + Σb(x) + Σk(f(x), c(θ)), with the features f(x) and Σb computed once
    /// (the split equals the full density to rounding; see `family::tests`).
    Split {
        features: Vec<f64>,
        nf: usize,
        data_sum: f64,
        n: usize,
        /// The shift the split is taken at: the data mean for [`Family::mean_relative`]
        /// families (whose split at 0 is the cancelling textbook one), else 0.
        shift: f64,
        /// The samples, for the family's host-coupled sums (student_t's normal part at large ν).
        xs: &'a [f64],
    },
}

/// Samples per parallel block of the f64 likelihood.
const BLOCK: usize = 1 << 16;

impl<'a> LikelihoodData<'a> {
    /// Counts for integer data (discrete families), else the samples.
    pub fn new(family: &dyn Family, xs: &'a [f64]) -> LikelihoodData<'a> {
        if !family.integer_data() {
            if family.theta_dependent_support() || !xs.iter().all(|&x| family.in_support(x)) {
                return LikelihoodData::Samples(xs);
            }
            let nf = family.n_features();
            let shift = match family.mean_relative() && !xs.is_empty() {
                true => xs.iter().sum::<f64>() / xs.len() as f64,
                false => 0.0,
            };
            let mut features = vec![0.0; xs.len() * nf];
            features
                .par_chunks_mut(BLOCK * nf)
                .zip(xs.par_chunks(BLOCK))
                .for_each(|(f, x)| {
                    for (fi, &xi) in f.chunks_exact_mut(nf).zip(x) {
                        family.features(xi, shift, fi);
                    }
                });
            let mut b = Neumaier::default();
            for &x in xs {
                b.add(family.data_term_at(x, shift));
            }
            return LikelihoodData::Split {
                features,
                nf,
                data_sum: b.value(),
                n: xs.len(),
                shift,
                xs,
            };
        }
        let mut map: HashMap<u64, u64> = HashMap::new();
        for &x in xs {
            *map.entry((x + 0.0).to_bits()).or_default() += 1;
        }
        let mut pairs: Vec<(f64, u64)> = map
            .into_iter()
            .map(|(b, c)| (f64::from_bits(b), c))
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        LikelihoodData::Counts {
            values: pairs.iter().map(|p| p.0).collect(),
            counts: pairs.iter().map(|p| p.1 as f64).collect(),
            n: xs.len(),
        }
    }

    /// Number of samples.
    pub fn n(&self) -> usize {
        match self {
            LikelihoodData::Samples(xs) => xs.len(),
            LikelihoodData::Counts { n, .. } | LikelihoodData::Split { n, .. } => *n,
        }
    }

    /// S(θ)/n in f64 (−∞ when a sample is outside the support). Blocks of 65,536 samples are
    /// summed in parallel and combined in block order (deterministic).
    pub fn mean_loglik(&self, family: &dyn Family, theta: &[f64]) -> f64 {
        match self {
            LikelihoodData::Split {
                features,
                nf,
                data_sum,
                n,
                shift,
                xs,
            } => {
                let mut c = [0.0; MAX_KERNEL_CONSTS];
                family.kernel_consts(theta, *shift, &mut c);
                let parts: Vec<f64> = features
                    .par_chunks(BLOCK * nf)
                    .map(|block| {
                        let mut lanes = [0.0; 4];
                        for (k, f) in block.chunks_exact(*nf).enumerate() {
                            lanes[k % 4] += family.kernel(f, &c);
                        }
                        (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
                    })
                    .collect();
                let mut s = Neumaier::default();
                s.add(*n as f64 * family.log_norm_at(theta, *shift));
                s.add(*data_sum);
                if let Some(h) = Grid::point(family, theta)
                    .ok()
                    .and_then(|g| family.host_coupled_sums_at(&g, xs, *shift))
                {
                    s.add(h[0]);
                }
                for v in parts {
                    s.add(v);
                }
                let v = s.value();
                if v.is_nan() {
                    f64::NEG_INFINITY
                } else {
                    v / *n as f64
                }
            }
            LikelihoodData::Samples(xs) => {
                let parts: Vec<(f64, u64)> = xs
                    .par_chunks(BLOCK)
                    .map(|c| family.ln_pdf_sum(c, theta))
                    .collect();
                let mut s = Neumaier::default();
                for (v, out) in parts {
                    if out > 0 {
                        return f64::NEG_INFINITY;
                    }
                    s.add(v);
                }
                s.value() / xs.len() as f64
            }
            LikelihoodData::Counts { values, counts, n } => {
                let mut s = Neumaier::default();
                for (&v, &c) in values.iter().zip(counts) {
                    let l = family.ln_pdf(v, theta);
                    if l == f64::NEG_INFINITY {
                        return l;
                    }
                    s.add(c * l);
                }
                s.value() / *n as f64
            }
        }
    }
}

/// θ ↦ u, the unconstrained coordinate of a parameter of `domain`.
pub fn to_unconstrained(domain: Domain, v: f64) -> f64 {
    match domain {
        Domain::Real | Domain::PositiveInteger => v,
        Domain::Positive => v.ln(),
        Domain::OpenUnit => (v / (1.0 - v)).ln(),
    }
}

/// u ↦ θ, the inverse of [`to_unconstrained`].
pub fn from_unconstrained(domain: Domain, u: f64) -> f64 {
    match domain {
        Domain::Real | Domain::PositiveInteger => u,
        Domain::Positive => u.exp(),
        Domain::OpenUnit => 1.0 / (1.0 + (-u).exp()),
    }
}

/// Cost of a candidate that is not a distribution or has likelihood 0: finite, so the simplex
/// arithmetic stays finite, and larger than any real cost.
const PENALTY: f64 = 1e100;

/// −S(θ)/n over the free parameters in unconstrained coordinates.
struct NegMeanLoglik<'a> {
    family: &'a dyn Family,
    data: &'a LikelihoodData<'a>,
    base: Vec<f64>,
    free: Vec<usize>,
}

impl NegMeanLoglik<'_> {
    fn theta(&self, u: &[f64]) -> Vec<f64> {
        let params = self.family.params();
        let mut t = self.base.clone();
        for (&j, &uj) in self.free.iter().zip(u) {
            t[j] = from_unconstrained(params[j].domain, uj);
        }
        t
    }
}

impl CostFunction for NegMeanLoglik<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, u: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        let t = self.theta(u);
        if self.family.validate(&t).is_err() {
            return Ok(PENALTY);
        }
        let c = -self.data.mean_loglik(self.family, &t);
        Ok(if c.is_finite() { c } else { PENALTY })
    }
}

/// One Nelder–Mead run from `u0` with initial steps `steps`; returns the best point.
fn nelder_mead(problem: NegMeanLoglik<'_>, u0: &[f64], steps: &[f64]) -> Result<Vec<f64>> {
    let mut simplex = vec![u0.to_vec()];
    for (j, &h) in steps.iter().enumerate() {
        let mut v = u0.to_vec();
        v[j] += h;
        simplex.push(v);
    }
    let err = |e: argmin::core::Error| Error::Numeric(format!("Nelder–Mead: {e}"));
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(1e-15)
        .map_err(err)?;
    let res = Executor::new(problem, solver)
        .configure(|s| s.max_iters(2000))
        .run()
        .map_err(err)?;
    res.state()
        .get_best_param()
        .cloned()
        .ok_or_else(|| Error::Numeric("Nelder–Mead returned no point".into()))
}

/// Step of an axis in the unconstrained coordinate of its parameter: the mean spacing, or 0.1
/// when that is not a positive finite number.
fn unconstrained_step(axis: &Axis, domain: Domain) -> f64 {
    let n = axis.values.len();
    let h = if n > 1 {
        (to_unconstrained(domain, axis.max) - to_unconstrained(domain, axis.min)) / (n - 1) as f64
    } else {
        0.0
    };
    if h.is_finite() && h > 0.0 {
        h
    } else {
        0.1
    }
}

/// The MLE within the grid's model, started from `start` (the best grid point); `None` when the
/// likelihood is 0 there and the closed form does not apply.
pub fn estimate(
    family: &dyn Family,
    grid: &Grid,
    xs: &[f64],
    start: &[f64],
) -> Result<Option<Mle>> {
    let params = family.params();
    let mut fixed = grid.fixed_values();
    for (j, p) in params.iter().enumerate() {
        if p.domain == Domain::PositiveInteger && fixed[j].is_none() {
            fixed[j] = Some(start[j]);
        }
    }
    let data = LikelihoodData::new(family, xs);
    // S/n by the full density (what is reported).
    let exact = |t: &[f64]| match &data {
        LikelihoodData::Counts { .. } => data.mean_loglik(family, t),
        _ => LikelihoodData::Samples(xs).mean_loglik(family, t),
    };
    if let Some(t) = family.mle(xs, &fixed) {
        let respects = fixed.iter().zip(&t).all(|(f, v)| f.is_none_or(|f| f == *v));
        if respects && family.validate(&t).is_ok() {
            let m = exact(&t);
            if m.is_finite() {
                return Ok(Some(Mle {
                    theta: t,
                    method: MleMethod::ClosedForm,
                    mean_loglik: m,
                }));
            }
        }
    }
    let free: Vec<usize> = (0..params.len()).filter(|&j| fixed[j].is_none()).collect();
    let start_ll = exact(start);
    if !start_ll.is_finite() {
        return Ok(None);
    }
    if free.is_empty() {
        return Ok(Some(Mle {
            theta: start.to_vec(),
            method: MleMethod::ClosedForm,
            mean_loglik: start_ll,
        }));
    }
    let mut steps = vec![0.0; free.len()];
    for a in grid.axes() {
        if let Some(k) = free.iter().position(|&j| j == a.param) {
            steps[k] = unconstrained_step(a, params[a.param].domain);
        }
    }
    let problem = |base: &[f64]| NegMeanLoglik {
        family,
        data: &data,
        base: base.to_vec(),
        free: free.clone(),
    };
    let u0: Vec<f64> = free
        .iter()
        .map(|&j| to_unconstrained(params[j].domain, start[j]))
        .collect();
    let u1 = nelder_mead(problem(start), &u0, &steps)?;
    let small: Vec<f64> = steps.iter().map(|h| h * 1e-2).collect();
    let u2 = nelder_mead(problem(start), &u1, &small)?;
    let theta = problem(start).theta(&u2);
    let m = exact(&theta);
    // Never worse than the start (the simplex only moves to better points, but be explicit).
    let (theta, m) = if m >= start_ll {
        (theta, m)
    } else {
        (start.to_vec(), start_ll)
    };
    Ok(Some(Mle {
        theta,
        method: MleMethod::Numeric,
        mean_loglik: m,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::grid::AxisSpec;
    use crate::model::lookup;
    use crate::model::sample_spec::SampleSpec;

    fn grid(fam: &dyn Family, specs: &[&str]) -> Grid {
        Grid::new(
            fam,
            specs.iter().map(|s| AxisSpec::parse(s).unwrap()).collect(),
        )
        .unwrap()
    }

    #[test]
    fn unconstrained_coordinates_round_trip() {
        for (d, v) in [
            (Domain::Real, -3.5),
            (Domain::Positive, 0.02),
            (Domain::OpenUnit, 0.9),
        ] {
            let back = from_unconstrained(d, to_unconstrained(d, v));
            assert!((back - v).abs() < 1e-15, "{d:?}");
        }
    }

    #[test]
    fn numeric_mle_of_the_gamma_zeroes_the_score() {
        let fam = lookup("gamma").unwrap();
        let xs = SampleSpec::parse("gamma(shape=2.5, rate=1.5)")
            .unwrap()
            .draw(20_000, 9)
            .unwrap();
        let g = grid(fam, &["shape=1:4:7", "rate=0.5:3:6"]);
        let m = estimate(fam, &g, &xs, &[2.5, 1.5]).unwrap().unwrap();
        assert_eq!(m.method, MleMethod::Numeric);
        // Score equations: β̂ = α̂/x̄ and ln α̂ − ψ(α̂) = ln x̄ − mean(ln x).
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let mean_ln = xs.iter().map(|x| x.ln()).sum::<f64>() / n;
        let (a, b) = (m.theta[0], m.theta[1]);
        assert!((b - a / mean).abs() < 1e-5 * b, "{a} {b}");
        let lhs = a.ln() - statrs::function::gamma::digamma(a);
        assert!((lhs - (mean.ln() - mean_ln)).abs() < 1e-6, "{lhs}");
    }

    #[test]
    fn fixed_parameters_stay_fixed_and_closed_forms_are_used() {
        let fam = lookup("normal").unwrap();
        let xs = [1.0, 2.0, 4.0];
        let g = grid(fam, &["mu=0:3:4", "sigma=2"]);
        let m = estimate(fam, &g, &xs, &[2.0, 2.0]).unwrap().unwrap();
        assert_eq!(m.method, MleMethod::ClosedForm);
        assert_eq!(m.theta, vec![7.0 / 3.0, 2.0]);
        // The binomial's trials axis is held at the best grid point's value.
        let b = lookup("binomial").unwrap();
        let xs = [3.0, 5.0, 4.0];
        let g = grid(b, &["trials=10,12", "p=0.1:0.9:9"]);
        let m = estimate(b, &g, &xs, &[12.0, 0.3]).unwrap().unwrap();
        assert_eq!(m.method, MleMethod::ClosedForm);
        assert_eq!(m.theta, vec![12.0, 4.0 / 12.0]);
    }

    #[test]
    fn split_likelihood_matches_the_full_density() {
        for name in ["gamma", "weibull", "normal_mixture", "student_t", "beta"] {
            let fam = lookup(name).unwrap();
            let t = fam.example_theta();
            let mut xs = vec![0.0; 3000];
            fam.sample_into(&t, &mut rand::SeedableRng::seed_from_u64(4), &mut xs)
                .unwrap();
            let d = LikelihoodData::new(fam, &xs);
            assert!(matches!(d, LikelihoodData::Split { .. }), "{name}");
            let full = LikelihoodData::Samples(&xs).mean_loglik(fam, &t);
            let split = d.mean_loglik(fam, &t);
            assert!(
                (full - split).abs() < 1e-12 * full.abs().max(1.0),
                "{name}: {full} {split}"
            );
        }
    }

    #[test]
    fn counts_and_samples_give_the_same_likelihood() {
        let fam = lookup("poisson").unwrap();
        let xs = [0.0, 3.0, 3.0, 1.0, 7.0, 3.0];
        let c = LikelihoodData::new(fam, &xs);
        assert!(matches!(c, LikelihoodData::Counts { .. }));
        let direct = fam.ln_pdf_sum(&xs, &[2.5]).0 / 6.0;
        assert!((c.mean_loglik(fam, &[2.5]) - direct).abs() < 1e-14);
    }
}
