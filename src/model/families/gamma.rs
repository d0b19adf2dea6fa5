//! Gamma distribution with shape α and rate β, support x > 0.
//!
//! log Q(x | α, β) = α ln β − ln Γ(α) + (α − 1) ln x − βx
//!
//! Split: a(θ) = α ln β − ln Γ(α), b(x) = 0, k(x, θ) = (α − 1)·ln x − β·x, from the features
//! f₀ = ln x and f₁ = x (ln x computed on the host in f64). The kernel is linear in the features,
//! so the device sums it on features centred at their data means and the host adds n·k(mean, θ)
//! in f64 ([`Shift::Linear`]): Σk stays small, and the f32 sum accurate, although ln Q is a small
//! difference of large terms (α ln β against β·x̄).

use super::KernelFloat;
use super::{
    Blocked, CoupledKernel, Domain, Family, Kernel, ParamSpec, Scaling, Shift, SuffStatsSpec,
};
use crate::error::{Error, Result};
use crate::numeric::ln_gamma;
use rand::rngs::StdRng;
use rand_distr::Distribution;
use statrs::function::gamma::digamma;

/// The gamma family `gamma(shape, rate)`.
pub struct Gamma;

/// k(x, θ) = c₀·f₀ − c₁·f₁ with f₀ = ln x, f₁ = x, c₀ = α − 1, c₁ = β: linear, so the device sums
/// it on centred features ([`Shift::Linear`]).
pub struct GammaKernel;

impl Kernel for GammaKernel {
    const NF: usize = 2;
    const NC: usize = 2;
    #[inline(always)]
    fn k<T: KernelFloat>(f: &[T], c: &[T]) -> T {
        c[0] * f[0] - c[1] * f[1]
    }
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "shape",
        domain: Domain::Positive,
    },
    ParamSpec {
        name: "rate",
        domain: Domain::Positive,
    },
];

impl Family for Gamma {
    fn name(&self) -> &'static str {
        "gamma"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "x > 0"
    }

    /// α ln β − ln Γ(α) + (α − 1) ln x − βx for x > 0, −∞ otherwise.
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        if !(x > 0.0 && x.is_finite()) {
            return f64::NEG_INFINITY;
        }
        let (shape, rate) = (t[0], t[1]);
        shape * rate.ln() - ln_gamma(shape) + (shape - 1.0) * x.ln() - rate * x
    }

    /// ∂α = ln β − ψ(α) + ln x, ∂β = α/β − x; ∂αα = −ψ′(α), ∂αβ = 1/β, ∂ββ = −α/β².
    fn ln_pdf_derivatives(&self, x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        let (a, b) = (t[0], t[1]);
        g[0] = b.ln() - digamma(a) + x.ln();
        g[1] = a / b - x;
        h[0] = -crate::numeric::trigamma(a);
        h[1] = 1.0 / b;
        h[2] = 1.0 / b;
        h[3] = -a / (b * b);
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x > 0.0 && x.is_finite()
    }

    /// a = α ln β − ln Γ(α).
    fn log_norm(&self, t: &[f64]) -> f64 {
        t[0] * t[1].ln() - ln_gamma(t[0])
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<GammaKernel>::NEW
    }

    /// c₀ = α − 1, c₁ = β.
    fn kernel_consts(&self, t: &[f64], _shift: f64, out: &mut [f64]) {
        out[0] = t[0] - 1.0;
        out[1] = t[1];
    }

    /// Scaling: k is linear: each constant scales like the inverse of its feature.
    fn scaling(&self) -> Option<Scaling> {
        Some(&[&[1, 0], &[0, 1]])
    }

    fn shift(&self) -> Shift {
        Shift::Linear
    }

    /// f₀ = ln x, f₁ = x.
    fn features(&self, x: f64, _shift: f64, out: &mut [f64]) {
        out[0] = x.ln();
        out[1] = x;
    }

    /// Sufficient statistics Tⱼ = Σ fⱼ (the kernel is linear in the features).
    fn suffstats(&self) -> Option<SuffStatsSpec> {
        Some(SuffStatsSpec::linear::<GammaKernel>())
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../../shaders/family/gamma.wgsl")
    }

    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        let d = rand_distr::Gamma::new(t[0], 1.0 / t[1])
            .map_err(|e| Error::input(format!("gamma: {e}")))?;
        for o in out {
            *o = d.sample(rng);
        }
        Ok(())
    }

    /// H = α − ln β + ln Γ(α) + (1 − α)·ψ(α).
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        let (shape, rate) = (t[0], t[1]);
        Some(shape - rate.ln() + ln_gamma(shape) + (1.0 - shape) * digamma(shape))
    }

    /// D_KL = (α_p − α_q)·ψ(α_p) − lnΓ(α_p) + lnΓ(α_q) + α_q·(ln β_p − ln β_q)
    /// + α_p·(β_q − β_p)/β_p  (α shape, β rate, ψ the digamma function).
    fn kl_exact(&self, p: &[f64], q: &[f64]) -> Option<f64> {
        let ((ap, bp), (aq, bq)) = ((p[0], p[1]), (q[0], q[1]));
        Some(
            (ap - aq) * digamma(ap) - ln_gamma(ap)
                + ln_gamma(aq)
                + aq * (bp.ln() - bq.ln())
                + ap * (bq - bp) / bp,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::families::testing::simpson;
    use rand::SeedableRng;

    #[test]
    fn entropy_matches_numeric_integral() {
        for t in [[1.7, 1.7], [0.6, 2.5], [1.0, 0.5], [12.0, 3.0]] {
            // −∫ p ln p dx with x = eᵘ, dx = eᵘ du.
            let f = |u: f64| {
                let x = u.exp();
                let lp = Gamma.ln_pdf(x, &t);
                let p = lp.exp();
                if p > 0.0 {
                    -p * lp * x
                } else {
                    0.0
                }
            };
            let h = simpson(f, -200.0, 8.0, 400_000);
            let e = Gamma.entropy(&t).unwrap();
            assert!((h - e).abs() < 1e-9, "{t:?}: numeric {h} formula {e}");
        }
    }

    #[test]
    fn sampler_moments_match() {
        let t = [2.5, 1.5];
        let mut xs = vec![0.0; 400_000];
        Gamma
            .sample_into(&t, &mut StdRng::seed_from_u64(5), &mut xs)
            .unwrap();
        let (m, v) = crate::model::moments::mean_var(&xs).unwrap();
        let (em, ev) = (t[0] / t[1], t[0] / (t[1] * t[1]));
        assert!((m - em).abs() < 0.01 * em, "mean {m} vs {em}");
        assert!((v - ev).abs() < 0.03 * ev, "var {v} vs {ev}");
    }
}
