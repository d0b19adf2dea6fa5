//! `--refine K`: K rounds of grid refinement around the best point, each evaluated on the
//! sweep's own path and strategy, on the sweep's session (the device opened and the kernels
//! compiled once for the sweep and every round).
//!
//! Each round builds a grid of the same shape (the same axes, in the same order, with the same
//! number of values) centred on the current best point θ*. Per axis with more than one value, in
//! the axis coordinate u (θ for linear and list axes, ln θ for log-spaced ones), with half-span
//! H and step h = 2H/(count − 1):
//!
//! * θ* inside the axis: the new half-span is H' = max(H/2, h) — halved, but never less than one
//!   old step, so the maximum, which lies between θ*'s two neighbours when the likelihood is
//!   unimodal along the axis, stays inside;
//! * θ* on an edge: the grid is shifted to centre θ* without shrinking (H' = H), since the
//!   maximum may lie beyond it.
//!
//! The new axis runs linearly (log axes: log-linearly) with step h' = 2H'/(count − 1) and θ*
//! exactly at the middle value (the lower middle for even counts, so [u* − H', u* + H'] shifted by
//! half a step), so θ* stays on the grid; where that would leave the parameter's domain, the
//! offending bound moves half-way from θ* to the domain's bound and the axis runs evenly between
//! the bounds. Axes with one value and integer parameters keep their values. The refined point
//! is the best point of all rounds (the latest on ties).
//!
//! **Resolution.** The evaluating path resolves the mean log-likelihood ℓ̄ only to some δ (f32
//! kernels: one f32 rounding, δ = 2⁻²⁴·max(|ℓ̄|, 1); cpu-ref: δ = 16·2⁻⁵³·max(|ℓ̄|, 1)). Near
//! the maximum, ℓ̄ changes by ½|ℓ̄''|·h² over a step h, so below h_min = √(2δ/|ℓ̄''|) the grid's
//! argmax is decided by rounding, not by the likelihood. After each round the curvature ℓ̄'' along
//! every refined axis is estimated from the best point and its two neighbours (kept from the
//! latest round where that second difference is at least 64δ, so rounding does not swamp it);
//! an axis whose step has reached its h_min is no longer narrowed (only re-centred), and when all
//! have, the refinement stops (`stopped: resolution`). The refined point's uncertainty per axis
//! is max(step/2, h_min).

use crate::engine::config::Backend;
use crate::engine::config::{EvalPath, Strategy};
use crate::engine::partials::Partials;
use crate::engine::pipeline::{evaluate, run_stream_limited, Silent, StreamJob, CHUNK};
use crate::engine::session::Session;
use crate::error::Result;
use crate::input::Replay;
use crate::model::grid::{linspace, AxisSpec, Grid, Spacing};
use crate::model::{Domain, Family};
use std::time::Instant;

/// One refinement round: its grid and the evaluation of it.
#[derive(Debug, Clone)]
pub struct Round {
    pub grid: Grid,
    pub partials: Partials,
}

/// Why the refinement stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// All K rounds ran.
    Rounds,
    /// Every refined axis reached the evaluating path's resolution.
    Resolution,
    /// A round had no point with a finite likelihood.
    NoFinitePoint,
}

impl Stopped {
    /// `rounds`, `resolution` or `no_finite_point`.
    pub fn name(self) -> &'static str {
        match self {
            Stopped::Rounds => "rounds",
            Stopped::Resolution => "resolution",
            Stopped::NoFinitePoint => "no_finite_point",
        }
    }
}

/// The outcome of `--refine K`.
#[derive(Debug, Clone)]
pub struct Refined {
    /// Rounds 1… (round 0 is the sweep's own grid, not repeated here).
    pub rounds: Vec<Round>,
    /// Best point of all rounds, in the family's parameter order.
    pub theta: Vec<f64>,
    /// S/n there, from the evaluating path.
    pub mean_loglik: f64,
    /// Per parameter (family order): the spacing between the best value and its neighbour on the
    /// last grid; `None` for parameters the refinement does not move.
    pub step: Vec<Option<f64>>,
    /// Whether the last best point lies on an edge of a refined axis.
    pub on_edge: bool,
    /// Per parameter: the step h_min = √(2δ/|ℓ̄''|) below which the evaluating path cannot tell
    /// the grid points apart (see the module documentation); `None` where not refined or where
    /// the curvature could not be measured.
    pub resolution: Vec<Option<f64>>,
    /// Per parameter: the refined point's uncertainty, max(step/2, resolution).
    pub uncertainty: Vec<Option<f64>>,
    /// Why the refinement stopped.
    pub stopped: Stopped,
    /// Seconds spent evaluating the rounds (including GPU set-up).
    pub eval_seconds: f64,
}

