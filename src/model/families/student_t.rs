//! Location-scale Student t distribution with ν degrees of freedom, location μ and scale σ.
//!
//! log Q(x | ν, μ, σ) = ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln(νπ) − ln σ − (ν+1)/2 · ln(1 + z²/ν),
//! z = (x − μ)/σ
//!
//! Split: a(θ) = ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln(νπ) − ln σ, b(x) = 0,
//! k(x, θ) = −(ν+1)/2 · log1p(w²) with w = (x − μ)·1/(σ√ν) on the shifted sample.
//!
//! ln Γ((ν+1)/2) − ln Γ(ν/2) is [`ln_gamma_half_ratio`]`(ν/2)`, which keeps its precision for
//! large ν (the difference of two `lgamma` values of ~10¹² loses every digit at ν = 10¹¹).

use super::KernelFloat;
use super::{
    Blocked, CoupledKernel, Domain, Family, Kernel, KernelClass, ParamSpec, Scaling, Shift,
};
use crate::error::{Error, Result};
use crate::numeric::{ln_gamma, ln_gamma_half_ratio};
use rand::rngs::StdRng;
use rand_distr::Distribution;
use statrs::function::gamma::digamma;
use std::f64::consts::PI;

/// The Student t family `student_t(nu, mu, sigma)`.
pub struct StudentT;

/// k(x, θ) = −c₂·log1p(w²), w = (f₀ − c₀)·c₁, with c₀ = μ − c, c₁ = 1/(σ√ν), c₂ = (ν + 1)/2.
pub struct StudentTKernel;

impl Kernel for StudentTKernel {
    const NF: usize = 1;
    const NC: usize = 3;
    #[inline(always)]
    fn k<T: KernelFloat>(f: &[T], c: &[T]) -> T {
        let w = (f[0] - c[0]) * c[1];
        -c[2] * (w * w).vln_1p()
    }
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "nu",
        domain: Domain::Positive,
    },
    ParamSpec {
        name: "mu",
        domain: Domain::Real,
    },
    ParamSpec {
        name: "sigma",
        domain: Domain::Positive,
    },
];

