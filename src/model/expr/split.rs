//! The automatic split of a model's log-density
//!
//! ```text
//! log Q(x | θ) = a(θ) + b(x) + k(x, θ) + h(x, θ)      where every support condition holds
//! ```
//!
//! * support conditions: `select(cond, value, -inf)` at the top level (also inside a family's
//!   log-density) — x-only ones are checked per sample on the host, θ-only ones per grid point
//!   (a point failing one is invalid), coupled ones on the device (`outside4`);
//! * the expression's top-level sum is classified term by term: constant and θ-only terms make
//!   a(θ) (host, f64, per grid point), x-only terms b(x) (host, f64, once per data set), coupled
//!   terms holding `lgamma` of a coupled argument h(x, θ) (host, f64, once per distinct value of
//!   their θ-only parts), the rest the coupled kernel k;
//! * inside the kernel every maximal θ-only sub-expression becomes a per-grid-point constant
//!   (host, f64, rounded to f32) and every maximal x-only one a per-sample feature (host, f64,
//!   rounded to f32);
//! * centring: a feature that enters the kernel only as `f − t` / `t − f` / `f + t` (t θ-only)
//!   goes to the device as f − c (c its data mean) and those constants as t − c, both exact in
//!   f64 ([`Shift::Location`]); a kernel linear in its features, k = Σⱼ ηⱼ(θ)·fⱼ + κ(θ), is laid
//!   out as exactly that (constants ηⱼ, κ moved to a(θ)) and centred by [`Shift::Linear`] — it
//!   is also the sufficient-statistics form [`StatsForm::Linear`]; a kernel quadratic in one
//!   feature gets [`StatsForm::Quadratic`], its η and κ as extra constants;
//! * coupled support conditions comparing an x-only value with a θ-only one compare
//!   double-float pairs (hi = f32(v), lo = f32(v − hi)) for continuous models, exact unless the
//!   two agree to ~2⁻⁴⁸, and plain f32 values for discrete ones (exact for integers).

use super::graph::{Class, Graph, Id, Op1, Op2, N};
use super::interval::{self, Range};
use crate::error::{Error, Result};
use crate::model::Shift;
use std::collections::HashMap;

/// A per-sample feature: an x-only expression of the main graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeatureDef {
    pub expr: Id,
    /// For double-float comparisons: `Some(false)` the f32 head, `Some(true)` the tail.
    pub part: Option<bool>,
}

/// A per-grid-point constant: t₀ + t₁·c + t₂·c² with c the centre ([`Shift`]) and each tᵢ a
/// θ-only expression of the main graph (absent = 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConstDef {
    pub terms: [Option<Id>; 3],
    /// For double-float comparisons: `Some(false)` the f32 head, `Some(true)` the tail.
    pub part: Option<bool>,
}

impl ConstDef {
    fn plain(id: Id) -> ConstDef {
        ConstDef {
            terms: [Some(id), None, None],
            part: None,
        }
    }
}

/// A coupled term evaluated on the host in f64 (`lgamma` of a coupled argument), once per
/// distinct value of its θ-only parts over the grid.
#[derive(Debug, Clone)]
pub struct HostTerm {
    pub expr: Id,
    /// The maximal θ-only sub-expressions: the term depends on θ only through their values.
    pub keys: Vec<Id>,
}

/// Sufficient statistics of the kernel, in the engine's forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stats {
    /// t = f (the kernel is Σⱼ cⱼ·fⱼ; η = the constants, κ = 0).
    Linear,
    /// t = (f₀, f₀²), η = (c[base], c[base+1]), κ = c[base+2].
    Quadratic { base: usize },
}

/// The split of a model.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The main graph: the expression and every host-side expression below.
    pub g: Graph,
    /// The kernel graph: nodes over features `F(j)` and constants `C(j)`.
    pub k: Graph,
    /// Root of k(f, c) in `k`.
    pub kernel: Id,
    /// Root of the coupled support condition in `k` (1 inside), if any.
    pub inside: Option<Id>,
    /// a(θ) in `g` (without the normalisation).
    pub a: Id,
    /// b(x) in `g`.
    pub b: Id,
    /// x-only support conditions in `g`.
    pub data_guards: Vec<Id>,
    /// θ-only support conditions in `g`.
    pub theta_guards: Vec<Id>,
    pub host: Vec<HostTerm>,
    pub features: Vec<FeatureDef>,
    pub consts: Vec<ConstDef>,
    pub shift: Shift,
    pub stats: Option<Stats>,
    /// Whether the kernel calls transcendental functions (tolerance 1e-5, else 1e-6).
    pub transcendental: bool,
    /// Notes for `models check` (why a strategy or centring does not apply).
    pub notes: Vec<String>,
}

