//! Binomial distribution: successes in `trials` = t independent trials of success probability p,
//! support {0, 1, …, t}.
//!
//! log Q(x | t, p) = ln t! − ln x! − ln (t − x)! + x ln p + (t − x) ln(1 − p)
//!
//! Split: a(θ) = ln t! + t·ln(1 − p) + m·logit p, b(x) = −ln x!, k(x, θ) = (x − m)·logit p with
//! logit p = ln p − ln(1 − p) and m = [`centre`](t·p), and the host-coupled term
//! h(x, t) = −ln (t − x)!, which depends on θ only through t (usually one fixed value:
//! `--grid trials=20`). The support depends on t: samples with x > t are counted outside on the
//! device (`outside4`).
//!
//! Centring the kernel at the mean m of Q(· | θ) keeps the f32 partial sums on the device small
//! near the best grid points: summing the uncentred x·logit p of integer data in f32 drifts
//! systematically (the terms take few distinct values, so their rounding errors do not cancel),
//! by up to ~1.3e-6 of the mean log-likelihood for n = 10⁶ — above the 1e-6 tolerance.
//!
//! This file also holds the helpers the count families share: [`centre`], [`value_counts`]
//! (histogram of the distinct integer data values), [`per_param_value`] (a per-parameter-value
//! quantity spread over the grid) and [`summed_entropy`] (−Σ p ln p by direct summation).

use super::{Domain, Family, ParamSpec};
use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::numeric::{ln_factorial, Neumaier};
use rand::rngs::StdRng;
use rand_distr::Distribution;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// The binomial family `binomial(trials, p)`.
pub struct Binomial;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "trials",
        domain: Domain::PositiveInteger,
    },
    ParamSpec {
        name: "p",
        domain: Domain::OpenUnit,
    },
];