/// Whether the refinement moves this axis.
fn refines(axis: &crate::model::grid::Axis, domain: Domain) -> bool {
    axis.values.len() > 1 && domain != Domain::PositiveInteger
}

/// The next round's grid around `best` (a θ in the family's parameter order).
pub fn next_grid(family: &dyn Family, grid: &Grid, best: &[f64]) -> Result<Grid> {
    next_grid_holding(family, grid, best, &vec![false; grid.n_params()])
}

/// [`next_grid`], with the axes of the parameters marked in `hold` re-centred without being
/// narrowed (as on an edge): they have reached the path's resolution.
fn next_grid_holding(
    family: &dyn Family,
    grid: &Grid,
    best: &[f64],
    hold: &[bool],
) -> Result<Grid> {
    let params = family.params();
    let specs = grid
        .axes()
        .iter()
        .map(|a| {
            let domain = params[a.param].domain;
            if !refines(a, domain) {
                return AxisSpec {
                    name: a.name.clone(),
                    values: a.values.clone(),
                    spacing: a.spacing,
                };
            }
            let log = a.spacing == Spacing::Log;
            let u = |v: f64| if log { v.ln() } else { v };
            let back = |x: f64| if log { x.exp() } else { x };
            let (lo, hi) = (u(a.min), u(a.max));
            let count = a.values.len();
            let half = 0.5 * (hi - lo);
            let h = (hi - lo) / (count - 1) as f64;
            let v = best[a.param];
            let c = u(v);
            let on_edge = v <= a.min || v >= a.max;
            let new_half = if on_edge || hold[a.param] {
                half
            } else {
                (0.5 * half).max(h)
            };
            // θ* at index `mid` (the lower middle for even counts), step h'.
            let mid = (count - 1) / 2;
            let step = 2.0 * new_half / (count - 1) as f64;
            let (mut l, mut r) = (c - mid as f64 * step, c + (count - 1 - mid) as f64 * step);
            let mut clipped = false;
            // Clip to the domain: a bound outside moves half-way from θ* to the domain's bound.
            if !log && matches!(domain, Domain::Positive | Domain::OpenUnit) && l <= 0.0 {
                l = 0.5 * v;
                clipped = true;
            }
            if domain == Domain::OpenUnit && back(r) >= 1.0 {
                r = u(0.5 * (1.0 + v));
                clipped = true;
            }
            let mut values: Vec<f64> = if clipped {
                linspace(l, r, count)
            } else {
                (0..count)
                    .map(|k| {
                        if k == mid {
                            c
                        } else {
                            c + (k as f64 - mid as f64) * step
                        }
                    })
                    .collect()
            }
            .into_iter()
            .map(back)
            .collect();
            if !clipped {
                values[mid] = v;
            }
            let distinct = values.windows(2).all(|w| w[1] > w[0]);
            if !distinct {
                // Past f64 resolution: keep the axis.
                return AxisSpec {
                    name: a.name.clone(),
                    values: a.values.clone(),
                    spacing: a.spacing,
                };
            }
            if a.values[0] > a.values[count - 1] {
                values.reverse();
            }
            AxisSpec {
                name: a.name.clone(),
                values,
                spacing: if log { Spacing::Log } else { Spacing::Linear },
            }
        })
        .collect();
    Grid::new(family, specs)
}

/// Spacing between the best value and a neighbour on each refined axis.
fn steps(family: &dyn Family, grid: &Grid, best: &[f64]) -> (Vec<Option<f64>>, bool) {
    let params = family.params();
    let mut step = vec![None; grid.n_params()];
    let mut on_edge = false;
    for a in grid.axes() {
        if !refines(a, params[a.param].domain) {
            continue;
        }
        let v = best[a.param];
        let b = a.values.iter().position(|&x| x == v).unwrap_or(0);
        let nb = if b + 1 < a.values.len() { b + 1 } else { b - 1 };
        step[a.param] = Some((a.values[nb] - a.values[b]).abs());
        on_edge |= v <= a.min || v >= a.max;
    }
    (step, on_edge)
}

/// The absolute resolution δ of `path` on a mean log-likelihood near `ll` (see the module
/// documentation).
pub fn resolution_of(path: EvalPath, ll: f64) -> f64 {
    let scale = ll.abs().max(1.0);
    match path {
        EvalPath::CpuRef => 16.0 * f64::EPSILON / 2.0 * scale,
        EvalPath::Gpu | EvalPath::Cpu => f32::EPSILON as f64 / 2.0 * scale,
    }
}

