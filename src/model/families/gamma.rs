//! Gamma distribution with shape α and rate β, support x > 0.
//!
//! log Q(x | α, β) = α ln β − ln Γ(α) + (α − 1) ln x − βx
//!
//! Split, relative to the data mean m = x̄ ([`Family::mean_relative`]): with u = x/m − 1,
//! w = ln(1 + u) − u, r = βm/α and Stirling's remainder stirlerr(α) = ln Γ(α) − (α − ½) ln α +
//! α − ½ ln 2π,
//!
//! ```text
//! ln Q = α·(ln r − r + 1) + ½ ln α − ½ ln 2π − stirlerr(α)    a(θ; m)
//!        − ln x                                                b(x)
//!        + α·w − (βm − α)·u                                    k(x, θ) = c₀·f₀ − c₁·f₁
//! ```
//!
//! (from ln Q = α·(ln y − y + 1) − ln x + ½ ln α − ½ ln 2π − stirlerr(α), y = βx/α = r·(1 + u),
//! ln y − y + 1 = (ln r − r + 1) + w + (1 − r)·u). Every term stays O(1) per sample near the
//! optimum whatever α: the textbook split a = α ln β − ln Γ(α), k = (α − 1)·ln x − β·x is a
//! difference of terms of order α ln α, which at a coefficient of variation of 10⁻⁷ (α ≈ 10¹⁴)
//! leaves nothing of the result in f64, let alone f32. The features w and u are computed on
//! the host in f64 (w by [`ln1pmx`] near u = 0, u and w both as small as the data's spread); the
//! kernel is linear in them, so the device sums it on features centred at their data means and
//! the host adds n·k(means, θ) in f64 ([`Shift::Linear`]). At shift 0 (no data mean) the
//! textbook split applies: f₀ = ln x, f₁ = x, c₀ = α − 1, c₁ = β, a = α ln β − ln Γ(α), b = 0.

use super::KernelFloat;
use super::{
    Blocked, CoupledKernel, Domain, Family, Kernel, ParamSpec, Scaling, Shift, SuffStatsSpec,
    HALF_LN_2PI,
};
use crate::error::{Error, Result};
use crate::numeric::{digamma_tail, ln1pmx, ln_gamma, stirlerr};
use rand::rngs::StdRng;
use rand_distr::Distribution;
use statrs::function::gamma::digamma;

/// The gamma family `gamma(shape, rate)`.
pub struct Gamma;

/// k(x, θ) = c₀·f₀ − c₁·f₁ with f₀ = w, f₁ = u, c₀ = α, c₁ = βm − α (relative to the mean m; at
/// m = 0 f₀ = ln x, f₁ = x, c₀ = α − 1, c₁ = β): linear, so the device sums it on centred
/// features ([`Shift::Linear`]).
pub struct GammaKernel;

