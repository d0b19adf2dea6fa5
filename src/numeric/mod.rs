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

#[cfg(test)]
mod tests {
    use super::*;

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
