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

/// ½·ln(2π).
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// ln(1 + x) − x for x > −1, without the cancellation of the difference when |x| ≪ 1: for
/// |x| < ½, with s = x/(2 + x), ln(1 + x) − x = −s·x + 2s³·(1/3 + s²/5 + s⁴/7 + …) (|s| ≤ ⅓, so
/// 17 terms reach the f64 rounding); else the plain difference, which loses no digits there.
pub fn ln1pmx(x: f64) -> f64 {
    if x == f64::INFINITY {
        return f64::NEG_INFINITY;
    }
    if x.abs() >= 0.5 || x.is_nan() {
        return x.ln_1p() - x;
    }
    let s = x / (2.0 + x);
    let s2 = s * s;
    let mut sum = 0.0;
    let mut k = 35.0;
    while k > 1.0 {
        sum = sum * s2 + 1.0 / k;
        k -= 2.0;
    }
    -s * x + 2.0 * s * s2 * sum
}

/// Stirling's remainder stirlerr(x) = ln Γ(x + 1) − (x + ½)·ln x + x − ½·ln 2π, equal to
/// ln Γ(x) − (x − ½)·ln x + x − ½·ln 2π, for x > 0: directly for x < 10 (absolute error a few
/// 10⁻¹⁵), beyond by Stirling's series Σₖ B₂ₖ/(2k(2k − 1)·x²ᵏ⁻¹) to x⁻¹³ (truncation < 10⁻¹⁶).
/// O(1/x), where the ln Γ it stands for is O(x ln x).
pub fn stirlerr(x: f64) -> f64 {
    if x < 10.0 {
        return ln_gamma(x + 1.0) - (x + 0.5) * x.ln() + x - HALF_LN_2PI;
    }
    let r = 1.0 / x;
    let r2 = r * r;
    r * STIRLING.iter().rev().fold(0.0, |acc, &ck| acc * r2 + ck)
}

/// B₂ᵢ / (2i(2i − 1)), i = 1…7: the coefficients of Stirling's series of [`stirlerr`],
/// Σᵢ B₂ᵢ / (2i(2i − 1)·x²ⁱ⁻¹).
pub const STIRLING: [f64; 7] = [
    1.0 / 12.0,
    -1.0 / 360.0,
    1.0 / 1260.0,
    -1.0 / 1680.0,
    1.0 / 1188.0,
    -691.0 / 360_360.0,
    1.0 / 156.0,
];

/// Loader's deviance term bd0(x, m) = x·ln(x/m) + m − x ≥ 0 (x ≥ 0, m > 0), without its
/// cancellation near x = m: m·φ(e) with e = (x − m)/m and φ(e) = (1 + e)·ln(1 + e) − e =
/// [`ln1pmx`](e) + e·ln(1 + e).
pub fn bd0(x: f64, m: f64) -> f64 {
    if x == 0.0 {
        return m;
    }
    let e = (x - m) / m;
    if e.abs() < 0.5 {
        m * (ln1pmx(e) + e * e.ln_1p())
    } else {
        x * (x.ln() - m.ln()) + m - x
    }
}

/// ln Γ(h + ½) − ln Γ(h) for h > 0, accurate for large h, where both are O(h ln h) and their
/// difference O(ln h): for h ≥ 10, ½·ln h + h·[`ln1pmx`](1/(2h)) + stirlerr(h + ½) −
/// stirlerr(h) (from ln Γ(z) = (z − ½)·ln z − z + ½·ln 2π + stirlerr(z)); below, the plain
/// difference.
pub fn ln_gamma_half_ratio(h: f64) -> f64 {
    if h < 10.0 {
        return ln_gamma(h + 0.5) - ln_gamma(h);
    }
    // ln Γ(z) = (z − ½)·ln z − z + ½·ln 2π + stirlerr(z) (see `stirlerr`).
    0.5 * h.ln() + h * ln1pmx(0.5 / h) + stirlerr(h + 0.5) - stirlerr(h)
}

/// The tail of the digamma function g(z) = ln z − 1/(2z) − ψ(z), O(1/z²): for z ≥ 10 by its
/// asymptotic series Σ B₂ₖ/(2k·z²ᵏ) (six terms, truncation < 10⁻¹⁶ relative), below from ψ.
pub fn digamma_tail(z: f64) -> f64 {
    if z < 10.0 {
        return z.ln() - 0.5 / z - statrs::function::gamma::digamma(z);
    }
    let r2 = 1.0 / (z * z);
    r2 * (1.0 / 12.0
        - r2 * (1.0 / 120.0
            - r2 * (1.0 / 252.0 - r2 * (1.0 / 240.0 - r2 * (1.0 / 132.0 - r2 * 691.0 / 32760.0)))))
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

    /// Relative error of `got` against `want`.
    fn rel(got: f64, want: f64) -> f64 {
        ((got - want) / want).abs()
    }

    /// Values from mpmath at 50 digits.
    #[test]
    #[allow(clippy::excessive_precision)]
    fn cancellation_free_special_functions_match_mpmath() {
        for (x, want) in [
            (1e-8, -4.999_999_966_666_666_9e-17),
            (-0.3, -0.056_674_943_938_732_378_9),
            (0.49, -0.091_223_880_042_632_227),
            (0.7, -0.169_371_748_937_829_604),
            (-1e-12, -5.000_000_000_003_333_3e-25),
            (3.5e-4, -6.123_571_208_384_570_2e-8),
        ] {
            assert!(rel(ln1pmx(x), want) < 4e-16, "ln1pmx({x}) = {}", ln1pmx(x));
        }
        for (x, want) in [
            (0.5, 0.153_426_409_720_027_345),
            (3.0, 0.027_677_925_684_998_339),
            (14.9, 0.005_592_002_512_250_830_3),
            (15.0, 0.005_554_733_551_962_801_4),
            (100.0, 0.000_833_330_555_634_914_68),
            (1e6, 8.333_333_333_333_055_6e-8),
            (1e15, 8.333_333_333_333_333_3e-17),
        ] {
            assert!(
                (stirlerr(x) - want).abs() < 1e-14,
                "stirlerr({x}) = {}",
                stirlerr(x)
            );
        }
        for (x, m, want) in [
            (3e14 + 17.0, 3e14, 4.816_666_666_666_575_7e-13),
            (0.0, 5.0, 5.0),
            (7.0, 2.0, 3.769_340_779_467_575_97),
            (1_000_123.0, 1e6, 0.007_564_189_874_572_479_2),
        ] {
            assert!(
                rel(bd0(x, m), want) < 1e-14,
                "bd0({x}, {m}) = {}",
                bd0(x, m)
            );
        }
        for (h, want) in [
            (3.0, 0.507_826_421_787_128_915),
            (10.0, 1.138_797_739_322_294_02),
            (12.5, 1.252_866_983_725_440_45),
            (5e7, 8.863_766_779_196_210_08),
            (5e14, 16.922_814_607_175_369_7),
        ] {
            let got = ln_gamma_half_ratio(h);
            assert!(rel(got, want) < 1e-14, "ln_gamma_half_ratio({h}) = {got}");
        }
        for (z, want) in [
            (2.0, 0.020_362_845_461_478_170),
            (10.0, 0.000_832_503_927_324_576_37),
            (37.0, 0.000_060_867_237_604_683_523),
            (1e7, 8.333_333_333_333_325e-16),
        ] {
            assert!(
                rel(digamma_tail(z), want) < 1e-11,
                "digamma_tail({z}) = {}",
                digamma_tail(z)
            );
        }
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
