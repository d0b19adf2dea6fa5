//! Logistic distribution with location μ and scale s.
//!
//! log Q(x | μ, s) = −|z| − 2·ln(1 + e^(−|z|)) − ln s,   z = (x − μ)/s
//!
//! (the symmetric form of −z − 2 ln(1 + e^(−z)), which cannot overflow).
//!
//! Split: a(θ) = −ln s, b(x) = 0, k(x, θ) = −|z| − 2·log1p(e^(−|z|)) with z = (x − μ)·(1/s) on
//! the shifted sample.

use super::KernelFloat;
use super::{
    Blocked, CoupledKernel, Domain, Family, Form, Kernel, KernelClass, ParamSpec, Scaling, Shift,
};
use crate::error::Result;
use rand::distr::Open01;
use rand::rngs::StdRng;
use rand::RngExt;

/// The logistic family `logistic(mu, scale)`.
pub struct Logistic;

/// k(x, θ) = −|z| − 2·log1p(e^(−|z|)), z = (f₀ − c₀)·c₁, with c₀ = μ − c, c₁ = 1/s; on the fast
/// CPU path in the log-product form w = −2, u = 1 + e^(−|z|) ∈ [1, 2], v = −|z|
/// ([`Form::LogProduct`]).
pub struct LogisticKernel;

impl Kernel for LogisticKernel {
    const NF: usize = 1;
    const NC: usize = 2;
    const FORM: Form = Form::LogProduct { linear: true };
    #[inline(always)]
    fn log_parts<T: KernelFloat>(f: &[T], c: &[T]) -> (T, T) {
        let a = ((f[0] - c[0]) * c[1]).abs();
        (T::one() + a.vexp_neg(), -a)
    }
    #[inline(always)]
    fn log_weight<T: KernelFloat>(_c: &[T]) -> T {
        T::from(-2.0).unwrap()
    }
    #[inline(always)]
    fn k<T: KernelFloat>(f: &[T], c: &[T]) -> T {
        let a = ((f[0] - c[0]) * c[1]).abs();
        let l = a.vln_1p_exp_neg();
        -a - l - l
    }
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "mu",
        domain: Domain::Real,
    },
    ParamSpec {
        name: "scale",
        domain: Domain::Positive,
    },
];

impl Family for Logistic {
    fn name(&self) -> &'static str {
        "logistic"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "all reals"
    }

    /// −|z| − 2·ln_1p(e^(−|z|)) − ln s, z = (x − μ)/s.
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        if !x.is_finite() {
            return f64::NEG_INFINITY;
        }
        let a = ((x - t[0]) / t[1]).abs();
        -a - 2.0 * (-a).exp().ln_1p() - t[1].ln()
    }

    /// Location–scale with f(z) = −z − 2 ln(1 + e⁻ᶻ): f′ = −tanh(z/2), f″ = −(1 − tanh²(z/2))/2.
    fn ln_pdf_derivatives(&self, x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        let z = (x - t[0]) / t[1];
        let th = (0.5 * z).tanh();
        super::location_scale_derivatives(z, t[1], -th, -0.5 * (1.0 - th * th), (0, 1, 2), g, h);
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x.is_finite()
    }

    /// a = −ln s.
    fn log_norm(&self, t: &[f64]) -> f64 {
        -t[1].ln()
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<LogisticKernel>::NEW
    }

    /// c₀ = μ − c, c₁ = 1/s.
    fn kernel_consts(&self, t: &[f64], shift: f64, out: &mut [f64]) {
        out[0] = t[0] - shift;
        out[1] = 1.0 / t[1];
    }

    /// Scaling: c₀ = μ − c like the feature, c₁ = 1/s like its inverse.
    fn scaling(&self) -> Option<Scaling> {
        Some(&[&[-1], &[1]])
    }

    fn shift(&self) -> Shift {
        Shift::Location
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../../shaders/family/logistic.wgsl")
    }

    fn kernel_class(&self) -> KernelClass {
        KernelClass::Transcendental
    }

    /// Inverse CDF of u ~ U(0, 1) (open): x = μ + s·ln(u/(1 − u)).
    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        let (mu, s) = (t[0], t[1]);
        for o in out {
            let u: f64 = rng.sample(Open01);
            *o = mu + s * (u / (1.0 - u)).ln();
        }
        Ok(())
    }

    /// H = ln s + 2.
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        Some(t[1].ln() + 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::families::testing::simpson;
    use rand::SeedableRng;
    use std::f64::consts::PI;

    #[test]
    fn entropy_matches_numeric_integral() {
        for t in [[0.3, 1.7], [-4.0, 0.2], [100.0, 30.0]] {
            // −∫ p ln p dx over μ ± 80 s (the tails beyond are below e⁻⁸⁰).
            let f = |x: f64| {
                let lp = Logistic.ln_pdf(x, &t);
                -lp.exp() * lp
            };
            let w = 80.0 * t[1];
            let h = simpson(f, t[0] - w, t[0] + w, 400_000);
            let e = Logistic.entropy(&t).unwrap();
            assert!((h - e).abs() < 1e-9, "{t:?}: numeric {h} formula {e}");
        }
    }

    #[test]
    fn ln_pdf_matches_the_textbook_form() {
        // p = e^(−z) / (s·(1 + e^(−z))²), evaluated directly where it does not overflow.
        let t = [0.3, 1.7];
        for x in [-20.0, -3.0, 0.0, 0.3, 1.0, 5.0, 30.0] {
            let z: f64 = (x - t[0]) / t[1];
            let p = (-z).exp() / (t[1] * (1.0 + (-z).exp()).powi(2));
            assert!((Logistic.ln_pdf(x, &t) - p.ln()).abs() < 1e-12, "x={x}");
        }
    }

    #[test]
    fn sampler_moments_match() {
        let t = [0.3, 1.5];
        let mut xs = vec![0.0; 400_000];
        Logistic
            .sample_into(&t, &mut StdRng::seed_from_u64(5), &mut xs)
            .unwrap();
        let (m, v) = crate::model::moments::mean_var(&xs).unwrap();
        let ev = t[1] * t[1] * PI * PI / 3.0;
        assert!((m - t[0]).abs() < 0.02, "mean {m} vs {}", t[0]);
        assert!((v - ev).abs() < 0.03 * ev, "var {v} vs {ev}");
    }
}
