//! The maximum-likelihood estimate θ̂ = argmax_θ S(θ), S(θ) = Σᵢ ln Q(xᵢ | θ), within the model
//! the grid spans: parameters the grid holds fixed (one value) stay fixed, and integer parameters
//! (the binomial's `trials`) are held at their value at the best grid point.
//!
//! The family's closed form is used where it exists and respects those constraints
//! (`method` "closed_form"). Otherwise S is maximised numerically in f64 on the CPU
//! ([`crate::analysis::optim::maximise`]: Newton with analytic or finite-difference derivatives, Nelder–Mead
//! as a fallback) from the best grid point, on the exact likelihood of
//! [`crate::analysis::likelihood::Likelihood`] (`method` "numeric"). The search runs in an unconstrained
//! reparametrisation, so every candidate lies inside the parameter domain: u = θ for real
//! parameters, u = ln θ for positive ones, u = ln(θ/(1 − θ)) for those in (0, 1).
//!
//! Estimates that do not exist, or lie on the boundary of the parameter space, are recognised by
//! one mechanism ([`locate`]): the search box around the grid.

use crate::analysis::likelihood::Likelihood;
use crate::analysis::optim::{maximise, Bounds, Side, WIDEN};
use crate::error::Result;
use crate::model::grid::Grid;
use crate::model::{Domain, Family};
use crate::numeric::Neumaier;
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
    /// Whether θ̂ lies on the boundary of the parameter space (a rate of 0, p of 0 or 1), where
    /// the likelihood is largest but the family has no member.
    pub on_boundary: bool,
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
    /// Continuous data whose support does not depend on θ, all inside it, of a family without
    /// host-side coupled terms ([`Family::has_host_terms`]): the family's split in
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
            if family.theta_dependent_support()
                || family.has_host_terms()
                || !xs.iter().all(|&x| family.in_support(x))
            {
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
                let mut c = vec![0.0; family.n_kernel_consts()];
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

/// What [`locate`] found: the MLE, or why there is none; `note` also explains an MLE on the
/// boundary of the parameter space.
#[derive(Debug, Clone, PartialEq)]
pub struct MleOutcome {
    pub mle: Option<Mle>,
    pub note: Option<String>,
}

/// Growth of S beyond the search box (when the box is widened by [`PROBE`]) above which the
/// likelihood is taken to grow without bound towards the parameter's boundary: 10⁻⁶·n nats plus
/// 10⁻⁹·|S| for rounding.
fn unbounded(n: usize, s_box: f64, s_beyond: f64) -> bool {
    s_beyond - s_box > 1e-6 * n.max(1) as f64 + 1e-9 * s_box.abs()
}

/// Further widening of the box, in unconstrained coordinates, to tell a likelihood that grows
/// without bound towards a boundary from one that approaches a finite supremum there.
const PROBE: f64 = 10.0;

/// The limit of a parameter of `domain` at `side` of the unconstrained line: 0 or +∞ for positive
/// parameters, 0 or 1 for those in (0, 1), ∓∞ for real ones.
fn limit(domain: Domain, side: Side) -> f64 {
    match (domain, side) {
        (Domain::Positive | Domain::OpenUnit, Side::Lower) => 0.0,
        (Domain::OpenUnit, Side::Upper) => 1.0,
        (_, Side::Upper) => f64::INFINITY,
        (_, Side::Lower) => f64::NEG_INFINITY,
    }
}

/// `sigma → 0, shape → ∞`.
fn directions(family: &dyn Family, at: &[(usize, Side)]) -> String {
    at.iter()
        .map(|&(j, side)| {
            let p = &family.params()[j];
            let l = limit(p.domain, side);
            let v = if l.is_infinite() {
                format!("{}∞", if l < 0.0 { "−" } else { "" })
            } else {
                format!("{l}")
            };
            format!("{} → {v}", p.name)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The MLE within the grid's model, started from `start` (the best grid point); `None` when the
/// likelihood is 0 there and the closed form does not apply, or when the MLE does not exist
/// (see [`locate`] for why).
pub fn estimate(
    family: &dyn Family,
    grid: &Grid,
    xs: &[f64],
    start: &[f64],
) -> Result<Option<Mle>> {
    let lik = Likelihood::new(family, grid, xs);
    Ok(locate(family, grid, &lik, start).mle)
}

/// Distance beyond the grid, in unconstrained coordinates, from which an estimate is examined
/// for a supremum at the boundary: e¹⁵ ≈ 3·10⁶ times beyond the grid's range for positive and
/// (0, 1) parameters (15 axis spans for real ones).
const FAR: f64 = 15.0;

/// The MLE within the grid's model (parameters the grid holds fixed stay fixed; integer
/// parameters are held at their value in `start`, the best grid point), or why it does not exist.
///
/// The family's closed form is used where it applies; otherwise S is maximised numerically
/// ([`crate::analysis::optim::maximise`], f64, from `start`, inside the search box [`Bounds`]: the grid
/// widened by e³⁰ in the unconstrained coordinates). An estimate inside the grid widened by e¹⁵
/// ([`FAR`]) is the MLE. Beyond that, S is growing towards a boundary of the parameter space (the
/// optimiser slows down as S flattens there, or stops at the box's edge), and how S grows decides
/// (S from the edge of the e¹⁵ zone to the estimate, and from there a further e¹⁰ out —
/// [`PROBE`] — the other parameters maximised again each time):
/// * if S grows by more than 10⁻⁶·n nats, the likelihood is unbounded there (σ → 0 on a single
///   distinct value, a gamma or Weibull shape → ∞ on equal values, an exponential rate → ∞ on
///   zeros): the MLE does not exist (`mle` is `None`, `note` says towards which boundary; a
///   genuine maximum more than e¹⁵ ≈ 3·10⁶ times beyond the grid is reported the same way, with
///   the advice to re-grid);
/// * if S has converged and the boundary is a finite value (a rate → 0, p → 0 or 1), the MLE lies
///   on the boundary: it is reported with that value and `on_boundary` true;
/// * if the boundary is at infinity (a Student-t ν → ∞), the supremum is not attained: no MLE.
pub fn locate(family: &dyn Family, grid: &Grid, lik: &Likelihood<'_>, start: &[f64]) -> MleOutcome {
    let xs = lik.samples();
    let n = xs.len();
    let params = family.params();
    let mut fixed = grid.fixed_values();
    for (j, p) in params.iter().enumerate() {
        if p.domain == Domain::PositiveInteger && fixed[j].is_none() {
            fixed[j] = Some(start[j]);
        }
    }
    let free: Vec<usize> = (0..params.len()).filter(|&j| fixed[j].is_none()).collect();
    let bounds = Bounds::new(family, grid, WIDEN);
    let near = Bounds::new(family, grid, FAR);
    let wider = Bounds::new(family, grid, WIDEN + PROBE);
    // S/n by the full density (what is reported).
    let exact = |t: &[f64]| {
        if family.integer_data() {
            lik.loglik(t) / n as f64
        } else {
            LikelihoodData::Samples(xs).mean_loglik(family, t)
        }
    };
    let none = |note: String| MleOutcome {
        mle: None,
        note: Some(note),
    };
    let found = |theta: Vec<f64>, method: MleMethod, note: Option<String>| MleOutcome {
        mle: Some(Mle {
            mean_loglik: exact(&theta),
            theta,
            method,
            on_boundary: false,
        }),
        note,
    };
    // The closed form, when it applies; else the numeric search from the best grid point.
    let closed = family.mle(xs, &fixed).filter(|t| {
        fixed.iter().zip(t).all(|(f, v)| f.is_none_or(|f| f == *v))
            && family.validate(t).is_ok()
            && lik.loglik(t).is_finite()
    });
    let (theta, s_fit, method) = match closed {
        Some(t) => {
            let s = lik.loglik(&t);
            (t, s, MleMethod::ClosedForm)
        }
        None => {
            if !lik.loglik(start).is_finite() {
                return none(
                    "none: the likelihood is 0 at the best grid point (a sample is outside its \
                     support)"
                        .into(),
                );
            }
            if free.is_empty() {
                return found(start.to_vec(), MleMethod::ClosedForm, None);
            }
            let fit = maximise(lik, &bounds, &free, start);
            if !fit.loglik.is_finite() {
                return none("none: the numeric search found no point of finite likelihood".into());
            }
            (fit.theta, fit.loglik, MleMethod::Numeric)
        }
    };
    // Parameters far beyond the grid, and on which side.
    let far: Vec<(usize, Side)> = free
        .iter()
        .filter_map(|&j| near.beyond(j, theta[j]).map(|side| (j, side)))
        .collect();
    if far.is_empty() {
        return found(theta, method, None);
    }
    // The anchor: the estimate, clamped to the box. How much does S gain from the edge of the
    // near zone (e¹⁵ beyond the grid) out to it, and from it a further e¹⁰ out (the other
    // parameters maximised again each time)?
    let mut anchor = theta.clone();
    let mut inner = theta.clone();
    let mut probe = theta.clone();
    for &(j, side) in &far {
        let u = bounds.u(j, theta[j]).clamp(bounds.lo[j], bounds.hi[j]);
        anchor[j] = bounds.theta(j, u);
        let (edge, d) = match side {
            Side::Lower => (near.lo[j], -PROBE),
            Side::Upper => (near.hi[j], PROBE),
        };
        inner[j] = near.theta(j, edge);
        probe[j] = bounds.theta(j, u + d);
    }
    let others: Vec<usize> = free
        .iter()
        .copied()
        .filter(|j| !far.iter().any(|(k, _)| k == j))
        .collect();
    let refit = |t: &[f64]| {
        let f = maximise(lik, &wider, &others, t);
        (f.loglik.max(lik.loglik(t)), f.theta)
    };
    let (s_inner, _) = refit(&inner);
    let (s_anchor, _) = refit(&anchor);
    let s_anchor = s_anchor.max(if anchor == theta {
        s_fit
    } else {
        f64::NEG_INFINITY
    });
    let (s_probe, probe_theta) = refit(&probe);
    let towards = directions(family, &far);
    // Growth beyond the grid: the likelihood is taken to be unbounded there (an MLE more than
    // e¹⁵ beyond the grid is reported as such, with the advice to re-grid).
    let grows = unbounded(n, s_inner, s_anchor) || unbounded(n, s_anchor, s_probe);
    if grows {
        return none(format!(
            "does not exist: the likelihood grows without bound as {towards} (the data are \
             degenerate for {}, e.g. a single distinct value; or the maximum lies more than e¹⁵ \
             beyond the grid, which would need a grid around it)",
            family.name()
        ));
    }
    let beyond_loglik = s_probe.max(s_anchor);
    let beyond_theta = if s_probe >= s_anchor {
        probe_theta
    } else {
        anchor.clone()
    };
    let mut limit_theta = beyond_theta;
    for &(j, side) in &far {
        limit_theta[j] = limit(params[j].domain, side);
    }
    if far.iter().any(|&(j, _)| limit_theta[j].is_infinite()) {
        return none(format!(
            "does not exist: the likelihood approaches its supremum only as {towards} (the \
             data are fitted as well by that limit)"
        ));
    }
    MleOutcome {
        note: Some(format!(
            "on the boundary of the parameter space: {towards} (the likelihood is largest there; \
             Wilks' χ² calibration of the intervals does not hold at a boundary)"
        )),
        mle: Some(Mle {
            theta: limit_theta,
            method,
            mean_loglik: beyond_loglik / n as f64,
            on_boundary: true,
        }),
    }
}

/// For a closed-form MLE from streamed summaries (the data are not in memory to evaluate S): the
/// reason it cannot be trusted when a free parameter lies beyond the search box, else `None`.
pub fn streamed_check(family: &dyn Family, grid: &Grid, theta: &[f64]) -> Option<String> {
    let bounds = Bounds::new(family, grid, WIDEN);
    let fixed = grid.fixed_values();
    let at: Vec<(usize, Side)> = (0..theta.len())
        .filter(|&j| fixed[j].is_none() && family.params()[j].domain != Domain::PositiveInteger)
        .filter_map(|j| bounds.beyond(j, theta[j]).map(|side| (j, side)))
        .collect();
    (!at.is_empty()).then(|| {
        format!(
            "does not exist or lies on the boundary: {} (the estimate is more than e³⁰ beyond \
             the grid; the data were streamed, so it was not examined further)",
            directions(family, &at)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::test_grid as grid;
    use crate::model::lookup;
    use crate::model::sample_spec::SampleSpec;

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

    /// A streamed closed-form estimate 10⁻²⁰ of the grid's σ (the data have no spread) is not
    /// reported; one inside the grid's box is.
    #[test]
    fn streamed_estimates_far_beyond_the_grid_are_not_reported() {
        let fam = lookup("normal").unwrap();
        let g = grid(fam, &["mu=0:3:4", "sigma=1:3:3"]);
        let note = streamed_check(fam, &g, &[1.0, 1e-20]).unwrap();
        assert!(note.contains("sigma → 0"), "{note}");
        assert!(streamed_check(fam, &g, &[1.0, 2.5]).is_none());
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