fn is_neg_inf(g: &Graph, id: Id) -> bool {
    g.num_value(id) == Some(f64::NEG_INFINITY)
}

/// Replaces `select(c, a, b)` by `a` wherever the x-only condition c holds on the whole
/// support.
fn drop_implied(g: &mut Graph, id: Id, support: Range, memo: &mut HashMap<Id, Id>) -> Id {
    if !g.has_x(id) {
        return id;
    }
    if let Some(&r) = memo.get(&id) {
        return r;
    }
    let out = match g.node(id).clone() {
        N::Sel(c, a, b) => {
            if g.class(c) == Class::Data && interval::always_true(g, c, support) {
                drop_implied(g, a, support, memo)
            } else {
                let (a, b) = (
                    drop_implied(g, a, support, memo),
                    drop_implied(g, b, support, memo),
                );
                g.sel(c, a, b)
            }
        }
        N::U(op, a) => {
            let a = drop_implied(g, a, support, memo);
            g.u(op, a)
        }
        N::B(op, a, b) => {
            let (a, b) = (
                drop_implied(g, a, support, memo),
                drop_implied(g, b, support, memo),
            );
            g.b(op, a, b)
        }
        N::PowI(a, n) => {
            let a = drop_implied(g, a, support, memo);
            g.powi(a, n)
        }
        N::Lse(v) => {
            let v = v
                .into_iter()
                .map(|a| drop_implied(g, a, support, memo))
                .collect();
            g.lse(v)
        }
        _ => id,
    };
    memo.insert(id, out);
    out
}

/// Strips top-level support conditions `select(c, v, -inf)` off `id`, collecting the c.
fn strip_guards(g: &mut Graph, id: Id, guards: &mut Vec<Id>) -> Id {
    match g.node(id).clone() {
        N::Sel(c, a, b) if is_neg_inf(g, b) => {
            guards.push(c);
            strip_guards(g, a, guards)
        }
        N::Sel(c, a, b) if is_neg_inf(g, a) => {
            let not = g.u(Op1::Not, c);
            guards.push(not);
            strip_guards(g, b, guards)
        }
        N::B(Op2::Add, a, b) => {
            let (a, b) = (strip_guards(g, a, guards), strip_guards(g, b, guards));
            g.b(Op2::Add, a, b)
        }
        N::B(Op2::Sub, a, b) => {
            let a = strip_guards(g, a, guards);
            g.b(Op2::Sub, a, b)
        }
        _ => id,
    }
}

/// Splits conditions joined by `&&` into their parts.
fn conjuncts(g: &Graph, id: Id, out: &mut Vec<Id>) {
    match g.node(id) {
        N::B(Op2::And, a, b) => {
            let (a, b) = (*a, *b);
            conjuncts(g, a, out);
            conjuncts(g, b, out);
        }
        _ => out.push(id),
    }
}

/// The signed top-level terms of a sum.
fn terms(g: &Graph, id: Id, sign: f64, out: &mut Vec<(Id, f64)>) {
    match g.node(id) {
        N::B(Op2::Add, a, b) => {
            let (a, b) = (*a, *b);
            terms(g, a, sign, out);
            terms(g, b, sign, out);
        }
        N::B(Op2::Sub, a, b) => {
            let (a, b) = (*a, *b);
            terms(g, a, sign, out);
            terms(g, b, -sign, out);
        }
        N::U(Op1::Neg, a) => {
            let a = *a;
            terms(g, a, -sign, out)
        }
        _ => out.push((id, sign)),
    }
}

/// Whether `id` holds `lgamma` of a coupled argument (which f32 cannot evaluate to the
/// tolerance: such terms go to the host).
fn has_coupled_lgamma(g: &Graph, id: Id) -> bool {
    g.reachable(&[id]).into_iter().any(|n| match g.node(n) {
        N::U(Op1::Lgamma, a) => g.class(*a) == Class::Coupled,
        _ => false,
    })
}

/// Σ sign·term.
fn sum(g: &mut Graph, ts: &[(Id, f64)]) -> Id {
    let mut acc = g.num(0.0);
    for &(t, s) in ts {
        acc = if s > 0.0 {
            g.b(Op2::Add, acc, t)
        } else {
            g.b(Op2::Sub, acc, t)
        };
    }
    acc
}

