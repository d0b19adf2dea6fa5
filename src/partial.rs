//! The mergeable result of an evaluation: per grid point, the sum of log-densities of the
//! samples inside the support, the number outside, and the number of samples.
//!
//! Partials from chunks, devices or machines merge by addition; merging in a fixed order gives
//! deterministic results.

/// Per-grid-point sums over a set of samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Partials {
    /// Σ log Q(xᵢ | θ) over the samples inside the support of θ.
    pub sum: Vec<f64>,
    /// Number of samples outside the support of θ (log Q = −∞).
    pub outside: Vec<u64>,
    /// Number of samples.
    pub n: u64,
}

impl Partials {
    /// Empty partials (no samples) for `len` grid points.
    pub fn zeros(len: usize) -> Partials {
        Partials {
            sum: vec![0.0; len],
            outside: vec![0; len],
            n: 0,
        }
    }

    /// Number of grid points.
    pub fn len(&self) -> usize {
        self.sum.len()
    }

    /// Whether there are no grid points.
    pub fn is_empty(&self) -> bool {
        self.sum.is_empty()
    }

    /// Adds `other` (same grid, other samples) into `self`.
    pub fn merge(&mut self, other: &Partials) {
        assert_eq!(
            self.len(),
            other.len(),
            "merging partials of different grids"
        );
        for (a, b) in self.sum.iter_mut().zip(&other.sum) {
            *a += b;
        }
        for (a, b) in self.outside.iter_mut().zip(&other.outside) {
            *a += b;
        }
        self.n += other.n;
    }

    /// S(θ) = Σᵢ log Q(xᵢ | θ): −∞ when any sample is outside the support.
    pub fn loglik(&self, i: usize) -> f64 {
        if self.outside[i] > 0 {
            f64::NEG_INFINITY
        } else {
            self.sum[i]
        }
    }

    /// S(θ)/n, the mean log-likelihood (−∞ outside the support).
    pub fn mean_loglik(&self, i: usize) -> f64 {
        self.loglik(i) / self.n as f64
    }

    /// Index of the largest mean log-likelihood (first one on ties); `None` when every point is
    /// −∞.
    pub fn argmax(&self) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for i in 0..self.len() {
            let v = self.loglik(i);
            if v == f64::NEG_INFINITY || v.is_nan() {
                continue;
            }
            if best.is_none_or(|(_, b)| v > b) {
                best = Some((i, v));
            }
        }
        best.map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_sums_counts_and_n() {
        let mut a = Partials {
            sum: vec![1.0, 2.0],
            outside: vec![0, 1],
            n: 10,
        };
        let b = Partials {
            sum: vec![0.5, 0.25],
            outside: vec![0, 2],
            n: 5,
        };
        a.merge(&b);
        assert_eq!(
            a,
            Partials {
                sum: vec![1.5, 2.25],
                outside: vec![0, 3],
                n: 15
            }
        );
    }

    #[test]
    fn points_outside_the_support_are_minus_infinity_and_never_best() {
        let p = Partials {
            sum: vec![-5.0, 100.0, -3.0],
            outside: vec![0, 1, 0],
            n: 2,
        };
        assert_eq!(p.loglik(1), f64::NEG_INFINITY);
        assert_eq!(p.argmax(), Some(2));
        let none = Partials {
            sum: vec![1.0],
            outside: vec![1],
            n: 1,
        };
        assert_eq!(none.argmax(), None);
    }
}
