//! The expression as a hash-consed DAG: every distinct sub-expression is one node, children
//! before parents (so node ids are a topological order). Nodes are simplified as they are built
//! (constant folding, neutral elements), and each knows whether it depends on x, on θ, both
//! (coupled) or neither (constant) — the classification the split is made of.

use num_traits::Float;
use std::collections::HashMap;

/// A node id: an index into [`Graph::nodes`].
pub type Id = u32;

/// One-argument functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op1 {
    Neg,
    Log,
    Exp,
    Sqrt,
    Abs,
    Log1p,
    Expm1,
    Lgamma,
    Erf,
    Erfc,
    Tanh,
    Floor,
    /// Boolean negation (operands and results are 0 or 1).
    Not,
}

/// Two-argument operators and functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op2 {
    Add,
    Sub,
    Mul,
    Div,
    /// aᵇ for a real exponent (a ≥ 0); integer exponents are [`N::PowI`].
    Pow,
    Min,
    Max,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

impl Op2 {
    /// Whether the operator compares two numbers (its result is boolean).
    pub fn is_cmp(self) -> bool {
        matches!(
            self,
            Op2::Lt | Op2::Le | Op2::Gt | Op2::Ge | Op2::Eq | Op2::Ne
        )
    }

    /// The comparison with its operands swapped (a < b ⇔ b > a).
    pub fn swapped(self) -> Op2 {
        match self {
            Op2::Lt => Op2::Gt,
            Op2::Le => Op2::Ge,
            Op2::Gt => Op2::Lt,
            Op2::Ge => Op2::Le,
            o => o,
        }
    }
}

/// A node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum N {
    /// A number (f64 bits, so that nodes hash).
    Num(u64),
    /// The sample.
    X,
    /// Parameter j.
    P(usize),
    U(Op1, Id),
    B(Op2, Id, Id),
    /// aⁿ for an integer n (any sign of a).
    PowI(Id, i32),
    /// `select(cond, a, b)`: a where cond holds, else b.
    Sel(Id, Id, Id),
    /// ln Σ exp(aᵢ), computed as m + ln Σ exp(aᵢ − m), m = max aᵢ.
    Lse(Vec<Id>),
    /// Kernel feature j (kernel graphs only): an x-only value computed on the host.
    F(usize),
    /// Kernel constant j (kernel graphs only): a θ-only value computed on the host.
    C(usize),
}

/// What a node depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Constant,
    /// θ only: computed on the host per grid point.
    Theta,
    /// x only: computed on the host per sample.
    Data,
    /// x and θ: the coupled kernel.
    Coupled,
}

impl Class {
    fn of(bits: u8) -> Class {
        match bits {
            0 => Class::Constant,
            1 => Class::Data,
            2 => Class::Theta,
            _ => Class::Coupled,
        }
    }
}

/// The DAG.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub nodes: Vec<N>,
    /// Bit 0: depends on x; bit 1: depends on θ.
    deps: Vec<u8>,
    index: HashMap<N, Id>,
}

/// f64 semantics of every operator, shared by the host evaluators (split and reference).
pub fn apply1(op: Op1, a: f64) -> f64 {
    match op {
        Op1::Neg => -a,
        Op1::Log => a.ln(),
        Op1::Exp => a.exp(),
        Op1::Sqrt => a.sqrt(),
        Op1::Abs => a.abs(),
        Op1::Log1p => a.ln_1p(),
        Op1::Expm1 => a.exp_m1(),
        Op1::Lgamma => lgamma64(a),
        Op1::Erf => libm::erf(a),
        Op1::Erfc => libm::erfc(a),
        Op1::Tanh => a.tanh(),
        Op1::Floor => a.floor(),
        Op1::Not => b2f(a == 0.0),
    }
}

/// ln |Γ(a)| in f64; +∞ at the poles (0, −1, −2, …).
pub fn lgamma64(a: f64) -> f64 {
    if a <= 0.0 && a.fract() == 0.0 {
        return f64::INFINITY;
    }
    libm::lgamma_r(a).0
}

