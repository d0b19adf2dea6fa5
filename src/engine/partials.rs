//! The mergeable result of an evaluation: per grid point, the sum of log-densities of the
//! samples inside the support, the number outside, and the number of samples.
//!
//! [`Partials`] hold one chunk's (or a finished evaluation's) values in f64. Across chunks,
//! shards, ranks and devices they are accumulated in a [`PartialSums`], whose per-point sums are
//! exact ([`ExactSum`]): the result does not depend on the order or grouping of the merges, so
//! any split of the data into chunk-aligned shards gives the bits of one process.

use crate::numeric::exact::{fixed_to_f64, to_fixed, ExactSum};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Points of a block left to add one by one: (index, value).
type Rest = Vec<(usize, f64)>;

/// Grid points per block of the accumulation's parallel loops.
const BLOCK: usize = 1 << 14;

/// `len` default values (zeros), written — in parallel — rather than allocated zeroed.
///
/// A zeroed allocation (`vec![0; len]`) leaves its pages untouched; the accumulation reads
/// each value before it writes it, so every page would first be mapped to the kernel's shared
/// zero page and then copied on the write, with a TLB shootdown across the process's threads —
/// measured at half the time of one pass over a 10⁶-point grid on a 2-core VM. Written zeros
/// take one ordinary page fault each.
pub fn written_zeros<T: Copy + Default + Send + Sync>(len: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    v.par_extend(rayon::iter::repeat_n(T::default(), len));
    v
}

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

    /// Adds `other` (same grid, other samples) into `self`, exactly (see [`PartialSums`]).
    pub fn merge(&mut self, other: &Partials) {
        let mut acc = PartialSums::from(&*self);
        acc.add(other);
        *self = acc.value();
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
        first_best(
            self.len(),
            |i| Some(self.loglik(i)).filter(|v| *v != f64::NEG_INFINITY && !v.is_nan()),
            |v, b| v > b,
        )
    }
}

