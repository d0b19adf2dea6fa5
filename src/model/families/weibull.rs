//! Weibull distribution with shape k and scale λ, support x > 0.
//!
//! log Q(x | k, λ) = ln k − ln λ + (k − 1)(ln x − ln λ) − (x/λ)ᵏ
//!                 = ln k − ln x + u − eᵘ,   u = k·(ln x − ln λ)
//!
//! Split: a(θ) = ln k, b(x) = −ln x, k(x, θ) = u − eᵘ, from the feature f₀ = ln x − c (computed on
//! the host in f64 and centred by the shift c), so that u = k·(f₀ − (ln λ − c)).

use super::KernelFloat;
use super::{
    Blocked, CoupledKernel, Domain, Family, Form, Kernel, KernelClass, ParamSpec, Scaling, Shift,
    StatsForm, SuffStatsSpec,
};
use crate::error::{Error, Result};
use rand::rngs::StdRng;
use rand_distr::Distribution;

/// The Weibull family `weibull(shape, scale)`.
pub struct Weibull;

/// k(x, θ) = u − eᵘ with u = c₁·(f₀ − c₀), f₀ = ln x − c, c₀ = ln λ − c, c₁ = k. On the fast CPU
/// path, a block of points sharing the shape k factors eᵘ = (x/e^c)ᵏ·(λ/e^c)⁻ᵏ into a power
/// per sample and one per point ([`Form::ExpAffine`]).
pub struct WeibullKernel;

impl Kernel for WeibullKernel {
    const NF: usize = 1;
    const NC: usize = 2;
    const FORM: Form = Form::ExpAffine {
        slope: 1,
        offset: 0,
    };
    #[inline(always)]
    fn k<T: KernelFloat>(f: &[T], c: &[T]) -> T {
        let u = c[1] * (f[0] - c[0]);
        u - u.vexp()
    }
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "shape",
        domain: Domain::Positive,
    },
    ParamSpec {
        name: "scale",
        domain: Domain::Positive,
    },
];

/// Euler–Mascheroni constant γ.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