/// Kernel-friendly rewrites: division by a θ-only value becomes multiplication by its
/// reciprocal (a constant), and −(a·t) with t θ-only becomes a·(−t).
fn rewrite(g: &mut Graph, id: Id, memo: &mut HashMap<Id, Id>) -> Id {
    if g.class(id) != Class::Coupled {
        return id;
    }
    if let Some(&r) = memo.get(&id) {
        return r;
    }
    let out = match g.node(id).clone() {
        N::B(Op2::Div, a, b) if g.class(b) != Class::Coupled && g.class(b) != Class::Data => {
            let a = rewrite(g, a, memo);
            let one = g.num(1.0);
            let r = g.b(Op2::Div, one, b);
            g.b(Op2::Mul, a, r)
        }
        N::U(Op1::Neg, a) => {
            let a = rewrite(g, a, memo);
            negate(g, a)
        }
        N::U(op, a) => {
            let a = rewrite(g, a, memo);
            g.u(op, a)
        }
        N::B(op, a, b) => {
            let (a, b) = (rewrite(g, a, memo), rewrite(g, b, memo));
            g.b(op, a, b)
        }
        N::PowI(a, n) => {
            let a = rewrite(g, a, memo);
            g.powi(a, n)
        }
        N::Sel(c, a, b) => {
            let (c, a, b) = (
                rewrite(g, c, memo),
                rewrite(g, a, memo),
                rewrite(g, b, memo),
            );
            g.sel(c, a, b)
        }
        N::Lse(v) => {
            let v = v.into_iter().map(|a| rewrite(g, a, memo)).collect();
            g.lse(v)
        }
        _ => id,
    };
    memo.insert(id, out);
    out
}

/// −a, folding the sign into a θ-only factor where there is one.
fn negate(g: &mut Graph, a: Id) -> Id {
    if let N::B(Op2::Mul, p, q) = g.node(a).clone() {
        if g.class(q) == Class::Theta {
            let nq = g.u(Op1::Neg, q);
            return g.b(Op2::Mul, p, nq);
        }
        if g.class(p) == Class::Theta {
            let np = g.u(Op1::Neg, p);
            return g.b(Op2::Mul, np, q);
        }
    }
    g.u(Op1::Neg, a)
}

/// A polynomial in the x-only atoms with θ-only coefficients: monomial (sorted atoms) →
/// coefficient.
type Poly = Vec<(Vec<Id>, Id)>;

const MAX_TERMS: usize = 32;

/// The kernel as a polynomial in its maximal x-only sub-expressions, if it is one.
fn linearise(g: &mut Graph, id: Id) -> Option<Poly> {
    match g.class(id) {
        Class::Constant | Class::Theta => return Some(vec![(vec![], id)]),
        Class::Data => {
            let one = g.num(1.0);
            return Some(vec![(vec![id], one)]);
        }
        Class::Coupled => {}
    }
    let p = match g.node(id).clone() {
        N::B(Op2::Add, a, b) => {
            let mut p = linearise(g, a)?;
            p.extend(linearise(g, b)?);
            p
        }
        N::B(Op2::Sub, a, b) => {
            let mut p = linearise(g, a)?;
            for (m, c) in linearise(g, b)? {
                let nc = g.u(Op1::Neg, c);
                p.push((m, nc));
            }
            p
        }
        N::U(Op1::Neg, a) => {
            let mut p = linearise(g, a)?;
            for t in &mut p {
                t.1 = g.u(Op1::Neg, t.1);
            }
            p
        }
        N::B(Op2::Mul, a, b) => {
            let (pa, pb) = (linearise(g, a)?, linearise(g, b)?);
            if pa.len() * pb.len() > MAX_TERMS {
                return None;
            }
            let mut p = Vec::new();
            for (ma, ca) in &pa {
                for (mb, cb) in &pb {
                    let mut m = ma.clone();
                    m.extend(mb);
                    m.sort_unstable();
                    p.push((m, g.b(Op2::Mul, *ca, *cb)));
                }
            }
            p
        }
        N::B(Op2::Div, a, b) if g.class(b) == Class::Data => {
            let one = g.num(1.0);
            let r = g.b(Op2::Div, one, b);
            let m = g.b(Op2::Mul, a, r);
            linearise(g, m)?
        }
        // select(c, A, B) with an x-only condition: B + [c]·(A − B), the indicator [c] folded
        // into each x-only atom (and x replaced by v under c = (x == v)).
        N::Sel(c, a, b) if g.class(c) == Class::Data => {
            let (pa, pb) = (linearise(g, a)?, linearise(g, b)?);
            let mut p = pb.clone();
            let diff = pa
                .into_iter()
                .map(|t| (t, 1.0))
                .chain(pb.into_iter().map(|t| (t, -1.0)));
            for ((m, coef), sign) in diff {
                let (atom, scale) = indicator_times(g, c, &m)?;
                let s = g.num(sign * scale);
                let coef = g.b(Op2::Mul, s, coef);
                p.push((vec![atom], coef));
            }
            p
        }
        N::PowI(a, n) if (2..=4).contains(&n) => {
            let mut m = a;
            for _ in 1..n {
                m = g.b(Op2::Mul, m, a);
            }
            if m == id {
                return None;
            }
            linearise(g, m)?
        }
        _ => return None,
    };
    // Combine equal monomials.
    let mut out: Poly = Vec::new();
    for (m, c) in p {
        match out.iter_mut().find(|t| t.0 == m) {
            Some(t) => t.1 = g.b(Op2::Add, t.1, c),
            None => out.push((m, c)),
        }
    }
    (out.len() <= MAX_TERMS).then_some(out)
}

