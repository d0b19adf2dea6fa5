//! Maximising the exact log-likelihood S(θ) ([`Likelihood`]) over some of the parameters, the
//! others held: the MLE, and the inner maximisation of the profile likelihood.
//!
//! The search runs in the unconstrained coordinates u of [`crate::analysis::mle::to_unconstrained`] (θ for
//! real parameters, ln θ for positive ones, logit θ for those in (0, 1)), inside a box
//! ([`Bounds`]) around the grid: each axis's range widened by [`WIDEN`] in u (a factor e³⁰ ≈ 10¹³
//! for positive and (0, 1) parameters, 30 axis spans for real ones). An optimum on the box's edge
//! means that S keeps growing towards the parameter's boundary ([`Fit::at_bound`]); the MLE code
//! decides from it whether the MLE lies on the boundary or does not exist.
//!
//! The method is a projected Newton iteration: with g and H the gradient and Hessian of S in u,
//! the step δ solves (−H + λI)·δ = g (λ = 0 when −H is positive definite, else increased until
//! its Cholesky factorisation exists), parameters on the box's edge whose gradient points out of
//! it are held, and a backtracking line search keeps every accepted step an increase of S. It
//! stops when the Newton decrement gᵀδ falls below 10⁻¹² + 10⁻¹⁵·|S| nats. Derivatives are the
//! family's analytic ones ([`Likelihood::derivatives`], chain rule to u), or central differences
//! of S (fourth order for the gradient) with steps of 1% of the current standard error where one
//! evaluation costs O(1) or the family has none. When Newton fails (non-finite derivatives, no progress before converging),
//! the Nelder–Mead simplex of the `argmin` crate restarts it.

use crate::analysis::likelihood::Likelihood;
use crate::analysis::mle::{from_unconstrained, to_unconstrained};
use crate::model::grid::Grid;
use crate::model::{Domain, Family};
use argmin::core::{CostFunction, Executor, State};
use argmin::solver::neldermead::NelderMead;

/// Widening of the search box beyond the grid, in unconstrained coordinates (see the module
/// documentation).
pub const WIDEN: f64 = 30.0;

/// Largest number of Newton iterations per run.
const MAX_NEWTON: usize = 200;

/// The search box in unconstrained coordinates, and a natural scale per parameter.
#[derive(Debug, Clone)]
pub struct Bounds {
    /// Per family parameter: lower and upper u.
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    /// Per family parameter: the grid's step in u (1 where the grid has one value).
    pub scale: Vec<f64>,
    domains: Vec<Domain>,
}

/// The edge of the box an optimum lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Lower,
    Upper,
}

impl Bounds {
    /// The box of `grid`: each axis's u-range widened by `widen` (in u for positive and (0, 1)
    /// parameters, in axis spans — at least 1 — for real ones).
    pub fn new(family: &dyn Family, grid: &Grid, widen: f64) -> Bounds {
        let params = family.params();
        let p = params.len();
        let (mut lo, mut hi, mut scale) = (vec![0.0; p], vec![0.0; p], vec![1.0; p]);
        for a in grid.axes() {
            let d = params[a.param].domain;
            let (u0, u1) = (to_unconstrained(d, a.min), to_unconstrained(d, a.max));
            let w = match d {
                Domain::Real => widen * (u1 - u0).max(1.0),
                _ => widen,
            };
            lo[a.param] = u0 - w;
            hi[a.param] = u1 + w;
            if a.values.len() > 1 && u1 > u0 {
                scale[a.param] = (u1 - u0) / (a.values.len() - 1) as f64;
            }
        }
        Bounds {
            lo,
            hi,
            scale,
            domains: params.iter().map(|q| q.domain).collect(),
        }
    }

    /// The domain of parameter j.
    pub fn domain(&self, j: usize) -> Domain {
        self.domains[j]
    }

    /// u of parameter j at value v.
    pub fn u(&self, j: usize, v: f64) -> f64 {
        to_unconstrained(self.domains[j], v)
    }