fn b2f<T: Float>(b: bool) -> T {
    if b {
        T::one()
    } else {
        T::zero()
    }
}

/// Semantics of the two-argument operators (f64 on the host; f32 in the fast CPU path's
/// program, [`super::bytecode`]).
#[inline(always)]
pub fn apply2<T: Float>(op: Op2, a: T, b: T) -> T {
    let z = T::zero();
    match op {
        Op2::Add => a + b,
        Op2::Sub => a - b,
        Op2::Mul => a * b,
        Op2::Div => a / b,
        Op2::Pow => a.powf(b),
        Op2::Min => a.min(b),
        Op2::Max => a.max(b),
        Op2::Lt => b2f(a < b),
        Op2::Le => b2f(a <= b),
        Op2::Gt => b2f(a > b),
        Op2::Ge => b2f(a >= b),
        Op2::Eq => b2f(a == b),
        Op2::Ne => b2f(a != b),
        Op2::And => b2f(a != z && b != z),
        Op2::Or => b2f(a != z || b != z),
    }
}

/// ln Σ exp(aᵢ) = m + ln Σ exp(aᵢ − m), m = max aᵢ (−∞ when every aᵢ is −∞).
pub fn logsumexp(a: &[f64]) -> f64 {
    logsumexp_by(a.len(), |i| a[i])
}

/// [`logsumexp`] of the values `at(0)`, …, `at(n − 1)`, without collecting them.
pub fn logsumexp_by(n: usize, at: impl Fn(usize) -> f64) -> f64 {
    let m = (0..n).map(&at).fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY || !m.is_finite() {
        return m;
    }
    m + (0..n).map(|i| (at(i) - m).exp()).sum::<f64>().ln()
}

impl Graph {
    /// The node of `id`.
    pub fn node(&self, id: Id) -> &N {
        &self.nodes[id as usize]
    }

    /// The classification of `id`.
    pub fn class(&self, id: Id) -> Class {
        Class::of(self.deps[id as usize])
    }

    /// Whether `id` depends on x.
    pub fn has_x(&self, id: Id) -> bool {
        self.deps[id as usize] & 1 != 0
    }

    /// Whether `id` depends on θ.
    pub fn has_theta(&self, id: Id) -> bool {
        self.deps[id as usize] & 2 != 0
    }

    /// The value of a constant node.
    pub fn num_value(&self, id: Id) -> Option<f64> {
        match self.node(id) {
            N::Num(b) => Some(f64::from_bits(*b)),
            _ => None,
        }
    }

    /// The children of a node.
    pub fn children(&self, id: Id) -> Vec<Id> {
        match self.node(id) {
            N::Num(_) | N::X | N::P(_) | N::F(_) | N::C(_) => vec![],
            N::U(_, a) | N::PowI(a, _) => vec![*a],
            N::B(_, a, b) => vec![*a, *b],
            N::Sel(c, a, b) => vec![*c, *a, *b],
            N::Lse(v) => v.clone(),
        }
    }

    /// Kernel feature j.
    pub fn feat(&mut self, j: usize) -> Id {
        self.intern(N::F(j))
    }

    /// Kernel constant j.
    pub fn cst(&mut self, j: usize) -> Id {
        self.intern(N::C(j))
    }

    fn intern(&mut self, n: N) -> Id {
        if let Some(&id) = self.index.get(&n) {
            return id;
        }
        let deps = match &n {
            N::Num(_) => 0,
            N::X | N::F(_) => 1,
            N::P(_) | N::C(_) => 2,
            _ => self
                .children_of(&n)
                .iter()
                .fold(0, |d, &c| d | self.deps[c as usize]),
        };
        let id = self.nodes.len() as Id;
        self.nodes.push(n.clone());
        self.deps.push(deps);
        self.index.insert(n, id);
        id
    }

    fn children_of(&self, n: &N) -> Vec<Id> {
        match n {
            N::Num(_) | N::X | N::P(_) | N::F(_) | N::C(_) => vec![],
            N::U(_, a) | N::PowI(a, _) => vec![*a],
            N::B(_, a, b) => vec![*a, *b],
            N::Sel(c, a, b) => vec![*c, *a, *b],
            N::Lse(v) => v.clone(),
        }
    }

