//! Likelihood-ratio (Wilks) intervals and joint regions, read off a grid.
//!
//! For parameter j, the profile log-likelihood on the grid is Sⱼ(v) = max over the other axes of
//! S(θ) at θⱼ = v, and the deviance Dⱼ(v) = 2·(max S − Sⱼ(v)). By Wilks' theorem D is
//! asymptotically χ²₁ at the true value, so the 95% interval is {v : Dⱼ(v) ≤ χ²₁(0.95) = 3.8415}.
//!
//! On a grid:
//! * max S is the grid maximum of the profile, refined by the parabola through the best profile
//!   value and its two neighbours (its vertex, where the parabola is concave) — on a coarse grid
//!   the grid maximum can lie far below the true one;
//! * the ends are interpolated linearly in the signed root deviance r = √D between the last node
//!   inside and the first node outside, the nodes being the grid values and the vertex (r = 0).
//!   r is linear on either side of the maximum when S is quadratic, so the ends are exact for a
//!   quadratic profile whatever the step;
//! * coordinates are θ for linear and list axes and ln θ for log-spaced ones;
//! * the interval is the connected run of nodes around the maximum; when it reaches the first or
//!   last grid value the end is not reported (`null`) and `open_low`/`open_high` says so.
//!
//! Joint regions (grids with exactly two free axes x and y): {θ : 2·(max S − S₂(θ)) ≤ χ²₂(level)}
//! with χ²₂(level) = −2·ln(1 − level) (2.2789 for 68%, 5.9915 for 95%), S₂ the profile over any
//! other axes. They are given row by row: for each grid value of x, the interval of y, found as
//! above with the overall max S (the larger of the two axes' profile maxima); rows whose best
//! value is outside are left out. `polygon` traces the lows upwards in x and the highs back.
//!
//! With `--refine`, each interval is read off the latest grid on which it is closed (finest
//! resolution), each region off the grid on which it is closed with the most rows; `round` says
//! which (0: the sweep's grid).

use crate::engine::partials::Partials;
use crate::model::grid::{Grid, Spacing};
use crate::model::{Domain, Family};
use rayon::prelude::*;
use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF, Normal};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Confidence level of the per-parameter intervals of [`interval`] and [`all`].
pub const INTERVAL_LEVEL: f64 = 0.95;

/// Default levels of the per-parameter intervals (`--cl`): 68.27% (one standard deviation of a
/// normal) and 95%.
pub const DEFAULT_LEVELS: [f64; 2] = [0.6827, 0.95];

/// Levels of the joint regions (`--region-cl` default).
pub const REGION_LEVELS: [f64; 2] = [0.68, 0.95];

/// How the intervals are computed (`--intervals`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum IntervalMethod {
    /// Read off the grid: the profile is the maximum over the other axes' grid values.
    Grid,
    /// The profile likelihood with the other parameters optimised continuously in f64.
    #[default]
    Profile,
}

impl IntervalMethod {
    /// `grid` or `profile`.
    pub fn name(self) -> &'static str {
        match self {
            IntervalMethod::Grid => "grid",
            IntervalMethod::Profile => "profile",
        }
    }
}

/// The χ²ₖ quantile at `level`. k = 1: the square of the standard normal quantile at
/// (1 + level)/2 (statrs' `Normal::inverse_cdf`, accurate to ~1e-15); k = 2: −2·ln(1 − level),
/// the χ²₂ (exponential) quantile in closed form; otherwise statrs' `ChiSquared::inverse_cdf`,
/// polished by two Newton steps on its CDF (x ← x − (F(x) − level)/f(x)).
pub fn chi2_quantile(k: u32, level: f64) -> f64 {
    match k {
        1 => {
            let z = Normal::standard().inverse_cdf(0.5 * (1.0 + level));
            z * z
        }
        2 => -2.0 * (-level).ln_1p(),
        _ => {
            let d = ChiSquared::new(k as f64).expect("k ≥ 1 degrees of freedom");
            let mut x = d.inverse_cdf(level);
            for _ in 0..2 {
                let f = d.pdf(x);
                if f > 0.0 && f.is_finite() {
                    x -= (d.cdf(x) - level) / f;
                }
            }
            x
        }
    }
}

