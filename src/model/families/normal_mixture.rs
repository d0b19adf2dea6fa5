//! Two-component normal mixture w·N(μ₁, σ₁²) + (1 − w)·N(μ₂, σ₂²), w in (0, 1).
//!
//! log Q(x | θ) = −½ ln 2π + ln(e^ℓ₁ + e^ℓ₂),
//! ℓ₁ = ln w − ln σ₁ − (x − μ₁)²/(2σ₁²),   ℓ₂ = ln(1 − w) − ln σ₂ − (x − μ₂)²/(2σ₂²),
//!
//! with the log-sum-exp taken as max(ℓ₁, ℓ₂) + ln(1 + e^(−|ℓ₁ − ℓ₂|)).
//!
//! Split: a(θ) = −½ ln 2π, b(x) = 0, k(x, θ) = ln(e^ℓ₁ + e^ℓ₂) on the shifted sample, with the
//! θ-only parts of ℓ₁ and ℓ₂ (ln w − ln σ₁, ln(1 − w) − ln σ₂) folded into the constants.

use super::KernelFloat;
use super::{
    Blocked, CoupledKernel, Domain, Family, Form, Kernel, KernelClass, ParamSpec, Scaling, Shift,
    HALF_LN_2PI,
};
use crate::error::{Error, Result};
use rand::rngs::StdRng;
use rand::RngExt;
use rand_distr::Distribution;

/// The two-component normal mixture `normal_mixture(w, mu1, sigma1, mu2, sigma2)`.
pub struct NormalMixture;

/// k(x, θ) = max(ℓ₁, ℓ₂) + log1p(e^(−|ℓ₁ − ℓ₂|)), ℓ₁ = c₂ − (f₀ − c₀)²·c₁,
/// ℓ₂ = c₅ − (f₀ − c₃)²·c₄ (see `kernel_consts`); on the fast CPU path in the log-product form
/// w = 1, u = 1 + e^(−|ℓ₁ − ℓ₂|) ∈ [1, 2], v = max(ℓ₁, ℓ₂) ([`Form::LogProduct`]).
pub struct MixtureKernel;

impl Kernel for MixtureKernel {
    const NF: usize = 1;
    const NC: usize = 6;
    const FORM: Form = Form::LogProduct { linear: true };
    #[inline(always)]
    fn log_parts<T: KernelFloat>(f: &[T], c: &[T]) -> (T, T) {
        let (d1, d2) = (f[0] - c[0], f[0] - c[3]);
        let (l1, l2) = (c[2] - d1 * d1 * c[1], c[5] - d2 * d2 * c[4]);
        (T::one() + (l1 - l2).abs().vexp_neg(), l1.max(l2))
    }
    #[inline(always)]
    fn log_weight<T: KernelFloat>(_c: &[T]) -> T {
        T::one()
    }
    #[inline(always)]
    fn k<T: KernelFloat>(f: &[T], c: &[T]) -> T {
        let (d1, d2) = (f[0] - c[0], f[0] - c[3]);
        let (l1, l2) = (c[2] - d1 * d1 * c[1], c[5] - d2 * d2 * c[4]);
        l1.max(l2) + (l1 - l2).abs().vln_1p_exp_neg()
    }
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "w",
        domain: Domain::OpenUnit,
    },
    ParamSpec {
        name: "mu1",
        domain: Domain::Real,
    },
    ParamSpec {
        name: "sigma1",
        domain: Domain::Positive,
    },
    ParamSpec {
        name: "mu2",
        domain: Domain::Real,
    },
    ParamSpec {
        name: "sigma2",
        domain: Domain::Positive,
    },
];

/// ln(eᵃ + eᵇ) = max(a, b) + ln_1p(e^(−|a − b|)).
fn log_add_exp(a: f64, b: f64) -> f64 {
    a.max(b) + (-(a - b).abs()).exp().ln_1p()
}

