//! Descriptive statistics of a data set, in f64.

use crate::numeric::Neumaier;

/// Mean and population variance Σ(x − x̄)²/n by two compensated passes; `None` when empty.
pub fn mean_var(xs: &[f64]) -> Option<(f64, f64)> {
    if xs.is_empty() {
        return None;
    }
    let n = xs.len() as f64;
    let mut s = Neumaier::default();
    for &x in xs {
        s.add(x);
    }
    let mean = s.value() / n;
    let mut v = Neumaier::default();
    for &x in xs {
        let d = x - mean;
        v.add(d * d);
    }
    Some((mean, v.value() / n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_var_is_exact_on_a_shifted_small_set() {
        let xs = [1e9 + 1.0, 1e9 + 2.0, 1e9 + 3.0];
        let (m, v) = mean_var(&xs).unwrap();
        assert_eq!(m, 1e9 + 2.0);
        assert!((v - 2.0 / 3.0).abs() < 1e-9);
    }
}