/// χ²₂ quantile at `level` (= −2·ln(1 − level)), the threshold of a joint region.
pub fn chi2_2(level: f64) -> f64 {
    chi2_quantile(2, level)
}

/// The ends of a likelihood-ratio set along one coordinate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// Lower end (θ units); `None` when open.
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub open_low: bool,
    pub open_high: bool,
}

/// A per-parameter likelihood-ratio interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// Index of the parameter in the family's order.
    pub param: usize,
    pub name: String,
    pub span: Span,
    pub level: f64,
    /// The grid it was read off: 0 for the sweep's grid, r for refinement round r (0 for the
    /// profile method).
    pub round: usize,
    pub method: IntervalMethod,
    /// The deviance threshold χ²₁(level).
    pub threshold: f64,
}

/// One row of a joint region: the y-interval at a grid value of x.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionRow {
    pub x: f64,
    pub span: Span,
}

/// A joint likelihood-ratio region of two parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub level: f64,
    pub threshold: f64,
    /// Parameter names of the two axes.
    pub x: String,
    pub y: String,
    pub rows: Vec<RegionRow>,
    /// Closed polygon (first point not repeated): row lows in increasing x, then highs back.
    pub polygon: Vec<[f64; 2]>,
    /// Whether the region reaches the grid's edge (first or last row, or an open row).
    pub open: bool,
    pub round: usize,
}

/// Axes the intervals are computed for: more than one value, not an integer parameter.
pub fn free_axes(family: &dyn Family, grid: &Grid) -> Vec<usize> {
    let params = family.params();
    (0..grid.axes().len())
        .filter(|&a| {
            let ax = &grid.axes()[a];
            ax.values.len() > 1 && params[ax.param].domain != Domain::PositiveInteger
        })
        .collect()
}

/// Index along each axis of grid point `i` (row-major, last axis fastest).
fn strides(grid: &Grid) -> Vec<usize> {
    let axes = grid.axes();
    let mut s = vec![1; axes.len()];
    for a in (0..axes.len().saturating_sub(1)).rev() {
        s[a] = s[a + 1] * axes[a + 1].values.len();
    }
    s
}

/// Points per block of the parallel profile passes (a whole number of runs each).
const PROFILE_BLOCK: usize = 1 << 15;

/// Profile S over the given axes (max over all others), flattened row-major over `keep`:
/// out[k] = max{S(θᵢ) : point i has the coordinates k on the kept axes}, −∞ where none is
/// finite or above −∞ (NaN never wins). The same values, bit for bit, as the point-by-point
/// maximum in grid order: a block's maxima are merged with the next block's, the earlier kept
/// on ties.
fn profile(grid: &Grid, p: &Partials, keep: &[usize]) -> Vec<f64> {
    let axes = grid.axes();
    let len: usize = keep.iter().map(|&a| axes[a].values.len()).product();
    let Some(last) = axes.len().checked_sub(1) else {
        return vec![f64::NEG_INFINITY; len];
    };
    // Every axis with more than one value kept, in grid order: the profile is S itself.
    let kept = |a: usize| keep.contains(&a) || axes[a].values.len() == 1;
    if len == p.len() && keep.windows(2).all(|w| w[0] < w[1]) && (0..axes.len()).all(kept) {
        return (0..p.len())
            .into_par_iter()
            .map(|i| p.loglik(i).max(f64::NEG_INFINITY))
            .collect();
    }
    let st = strides(grid);
    // Points in grid order, by runs along the last axis (stride 1), over which only that axis'
    // coordinate changes: the index into `out` is found once per run.
    let run = axes[last].values.len().max(1);
    let mut step = 0;
    let mut mult = 1;
    for &a in keep.iter().rev() {
        if a == last {
            step = mult;
        }
        mult *= axes[a].values.len();
    }
    let block = |range: std::ops::Range<usize>| {
        let mut out = vec![f64::NEG_INFINITY; len];
        for start in range.step_by(run) {
            let mut k0 = 0;
            for &a in keep {
                let c = if a == last {
                    0
                } else {
                    (start / st[a]) % axes[a].values.len()
                };
                k0 = k0 * axes[a].values.len() + c;
            }
            for i in start..(start + run).min(p.len()) {
                let k = k0 + (i - start) * step;
                let v = p.loglik(i);
                if v > out[k] {
                    out[k] = v;
                }
            }
        }
        out
    };
    // Blocks in parallel only where each block's own output is small beside its points.
    let per = PROFILE_BLOCK.div_ceil(run) * run;
    if len.saturating_mul(16) > per || p.len() <= per {
        return block(0..p.len());
    }
    (0..p.len().div_ceil(per))
        .into_par_iter()
        .map(|b| block(b * per..((b + 1) * per).min(p.len())))
        .reduce_with(|mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                if y > *x {
                    *x = y;
                }
            }
            a
        })
        .unwrap_or_else(|| vec![f64::NEG_INFINITY; len])
}

