//! Exponential distribution with rate λ.
//!
//! log Q(x | λ) = ln λ − λx for x ≥ 0, −∞ otherwise.
//!
//! Split: a(θ) = ln λ, b(x) = 0, k(x, θ) = −λx.

use super::KernelFloat;
use super::{
    Blocked, CoupledKernel, Domain, Family, Kernel, ParamSpec, Scaling, Shift, SuffStatsSpec,
};
use crate::error::{Error, Result};
use rand::rngs::StdRng;
use rand_distr::Distribution;

/// The exponential family `exponential(rate)`.
pub struct Exponential;

/// k(x, θ) = −c₀·x with c₀ = λ.
pub struct ExponentialKernel;

impl Kernel for ExponentialKernel {
    const NF: usize = 1;
    const NC: usize = 1;
    #[inline(always)]
    fn k<T: KernelFloat>(f: &[T], c: &[T]) -> T {
        -c[0] * f[0]
    }
}

const PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "rate",
    domain: Domain::Positive,
}];

impl Family for Exponential {
    fn name(&self) -> &'static str {
        "exponential"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "x >= 0"
    }

    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        if x < 0.0 {
            return f64::NEG_INFINITY;
        }
        t[0].ln() - t[0] * x
    }

    /// ∂λ = 1/λ − x, ∂λλ = −1/λ².
    fn ln_pdf_derivatives(&self, x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        g[0] = 1.0 / t[0] - x;
        h[0] = -1.0 / (t[0] * t[0]);
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x >= 0.0 && x.is_finite()
    }

    fn log_norm(&self, t: &[f64]) -> f64 {
        t[0].ln()
    }

    /// c₀ = λ.
    fn kernel_consts(&self, t: &[f64], _shift: f64, out: &mut [f64]) {
        out[0] = t[0];
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<ExponentialKernel>::NEW
    }

    /// Scaling: k = −c₀·f₀ is linear: c₀ scales like the inverse of the feature.
    fn scaling(&self) -> Option<Scaling> {
        Some(&[&[1]])
    }

    fn shift(&self) -> Shift {
        Shift::Linear
    }

    /// Sufficient statistics Tⱼ = Σ fⱼ (the kernel is linear in the features).
    fn suffstats(&self) -> Option<SuffStatsSpec> {
        Some(SuffStatsSpec::linear::<ExponentialKernel>())
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../../shaders/family/exponential.wgsl")
    }

    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        let d =
            rand_distr::Exp::new(t[0]).map_err(|e| Error::input(format!("exponential: {e}")))?;
        for o in out {
            *o = d.sample(rng);
        }
        Ok(())
    }

    /// λ̂ = 1/x̄.
    fn mle(&self, xs: &[f64], _fixed: &[Option<f64>]) -> Option<Vec<f64>> {
        let (mean, _) = crate::model::moments::mean_var(xs)?;
        (mean > 0.0).then(|| vec![1.0 / mean])
    }

    /// λ̂ = 1/x̄.
    fn mle_streamed(
        &self,
        m: &crate::model::moments::Moments,
        _fixed: &[Option<f64>],
    ) -> super::StreamedMle {
        Ok((m.n > 0 && m.mean > 0.0).then(|| vec![1.0 / m.mean]))
    }

    /// H = 1 − ln λ.
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        Some(1.0 - t[0].ln())
    }

    /// D_KL = ln(λ_p/λ_q) + λ_q/λ_p − 1.
    fn kl_exact(&self, p: &[f64], q: &[f64]) -> Option<f64> {
        let r = q[0] / p[0];
        Some(r - 1.0 - r.ln())
    }
}
