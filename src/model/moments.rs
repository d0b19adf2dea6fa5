//! Descriptive statistics of a data set, in f64.

use crate::numeric::Neumaier;
use rayon::prelude::*;

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

/// A streamed summary of a data set, enough for the closed-form MLEs of most families
/// ([`crate::model::Family::mle_streamed`]): count, mean and M₂ = Σ(xᵢ − x̄)², minimum and
/// maximum, and the mean and M₂ of ln x while every x > 0.
///
/// Blocks of [`Moments::BLOCK`] samples are summarised by two passes each; summaries merge by
/// Chan et al.'s formula — for parts a and b with δ = x̄_b − x̄_a,
/// x̄ = x̄_a + δ·n_b/n and M₂ = M₂a + M₂b + δ²·n_a·n_b/n — in a fixed order, so the result does
/// not depend on the number of threads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    pub n: u64,
    pub mean: f64,
    /// Σ (xᵢ − mean)².
    pub m2: f64,
    pub min: f64,
    pub max: f64,
    /// (mean, M₂) of ln xᵢ; `None` once a sample ≤ 0 has been seen.
    pub log: Option<(f64, f64)>,
}

impl Default for Moments {
    fn default() -> Moments {
        Moments {
            n: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            log: Some((0.0, 0.0)),
        }
    }
}

/// Merges (mean, M₂) of two parts of sizes `na` and `nb`.
fn chan(na: u64, a: (f64, f64), nb: u64, b: (f64, f64)) -> (f64, f64) {
    if na == 0 {
        return b;
    }
    if nb == 0 {
        return a;
    }
    let n = (na + nb) as f64;
    let (na, nb) = (na as f64, nb as f64);
    let d = b.0 - a.0;
    (a.0 + d * nb / n, a.1 + b.1 + d * d * na * nb / n)
}

/// (mean, M₂) by two compensated passes.
fn two_pass(xs: impl Iterator<Item = f64> + Clone, n: usize) -> (f64, f64) {
    let mut s = Neumaier::default();
    xs.clone().for_each(|x| s.add(x));
    let mean = s.value() / n as f64;
    let mut v = Neumaier::default();
    xs.for_each(|x| v.add((x - mean) * (x - mean)));
    (mean, v.value())
}

impl Moments {
    /// Samples per block.
    pub const BLOCK: usize = 1 << 14;

    /// The summary of `xs`.
    pub fn of(xs: &[f64]) -> Moments {
        let parts: Vec<Moments> = xs.par_chunks(Self::BLOCK).map(Self::of_block).collect();
        let mut m = Moments::default();
        for p in &parts {
            m.merge(p);
        }
        m
    }

    fn of_block(xs: &[f64]) -> Moments {
        let n = xs.len();
        let (mean, m2) = two_pass(xs.iter().copied(), n);
        let (min, max) = xs
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
        let log = (min > 0.0).then(|| two_pass(xs.iter().map(|x| x.ln()), n));
        Moments {
            n: n as u64,
            mean,
            m2,
            min,
            max,
            log,
        }
    }

    /// Adds the samples summarised by `other` (which come after those of `self`).
    pub fn merge(&mut self, other: &Moments) {
        (self.mean, self.m2) = chan(
            self.n,
            (self.mean, self.m2),
            other.n,
            (other.mean, other.m2),
        );
        self.log = match (self.log, other.log) {
            (Some(a), Some(b)) => Some(chan(self.n, a, other.n, b)),
            _ => None,
        };
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.n += other.n;
    }

    /// Population variance M₂/n; `None` when empty.
    pub fn var(&self) -> Option<f64> {
        (self.n > 0).then(|| self.m2 / self.n as f64)
    }

    /// Mean and population variance of ln x, while every x > 0; `None` otherwise.
    pub fn log_mean_var(&self) -> Option<(f64, f64)> {
        match self.log {
            Some((m, m2)) if self.n > 0 => Some((m, m2 / self.n as f64)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_moments_match_two_pass_statistics() {
        let xs: Vec<f64> = (0..100_003)
            .map(|i| 1e6 + ((i * 7919) % 1000) as f64 * 0.37)
            .collect();
        let mut m = Moments::default();
        for c in xs.chunks(30_011) {
            m.merge(&Moments::of(c));
        }
        let (mean, var) = mean_var(&xs).unwrap();
        assert_eq!(m.n, xs.len() as u64);
        assert!((m.mean - mean).abs() <= 1e-12 * mean.abs());
        assert!((m.var().unwrap() - var).abs() <= 1e-9 * var);
        let ls: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
        let (lm, lv) = mean_var(&ls).unwrap();
        let (a, b) = m.log_mean_var().unwrap();
        assert!((a - lm).abs() <= 1e-12 * lm.abs() && (b - lv).abs() <= 1e-6 * lv);
        assert_eq!(m.min, xs.iter().copied().fold(f64::INFINITY, f64::min));
        let mut neg = m;
        neg.merge(&Moments::of(&[-1.0]));
        assert!(neg.log.is_none() && neg.min == -1.0);
    }

    #[test]
    fn mean_var_is_exact_on_a_shifted_small_set() {
        let xs = [1e9 + 1.0, 1e9 + 2.0, 1e9 + 3.0];
        let (m, v) = mean_var(&xs).unwrap();
        assert_eq!(m, 1e9 + 2.0);
        assert!((v - 2.0 / 3.0).abs() < 1e-9);
    }
}