    /// θ of parameter j at u.
    pub fn theta(&self, j: usize, u: f64) -> f64 {
        from_unconstrained(self.domains[j], u)
    }

    fn clamp(&self, j: usize, u: f64) -> f64 {
        u.clamp(self.lo[j], self.hi[j])
    }

    /// The side of the box parameter j at value v lies on or beyond (a value with no
    /// unconstrained coordinate, NaN, counts as below), or `None` inside it.
    pub fn beyond(&self, j: usize, v: f64) -> Option<Side> {
        let u = self.u(j, v);
        if u.is_nan() || u <= self.lo[j] {
            Some(Side::Lower)
        } else if u >= self.hi[j] {
            Some(Side::Upper)
        } else {
            None
        }
    }
}

/// The result of [`maximise`].
#[derive(Debug, Clone)]
pub struct Fit {
    /// The best θ found (every parameter, the held ones unchanged).
    pub theta: Vec<f64>,
    /// S there (−∞ when no finite point was found).
    pub loglik: f64,
    /// Parameters whose optimum lies on the box's edge, with the gradient pushing outwards.
    pub at_bound: Vec<(usize, Side)>,
    /// Whether the Newton decrement fell below the tolerance.
    pub converged: bool,
}

/// Cholesky factor L (row-major, lower) of a symmetric positive-definite k×k matrix; `None` when
/// it is not positive definite.
pub fn cholesky(a: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..=i {
            let mut s = a[i * k + j];
            for m in 0..j {
                s -= l[i * k + m] * l[j * k + m];
            }
            if i == j {
                if s.is_nan() || s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * k + i] = s.sqrt();
            } else {
                l[i * k + j] = s / l[j * k + j];
            }
        }
    }
    Some(l)
}

/// Solves L·Lᵀ·x = b for a Cholesky factor L.
pub fn cholesky_solve(l: &[f64], k: usize, b: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; k];
    for i in 0..k {
        let mut s = b[i];
        for m in 0..i {
            s -= l[i * k + m] * y[m];
        }
        y[i] = s / l[i * k + i];
    }
    let mut x = vec![0.0; k];
    for i in (0..k).rev() {
        let mut s = y[i];
        for m in i + 1..k {
            s -= l[m * k + i] * x[m];
        }
        x[i] = s / l[i * k + i];
    }
    x
}

/// The inverse of a symmetric positive-definite matrix from its Cholesky factor.
pub fn cholesky_inverse(l: &[f64], k: usize) -> Vec<f64> {
    let mut inv = vec![0.0; k * k];
    for c in 0..k {
        let mut e = vec![0.0; k];
        e[c] = 1.0;
        let col = cholesky_solve(l, k, &e);
        for r in 0..k {
            inv[r * k + c] = col[r];
        }
    }
    inv
}

/// S as a function of the varied parameters' u, the others held at `base`.
struct Objective<'a> {
    lik: &'a Likelihood<'a>,
    bounds: &'a Bounds,
    vars: &'a [usize],
    base: Vec<f64>,
}

