//! [`UserModel`]: a model written as an expression, implementing [`Family`] so that every path,
//! strategy, analysis, report and plot works with it unchanged.
//!
//! The trait hands out `&'static` data (name, parameters, kernel, WGSL): a model is built once
//! per distinct definition and leaked, interned by its definition ([`build`]), so building the
//! same model again returns the same instance. Models are built a handful of times per process
//! (once per `--model`), so the leak is bounded.

use super::bytecode::RegisterKernel;
use super::graph::{Graph, Id, Op1, Op2, Program};
use super::interval::Range;
use super::norm::{self, LogZ};
use super::resolve::{self, RefExpr, Scope};
use super::spec::ModelSpec;
use super::split::{self, Plan, Stats};
use super::wgsl;
use crate::error::{Error, Result};
use crate::model::grid::Grid;
use crate::model::{
    CoupledKernel, Family, KernelClass, ParamSpec, Shift, StatsForm, SuffStatsSpec,
};
use crate::numeric::Neumaier;
use rand::rngs::StdRng;
use rayon::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// A compiled user model. See the module documentation.
pub struct UserModel {
    pub spec: ModelSpec,
    /// Distinct for every model built (the key of the data program's memo).
    id: u64,
    name: &'static str,
    params: &'static [ParamSpec],
    support_text: &'static str,
    wgsl: &'static str,
    pub(crate) plan: Plan,
    reference: RefExpr,
    kernel: &'static RegisterKernel,
    /// Features (then b(x), then the x-only conditions) of a sample.
    data_prog: Program,
    /// The constants' terms t₀, t₁, t₂ (3 per constant), then a(θ), then the θ-only conditions.
    theta_prog: Program,
    /// Per host term: the term, and its θ-only keys.
    host: Vec<(Program, Program)>,
    log_z: Mutex<HashMap<Vec<u64>, LogZ>>,
}

thread_local! {
    static SCRATCH: RefCell<(Vec<f64>, Vec<f64>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    static DATA: RefCell<DataMemo> = const {
        RefCell::new(DataMemo { model: 0, x: 0, scratch: Vec::new(), out: Vec::new(), inside: false })
    };
}

/// The data program's values at the last sample it ran on (per thread): `in_support`,
/// `features` and `data_term` are called in turn on every sample, and the program runs once.
struct DataMemo {
    /// [`UserModel::id`] (0: none yet) and the sample's bits.
    model: u64,
    x: u64,
    scratch: Vec<f64>,
    /// The features, b(x), then the x-only conditions.
    out: Vec<f64>,
    inside: bool,
}

fn registry() -> &'static Mutex<Vec<&'static UserModel>> {
    static R: OnceLock<Mutex<Vec<&'static UserModel>>> = OnceLock::new();
    R.get_or_init(|| Mutex::new(Vec::new()))
}

/// Builds (or returns the already built) model of `spec`.
pub fn build(spec: &ModelSpec) -> Result<&'static UserModel> {
    let key = spec.key();
    let mut reg = registry().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(m) = reg.iter().find(|m| m.spec.key() == key) {
        return Ok(m);
    }
    let m: &'static UserModel = Box::leak(Box::new(UserModel::new(spec.clone())?));
    reg.push(m);
    Ok(m)
}

/// The user model behind a family, if it is one.
pub fn model_of(family: &dyn Family) -> Option<&'static UserModel> {
    let reg = registry().lock().unwrap_or_else(|p| p.into_inner());
    reg.iter()
        .copied()
        .find(|m| std::ptr::addr_eq(family as *const dyn Family, *m as *const UserModel))
}