impl Kernel for GammaKernel {
    const NF: usize = 2;
    const NC: usize = 2;
    #[inline(always)]
    fn k<T: KernelFloat>(f: &[T], c: &[T]) -> T {
        c[0] * f[0] - c[1] * f[1]
    }
}

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

    /// α ln β − ln Γ(α) + (α − 1) ln x − βx for x > 0, −∞ otherwise; for α ≥ 10 in the form
    /// α·(ln y − y + 1) − ln x + ½ ln α − ½ ln 2π − stirlerr(α), y = βx/α, whose terms do not
    /// cancel (the textbook form loses ε·α ln α: 0.5 at α = 10¹⁴).
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        if !(x > 0.0 && x.is_finite()) {
            return f64::NEG_INFINITY;
        }
        let (shape, rate) = (t[0], t[1]);
        if shape < 10.0 {
            return shape * rate.ln() - ln_gamma(shape) + (shape - 1.0) * x.ln() - rate * x;
        }
        let d = rate.mul_add(x, -shape) / shape;
        let l = ln_minus_d(d, || rate.ln() + x.ln() - shape.ln());
        shape * l - x.ln() + 0.5 * shape.ln() - HALF_LN_2PI - stirlerr(shape)
    }

    /// ∂α = ln β − ψ(α) + ln x, ∂β = α/β − x; ∂αα = −ψ′(α), ∂αβ = 1/β, ∂ββ = −α/β².
    fn ln_pdf_derivatives(&self, x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        let (a, b) = (t[0], t[1]);
        g[0] = b.ln() - digamma(a) + x.ln();
        g[1] = a / b - x;
        h[0] = -crate::numeric::trigamma(a);
        h[1] = 1.0 / b;
        h[2] = 1.0 / b;
        h[3] = -a / (b * b);
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x > 0.0 && x.is_finite()
    }

    /// a = α ln β − ln Γ(α).
    fn log_norm(&self, t: &[f64]) -> f64 {
        t[0] * t[1].ln() - ln_gamma(t[0])
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<GammaKernel>::NEW
    }

    /// c₀ = α, c₁ = βm − α for the mean m = `shift` (at m = 0: c₀ = α − 1, c₁ = β).
    fn kernel_consts(&self, t: &[f64], shift: f64, out: &mut [f64]) {
        if shift > 0.0 {
            out[0] = t[0];
            out[1] = t[1].mul_add(shift, -t[0]);
        } else {
            out[0] = t[0] - 1.0;
            out[1] = t[1];
        }
    }

    /// a(θ; m) = α·(ln r − r + 1) + ½ ln α − ½ ln 2π − stirlerr(α), r = βm/α (at m = 0,
    /// [`Family::log_norm`]).
    fn log_norm_at(&self, t: &[f64], shift: f64) -> f64 {
        if shift <= 0.0 {
            return self.log_norm(t);
        }
        let (shape, rate) = (t[0], t[1]);
        let d = rate.mul_add(shift, -shape) / shape;
        let l = ln_minus_d(d, || rate.ln() + shift.ln() - shape.ln());
        shape * l + 0.5 * shape.ln() - HALF_LN_2PI - stirlerr(shape)
    }

    /// b(x) = −ln x relative to a mean m > 0 (at m = 0, 0).
    fn data_term_at(&self, x: f64, shift: f64) -> f64 {
        if shift > 0.0 {
            -x.ln()
        } else {
            0.0
        }
    }

    fn mean_relative(&self) -> bool {
        true
    }

    /// Scaling: k is linear: each constant scales like the inverse of its feature.
    fn scaling(&self) -> Option<Scaling> {
        Some(&[&[1, 0], &[0, 1]])
    }

    fn shift(&self) -> Shift {
        Shift::Linear
    }

    /// f₀ = w = ln(1 + u) − u, f₁ = u = x/m − 1 for the mean m = `shift` (at m = 0: f₀ = ln x,
    /// f₁ = x).
    fn features(&self, x: f64, shift: f64, out: &mut [f64]) {
        if shift > 0.0 {
            let u = x / shift - 1.0;
            out[0] = ln_minus_d(u, || x.ln() - shift.ln());
            out[1] = u;
        } else {
            out[0] = x.ln();
            out[1] = x;
        }
    }

    /// Sufficient statistics Tⱼ = Σ fⱼ (the kernel is linear in the features).
    fn suffstats(&self) -> Option<SuffStatsSpec> {
        Some(SuffStatsSpec::linear::<GammaKernel>())
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../../shaders/family/gamma.wgsl")
    }

    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        let d = rand_distr::Gamma::new(t[0], 1.0 / t[1])
            .map_err(|e| Error::input(format!("gamma: {e}")))?;
        for o in out {
            *o = d.sample(rng);
        }
        Ok(())
    }

    /// H = α − ln β + ln Γ(α) + (1 − α)·ψ(α); for α ≥ 10, with ln Γ and ψ written by their
    /// remainders (ψ(α) = ln α − 1/(2α) − g(α)), H = ½ ln(α/β²) + ½(1 + ln 2π) + stirlerr(α) −
    /// 1/(2α) + (α − 1)·g(α), whose terms do not cancel.
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        let (shape, rate) = (t[0], t[1]);
        if shape >= 10.0 {
            return Some(
                0.5 * shape.ln() - rate.ln() + 0.5 + HALF_LN_2PI + stirlerr(shape) - 0.5 / shape
                    + (shape - 1.0) * digamma_tail(shape),
            );
        }
        Some(shape - rate.ln() + ln_gamma(shape) + (1.0 - shape) * digamma(shape))
    }

    /// D_KL = (α_p − α_q)·ψ(α_p) − lnΓ(α_p) + lnΓ(α_q) + α_q·(ln β_p − ln β_q)
    /// + α_p·(β_q − β_p)/β_p  (α shape, β rate, ψ the digamma function).
    ///
    /// For shapes ≥ 10, in the cancellation-free form −α_q·ln1pmx(ρ − 1) −
    /// ½·ln1pmx(α_q/α_p − 1) + (α_q − α_p)·g(α_p) + stirlerr(α_q) − stirlerr(α_p), with
    /// ρ = (α_p/β_p)/(α_q/β_q) the ratio of the means, ln1pmx(t) = ln(1 + t) − t and g the
    /// digamma tail.
    fn kl_exact(&self, p: &[f64], q: &[f64]) -> Option<f64> {
        let ((ap, bp), (aq, bq)) = ((p[0], p[1]), (q[0], q[1]));
        if ap >= 10.0 && aq >= 10.0 {
            // ρ − 1 = (α_p·β_q − α_q·β_p)/(α_q·β_p), the product α_q·β_p split exactly into
            // its rounded value and error, so that the difference keeps its digits.
            let prod = aq * bp;
            let err = aq.mul_add(bp, -prod);
            let rho1 = (ap.mul_add(bq, -prod) - err) / prod;
            return Some(
                -aq * ln1pmx(rho1) - 0.5 * ln1pmx((aq - ap) / ap)
                    + (aq - ap) * digamma_tail(ap)
                    + stirlerr(aq)
                    - stirlerr(ap),
            );
        }
        Some(
            (ap - aq) * digamma(ap) - ln_gamma(ap)
                + ln_gamma(aq)
                + aq * (bp.ln() - bq.ln())
                + ap * (bq - bp) / bp,
        )
    }
}