/// Per position k along axis `a`: the largest S(θᵢ) over the points at that position and the
/// first such point i in grid order (strictly larger values win, so NaN and −∞ never do);
/// `(−∞, usize::MAX)` where no point has a value above −∞.
pub(crate) fn axis_best(grid: &Grid, p: &Partials, a: usize) -> Vec<(f64, usize)> {
    let axes = grid.axes();
    let n_a = axes[a].values.len();
    let stride: usize = axes[a + 1..].iter().map(|x| x.values.len()).product();
    let none = (f64::NEG_INFINITY, usize::MAX);
    let offset = grid.offset();
    // Points [lo, hi): position ⌊(i + offset)/stride⌋ mod n_a, constant over runs of `stride`.
    let block = |lo: usize, hi: usize| {
        let mut best = vec![none; n_a];
        let mut i = lo;
        while i < hi {
            let g = i + offset;
            let k = (g / stride) % n_a;
            let end = hi.min(i + (stride - g % stride));
            let b = &mut best[k];
            for j in i..end {
                let s = p.loglik(j);
                if s > b.0 {
                    *b = (s, j);
                }
            }
            i = end;
        }
        best
    };
    let per = PROFILE_BLOCK;
    if n_a.saturating_mul(16) > per || p.len() <= per {
        return block(0, p.len());
    }
    (0..p.len().div_ceil(per))
        .into_par_iter()
        .map(|b| block(b * per, ((b + 1) * per).min(p.len())))
        .reduce_with(|mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                if y.0 > x.0 {
                    *x = y;
                }
            }
            a
        })
        .unwrap_or_else(|| vec![none; n_a])
}

/// The axis coordinate: θ, or ln θ on log-spaced axes.
fn coord(spacing: Spacing, v: f64) -> f64 {
    if spacing == Spacing::Log {
        v.ln()
    } else {
        v
    }
}

fn uncoord(spacing: Spacing, u: f64) -> f64 {
    if spacing == Spacing::Log {
        u.exp()
    } else {
        u
    }
}

/// The profile's maximum along one coordinate: (u of the vertex, value there). `u` ascending.
fn peak(u: &[f64], s: &[f64]) -> Option<(f64, f64)> {
    let mut b: Option<usize> = None;
    for k in 0..s.len() {
        if s[k].is_finite() && b.is_none_or(|b| s[k] > s[b]) {
            b = Some(k);
        }
    }
    let b = b?;
    if b == 0 || b + 1 == s.len() || !s[b - 1].is_finite() || !s[b + 1].is_finite() {
        return Some((u[b], s[b]));
    }
    let (x0, x1, x2) = (u[b - 1], u[b], u[b + 1]);
    let (y0, y1, y2) = (s[b - 1], s[b], s[b + 1]);
    let d1 = (y1 - y0) / (x1 - x0);
    let d2 = (y2 - y1) / (x2 - x1);
    let a = (d2 - d1) / (x2 - x0);
    if a.is_nan() || a >= 0.0 {
        return Some((u[b], s[b]));
    }
    let m = (0.5 * (x0 + x1) - d1 / (2.0 * a)).clamp(x0, x2);
    let pm = y0 + d1 * (m - x0) + a * (m - x0) * (m - x1);
    Some(if pm > y1 { (m, pm) } else { (x1, y1) })
}