fn leak_str(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// η = the constants, κ = 0 ([`Stats::Linear`]: constant j is η of feature j).
fn natural_linear(c: &[f64], eta: &mut [f64]) -> f64 {
    let n = eta.len().min(c.len());
    eta[..n].copy_from_slice(&c[..n]);
    0.0
}

/// η = (c[B], c[B+1]), κ = c[B+2] ([`Stats::Quadratic`]).
fn natural_quadratic<const B: usize>(c: &[f64], eta: &mut [f64]) -> f64 {
    eta[0] = c[B];
    eta[1] = c[B + 1];
    c[B + 2]
}

fn quadratic_natural(base: usize) -> Option<crate::model::suffstats::Natural> {
    Some(match base {
        0 => natural_quadratic::<0>,
        1 => natural_quadratic::<1>,
        2 => natural_quadratic::<2>,
        3 => natural_quadratic::<3>,
        4 => natural_quadratic::<4>,
        5 => natural_quadratic::<5>,
        _ => return None,
    })
}

impl UserModel {
    fn new(spec: ModelSpec) -> Result<UserModel> {
        let names: Vec<String> = spec.params.iter().map(|p| p.name.clone()).collect();
        let ranges: Vec<Range> = spec.params.iter().map(|p| p.domain.range()).collect();
        let scope = Scope {
            params: &names,
            ranges: &ranges,
            support: spec.support.range,
        };
        let mut g = Graph::default();
        let (root, reference, used) = resolve::resolve(&spec.logpdf, &scope, &mut g)?;
        if let Some(j) = used.iter().position(|u| !u) {
            return Err(Error::input(format!(
                "parameter '{}' is never used in the log-density",
                names[j]
            )));
        }
        if !g.has_x(root) {
            return Err(Error::input("the log-density does not depend on x"));
        }
        let mut plan = split::split(g, root, spec.support.range, spec.support.integer)?;
        split::check_engine_limits(&plan)?;
        let (nf, nc) = (plan.features.len(), plan.consts.len());
        let kernel: &'static RegisterKernel = Box::leak(Box::new(RegisterKernel::new(
            &plan.k,
            plan.kernel,
            plan.inside,
            nf,
            nc,
        )));
        let wgsl = leak_str(wgsl::source(&plan.k, plan.kernel, plan.inside, nf, nc));
        let mut data_roots: Vec<Id> = plan.features.iter().map(|f| f.expr).collect();
        data_roots.push(plan.b);
        data_roots.extend(&plan.data_guards);
        let data_prog = Program::new(&plan.g, &data_roots);
        let zero = plan.g.num(0.0);
        let mut theta_roots: Vec<Id> = plan
            .consts
            .iter()
            .flat_map(|c| c.terms.map(|t| t.unwrap_or(zero)))
            .collect();
        theta_roots.push(plan.a);
        theta_roots.extend(&plan.theta_guards);
        let theta_prog = Program::new(&plan.g, &theta_roots);
        let host = plan
            .host
            .iter()
            .map(|h| {
                (
                    Program::new(&plan.g, &[h.expr]),
                    Program::new(&plan.g, &h.keys),
                )
            })
            .collect();
        let params: Vec<ParamSpec> = spec
            .params
            .iter()
            .map(|p| ParamSpec {
                name: leak_str(p.name.clone()),
                domain: p.domain.domain(),
            })
            .collect();
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Ok(UserModel {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name: leak_str(spec.name.clone()),
            params: Box::leak(params.into_boxed_slice()),
            support_text: leak_str(spec.support.describe()),
            wgsl,
            plan,
            reference,
            kernel,
            data_prog,
            theta_prog,
            host,
            log_z: Mutex::new(HashMap::new()),
            spec,
        })
    }

    /// Runs the θ program: fills `consts` (shift `c`) and returns (a(θ), all θ-conditions hold).
    fn theta_values(&self, theta: &[f64], c: f64, consts: &mut [f64]) -> (f64, bool) {
        SCRATCH.with(|s| {
            let (scratch, out) = &mut *s.borrow_mut();
            scratch.resize(self.theta_prog.len(), 0.0);
            let nc = self.plan.consts.len();
            out.resize(3 * nc + 1 + self.plan.theta_guards.len(), 0.0);
            self.theta_prog.run(0.0, theta, scratch, out);
            for (j, d) in self.plan.consts.iter().enumerate() {
                let v = out[3 * j] + out[3 * j + 1] * c + out[3 * j + 2] * c * c;
                let hi = v as f32 as f64;
                consts[j] = match d.part {
                    None => v,
                    Some(false) => hi,
                    Some(true) => v - hi,
                };
            }
            let ok = out[3 * nc + 1..].iter().all(|&v| v != 0.0);
            (out[3 * nc], ok)
        })
    }

    /// Runs the data program at x, or takes its values from the memo of the thread's last
    /// sample, and gives `f` the raw feature values, b(x), and whether x is inside (the
    /// conditions hold and every value is finite).
    fn with_data<R>(&self, x: f64, f: impl FnOnce(&[f64], f64, bool) -> R) -> R {
        DATA.with(|m| {
            let m = &mut *m.borrow_mut();
            let nf = self.plan.features.len();
            if (m.model, m.x) != (self.id, x.to_bits()) {
                m.scratch.resize(self.data_prog.len(), 0.0);
                m.out.resize(nf + 1 + self.plan.data_guards.len(), 0.0);
                self.data_prog.run(x, &[], &mut m.scratch, &mut m.out);
                let finite = m.out[..=nf].iter().all(|v| v.is_finite());
                m.inside = finite && m.out[nf + 1..].iter().all(|&v| v != 0.0);
                (m.model, m.x) = (self.id, x.to_bits());
            }
            f(&m.out[..nf], m.out[nf], m.inside)
        })
    }

    /// Runs the data program: fills `feats` (location shift `c` on feature 0) and returns
    /// (b(x), inside).
    fn data_values(&self, x: f64, c: f64, feats: &mut [f64]) -> (f64, bool) {
        self.with_data(x, |raw, b, inside| {
            for (j, (d, &v)) in self.plan.features.iter().zip(raw).enumerate() {
                let hi = v as f32 as f64;
                feats[j] = match d.part {
                    None if j == 0 && self.plan.shift == Shift::Location => v - c,
                    None => v,
                    Some(false) => hi,
                    Some(true) => v - hi,
                };
            }
            (b, inside)
        })
    }

    /// log Z(θ) (0 unless `normalise`), cached per θ.
    pub fn log_z(&self, theta: &[f64]) -> LogZ {
        if !self.spec.normalise {
            return LogZ {
                value: 0.0,
                error: 0.0,
            };
        }
        let key: Vec<u64> = theta.iter().map(|v| v.to_bits()).collect();
        if let Some(z) = self
            .log_z
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return *z;
        }
        let l = |x: f64| self.unnormalised(x, theta);
        let z = if self.spec.support.integer {
            let (lo, hi) = self.spec.support.integer_bounds();
            norm::discrete(&l, lo, hi)
        } else {
            norm::continuous(&l, self.spec.support.range)
        };
        self.log_z
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, z);
        z
    }

    /// The expression's value by the reference tree (no normalisation), −∞ outside.
    fn unnormalised(&self, x: f64, theta: &[f64]) -> f64 {
        if !self.spec.support.contains(x) {
            return f64::NEG_INFINITY;
        }
        let v = eval_ref(&self.reference, x, theta);
        if v.is_finite() {
            v
        } else {
            f64::NEG_INFINITY
        }
    }

    /// Largest estimated error of log Z over a grid, and the number of grid points where Z is
    /// not finite (invalid points).
    pub fn normalisation_summary(&self, grid: &Grid) -> Option<(f64, u64)> {
        if !self.spec.normalise {
            return None;
        }
        let (err, bad) = (0..grid.len())
            .into_par_iter()
            .map(|i| {
                let z = self.log_z(&grid.theta(i));
                if z.value.is_finite() {
                    (z.error, 0)
                } else {
                    (0.0, 1)
                }
            })
            .reduce(|| (0.0, 0), |a, b| (a.0.max(b.0), a.1 + b.1));
        Some((err, bad))
    }

    /// The split, in words, for `models check`.
    pub fn describe(&self) -> String {
        use std::fmt::Write;
        let p = &self.plan;
        let names: Vec<String> = self.spec.params.iter().map(|p| p.name.clone()).collect();
        let show = |id: Id| p.g.show(id, &names);
        let mut s = String::new();
        let w = &mut s;
        writeln!(w, "model: {}", self.spec.name).unwrap();
        writeln!(w, "log-density: {}", self.spec.logpdf.trim()).unwrap();
        let ps: Vec<String> = self
            .spec
            .params
            .iter()
            .map(|q| format!("{} ({})", q.name, q.domain.describe()))
            .collect();
        writeln!(w, "parameters: {}", ps.join(", ")).unwrap();
        writeln!(
            w,
            "support: {}{}",
            self.support_text,
            if self.spec.support.integer {
                " (discrete)"
            } else {
                ""
            }
        )
        .unwrap();
        writeln!(
            w,
            "normalise: {}",
            if self.spec.normalise {
                if self.spec.support.integer {
                    "yes: log Z(θ) summed over the support per grid point, in a(θ)"
                } else {
                    "yes: log Z(θ) by adaptive Gauss–Kronrod per grid point, in a(θ)"
                }
            } else {
                "no (the expression is a normalised log-density)"
            }
        )
        .unwrap();
        writeln!(
            w,
            "split: log Q = a(θ) + b(x) + k(x, θ){}",
            if p.host.is_empty() { "" } else { " + h(x, θ)" }
        )
        .unwrap();
        writeln!(
            w,
            "  a(θ) = {}{}",
            show(p.a),
            if self.spec.normalise {
                " − log Z(θ)"
            } else {
                ""
            }
        )
        .unwrap();
        writeln!(w, "  b(x) = {}", show(p.b)).unwrap();
        for h in &p.host {
            let keys: Vec<String> = h.keys.iter().map(|&k| show(k)).collect();
            writeln!(
                w,
                "  h(x, θ) += {}   [host, f64, once per distinct ({})]",
                show(h.expr),
                keys.join(", ")
            )
            .unwrap();
        }
        for c in &p.data_guards {
            writeln!(w, "  support condition (x only, host): {}", show(*c)).unwrap();
        }
        for c in &p.theta_guards {
            writeln!(
                w,
                "  support condition (θ only, invalid point when false): {}",
                show(*c)
            )
            .unwrap();
        }
        writeln!(w, "features (host, f64, then f32):").unwrap();
        for (j, f) in p.features.iter().enumerate() {
            let centre = match (j, p.shift, f.part) {
                (_, _, Some(false)) => " [f32 head of a double-float pair]".to_string(),
                (_, _, Some(true)) => " [f32 tail of a double-float pair]".to_string(),
                (0, Shift::Location, _) => " − m   [m: its data mean, location centring]".into(),
                (_, Shift::Linear, _) => " − m   [m: its data mean, linear centring]".into(),
                _ => String::new(),
            };
            writeln!(w, "  f{j} = {}{centre}", show(f.expr)).unwrap();
        }
        writeln!(w, "constants per grid point (host, f64, then f32):").unwrap();
        for (j, c) in p.consts.iter().enumerate() {
            let mut parts = Vec::new();
            let c_pow = ["", "·m", "·m²"];
            for (i, t) in c.terms.iter().enumerate() {
                if let Some(t) = t {
                    if p.g.num_value(*t) != Some(0.0) {
                        parts.push(format!("{}{}", show(*t), c_pow[i]));
                    }
                }
            }
            let part = match c.part {
                Some(false) => " [f32 head]",
                Some(true) => " [f32 tail]",
                None => "",
            };
            let v = if parts.is_empty() {
                "0".into()
            } else {
                parts.join(" + ")
            };
            writeln!(w, "  c{j} = {v}{part}").unwrap();
        }
        let kshow = |id: Id| p.k.show(id, &[]);
        writeln!(w, "kernel: k = {}", kshow(p.kernel)).unwrap();
        if let Some(i) = p.inside {
            writeln!(
                w,
                "  inside the support where {} (outside4 on the device)",
                kshow(i)
            )
            .unwrap();
        }
        writeln!(
            w,
            "centring: {}",
            match p.shift {
                Shift::Location => "location (f0 − m, the constants paired with it − m)",
                Shift::Linear =>
                    "linear (every feature minus its mean m; n·k(m, θ) added on the host)",
                Shift::None => "none",
            }
        )
        .unwrap();
        writeln!(
            w,
            "sufficient statistics: {}",
            match p.stats {
                Some(Stats::Linear) =>
                    "yes: t = the features (linear), --strategy auto uses them".into(),
                Some(Stats::Quadratic { base }) => format!(
                    "yes: t = (f0, f0²), η = (c{base}, c{}), κ = c{}; --strategy auto uses them",
                    base + 1,
                    base + 2
                ),
                None => "no".to_string(),
            }
        )
        .unwrap();
        writeln!(
            w,
            "device kernel: {} features, {} constants, {} CPU instructions per sub-tile, tolerance {:e}",
            p.features.len(),
            p.consts.len(),
            self.kernel.len(),
            self.kernel_class().tolerance()
        )
        .unwrap();
        for n in &p.notes {
            writeln!(w, "note: {n}").unwrap();
        }
        s
    }

    /// The `model` object of the JSON report.
    pub fn json(&self, grid: &Grid) -> serde_json::Value {
        let params: Vec<serde_json::Value> = self
            .spec
            .params
            .iter()
            .map(|p| serde_json::json!({"name": p.name, "domain": p.domain.describe()}))
            .collect();
        let mut v = serde_json::json!({
            "source": self.spec.logpdf,
            "params": params,
            "support": self.support_text,
            "discrete": self.spec.support.integer,
            "normalise": self.spec.normalise,
        });
        if let Some((err, bad)) = self.normalisation_summary(grid) {
            v["normalisation"] = serde_json::json!({
                "method": if self.spec.support.integer { "sum" } else { "gauss_kronrod" },
                "max_log_z_error": err,
                "invalid_points": bad,
            });
        }
        v
    }
}

