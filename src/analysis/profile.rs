//! Profile-likelihood intervals and joint regions with the nuisance parameters optimised
//! continuously in f64 (`--intervals profile`, the default), and the profile curves the plots
//! draw.
//!
//! For a free parameter j, the profile log-likelihood is Pⱼ(v) = max over the other free
//! parameters of S(θ) at θⱼ = v, maximised by [`crate::analysis::optim::maximise`] (Newton, f64, on the
//! exact likelihood of [`Likelihood`]) from the nearest point already solved (warm start) or the
//! best grid point at the nearest grid value of θⱼ, whichever is more likely. The deviance is
//! Dⱼ(v) = 2·(S(θ̂) − Pⱼ(v)), and the interval at level L is {v : Dⱼ(v) ≤ χ²₁(L)}. Each end is the
//! root of √Dⱼ − √χ²₁(L) (nearly linear in v, so Brent's method of the `argmin` crate converges in
//! a few steps), bracketed by stepping outwards from θ̂ by the Wald half-width (from the Hessian)
//! and doubling, in the unconstrained coordinate of θⱼ (ln θ for positive parameters, logit θ for
//! those in (0, 1)), to 10⁻⁷ of the half-width. An end that is not reached inside the search box
//! ([`Bounds`]: the grid widened by e³⁰ in those coordinates) is open (`null`); for an MLE on the
//! boundary of the parameter space that end is the boundary value.
//!
//! Joint regions (two free parameters x, y; the others, if any, profiled): {θ : D(x, y) ≤
//! χ²₂(L)}. The boundary is traced along 48 rays from θ̂, in the unconstrained coordinates scaled
//! by the Wald covariance (so that the rays cross a quadratic deviance's ellipse at equal angles),
//! each crossing found as for the intervals (`polygon`); `rows` give, at each grid value of x,
//! the interval of y found the same way.

use crate::analysis::hessian::Errors;
use crate::analysis::intervals::{
    chi2_quantile, free_axes, Interval, IntervalMethod, Region, RegionRow, Span,
};
use crate::analysis::likelihood::Likelihood;
use crate::analysis::mle::Mle;
use crate::analysis::optim::{cholesky, maximise, Bounds, Side, WIDEN};
use crate::engine::partials::Partials;
use crate::model::grid::Grid;
use crate::model::{Domain, Family};
use argmin::core::{CostFunction, Executor, State};
use argmin::solver::brent::BrentRoot;
use std::cell::RefCell;

/// Rays traced per joint region.
const RAYS: usize = 48;

/// Relative tolerance of the end points, as a fraction of the (Wald) half-width.
const ROOT_TOL: f64 = 1e-7;

/// Signed-root deviance beyond the support (S = −∞): finite, far above any threshold.
const FAR: f64 = 1e6;

/// A grid start: u of a grid value, and the θ of the best grid point there.
type GridStart = (f64, Vec<f64>);

/// A solved profile point: the fixed parameters, their u, the optimal θ.
type Solved = (Vec<usize>, Vec<f64>, Vec<f64>);

/// A profile curve: Pⱼ(v) at increasing values v of parameter `param`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileCurve {
    pub param: usize,
    /// (v, Pⱼ(v)) with v ascending.
    pub points: Vec<(f64, f64)>,
}

/// The profile likelihood of a model around its MLE.
pub struct Profile<'a> {
    lik: &'a Likelihood<'a>,
    bounds: Bounds,
    /// Free parameters (family indices), in the grid's axis order.
    free: Vec<usize>,
    theta_hat: Vec<f64>,
    s_hat: f64,
    /// Wald standard error in u per family parameter (the grid step where unknown).
    se_u: Vec<f64>,
    /// Wald covariance in u of the free parameters (row-major), where the Hessian allows.
    cov_u: Option<Vec<f64>>,
    /// Parameters of an MLE on the boundary, with the side.
    boundary: Vec<(usize, Side)>,
    /// Grid starts: per free parameter, per grid value (ascending u), the θ of the best grid
    /// point with that value.
    grid_starts: Vec<(usize, Vec<GridStart>)>,
    /// Solved points: (the fixed parameters, their u, the optimal θ).
    cache: RefCell<Vec<Solved>>,
    /// The largest profile value seen above S(θ̂) (a better optimum than the MLE), if any.
    above: RefCell<f64>,
}

/// A root-finding problem for argmin: f(u) = √D(u) − √q.
struct Root<'f>(&'f dyn Fn(f64) -> f64);

impl CostFunction for Root<'_> {
    type Param = f64;
    type Output = f64;
    fn cost(&self, u: &f64) -> std::result::Result<f64, argmin::core::Error> {
        Ok((self.0)(*u))
    }
}

/// The root of `f` in [a, b] (f(a)·f(b) ≤ 0) to `tol` by Brent's method; the bracket's midpoint
/// if the solver fails.
fn brent(f: &dyn Fn(f64) -> f64, a: f64, b: f64, tol: f64) -> f64 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let run = Executor::new(Root(f), BrentRoot::new(lo, hi, tol))
        .configure(|s| s.max_iters(200))
        .run();
    match run {
        Ok(res) => res
            .state()
            .get_best_param()
            .copied()
            .unwrap_or(0.5 * (lo + hi)),
        Err(_) => 0.5 * (lo + hi),
    }
}

