//! Location-scale Student t distribution with ν degrees of freedom, location μ and scale σ.
//!
//! log Q(x | ν, μ, σ) = ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln(νπ) − ln σ − (ν+1)/2 · ln(1 + z²/ν),
//! z = (x − μ)/σ
//!
//! Split: a(θ) = ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln(νπ) − ln σ (the lgamma difference without
//! cancellation, [`ln_gamma_half_ratio`]), b(x) = 0, k(x, θ) = −(ν+1)/2 · ln(1 + t) with
//! t = z²/ν, z = (x − μ)/σ on the shifted sample.
//!
//! Large ν (≥ [`NU_SPLIT`]): k = −z²/2 + r with r = −(ν+1)/2 · (ln(1 + t) − t) − z²/(2ν), and
//! the normal part −Σz²/2 is summed on the host in f64 from the data's moments
//! ([`Family::host_coupled_sums`]): the device sums only r, O(z⁴/ν), in f32. Without it, the f32
//! kernel's ~10⁻⁷ relative error is larger than the whole dependence of the likelihood on ν
//! beyond ν ≈ 10⁵ (differences of 10⁻¹⁰ between ν = 10⁷ and 10⁸), and the argmax over ν is noise;
//! with it, ν → ∞ approaches the normal kernel exactly (r → 0). r is accurate while t is small;
//! a chunk with t ≥ 16 at such a point (a sample beyond 4√ν scales) is evaluated in f64 for that
//! point ([`Family::f32_resolves`]).

use super::KernelFloat;
use super::{
    Blocked, CoupledKernel, Domain, Family, Form, Kernel, KernelClass, ParamSpec, Scaling, Shift,
};
use crate::error::{Error, Result};
use crate::model::grid::Grid;
use crate::numeric::{digamma_tail, ln_gamma, ln_gamma_half_ratio, Neumaier};
use rand::rngs::StdRng;
use rand_distr::Distribution;
use statrs::function::gamma::digamma;
use std::f64::consts::PI;

/// The Student t family `student_t(nu, mu, sigma)`.
pub struct StudentT;

/// Degrees of freedom from which the normal part −z²/2 of the kernel is summed on the host.
pub const NU_SPLIT: f64 = 1000.0;

/// Largest t = z²/ν in a chunk for which the large-ν kernel r is evaluated in f32.
const T_MAX: f64 = 16.0;

/// k(x, θ) with z = (f₀ − c₀)·c₁, q = z², t = q·c₃, from c₀ = μ − c, c₁ = 1/σ, c₂ = (ν + 1)/2,
/// c₃ = 1/ν and c₄ = 1 where ν ≥ [`NU_SPLIT`] (else 0): −c₂·ln(1 + t), or for c₄ = 1
/// r = −c₂·(ln(1 + t) − t) − q·c₃/2 (the host adds −q/2).
///
/// On the fast CPU path, blocks whose points all have c₄ = 0 and c₂ ≤ [`LOG_FORM_MAX_WEIGHT`]
/// take the log-product form w = −c₂, u = 1 + t ([`Form::LogProduct`]); its per-sample rounding
/// |w|·2⁻²³ stays below the direct form's there.
pub struct StudentTKernel;

/// Largest (ν + 1)/2 (ν ≤ 31) at which the fast CPU path sums the kernel as a log-product.
pub const LOG_FORM_MAX_WEIGHT: f32 = 16.0;