/// Evaluates the reference tree at one sample.
fn eval_ref(e: &RefExpr, x: f64, t: &[f64]) -> f64 {
    use super::graph::{apply1, apply2, logsumexp};
    match e {
        RefExpr::Num(v) => *v,
        RefExpr::X => x,
        RefExpr::P(j) => t[*j],
        RefExpr::U(op, a) => apply1(*op, eval_ref(a, x, t)),
        RefExpr::B(op, a, b) => apply2(*op, eval_ref(a, x, t), eval_ref(b, x, t)),
        RefExpr::PowI(a, n) => eval_ref(a, x, t).powi(*n),
        RefExpr::Sel(c, a, b) => {
            if eval_ref(c, x, t) != 0.0 {
                eval_ref(a, x, t)
            } else {
                eval_ref(b, x, t)
            }
        }
        RefExpr::Lse(v) => {
            let vals: Vec<f64> = v.iter().map(|a| eval_ref(a, x, t)).collect();
            logsumexp(&vals)
        }
        RefExpr::Fam(f, args) => {
            let vals: Vec<f64> = args.iter().map(|a| eval_ref(a, x, t)).collect();
            if f.validate(&vals[1..]).is_err() {
                return f64::NAN;
            }
            f.ln_pdf(vals[0], &vals[1..])
        }
    }
}