/// Per parameter, ℓ̄'' along its axis at the grid's best point `i` (three-point second
/// difference, spacing possibly uneven), where the best point has a neighbour on each side with
/// a finite likelihood and the second difference is at least `min_diff`.
fn curvatures(
    family: &dyn Family,
    grid: &Grid,
    p: &Partials,
    i: usize,
    min_diff: f64,
) -> Vec<Option<f64>> {
    let params = family.params();
    let mut out = vec![None; grid.n_params()];
    let axes = grid.axes();
    let mut stride = 1usize;
    let mut strides = vec![0; axes.len()];
    for (k, a) in axes.iter().enumerate().rev() {
        strides[k] = stride;
        stride *= a.values.len();
    }
    for (k, a) in axes.iter().enumerate() {
        if !refines(a, params[a.param].domain) {
            continue;
        }
        let n = a.values.len();
        let pos = (i / strides[k]) % n;
        if pos == 0 || pos + 1 == n {
            continue;
        }
        let (lm, l0, lp) = (
            p.mean_loglik(i - strides[k]),
            p.mean_loglik(i),
            p.mean_loglik(i + strides[k]),
        );
        let (hm, hp) = (
            (a.values[pos] - a.values[pos - 1]).abs(),
            (a.values[pos + 1] - a.values[pos]).abs(),
        );
        let d2 = (lp - l0) / hp - (l0 - lm) / hm;
        let diff = (lp - 2.0 * l0 + lm).abs();
        if d2.is_finite() && d2 < 0.0 && diff >= min_diff {
            out[a.param] = Some(2.0 * d2 / (hp + hm));
        }
    }
    out
}

/// Runs `rounds` refinement rounds from the sweep's grid and its best point `start`, evaluating
/// each on `path` with `strategy` through `session`. Stops early when a round has no point with a
/// finite likelihood.
#[allow(clippy::too_many_arguments)]
pub fn refine(
    session: &Session,
    family: &'static dyn Family,
    grid: &Grid,
    start: &[f64],
    start_mean_loglik: f64,
    xs: &[f64],
    path: EvalPath,
    strategy: Strategy,
    rounds: u32,
) -> Result<Refined> {
    let mut eval = |g: &Grid| Ok(evaluate(session, path, strategy, family, g, xs)?.partials);
    refine_with(
        family,
        grid,
        start,
        start_mean_loglik,
        path,
        rounds,
        &mut eval,
    )
}

/// [`refine`] over data too many to keep in memory: each round is one more streamed pass over
/// `replay`, on the same path and strategy (the session's pipelines and device are reused).
#[allow(clippy::too_many_arguments)]
pub fn refine_streamed(
    session: &Session,
    family: &'static dyn Family,
    grid: &Grid,
    start: &[f64],
    start_mean_loglik: f64,
    replay: &Replay,
    path: EvalPath,
    strategy: Strategy,
    rounds: u32,
) -> Result<Refined> {
    let mut eval = |g: &Grid| {
        let job = StreamJob {
            family,
            grid: g.clone(),
            backend: Backend::One(path),
            strategy,
        };
        let reader = replay.open()?;
        let out = run_stream_limited(session, &job, reader, CHUNK, 0, &mut |_| {}, &Silent)?;
        Ok(out.primary.partials)
    };
    refine_with(
        family,
        grid,
        start,
        start_mean_loglik,
        path,
        rounds,
        &mut eval,
    )
}