impl Family for NormalMixture {
    fn name(&self) -> &'static str {
        "normal_mixture"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "all reals"
    }

    fn example_theta(&self) -> Vec<f64> {
        vec![0.3, -1.0, 0.7, 2.0, 1.2]
    }

    /// −½ ln 2π + log-sum-exp(ln w + ln φ₁, ln(1 − w) + ln φ₂), each ln φⱼ = −ln σⱼ − ½zⱼ².
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        if !x.is_finite() {
            return f64::NEG_INFINITY;
        }
        let (w, mu1, s1, mu2, s2) = (t[0], t[1], t[2], t[3], t[4]);
        let (z1, z2) = ((x - mu1) / s1, (x - mu2) / s2);
        let l1 = w.ln() - s1.ln() - 0.5 * z1 * z1;
        let l2 = (-w).ln_1p() - s2.ln() - 0.5 * z2 * z2;
        log_add_exp(l1, l2) - HALF_LN_2PI
    }

    /// With lᵢ = ln wᵢ + ln φ((x − μᵢ)/σᵢ) − ln σᵢ (w₁ = w, w₂ = 1 − w), L = ln(e^l₁ + e^l₂) and
    /// the responsibilities rᵢ = e^(lᵢ − L): ∇L = r₁∇l₁ + r₂∇l₂ and
    /// ∇²L = Σᵢ rᵢ(∇²lᵢ + ∇lᵢ∇lᵢᵀ) − ∇L∇Lᵀ, each component's derivatives being the normal's.
    fn ln_pdf_derivatives(&self, x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        let (w, mu1, s1, mu2, s2) = (t[0], t[1], t[2], t[3], t[4]);
        let (z1, z2) = ((x - mu1) / s1, (x - mu2) / s2);
        let l1 = w.ln() - s1.ln() - 0.5 * z1 * z1;
        let l2 = (-w).ln_1p() - s2.ln() - 0.5 * z2 * z2;
        let l = log_add_exp(l1, l2);
        let (r1, r2) = ((l1 - l).exp(), (l2 - l).exp());
        let d1 = [1.0 / w, z1 / s1, (z1 * z1 - 1.0) / s1, 0.0, 0.0];
        let d2 = [-1.0 / (1.0 - w), 0.0, 0.0, z2 / s2, (z2 * z2 - 1.0) / s2];
        for j in 0..5 {
            g[j] = r1 * d1[j] + r2 * d2[j];
        }
        for j in 0..5 {
            for k in j..5 {
                let v = r1 * d1[j] * d1[k] + r2 * d2[j] * d2[k] - g[j] * g[k];
                h[j * 5 + k] = v;
                h[k * 5 + j] = v;
            }
        }
        // The components' own second derivatives (normal in μᵢ, σᵢ; ln w, ln(1 − w) in w).
        h[0] += -r1 / (w * w) - r2 / ((1.0 - w) * (1.0 - w));
        for (r, z, s, im, is) in [(r1, z1, s1, 1, 2), (r2, z2, s2, 3, 4)] {
            h[im * 5 + im] += -r / (s * s);
            h[im * 5 + is] += -2.0 * r * z / (s * s);
            h[is * 5 + im] += -2.0 * r * z / (s * s);
            h[is * 5 + is] += r * (1.0 - 3.0 * z * z) / (s * s);
        }
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x.is_finite()
    }

    /// a = −½ ln 2π.
    fn log_norm(&self, _t: &[f64]) -> f64 {
        -HALF_LN_2PI
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<MixtureKernel>::NEW
    }

    /// c₀ = μ₁ − c, c₁ = 1/(2σ₁²), c₂ = ln w − ln σ₁,
    /// c₃ = μ₂ − c, c₄ = 1/(2σ₂²), c₅ = ln(1 − w) − ln σ₂.
    fn kernel_consts(&self, t: &[f64], shift: f64, out: &mut [f64]) {
        let (w, mu1, s1, mu2, s2) = (t[0], t[1], t[2], t[3], t[4]);
        out[0] = mu1 - shift;
        out[1] = 0.5 / (s1 * s1);
        out[2] = w.ln() - s1.ln();
        out[3] = mu2 - shift;
        out[4] = 0.5 / (s2 * s2);
        out[5] = (-w).ln_1p() - s2.ln();
    }

    /// Scaling: each component's μ − c like the feature, 1/(2σ²) like its inverse square, the log-weights unchanged.
    fn scaling(&self) -> Option<Scaling> {
        Some(&[&[-1], &[2], &[0], &[-1], &[2], &[0]])
    }

    fn shift(&self) -> Shift {
        Shift::Location
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../../shaders/family/normal_mixture.wgsl")
    }

    fn kernel_class(&self) -> KernelClass {
        KernelClass::Transcendental
    }

    /// Component 1 with probability w, else component 2; then a normal draw from it.
    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        let err = |e: rand_distr::NormalError| Error::input(format!("normal_mixture: {e}"));
        let n1 = rand_distr::Normal::new(t[1], t[2]).map_err(err)?;
        let n2 = rand_distr::Normal::new(t[3], t[4]).map_err(err)?;
        for o in out {
            let u: f64 = rng.random();
            *o = if u < t[0] {
                n1.sample(rng)
            } else {
                n2.sample(rng)
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::families::testing::simpson;
    use rand::SeedableRng;

    #[test]
    fn density_integrates_to_one_and_matches_the_direct_sum() {
        let t = NormalMixture.example_theta();
        let total = simpson(|x| NormalMixture.ln_pdf(x, &t).exp(), -30.0, 30.0, 100_000);
        assert!((total - 1.0).abs() < 1e-12, "{total}");
        let phi = |x: f64, m: f64, s: f64| {
            (-0.5 * ((x - m) / s).powi(2)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt())
        };
        for x in [-5.0, -1.0, 0.0, 0.5, 2.0, 6.0] {
            let p = t[0] * phi(x, t[1], t[2]) + (1.0 - t[0]) * phi(x, t[3], t[4]);
            assert!(
                (NormalMixture.ln_pdf(x, &t) - p.ln()).abs() < 1e-12,
                "x={x}"
            );
        }
        // Far in a tail, where both components underflow in the direct sum.
        assert!(NormalMixture.ln_pdf(200.0, &t).is_finite());
    }

    #[test]
    fn sampler_moments_match() {
        let t = NormalMixture.example_theta();
        let mut xs = vec![0.0; 400_000];
        NormalMixture
            .sample_into(&t, &mut StdRng::seed_from_u64(5), &mut xs)
            .unwrap();
        let (m, v) = crate::model::moments::mean_var(&xs).unwrap();
        let (w, mu1, s1, mu2, s2) = (t[0], t[1], t[2], t[3], t[4]);
        let em = w * mu1 + (1.0 - w) * mu2;
        let ev = w * (s1 * s1 + mu1 * mu1) + (1.0 - w) * (s2 * s2 + mu2 * mu2) - em * em;
        assert!((m - em).abs() < 0.02, "mean {m} vs {em}");
        assert!((v - ev).abs() < 0.02 * ev, "var {v} vs {ev}");
    }
}
