//! Comparing two paths' evaluations of the same grid: `--backend both` and `bench`.

use crate::engine::partials::Partials;

/// How closely two paths agree on the mean log-likelihood.
#[derive(Debug, Clone)]
pub struct Agreement {
    /// Largest |a − b| of the mean log-likelihood over points finite on both paths.
    pub max_abs_diff: f64,
    /// Largest |a − b| / max(|b|, 1), b the reference.
    pub max_rel_diff: f64,
    /// Whether both paths pick the same best grid point.
    pub argmax_agrees: bool,
    /// Points that are −∞ on one path and finite on the other.
    pub support_mismatches: u64,
    /// The family's documented tolerance on `max_rel_diff`.
    pub tolerance: f64,
    /// Within tolerance: `max_rel_diff ≤ tolerance`, no support mismatch, and either the argmax
    /// agrees or the two best points differ by no more than the tolerance on the reference.
    pub within_tolerance: bool,
}

impl Agreement {
    /// Compares `test` against `reference` with the family's tolerance.
    pub fn compare(test: &Partials, reference: &Partials, tolerance: f64) -> Agreement {
        let mut max_abs: f64 = 0.0;
        let mut max_rel: f64 = 0.0;
        let mut mismatches = 0;
        for i in 0..reference.len() {
            let (a, b) = (test.mean_loglik(i), reference.mean_loglik(i));
            match (a.is_finite(), b.is_finite()) {
                (true, true) => {
                    let d = (a - b).abs();
                    max_abs = max_abs.max(d);
                    max_rel = max_rel.max(d / b.abs().max(1.0));
                }
                (false, false) if a == b => {}
                _ => mismatches += 1,
            }
        }
        let (ia, ib) = (test.argmax(), reference.argmax());
        let argmax_agrees = ia == ib;
        let argmax_ok = argmax_agrees
            || match (ia, ib) {
                (Some(ia), Some(ib)) => {
                    let (va, vb) = (reference.mean_loglik(ia), reference.mean_loglik(ib));
                    (vb - va).abs() <= tolerance * vb.abs().max(1.0)
                }
                _ => false,
            };
        Agreement {
            max_abs_diff: max_abs,
            max_rel_diff: max_rel,
            argmax_agrees,
            support_mismatches: mismatches,
            tolerance,
            within_tolerance: max_rel <= tolerance && mismatches == 0 && argmax_ok,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_flags_relative_difference_support_mismatch_and_argmax() {
        let r = Partials {
            sum: vec![-10.0, -8.0, -9.0],
            outside: vec![0, 0, 0],
            n: 4,
        };
        let same = Agreement::compare(&r, &r, 1e-6);
        assert!(same.within_tolerance && same.argmax_agrees && same.max_abs_diff == 0.0);

        let mut off = r.clone();
        off.sum[0] += 4e-5; // mean differs by 1e-5
        let a = Agreement::compare(&off, &r, 1e-6);
        assert!(!a.within_tolerance && a.argmax_agrees);
        assert!((a.max_abs_diff - 1e-5).abs() < 1e-12);

        let mut inf = r.clone();
        inf.outside[2] = 1;
        assert_eq!(Agreement::compare(&inf, &r, 1e-6).support_mismatches, 1);

        let mut swapped = r.clone();
        swapped.sum[2] = -7.0;
        let s = Agreement::compare(&swapped, &r, 1e-6);
        assert!(!s.argmax_agrees && !s.within_tolerance);
    }

    #[test]
    fn near_tie_with_different_argmax_is_within_tolerance() {
        let r = Partials {
            sum: vec![-8.0, -8.0 - 1e-7],
            outside: vec![0, 0],
            n: 1,
        };
        let t = Partials {
            sum: vec![-8.0 - 2e-7, -8.0 - 1e-7],
            outside: vec![0, 0],
            n: 1,
        };
        let a = Agreement::compare(&t, &r, 1e-6);
        assert!(!a.argmax_agrees && a.within_tolerance);
    }
}