/// [c]·m for the x-only condition c and monomial m: an x-only atom and a number it is scaled
/// by. Under c = (x == v), m(x) = m(v): the atom is [c] itself.
fn indicator_times(g: &mut Graph, c: Id, m: &[Id]) -> Option<(Id, f64)> {
    let (one, zero) = (g.num(1.0), g.num(0.0));
    let ind = g.sel(c, one, zero);
    let mut prod = one;
    for &a in m {
        prod = g.b(Op2::Mul, prod, a);
    }
    if m.is_empty() {
        return Some((ind, 1.0));
    }
    if let N::B(Op2::Eq, p, q) = *g.node(c) {
        let v = match (g.node(p), g.num_value(q), g.node(q), g.num_value(p)) {
            (N::X, Some(v), _, _) | (_, _, N::X, Some(v)) => Some(v),
            _ => None,
        };
        if let Some(v) = v {
            let mv = g.eval(prod, v, &[]);
            return mv.is_finite().then_some((ind, mv));
        }
    }
    Some((g.sel(c, prod, zero), 1.0))
}

/// Builds the kernel graph from main-graph nodes: hoists maximal θ-only and x-only
/// sub-expressions into constants and features, centres the location feature, and expands
/// coupled comparisons.
struct Hoist<'a> {
    g: &'a mut Graph,
    k: Graph,
    features: Vec<FeatureDef>,
    consts: Vec<ConstDef>,
    /// The feature (main-graph node) centred by the shift, and how: sent as f − c.
    centred: Option<Id>,
    discrete: bool,
    memo: HashMap<Id, Id>,
}

