//! Normal distribution N(mu, sigma²).
//!
//! log Q(x | μ, σ) = −ln σ − ½ ln 2π − (x − μ)² / (2σ²)
//!
//! Split: a(θ) = −ln σ − ½ ln 2π, b(x) = 0, k(x, θ) = −(x − μ)²·h with h = 1/(2σ²).

use super::KernelFloat;
use super::{
    Blocked, CoupledKernel, Domain, Family, Kernel, ParamSpec, Scaling, Shift, StatsForm,
    SuffStatsSpec, HALF_LN_2PI,
};
use crate::error::{Error, Result};
use rand::rngs::StdRng;
use rand_distr::Distribution;

/// The normal family `normal(mu, sigma)`.
pub struct Normal;

/// Sufficient statistics of the normal kernel (also the lognormal's, on ln x): T = (Σf, Σf²) of
/// the centred feature, Σk = η·T + n·κ with η = (2c₀c₁, −c₁), κ = −c₀²c₁.
pub const NORMAL_STATS: SuffStatsSpec = SuffStatsSpec {
    form: StatsForm::Quadratic,
    fixed_params: &[],
    natural: |c, eta| {
        eta[0] = 2.0 * c[0] * c[1];
        eta[1] = -c[1];
        -c[0] * c[0] * c[1]
    },
    outside: None,
};

/// k(x, θ) = −(x − c₀)²·c₁ with c₀ = μ − shift, c₁ = 1/(2σ²).
pub struct NormalKernel;

impl Kernel for NormalKernel {
    const NF: usize = 1;
    const NC: usize = 2;
    #[inline(always)]
    fn k<T: KernelFloat>(f: &[T], c: &[T]) -> T {
        let d = f[0] - c[0];
        -(d * d) * c[1]
    }
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "mu",
        domain: Domain::Real,
    },
    ParamSpec {
        name: "sigma",
        domain: Domain::Positive,
    },
];

impl Family for Normal {
    fn name(&self) -> &'static str {
        "normal"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "all reals"
    }

    /// ln φ((x − μ)/σ) − ln σ.
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        let z = (x - t[0]) / t[1];
        -0.5 * z * z - t[1].ln() - HALF_LN_2PI
    }

    /// Location–scale with f(z) = −z²/2: f′ = −z, f″ = −1.
    fn ln_pdf_derivatives(&self, x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        let z = (x - t[0]) / t[1];
        super::location_scale_derivatives(z, t[1], -z, -1.0, (0, 1, 2), g, h);
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x.is_finite()
    }

    fn log_norm(&self, t: &[f64]) -> f64 {
        -t[1].ln() - HALF_LN_2PI
    }

    /// c₀ = μ − c, c₁ = 1/(2σ²).
    fn kernel_consts(&self, t: &[f64], shift: f64, out: &mut [f64]) {
        out[0] = t[0] - shift;
        out[1] = 0.5 / (t[1] * t[1]);
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<NormalKernel>::NEW
    }

    /// Scaling: c₀ = μ − c scales like the feature, c₁ = 1/(2σ²) like its inverse square.
    fn scaling(&self) -> Option<Scaling> {
        Some(&[&[-1], &[2]])
    }

    fn shift(&self) -> Shift {
        Shift::Location
    }

    fn suffstats(&self) -> Option<SuffStatsSpec> {
        Some(NORMAL_STATS)
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../../shaders/family/normal.wgsl")
    }

    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        let d = rand_distr::Normal::new(t[0], t[1])
            .map_err(|e| Error::input(format!("normal: {e}")))?;
        for o in out {
            *o = d.sample(rng);
        }
        Ok(())
    }

    /// μ̂ = x̄, σ̂ = √(Σ(x − μ̂)²/n) (two-pass); a parameter held fixed stays, and with μ fixed
    /// σ̂² = Σ(x − x̄)²/n + (x̄ − μ)².
    fn mle(&self, xs: &[f64], fixed: &[Option<f64>]) -> Option<Vec<f64>> {
        let (mean, var) = crate::model::moments::mean_var(xs)?;
        let mu = fixed[0].unwrap_or(mean);
        let sigma = fixed[1].unwrap_or_else(|| (var + (mean - mu) * (mean - mu)).sqrt());
        (sigma > 0.0).then(|| vec![mu, sigma])
    }

    /// μ̂ = x̄, σ̂ = √(M₂/n).
    fn mle_streamed(
        &self,
        m: &crate::model::moments::Moments,
        _fixed: &[Option<f64>],
    ) -> super::StreamedMle {
        Ok(m.var().filter(|&v| v > 0.0).map(|v| vec![m.mean, v.sqrt()]))
    }

    /// H = ½ ln(2πe σ²).
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        Some(0.5 + HALF_LN_2PI + t[1].ln())
    }

    /// D_KL = ln(σ_q/σ_p) + (σ_p² + (μ_p − μ_q)²)/(2σ_q²) − ½.
    fn kl_exact(&self, p: &[f64], q: &[f64]) -> Option<f64> {
        Some(super::kl_normal(p[0], p[1], q[0], q[1]))
    }
}
