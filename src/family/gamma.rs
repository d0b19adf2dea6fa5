//! Gamma distribution with shape α and rate β, support x > 0.
//!
//! log Q(x | α, β) = α ln β − ln Γ(α) + (α − 1) ln x − βx
//!
//! Split, centred: with m₀ ≈ E_θ(ln x) = ψ(α) − ln β and m₁ ≈ E_θ(x) = α/β (both rounded to
//! f32, so that the device subtracts exactly the values the host adds back),
//!
//! a(θ) = α ln β − ln Γ(α) + (α − 1)·m₀ − β·m₁,   b(x) = 0,
//! k(x, θ) = (α − 1)·(ln x − m₀) − β·(x − m₁),
//!
//! from the features f₀ = ln x and f₁ = x (ln x computed on the host in f64). Centring keeps
//! Σk small — near zero when θ fits the data — so the device's f32 sum of k stays accurate
//! although ln Q is a small difference of large terms (α ln β against β·x̄).

use super::{Domain, Family, ParamSpec};
use crate::error::{Error, Result};
use crate::numeric::ln_gamma;
use rand::rngs::StdRng;
use rand_distr::Distribution;
use statrs::function::gamma::digamma;

/// The gamma family `gamma(shape, rate)`.
pub struct Gamma;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "shape",
        domain: Domain::Positive,
    },
    ParamSpec {
        name: "rate",
        domain: Domain::Positive,
    },
];

/// The centres (m₀, m₁) = (ψ(α) − ln β, α/β) of the features under Q_θ, rounded to f32 (0
/// where that overflows: any θ-only centre keeps the split exact).
fn centres(shape: f64, rate: f64) -> (f64, f64) {
    let f32_or_zero = |v: f64| {
        let r = v as f32 as f64;
        if r.is_finite() {
            r
        } else {
            0.0
        }
    };
    (
        f32_or_zero(digamma(shape) - rate.ln()),
        f32_or_zero(shape / rate),
    )
}

impl Family for Gamma {
    fn name(&self) -> &'static str {
        "gamma"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "x > 0"
    }

    /// α ln β − ln Γ(α) + (α − 1) ln x − βx for x > 0, −∞ otherwise.
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        if !(x > 0.0 && x.is_finite()) {
            return f64::NEG_INFINITY;
        }
        let (shape, rate) = (t[0], t[1]);
        shape * rate.ln() - ln_gamma(shape) + (shape - 1.0) * x.ln() - rate * x
    }

    fn in_support(&self, x: f64) -> bool {
        x > 0.0 && x.is_finite()
    }

    /// a = α ln β − ln Γ(α) + (α − 1)·m₀ − β·m₁.
    fn log_norm(&self, t: &[f64]) -> f64 {
        let (shape, rate) = (t[0], t[1]);
        let (m0, m1) = centres(shape, rate);
        shape * rate.ln() - ln_gamma(shape) + (shape - 1.0) * m0 - rate * m1
    }

    fn n_kernel_consts(&self) -> usize {
        4
    }

    /// c₀ = α − 1, c₁ = m₀, c₂ = β, c₃ = m₁.
    fn kernel_consts(&self, t: &[f64], _shift: f64, out: &mut [f64]) {
        let (m0, m1) = centres(t[0], t[1]);
        out[0] = t[0] - 1.0;
        out[1] = m0;
        out[2] = t[1];
        out[3] = m1;
    }

    fn n_features(&self) -> usize {
        2
    }

    /// f₀ = ln x, f₁ = x.
    fn features(&self, x: f64, _shift: f64, out: &mut [f64]) {
        out[0] = x.ln();
        out[1] = x;
    }

    /// k = c₀·(f₀ − c₁) − c₂·(f₁ − c₃).
    fn kernel(&self, f: &[f64], c: &[f64]) -> f64 {
        c[0] * (f[0] - c[1]) - c[2] * (f[1] - c[3])
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../shaders/family/gamma.wgsl")
    }

    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        let d = rand_distr::Gamma::new(t[0], 1.0 / t[1])
            .map_err(|e| Error::input(format!("gamma: {e}")))?;
        for o in out {
            *o = d.sample(rng);
        }
        Ok(())
    }

    /// H = α − ln β + ln Γ(α) + (1 − α)·ψ(α).
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        let (shape, rate) = (t[0], t[1]);
        Some(shape - rate.ln() + ln_gamma(shape) + (1.0 - shape) * digamma(shape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// ∫ₐᵇ f by composite Simpson with `n` (even) panels.
    fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
        let h = (b - a) / n as f64;
        let mut s = f(a) + f(b);
        for i in 1..n {
            s += f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        s * h / 3.0
    }

    #[test]
    fn entropy_matches_numeric_integral() {
        for t in [[1.7, 1.7], [0.6, 2.5], [1.0, 0.5], [12.0, 3.0]] {
            // −∫ p ln p dx with x = eᵘ, dx = eᵘ du.
            let f = |u: f64| {
                let x = u.exp();
                let lp = Gamma.ln_pdf(x, &t);
                let p = lp.exp();
                if p > 0.0 {
                    -p * lp * x
                } else {
                    0.0
                }
            };
            let h = simpson(f, -200.0, 8.0, 400_000);
            let e = Gamma.entropy(&t).unwrap();
            assert!((h - e).abs() < 1e-9, "{t:?}: numeric {h} formula {e}");
        }
    }

    #[test]
    fn sampler_moments_match() {
        let t = [2.5, 1.5];
        let mut xs = vec![0.0; 400_000];
        Gamma
            .sample_into(&t, &mut StdRng::seed_from_u64(5), &mut xs)
            .unwrap();
        let (m, v) = crate::stats::mean_var(&xs).unwrap();
        let (em, ev) = (t[0] / t[1], t[0] / (t[1] * t[1]));
        assert!((m - em).abs() < 0.01 * em, "mean {m} vs {em}");
        assert!((v - ev).abs() < 0.03 * ev, "var {v} vs {ev}");
    }
}