/// The first i < `len` whose `key(i)` (points with `None` left out) is best: the scan that
/// replaces the best so far when `better(v, best)`, run in parallel blocks whose results are
/// combined in block order by the same rule — the index the sequential scan finds, for a
/// `better` that is a strict order.
pub fn first_best(
    len: usize,
    key: impl Fn(usize) -> Option<f64> + Sync,
    better: impl Fn(f64, f64) -> bool + Sync,
) -> Option<usize> {
    let scan = |range: std::ops::Range<usize>| {
        let mut best: Option<(usize, f64)> = None;
        for i in range {
            if let Some(v) = key(i) {
                if best.is_none_or(|(_, b)| better(v, b)) {
                    best = Some((i, v));
                }
            }
        }
        best
    };
    let blocks: Vec<Option<(usize, f64)>> = (0..len.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| scan(b * BLOCK..((b + 1) * BLOCK).min(len)))
        .collect();
    let mut best: Option<(usize, f64)> = None;
    for (i, v) in blocks.into_iter().flatten() {
        if best.is_none_or(|(_, b)| better(v, b)) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

/// Exact accumulation of [`Partials`]: per grid point Σ round(vⱼ·2⁶⁴)·2⁻⁶⁴ over the added
/// partials vⱼ, held as an i128 (|sum| < 2⁶³), or as an [`ExactSum`] for the rare point whose sum
/// is larger or saw a non-finite value; sample counts add as integers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PartialSums {
    fixed: Vec<i128>,
    /// Points held in the general form; their `fixed` entry is 0.
    special: BTreeMap<usize, ExactSum>,
    outside: Vec<u64>,
    n: u64,
}

impl PartialSums {
    /// The empty accumulation for `len` grid points.
    pub fn zeros(len: usize) -> PartialSums {
        PartialSums {
            fixed: written_zeros(len),
            special: BTreeMap::new(),
            outside: written_zeros(len),
            n: 0,
        }
    }

    /// Number of grid points.
    pub fn len(&self) -> usize {
        self.fixed.len()
    }

    /// Whether there are no grid points.
    pub fn is_empty(&self) -> bool {
        self.fixed.is_empty()
    }

    /// Number of samples added so far.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// Adds one chunk's partials (same grid). The points in the compact form whose sum stays in
    /// it are added in parallel blocks; the others (held in the general form, or leaving the
    /// compact one now) one by one afterwards, by [`PartialSums::add_point`] — each point's
    /// state is the same as with every point added in order.
    pub fn add(&mut self, p: &Partials) {
        assert_eq!(self.len(), p.len(), "adding partials of different grids");
        let deferred = self.add_with(p.n, |i| (p.sum[i], p.outside[i]), |_, _| false);
        debug_assert!(deferred.is_empty());
    }

    /// [`PartialSums::add`] of the chunk partial whose point i is `value(i)` = (Σ log Q,
    /// samples outside), computed inside the one parallel pass over the accumulation instead of
    /// materialised in a [`Partials`] first (no per-point buffers, one pass). Points for which
    /// `defer(sum, outside)` holds are not added: they are returned in ascending order, for the
    /// caller to replace and add by [`PartialSums::add_one`]. Each point's state is the one
    /// [`PartialSums::add`] gives for the same values; `n` samples are counted.
    pub fn add_with(
        &mut self,
        n: u64,
        value: impl Fn(usize) -> (f64, u64) + Sync,
        defer: impl Fn(f64, u64) -> bool + Sync,
    ) -> Vec<usize> {
        let special = &self.special;
        let (deferred, rest): (Vec<Vec<usize>>, Vec<Rest>) = self
            .fixed
            .par_chunks_mut(BLOCK)
            .zip(self.outside.par_chunks_mut(BLOCK))
            .enumerate()
            .map(|(b, (fixed, outside))| {
                let (mut deferred, mut rest) = (Vec::new(), Vec::new());
                for (j, (f, out)) in fixed.iter_mut().zip(outside.iter_mut()).enumerate() {
                    let i = b * BLOCK + j;
                    let (v, o) = value(i);
                    if defer(v, o) {
                        deferred.push(i);
                        continue;
                    }
                    *out += o;
                    if !special.is_empty() && special.contains_key(&i) {
                        rest.push((i, v));
                        continue;
                    }
                    match to_fixed(v).and_then(|x| f.checked_add(x)) {
                        Some(t) => *f = t,
                        None => rest.push((i, v)),
                    }
                }
                (deferred, rest)
            })
            .unzip();
        for (i, v) in rest.into_iter().flatten() {
            self.add_point(i, v);
        }
        self.n += n;
        deferred.into_iter().flatten().collect()
    }

    /// Adds several chunk partials in one pass over the points: `values(i, emit)` calls
    /// `emit(Σ log Q, samples outside)` once per chunk, in chunk order, for point i; `n` is the
    /// samples of all those chunks. Each point's state is the one that many calls of
    /// [`PartialSums::add`] give for the same values in the same order (a value that leaves the
    /// compact form sends the point's later values of the batch after it, one by one), so
    /// batching changes neither the sums nor their representation — only the memory traffic:
    /// one read and write of each point's state instead of one per chunk. `init` makes the state
    /// that `values` is handed for the points of one block, which it visits in ascending order
    /// (a [`crate::model::grid::ThetaCursor`], say).
    pub fn add_batch<S>(
        &mut self,
        n: u64,
        init: impl Fn() -> S + Sync,
        values: impl Fn(&mut S, usize, &mut dyn FnMut(f64, u64)) + Sync,
    ) {
        let special = &self.special;
        let rest: Vec<Rest> = self
            .fixed
            .par_chunks_mut(BLOCK)
            .zip(self.outside.par_chunks_mut(BLOCK))
            .enumerate()
            .map(|(b, (fixed, outside))| {
                let mut rest = Vec::new();
                let mut state = init();
                for (j, (f, out)) in fixed.iter_mut().zip(outside.iter_mut()).enumerate() {
                    let i = b * BLOCK + j;
                    // Once a value of point i goes to `rest`, so do its later ones, in order.
                    let mut queued = !special.is_empty() && special.contains_key(&i);
                    let (mut acc, mut o) = (*f, *out);
                    values(&mut state, i, &mut |v, vo| {
                        o += vo;
                        if !queued {
                            if let Some(t) = to_fixed(v).and_then(|x| acc.checked_add(x)) {
                                acc = t;
                                return;
                            }
                            queued = true;
                        }
                        rest.push((i, v));
                    });
                    (*f, *out) = (acc, o);
                }
                rest
            })
            .collect();
        for (i, v) in rest.into_iter().flatten() {
            self.add_point(i, v);
        }
        self.n += n;
    }

    /// Adds one point's chunk value: Σ log Q = `v` and `outside` samples outside the support
    /// (a point [`PartialSums::add_with`] deferred); the sample count is not changed.
    pub fn add_one(&mut self, i: usize, v: f64, outside: u64) {
        self.outside[i] += outside;
        self.add_point(i, v);
    }

    fn add_point(&mut self, i: usize, v: f64) {
        if let Some(s) = self.special.get_mut(&i) {
            s.add(v);
            return;
        }
        if let Some(f) = to_fixed(v) {
            if let Some(t) = self.fixed[i].checked_add(f) {
                self.fixed[i] = t;
                return;
            }
        }
        let mut s = ExactSum::from_fixed(std::mem::take(&mut self.fixed[i]));
        s.add(v);
        self.special.insert(i, s);
    }

    /// Adds another accumulation (partials of other samples on the same grid), exactly.
    pub fn merge(&mut self, o: &PartialSums) {
        assert_eq!(self.len(), o.len(), "merging partials of different grids");
        for (i, &f) in o.fixed.iter().enumerate() {
            if let Some(s) = self.special.get_mut(&i) {
                s.add_fixed(f);
            } else if let Some(t) = self.fixed[i].checked_add(f) {
                self.fixed[i] = t;
            } else {
                let mut s = ExactSum::from_fixed(std::mem::take(&mut self.fixed[i]));
                s.add_fixed(f);
                self.special.insert(i, s);
            }
        }
        for (&i, s) in &o.special {
            match self.special.get_mut(&i) {
                Some(t) => t.merge(s),
                None => {
                    let mut t = ExactSum::from_fixed(std::mem::take(&mut self.fixed[i]));
                    t.merge(s);
                    self.special.insert(i, t);
                }
            }
        }
        for (a, b) in self.outside.iter_mut().zip(&o.outside) {
            *a += b;
        }
        self.n += o.n;
    }

    /// The sums, each correctly rounded to f64.
    pub fn value(&self) -> Partials {
        let mut sum: Vec<f64> = self.fixed.par_iter().map(|&f| fixed_to_f64(f)).collect();
        for (&i, s) in &self.special {
            sum[i] = s.value();
        }
        Partials {
            sum,
            outside: self.outside.clone(),
            n: self.n,
        }
    }

    /// The exact state of point `i` (for partial files).
    pub fn exact(&self, i: usize) -> ExactSum {
        self.special
            .get(&i)
            .cloned()
            .unwrap_or_else(|| ExactSum::from_fixed(self.fixed[i]))
    }

    /// The compact state of point `i` — Σ round(vⱼ·2⁶⁴) as an i128 — or `None` when the point
    /// is held in the general form ([`PartialSums::exact`]).
    pub fn fixed(&self, i: usize) -> Option<i128> {
        (!self.special.contains_key(&i)).then(|| self.fixed[i])
    }

    /// Adds the exact state `s` of one point and its count of samples outside the support
    /// (reading a partial file), exactly; the sample count is not changed.
    pub fn merge_point(&mut self, i: usize, s: &ExactSum, outside: u64) {
        self.outside[i] += outside;
        let (limbs, counts) = s.to_words();
        if limbs.len() == 2 && counts == [0; 3] {
            let f = (limbs[0] as u128 | (limbs[1] as u128) << 64) as i128;
            self.merge_fixed_point(i, f, 0);
            return;
        }
        match self.special.get_mut(&i) {
            Some(t) => t.merge(s),
            None => {
                let mut t = ExactSum::from_fixed(std::mem::take(&mut self.fixed[i]));
                t.merge(s);
                self.special.insert(i, t);
            }
        }
    }

    /// [`PartialSums::merge_point`] for a compact state `f` (of [`PartialSums::fixed`]).
    pub fn merge_fixed_point(&mut self, i: usize, f: i128, outside: u64) {
        self.outside[i] += outside;
        if let Some(s) = self.special.get_mut(&i) {
            s.add_fixed(f);
        } else if let Some(t) = self.fixed[i].checked_add(f) {
            self.fixed[i] = t;
        } else {
            let mut s = ExactSum::from_fixed(std::mem::take(&mut self.fixed[i]));
            s.add_fixed(f);
            self.special.insert(i, s);
        }
    }

    /// Adds `n` samples to the count (the samples of partials merged point by point).
    pub fn add_samples(&mut self, n: u64) {
        self.n += n;
    }

    /// Merges `o`, the accumulation of a range of this grid's points starting at `offset` (a
    /// grid shard), into those points; the sample count is not changed (the range saw the same
    /// samples).
    pub fn merge_range(&mut self, offset: usize, o: &PartialSums) {
        assert!(offset + o.len() <= self.len(), "range beyond the grid");
        for i in 0..o.len() {
            match o.fixed(i) {
                Some(f) => self.merge_fixed_point(offset + i, f, o.outside[i]),
                None => self.merge_point(offset + i, &o.exact(i), o.outside[i]),
            }
        }
    }

    /// Samples outside the support per point.
    pub fn outside(&self) -> &[u64] {
        &self.outside
    }

    /// Rebuilds an accumulation from exact per-point states (a partial file's contents).
    pub fn from_exact(sums: Vec<ExactSum>, outside: Vec<u64>, n: u64) -> PartialSums {
        let mut acc = PartialSums::zeros(sums.len());
        acc.outside = outside;
        acc.n = n;
        for (i, s) in sums.into_iter().enumerate() {
            let (limbs, counts) = s.to_words();
            if limbs.len() == 2 && counts == [0; 3] {
                acc.fixed[i] = (limbs[0] as u128 | (limbs[1] as u128) << 64) as i128;
            } else {
                acc.special.insert(i, s);
            }
        }
        acc
    }
}

impl From<&Partials> for PartialSums {
    fn from(p: &Partials) -> PartialSums {
        let mut acc = PartialSums::zeros(p.len());
        acc.add(p);
        acc
    }
}

/// Σᵢ k(xᵢ, θ) per grid point from a kernel path (GPU, fast CPU or sufficient statistics), and
/// the number of samples outside the θ-dependent support.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KernelSums {
    pub k: Vec<f64>,
    pub outside: Vec<u64>,
    /// Device time of the kernels, from timestamp queries where the adapter has them.
    pub device_seconds: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parallel scan finds the index of the sequential one: first on ties, values left out
    /// skipped, across block boundaries.
    #[test]
    fn first_best_is_the_first_index_of_the_sequential_scan() {
        let len = 3 * BLOCK + 17;
        let vals: Vec<f64> = (0..len)
            .map(|i| match i % 97 {
                0 => f64::NAN,
                1 => f64::NEG_INFINITY,
                _ => ((i * 7919) % 1013) as f64,
            })
            .collect();
        for (lo, hi) in [(0, len), (BLOCK - 3, 2 * BLOCK + 5), (5, 6), (0, 0)] {
            let key = |i: usize| {
                let v = vals[i];
                (i >= lo && i < hi && !v.is_nan() && v != f64::NEG_INFINITY).then_some(v)
            };
            for better in [|v: f64, b: f64| v > b, |v: f64, b: f64| v < b] {
                let mut want: Option<(usize, f64)> = None;
                for i in 0..len {
                    if let Some(v) = key(i) {
                        if want.is_none_or(|(_, b)| better(v, b)) {
                            want = Some((i, v));
                        }
                    }
                }
                assert_eq!(first_best(len, key, better), want.map(|(i, _)| i));
            }
        }
    }

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

    /// The parallel [`PartialSums::add`] leaves every point as adding the points one by one
    /// does, across blocks, with points held in the general form, leaving the compact one
    /// (overflow of the i128, values of 2⁶³ or more) and non-finite.
    #[test]
    fn parallel_add_is_the_point_by_point_add() {
        use rand::{RngExt, SeedableRng};
        let len = 3 * BLOCK + 17;
        let mut rng = rand::rngs::StdRng::seed_from_u64(15);
        let mut par = PartialSums::zeros(len);
        let mut seq = PartialSums::zeros(len);
        for round in 0..4 {
            let p = Partials {
                sum: (0..len)
                    .map(|i| match (i % 1009, round) {
                        (0, _) => rng.random_range(-1e300..-1e299),
                        (1, 2) => f64::NEG_INFINITY,
                        (2, 1) => f64::NAN,
                        // Just below 2⁶³: four of them overflow the compact form.
                        (3, _) => -9.2e18,
                        _ => rng.random_range(-1e7..1e3),
                    })
                    .collect(),
                outside: (0..len).map(|i| (i % 7 == 0) as u64 * round).collect(),
                n: 1000,
            };
            par.add(&p);
            for (i, &v) in p.sum.iter().enumerate() {
                seq.add_point(i, v);
            }
            for (a, b) in seq.outside.iter_mut().zip(&p.outside) {
                *a += b;
            }
            seq.n += p.n;
        }
        assert!(par.special.len() > 3 * (len / 1009));
        assert!(par == seq, "the accumulations differ");
        let (a, b) = (par.value(), seq.value());
        assert!(a.sum.iter().any(|v| v.is_nan()));
        assert!(a
            .sum
            .iter()
            .zip(&b.sum)
            .all(|(x, y)| x.to_bits() == y.to_bits()));
        assert_eq!((a.outside, a.n), (b.outside, b.n));
    }

    #[test]
    fn fused_add_with_deferred_points_is_the_add_of_the_partials() {
        use rand::{RngExt, SeedableRng};
        let len = 2 * BLOCK + 5;
        let mut rng = rand::rngs::StdRng::seed_from_u64(16);
        let mut fused = PartialSums::zeros(len);
        let mut plain = PartialSums::zeros(len);
        for round in 0..3u64 {
            let p = Partials {
                sum: (0..len)
                    .map(|i| match i % 997 {
                        0 => rng.random_range(-1e300..-1e299),
                        1 => f64::INFINITY,
                        2 => -9.2e18,
                        _ => rng.random_range(-1e7..1e3),
                    })
                    .collect(),
                outside: (0..len).map(|i| (i % 5 == 0) as u64 * round).collect(),
                n: 100,
            };
            // The deferred points get their replacement value, as the f64 re-evaluation does.
            let replaced = |i: usize| (-(i as f64) - 0.5, 0);
            let deferred = fused.add_with(
                100,
                |i| (p.sum[i], p.outside[i]),
                |s, o| o == 0 && !s.is_finite(),
            );
            assert!(!deferred.is_empty() && deferred.windows(2).all(|w| w[0] < w[1]));
            for &i in &deferred {
                let (v, o) = replaced(i);
                fused.add_one(i, v, o);
            }
            let mut q = p.clone();
            for &i in &deferred {
                (q.sum[i], q.outside[i]) = replaced(i);
            }
            plain.add(&q);
        }
        assert!(fused.special.len() > 2 * (len / 997));
        assert!(fused == plain, "the fused accumulation differs from add");
    }

    #[test]
    fn accumulation_is_independent_of_chunk_grouping_and_merge_order() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let chunks: Vec<Partials> = (0..12)
            .map(|_| Partials {
                sum: (0..5)
                    .map(|i| {
                        if i == 4 {
                            rng.random_range(-1e300..-1e299)
                        } else {
                            rng.random_range(-1e7..1e3)
                        }
                    })
                    .collect(),
                outside: vec![0, 1, 0, 0, 0],
                n: 1000,
            })
            .collect();
        let mut one = PartialSums::zeros(5);
        chunks.iter().for_each(|c| one.add(c));
        // Three shards of four chunks, merged last to first.
        let mut merged = PartialSums::zeros(5);
        for shard in chunks.chunks(4).rev() {
            let mut s = PartialSums::zeros(5);
            shard.iter().for_each(|c| s.add(c));
            merged.merge(&s);
        }
        let (a, b) = (one.value(), merged.value());
        assert_eq!(a.n, 12_000);
        assert_eq!(a.outside[1], 12);
        for (x, y) in a.sum.iter().zip(&b.sum) {
            assert_eq!(x.to_bits(), y.to_bits());
        }
        let exact: Vec<ExactSum> = (0..5).map(|i| one.exact(i)).collect();
        let back = PartialSums::from_exact(exact, one.outside().to_vec(), one.n());
        assert_eq!(back.value(), a);
    }
}