impl Hoist<'_> {
    fn feature(&mut self, d: FeatureDef) -> Id {
        let j = match self.features.iter().position(|f| *f == d) {
            Some(j) => j,
            None => {
                self.features.push(d);
                self.features.len() - 1
            }
        };
        self.k.feat(j)
    }

    fn constant(&mut self, d: ConstDef) -> Id {
        let j = match self.consts.iter().position(|c| *c == d) {
            Some(j) => j,
            None => {
                self.consts.push(d);
                self.consts.len() - 1
            }
        };
        self.k.cst(j)
    }

    /// The constant t shifted with the centred feature: t ∓ c.
    fn shifted(&mut self, t: Id, sign: f64) -> Id {
        let s = self.g.num(sign);
        self.constant(ConstDef {
            terms: [Some(t), Some(s), None],
            part: None,
        })
    }

    fn plain_feature(&mut self, id: Id) -> Id {
        self.feature(FeatureDef {
            expr: id,
            part: None,
        })
    }

    fn h(&mut self, id: Id) -> Id {
        if let Some(&r) = self.memo.get(&id) {
            return r;
        }
        let g = &*self.g;
        let out = match g.class(id) {
            Class::Constant => {
                let v = g.num_value(id).unwrap_or_else(|| {
                    // A constant expression the folding left (it folds everything): evaluate.
                    g.eval(id, 0.0, &[])
                });
                // ±∞ on the device: the largest magnitude an f32 exp/log chain survives.
                self.k.num(v.clamp(-1e30, 1e30))
            }
            Class::Data => {
                assert!(
                    Some(id) != self.centred,
                    "the centred feature appears outside a location form"
                );
                self.plain_feature(id)
            }
            Class::Theta => self.constant(ConstDef::plain(id)),
            Class::Coupled => self.coupled(id),
        };
        self.memo.insert(id, out);
        out
    }

    fn coupled(&mut self, id: Id) -> Id {
        let node = self.g.node(id).clone();
        if let N::B(op, a, b) = node {
            let (ca, cb) = (self.g.class(a), self.g.class(b));
            // Comparisons of an x-only value with a θ-only one.
            if op.is_cmp() && !self.discrete {
                let pair = match (ca, cb) {
                    (Class::Data, Class::Theta) => Some((op, a, b)),
                    (Class::Theta, Class::Data) => Some((op.swapped(), b, a)),
                    _ => None,
                };
                if let Some((op, xv, tv)) = pair {
                    return self.pair_compare(op, xv, tv);
                }
            }
            // Location forms of the centred feature.
            if let Some(f) = self.centred {
                if matches!(op, Op2::Sub | Op2::Add) || op.is_cmp() {
                    if a == f && cb == Class::Theta {
                        let fk = self.feature(FeatureDef {
                            expr: f,
                            part: None,
                        });
                        let sign = if op == Op2::Add { 1.0 } else { -1.0 };
                        let cs = self.shifted(b, if op.is_cmp() { -1.0 } else { sign });
                        return self.k.b(op, fk, cs);
                    }
                    if b == f && ca == Class::Theta {
                        let fk = self.feature(FeatureDef {
                            expr: f,
                            part: None,
                        });
                        let cs = self.shifted(a, if op == Op2::Add { 1.0 } else { -1.0 });
                        return self.k.b(op, cs, fk);
                    }
                }
            }
        }
        let k = match node {
            N::U(op, a) => {
                let a = self.h(a);
                self.k.u(op, a)
            }
            N::B(op, a, b) => {
                let (a, b) = (self.h(a), self.h(b));
                self.k.b(op, a, b)
            }
            N::PowI(a, n) => {
                let a = self.h(a);
                self.k.powi(a, n)
            }
            N::Sel(c, a, b) => {
                let (c, a, b) = (self.h(c), self.h(a), self.h(b));
                self.k.sel(c, a, b)
            }
            N::Lse(v) => {
                let v = v.into_iter().map(|a| self.h(a)).collect();
                self.k.lse(v)
            }
            _ => unreachable!("a coupled node has children"),
        };
        k
    }

    /// xv op tv on double-float pairs: (h, l) < (H, L) ⇔ h < H ∨ (h = H ∧ l < L).
    fn pair_compare(&mut self, op: Op2, xv: Id, tv: Id) -> Id {
        let fh = self.feature(FeatureDef {
            expr: xv,
            part: Some(false),
        });
        let fl = self.feature(FeatureDef {
            expr: xv,
            part: Some(true),
        });
        let ch = self.constant(ConstDef {
            terms: [Some(tv), None, None],
            part: Some(false),
        });
        let cl = self.constant(ConstDef {
            terms: [Some(tv), None, None],
            part: Some(true),
        });
        let k = &mut self.k;
        let heq = k.b(Op2::Eq, fh, ch);
        let leq = k.b(Op2::Eq, fl, cl);
        match op {
            Op2::Eq => k.b(Op2::And, heq, leq),
            Op2::Ne => {
                let e = k.b(Op2::And, heq, leq);
                k.u(Op1::Not, e)
            }
            _ => {
                let strict = match op {
                    Op2::Le => Op2::Lt,
                    Op2::Ge => Op2::Gt,
                    o => o,
                };
                let head = k.b(strict, fh, ch);
                let tail = k.b(op, fl, cl);
                let tie = k.b(Op2::And, heq, tail);
                k.b(Op2::Or, head, tie)
            }
        }
    }
}

