//! Small numerical helpers shared by the paths: compensated summation and special functions;
//! [`exact`] order-independent sums and [`quadrature`] adaptive Gauss–Kronrod.

pub mod exact;
pub mod quadrature;
pub mod vmath;

/// Neumaier's variant of Kahan summation: Σ xᵢ with an error bound independent of n
/// (|error| ≤ 2ε·Σ|xᵢ| + O(nε²)).
#[derive(Debug, Clone, Copy, Default)]
pub struct Neumaier {
    sum: f64,
    comp: f64,
}

impl Neumaier {
    /// Adds one term.
    #[inline]
    pub fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }

    /// The compensated sum.
    #[inline]
    pub fn value(&self) -> f64 {
        self.sum + self.comp
    }
}

/// ln Γ(x) for x > 0 (libm's `lgamma`, accurate to a few ulp).
#[inline]
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// ln(x!) = ln Γ(x + 1).
#[inline]
pub fn ln_factorial(x: f64) -> f64 {
    libm::lgamma(x + 1.0)
}

/// ln Γ(x + ½) − ln Γ(x) for x > 0, without the cancellation of the difference at large x: the
/// difference of `lgamma` below x = 20, else the asymptotic series
/// ½ ln x − 1/(8x) + 1/(192x³) − 1/(640x⁵) + 17/(14336x⁷) − 31/(18432x⁹), whose truncation error is
/// below 2e-17 relative there (checked against mpmath).
pub fn ln_gamma_half_ratio(x: f64) -> f64 {
    if x < 20.0 {
        return ln_gamma(x + 0.5) - ln_gamma(x);
    }
    let r = 1.0 / x;
    let r2 = r * r;
    0.5 * x.ln()
        - r * (1.0 / 8.0
            - r2 * (1.0 / 192.0 - r2 * (1.0 / 640.0 - r2 * (17.0 / 14336.0 - r2 * 31.0 / 18432.0))))
}

/// The trigamma function ψ′(x) = d²/dx² ln Γ(x) for x > 0: the recurrence
/// ψ′(x) = ψ′(x + 1) + 1/x² up to x ≥ 12, then the asymptotic series
/// ψ′(x) ≈ 1/x + 1/(2x²) + Σₖ B₂ₖ/x^(2k+1) (Bernoulli numbers B₂ … B₁₂), whose truncation error
/// there is below 1e-16 relative.
pub fn trigamma(mut x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut acc = 0.0;
    while x < 12.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let r = 1.0 / x;
    let r2 = r * r;
    // B₂ₖ for k = 1..6: 1/6, −1/30, 1/42, −1/30, 5/66, −691/2730.
    let series = r2
        * (1.0 / 6.0
            + r2 * (-1.0 / 30.0
                + r2 * (1.0 / 42.0
                    + r2 * (-1.0 / 30.0 + r2 * (5.0 / 66.0 - r2 * 691.0 / 2730.0)))));
    acc + r + 0.5 * r2 + r * series
}

/// A number for people: up to 6 significant digits, no trailing noise.
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if (1e-4..1e7).contains(&a) {
        let digits = (5 - a.log10().floor() as i32).clamp(0, 10) as usize;
        let s = format!("{v:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{v:.5e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_half_ratio_matches_mpmath_at_every_scale() {
        // ln Γ(x + ½) − ln Γ(x) by mpmath at 50 digits.
        for (x, want) in [
            (0.7f64, -0.346_241_336_534_982_4f64),
            (19.9, 1.489_079_119_236_098),
            (20.0, 1.491_616_787_331_304),
            (30.0, 1.696_432_217_001_399),
            (1e4, 4.605_157_685_988_097),
            (5e10, 12.317_644_421_184_779),
        ] {
            let got = ln_gamma_half_ratio(x);
            // Below 20: lgamma's own accuracy (a few ulp of ln Γ); above: the series'.
            let tol = if x < 20.0 { 2e-14 } else { 4e-16 * want.abs() };
            assert!((got - want).abs() < tol, "{x}: {got} {want}");
        }
    }

    #[test]
    fn trigamma_matches_known_values_and_the_recurrence() {
        let pi2 = std::f64::consts::PI * std::f64::consts::PI;
        assert!((trigamma(1.0) - pi2 / 6.0).abs() < 1e-15);
        assert!((trigamma(0.5) - pi2 / 2.0).abs() < 1e-14);
        // ψ′(n + 1) = π²/6 − Σ_{k ≤ n} 1/k².
        let mut s = pi2 / 6.0;
        for k in 1..40 {
            s -= 1.0 / (k * k) as f64;
            let t = trigamma(k as f64 + 1.0);
            assert!((t - s).abs() < 1e-14, "{k}: {t} {s}");
        }
        // Large x: ψ′(x) ≈ 1/x + 1/(2x²).
        let x = 1e8;
        assert!((trigamma(x) - (1.0 / x + 0.5 / (x * x))).abs() < 1e-24);
        assert!(trigamma(0.0).is_nan() && trigamma(-1.0).is_nan());
    }

    #[test]
    fn neumaier_recovers_small_terms_lost_by_naive_summation() {
        let mut s = Neumaier::default();
        s.add(1e16);
        for _ in 0..1000 {
            s.add(1.0);
        }
        s.add(-1e16);
        assert_eq!(s.value(), 1000.0);
    }

    #[test]
    fn ln_factorial_matches_exact_small_factorials() {
        let mut f = 1.0f64;
        for k in 1..20 {
            f *= k as f64;
            assert!((ln_factorial(k as f64) - f.ln()).abs() < 1e-12);
        }
    }
}
