//! Continuous uniform distribution on [low, high], low < high.
//!
//! log Q(x | low, high) = −ln(high − low) for low ≤ x ≤ high, −∞ otherwise.
//!
//! Split: a(θ) = −ln(high − low), b(x) = 0, k(x, θ) = 0. The support depends on θ: the device
//! counts, per grid point, the samples outside [low, high] ([`Family::kernel_outside`], WGSL
//! `outside4`). To make that count agree with the f64 comparison, each sample and each bound
//! goes to the device as an f32 pair (hi, lo) with hi = f32(v) and lo = f32(v − hi) (a
//! double-float carrying ~48 bits), compared lexicographically: hi decides unless the two hi
//! parts are equal, and then lo decides. Rounding to nearest is monotone, so the device agrees
//! with the exact comparison unless a sample and a bound agree to ~2⁻⁴⁸ relative.

use super::KernelFloat;
use super::{validate_domains, Blocked, CoupledKernel, Domain, Family, Kernel, ParamSpec};
use crate::error::{Error, Result};
use rand::rngs::StdRng;
use rand_distr::Distribution;

/// The uniform family `uniform(low, high)`.
pub struct Uniform;

/// k(x, θ) = 0; outside when x < low or x > high, comparing double-float pairs
/// lexicographically: (f₀, f₁) is the pair of x, (c₀, c₁) of low, (c₂, c₃) of high.
pub struct UniformKernel;

impl Kernel for UniformKernel {
    const NF: usize = 2;
    const NC: usize = 4;
    const THETA_SUPPORT: bool = true;
    #[inline(always)]
    fn k<T: KernelFloat>(_f: &[T], _c: &[T]) -> T {
        T::zero()
    }
    #[inline(always)]
    fn outside<T: KernelFloat>(f: &[T], c: &[T]) -> bool {
        // `|` and `&`, not `||` and `&&`: no short-circuit branches, so the blocked loop
        // vectorises (the result is the same).
        let below = (f[0] < c[0]) | ((f[0] == c[0]) & (f[1] < c[1]));
        let above = (f[0] > c[2]) | ((f[0] == c[2]) & (f[1] > c[3]));
        below | above
    }
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "low",
        domain: Domain::Real,
    },
    ParamSpec {
        name: "high",
        domain: Domain::Real,
    },
];

/// The f32 double-float pair (hi, lo) of `v`, in f64: hi = f32(v) exactly, lo = v − hi exactly
/// (rounded to f32 when it goes to the device).
fn split_f32(v: f64) -> (f64, f64) {
    let hi = v as f32 as f64;
    (hi, v - hi)
}