/// The set {D ≤ threshold} around the vertex `(m, pm)`, with max S = `smax`; `None` when the
/// vertex itself is outside. `u` ascending; results in the axis coordinate.
fn span_coord(
    u: &[f64],
    s: &[f64],
    m: f64,
    pm: f64,
    smax: f64,
    threshold: f64,
) -> Option<(Option<f64>, Option<f64>)> {
    let r = |v: f64| {
        if v.is_finite() {
            (2.0 * (smax - v)).max(0.0).sqrt()
        } else {
            f64::INFINITY
        }
    };
    let rt = threshold.sqrt();
    let rm = r(pm);
    if rm > rt {
        return None;
    }
    let cross = |(u0, r0): (f64, f64), (u1, r1): (f64, f64)| {
        if r1.is_infinite() {
            u0
        } else {
            u0 + (rt - r0) / (r1 - r0) * (u1 - u0)
        }
    };
    let mut high = None;
    let mut prev = (m, rm);
    for k in (0..u.len()).filter(|&k| u[k] > m) {
        let node = (u[k], r(s[k]));
        if node.1 > rt {
            high = Some(cross(prev, node));
            break;
        }
        prev = node;
    }
    let mut low = None;
    let mut prev = (m, rm);
    for k in (0..u.len()).rev().filter(|&k| u[k] < m) {
        let node = (u[k], r(s[k]));
        if node.1 > rt {
            low = Some(cross(prev, node));
            break;
        }
        prev = node;
    }
    Some((low, high))
}

/// A [`Span`] in θ units from coordinate ends.
fn to_span(spacing: Spacing, ends: (Option<f64>, Option<f64>)) -> Span {
    Span {
        low: ends.0.map(|u| uncoord(spacing, u)),
        high: ends.1.map(|u| uncoord(spacing, u)),
        open_low: ends.0.is_none(),
        open_high: ends.1.is_none(),
    }
}

/// Coordinates of an axis sorted ascending, and the permutation that sorts them.
fn sorted_coords(grid: &Grid, a: usize) -> (Vec<f64>, Vec<usize>) {
    let ax = &grid.axes()[a];
    let mut order: Vec<usize> = (0..ax.values.len()).collect();
    order.sort_by(|&i, &j| ax.values[i].total_cmp(&ax.values[j]));
    let u = order
        .iter()
        .map(|&i| coord(ax.spacing, ax.values[i]))
        .collect();
    (u, order)
}

/// The 1-D profile of axis `a`: ascending coordinates and profile values, and its peak.
fn axis_profile(
    memo: &Memo,
    grid: &Grid,
    p: &Partials,
    a: usize,
) -> (Vec<f64>, Vec<f64>, Option<(f64, f64)>) {
    let (u, order) = sorted_coords(grid, a);
    let prof = memo.profile(grid, p, &[a]);
    let s: Vec<f64> = order.iter().map(|&i| prof[i]).collect();
    let pk = peak(&u, &s);
    (u, s, pk)
}

/// The profiles [`profile`] computed so far, by grid (its address) and kept axes: the
/// intervals and regions at several levels of [`all_at`] each need the same few passes over the
/// grid.
#[derive(Default)]
struct Memo {
    profiles: RefCell<HashMap<ProfileKey, Rc<Vec<f64>>>>,
}

/// A grid's address and the axes a profile keeps.
type ProfileKey = (usize, Vec<usize>);

impl Memo {
    /// [`profile`] of `grid`, `p` over the axes `keep`, computed unless held already (a memo
    /// lives for one set of partials per grid).
    fn profile(&self, grid: &Grid, p: &Partials, keep: &[usize]) -> Rc<Vec<f64>> {
        let key = (grid as *const Grid as usize, keep.to_vec());
        if let Some(v) = self.profiles.borrow().get(&key) {
            return v.clone();
        }
        let v = Rc::new(profile(grid, p, keep));
        self.profiles.borrow_mut().insert(key, v.clone());
        v
    }
}

