//! Helpers shared by the count families (binomial, negative binomial, …): a histogram of the
//! distinct integer data values, a per-parameter-value quantity spread over a grid, and entropy
//! by direct summation.

use crate::model::grid::Grid;
use crate::numeric::Neumaier;
use rayon::prelude::*;
use std::collections::BTreeMap;

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
    // Later axes vary faster: the axis index of point p (of the whole grid: a range starts at
    // its offset) is (p / stride) % len.
    let stride: usize = axes[pos + 1..].iter().map(|a| a.values.len()).product();
    let values: Vec<f64> = axes[pos].values.iter().map(|&v| f(v)).collect();
    let len = values.len();
    let mut out = vec![0.0; grid.len()];
    out.par_iter_mut()
        .enumerate()
        .for_each(|(p, o)| *o = values[((p + grid.offset()) / stride) % len]);
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
