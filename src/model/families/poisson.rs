//! Poisson distribution with rate λ, support {0, 1, 2, …}.
//!
//! log Q(x | λ) = x ln λ − λ − ln x!
//!
//! Split: a(θ) = −λ, b(x) = −ln x!, k(x, θ) = x·ln λ. The kernel is linear: the device sums
//! (x − s)·c₀ for the data's mean s (rounded to 1/256) and the host adds n·s·c₀ ([`Shift::Linear`]).
//! Relative to s, so that the f32 terms stay small at large counts (at 10⁶, x·ln λ varies by
//! 1.4·10⁴ per sample where ln Q varies by 1), c₀ = ln(λ/s), a(θ; s) = s − λ and
//! b(x; s) = −ln x! + x·ln s − s = −stirlerr(x) − ½·ln(2πx) − bd0(x, s) (Loader's form, no
//! cancelling terms; −s at x = 0), summed on the host in f64.

use super::{
    Blocked, CoupledKernel, Domain, Family, ParamSpec, ScaledKernel, Scaling, Shift, SuffStatsSpec,
};
use crate::error::{Error, Result};
use crate::numeric::{bd0, ln_factorial, stirlerr};
use rand::rngs::StdRng;
use rand_distr::Distribution;

/// The Poisson family `poisson(rate)`.
pub struct Poisson;

const PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "rate",
    domain: Domain::Positive,
}];

impl Family for Poisson {
    fn name(&self) -> &'static str {
        "poisson"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "integers 0, 1, 2, ..."
    }
    fn integer_data(&self) -> bool {
        true
    }

    /// x ln λ − λ − ln x!; where x and λ both exceed 1000 (and the terms, of order x ln x,
    /// cancel), in Loader's form −stirlerr(x) − ½·ln(2πx) − bd0(x, λ).
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        if x < 0.0 || x.fract() != 0.0 {
            return f64::NEG_INFINITY;
        }
        if x.min(t[0]) > 1000.0 {
            return -stirlerr(x) - 0.5 * (std::f64::consts::TAU * x).ln() - bd0(x, t[0]);
        }
        x * t[0].ln() - t[0] - ln_factorial(x)
    }

    /// ∂λ = x/λ − 1, ∂λλ = −x/λ².
    fn ln_pdf_derivatives(&self, x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        g[0] = x / t[0] - 1.0;
        h[0] = -x / (t[0] * t[0]);
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x >= 0.0 && x.fract() == 0.0
    }

    fn log_norm(&self, t: &[f64]) -> f64 {
        -t[0]
    }

    fn data_term(&self, x: f64) -> f64 {
        -ln_factorial(x)
    }

    /// c₀ = ln(λ/s) for the data's mean s = `shift` (ln λ at s = 0).
    fn kernel_consts(&self, t: &[f64], shift: f64, out: &mut [f64]) {
        out[0] = if shift > 0.0 && t[0] > 0.5 * shift {
            // ln_1p of the exact difference: ln of the rounded ratio is off by ε, which n·s·c₀
            // multiplies by s (0.1 at counts of 10¹⁵).
            ((t[0] - shift) / shift).ln_1p()
        } else if shift > 0.0 {
            (t[0] / shift).ln()
        } else {
            t[0].ln()
        };
    }

    /// a(θ; s) = s − λ.
    fn log_norm_at(&self, t: &[f64], shift: f64) -> f64 {
        shift.max(0.0) - t[0]
    }

    /// b(x; s) = −ln x! + x·ln s − s (for s > 0, in Loader's form).
    fn data_term_at(&self, x: f64, shift: f64) -> f64 {
        if shift <= 0.0 {
            -ln_factorial(x)
        } else if x == 0.0 {
            -shift
        } else {
            -stirlerr(x) - 0.5 * (std::f64::consts::TAU * x).ln() - bd0(x, shift)
        }
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<ScaledKernel>::NEW
    }

    /// Scaling: k = c₀·f₀ is linear: c₀ scales like the inverse of the feature.
    fn scaling(&self) -> Option<Scaling> {
        Some(&[&[1]])
    }

    fn shift(&self) -> Shift {
        Shift::Linear
    }

    /// Sufficient statistics Tⱼ = Σ fⱼ (the kernel is linear in the features).
    fn suffstats(&self) -> Option<SuffStatsSpec> {
        Some(SuffStatsSpec::linear::<ScaledKernel>())
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../../shaders/family/poisson.wgsl")
    }

    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        let d =
            rand_distr::Poisson::new(t[0]).map_err(|e| Error::input(format!("poisson: {e}")))?;
        for o in out {
            *o = d.sample(rng);
        }
        Ok(())
    }

    /// λ̂ = x̄.
    fn mle(&self, xs: &[f64], _fixed: &[Option<f64>]) -> Option<Vec<f64>> {
        let (mean, _) = crate::model::moments::mean_var(xs)?;
        (mean > 0.0).then(|| vec![mean])
    }

    /// λ̂ = x̄.
    fn mle_streamed(
        &self,
        m: &crate::model::moments::Moments,
        _fixed: &[Option<f64>],
    ) -> super::StreamedMle {
        Ok((m.n > 0 && m.mean > 0.0).then(|| vec![m.mean]))
    }

    /// H = −Σₖ p(k) ln p(k), summed past the mode until the terms fall below 1e-20.
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        let lambda = t[0];
        if lambda >= super::large_entropy::THRESHOLD {
            // Bounded time: the asymptotic series instead of ~λ + 20√λ terms.
            return Some(super::large_entropy::poisson(lambda));
        }
        let mut h = crate::numeric::Neumaier::default();
        let mut k = 0.0f64;
        loop {
            let lp = self.ln_pdf(k, t);
            let p = lp.exp();
            if p > 0.0 {
                h.add(-p * lp);
            }
            if k > lambda && -p * lp < 1e-20 {
                break;
            }
            k += 1.0;
        }
        Some(h.value())
    }

    /// D_KL = λ_p·ln(λ_p/λ_q) + λ_q − λ_p.
    fn kl_exact(&self, p: &[f64], q: &[f64]) -> Option<f64> {
        Some(p[0] * (p[0] / q[0]).ln() + q[0] - p[0])
    }
}