    /// A number.
    pub fn num(&mut self, v: f64) -> Id {
        // One zero: −0 and +0 are the same number here.
        let v = if v == 0.0 { 0.0 } else { v };
        self.intern(N::Num(v.to_bits()))
    }

    /// The sample x.
    pub fn x(&mut self) -> Id {
        self.intern(N::X)
    }

    /// Parameter j.
    pub fn param(&mut self, j: usize) -> Id {
        self.intern(N::P(j))
    }

    /// op(a), folded when a is a number.
    pub fn u(&mut self, op: Op1, a: Id) -> Id {
        if let Some(v) = self.num_value(a) {
            return self.num(apply1(op, v));
        }
        match (op, self.node(a).clone()) {
            (Op1::Neg, N::U(Op1::Neg, b)) => b,
            (Op1::Not, N::U(Op1::Not, b)) => b,
            _ => self.intern(N::U(op, a)),
        }
    }

    /// a op b, folded and simplified (neutral elements).
    #[allow(clippy::redundant_guards)]
    pub fn b(&mut self, op: Op2, a: Id, b: Id) -> Id {
        let (va, vb) = (self.num_value(a), self.num_value(b));
        if let (Some(x), Some(y)) = (va, vb) {
            return self.num(apply2(op, x, y));
        }
        match (op, va, vb) {
            (Op2::Add, Some(z), _) if z == 0.0 => return b,
            (Op2::Add | Op2::Sub, _, Some(z)) if z == 0.0 => return a,
            (Op2::Sub, Some(z), _) if z == 0.0 => return self.u(Op1::Neg, b),
            (Op2::Mul, Some(o), _) if o == 1.0 => return b,
            (Op2::Mul | Op2::Div, _, Some(o)) if o == 1.0 => return a,
            (Op2::Mul, Some(m), _) if m == -1.0 => return self.u(Op1::Neg, b),
            (Op2::Mul | Op2::Div, _, Some(m)) if m == -1.0 => return self.u(Op1::Neg, a),
            _ => {}
        }
        // a + (−b) = a − b, a − (−b) = a + b.
        if let N::U(Op1::Neg, nb) = *self.node(b) {
            match op {
                Op2::Add => return self.b(Op2::Sub, a, nb),
                Op2::Sub => return self.b(Op2::Add, a, nb),
                _ => {}
            }
        }
        self.intern(N::B(op, a, b))
    }

    /// aⁿ for an integer n.
    pub fn powi(&mut self, a: Id, n: i32) -> Id {
        if let Some(v) = self.num_value(a) {
            return self.num(v.powi(n));
        }
        match n {
            0 => self.num(1.0),
            1 => a,
            _ => self.intern(N::PowI(a, n)),
        }
    }

    /// `select(c, a, b)`, folded when c is a number or both branches are one node.
    pub fn sel(&mut self, c: Id, a: Id, b: Id) -> Id {
        if a == b {
            return a;
        }
        match self.num_value(c) {
            Some(v) if v != 0.0 => a,
            Some(_) => b,
            None => self.intern(N::Sel(c, a, b)),
        }
    }

    /// ln Σ exp(aᵢ).
    pub fn lse(&mut self, args: Vec<Id>) -> Id {
        if args.len() == 1 {
            return args[0];
        }
        if let Some(vs) = args
            .iter()
            .map(|&a| self.num_value(a))
            .collect::<Option<Vec<f64>>>()
        {
            return self.num(logsumexp(&vs));
        }
        self.intern(N::Lse(args))
    }

