//! Cauchy distribution with location μ and scale s.
//!
//! log Q(x | μ, s) = −ln(π s) − ln(1 + ((x − μ)/s)²)
//!
//! Split: a(θ) = −ln(π s), b(x) = 0, k(x, θ) = −log1p(z²) with z = (x − μ)·(1/s) on the
//! shifted sample.

use super::KernelFloat;
use super::{
    Blocked, CoupledKernel, Domain, Family, Form, Kernel, KernelClass, ParamSpec, Scaling, Shift,
};
use crate::error::{Error, Result};
use rand::rngs::StdRng;
use rand_distr::Distribution;
use std::f64::consts::PI;

/// The Cauchy family `cauchy(mu, scale)`.
pub struct Cauchy;

/// k(x, θ) = −log1p(z²), z = (f₀ − c₀)·c₁, with c₀ = μ − c, c₁ = 1/s; on the fast CPU path in
/// the log-product form w = −1, u = 1 + z² ([`Form::LogProduct`]).
pub struct CauchyKernel;

impl Kernel for CauchyKernel {
    const NF: usize = 1;
    const NC: usize = 2;
    const FORM: Form = Form::LogProduct { linear: false };
    #[inline(always)]
    fn k<T: KernelFloat>(f: &[T], c: &[T]) -> T {
        let z = (f[0] - c[0]) * c[1];
        -(z * z).vln_1p()
    }
    #[inline(always)]
    fn log_parts<T: KernelFloat>(f: &[T], c: &[T]) -> (T, T) {
        let z = (f[0] - c[0]) * c[1];
        (z.mul_add(z, T::one()), T::zero())
    }
    #[inline(always)]
    fn log_weight<T: KernelFloat>(_c: &[T]) -> T {
        -T::one()
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

impl Family for Cauchy {
    fn name(&self) -> &'static str {
        "cauchy"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "all reals"
    }

    /// −ln(π s) − ln_1p(((x − μ)/s)²).
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        if !x.is_finite() {
            return f64::NEG_INFINITY;
        }
        let z = (x - t[0]) / t[1];
        -(PI * t[1]).ln() - (z * z).ln_1p()
    }

    /// Location–scale with f(z) = −ln(1 + z²): f′ = −2z/(1 + z²), f″ = −2(1 − z²)/(1 + z²)².
    fn ln_pdf_derivatives(&self, x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        let z = (x - t[0]) / t[1];
        let q = 1.0 + z * z;
        super::location_scale_derivatives(
            z,
            t[1],
            -2.0 * z / q,
            -2.0 * (1.0 - z * z) / (q * q),
            (0, 1, 2),
            g,
            h,
        );
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x.is_finite()
    }

    /// a = −ln(π s).
    fn log_norm(&self, t: &[f64]) -> f64 {
        -(PI * t[1]).ln()
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<CauchyKernel>::NEW
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
        include_str!("../../../shaders/family/cauchy.wgsl")
    }

    fn kernel_class(&self) -> KernelClass {
        KernelClass::Transcendental
    }

    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        let d = rand_distr::Cauchy::new(t[0], t[1])
            .map_err(|e| Error::input(format!("cauchy: {e}")))?;
        for o in out {
            *o = d.sample(rng);
        }
        Ok(())
    }

    /// H = ln(4π s).
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        Some((4.0 * PI * t[1]).ln())
    }

    /// D_KL = ln(((γ_p + γ_q)² + (μ_p − μ_q)²)/(4·γ_p·γ_q))  (γ the scale; symmetric in P and Q).
    fn kl_exact(&self, p: &[f64], q: &[f64]) -> Option<f64> {
        let ((mp, gp), (mq, gq)) = ((p[0], p[1]), (q[0], q[1]));
        let d = mp - mq;
        Some((((gp + gq) * (gp + gq) + d * d) / (4.0 * gp * gq)).ln())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::families::testing::entropy_integral;
    use rand::SeedableRng;

    #[test]
    fn entropy_matches_numeric_integral() {
        for t in [[0.3, 1.7], [-4.0, 0.2], [100.0, 30.0]] {
            // x = μ + s·sinh v, dx = s·cosh v dv: the heavy tails become an exponentially
            // decaying integrand.
            let map = |v: f64| (t[0] + t[1] * v.sinh(), t[1] * v.cosh());
            let h = entropy_integral(|x| Cauchy.ln_pdf(x, &t), map, -45.0, 45.0, 400_000);
            let e = Cauchy.entropy(&t).unwrap();
            assert!((h - e).abs() < 1e-9, "{t:?}: numeric {h} formula {e}");
        }
    }

    #[test]
    fn sampler_quartiles_match() {
        // No mean or variance: the quartiles are μ ∓ s.
        let t = [0.3, 1.5];
        let mut xs = vec![0.0; 400_000];
        Cauchy
            .sample_into(&t, &mut StdRng::seed_from_u64(5), &mut xs)
            .unwrap();
        xs.sort_by(f64::total_cmp);
        let q = |p: f64| xs[(p * xs.len() as f64) as usize];
        assert!((q(0.5) - t[0]).abs() < 0.02, "median {}", q(0.5));
        assert!((q(0.25) - (t[0] - t[1])).abs() < 0.03, "q1 {}", q(0.25));
        assert!((q(0.75) - (t[0] + t[1])).abs() < 0.03, "q3 {}", q(0.75));
    }
}