/// The 95% likelihood-ratio interval of the parameter on axis `a` of `grid`.
pub fn interval(family: &dyn Family, grid: &Grid, p: &Partials, a: usize) -> Option<Interval> {
    interval_at(family, grid, p, a, INTERVAL_LEVEL)
}

/// The likelihood-ratio interval at `level` of the parameter on axis `a` of `grid`, read off the
/// grid ({v : Dⱼ(v) ≤ χ²₁(level)}, see the module documentation).
pub fn interval_at(
    family: &dyn Family,
    grid: &Grid,
    p: &Partials,
    a: usize,
    level: f64,
) -> Option<Interval> {
    interval_memo(&Memo::default(), family, grid, p, a, level)
}

fn interval_memo(
    memo: &Memo,
    family: &dyn Family,
    grid: &Grid,
    p: &Partials,
    a: usize,
    level: f64,
) -> Option<Interval> {
    let ax = &grid.axes()[a];
    let (u, s, pk) = axis_profile(memo, grid, p, a);
    let (m, pm) = pk?;
    let threshold = chi2_quantile(1, level);
    let ends = span_coord(&u, &s, m, pm, pm, threshold)?;
    Some(Interval {
        param: ax.param,
        name: family.params()[ax.param].name.to_string(),
        span: to_span(ax.spacing, ends),
        level,
        round: 0,
        method: IntervalMethod::Grid,
        threshold,
    })
}

/// The grid's maximum of S refined by the parabola through the best value of axis `a`'s profile
/// and its neighbours (the Ŝ of the grid method), or `None` when every point is −∞.
pub fn grid_peak(grid: &Grid, p: &Partials, a: usize) -> Option<f64> {
    axis_profile(&Memo::default(), grid, p, a).2.map(|(_, v)| v)
}

/// The joint region at `level` of a grid with exactly two free axes; `None` otherwise.
pub fn region(family: &dyn Family, grid: &Grid, p: &Partials, level: f64) -> Option<Region> {
    region_memo(&Memo::default(), family, grid, p, level)
}

fn region_memo(
    memo: &Memo,
    family: &dyn Family,
    grid: &Grid,
    p: &Partials,
    level: f64,
) -> Option<Region> {
    let free = free_axes(family, grid);
    let &[ax, ay] = free.as_slice() else {
        return None;
    };
    let (px, py) = (
        axis_profile(memo, grid, p, ax).2?,
        axis_profile(memo, grid, p, ay).2?,
    );
    let smax = px.1.max(py.1);
    let threshold = chi2_2(level);
    let (ux, ox) = sorted_coords(grid, ax);
    let (uy, oy) = sorted_coords(grid, ay);
    let (sx, sy) = (grid.axes()[ax].spacing, grid.axes()[ay].spacing);
    let prof = memo.profile(grid, p, &[ax, ay]);
    let ny = uy.len();
    let mut rows = Vec::new();
    let mut open = false;
    for (kx, &ix) in ox.iter().enumerate() {
        let s: Vec<f64> = oy.iter().map(|&iy| prof[ix * ny + iy]).collect();
        let Some((m, pm)) = peak(&uy, &s) else {
            continue;
        };
        let Some(ends) = span_coord(&uy, &s, m, pm, smax, threshold) else {
            continue;
        };
        let span = to_span(sy, ends);
        open |= span.open_low || span.open_high || kx == 0 || kx + 1 == ox.len();
        rows.push(RegionRow {
            x: uncoord(sx, ux[kx]),
            span,
        });
    }
    if rows.is_empty() {
        return None;
    }
    let (ymin, ymax) = (uncoord(sy, uy[0]), uncoord(sy, uy[ny - 1]));
    let mut polygon: Vec<[f64; 2]> = rows
        .iter()
        .map(|r| [r.x, r.span.low.unwrap_or(ymin)])
        .collect();
    polygon.extend(
        rows.iter()
            .rev()
            .map(|r| [r.x, r.span.high.unwrap_or(ymax)]),
    );
    let names = family.params();
    Some(Region {
        level,
        threshold,
        x: names[grid.axes()[ax].param].name.to_string(),
        y: names[grid.axes()[ay].param].name.to_string(),
        rows,
        polygon,
        open,
        round: 0,
    })
}