/// Maximal x-only sub-expressions of the coupled region below `id` that enter only in
/// location forms (`f − t`, `t − f`, `f + t`, or compared with a θ-only value).
fn location_feature(g: &Graph, roots: &[Id], discrete: bool) -> Option<Id> {
    let mut ok: HashMap<Id, bool> = HashMap::new();
    let mut order: Vec<Id> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<Id> = roots.to_vec();
    while let Some(n) = stack.pop() {
        if g.class(n) != Class::Coupled || !seen.insert(n) {
            continue;
        }
        let kids = g.children(n);
        for &c in &kids {
            if g.class(c) == Class::Data {
                let node = g.node(n);
                // Continuous models compare double-float pairs (own features): no constraint.
                if !discrete && matches!(node, N::B(op, _, _) if op.is_cmp()) {
                    continue;
                }
                let good = match node {
                    N::B(op, a, b) if matches!(op, Op2::Sub | Op2::Add) || op.is_cmp() => {
                        (*a == c && g.class(*b) == Class::Theta)
                            || (*b == c && g.class(*a) == Class::Theta)
                    }
                    _ => false,
                };
                if !ok.contains_key(&c) {
                    order.push(c);
                }
                let e = ok.entry(c).or_insert(true);
                *e &= good;
            }
        }
        stack.extend(kids);
    }
    // A plain x first, else the first found.
    order.sort_by_key(|&c| (g.node(c) != &N::X, c));
    order.into_iter().find(|c| ok[c])
}

/// The θ-only maximal sub-expressions of `id`.
fn theta_parts(g: &Graph, id: Id, out: &mut Vec<Id>) {
    match g.class(id) {
        Class::Theta if !out.contains(&id) => out.push(id),
        Class::Coupled => {
            for c in g.children(id) {
                theta_parts(g, c, out);
            }
        }
        _ => {}
    }
}

/// Whether a kernel-graph node set uses transcendental functions.
fn transcendental(k: &Graph, roots: &[Id]) -> bool {
    k.reachable(roots).into_iter().any(|n| {
        matches!(
            k.node(n),
            N::U(
                Op1::Log
                    | Op1::Exp
                    | Op1::Log1p
                    | Op1::Expm1
                    | Op1::Lgamma
                    | Op1::Erf
                    | Op1::Erfc
                    | Op1::Tanh
                    | Op1::Sqrt,
                _
            ) | N::B(Op2::Pow, _, _)
                | N::Lse(_)
        )
    })
}