impl Family for Weibull {
    fn name(&self) -> &'static str {
        "weibull"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "x > 0"
    }

    /// ln k − ln λ + (k − 1)·ln(x/λ) − (x/λ)ᵏ for x > 0, −∞ otherwise.
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        if !(x > 0.0 && x.is_finite()) {
            return f64::NEG_INFINITY;
        }
        let (k, lambda) = (t[0], t[1]);
        let r = x / lambda;
        k.ln() - lambda.ln() + (k - 1.0) * r.ln() - r.powf(k)
    }

    /// With L = ln(x/λ) and w = (x/λ)ᵏ: ∂k = 1/k + L·(1 − w), ∂λ = k(w − 1)/λ;
    /// ∂kk = −1/k² − L²w, ∂kλ = (w − 1 + kLw)/λ, ∂λλ = −k(kw + w − 1)/λ².
    fn ln_pdf_derivatives(&self, x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        let (k, lam) = (t[0], t[1]);
        let l = (x / lam).ln();
        let w = (k * l).exp();
        g[0] = 1.0 / k + l * (1.0 - w);
        g[1] = k * (w - 1.0) / lam;
        h[0] = -1.0 / (k * k) - l * l * w;
        h[1] = (w - 1.0 + k * l * w) / lam;
        h[2] = h[1];
        h[3] = -k * (k * w + w - 1.0) / (lam * lam);
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x > 0.0 && x.is_finite()
    }

    /// a = ln k.
    fn log_norm(&self, t: &[f64]) -> f64 {
        t[0].ln()
    }

    /// b = −ln x.
    fn data_term(&self, x: f64) -> f64 {
        -x.ln()
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<WeibullKernel>::NEW
    }

    /// c₀ = ln λ − c, c₁ = k.
    fn kernel_consts(&self, t: &[f64], shift: f64, out: &mut [f64]) {
        out[0] = t[1].ln() - shift;
        out[1] = t[0];
    }

    /// f₀ = ln x − c.
    fn features(&self, x: f64, shift: f64, out: &mut [f64]) {
        out[0] = x.ln() - shift;
    }

    /// Scaling: c₀ = ln λ − c like the feature f₀ = ln x − c, c₁ = k like its inverse.
    fn scaling(&self) -> Option<Scaling> {
        Some(&[&[-1], &[1]])
    }

    fn shift(&self) -> Shift {
        Shift::Location
    }

    /// With the shape k fixed: T = (Σf, Σe^(k·f)) of f = ln x − c, since with u = k(f − c₀),
    /// Σ(u − eᵘ) = k·T₀ − n·k·c₀ − e^(−k·c₀)·T₁: η = (k, −e^(−k·c₀)), κ = −k·c₀.
    fn suffstats(&self) -> Option<SuffStatsSpec> {
        Some(SuffStatsSpec {
            form: StatsForm::ExpScaled(1),
            fixed_params: &[0],
            natural: |c, eta| {
                eta[0] = c[1];
                eta[1] = -(-c[1] * c[0]).exp();
                -c[1] * c[0]
            },
            outside: None,
        })
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../../shaders/family/weibull.wgsl")
    }

    fn kernel_class(&self) -> KernelClass {
        KernelClass::Transcendental
    }

    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        let d = rand_distr::Weibull::new(t[1], t[0])
            .map_err(|e| Error::input(format!("weibull: {e}")))?;
        for o in out {
            *o = d.sample(rng);
        }
        Ok(())
    }

    /// H = γ·(1 − 1/k) + ln(λ/k) + 1.
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        let (k, lambda) = (t[0], t[1]);
        Some(EULER_GAMMA * (1.0 - 1.0 / k) + (lambda / k).ln() + 1.0)
    }

    /// With E_P[ln x] = ln λ_p − γ/k_p, E_P[(x/λ_p)^k_p] = 1 and
    /// E_P[(x/λ_q)^k_q] = (λ_p/λ_q)^k_q·Γ(1 + k_q/k_p) (γ Euler's constant):
    /// D_KL = ln(k_p/k_q) + k_q·ln(λ_q/λ_p) − γ·(k_p − k_q)/k_p − 1 + (λ_p/λ_q)^k_q·Γ(1 + k_q/k_p).
    fn kl_exact(&self, p: &[f64], q: &[f64]) -> Option<f64> {
        let ((kp, lp), (kq, lq)) = ((p[0], p[1]), (q[0], q[1]));
        let moment = (kq * (lp / lq).ln() + crate::numeric::ln_gamma(1.0 + kq / kp)).exp();
        Some((kp / kq).ln() + kq * (lq / lp).ln() - EULER_GAMMA * (kp - kq) / kp - 1.0 + moment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::families::testing::{entropy_integral, exp_map};
    use crate::numeric::ln_gamma;
    use rand::SeedableRng;

    #[test]
    fn entropy_matches_numeric_integral() {
        for t in [[1.7, 1.7], [0.7, 2.0], [1.0, 0.5], [5.0, 3.0]] {
            let h = entropy_integral(|x| Weibull.ln_pdf(x, &t), exp_map, -120.0, 8.0, 400_000);
            let e = Weibull.entropy(&t).unwrap();
            assert!((h - e).abs() < 1e-9, "{t:?}: numeric {h} formula {e}");
        }
    }

    #[test]
    fn sampler_moments_match() {
        let t = [1.5, 2.0];
        let mut xs = vec![0.0; 400_000];
        Weibull
            .sample_into(&t, &mut StdRng::seed_from_u64(5), &mut xs)
            .unwrap();
        let (m, v) = crate::model::moments::mean_var(&xs).unwrap();
        let g1 = ln_gamma(1.0 + 1.0 / t[0]).exp();
        let g2 = ln_gamma(1.0 + 2.0 / t[0]).exp();
        let (em, ev) = (t[1] * g1, t[1] * t[1] * (g2 - g1 * g1));
        assert!((m - em).abs() < 0.01 * em, "mean {m} vs {em}");
        assert!((v - ev).abs() < 0.03 * ev, "var {v} vs {ev}");
    }
}