impl Family for Binomial {
    fn name(&self) -> &'static str {
        "binomial"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "integers 0, 1, ..., trials"
    }
    fn integer_data(&self) -> bool {
        true
    }

    /// ln C(t, x) + x ln p + (t − x) ln(1 − p), with ln C(t, x) = lnΓ(t+1) − lnΓ(x+1) −
    /// lnΓ(t−x+1) and ln(1 − p) = ln_1p(−p); −∞ unless x ∈ {0, …, t}.
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        let (n, p) = (t[0], t[1]);
        if !(x >= 0.0 && x <= n) || x.fract() != 0.0 {
            return f64::NEG_INFINITY;
        }
        let ln_choose = ln_factorial(n) - ln_factorial(x) - ln_factorial(n - x);
        // 0·ln p is 0 (x = 0), and (t − x)·ln(1 − p) is 0 at x = t.
        let succ = if x > 0.0 { x * p.ln() } else { 0.0 };
        let fail = if n > x { (n - x) * (-p).ln_1p() } else { 0.0 };
        ln_choose + succ + fail
    }

    fn in_support(&self, x: f64) -> bool {
        x >= 0.0 && x.is_finite() && x.fract() == 0.0
    }

    fn theta_dependent_support(&self) -> bool {
        true
    }

    /// a = ln t! + t·ln(1 − p) + m·logit p, m = centre(t·p).
    fn log_norm(&self, t: &[f64]) -> f64 {
        let (n, p) = (t[0], t[1]);
        ln_factorial(n) + n * (-p).ln_1p() + centre(n * p) * (p.ln() - (-p).ln_1p())
    }

    /// b = −ln x!.
    fn data_term(&self, x: f64) -> f64 {
        -ln_factorial(x)
    }

    fn n_kernel_consts(&self) -> usize {
        3
    }

    /// c₀ = logit p = ln p − ln(1 − p), c₁ = m = centre(t·p), c₂ = t (for the support test).
    fn kernel_consts(&self, t: &[f64], _shift: f64, out: &mut [f64]) {
        out[0] = t[1].ln() - (-t[1]).ln_1p();
        out[1] = centre(t[0] * t[1]);
        out[2] = t[0];
    }

    /// k = (x − c₁)·c₀.
    fn kernel(&self, f: &[f64], c: &[f64]) -> f64 {
        (f[0] - c[1]) * c[0]
    }

    /// Outside when x > c₂ = t.
    fn kernel_outside(&self, f: &[f64], c: &[f64]) -> bool {
        f[0] > c[2]
    }

    /// Σᵢ −ln (t − xᵢ)! over the samples with 0 ≤ xᵢ ≤ t, once per distinct t:
    /// Σ_v −count_v·ln (t − v)! over the distinct data values v.
    fn host_coupled_sums(&self, grid: &Grid, xs: &[f64]) -> Option<Vec<f64>> {
        let counts = value_counts(xs);
        Some(per_param_value(grid, 0, |n| {
            let mut s = Neumaier::default();
            for &(v, c) in counts.iter().take_while(|(v, _)| *v <= n) {
                s.add(-(c as f64) * ln_factorial(n - v));
            }
            s.value()
        }))
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../shaders/family/binomial.wgsl")
    }

    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        self.validate(t)?;
        let d = rand_distr::Binomial::new(t[0] as u64, t[1])
            .map_err(|e| Error::input(format!("binomial: {e}")))?;
        for o in out {
            *o = d.sample(rng) as f64;
        }
        Ok(())
    }

    /// p̂ = x̄ / t when the grid holds `trials` = t fixed; `None` otherwise, when a sample lies
    /// outside {0, …, t}, or when p̂ ∉ (0, 1).
    fn mle(&self, xs: &[f64], fixed: &[Option<f64>]) -> Option<Vec<f64>> {
        let n = fixed.first().copied().flatten()?;
        if xs.iter().any(|&x| !(x >= 0.0 && x <= n)) {
            return None;
        }
        let (mean, _) = crate::stats::mean_var(xs)?;
        let p = mean / n;
        (p > 0.0 && p < 1.0).then(|| vec![n, p])
    }

    /// H = −Σₓ p(x) ln p(x) over {0, …, t}, summed outwards from the mode until the terms fall
    /// below 1e-20 (see [`summed_entropy`]).
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        let mode = ((t[0] + 1.0) * t[1]).floor().min(t[0]);
        summed_entropy(|x| self.ln_pdf(x, t), mode, Some(t[0]))
    }
}

/// The centre m of a count family's kernel k = (x − m)·c, from the mean μ of Q(· | θ): μ rounded
/// to a multiple of 1/256 and to f32, and capped at 2²⁴, so that m is exact in f32 (the host adds
/// m·c in f64 to a(θ), the device subtracts the same m) and x − m is exact in f32 for the
/// integer samples within 2¹⁶ of it.
pub(super) fn centre(mean: f64) -> f64 {
    let m = ((mean * 256.0).round() / 256.0).clamp(0.0, 16_777_216.0);
    m as f32 as f64
}

/// Values below this are counted in a dense table in [`value_counts`], larger ones in a map.
const DENSE: usize = 1024;

/// The distinct values v of the samples that are non-negative integers, ascending, with their
/// counts. Count families use it to evaluate Σᵢ h(xᵢ) as Σ_v count_v·h(v).
pub(super) fn value_counts(xs: &[f64]) -> Vec<(f64, u64)> {
    let parts: Vec<(Vec<u64>, BTreeMap<u64, u64>)> = xs
        .par_chunks(1 << 18)
        .map(|chunk| {
            let mut dense = vec![0u64; DENSE];
            let mut sparse = BTreeMap::new();
            for &x in chunk {
                if !(x >= 0.0 && x.fract() == 0.0 && x < 1.8e19) {
                    continue;
                }
                let v = x as u64;
                if (v as usize) < DENSE {
                    dense[v as usize] += 1;
                } else {
                    *sparse.entry(v).or_insert(0) += 1;
                }
            }
            (dense, sparse)
        })
        .collect();
    let mut dense = vec![0u64; DENSE];
    let mut sparse = BTreeMap::new();
    for (d, s) in parts {
        for (a, b) in dense.iter_mut().zip(d) {
            *a += b;
        }
        for (v, c) in s {
            *sparse.entry(v).or_insert(0) += c;
        }
    }
    let mut out: Vec<(f64, u64)> = dense
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(v, &c)| (v as f64, c))
        .collect();
    out.extend(sparse.into_iter().map(|(v, c)| (v as f64, c)));
    out
}

