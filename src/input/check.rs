//! The checks every reader applies to every value.

use crate::error::{Error, Result};

/// Finite values only (or non-finite ones dropped and counted), integers only for discrete
/// families.
#[derive(Debug, Clone)]
pub(crate) struct Checker {
    integers: bool,
    skip_nonfinite: bool,
    /// Whether errors mention `--skip-nonfinite` (not for drawn samples).
    skip_hint: bool,
    /// Values dropped so far.
    pub skipped: u64,
}

impl Checker {
    pub fn new(integers: bool, skip_nonfinite: bool) -> Checker {
        Checker {
            integers,
            skip_nonfinite,
            skip_hint: true,
            skipped: 0,
        }
    }

    /// The checks of drawn samples (`--sample`): the same, without the `--skip-nonfinite` hint,
    /// which does not apply to them.
    pub fn for_draws(integers: bool) -> Checker {
        Checker {
            skip_hint: false,
            ..Checker::new(integers, false)
        }
    }

    /// Whether `x` passes without being dropped: finite, and an integer where integers are
    /// needed.
    #[inline]
    pub fn accepts(&self, x: f64) -> bool {
        x.is_finite() && !(self.integers && x.fract() != 0.0)
    }

    /// Whether to keep `x`. Errors name the place, `at()` (`data.txt:3`, `data.npy: element
    /// 5`), and show the value as written, `shown()`.
    #[inline]
    pub fn keep(
        &mut self,
        x: f64,
        at: impl FnOnce() -> String,
        shown: impl FnOnce() -> String,
    ) -> Result<bool> {
        if !x.is_finite() {
            if self.skip_nonfinite {
                self.skipped += 1;
                return Ok(false);
            }
            return Err(Error::input(format!(
                "{}: non-finite value '{}' (NaN and infinities are not data{})",
                at(),
                shown(),
                if self.skip_hint {
                    "; --skip-nonfinite drops them"
                } else {
                    ""
                }
            )));
        }
        if self.integers && x.fract() != 0.0 {
            return Err(Error::input(format!(
                "{}: value {} is not an integer, but the family is discrete",
                at(),
                shown()
            )));
        }
        Ok(true)
    }

    /// An empty field (a missing value, as pandas writes NaN): dropped and counted like a
    /// non-finite value with `skip_nonfinite`, else an error naming the place.
    pub fn missing(&mut self, at: impl FnOnce() -> String) -> Result<()> {
        if self.skip_nonfinite {
            self.skipped += 1;
            return Ok(());
        }
        Err(Error::input(format!(
            "{}: missing value (empty field; --skip-nonfinite drops it)",
            at()
        )))
    }

    /// Checks the values appended to `out` from `start` on, removing those to drop; `at(i)`
    /// names value `i` (counted from `start`), which is shown as `{x}`.
    pub fn keep_slice(
        &mut self,
        out: &mut Vec<f64>,
        start: usize,
        at: impl Fn(usize) -> String,
    ) -> Result<()> {
        let all_ok = out[start..].iter().all(|&x| self.accepts(x));
        if all_ok {
            return Ok(());
        }
        let mut w = start;
        for r in start..out.len() {
            let x = out[r];
            if self.keep(x, || at(r - start), || format!("{x}"))? {
                out[w] = x;
                w += 1;
            }
        }
        out.truncate(w);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_values_fail_or_are_counted_and_fractions_fail_for_integers() {
        let mut c = Checker::new(true, false);
        assert!(c.keep(3.0, || "f:1".into(), || "3".into()).unwrap());
        let e = c
            .keep(f64::NAN, || "f:2".into(), || "nan".into())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("f:2: non-finite value 'nan'"), "{e}");
        let e = c
            .keep(2.5, || "f:3".into(), || "2.5".into())
            .unwrap_err()
            .to_string();
        assert!(e.contains("f:3: value 2.5 is not an integer"), "{e}");

        let mut c = Checker::new(false, true);
        let mut v = vec![1.0, f64::INFINITY, 2.0, f64::NAN, 3.0];
        c.keep_slice(&mut v, 1, |i| format!("element {i}")).unwrap();
        assert_eq!(v, vec![1.0, 2.0, 3.0]);
        assert_eq!(c.skipped, 2);
        c.missing(|| "x".into()).unwrap();
        assert_eq!(c.skipped, 3);
    }
}
