//! Beta distribution with shapes α and β, support 0 < x < 1.
//!
//! log Q(x | α, β) = (α − 1) ln x + (β − 1) ln(1 − x) − ln B(α, β),
//! ln B(α, β) = ln Γ(α) + ln Γ(β) − ln Γ(α + β)
//!
//! Split: a(θ) = −ln B(α, β), b(x) = 0, k(x, θ) = (α − 1)·ln x + (β − 1)·ln(1 − x), from the
//! features f₀ = ln x and f₁ = ln(1 − x) (computed on the host in f64, the latter by `ln_1p`).
//! The kernel is linear in the features, so the device sums it on features centred at their data
//! means and the host adds n·k(means, θ) in f64 ([`Shift::Linear`]): Σk stays small, and the f32
//! sum accurate, although ln Q is a small difference of large terms.

use super::KernelFloat;
use super::{
    Blocked, CoupledKernel, Domain, Family, Kernel, ParamSpec, Scaling, Shift, SuffStatsSpec,
};
use crate::error::{Error, Result};
use crate::numeric::ln_gamma;
use rand::rngs::StdRng;
use rand_distr::Distribution;
use statrs::function::gamma::digamma;

/// The beta family `beta(alpha, beta)`.
pub struct Beta;

/// k(x, θ) = c₀·f₀ + c₁·f₁ with f₀ = ln x, f₁ = ln(1 − x), c₀ = α − 1, c₁ = β − 1: linear, so
/// the device sums it on centred features ([`Shift::Linear`]).
pub struct BetaKernel;

impl Kernel for BetaKernel {
    const NF: usize = 2;
    const NC: usize = 2;
    #[inline(always)]
    fn k<T: KernelFloat>(f: &[T], c: &[T]) -> T {
        c[0] * f[0] + c[1] * f[1]
    }
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "alpha",
        domain: Domain::Positive,
    },
    ParamSpec {
        name: "beta",
        domain: Domain::Positive,
    },
];

/// ln B(α, β) = ln Γ(α) + ln Γ(β) − ln Γ(α + β).
fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

impl Family for Beta {
    fn name(&self) -> &'static str {
        "beta"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "0 < x < 1"
    }

    /// (α − 1) ln x + (β − 1) ln(1 − x) − ln B(α, β) for 0 < x < 1, −∞ otherwise.
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        if !(x > 0.0 && x < 1.0) {
            return f64::NEG_INFINITY;
        }
        (t[0] - 1.0) * x.ln() + (t[1] - 1.0) * (-x).ln_1p() - ln_beta(t[0], t[1])
    }

    /// ∂α = ln x − ψ(α) + ψ(α + β), ∂β = ln(1 − x) − ψ(β) + ψ(α + β);
    /// ∂αα = ψ′(α + β) − ψ′(α), ∂αβ = ψ′(α + β), ∂ββ = ψ′(α + β) − ψ′(β).
    fn ln_pdf_derivatives(&self, x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        use crate::numeric::trigamma;
        use statrs::function::gamma::digamma;
        let (a, b) = (t[0], t[1]);
        let (ps, ts) = (digamma(a + b), trigamma(a + b));
        g[0] = x.ln() - digamma(a) + ps;
        g[1] = (-x).ln_1p() - digamma(b) + ps;
        h[0] = ts - trigamma(a);
        h[1] = ts;
        h[2] = ts;
        h[3] = ts - trigamma(b);
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x > 0.0 && x < 1.0
    }

    /// a = −ln B(α, β).
    fn log_norm(&self, t: &[f64]) -> f64 {
        -ln_beta(t[0], t[1])
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<BetaKernel>::NEW
    }

    /// c₀ = α − 1, c₁ = β − 1.
    fn kernel_consts(&self, t: &[f64], _shift: f64, out: &mut [f64]) {
        out[0] = t[0] - 1.0;
        out[1] = t[1] - 1.0;
    }

    /// Scaling: k is linear: each constant scales like the inverse of its feature.
    fn scaling(&self) -> Option<Scaling> {
        Some(&[&[1, 0], &[0, 1]])
    }

    fn shift(&self) -> Shift {
        Shift::Linear
    }

    /// f₀ = ln x, f₁ = ln(1 − x).
    fn features(&self, x: f64, _shift: f64, out: &mut [f64]) {
        out[0] = x.ln();
        out[1] = (-x).ln_1p();
    }

    /// Sufficient statistics Tⱼ = Σ fⱼ (the kernel is linear in the features).
    fn suffstats(&self) -> Option<SuffStatsSpec> {
        Some(SuffStatsSpec::linear::<BetaKernel>())
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../../shaders/family/beta.wgsl")
    }

    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        let d =
            rand_distr::Beta::new(t[0], t[1]).map_err(|e| Error::input(format!("beta: {e}")))?;
        for o in out {
            *o = d.sample(rng);
        }
        Ok(())
    }

    /// H = ln B(α, β) − (α − 1)ψ(α) − (β − 1)ψ(β) + (α + β − 2)ψ(α + β).
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        let (a, b) = (t[0], t[1]);
        Some(
            ln_beta(a, b) - (a - 1.0) * digamma(a) - (b - 1.0) * digamma(b)
                + (a + b - 2.0) * digamma(a + b),
        )
    }

    /// D_KL = ln B(α_q, β_q) − ln B(α_p, β_p) + (α_p − α_q)·ψ(α_p) + (β_p − β_q)·ψ(β_p)
    /// + (α_q − α_p + β_q − β_p)·ψ(α_p + β_p).
    fn kl_exact(&self, p: &[f64], q: &[f64]) -> Option<f64> {
        let ((ap, bp), (aq, bq)) = ((p[0], p[1]), (q[0], q[1]));
        Some(
            ln_beta(aq, bq) - ln_beta(ap, bp)
                + (ap - aq) * digamma(ap)
                + (bp - bq) * digamma(bp)
                + (aq - ap + bq - bp) * digamma(ap + bp),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::families::testing::entropy_integral;
    use rand::SeedableRng;

    #[test]
    fn entropy_matches_numeric_integral() {
        for t in [[1.7, 1.7], [2.5, 0.9], [0.8, 3.0], [1.0, 1.0], [20.0, 7.0]] {
            // x = 1/(1 + e⁻ᵘ), dx = x(1 − x) du.
            let map = |u: f64| {
                let x = 1.0 / (1.0 + (-u).exp());
                (x, x * (1.0 - x))
            };
            let h = entropy_integral(|x| Beta.ln_pdf(x, &t), map, -60.0, 36.0, 400_000);
            let e = Beta.entropy(&t).unwrap();
            assert!((h - e).abs() < 1e-9, "{t:?}: numeric {h} formula {e}");
        }
    }

    #[test]
    fn sampler_moments_match() {
        let t = [2.0, 5.0];
        let mut xs = vec![0.0; 400_000];
        Beta.sample_into(&t, &mut StdRng::seed_from_u64(5), &mut xs)
            .unwrap();
        let (m, v) = crate::model::moments::mean_var(&xs).unwrap();
        let s = t[0] + t[1];
        let (em, ev) = (t[0] / s, t[0] * t[1] / (s * s * (s + 1.0)));
        assert!((m - em).abs() < 0.01 * em, "mean {m} vs {em}");
        assert!((v - ev).abs() < 0.03 * ev, "var {v} vs {ev}");
    }
}