impl<'a> Profile<'a> {
    /// The profile of `lik` around `mle` for the free parameters of `grid` (the sweep's grid and
    /// its partials give the grid starts), with the Wald scales of `errors` where available.
    pub fn new(
        lik: &'a Likelihood<'a>,
        grid: &Grid,
        partials: &Partials,
        mle: &Mle,
        errors: Option<&Errors>,
        boundary: Vec<(usize, Side)>,
    ) -> Profile<'a> {
        let family = lik.family();
        let bounds = Bounds::new(family, grid, WIDEN);
        let free: Vec<usize> = free_axes(family, grid)
            .into_iter()
            .map(|a| grid.axes()[a].param)
            .collect();
        let theta_hat = mle.theta.clone();
        // At a boundary MLE, S is evaluated just inside (the limit value is no distribution).
        let mut inside = theta_hat.clone();
        for &(j, side) in &boundary {
            inside[j] = bounds.theta(
                j,
                match side {
                    Side::Lower => bounds.lo[j],
                    Side::Upper => bounds.hi[j],
                },
            );
        }
        let s_hat = lik.loglik(&inside);
        // Wald scales in u: σᵤ = σ_θ·du/dθ.
        let mut se_u = bounds.scale.clone();
        let mut cov_u = None;
        if let Some(e) = errors.filter(|e| e.params == free) {
            if let Some(cov) = &e.covariance {
                let k = free.len();
                let jac: Vec<f64> = free
                    .iter()
                    .map(|&j| {
                        let v = theta_hat[j];
                        match family.params()[j].domain {
                            Domain::Positive => 1.0 / v,
                            Domain::OpenUnit => 1.0 / (v * (1.0 - v)),
                            _ => 1.0,
                        }
                    })
                    .collect();
                let mut c = vec![0.0; k * k];
                for a in 0..k {
                    for b in 0..k {
                        c[a * k + b] = cov[a * k + b] * jac[a] * jac[b];
                    }
                    se_u[free[a]] = c[a * k + a].sqrt();
                }
                cov_u = Some(c);
            }
        }
        let grid_starts = free
            .iter()
            .map(|&j| (j, grid_starts(grid, partials, &bounds, j)))
            .collect();
        let start = inside.clone();
        Profile {
            lik,
            bounds,
            free,
            theta_hat: start,
            s_hat,
            se_u,
            cov_u,
            boundary,
            grid_starts,
            cache: RefCell::new(Vec::new()),
            above: RefCell::new(f64::NEG_INFINITY),
        }
    }

    /// S at the MLE.
    pub fn s_hat(&self) -> f64 {
        self.s_hat
    }

    /// The free parameters.
    pub fn free(&self) -> &[usize] {
        &self.free
    }

    /// How much the largest profile value found exceeds S(θ̂) (> 0: θ̂ is not the global
    /// maximum), if it does.
    pub fn excess(&self) -> Option<f64> {
        let a = *self.above.borrow();
        (a > self.s_hat).then_some(a - self.s_hat)
    }

    /// The profile at fixed parameters `fixed` (family indices) with unconstrained values `u`:
    /// max over the other free parameters of S, and the θ reaching it.
    fn solve(&self, fixed: &[usize], u: &[f64]) -> (f64, Vec<f64>) {
        let vars: Vec<usize> = self
            .free
            .iter()
            .copied()
            .filter(|j| !fixed.contains(j))
            .collect();
        let set = |mut t: Vec<f64>| {
            for (&j, &uj) in fixed.iter().zip(u) {
                t[j] = self.bounds.theta(j, uj);
            }
            t
        };
        if vars.is_empty() {
            // Nothing to profile: S itself.
            let t = set(self.theta_hat.clone());
            let s = self.lik.loglik(&t);
            let mut above = self.above.borrow_mut();
            *above = above.max(s);
            return (s, t);
        }
        // Candidate starts: the nearest solved point, the MLE, the best grid point at the
        // nearest grid value of the first fixed parameter.
        let mut starts = vec![set(self.theta_hat.clone())];
        {
            let cache = self.cache.borrow();
            let dist = |v: &[f64]| {
                v.iter()
                    .zip(u)
                    .zip(fixed)
                    .map(|((a, b), &j)| ((a - b) / self.se_u[j]).powi(2))
                    .sum::<f64>()
            };
            if let Some((_, _, t)) = cache
                .iter()
                .filter(|(f, _, _)| f == fixed)
                .min_by(|a, b| dist(&a.1).total_cmp(&dist(&b.1)))
            {
                starts.push(set(t.clone()));
            }
        }
        if let Some((_, gs)) = self.grid_starts.iter().find(|(j, _)| *j == fixed[0]) {
            if let Some((_, t)) = gs
                .iter()
                .min_by(|a, b| (a.0 - u[0]).abs().total_cmp(&(b.0 - u[0]).abs()))
            {
                starts.push(set(t.clone()));
            }
        }
        let start = starts
            .into_iter()
            .map(|t| (self.lik.loglik(&t), t))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, t)| t)
            .expect("a start");
        let fit = maximise(self.lik, &self.bounds, &vars, &start);
        if fit.loglik.is_finite() {
            self.cache
                .borrow_mut()
                .push((fixed.to_vec(), u.to_vec(), fit.theta.clone()));
            let mut above = self.above.borrow_mut();
            *above = above.max(fit.loglik);
        }
        (fit.loglik, fit.theta)
    }

    /// Signed-root deviance √max(D, 0) at fixed parameters (FAR where S = −∞).
    fn root_deviance(&self, fixed: &[usize], u: &[f64]) -> f64 {
        let (p, _) = self.solve(fixed, u);
        if p.is_finite() {
            (2.0 * (self.s_hat - p)).max(0.0).sqrt()
        } else {
            FAR
        }
    }

    /// The crossing of √D = `rq` along `point(r)` for r ≥ 0 (r = 0 at θ̂), starting the bracket
    /// at `r0` and doubling; `None` when it is not reached before `r_max`.
    fn crossing(&self, rd: &dyn Fn(f64) -> f64, rq: f64, r0: f64, r_max: f64) -> Option<f64> {
        let mut a = 0.0;
        let mut b = r0.min(r_max);
        loop {
            let v = rd(b);
            if v >= rq {
                break;
            }
            if b >= r_max {
                return None;
            }
            a = b;
            b = (2.0 * b).min(r_max);
        }
        let f = |r: f64| rd(r) - rq;
        Some(brent(&f, a, b, ROOT_TOL * r0))
    }

    /// The interval of parameter j at `level`.
    pub fn interval(&self, j: usize, level: f64) -> Interval {
        let q = chi2_quantile(1, level);
        let rq = q.sqrt();
        let b = &self.bounds;
        let u_hat = b.u(j, self.theta_hat[j]);
        let step = self.se_u[j] * rq;
        let mut ends = [None, None];
        for (k, side) in [(0, Side::Lower), (1, Side::Upper)] {
            let sign = if k == 0 { -1.0 } else { 1.0 };
            let r_max = if k == 0 {
                u_hat - b.lo[j]
            } else {
                b.hi[j] - u_hat
            };
            let rd = |r: f64| self.root_deviance(&[j], &[u_hat + sign * r]);
            ends[k] = match self.crossing(&rd, rq, 1.1 * step, r_max) {
                Some(r) => Some(b.theta(j, u_hat + sign * r)),
                None if self.boundary.contains(&(j, side)) => {
                    let l = b.theta(
                        j,
                        if k == 0 {
                            f64::NEG_INFINITY
                        } else {
                            f64::INFINITY
                        },
                    );
                    Some(l)
                }
                None => None,
            };
        }
        Interval {
            param: j,
            name: self.lik.family().params()[j].name.to_string(),
            span: Span {
                low: ends[0],
                high: ends[1],
                open_low: ends[0].is_none(),
                open_high: ends[1].is_none(),
            },
            level,
            round: 0,
            method: IntervalMethod::Profile,
            threshold: q,
        }
    }

    /// The joint region at `level` of the first two free parameters (`None` with fewer).
    pub fn region(&self, grid: &Grid, level: f64) -> Option<Region> {
        let (&jx, &jy) = (self.free.first()?, self.free.get(1)?);
        let q = chi2_quantile(2, level);
        let rq = q.sqrt();
        let b = &self.bounds;
        let c = [b.u(jx, self.theta_hat[jx]), b.u(jy, self.theta_hat[jy])];
        // Ray directions: L·(cos φ, sin φ) with L·Lᵀ the Wald covariance in u (or the scales).
        let (ix, iy) = (0, 1);
        let l = self
            .cov_u
            .as_ref()
            .and_then(|cov| {
                let k = self.free.len();
                let sub = [
                    cov[ix * k + ix],
                    cov[ix * k + iy],
                    cov[iy * k + ix],
                    cov[iy * k + iy],
                ];
                cholesky(&sub, 2)
            })
            .unwrap_or_else(|| vec![self.se_u[jx], 0.0, 0.0, self.se_u[jy]]);
        let mut polygon = Vec::with_capacity(RAYS);
        let mut open = false;
        for k in 0..RAYS {
            let phi = 2.0 * std::f64::consts::PI * k as f64 / RAYS as f64;
            let (cs, sn) = (phi.cos(), phi.sin());
            let d = [l[0] * cs, l[2] * cs + l[3] * sn];
            // Largest r inside the box along d.
            let mut r_max = f64::INFINITY;
            for (i, j) in [(0, jx), (1, jy)] {
                if d[i] > 0.0 {
                    r_max = r_max.min((b.hi[j] - c[i]) / d[i]);
                } else if d[i] < 0.0 {
                    r_max = r_max.min((b.lo[j] - c[i]) / d[i]);
                }
            }
            let point = |r: f64| [c[0] + r * d[0], c[1] + r * d[1]];
            let rd = |r: f64| self.root_deviance(&[jx, jy], &point(r));
            let r = match self.crossing(&rd, rq, 1.1 * rq, r_max) {
                Some(r) => r,
                None => {
                    open = true;
                    r_max
                }
            };
            let p = point(r);
            polygon.push([b.theta(jx, p[0]), b.theta(jy, p[1])]);
        }
        // Rows: at each grid value of x inside the region, the y-interval.
        let ax = grid.axes().iter().position(|a| a.param == jx)?;
        let mut xs = grid.axes()[ax].values.clone();
        xs.sort_by(f64::total_cmp);
        let (xmin, xmax) = polygon
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, z), p| {
                (a.min(p[0]), z.max(p[0]))
            });
        let mut rows = Vec::new();
        for &x in xs.iter().filter(|&&x| x >= xmin && x <= xmax) {
            let ux = b.u(jx, x);
            let (p, t) = self.solve(&[jx], &[ux]);
            if !p.is_finite() || 2.0 * (self.s_hat - p) > q {
                continue;
            }
            let uy = b.u(jy, t[jy]);
            let mut ends = [None, None];
            for (k, sign) in [(0, -1.0), (1, 1.0)] {
                let r_max = if k == 0 { uy - b.lo[jy] } else { b.hi[jy] - uy };
                let rd = |r: f64| self.root_deviance(&[jx, jy], &[ux, uy + sign * r]);
                ends[k] = self
                    .crossing(&rd, rq, 1.1 * rq * self.se_u[jy], r_max)
                    .map(|r| b.theta(jy, uy + sign * r));
            }
            open |= ends[0].is_none() || ends[1].is_none();
            rows.push(RegionRow {
                x,
                span: Span {
                    low: ends[0],
                    high: ends[1],
                    open_low: ends[0].is_none(),
                    open_high: ends[1].is_none(),
                },
            });
        }
        let names = self.lik.family().params();
        Some(Region {
            level,
            threshold: q,
            x: names[jx].name.to_string(),
            y: names[jy].name.to_string(),
            rows,
            polygon,
            open,
            round: 0,
        })
    }

    /// Pⱼ at each of `values` (any order; solved in ascending order from the MLE outwards, so
    /// each starts from its neighbour).
    pub fn curve(&self, j: usize, values: &[f64]) -> ProfileCurve {
        let mut v: Vec<f64> = values.to_vec();
        v.sort_by(f64::total_cmp);
        v.dedup();
        let u_hat = self.bounds.u(j, self.theta_hat[j]);
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&a, &b| {
            let da = (self.bounds.u(j, v[a]) - u_hat).abs();
            let db = (self.bounds.u(j, v[b]) - u_hat).abs();
            da.total_cmp(&db)
        });
        let mut p = vec![f64::NEG_INFINITY; v.len()];
        for i in order {
            let u = self.bounds.u(j, v[i]);
            p[i] = self.solve(&[j], &[u]).0;
        }
        ProfileCurve {
            param: j,
            points: v.into_iter().zip(p).collect(),
        }
    }
}

