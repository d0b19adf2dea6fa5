//! Normalisation of a model written up to a constant (`normalise = true`):
//! log Z(θ) = log ∫ exp(ℓ(x, θ)) dx over the support, by the adaptive Gauss–Kronrod quadrature
//! of [`crate::numeric::quadrature`] in f64 (continuous models), or log Σₓ exp(ℓ(x, θ)) over the integers
//! of the support until the terms are negligible (discrete models). The integrand is scaled by
//! e^(−m), m the largest ℓ found on a probe grid, so that Z neither overflows nor underflows.

use super::interval::Range;
use crate::numeric::quadrature::{integrate, integrate_from};

/// log Z and the estimated bound on its absolute error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogZ {
    pub value: f64,
    pub error: f64,
}

/// Subintervals a finite window is cut into before adapting (so a narrow peak cannot fall
/// between the first nodes).
const PIECES: usize = 64;

/// Relative accuracy asked of Z.
const REL: f64 = 1e-12;

fn finite_or_neg(v: f64) -> f64 {
    if v.is_nan() {
        f64::NEG_INFINITY
    } else {
        v
    }
}

/// log ∫ exp(ℓ) over the continuous support `s`.
pub fn continuous(l: &dyn Fn(f64) -> f64, s: Range) -> LogZ {
    let l = |x: f64| finite_or_neg(l(x));
    // Probe points: the window on a grid, or a geometric spread for infinite ends.
    let mut probe: Vec<f64> = Vec::new();
    match (s.lo.is_finite(), s.hi.is_finite()) {
        (true, true) => {
            for i in 0..=4 * PIECES {
                probe.push(s.lo + (s.hi - s.lo) * (i as f64 + 0.5) / (4 * PIECES + 1) as f64);
            }
        }
        _ => {
            let base = if s.lo.is_finite() {
                s.lo
            } else if s.hi.is_finite() {
                s.hi
            } else {
                0.0
            };
            probe.push(base);
            for k in -40..=40 {
                let d = 10f64.powf(k as f64 / 8.0);
                if s.hi > base + d || !s.hi.is_finite() {
                    probe.push(base + d);
                }
                if s.lo < base - d || !s.lo.is_finite() {
                    probe.push(base - d);
                }
            }
        }
    }
    let (mut m, mut at) = (f64::NEG_INFINITY, f64::NAN);
    for &x in &probe {
        let v = l(x);
        if v > m && v.is_finite() {
            (m, at) = (v, x);
        }
    }
    if !m.is_finite() {
        return LogZ {
            value: f64::NEG_INFINITY,
            error: f64::INFINITY,
        };
    }
    let f = |x: f64| (l(x) - m).exp();
    let (z, err) = if s.lo.is_finite() && s.hi.is_finite() {
        let w = (s.hi - s.lo) / PIECES as f64;
        // Rough size of Z from the probe, to turn the relative goal into absolute ones.
        let rough: f64 =
            probe.iter().map(|&x| f(x)).sum::<f64>() * (s.hi - s.lo) / probe.len() as f64;
        let tol = REL * rough / PIECES as f64;
        let (mut z, mut e) = (0.0, 0.0);
        for i in 0..PIECES {
            let a = s.lo + w * i as f64;
            let b = if i + 1 == PIECES { s.hi } else { a + w };
            let q = integrate(f, a, b, tol);
            z += q.value;
            e += q.error;
        }
        (z, e)
    } else {
        // Scale: where the integrand has fallen to e⁻¹⁰ of its peak, on the probe.
        let mut scale = 1.0f64;
        for &x in &probe {
            if l(x) > m - 10.0 {
                scale = scale.max((x - at).abs());
            }
        }
        let scale = scale.max(1e-6 * (1.0 + at.abs()));
        let tol = REL * scale;
        let up = if s.hi.is_finite() {
            integrate(f, at, s.hi, tol)
        } else {
            integrate_from(f, at, scale, tol)
        };
        let down = if s.lo.is_finite() {
            integrate(f, s.lo, at, tol)
        } else {
            integrate_from(|t| f(2.0 * at - t), at, scale, tol)
        };
        (up.value + down.value, up.error + down.error)
    };
    LogZ {
        value: m + z.ln(),
        error: err / z,
    }
}

/// Largest number of terms summed for a discrete Z.
const MAX_TERMS: u64 = 10_000_000;

/// log Σ exp(ℓ(x)) over the integers lo ≤ x ≤ hi (hi may be ∞): summed upwards, rescaled as
/// the running maximum grows, until past the maximum the terms stay below 1e-18 of the sum for
/// 32 consecutive integers. Non-finite when no such point is reached within 10⁷ terms.
pub fn discrete(l: &dyn Fn(f64) -> f64, lo: f64, hi: f64) -> LogZ {
    let (mut m, mut sum) = (f64::NEG_INFINITY, 0.0f64);
    let mut small = 0u32;
    let mut k = 0u64;
    let mut x = lo;
    let mut last = 0.0;
    while x <= hi {
        let v = finite_or_neg(l(x));
        if v > m {
            sum = sum * (m - v).exp() + 1.0;
            m = v;
            small = 0;
        } else if v.is_finite() {
            let t = (v - m).exp();
            sum += t;
            last = t / sum;
            small = if last < 1e-18 { small + 1 } else { 0 };
        }
        if small >= 32 {
            break;
        }
        k += 1;
        if k >= MAX_TERMS {
            return LogZ {
                value: f64::INFINITY,
                error: f64::INFINITY,
            };
        }
        x += 1.0;
    }
    LogZ {
        value: m + sum.ln(),
        error: if x <= hi { 32.0 * last } else { 0.0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_integrals_on_a_window_a_half_line_and_the_line() {
        let half_ln_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        let l = |x: f64| -0.5 * ((x - 3.0) / 0.5).powi(2);
        let want = half_ln_2pi + 0.5f64.ln();
        let all = continuous(&l, Range::ALL);
        assert!((all.value - want).abs() < 1e-12, "{all:?}");
        let half = continuous(&l, Range::new(3.0, f64::INFINITY, false, true));
        assert!((half.value - (want - 2f64.ln())).abs() < 1e-12, "{half:?}");
        let window = continuous(&l, Range::new(2.0, 4.0, false, false));
        let p = libm::erf(2.0 / 2f64.sqrt());
        assert!((window.value - (want + p.ln())).abs() < 1e-12, "{window:?}");
    }

    #[test]
    fn poisson_terms_sum_to_one() {
        let rate: f64 = 7.5;
        let l = |x: f64| x * rate.ln() - rate - libm::lgamma(x + 1.0);
        let z = discrete(&l, 0.0, f64::INFINITY);
        assert!(z.value.abs() < 1e-13, "{z:?}");
        let z = discrete(&l, 0.0, 3.0);
        let direct: f64 = (0..=3).map(|x| l(x as f64).exp()).sum::<f64>().ln();
        assert!((z.value - direct).abs() < 1e-13);
    }
}