    /// Every node reachable from `roots`, ascending (a topological order).
    pub fn reachable(&self, roots: &[Id]) -> Vec<Id> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack: Vec<Id> = roots.to_vec();
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut seen[id as usize], true) {
                continue;
            }
            stack.extend(self.children(id));
        }
        (0..self.nodes.len() as Id)
            .filter(|&i| seen[i as usize])
            .collect()
    }

    /// Evaluates node `id` in f64 by a straight walk (small sub-expressions; the host paths use
    /// [`Program`]).
    pub fn eval(&self, id: Id, x: f64, theta: &[f64]) -> f64 {
        Program::new(self, &[id]).run1(x, theta)
    }

    /// The expression of `id` in the language, for `models check` (names of the parameters
    /// given).
    pub fn show(&self, id: Id, params: &[String]) -> String {
        self.show_with(id, &mut |_| None, params)
    }

    /// [`Graph::show`], with `leaf` naming some nodes (features and constants).
    pub fn show_with(
        &self,
        id: Id,
        leaf: &mut dyn FnMut(Id) -> Option<String>,
        params: &[String],
    ) -> String {
        if let Some(s) = leaf(id) {
            return s;
        }
        let mut s = |i: Id| self.show_with(i, leaf, params);
        match self.node(id).clone() {
            N::Num(b) => {
                let v = f64::from_bits(b);
                if v == f64::NEG_INFINITY {
                    "-inf".into()
                } else if v < 0.0 {
                    format!("({v})")
                } else {
                    format!("{v}")
                }
            }
            N::X => "x".into(),
            N::P(j) => params[j].clone(),
            N::F(j) => format!("f{j}"),
            N::C(j) => format!("c{j}"),
            N::U(Op1::Neg, a) => format!("-{}", s(a)),
            N::U(Op1::Not, a) => format!("!{}", s(a)),
            N::U(op, a) => format!("{}({})", op1_name(op), s(a)),
            N::B(op, a, b) => match op2_symbol(op) {
                Some(sym) => format!("({} {sym} {})", s(a), s(b)),
                None => format!("{}({}, {})", op2_name(op), s(a), s(b)),
            },
            N::PowI(a, n) => format!("{}^{n}", s(a)),
            N::Sel(c, a, b) => format!("select({}, {}, {})", s(c), s(a), s(b)),
            N::Lse(v) => format!(
                "logsumexp({})",
                v.iter().map(|&a| s(a)).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// The language's name of a one-argument function.
pub fn op1_name(op: Op1) -> &'static str {
    match op {
        Op1::Neg => "-",
        Op1::Log => "log",
        Op1::Exp => "exp",
        Op1::Sqrt => "sqrt",
        Op1::Abs => "abs",
        Op1::Log1p => "log1p",
        Op1::Expm1 => "expm1",
        Op1::Lgamma => "lgamma",
        Op1::Erf => "erf",
        Op1::Erfc => "erfc",
        Op1::Tanh => "tanh",
        Op1::Floor => "floor",
        Op1::Not => "!",
    }
}

fn op2_symbol(op: Op2) -> Option<&'static str> {
    Some(match op {
        Op2::Add => "+",
        Op2::Sub => "-",
        Op2::Mul => "*",
        Op2::Div => "/",
        Op2::Pow => "^",
        Op2::Lt => "<",
        Op2::Le => "<=",
        Op2::Gt => ">",
        Op2::Ge => ">=",
        Op2::Eq => "==",
        Op2::Ne => "!=",
        Op2::And => "&&",
        Op2::Or => "||",
        Op2::Min | Op2::Max => return None,
    })
}

fn op2_name(op: Op2) -> &'static str {
    match op {
        Op2::Min => "min",
        _ => "max",
    }
}

/// A straight-line f64 program computing some nodes of a graph: the reachable nodes in
/// topological order, each one instruction. Host-side evaluator of features (per sample),
/// constants and a(θ) (per grid point), and of the host-coupled terms.
#[derive(Debug, Clone)]
pub struct Program {
    ops: Vec<POp>,
    /// Slots of the roots, in the order given.
    roots: Vec<usize>,
}

#[derive(Debug, Clone)]
enum POp {
    Num(f64),
    X,
    P(usize),
    F(usize),
    C(usize),
    U(Op1, usize),
    B(Op2, usize, usize),
    PowI(usize, i32),
    Sel(usize, usize, usize),
    Lse(Vec<usize>),
}