impl Family for StudentT {
    fn name(&self) -> &'static str {
        "student_t"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "all reals"
    }

    fn example_theta(&self) -> Vec<f64> {
        vec![5.0, 0.3, 1.7]
    }

    /// ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln(νπ) − ln σ − (ν+1)/2 · ln_1p(z²/ν), z = (x − μ)/σ.
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        if !x.is_finite() {
            return f64::NEG_INFINITY;
        }
        let (nu, mu, sigma) = (t[0], t[1], t[2]);
        let z = (x - mu) / sigma;
        ln_gamma_half_ratio(0.5 * nu)
            - 0.5 * (nu * PI).ln()
            - sigma.ln()
            - 0.5 * (nu + 1.0) * (z * z / nu).ln_1p()
    }

    /// μ, σ: location–scale with f(z) = −((ν + 1)/2)·ln(1 + z²/ν), f′ = −(ν + 1)z/(ν + z²),
    /// f″ = −(ν + 1)(ν − z²)/(ν + z²)². ν, with q = ν + z²:
    ///
    /// ```text
    /// ∂ν  = ½ψ((ν + 1)/2) − ½ψ(ν/2) − 1/(2ν) − ½ln(1 + z²/ν) + (ν + 1)z²/(2νq)
    /// ∂νν = ¼ψ′((ν + 1)/2) − ¼ψ′(ν/2) + 1/(2ν²) + z²/(2νq) − z²(ν² + 2ν + z²)/(2ν²q²)
    /// ∂νμ = z(z² − 1)/(σq²),   ∂νσ = z²(z² − 1)/(σq²)
    /// ```
    fn ln_pdf_derivatives(&self, x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        use crate::numeric::trigamma;
        use statrs::function::gamma::digamma;
        let (nu, mu, sigma) = (t[0], t[1], t[2]);
        let z = (x - mu) / sigma;
        let z2 = z * z;
        let q = nu + z2;
        super::location_scale_derivatives(
            z,
            sigma,
            -(nu + 1.0) * z / q,
            -(nu + 1.0) * (nu - z2) / (q * q),
            (1, 2, 3),
            g,
            h,
        );
        g[0] = 0.5 * digamma(0.5 * (nu + 1.0))
            - 0.5 * digamma(0.5 * nu)
            - 0.5 / nu
            - 0.5 * (z2 / nu).ln_1p()
            + (nu + 1.0) * z2 / (2.0 * nu * q);
        h[0] = 0.25 * trigamma(0.5 * (nu + 1.0)) - 0.25 * trigamma(0.5 * nu)
            + 0.5 / (nu * nu)
            + z2 / (2.0 * nu * q)
            - z2 * (nu * nu + 2.0 * nu + z2) / (2.0 * nu * nu * q * q);
        let (nm, ns) = (
            z * (z2 - 1.0) / (sigma * q * q),
            z2 * (z2 - 1.0) / (sigma * q * q),
        );
        h[1] = nm;
        h[3] = nm;
        h[2] = ns;
        h[6] = ns;
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x.is_finite()
    }

    /// a = ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln(νπ) − ln σ.
    fn log_norm(&self, t: &[f64]) -> f64 {
        let (nu, sigma) = (t[0], t[2]);
        ln_gamma_half_ratio(0.5 * nu) - 0.5 * (nu * PI).ln() - sigma.ln()
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<StudentTKernel>::NEW
    }

    /// c₀ = μ − c, c₁ = 1/(σ√ν), c₂ = (ν + 1)/2.
    fn kernel_consts(&self, t: &[f64], shift: f64, out: &mut [f64]) {
        let (nu, mu, sigma) = (t[0], t[1], t[2]);
        out[0] = mu - shift;
        out[1] = 1.0 / (sigma * nu.sqrt());
        out[2] = 0.5 * (nu + 1.0);
    }

    /// Scaling: c₀ = μ − c like the feature, c₁ = 1/(σ√ν) like its inverse, c₂ = (ν + 1)/2 unchanged.
    fn scaling(&self) -> Option<Scaling> {
        Some(&[&[-1], &[1], &[0]])
    }

    fn shift(&self) -> Shift {
        Shift::Location
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../../shaders/family/student_t.wgsl")
    }

    fn kernel_class(&self) -> KernelClass {
        KernelClass::Transcendental
    }

    /// x = μ + σ·T, T ~ t(ν).
    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        let (nu, mu, sigma) = (t[0], t[1], t[2]);
        let d =
            rand_distr::StudentT::new(nu).map_err(|e| Error::input(format!("student_t: {e}")))?;
        for o in out {
            *o = mu + sigma * d.sample(rng);
        }
        Ok(())
    }

    /// H = (ν+1)/2 · [ψ((ν+1)/2) − ψ(ν/2)] + ½ ln ν + ln B(ν/2, ½) + ln σ.
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        let (nu, sigma) = (t[0], t[2]);
        let (h, h1) = (0.5 * nu, 0.5 * (nu + 1.0));
        let ln_b = ln_gamma(h) + ln_gamma(0.5) - ln_gamma(h1);
        Some(h1 * (digamma(h1) - digamma(h)) + 0.5 * nu.ln() + ln_b + sigma.ln())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::families::testing::simpson;
    use rand::SeedableRng;

    #[test]
    fn entropy_matches_numeric_integral() {
        for t in [
            [5.0, 0.3, 1.7],
            [0.7, -4.0, 0.2],
            [1.0, 2.0, 3.0],
            [60.0, 10.0, 5.0],
        ] {
            // −∫ p ln p dx with x = μ + σ·sinh v, dx = σ·cosh v dv: the polynomial tails become
            // an exponentially decaying integrand.
            let f = |v: f64| {
                let x = t[1] + t[2] * v.sinh();
                let lp = StudentT.ln_pdf(x, &t);
                let p = lp.exp();
                if p > 0.0 {
                    -p * lp * t[2] * v.cosh()
                } else {
                    0.0
                }
            };
            let h = simpson(f, -300.0, 300.0, 1_000_000);
            let e = StudentT.entropy(&t).unwrap();
            assert!((h - e).abs() < 1e-9, "{t:?}: numeric {h} formula {e}");
        }
    }

    #[test]
    fn sampler_moments_match() {
        let t = [10.0, 0.3, 1.5];
        let mut xs = vec![0.0; 400_000];
        StudentT
            .sample_into(&t, &mut StdRng::seed_from_u64(5), &mut xs)
            .unwrap();
        let (m, v) = crate::model::moments::mean_var(&xs).unwrap();
        let ev = t[0] / (t[0] - 2.0) * t[2] * t[2];
        assert!((m - t[1]).abs() < 0.02, "mean {m} vs {}", t[1]);
        assert!((v - ev).abs() < 0.03 * ev, "var {v} vs {ev}");
    }
}