/// Splits `root` (a model's log-density in `g`).
pub fn split(mut g: Graph, root: Id, support: Range, discrete: bool) -> Result<Plan> {
    let mut notes = Vec::new();
    // 0. Conditions on x the declared support guarantees, anywhere (inside a family's
    // log-density under logsumexp, say), hold.
    let root = drop_implied(&mut g, root, support, &mut HashMap::new());
    // 1. Support conditions.
    let mut raw = Vec::new();
    let body = strip_guards(&mut g, root, &mut raw);
    let mut guards = Vec::new();
    for c in raw {
        conjuncts(&g, c, &mut guards);
    }
    let (mut data_guards, mut theta_guards, mut coupled_guards) = (vec![], vec![], vec![]);
    for c in guards {
        match g.class(c) {
            Class::Constant => {
                if g.num_value(c) == Some(0.0) {
                    return Err(Error::input(
                        "the log-density is -inf everywhere: a support condition is never true",
                    ));
                }
            }
            Class::Data if interval::always_true(&g, c, support) => {}
            Class::Data => data_guards.push(c),
            Class::Theta => theta_guards.push(c),
            Class::Coupled => coupled_guards.push(c),
        }
    }
    // 2. Top-level terms.
    let mut ts = Vec::new();
    terms(&g, body, 1.0, &mut ts);
    let (mut a_t, mut b_t, mut k_t, mut host) = (vec![], vec![], vec![], vec![]);
    for (t, s) in ts {
        match g.class(t) {
            Class::Constant | Class::Theta => a_t.push((t, s)),
            Class::Data => b_t.push((t, s)),
            Class::Coupled if has_coupled_lgamma(&g, t) => {
                let e = if s > 0.0 { t } else { g.u(Op1::Neg, t) };
                let mut keys = Vec::new();
                theta_parts(&g, e, &mut keys);
                host.push(HostTerm { expr: e, keys });
            }
            Class::Coupled => k_t.push((t, s)),
        }
    }
    let mut a = sum(&mut g, &a_t);
    let b = sum(&mut g, &b_t);
    let mut kroot = g.num(0.0);
    for &(t, s) in &k_t {
        let term = if s > 0.0 { t } else { negate(&mut g, t) };
        kroot = g.b(Op2::Add, kroot, term);
    }
    let mut memo = HashMap::new();
    let kroot = rewrite(&mut g, kroot, &mut memo);
    let coupled_guards: Vec<Id> = coupled_guards
        .into_iter()
        .map(|c| rewrite(&mut g, c, &mut memo))
        .collect();

    // 3. Linear kernels: k = Σ ηⱼ·fⱼ + κ.
    let poly = linearise(&mut g, kroot);
    let linear = poly
        .as_ref()
        .filter(|p| p.iter().all(|(m, _)| m.len() <= 1) && p.iter().any(|(m, _)| m.len() == 1));
    // Coupled conditions a linear layout can carry: a discrete model's comparisons of one
    // x-only value (then feature 0, shifted with it) with θ-only values.
    let guard_feature = |g: &Graph| -> std::result::Result<Option<Id>, ()> {
        let mut f = None;
        for &c in &coupled_guards {
            match g.node(c) {
                N::B(op, p, q) if op.is_cmp() && discrete => {
                    let xv = match (g.class(*p), g.class(*q)) {
                        (Class::Data, Class::Theta) => *p,
                        (Class::Theta, Class::Data) => *q,
                        _ => return Err(()),
                    };
                    if f.is_some_and(|f| f != xv) {
                        return Err(());
                    }
                    f = Some(xv);
                }
                _ => return Err(()),
            }
        }
        Ok(f)
    };
    let lin_guard = guard_feature(&g);
    if let (Some(poly), Ok(gf)) = (linear, lin_guard) {
        let poly = poly.clone();
        let mut h = Hoist {
            g: &mut g,
            k: Graph::default(),
            features: vec![],
            consts: vec![],
            centred: gf,
            discrete,
            memo: HashMap::new(),
        };
        if let Some(f) = gf {
            h.plain_feature(f);
        }
        let mut kk = h.k.num(0.0);
        let mut to_b = Vec::new();
        for (m, c) in &poly {
            match m.as_slice() {
                [] => {}
                // A number times an x-only atom is an x-only term: b(x).
                [f] if h.g.class(*c) == Class::Constant => to_b.push((*f, *c)),
                [f] => {
                    let fk = h.plain_feature(*f);
                    // Not shared with an equal constant: constant j is η of feature j.
                    h.consts.push(ConstDef::plain(*c));
                    let ck = h.k.cst(h.consts.len() - 1);
                    let t = h.k.b(Op2::Mul, ck, fk);
                    kk = h.k.b(Op2::Add, kk, t);
                }
                _ => unreachable!("linear monomials"),
            }
        }
        let inside = conj(&mut h, &coupled_guards);
        let (features, consts, k) = (h.features, h.consts, h.k);
        let mut b = b;
        for (f, c) in to_b {
            let t = g.b(Op2::Mul, c, f);
            b = g.b(Op2::Add, b, t);
        }
        if let Some((_, kappa)) = poly.iter().find(|(m, _)| m.is_empty()) {
            a = g.b(Op2::Add, a, *kappa);
        }
        let stats = if coupled_guards.is_empty() {
            Some(Stats::Linear)
        } else {
            notes.push(
                "sufficient statistics: not used, the support depends on θ (a coupled support condition)"
                    .into(),
            );
            None
        };
        return finish(Plan {
            transcendental: transcendental(&k, &[kk]),
            g,
            k,
            kernel: kk,
            inside,
            a,
            b,
            data_guards,
            theta_guards,
            host,
            features,
            consts,
            shift: Shift::Linear,
            stats,
            notes,
        });
    }

    // 4. General kernels: hoist, centring a location feature.
    let mut roots = vec![kroot];
    roots.extend(&coupled_guards);
    let centred = location_feature(&g, &roots, discrete);
    let mut h = Hoist {
        g: &mut g,
        k: Graph::default(),
        features: vec![],
        consts: vec![],
        centred,
        discrete,
        memo: HashMap::new(),
    };
    if let Some(f) = centred {
        h.plain_feature(f);
    }
    let kk = h.h(kroot);
    let inside = conj(&mut h, &coupled_guards);
    // Quadratic sufficient statistics: k = η₂f² + η₁f + κ in one feature f (the centred one,
    // if any): with f = f' + c, η₁' = η₁ + 2cη₂ and κ' = κ + cη₁ + c²η₂.
    let mut stats = None;
    let single = poly.as_ref().and_then(|p| {
        let atoms: Vec<Id> = p.iter().flat_map(|(m, _)| m.clone()).collect();
        let f = *atoms.first()?;
        let ok = atoms.iter().all(|&a| a == f) && p.iter().all(|(m, _)| m.len() <= 2);
        ok.then_some(f)
    });
    if let (Some(f), Some(p)) = (single, poly.clone()) {
        if coupled_guards.is_empty()
            && h.features.len() <= 1
            && (h.features.first().map(|d| d.expr) == Some(f) || h.features.is_empty())
        {
            if h.features.is_empty() {
                h.plain_feature(f);
            }
            let coef = |deg: usize, g: &mut Graph| {
                p.iter()
                    .find(|(m, _)| m.len() == deg)
                    .map_or_else(|| g.num(0.0), |t| t.1)
            };
            let (k0, k1, k2) = (coef(0, h.g), coef(1, h.g), coef(2, h.g));
            let centred_f = centred == Some(f);
            let base = h.consts.len();
            let two = h.g.num(2.0);
            let t1 = h.g.b(Op2::Mul, two, k2);
            let (eta1, eta2, kappa) = if centred_f {
                (
                    ConstDef {
                        terms: [Some(k1), Some(t1), None],
                        part: None,
                    },
                    ConstDef::plain(k2),
                    ConstDef {
                        terms: [Some(k0), Some(k1), Some(k2)],
                        part: None,
                    },
                )
            } else {
                (
                    ConstDef::plain(k1),
                    ConstDef::plain(k2),
                    ConstDef::plain(k0),
                )
            };
            // Appended even when equal to an existing constant: the layout is positional.
            h.consts.extend([eta1, eta2, kappa]);
            stats = Some(Stats::Quadratic { base });
        }
    }
    if stats.is_none() {
        notes.push(if !coupled_guards.is_empty() {
            "sufficient statistics: not used, the support depends on θ (a coupled support condition)".into()
        } else {
            "sufficient statistics: not used, the kernel is not a sum of (θ-only) × (x-only) products".into()
        });
    }
    let (features, consts, k) = (h.features, h.consts, h.k);
    let shift = if centred.is_some() {
        Shift::Location
    } else {
        Shift::None
    };
    if centred.is_none() && !features.is_empty() {
        notes.push(
            "centring: none, no feature enters the kernel only as x − (θ-only expression)".into(),
        );
    }
    finish(Plan {
        transcendental: transcendental(&k, &[kk]),
        g,
        k,
        kernel: kk,
        inside,
        a,
        b,
        data_guards,
        theta_guards,
        host,
        features,
        consts,
        shift,
        stats,
        notes,
    })
}