impl Program {
    /// The program computing `roots`.
    pub fn new(g: &Graph, roots: &[Id]) -> Program {
        let order = g.reachable(roots);
        let slot: HashMap<Id, usize> = order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        let s = |i: &Id| slot[i];
        let ops = order
            .iter()
            .map(|&id| match g.node(id) {
                N::Num(b) => POp::Num(f64::from_bits(*b)),
                N::X => POp::X,
                N::P(j) => POp::P(*j),
                N::F(j) => POp::F(*j),
                N::C(j) => POp::C(*j),
                N::U(op, a) => POp::U(*op, s(a)),
                N::B(op, a, b) => POp::B(*op, s(a), s(b)),
                N::PowI(a, n) => POp::PowI(s(a), *n),
                N::Sel(c, a, b) => POp::Sel(s(c), s(a), s(b)),
                N::Lse(v) => POp::Lse(v.iter().map(s).collect()),
            })
            .collect();
        Program {
            ops,
            roots: roots.iter().map(s).collect(),
        }
    }

    /// Number of scratch slots [`Program::run`] needs.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the program is empty.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Runs the program; `out[k]` receives root k. `scratch` has [`Program::len`] slots.
    pub fn run(&self, x: f64, theta: &[f64], scratch: &mut [f64], out: &mut [f64]) {
        self.run_kernel(x, theta, &[], &[], scratch, out)
    }

    /// [`Program::run`] for kernel graphs, with the features `f` and constants `c`.
    pub fn run_kernel(
        &self,
        x: f64,
        theta: &[f64],
        f: &[f64],
        c: &[f64],
        scratch: &mut [f64],
        out: &mut [f64],
    ) {
        for i in 0..self.ops.len() {
            let v = match &self.ops[i] {
                POp::Num(v) => *v,
                POp::X => x,
                POp::P(j) => theta[*j],
                POp::F(j) => f[*j],
                POp::C(j) => c[*j],
                POp::U(op, a) => apply1(*op, scratch[*a]),
                POp::B(op, a, b) => apply2(*op, scratch[*a], scratch[*b]),
                POp::PowI(a, n) => scratch[*a].powi(*n),
                POp::Sel(c, a, b) => {
                    if scratch[*c] != 0.0 {
                        scratch[*a]
                    } else {
                        scratch[*b]
                    }
                }
                POp::Lse(v) => logsumexp_by(v.len(), |i| scratch[v[i]]),
            };
            scratch[i] = v;
        }
        for (o, &r) in out.iter_mut().zip(&self.roots) {
            *o = scratch[r];
        }
    }

    /// Runs a program of one root.
    pub fn run1(&self, x: f64, theta: &[f64]) -> f64 {
        let mut scratch = vec![0.0; self.ops.len()];
        let mut out = [0.0];
        self.run(x, theta, &mut scratch, &mut out);
        out[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_are_shared_folded_and_classified() {
        let mut g = Graph::default();
        let x = g.x();
        let mu = g.param(0);
        let d1 = g.b(Op2::Sub, x, mu);
        let d2 = g.b(Op2::Sub, x, mu);
        assert_eq!(d1, d2);
        let two = g.num(2.0);
        let three = g.num(3.0);
        let six = g.b(Op2::Mul, two, three);
        assert_eq!(g.num_value(six), Some(6.0));
        let zero = g.num(0.0);
        assert_eq!(g.b(Op2::Add, d1, zero), d1);
        assert_eq!(g.class(d1), Class::Coupled);
        assert_eq!(g.class(mu), Class::Theta);
        assert_eq!(g.class(x), Class::Data);
        assert_eq!(g.class(two), Class::Constant);
        let neg = g.u(Op1::Neg, mu);
        assert_eq!(g.u(Op1::Neg, neg), mu);
        assert_eq!(g.eval(d1, 5.0, &[1.5]), 3.5);
    }

    #[test]
    fn logsumexp_is_stable_far_in_the_tails() {
        assert!((logsumexp(&[-1000.0, -1000.0]) - (-1000.0 + 2f64.ln())).abs() < 1e-12);
        assert_eq!(logsumexp(&[f64::NEG_INFINITY, 1.0]), 1.0);
        assert_eq!(logsumexp(&[f64::NEG_INFINITY]), f64::NEG_INFINITY);
    }
}