impl Objective<'_> {
    fn theta(&self, u: &[f64]) -> Vec<f64> {
        let mut t = self.base.clone();
        for (&j, &uj) in self.vars.iter().zip(u) {
            t[j] = self.bounds.theta(j, self.bounds.clamp(j, uj));
        }
        t
    }

    fn value(&self, u: &[f64]) -> f64 {
        self.lik.loglik(&self.theta(u))
    }

    /// Gradient and Hessian of S in u: analytic (chain rule) or by central differences with
    /// steps `h`.
    fn derivatives(&self, u: &[f64], s0: f64, h: &[f64]) -> Option<(Vec<f64>, Vec<f64>)> {
        let k = self.vars.len();
        if !self.lik.is_o1() {
            let t = self.theta(u);
            if let Some((gt, ht)) = self.lik.derivatives(&t, self.vars) {
                // θ = φ(u): φ′ and φ″ per parameter.
                let d: Vec<(f64, f64)> = self
                    .vars
                    .iter()
                    .map(|&j| {
                        let v = t[j];
                        match self.bounds.domain(j) {
                            Domain::Real | Domain::PositiveInteger => (1.0, 0.0),
                            Domain::Positive => (v, v),
                            Domain::OpenUnit => {
                                let q = v * (1.0 - v);
                                (q, q * (1.0 - 2.0 * v))
                            }
                        }
                    })
                    .collect();
                let g: Vec<f64> = (0..k).map(|a| gt[a] * d[a].0).collect();
                let mut hu = vec![0.0; k * k];
                for a in 0..k {
                    for b in 0..k {
                        hu[a * k + b] = ht[a * k + b] * d[a].0 * d[b].0;
                    }
                    hu[a * k + a] += gt[a] * d[a].1;
                }
                return Some((g, hu));
            }
        }
        let at = |steps: &[(usize, f64)]| {
            let mut v = u.to_vec();
            for &(a, d) in steps {
                v[a] += d;
            }
            self.value(&v)
        };
        let mut g = vec![0.0; k];
        let mut hu = vec![0.0; k * k];
        for a in 0..k {
            let (p, m) = (at(&[(a, h[a])]), at(&[(a, -h[a])]));
            let (p2, m2) = (at(&[(a, 2.0 * h[a])]), at(&[(a, -2.0 * h[a])]));
            // Fourth-order central difference: error O(h⁴).
            g[a] = (8.0 * (p - m) - (p2 - m2)) / (12.0 * h[a]);
            hu[a * k + a] = (p - 2.0 * s0 + m) / (h[a] * h[a]);
            for b in 0..a {
                let v = (at(&[(a, h[a]), (b, h[b])])
                    - at(&[(a, h[a]), (b, -h[b])])
                    - at(&[(a, -h[a]), (b, h[b])])
                    + at(&[(a, -h[a]), (b, -h[b])]))
                    / (4.0 * h[a] * h[b]);
                hu[a * k + b] = v;
                hu[b * k + a] = v;
            }
        }
        (g.iter().chain(&hu).all(|v| v.is_finite())).then_some((g, hu))
    }
}

impl CostFunction for Objective<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, u: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        let s = self.value(u);
        Ok(if s.is_finite() { -s } else { 1e300 })
    }
}