/// The conjunction of the coupled conditions in the kernel graph.
fn conj(h: &mut Hoist<'_>, guards: &[Id]) -> Option<Id> {
    let mut inside: Option<Id> = None;
    for &c in guards {
        let kc = h.h(c);
        inside = Some(match inside {
            Some(p) => h.k.b(Op2::And, p, kc),
            None => kc,
        });
    }
    inside
}

/// Pads to at least one feature and one constant (the device kernel reads both).
fn finish(mut p: Plan) -> Result<Plan> {
    if p.features.is_empty() {
        let x = p.g.x();
        p.features.push(FeatureDef {
            expr: x,
            part: None,
        });
    }
    if p.consts.is_empty() {
        let z = p.g.num(0.0);
        p.consts.push(ConstDef::plain(z));
    }
    Ok(p)
}

/// Most per-sample features a model's kernel may read: each is an f32 argument of the device
/// kernel and a column of the prepared samples.
pub const MAX_MODEL_FEATURES: usize = 32;

/// Most constants per grid point a model's kernel may use (the device kernel holds them in
/// registers; the kernel shape takes fewer grid points per invocation as they grow).
pub const MAX_MODEL_CONSTS: usize = 128;

/// Checks the split against what the engine evaluates: any number of features and constants
/// up to [`MAX_MODEL_FEATURES`] and [`MAX_MODEL_CONSTS`].
pub fn check_engine_limits(p: &Plan) -> Result<()> {
    if p.features.len() > MAX_MODEL_FEATURES {
        return Err(Error::input(format!(
            "the model's kernel needs {} per-sample features; at most {MAX_MODEL_FEATURES} are supported (write fewer distinct x-only sub-expressions)",
            p.features.len()
        )));
    }
    if p.consts.len() > MAX_MODEL_CONSTS {
        return Err(Error::input(format!(
            "the model's kernel needs {} constants per grid point; at most {MAX_MODEL_CONSTS} are supported",
            p.consts.len()
        )));
    }
    Ok(())
}