/// Intervals of every free parameter, each read off the latest of `grids` (round 0 first) on which
/// it is closed, else off the latest grid; and, for two free parameters, the joint regions, each
/// read off the grid on which it is closed with the most rows (the latest on ties), else off the
/// latest grid.
pub fn all(family: &dyn Family, grids: &[(&Grid, &Partials)]) -> (Vec<Interval>, Vec<Region>) {
    all_at(family, grids, &[INTERVAL_LEVEL], &REGION_LEVELS)
}

/// [`all`] at any levels: an interval per free parameter and level in `levels` (parameter-major,
/// levels in the given order), and the joint regions at `region_levels`.
pub fn all_at(
    family: &dyn Family,
    grids: &[(&Grid, &Partials)],
    levels: &[f64],
    region_levels: &[f64],
) -> (Vec<Interval>, Vec<Region>) {
    let Some(&(last, _)) = grids.last() else {
        return (Vec::new(), Vec::new());
    };
    let memo = Memo::default();
    let mut intervals = Vec::new();
    for a in free_axes(family, last) {
        let param = last.axes()[a].param;
        for &level in levels {
            // The latest closed interval, else the latest one.
            let mut pick: Option<Interval> = None;
            for (round, &(g, p)) in grids.iter().enumerate().rev() {
                let Some(a) = g.axes().iter().position(|x| x.param == param) else {
                    continue;
                };
                if let Some(mut iv) = interval_memo(&memo, family, g, p, a, level) {
                    iv.round = round;
                    let closed = !iv.span.open_low && !iv.span.open_high;
                    if closed || pick.is_none() {
                        pick = Some(iv);
                    }
                    if closed {
                        break;
                    }
                }
            }
            intervals.extend(pick);
        }
    }
    intervals.sort_by_key(|iv| iv.param);
    let mut regions = Vec::new();
    for &level in region_levels {
        // The closed region with the most rows (the latest on ties), else the latest region.
        let mut pick: Option<Region> = None;
        for (round, &(g, p)) in grids.iter().enumerate() {
            if let Some(mut r) = region_memo(&memo, family, g, p, level) {
                r.round = round;
                let better = match &pick {
                    None => true,
                    Some(q) => {
                        (q.open && !r.open)
                            || (q.open == r.open && (r.open || r.rows.len() >= q.rows.len()))
                    }
                };
                if better {
                    pick = Some(r);
                }
            }
        }
        regions.extend(pick);
    }
    (intervals, regions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::test_grid as grid;
    use crate::model::lookup;

    /// Partials of the normal log-likelihood with sufficient statistics (x̄, s², n), exactly.
    fn normal_partials(g: &Grid, mean: f64, var: f64, n: u64) -> Partials {
        let sum = (0..g.len())
            .map(|i| {
                let t = g.theta(i);
                let (mu, s) = (t[0], t[1]);
                let nf = n as f64;
                -nf * (s.ln() + crate::model::HALF_LN_2PI)
                    - nf * (var + (mean - mu).powi(2)) / (2.0 * s * s)
            })
            .collect();
        Partials {
            sum,
            outside: vec![0; g.len()],
            n,
        }
    }

    /// [`profile`] by runs along the last axis is the maximum point by point, in grid order
    /// (which of +0 and −0 is kept included; NaN never kept), over any kept axes, with a fixed
    /// last axis too, on grids small enough for one block and large enough for parallel blocks
    /// and for the copy of S where every axis is kept.
    #[test]
    fn profile_by_runs_is_the_point_by_point_maximum() {
        fn by_points(grid: &Grid, p: &Partials, keep: &[usize]) -> Vec<f64> {
            let axes = grid.axes();
            let st = strides(grid);
            let len: usize = keep.iter().map(|&a| axes[a].values.len()).product();
            let mut out = vec![f64::NEG_INFINITY; len];
            for i in 0..p.len() {
                let mut k = 0;
                for &a in keep {
                    k = k * axes[a].values.len() + (i / st[a]) % axes[a].values.len();
                }
                let v = p.loglik(i);
                if v > out[k] {
                    out[k] = v;
                }
            }
            out
        }
        let fam = lookup("normal_mixture").unwrap();
        for specs in [
            &[
                "w=0.2:0.4:3",
                "mu1=-1:0:4",
                "sigma1=0.5:1:5",
                "mu2=2",
                "sigma2=1:2:2",
            ][..],
            &[
                "w=0.2:0.4:3",
                "mu1=-1:0:4",
                "sigma1=0.5:1:5",
                "mu2=1:2:2",
                "sigma2=1",
            ][..],
            // Large enough for the parallel blocks (120,000 and 60,000 points).
            &[
                "w=0.2:0.4:30",
                "mu1=-1:0:40",
                "sigma1=0.5:1:50",
                "mu2=2",
                "sigma2=1:2:2",
            ][..],
            &[
                "w=0.2:0.4:2",
                "mu1=-1:0:3",
                "sigma1=0.5:1:10000",
                "mu2=1",
                "sigma2=1",
            ][..],
        ] {
            let g = grid(fam, specs);
            let p = Partials {
                sum: (0..g.len())
                    .map(|i| match i % 11 {
                        0 => 0.0,
                        1 => -0.0,
                        2 => f64::NAN,
                        _ => -((i * 7919 % 101) as f64),
                    })
                    .collect(),
                outside: (0..g.len()).map(|i| (i % 13 == 0) as u64).collect(),
                n: 10,
            };
            for keep in [
                &[0][..],
                &[2],
                &[4],
                &[3],
                &[0, 1],
                &[2, 4],
                &[4, 0],
                &[1, 3],
                &[0, 1, 2, 4],
                &[0, 1, 2, 3],
                &[0, 1, 2, 3, 4],
            ] {
                let (a, b) = (profile(&g, &p, keep), by_points(&g, &p, keep));
                assert_eq!(a.len(), b.len());
                for (x, y) in a.iter().zip(&b) {
                    assert_eq!(x.to_bits(), y.to_bits(), "{specs:?} {keep:?}");
                }
            }
        }
    }

    /// `axis_best` (parallel blocks, runs along the axis) is the first point with the largest S
    /// at each position of a scan in grid order, on whole grids and on shards of them.
    #[test]
    fn axis_best_is_the_first_best_point_of_the_point_by_point_scan() {
        let fam = lookup("normal_mixture").unwrap();
        let g = grid(
            fam,
            &[
                "w=0.2:0.4:30",
                "mu1=-1:0:40",
                "sigma1=0.5:1:50",
                "mu2=2",
                "sigma2=1:2:2",
            ],
        );
        for (lo, hi) in [(0, g.len()), (12_345, 101_001), (0, 999), (7, 70_007)] {
            let shard = g.range(lo, hi).unwrap();
            let p = Partials {
                sum: (0..shard.len())
                    .map(|i| match i % 17 {
                        0 => f64::NAN,
                        1 => f64::NEG_INFINITY,
                        // Ties across positions and within one.
                        _ => -(((i * 7919) % 23) as f64),
                    })
                    .collect(),
                outside: (0..shard.len()).map(|i| (i % 19 == 0) as u64).collect(),
                n: 10,
            };
            for a in 0..5 {
                let n_a = shard.axes()[a].values.len();
                let mut want = vec![(f64::NEG_INFINITY, usize::MAX); n_a];
                for i in 0..shard.len() {
                    let b = &mut want[shard.axis_index(i, a)];
                    if p.loglik(i) > b.0 {
                        *b = (p.loglik(i), i);
                    }
                }
                let got = axis_best(&shard, &p, a);
                assert_eq!(got.len(), want.len());
                for (x, y) in got.iter().zip(&want) {
                    assert_eq!(
                        (x.0.to_bits(), x.1),
                        (y.0.to_bits(), y.1),
                        "{lo}..{hi} axis {a}"
                    );
                }
            }
        }
    }

    #[test]
    fn quadratic_profile_gives_the_exact_wald_interval_on_a_coarse_grid() {
        // With sigma fixed, S(μ) is exactly quadratic: the interval is x̄ ± 1.96·σ/√n for any
        // step, even one much larger than the interval.
        let fam = lookup("normal").unwrap();
        let g = grid(fam, &["mu=0:3:31", "sigma=2"]);
        let p = normal_partials(&g, 1.4937, 4.0, 1_000_000);
        let iv = interval(fam, &g, &p, 0).unwrap();
        let half = chi2_quantile(1, 0.95).sqrt() * 2.0 / 1000.0;
        assert!(
            (iv.span.low.unwrap() - (1.4937 - half)).abs() < 1e-9,
            "{iv:?}"
        );
        assert!(
            (iv.span.high.unwrap() - (1.4937 + half)).abs() < 1e-9,
            "{iv:?}"
        );
    }

    #[test]
    fn chi2_quantiles_match_their_closed_forms() {
        // χ²₁(level) = (Φ⁻¹((1 + level)/2))²: 3.841458820694124 at 95%, 1 at 68.27%.
        assert!((chi2_quantile(1, 0.95) - 3.841_458_820_694_124).abs() < 1e-12);
        let one_sigma = 0.682_689_492_137_085_9; // erf(1/√2), from mpmath
        let q = chi2_quantile(1, one_sigma);
        assert!((q - 1.0).abs() < 1e-12, "{q}");
        for level in [0.5f64, 0.68, 0.6827, 0.9, 0.95, 0.99, 0.999] {
            let want = -2.0 * (1.0 - level).ln();
            assert!((chi2_2(level) - want).abs() < 1e-12 * want, "{level}");
            // statrs' χ²₁ CDF at the quantile gives the level back.
            let c = ChiSquared::new(1.0).unwrap().cdf(chi2_quantile(1, level));
            assert!((c - level).abs() < 1e-9, "{level}: {c}");
        }
        // k = 3 by statrs' inverse CDF: χ²₃(0.95) = 7.814727903251178.
        assert!((chi2_quantile(3, 0.95) - 7.814_727_903_251_178).abs() < 1e-9);
    }

    #[test]
    fn intervals_reaching_the_edge_are_open() {
        let fam = lookup("normal").unwrap();
        let g = grid(fam, &["mu=1.4:1.6:21", "sigma=2"]);
        let p = normal_partials(&g, 1.5, 4.0, 100);
        let iv = interval(fam, &g, &p, 0).unwrap();
        assert!(iv.span.open_low && iv.span.open_high);
        assert_eq!((iv.span.low, iv.span.high), (None, None));
    }

    #[test]
    fn joint_region_of_the_normal_is_the_deviance_ellipse() {
        // D(μ, σ) ≈ n(μ − x̄)²/σ̂² + 2n(σ − σ̂)²/σ̂²: at μ = x̄ the 95% σ-range is
        // σ̂ ± σ̂·√(5.99/(2n)) to first order.
        let fam = lookup("normal").unwrap();
        let n = 10_000u64;
        let g = grid(fam, &["mu=1.9:2.1:41", "sigma=0.9:1.1:41"]);
        let p = normal_partials(&g, 2.0, 1.0, n);
        let r = region(fam, &g, &p, 0.95).unwrap();
        assert!(!r.open);
        assert_eq!((r.x.as_str(), r.y.as_str()), ("mu", "sigma"));
        let mid = r
            .rows
            .iter()
            .find(|row| (row.x - 2.0).abs() < 1e-12)
            .unwrap();
        let half = (chi2_2(0.95) / (2.0 * n as f64)).sqrt();
        let (lo, hi) = (mid.span.low.unwrap(), mid.span.high.unwrap());
        assert!(
            (hi - lo - 2.0 * half).abs() < 0.03 * 2.0 * half,
            "{lo} {hi}"
        );
        // The 68% region lies inside the 95% one.
        let r68 = region(fam, &g, &p, 0.68).unwrap();
        assert!(r68.rows.len() < r.rows.len());
        assert_eq!(r.polygon.len(), 2 * r.rows.len());
    }
}