impl Kernel for StudentTKernel {
    const NF: usize = 1;
    const NC: usize = 5;
    const FORM: Form = Form::LogProduct { linear: false };
    #[inline(always)]
    fn log_parts<T: KernelFloat>(f: &[T], c: &[T]) -> (T, T) {
        let z = (f[0] - c[0]) * c[1];
        ((z * z).mul_add(c[3], T::one()), T::zero())
    }
    #[inline(always)]
    fn log_weight<T: KernelFloat>(c: &[T]) -> T {
        -c[2]
    }
    fn log_form_holds(c: &[f32]) -> bool {
        c[4] == 0.0 && c[2] <= LOG_FORM_MAX_WEIGHT
    }
    #[inline(always)]
    fn k<T: KernelFloat>(f: &[T], c: &[T]) -> T {
        let z = (f[0] - c[0]) * c[1];
        let q = z * z;
        let t = q * c[3];
        let half = T::from(0.5).unwrap();
        let large_nu = -c[2] * t.vln_1pmx() - half * q * c[3];
        let plain = -c[2] * t.vln_1p();
        if c[4] > T::zero() {
            large_nu
        } else {
            plain
        }
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
        // ln Γ((ν+1)/2) − ln Γ(ν/2) without the cancellation of two terms of order ν ln ν.
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

    /// c₀ = μ − c, c₁ = 1/σ, c₂ = (ν + 1)/2, c₃ = 1/ν, c₄ = 1 for ν ≥ [`NU_SPLIT`] (else 0).
    fn kernel_consts(&self, t: &[f64], shift: f64, out: &mut [f64]) {
        let (nu, mu, sigma) = (t[0], t[1], t[2]);
        out[0] = mu - shift;
        out[1] = 1.0 / sigma;
        out[2] = 0.5 * (nu + 1.0);
        out[3] = 1.0 / nu;
        out[4] = if nu >= NU_SPLIT { 1.0 } else { 0.0 };
    }

    /// Scaling: c₀ = μ − c like the feature, c₁ = 1/σ like its inverse, the others unchanged.
    fn scaling(&self) -> Option<Scaling> {
        Some(&[&[-1], &[1], &[0], &[0], &[0]])
    }

    /// The normal part of the large-ν kernel, −Σᵢ (xᵢ − μ)²/(2σ²) at the points with
    /// ν ≥ [`NU_SPLIT`] (0 elsewhere), in f64 from the finite samples' moments about their own
    /// mean m: Σ(x − μ)² = M₂ − 2(μ − m)·S₁ + n(μ − m)², S₁ = Σ(x − m) (0 up to rounding).
    fn host_coupled_sums(&self, grid: &Grid, xs: &[f64]) -> Option<Vec<f64>> {
        let finite = || xs.iter().copied().filter(|x| x.is_finite());
        let mut s = Neumaier::default();
        let mut n = 0usize;
        for x in finite() {
            s.add(x);
            n += 1;
        }
        let m = if n > 0 { s.value() / n as f64 } else { 0.0 };
        let (mut s1, mut m2) = (Neumaier::default(), Neumaier::default());
        for x in finite() {
            s1.add(x - m);
            m2.add((x - m) * (x - m));
        }
        let (s1, m2, n) = (s1.value(), m2.value(), n as f64);
        Some(
            (0..grid.len())
                .map(|p| {
                    let t = grid.theta(p);
                    let (nu, mu, sigma) = (t[0], t[1], t[2]);
                    if nu < NU_SPLIT || nu.is_nan() {
                        return 0.0;
                    }
                    let d = mu - m;
                    -(m2 - 2.0 * d * s1 + n * d * d) / (2.0 * sigma * sigma)
                })
                .collect(),
        )
    }

    /// At the large-ν points, whether the chunk's largest t = z²/ν is below 16 (where r is
    /// accurate in f32).
    fn f32_resolves(&self, range: &[(f64, f64)], c: &[f64]) -> bool {
        if c[4] == 0.0 {
            return true;
        }
        let z = (range[0].0 - c[0]).abs().max((range[0].1 - c[0]).abs()) * c[1];
        z * z * c[3] < T_MAX
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
        let ln_b = ln_gamma(0.5) - ln_gamma_half_ratio(h);
        // ψ(h + ½) − ψ(h) by the digamma tails for large h (two values of order ln h otherwise).
        let dpsi = if h >= 10.0 {
            (0.5 / h).ln_1p() - 0.5 / h1 + 0.5 / h - digamma_tail(h1) + digamma_tail(h)
        } else {
            digamma(h1) - digamma(h)
        };
        Some(h1 * dpsi + 0.5 * nu.ln() + ln_b + sigma.ln())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::families::testing::entropy_integral;
    use rand::SeedableRng;

    #[test]
    fn entropy_matches_numeric_integral() {
        for t in [
            [5.0, 0.3, 1.7],
            [0.7, -4.0, 0.2],
            [1.0, 2.0, 3.0],
            [60.0, 10.0, 5.0],
        ] {
            // x = μ + σ·sinh v, dx = σ·cosh v dv: the polynomial tails become an exponentially
            // decaying integrand.
            let map = |v: f64| (t[1] + t[2] * v.sinh(), t[2] * v.cosh());
            let h = entropy_integral(|x| StudentT.ln_pdf(x, &t), map, -300.0, 300.0, 1_000_000);
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