/// For every grid point, `f(θⱼ)` of its value θⱼ of parameter `j`: `f` is evaluated once per
/// value of that parameter's axis (not once per grid point) and spread over the row-major grid.
pub(super) fn per_param_value(grid: &Grid, j: usize, f: impl Fn(f64) -> f64) -> Vec<f64> {
    let axes = grid.axes();
    let pos = axes
        .iter()
        .position(|a| a.param == j)
        .expect("a validated grid has an axis for every parameter");
    // Later axes vary faster: the axis index of point p is (p / stride) % len.
    let stride: usize = axes[pos + 1..].iter().map(|a| a.values.len()).product();
    let values: Vec<f64> = axes[pos].values.iter().map(|&v| f(v)).collect();
    let len = values.len();
    let mut out = vec![0.0; grid.len()];
    out.par_iter_mut()
        .enumerate()
        .for_each(|(p, o)| *o = values[(p / stride) % len]);
    out
}

/// Most terms [`summed_entropy`] adds before giving up (returning `None`).
const MAX_ENTROPY_TERMS: usize = 20_000_000;

/// H = −Σₓ p(x) ln p(x) for a unimodal pmf on the integers {0, …, upper} (`upper` = `None`:
/// unbounded), from `ln_pmf`: summed outwards from `mode`, each side stopping once a term
/// −p ln p falls below 1e-20 (the pmf decreases away from the mode, so the rest of that tail is
/// negligible). `None` when that takes more than 2·10⁷ terms.
pub(super) fn summed_entropy(
    ln_pmf: impl Fn(f64) -> f64,
    mode: f64,
    upper: Option<f64>,
) -> Option<f64> {
    let mut h = Neumaier::default();
    let mut terms = 0usize;
    let add = |x: f64, h: &mut Neumaier| {
        let lp = ln_pmf(x);
        let p = lp.exp();
        let term = if p > 0.0 { -p * lp } else { 0.0 };
        h.add(term);
        term
    };
    // Upwards from the mode (inclusive).
    let mut x = mode;
    loop {
        if upper.is_some_and(|u| x > u) {
            break;
        }
        let term = add(x, &mut h);
        terms += 1;
        if terms > MAX_ENTROPY_TERMS {
            return None;
        }
        if term < 1e-20 && x > mode {
            break;
        }
        x += 1.0;
    }
    // Downwards from the mode (exclusive).
    let mut x = mode - 1.0;
    while x >= 0.0 {
        let term = add(x, &mut h);
        terms += 1;
        if terms > MAX_ENTROPY_TERMS {
            return None;
        }
        if term < 1e-20 {
            break;
        }
        x -= 1.0;
    }
    Some(h.value())
}