/// Result of the Newton iteration: u, S, converged.
fn newton(obj: &Objective<'_>, mut u: Vec<f64>, mut s: f64) -> (Vec<f64>, f64, bool) {
    let k = obj.vars.len();
    let b = obj.bounds;
    let mut h: Vec<f64> = obj.vars.iter().map(|&j| 1e-4 * b.scale[j]).collect();
    for _ in 0..MAX_NEWTON {
        let Some((g, hu)) = obj.derivatives(&u, s, &h) else {
            return (u, s, false);
        };
        // Finite-difference steps: 1% of the standard error in u, where −H says what it is.
        for a in 0..k {
            let c = -hu[a * k + a];
            if c > 0.0 && c.is_finite() {
                h[a] = (0.01 / c.sqrt()).clamp(1e-9 * b.scale[obj.vars[a]], b.scale[obj.vars[a]]);
            }
        }
        let free: Vec<usize> = (0..k)
            .filter(|&a| {
                let j = obj.vars[a];
                !((u[a] <= b.lo[j] && g[a] < 0.0) || (u[a] >= b.hi[j] && g[a] > 0.0))
            })
            .collect();
        if free.is_empty() {
            return (u, s, true);
        }
        let m = free.len();
        let mut a_mat = vec![0.0; m * m];
        for (r, &i) in free.iter().enumerate() {
            for (c, &j) in free.iter().enumerate() {
                a_mat[r * m + c] = -hu[i * k + j];
            }
        }
        let gf: Vec<f64> = free.iter().map(|&i| g[i]).collect();
        let diag = (0..m).map(|i| a_mat[i * m + i].abs()).fold(0.0, f64::max);
        let mut lambda = 0.0;
        let mut l = None;
        for _ in 0..40 {
            let mut reg = a_mat.clone();
            for i in 0..m {
                reg[i * m + i] += lambda;
            }
            l = cholesky(&reg, m);
            if l.is_some() {
                break;
            }
            lambda = if lambda == 0.0 {
                1e-10 * diag.max(1e-300)
            } else {
                lambda * 10.0
            };
        }
        let Some(l) = l else {
            return (u, s, false);
        };
        let step = cholesky_solve(&l, m, &gf);
        let decrement: f64 = step.iter().zip(&gf).map(|(d, g)| d * g).sum();
        if decrement.is_nan() {
            return (u, s, false);
        }
        if decrement < 1e-12 + 1e-15 * s.abs() {
            return (u, s, true);
        }
        let mut t = 1.0;
        let mut accepted = false;
        for _ in 0..40 {
            let mut v = u.clone();
            for (r, &i) in free.iter().enumerate() {
                let j = obj.vars[i];
                v[i] = b.clamp(j, u[i] + t * step[r]);
            }
            let sv = obj.value(&v);
            if sv.is_finite() && sv > s {
                u = v;
                s = sv;
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted {
            // No increase along the Newton direction: at the optimum to rounding when the
            // predicted gain is tiny.
            return (u, s, decrement < 1e-6 * s.abs().max(1.0));
        }
    }
    (u, s, false)
}

/// Nelder–Mead from `u0` with initial steps `steps`; the best u found.
fn nelder_mead(obj: &Objective<'_>, u0: &[f64], steps: &[f64]) -> Option<Vec<f64>> {
    let mut simplex = vec![u0.to_vec()];
    for (j, &h) in steps.iter().enumerate() {
        let mut v = u0.to_vec();
        v[j] += h;
        simplex.push(v);
    }
    let solver = NelderMead::new(simplex).with_sd_tolerance(1e-14).ok()?;
    let problem = Objective {
        lik: obj.lik,
        bounds: obj.bounds,
        vars: obj.vars,
        base: obj.base.clone(),
    };
    let res = Executor::new(problem, solver)
        .configure(|s| s.max_iters(3000))
        .run()
        .ok()?;
    res.state().get_best_param().cloned()
}

/// Maximises S over the parameters `vars` (indices in the family's order) from `start`, the
/// others held at their values in `start`; see the module documentation.
pub fn maximise(lik: &Likelihood<'_>, bounds: &Bounds, vars: &[usize], start: &[f64]) -> Fit {
    let obj = Objective {
        lik,
        bounds,
        vars,
        base: start.to_vec(),
    };
    let u0: Vec<f64> = vars
        .iter()
        .map(|&j| bounds.clamp(j, bounds.u(j, start[j])))
        .collect();
    let s0 = obj.value(&u0);
    if vars.is_empty() || !s0.is_finite() {
        return Fit {
            theta: obj.theta(&u0),
            loglik: s0,
            at_bound: Vec::new(),
            converged: s0.is_finite(),
        };
    }
    let (mut u, mut s, mut converged) = newton(&obj, u0.clone(), s0);
    if !converged {
        let steps: Vec<f64> = vars.iter().map(|&j| bounds.scale[j]).collect();
        if let Some(v) = nelder_mead(&obj, &u, &steps) {
            let v: Vec<f64> = vars
                .iter()
                .zip(&v)
                .map(|(&j, &x)| bounds.clamp(j, x))
                .collect();
            let sv = obj.value(&v);
            if sv > s {
                (u, s) = (v, sv);
            }
            let (u2, s2, c2) = newton(&obj, u.clone(), s);
            if s2 >= s {
                (u, s) = (u2, s2);
            }
            converged = c2;
        }
    }
    // Which parameters sit on the box's edge (within a millionth of its width)?
    let mut at_bound = Vec::new();
    for (a, &j) in vars.iter().enumerate() {
        let tol = 1e-6 * (bounds.hi[j] - bounds.lo[j]);
        if u[a] <= bounds.lo[j] + tol {
            at_bound.push((j, Side::Lower));
        } else if u[a] >= bounds.hi[j] - tol {
            at_bound.push((j, Side::Upper));
        }
    }
    Fit {
        theta: obj.theta(&u),
        loglik: s,
        at_bound,
        converged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::test_grid as grid;
    use crate::model::lookup;
    use crate::model::sample_spec::SampleSpec;

    #[test]
    fn cholesky_solves_and_inverts_and_rejects_indefinite_matrices() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let l = cholesky(&a, 2).unwrap();
        let x = cholesky_solve(&l, 2, &[2.0, 1.0]);
        assert!((4.0 * x[0] + 2.0 * x[1] - 2.0).abs() < 1e-15);
        assert!((2.0 * x[0] + 3.0 * x[1] - 1.0).abs() < 1e-15);
        let inv = cholesky_inverse(&l, 2);
        assert!((inv[0] - 3.0 / 8.0).abs() < 1e-15 && (inv[1] + 2.0 / 8.0).abs() < 1e-15);
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }

    /// Newton from a coarse grid point reaches the closed-form normal MLE to 1e-9 relative, both
    /// with sufficient statistics (finite differences) and with the analytic derivatives.
    #[test]
    fn newton_reaches_the_closed_form_mle() {
        let fam = lookup("normal").unwrap();
        let xs = SampleSpec::parse("normal(mu=1.5, sigma=2)")
            .unwrap()
            .draw(10_000, 4)
            .unwrap();
        let g = grid(fam, &["mu=0:3:7", "sigma=1:3:6"]);
        let want = fam.mle(&xs, &[None, None]).unwrap();
        let b = Bounds::new(fam, &g, WIDEN);
        let lik = Likelihood::new(fam, &g, &xs);
        assert!(lik.is_o1());
        let fit = maximise(&lik, &b, &[0, 1], &[0.5, 3.0]);
        assert!(fit.converged && fit.at_bound.is_empty());
        for j in 0..2 {
            assert!(
                (fit.theta[j] - want[j]).abs() < 1e-9 * want[j].abs(),
                "{:?} {want:?}",
                fit.theta
            );
        }
        // The Cauchy has analytic derivatives and an O(n) likelihood.
        let c = lookup("cauchy").unwrap();
        let xs = SampleSpec::parse("cauchy(mu=0.3, scale=1.5)")
            .unwrap()
            .draw(5000, 4)
            .unwrap();
        let g = grid(c, &["mu=-1:1:5", "scale=0.5:3:6"]);
        let lik = Likelihood::new(c, &g, &xs);
        assert!(!lik.is_o1());
        let fit = maximise(&lik, &Bounds::new(c, &g, WIDEN), &[0, 1], &[-1.0, 0.5]);
        assert!(fit.converged);
        let (gr, _) = lik.derivatives(&fit.theta, &[0, 1]).unwrap();
        // |∇S| ≪ √I (≈ 33 here): well below a millionth of a standard error away.
        assert!(gr.iter().all(|v| v.abs() < 1e-4), "{gr:?}");
    }

    /// All-zero Poisson data: S = −nλ grows as λ → 0, so the optimum lies on the box's lower edge.
    #[test]
    fn an_optimum_beyond_the_grid_ends_on_the_box_edge() {
        let fam = lookup("poisson").unwrap();
        let g = grid(fam, &["rate=1:5:5"]);
        let xs = [0.0; 20];
        let lik = Likelihood::new(fam, &g, &xs);
        let fit = maximise(&lik, &Bounds::new(fam, &g, WIDEN), &[0], &[2.0]);
        assert_eq!(fit.at_bound, vec![(0, Side::Lower)]);
        assert!(fit.theta[0] < 1e-12 && fit.loglik > -1e-10);
    }
}