/// The refinement loop, with each round's grid evaluated by `eval` on `path` (whose
/// resolution stops it).
fn refine_with(
    family: &'static dyn Family,
    grid: &Grid,
    start: &[f64],
    start_mean_loglik: f64,
    path: EvalPath,
    rounds: u32,
    eval: &mut dyn FnMut(&Grid) -> Result<Partials>,
) -> Result<Refined> {
    let t0 = Instant::now();
    let mut done: Vec<Round> = Vec::new();
    let mut best = start.to_vec();
    let mut best_ll = start_mean_loglik;
    let mut curvature: Vec<Option<f64>> = vec![None; grid.n_params()];
    let mut hold = vec![false; grid.n_params()];
    let mut stopped = Stopped::Rounds;
    let resolution = |curvature: &[Option<f64>], ll: f64| -> Vec<Option<f64>> {
        let delta = resolution_of(path, ll);
        curvature
            .iter()
            .map(|c| c.map(|c| (2.0 * delta / c.abs()).sqrt()))
            .collect()
    };
    for _ in 0..rounds {
        let current = done.last().map_or(grid, |r| &r.grid);
        let g = next_grid_holding(family, current, &best, &hold)?;
        let partials = eval(&g)?;
        let Some(i) = partials.argmax() else {
            stopped = Stopped::NoFinitePoint;
            break;
        };
        let ll = partials.mean_loglik(i);
        if ll >= best_ll {
            best = g.theta(i);
            best_ll = ll;
        }
        let min_diff = 64.0 * resolution_of(path, ll);
        for (c, new) in curvature
            .iter_mut()
            .zip(curvatures(family, &g, &partials, i, min_diff))
        {
            if new.is_some() {
                *c = new;
            }
        }
        done.push(Round { grid: g, partials });
        // Axes whose step has reached the path's resolution are held; all held: done.
        let (step, _) = steps(family, &done.last().unwrap().grid, &best);
        let res = resolution(&curvature, best_ll);
        let mut all = true;
        for j in 0..hold.len() {
            if let Some(s) = step[j] {
                hold[j] = res[j].is_some_and(|r| s <= r);
                all &= hold[j];
            }
        }
        if all && step.iter().any(Option::is_some) {
            stopped = Stopped::Resolution;
            break;
        }
    }
    let last = done.last().map_or(grid, |r| &r.grid);
    let (step, on_edge) = steps(family, last, &best);
    let resolution: Vec<Option<f64>> = resolution(&curvature, best_ll)
        .into_iter()
        .zip(&step)
        .map(|(r, s)| s.and(r))
        .collect();
    let uncertainty = step
        .iter()
        .zip(&resolution)
        .map(|(s, r)| s.map(|s| r.map_or(0.5 * s, |r| r.max(0.5 * s))))
        .collect();
    Ok(Refined {
        rounds: done,
        theta: best,
        mean_loglik: best_ll,
        step,
        on_edge,
        resolution,
        uncertainty,
        stopped,
        eval_seconds: t0.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::test_grid as grid;
    use crate::model::lookup;

    #[test]
    fn interior_best_halves_the_span_and_stays_on_the_grid() {
        let fam = lookup("normal").unwrap();
        let g = grid(fam, &["mu=0:3:31", "sigma=1:3:21"]);
        let n = next_grid(fam, &g, &[1.5, 2.0]).unwrap();
        let (mu, sigma) = (&n.axes()[0], &n.axes()[1]);
        assert_eq!((mu.values.len(), sigma.values.len()), (31, 21));
        assert!((mu.min - 0.75).abs() < 1e-12 && (mu.max - 2.25).abs() < 1e-12);
        assert!((sigma.min - 1.5).abs() < 1e-12 && (sigma.max - 2.5).abs() < 1e-12);
        assert!(mu.values.iter().any(|&v| (v - 1.5).abs() < 1e-15));
    }

    #[test]
    fn edge_best_shifts_without_shrinking_and_domains_are_respected() {
        let fam = lookup("normal").unwrap();
        let g = grid(fam, &["mu=0:1:11", "sigma=0.5:2.5:5"]);
        let n = next_grid(fam, &g, &[1.0, 0.5]).unwrap();
        let mu = &n.axes()[0];
        assert!((mu.min - 0.5).abs() < 1e-12 && (mu.max - 1.5).abs() < 1e-12);
        // sigma on its lower edge: shifted down, clipped half-way to 0.
        let s = &n.axes()[1];
        assert!(
            (s.min - 0.25).abs() < 1e-12 && (s.max - 1.5).abs() < 1e-12,
            "{s:?}"
        );
        // Few values: the span never shrinks below one old step each side.
        let g = grid(fam, &["mu=0:2:3", "sigma=1"]);
        let n = next_grid(fam, &g, &[1.0, 1.0]).unwrap();
        assert_eq!((n.axes()[0].min, n.axes()[0].max), (0.0, 2.0));
        assert_eq!(n.axes()[1].values, vec![1.0]);
    }

    #[test]
    fn log_axes_refine_in_log_space_and_unit_axes_stay_inside() {
        let fam = lookup("gamma").unwrap();
        let g = grid(fam, &["shape=log:0.1:10:5", "rate=1"]);
        let n = next_grid(fam, &g, &[1.0, 1.0]).unwrap();
        let a = &n.axes()[0];
        assert_eq!(a.spacing, Spacing::Log);
        assert!(
            (a.min - 10f64.powf(-0.5)).abs() < 1e-12 && (a.max - 10f64.powf(0.5)).abs() < 1e-12
        );
        let b = lookup("bernoulli").unwrap();
        let g = grid(b, &["p=0.1:0.9:9"]);
        let n = next_grid(b, &g, &[0.9]).unwrap();
        assert!(n.axes()[0].max < 1.0 && (n.axes()[0].max - 0.95).abs() < 1e-12);
    }
}