/// Per grid value of axis j's parameter (ascending u): the θ of the best grid point there.
fn grid_starts(grid: &Grid, partials: &Partials, bounds: &Bounds, j: usize) -> Vec<GridStart> {
    let Some(a) = grid.axes().iter().position(|x| x.param == j) else {
        return Vec::new();
    };
    let ax = &grid.axes()[a];
    // Each position along the axis stands for the first position holding the same value (a
    // list may repeat one): the larger S, the earlier point on ties.
    let key = |v: f64| if v == 0.0 { 0 } else { v.to_bits() };
    let mut first_of = std::collections::HashMap::with_capacity(ax.values.len());
    let mut best = crate::analysis::intervals::axis_best(grid, partials, a);
    for k in 0..ax.values.len() {
        let f = *first_of.entry(key(ax.values[k])).or_insert(k);
        if f != k {
            let (b, d) = (best[k], best[f]);
            if b.0 > d.0 || (b.0 == d.0 && b.1 < d.1) {
                best[f] = b;
            }
            best[k] = (f64::NEG_INFINITY, usize::MAX);
        }
    }
    let mut out: Vec<GridStart> = ax
        .values
        .iter()
        .zip(&best)
        .filter(|(_, b)| b.1 != usize::MAX)
        .map(|(&v, b)| (bounds.u(j, v), grid.theta(b.1)))
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// What the intervals, regions and errors of an analysis need to know besides the data.
#[derive(Debug, Clone)]
pub struct Settings {
    pub method: IntervalMethod,
    /// Levels of the per-parameter intervals (`--cl`).
    pub levels: Vec<f64>,
    /// Levels of the joint regions (`--region-cl`).
    pub region_levels: Vec<f64>,
    /// Points per optimised profile curve for the plots (0: none).
    pub curve_points: usize,
    /// The documented tolerance of the sweep's path on the mean log-likelihood when it is an
    /// f32 path (gpu, cpu), `None` for the f64 reference.
    pub f32_tolerance: Option<f64>,
}

/// Intervals, regions, errors and what to warn about.
#[derive(Debug, Clone, Default)]
pub struct Uncertainty {
    /// How the reported intervals and regions were computed.
    pub method: Option<IntervalMethod>,
    /// Every free parameter at every level, parameter-major, levels in the order asked.
    pub intervals: Vec<Interval>,
    pub regions: Vec<Region>,
    pub errors: Option<Errors>,
    pub warnings: Vec<String>,
    /// Optimised profile curves (for plots).
    pub curves: Vec<ProfileCurve>,
    /// S at the MLE by the exact likelihood (`None` without the data).
    pub s_hat: Option<f64>,
    /// How the exact likelihood was evaluated, and how often, and the seconds it all took.
    pub likelihood: Option<&'static str>,
    pub evaluations: u64,
    pub seconds: f64,
    /// For intervals read off an f32 path's grid: the bound on the absolute error of S there,
    /// tolerance · max(|mean log-likelihood|, 1) · n (nats).
    pub s_error_bound: Option<f64>,
}

/// Parameters of a boundary MLE and their side: a positive parameter at 0, a (0, 1) one at 0 or 1.
pub fn boundary_of(family: &dyn Family, mle: &Mle) -> Vec<(usize, Side)> {
    if !mle.on_boundary {
        return Vec::new();
    }
    family
        .params()
        .iter()
        .zip(&mle.theta)
        .enumerate()
        .filter_map(|(j, (p, &v))| match (p.domain, v) {
            (Domain::Positive | Domain::OpenUnit, 0.0) => Some((j, Side::Lower)),
            (Domain::OpenUnit, 1.0) => Some((j, Side::Upper)),
            _ => None,
        })
        .collect()
}

/// Width of an interval in the coordinate of its grid axis (ln θ on log-spaced axes), and the
/// axis's mean step in that coordinate.
fn width_in_steps(grid: &Grid, iv: &Interval) -> Option<f64> {
    let ax = grid.axes().iter().find(|a| a.param == iv.param)?;
    let (lo, hi) = (iv.span.low?, iv.span.high?);
    let log = ax.spacing == crate::model::grid::Spacing::Log;
    let c = |v: f64| if log { v.ln() } else { v };
    let step = (c(ax.max) - c(ax.min)) / (ax.values.len() - 1) as f64;
    (step > 0.0).then(|| (c(hi) - c(lo)) / step)
}

/// The primary interval per parameter: at 95% if asked, else at the highest level.
pub fn primary(all: &[Interval]) -> Vec<Interval> {
    let mut out: Vec<Interval> = Vec::new();
    for iv in all {
        match out.iter_mut().find(|o| o.param == iv.param) {
            None => out.push(iv.clone()),
            Some(o) => {
                let better = if (iv.level - 0.95).abs() < 1e-12 {
                    true
                } else {
                    (o.level - 0.95).abs() >= 1e-12 && iv.level > o.level
                };
                if better {
                    *o = iv.clone();
                }
            }
        }
    }
    out.sort_by_key(|iv| iv.param);
    out
}

/// The range of parameter j that a profile plot shows (θ): the widest reported interval of it
/// widened by its width on each side, and the grid values next to the best grid value `best`
/// (so that the grid's profile around its maximum stays in view); the grid's range when an
/// interval is open or there is none.
pub fn focus_range(grid: &Grid, j: usize, intervals: &[Interval], best: Option<f64>) -> (f64, f64) {
    let Some(ax) = grid.axes().iter().find(|a| a.param == j) else {
        return (f64::NAN, f64::NAN);
    };
    let log = ax.spacing == crate::model::grid::Spacing::Log;
    let c = |v: f64| if log { v.ln() } else { v };
    let uc = |v: f64| if log { v.exp() } else { v };
    let widest = intervals
        .iter()
        .filter(|iv| iv.param == j)
        .max_by(|a, b| a.level.total_cmp(&b.level));
    let Some((lo, hi)) = widest.and_then(|iv| Some((iv.span.low?, iv.span.high?))) else {
        return (ax.min, ax.max);
    };
    if log && (lo.is_nan() || lo <= 0.0) {
        return (ax.min, ax.max);
    }
    let w = c(hi) - c(lo);
    let (mut a, mut b) = (c(lo) - w, c(hi) + w);
    if let Some(best) = best {
        let mut vals: Vec<f64> = ax.values.clone();
        vals.sort_by(f64::total_cmp);
        if let Some(k) = vals.iter().position(|&v| v == best) {
            if k > 0 {
                a = a.min(c(vals[k - 1]));
            }
            if k + 1 < vals.len() {
                b = b.max(c(vals[k + 1]));
            }
        }
    }
    (uc(a), uc(b))
}

/// The intervals, regions and errors of an analysis: profile-likelihood ones from the exact
/// likelihood `lik` when the data are in memory and the MLE exists (and `settings.method` asks
/// for them), else read off `grids` (the sweep's grid, then any refinement rounds); errors at the
/// MLE whenever it is interior; and the warnings (grid intervals spanning fewer than 3 grid steps
/// or excluding the MLE or differing from the profile ones by more than 10%, an f32 path's
/// error bound on S above
/// 0.1 nat, open ends, a Hessian that is not positive definite, an MLE that is not the global
/// maximum).
pub fn uncertainty(
    family: &dyn Family,
    grids: &[(&Grid, &Partials)],
    lik: Option<&Likelihood<'_>>,
    mle: Option<&Mle>,
    settings: &Settings,
) -> Uncertainty {
    let t0 = std::time::Instant::now();
    let mut out = Uncertainty::default();
    let Some(&(grid, partials)) = grids.first() else {
        return out;
    };
    let e0 = lik.map_or(0, |l| l.evaluations());
    let (grid_ivs, grid_regions) = crate::analysis::intervals::all_at(
        family,
        grids,
        &settings.levels,
        &settings.region_levels,
    );
    let free: Vec<usize> = free_axes(family, grid)
        .into_iter()
        .map(|a| grid.axes()[a].param)
        .collect();
    // The profile, when the data are here and the MLE exists.
    let profile = match (lik, mle) {
        (Some(lik), Some(m)) if !free.is_empty() => {
            let boundary = boundary_of(family, m);
            if boundary.is_empty() {
                let e = crate::analysis::hessian::at_mle(lik, &m.theta, &free);
                if let Some(note) = &e.note {
                    out.warnings.push(format!("errors: {note}"));
                }
                out.errors = Some(e);
            } else {
                out.warnings.push(
                    "errors: none at an MLE on the boundary of the parameter space".to_string(),
                );
            }
            let p = Profile::new(lik, grid, partials, m, out.errors.as_ref(), boundary);
            out.s_hat = Some(p.s_hat());
            out.likelihood = Some(lik.method());
            Some(p)
        }
        _ => None,
    };
    let profile_ivs: Option<Vec<Interval>> = profile
        .as_ref()
        .map(|p| {
            free.iter()
                .flat_map(|&j| settings.levels.iter().map(move |&l| (j, l)))
                .map(|(j, l)| p.interval(j, l))
                .collect::<Vec<_>>()
        })
        .map(|mut v| {
            v.sort_by_key(|iv| iv.param);
            v
        });
    let use_profile = settings.method == IntervalMethod::Profile && profile.is_some();
    if settings.method == IntervalMethod::Profile && profile.is_none() && !free.is_empty() {
        if lik.is_some() {
            // The data are here but the MLE does not exist: no interval around it either.
            out.warnings
                .push("intervals: none, because the MLE does not exist (see mle_note)".to_string());
            out.seconds = t0.elapsed().as_secs_f64();
            return out;
        }
        out.warnings.push(
            "intervals: read off the grid (method grid), because profile intervals need the \
             data in memory"
                .to_string(),
        );
    }
    if use_profile {
        let p = profile.as_ref().expect("profile");
        out.method = Some(IntervalMethod::Profile);
        out.intervals = profile_ivs.clone().unwrap_or_default();
        if free.len() == 2 {
            out.regions = settings
                .region_levels
                .iter()
                .filter_map(|&l| p.region(grid, l))
                .collect();
        }
    } else {
        out.method =
            (!grid_ivs.is_empty() || !grid_regions.is_empty()).then_some(IntervalMethod::Grid);
        out.intervals = grid_ivs.clone();
        out.regions = grid_regions;
        // The advice: the profile where the data are here, else a finer grid.
        let remedy = if lik.is_some() {
            "use --intervals profile"
        } else {
            "use a finer grid or more --refine rounds (profile intervals need the data in memory)"
        };
        // What reading intervals off the grid costs in precision.
        if let Some(tol) = settings.f32_tolerance {
            if let Some(b) = partials.argmax() {
                let n = partials.n as f64;
                let bound = tol * partials.mean_loglik(b).abs().max(1.0) * n;
                out.s_error_bound = Some(bound);
                if bound > 0.1 && !out.intervals.is_empty() {
                    out.warnings.push(format!(
                        "intervals: read off an f32 path's grid, where S carries an absolute \
                         error of up to {} nats (tolerance {tol:.0e} × |mean log-likelihood| × \
                         n), more than 0.1 nat: the ends may be off; {}",
                        crate::numeric::fmt_num(bound),
                        if lik.is_some() {
                            "use --intervals profile (f64)"
                        } else {
                            "evaluate with --backend cpu-ref (f64)"
                        }
                    ));
                }
            }
        }
        for iv in &grid_ivs {
            // The grid it was read off: the sweep's (round 0) or a refinement round's.
            let read_off = grids.get(iv.round).map_or(grid, |g| g.0);
            if let (Some(m), Some(lo), Some(hi)) = (mle, iv.span.low, iv.span.high) {
                let t = m.theta[iv.param];
                if t < lo || t > hi {
                    out.warnings.push(format!(
                        "interval {} ({}%): [{}, {}] excludes the MLE {} = {}: the grid cannot \
                         resolve it; {remedy}",
                        iv.name,
                        crate::numeric::fmt_num(100.0 * iv.level),
                        crate::numeric::fmt_num(lo),
                        crate::numeric::fmt_num(hi),
                        iv.name,
                        crate::numeric::fmt_num(t)
                    ));
                }
            }
            if let Some(w) = width_in_steps(read_off, iv).filter(|&w| w < 3.0) {
                out.warnings.push(format!(
                    "interval {} ({}%): spans {} grid steps (fewer than 3): the grid is too \
                     coarse to read it off; {remedy}",
                    iv.name,
                    crate::numeric::fmt_num(100.0 * iv.level),
                    crate::numeric::fmt_num(w)
                ));
            }
            let Some(pi) = profile_ivs.as_ref().and_then(|v| {
                v.iter()
                    .find(|p| p.param == iv.param && p.level == iv.level)
            }) else {
                continue;
            };
            if let (Some(gl), Some(gh), Some(pl), Some(ph)) =
                (iv.span.low, iv.span.high, pi.span.low, pi.span.high)
            {
                let w = ph - pl;
                let d = (gl - pl).abs().max((gh - ph).abs());
                if w > 0.0 && d > 0.1 * w {
                    out.warnings.push(format!(
                        "interval {} ({}%): the grid interval [{}, {}] differs from the profile \
                         one [{}, {}] by {}% of its width (more than 10%)",
                        iv.name,
                        crate::numeric::fmt_num(100.0 * iv.level),
                        crate::numeric::fmt_num(gl),
                        crate::numeric::fmt_num(gh),
                        crate::numeric::fmt_num(pl),
                        crate::numeric::fmt_num(ph),
                        crate::numeric::fmt_num((100.0 * d / w).round())
                    ));
                }
            }
        }
    }
    if let Some(p) = &profile {
        if settings.curve_points > 0 {
            out.curves = free
                .iter()
                .map(|&j| {
                    let ax = grid.axes().iter().find(|a| a.param == j).expect("axis");
                    let log = ax.spacing == crate::model::grid::Spacing::Log;
                    let best = partials.argmax().map(|b| grid.theta(b)[j]);
                    let (lo, hi) = focus_range(grid, j, &out.intervals, best);
                    let m = settings.curve_points.max(2);
                    let mut values: Vec<f64> = (0..m)
                        .map(|i| {
                            let t = i as f64 / (m - 1) as f64;
                            if log {
                                (lo.ln() + t * (hi.ln() - lo.ln())).exp()
                            } else {
                                lo + t * (hi - lo)
                            }
                        })
                        .collect();
                    // The curve passes exactly through the MLE, the interval ends and the grid
                    // values in range.
                    if let Some(m) = mle {
                        values.push(m.theta[j]);
                    }
                    for iv in out.intervals.iter().filter(|iv| iv.param == j) {
                        values.extend(iv.span.low);
                        values.extend(iv.span.high);
                    }
                    values.extend(ax.values.iter().filter(|&&v| v >= lo && v <= hi));
                    values.retain(|&v| family.params()[j].domain.contains(v));
                    p.curve(j, &values)
                })
                .collect();
        }
        if let Some(x) = p.excess().filter(|&x| x > 1e-6 * p.s_hat().abs().max(1.0)) {
            out.warnings.push(format!(
                "mle: the profile likelihood exceeds S at the MLE by {} nats: the MLE is a local \
                 maximum only; the intervals are relative to it",
                crate::numeric::fmt_num(x)
            ));
        }
    }
    for iv in &out.intervals {
        if iv.span.open_low || iv.span.open_high {
            let where_ = if out.method == Some(IntervalMethod::Grid) {
                "the grid's edge"
            } else {
                "the search range (e³⁰ beyond the grid)"
            };
            out.warnings.push(format!(
                "interval {} ({}%): open: the deviance stays below {} up to {where_}",
                iv.name,
                crate::numeric::fmt_num(100.0 * iv.level),
                crate::numeric::fmt_num(iv.threshold)
            ));
        }
    }
    out.evaluations = lik.map_or(0, |l| l.evaluations() - e0);
    out.seconds = t0.elapsed().as_secs_f64();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::hessian;
    use crate::analysis::mle;
    use crate::analysis::test_grid as grid;
    use crate::engine::evaluate_cpu_ref;
    use crate::model::lookup;
    use crate::model::sample_spec::SampleSpec;

    /// `grid_starts` picks, per distinct axis value (a list may repeat one), the first point in
    /// grid order with the largest S — what a scan of every point gives — on a grid large enough
    /// for the parallel blocks, with ties, −∞ and NaN.
    #[test]
    fn grid_starts_are_the_first_best_points_of_a_scan_per_distinct_value() {
        let fam = lookup("normal").unwrap();
        let g = grid(fam, &["mu=0.5,1,0.5,2,1,3", "sigma=1:3:20000"]);
        let p = Partials {
            sum: (0..g.len())
                .map(|i| match i % 29 {
                    0 => f64::NAN,
                    1 => f64::NEG_INFINITY,
                    _ => -(((i * 7919) % 31) as f64),
                })
                .collect(),
            outside: vec![0; g.len()],
            n: 10,
        };
        let bounds = Bounds::new(fam, &g, WIDEN);
        for (j, a) in [(0, 0), (1, 1)] {
            let ax = &g.axes()[a];
            let mut want: Vec<(f64, (f64, usize))> = Vec::new();
            for i in 0..g.len() {
                let v = ax.values[g.axis_index(i, a)];
                let s = p.loglik(i);
                let at = match want.iter().position(|(w, _)| *w == v) {
                    Some(k) => k,
                    None => {
                        want.push((v, (f64::NEG_INFINITY, usize::MAX)));
                        want.len() - 1
                    }
                };
                if s > want[at].1 .0 {
                    want[at].1 = (s, i);
                }
            }
            let mut want: Vec<GridStart> = want
                .into_iter()
                .filter(|(_, b)| b.1 != usize::MAX)
                .map(|(v, b)| (bounds.u(j, v), g.theta(b.1)))
                .collect();
            want.sort_by(|x, y| x.0.total_cmp(&y.0));
            assert_eq!(grid_starts(&g, &p, &bounds, j), want, "param {j}");
        }
    }

    /// Normal μ with σ profiled: Pμ(v) = −(n/2)·ln(σ̂² + (v − x̄)²) + const exactly, so the
    /// interval is x̄ ± σ̂·√(e^(q/n) − 1), whatever the grid.
    #[test]
    fn normal_mu_profile_interval_is_exact_on_a_coarse_grid() {
        let fam = lookup("normal").unwrap();
        let xs = SampleSpec::parse("normal(mu=1.5, sigma=2)")
            .unwrap()
            .draw(500, 3)
            .unwrap();
        let g = grid(fam, &["mu=0:3:6", "sigma=1:3:6"]);
        let p = evaluate_cpu_ref(fam, &g, &xs).partials;
        let lik = Likelihood::new(fam, &g, &xs);
        let best = g.theta(p.argmax().unwrap());
        let m = mle::locate(fam, &g, &lik, &best).mle.unwrap();
        let e = hessian::at_mle(&lik, &m.theta, &[0, 1]);
        let prof = Profile::new(&lik, &g, &p, &m, Some(&e), Vec::new());
        let n = xs.len() as f64;
        for level in [0.6827, 0.95, 0.999] {
            let iv = prof.interval(0, level);
            let half = m.theta[1] * ((iv.threshold / n).exp() - 1.0).sqrt();
            let (lo, hi) = (iv.span.low.unwrap(), iv.span.high.unwrap());
            assert!(
                (lo - (m.theta[0] - half)).abs() < 1e-7 * half,
                "{level}: {lo}"
            );
            assert!(
                (hi - (m.theta[0] + half)).abs() < 1e-7 * half,
                "{level}: {hi}"
            );
        }
        // σ with μ profiled (at μ = x̄): Pσ(v) = −n ln v − nσ̂²/(2v²): ends solve
        // n(ln(v/σ̂) + σ̂²/(2v²) − ½)·2 = q.
        let iv = prof.interval(1, 0.95);
        for v in [iv.span.low.unwrap(), iv.span.high.unwrap()] {
            let s = m.theta[1];
            let d = 2.0 * n * ((v / s).ln() + s * s / (2.0 * v * v) - 0.5);
            assert!((d - iv.threshold).abs() < 1e-6, "{v}: {d}");
        }
        // The joint region's polygon lies on the χ²₂ contour.
        let r = prof.region(&g, 0.95).unwrap();
        assert_eq!(r.polygon.len(), RAYS);
        for pt in &r.polygon {
            let d = 2.0 * (prof.s_hat() - lik.loglik(pt));
            assert!((d - r.threshold).abs() < 1e-6, "{pt:?}: {d}");
        }
        assert!(!r.open && !r.rows.is_empty());
    }

    /// Poisson data all zero: the MLE is on the boundary (rate = 0) and the interval runs from it
    /// to q/(2n) (D(λ) = 2nλ).
    #[test]
    fn boundary_mle_gives_a_one_sided_interval() {
        let fam = lookup("poisson").unwrap();
        let xs = [0.0; 50];
        let g = grid(fam, &["rate=0.5:3:6"]);
        let p = evaluate_cpu_ref(fam, &g, &xs).partials;
        let lik = Likelihood::new(fam, &g, &xs);
        let out = mle::locate(fam, &g, &lik, &[0.5]);
        let m = out.mle.unwrap();
        assert!(m.on_boundary && m.theta[0] == 0.0, "{m:?}");
        let prof = Profile::new(&lik, &g, &p, &m, None, vec![(0, Side::Lower)]);
        let iv = prof.interval(0, 0.95);
        assert_eq!(iv.span.low, Some(0.0));
        let want = iv.threshold / (2.0 * 50.0);
        assert!((iv.span.high.unwrap() - want).abs() < 1e-8 * want, "{iv:?}");
    }
}