/// `op` over a block, the operator chosen once per block.
fn map1(op: Op1, v: &mut [f64]) {
    use super::graph::apply1;
    macro_rules! each {
        ($f:expr) => {
            v.iter_mut().for_each(|x| *x = $f(*x))
        };
    }
    match op {
        Op1::Neg => each!(|a: f64| -a),
        Op1::Log => each!(f64::ln),
        Op1::Exp => each!(f64::exp),
        Op1::Abs => each!(f64::abs),
        Op1::Sqrt => each!(f64::sqrt),
        Op1::Log1p => each!(f64::ln_1p),
        o => each!(|a| apply1(o, a)),
    }
}

/// `a op= b` over a block, the operator chosen once per block.
fn map2(op: Op2, a: &mut [f64], b: &[f64]) {
    use super::graph::apply2;
    macro_rules! each {
        ($f:expr) => {
            a.iter_mut().zip(b).for_each(|(x, y)| *x = $f(*x, *y))
        };
    }
    match op {
        Op2::Add => each!(|x, y| x + y),
        Op2::Sub => each!(|x, y| x - y),
        Op2::Mul => each!(|x, y| x * y),
        Op2::Div => each!(|x, y| x / y),
        o => each!(|x, y| apply2(o, x, y)),
    }
}

/// Evaluates the reference tree over a block of samples (`out[i]` for `xs[i]`): the same
/// arithmetic as [`eval_ref`], one tree walk per block instead of per sample. `pool` recycles
/// the temporary blocks.
fn eval_ref_block(e: &RefExpr, xs: &[f64], t: &[f64], out: &mut [f64], pool: &mut Vec<Vec<f64>>) {
    use super::graph::logsumexp;
    let n = xs.len();
    let take = |pool: &mut Vec<Vec<f64>>| {
        let mut b = pool.pop().unwrap_or_default();
        b.resize(n, 0.0);
        b
    };
    match e {
        RefExpr::Num(v) => out[..n].fill(*v),
        RefExpr::X => out[..n].copy_from_slice(xs),
        RefExpr::P(j) => out[..n].fill(t[*j]),
        RefExpr::U(op, a) => {
            eval_ref_block(a, xs, t, out, pool);
            map1(*op, &mut out[..n]);
        }
        RefExpr::B(op, a, b) => {
            let mut tmp = take(pool);
            eval_ref_block(a, xs, t, out, pool);
            eval_ref_block(b, xs, t, &mut tmp, pool);
            map2(*op, &mut out[..n], &tmp);
            pool.push(tmp);
        }
        RefExpr::PowI(a, p) => {
            eval_ref_block(a, xs, t, out, pool);
            for o in &mut out[..n] {
                *o = o.powi(*p);
            }
        }
        RefExpr::Sel(c, a, b) => {
            let (mut tc, mut tb) = (take(pool), take(pool));
            eval_ref_block(c, xs, t, &mut tc, pool);
            eval_ref_block(a, xs, t, out, pool);
            eval_ref_block(b, xs, t, &mut tb, pool);
            for i in 0..n {
                if tc[i] == 0.0 {
                    out[i] = tb[i];
                }
            }
            pool.push(tc);
            pool.push(tb);
        }
        RefExpr::Lse(v) => {
            let vals: Vec<Vec<f64>> = v
                .iter()
                .map(|a| {
                    let mut b = take(pool);
                    eval_ref_block(a, xs, t, &mut b, pool);
                    b
                })
                .collect();
            let mut row = vec![0.0; vals.len()];
            for i in 0..n {
                for (r, v) in row.iter_mut().zip(&vals) {
                    *r = v[i];
                }
                out[i] = logsumexp(&row);
            }
            pool.extend(vals);
        }
        RefExpr::Fam(f, args) => {
            let vals: Vec<Vec<f64>> = args
                .iter()
                .map(|a| {
                    let mut b = take(pool);
                    eval_ref_block(a, xs, t, &mut b, pool);
                    b
                })
                .collect();
            let mut p = vec![0.0; vals.len() - 1];
            for i in 0..n {
                for (q, v) in p.iter_mut().zip(&vals[1..]) {
                    *q = v[i];
                }
                out[i] = if f.validate(&p).is_err() {
                    f64::NAN
                } else {
                    f.ln_pdf(vals[0][i], &p)
                };
            }
            pool.extend(vals);
        }
    }
}