impl Family for Uniform {
    fn name(&self) -> &'static str {
        "uniform"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "low <= x <= high"
    }

    /// Both parameters finite, and low < high.
    fn validate(&self, theta: &[f64]) -> Result<()> {
        validate_domains(self.name(), self.params(), theta)?;
        if theta[0] < theta[1] {
            Ok(())
        } else {
            Err(Error::input(format!(
                "uniform: 'low' must be < 'high' (got low={}, high={})",
                theta[0], theta[1]
            )))
        }
    }

    fn example_theta(&self) -> Vec<f64> {
        vec![-1.0, 2.0]
    }

    /// −ln(high − low) for low ≤ x ≤ high, −∞ otherwise (and when low ≥ high).
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        let (low, high) = (t[0], t[1]);
        let inside = low < high && low <= x && x <= high;
        if inside {
            -(high - low).ln()
        } else {
            f64::NEG_INFINITY
        }
    }

    /// Inside [low, high]: ln Q = −ln(high − low), so with w = high − low: ∂low = 1/w,
    /// ∂high = −1/w, ∂low² = ∂high² = 1/w², ∂low∂high = −1/w² (S is maximal on the support's
    /// edge, not at a stationary point: its Hessian is not negative definite).
    fn ln_pdf_derivatives(&self, _x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        let w = t[1] - t[0];
        let w2 = w * w;
        g[0] = 1.0 / w;
        g[1] = -1.0 / w;
        h[0] = 1.0 / w2;
        h[1] = -1.0 / w2;
        h[2] = -1.0 / w2;
        h[3] = 1.0 / w2;
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x.is_finite()
    }

    /// a = −ln(high − low).
    fn log_norm(&self, t: &[f64]) -> f64 {
        -(t[1] - t[0]).ln()
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<UniformKernel>::NEW
    }

    /// (c₀, c₁) = double-float pair of low, (c₂, c₃) = double-float pair of high.
    fn kernel_consts(&self, t: &[f64], _shift: f64, out: &mut [f64]) {
        (out[0], out[1]) = split_f32(t[0]);
        (out[2], out[3]) = split_f32(t[1]);
    }

    /// (f₀, f₁) = double-float pair of x.
    fn features(&self, x: f64, _shift: f64, out: &mut [f64]) {
        (out[0], out[1]) = split_f32(x);
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../../shaders/family/uniform.wgsl")
    }

    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        let d = rand_distr::Uniform::new_inclusive(t[0], t[1])
            .map_err(|e| Error::input(format!("uniform: {e}")))?;
        for o in out {
            *o = d.sample(rng);
        }
        Ok(())
    }

    /// loŵ = min x, higĥ = max x (a bound held fixed stays, and must not cut off a sample).
    /// `None` when that leaves loŵ ≥ higĥ or a sample outside.
    fn mle(&self, xs: &[f64], fixed: &[Option<f64>]) -> Option<Vec<f64>> {
        if xs.is_empty() || !xs.iter().all(|x| x.is_finite()) {
            return None;
        }
        let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let low = fixed[0].unwrap_or(min);
        let high = fixed[1].unwrap_or(max);
        (low <= min && high >= max && low < high).then(|| vec![low, high])
    }

    /// low = min xᵢ, high = max xᵢ (unless fixed).
    fn mle_streamed(
        &self,
        m: &crate::model::moments::Moments,
        fixed: &[Option<f64>],
    ) -> super::StreamedMle {
        let low = fixed[0].unwrap_or(m.min);
        let high = fixed[1].unwrap_or(m.max);
        Ok((m.n > 0 && low <= m.min && high >= m.max && low < high).then(|| vec![low, high]))
    }

    /// H = ln(high − low).
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        Some((t[1] - t[0]).ln())
    }

    /// D_KL = ln((high_q − low_q)/(high_p − low_p)) when [low_p, high_p] ⊆ [low_q, high_q], +∞
    /// otherwise (P has mass where Q has none).
    fn kl_exact(&self, p: &[f64], q: &[f64]) -> Option<f64> {
        let ((lp, hp), (lq, hq)) = ((p[0], p[1]), (q[0], q[1]));
        if lp >= hp {
            return None;
        }
        Some(if lq <= lp && hp <= hq && lq < hq {
            ((hq - lq) / (hp - lp)).ln()
        } else {
            f64::INFINITY
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::families::testing::{golden_max, simpson};
    use rand::SeedableRng;

    #[test]
    fn entropy_matches_numeric_integral() {
        for t in [[-1.0, 2.0], [0.25, 0.5], [-100.0, 1e3]] {
            let f = |x: f64| {
                let lp = Uniform.ln_pdf(x, &t);
                -lp.exp() * lp
            };
            let h = simpson(f, t[0], t[1], 1000);
            let e = Uniform.entropy(&t).unwrap();
            assert!((h - e).abs() < 1e-9, "{t:?}: numeric {h} formula {e}");
        }
    }

    #[test]
    fn mle_maximises_the_likelihood() {
        let t = [-1.0, 2.0];
        let mut xs = vec![0.0; 2000];
        Uniform
            .sample_into(&t, &mut StdRng::seed_from_u64(3), &mut xs)
            .unwrap();
        // Σ ln Q, with the infeasible side (a sample outside: −∞) replaced by a steep slope
        // down, so that golden-section search sees a unimodal function.
        let (min, max) = (
            xs.iter().copied().fold(f64::INFINITY, f64::min),
            xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        let ll = |lo: f64, hi: f64| {
            let (s, out) = Uniform.ln_pdf_sum(&xs, &[lo, hi]);
            if out == 0 {
                s
            } else {
                -1e12 * (1.0 + (lo - min).max(0.0) + (max - hi).max(0.0))
            }
        };
        let m = Uniform.mle(&xs, &[None, None]).unwrap();
        let lo = golden_max(|v| ll(v, 3.0), -3.0, 0.0);
        let hi = golden_max(|v| ll(lo, v), 0.0, 4.0);
        assert!(
            (m[0] - lo).abs() < 1e-9 && (m[1] - hi).abs() < 1e-9,
            "{m:?}"
        );
        assert!(ll(m[0], m[1]) >= ll(lo, hi));
        // A fixed bound that cuts a sample off leaves no finite likelihood.
        assert!(Uniform.mle(&xs, &[Some(min + 0.01), None]).is_none());
        assert_eq!(
            Uniform.mle(&xs, &[Some(-5.0), None]).unwrap(),
            vec![-5.0, max]
        );
    }

    /// The lexicographic double-float comparison agrees with the f64 comparison, also for
    /// samples and bounds that round to the same f32.
    #[test]
    fn outside_test_agrees_with_f64_comparison_near_the_bounds() {
        let theta = [-1.0 / 3.0, 2.0 / 3.0];
        let mut c = [0.0; 4];
        Uniform.kernel_consts(&theta, 0.0, &mut c);
        let c32: Vec<f64> = c.iter().map(|&v| v as f32 as f64).collect();
        for bound in theta {
            for k in -40i32..=40 {
                let x = bound + k as f64 * bound.abs() * 1e-12;
                let mut f = [0.0; 2];
                Uniform.features(x, 0.0, &mut f);
                let f32s = [f[0] as f32 as f64, f[1] as f32 as f64];
                let truth = x < theta[0] || x > theta[1];
                assert_eq!(Uniform.kernel_outside(&f, &c), truth, "host x={x}");
                assert_eq!(Uniform.kernel_outside(&f32s, &c32), truth, "f32 x={x}");
            }
        }
    }

    #[test]
    fn sampler_moments_match() {
        let t = [-1.0, 2.0];
        let mut xs = vec![0.0; 400_000];
        Uniform
            .sample_into(&t, &mut StdRng::seed_from_u64(5), &mut xs)
            .unwrap();
        let (m, v) = crate::model::moments::mean_var(&xs).unwrap();
        let (em, ev) = (0.5 * (t[0] + t[1]), (t[1] - t[0]).powi(2) / 12.0);
        assert!((m - em).abs() < 0.01, "mean {m} vs {em}");
        assert!((v - ev).abs() < 0.02 * ev, "var {v} vs {ev}");
        assert!(xs.iter().all(|&x| x >= t[0] && x <= t[1]));
    }
}