#[cfg(test)]
/// Golden-section search for the maximiser of a unimodal `f` on [a, b].
pub(super) fn golden_max(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..200 {
        if fc > fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    (a + b) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::AxisSpec;
    use rand::SeedableRng;

    const F: Binomial = Binomial;

    #[test]
    fn pmf_sums_to_one_over_the_support_and_is_zero_outside() {
        for (n, p) in [(1.0, 0.3), (12.0, 0.35), (20.0, 0.01), (200.0, 0.93)] {
            let s: f64 = (0..=n as u64)
                .map(|x| F.ln_pdf(x as f64, &[n, p]).exp())
                .sum();
            assert!((s - 1.0).abs() < 1e-12, "t={n} p={p}: {s}");
            assert_eq!(F.ln_pdf(n + 1.0, &[n, p]), f64::NEG_INFINITY);
            assert_eq!(F.ln_pdf(-1.0, &[n, p]), f64::NEG_INFINITY);
            assert_eq!(F.ln_pdf(0.5, &[n, p]), f64::NEG_INFINITY);
        }
    }

    #[test]
    fn closed_form_mle_matches_numeric_maximisation() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut xs = vec![0.0; 5000];
        F.sample_into(&[20.0, 0.3], &mut rng, &mut xs).unwrap();
        let mle = F.mle(&xs, &[Some(20.0), None]).unwrap();
        let ll = |p: f64| F.ln_pdf_sum(&xs, &[20.0, p]).0;
        let best = golden_max(ll, 1e-6, 1.0 - 1e-6);
        assert!((mle[1] - best).abs() < 1e-6, "{mle:?} vs {best}");
        assert_eq!(F.mle(&xs, &[None, None]), None);
        assert_eq!(F.mle(&[0.0, 0.0], &[Some(5.0), None]), None);
        assert_eq!(F.mle(&[1.0, 6.0], &[Some(5.0), None]), None);
    }

    #[test]
    fn sampler_mean_and_variance_match() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut xs = vec![0.0; 200_000];
        F.sample_into(&[20.0, 0.3], &mut rng, &mut xs).unwrap();
        let (m, v) = crate::stats::mean_var(&xs).unwrap();
        // sd of the mean: √(4.2 / 2e5) ≈ 0.0046.
        assert!((m - 6.0).abs() < 0.025, "{m}");
        assert!((v - 4.2).abs() < 0.1, "{v}");
        assert!(xs
            .iter()
            .all(|&x| (0.0..=20.0).contains(&x) && x.fract() == 0.0));
    }

    #[test]
    fn entropy_matches_explicit_sum() {
        for (n, p) in [(1.0, 0.3), (12.0, 0.35), (500.0, 0.02)] {
            let direct: f64 = (0..=n as u64)
                .map(|x| {
                    let lp = F.ln_pdf(x as f64, &[n, p]);
                    -lp.exp() * lp
                })
                .sum();
            let h = F.entropy(&[n, p]).unwrap();
            assert!((h - direct).abs() < 1e-12, "{h} vs {direct}");
        }
        // t = 1: Bernoulli entropy.
        let h = F.entropy(&[1.0, 0.3]).unwrap();
        assert!((h - (-(0.3f64 * 0.3f64.ln()) - 0.7 * 0.7f64.ln())).abs() < 1e-15);
    }

    #[test]
    fn host_coupled_sums_are_per_trials_value_and_skip_samples_above_trials() {
        let xs = [0.0, 3.0, 3.0, 7.0, 12.0];
        // trials on the slow axis, then on the fast one.
        for specs in [
            ["trials=5,12", "p=0.1:0.9:3"],
            ["p=0.1:0.9:3", "trials=5,12"],
        ] {
            let grid = Grid::new(
                &F,
                specs.iter().map(|s| AxisSpec::parse(s).unwrap()).collect(),
            )
            .unwrap();
            let h = F.host_coupled_sums(&grid, &xs).unwrap();
            assert_eq!(h.len(), 6);
            for (p, &hp) in h.iter().enumerate() {
                let n = grid.theta(p)[0];
                let want: f64 = xs
                    .iter()
                    .filter(|&&x| x <= n)
                    .map(|&x| -ln_factorial(n - x))
                    .sum();
                assert!((hp - want).abs() < 1e-12, "point {p}: {hp} vs {want}");
            }
        }
    }

    #[test]
    fn value_counts_histogram_includes_large_values_and_skips_invalid_ones() {
        let xs = [3.0, 1e6, 3.0, 0.0, -1.0, 2.5, 1e6, 5000.0];
        assert_eq!(
            value_counts(&xs),
            vec![(0.0, 1), (3.0, 2), (5000.0, 1), (1e6, 2)]
        );
    }
}