impl Family for UserModel {
    fn name(&self) -> &'static str {
        self.name
    }
    fn params(&self) -> &'static [ParamSpec] {
        self.params
    }
    fn support(&self) -> &'static str {
        self.support_text
    }
    fn integer_data(&self) -> bool {
        self.spec.support.integer
    }

    /// Domains (including interval domains), then: θ-only support conditions hold, every
    /// kernel constant, a(θ) and (normalised models) log Z(θ) are finite. A point failing the
    /// latter is invalid: every path reports it with all samples outside the support.
    fn validate(&self, theta: &[f64]) -> Result<()> {
        for (p, &v) in self.spec.params.iter().zip(theta) {
            if !p.domain.contains(v) {
                return Err(Error::input(format!(
                    "{}: parameter '{}' must be {} (got {v})",
                    self.name,
                    p.name,
                    p.domain.describe()
                )));
            }
        }
        let mut c = vec![0.0; self.plan.consts.len()];
        let (a, ok) = self.theta_values(theta, 0.0, &mut c);
        if !ok || !a.is_finite() || c.iter().any(|v| !v.is_finite()) {
            return Err(Error::input(format!(
                "{}: the log-density is not defined at this point (a support condition fails or a θ-only part is not finite)",
                self.name
            )));
        }
        if !self.log_z(theta).value.is_finite() {
            return Err(Error::input(format!(
                "{}: the normalisation Z(θ) is not finite at this point",
                self.name
            )));
        }
        Ok(())
    }

    /// The whole expression in f64, unsplit, through the reference tree (family calls by the
    /// family's own `ln_pdf`), minus log Z(θ); −∞ outside the declared support and wherever
    /// the value is not finite.
    fn ln_pdf(&self, x: f64, theta: &[f64]) -> f64 {
        let v = self.unnormalised(x, theta) - self.log_z(theta).value;
        if v.is_finite() {
            v
        } else {
            f64::NEG_INFINITY
        }
    }

    /// The same sum as the trait's, evaluating the reference tree a block at a time.
    fn ln_pdf_sum(&self, xs: &[f64], theta: &[f64]) -> (f64, u64) {
        const BLOCK: usize = 256;
        let lz = self.log_z(theta).value;
        let mut total = Neumaier::default();
        let mut outside = 0u64;
        let mut buf = [0f64; BLOCK];
        let mut pool = Vec::new();
        for chunk in xs.chunks(BLOCK) {
            let buf = &mut buf[..chunk.len()];
            eval_ref_block(&self.reference, chunk, theta, buf, &mut pool);
            let mut lanes = [0f64; 8];
            for (i, (&x, &l)) in chunk.iter().zip(buf.iter()).enumerate() {
                let v = l - lz;
                let inside = self.spec.support.contains(x) && v.is_finite();
                outside += !inside as u64;
                lanes[i % 8] += if inside { v } else { 0.0 };
            }
            let s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
                + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
            total.add(s);
        }
        (total.value(), outside)
    }

    /// The declared support, the x-only support conditions, and finite features and b(x).
    fn in_support(&self, x: f64) -> bool {
        if !self.spec.support.contains(x) {
            return false;
        }
        self.with_data(x, |_, _, inside| inside)
    }

    fn theta_dependent_support(&self) -> bool {
        self.plan.inside.is_some()
    }

    fn log_norm(&self, theta: &[f64]) -> f64 {
        let mut c = vec![0.0; self.plan.consts.len()];
        self.theta_values(theta, 0.0, &mut c).0 - self.log_z(theta).value
    }

    fn data_term(&self, x: f64) -> f64 {
        self.with_data(x, |_, b, _| b)
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        self.kernel
    }

    fn kernel_consts(&self, theta: &[f64], shift: f64, out: &mut [f64]) {
        self.theta_values(theta, shift, out);
    }

    fn features(&self, x: f64, shift: f64, out: &mut [f64]) {
        self.data_values(x, shift, out);
    }

    fn has_host_terms(&self) -> bool {
        !self.host.is_empty()
    }

    fn host_coupled_sums(&self, grid: &Grid, xs: &[f64]) -> Option<Vec<f64>> {
        if self.host.is_empty() {
            return None;
        }
        // Per grid point, the values of every host term's θ-only parts.
        let keys: Vec<Vec<u64>> = (0..grid.len())
            .into_par_iter()
            .map(|i| {
                let t = grid.theta(i);
                self.host
                    .iter()
                    .flat_map(|(_, k)| {
                        let mut scratch = vec![0.0; k.len()];
                        let mut out = vec![0.0; k.len()];
                        k.run(0.0, &t, &mut scratch, &mut out);
                        out.into_iter().map(f64::to_bits)
                    })
                    .collect()
            })
            .collect();
        let mut distinct: HashMap<&Vec<u64>, usize> = HashMap::new();
        for (i, k) in keys.iter().enumerate() {
            distinct.entry(k).or_insert(i);
        }
        // The samples inside the support, as (value, count) for discrete models.
        let inside: Vec<(f64, f64)> = if self.spec.support.integer {
            let mut m: std::collections::BTreeMap<u64, u64> = Default::default();
            for &x in xs.iter().filter(|&&x| self.in_support(x)) {
                *m.entry(x.to_bits()).or_insert(0) += 1;
            }
            m.into_iter()
                .map(|(b, c)| (f64::from_bits(b), c as f64))
                .collect()
        } else {
            xs.iter()
                .filter(|&&x| self.in_support(x))
                .map(|&x| (x, 1.0))
                .collect()
        };
        let reps: Vec<(&Vec<u64>, usize)> = distinct.into_iter().collect();
        let sums: HashMap<&Vec<u64>, f64> = reps
            .par_iter()
            .map(|&(k, i)| {
                let t = grid.theta(i);
                let mut s = Neumaier::default();
                for (term, _) in &self.host {
                    let mut scratch = vec![0.0; term.len()];
                    let mut out = [0.0];
                    for &(x, c) in &inside {
                        term.run(x, &t, &mut scratch, &mut out);
                        if out[0].is_finite() {
                            s.add(c * out[0]);
                        }
                    }
                }
                (k, s.value())
            })
            .collect();
        Some(keys.iter().map(|k| sums[k]).collect())
    }

    fn suffstats(&self) -> Option<SuffStatsSpec> {
        match self.plan.stats? {
            Stats::Linear => Some(SuffStatsSpec {
                form: StatsForm::Linear,
                fixed_params: &[],
                natural: natural_linear,
                outside: None,
            }),
            Stats::Quadratic { base } => Some(SuffStatsSpec {
                form: StatsForm::Quadratic,
                fixed_params: &[],
                natural: quadratic_natural(base)?,
                outside: None,
            }),
        }
    }

    fn shift(&self) -> Shift {
        self.plan.shift
    }

    fn wgsl(&self) -> &'static str {
        self.wgsl
    }

    fn kernel_class(&self) -> KernelClass {
        if self.plan.transcendental {
            KernelClass::Transcendental
        } else {
            KernelClass::Polynomial
        }
    }

    fn sample_into(&self, _theta: &[f64], _rng: &mut StdRng, _out: &mut [f64]) -> Result<()> {
        Err(Error::input(format!(
            "{}: a model written as an expression cannot be sampled; draw data with --sample from a built-in family",
            self.name
        )))
    }
}