/// ln r − d for r = 1 + d: [`ln1pmx`](d) near r = 1, else `ln_r()` (ln r from its factors, which
/// keeps the digits of an r far below 1 that 1 + d has lost) minus d.
fn ln_minus_d(d: f64, ln_r: impl FnOnce() -> f64) -> f64 {
    if d.abs() < 0.5 {
        ln1pmx(d)
    } else {
        ln_r() - d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::families::testing::{entropy_integral, exp_map};
    use rand::SeedableRng;

    #[test]
    fn entropy_matches_numeric_integral() {
        for t in [[1.7, 1.7], [0.6, 2.5], [1.0, 0.5], [12.0, 3.0]] {
            let h = entropy_integral(|x| Gamma.ln_pdf(x, &t), exp_map, -200.0, 8.0, 400_000);
            let e = Gamma.entropy(&t).unwrap();
            assert!((h - e).abs() < 1e-9, "{t:?}: numeric {h} formula {e}");
        }
    }

    /// Large shapes (coefficients of variation 10⁻³ … 10⁻⁷), where the textbook forms cancel:
    /// against mpmath at 60 digits.
    #[test]
    #[allow(clippy::excessive_precision)]
    fn entropy_and_kl_at_large_shape_match_mpmath() {
        for (t, want) in [
            ([1e14, 1e14], -14.699_157_117_753_650_38),
            ([37.0, 2.5], 2.299_036_662_117_222_516),
            ([12.0, 3.0], 1.534_417_077_471_843_964),
            ([1e7, 2e-3], 15.692_594_423_772_690_19),
        ] {
            let h = Gamma.entropy(&t).unwrap();
            assert!(
                (h - want).abs() < 1e-12 * want.abs(),
                "{t:?}: {h} vs {want}"
            );
        }
        for (p, q, want) in [
            (
                [1e14, 1e14],
                [1.0000001e14, 1.00000015e14],
                0.124_999_983_333_338_072_9,
            ),
            ([12.0, 3.0], [15.0, 2.5], 1.095_751_648_846_679_004),
            ([1e6, 1e6], [1.001e6, 1.002e6], 0.499_168_330_721_167_187_7),
        ] {
            let d = Gamma.kl_exact(&p, &q).unwrap();
            assert!(
                (d - want).abs() < 1e-10 * want,
                "{p:?} {q:?}: {d} vs {want}"
            );
        }
    }

    /// The split relative to the data mean equals the full density, also at a coefficient of
    /// variation of 10⁻⁷ (shape 10¹⁴), where the textbook split keeps no digit in f64.
    #[test]
    fn gamma_small_cv_split_matches_the_full_density() {
        let (a, m) = (1e14, 1.000_000_02);
        let t = [a, a * (1.0 - 2e-7)];
        for x in [1.0, 1.000_000_3, 0.999_999_8, 1.5, 1e-3] {
            let mut f = [0.0; 2];
            Gamma.features(x, m, &mut f);
            let mut c = [0.0; 2];
            Gamma.kernel_consts(&t, m, &mut c);
            let split = Gamma.log_norm_at(&t, m) + Gamma.data_term_at(x, m) + Gamma.kernel(&f, &c);
            let full = Gamma.ln_pdf(x, &t);
            assert!(
                (split - full).abs() < 1e-9 * full.abs().max(1.0),
                "x={x}: {split} vs {full}"
            );
        }
        // Against mpmath (60 digits) at x = 1.0000003, θ = (1e14, 1e14·(1 − 2e-7)).
        let full = Gamma.ln_pdf(1.000_000_3, &t);
        assert!((full - 14.699_157_451_555_626).abs() < 1e-9, "{full}");
    }

    #[test]
    fn sampler_moments_match() {
        let t = [2.5, 1.5];
        let mut xs = vec![0.0; 400_000];
        Gamma
            .sample_into(&t, &mut StdRng::seed_from_u64(5), &mut xs)
            .unwrap();
        let (m, v) = crate::model::moments::mean_var(&xs).unwrap();
        let (em, ev) = (t[0] / t[1], t[0] / (t[1] * t[1]));
        assert!((m - em).abs() < 0.01 * em, "mean {m} vs {em}");
        assert!((v - ev).abs() < 0.03 * ev, "var {v} vs {ev}");
    }
}
