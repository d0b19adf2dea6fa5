//! The fast CPU path of a user model: its kernel graph compiled to a program of fused
//! instructions over lane tiles, implementing [`CoupledKernel`].
//!
//! **Layout.** A block of 64 grid points is run as two halves of 32 lanes (four AVX2 vectors,
//! `Vh`), over sub-tiles of `S` = 128 samples. A temporary holds one `Vh` per sample of the
//! sub-tile (16 KiB). Operands are temporaries (`T`, one value per sample and lane), kernel
//! constants and literals (`R`, one row per grid point, the same for every sample: loaded into
//! registers once per instruction and half), or features (`S`, one value per sample, broadcast
//! over the lanes).
//!
//! **Execution.** Each instruction is one loop over the sub-tile's samples with the 32 lanes of a
//! sample in its body, its own function monomorphised on the operator and, for the common operand
//! shapes, on the operand kinds (`exec`, `Isa`): the interpretation (a `match` per
//! instruction) is paid once per 128 samples × 32 lanes, and the body is straight-line vector code
//! with the rows in registers. (The previous register program stored every instruction's 512-lane
//! result and reloaded it in the next, and ran at 0.12× the built-in normal.)
//!
//! **Fusion.** A single-use sub-expression is folded into the instruction of its parent when
//! the pair has a fused form, so that its value stays in registers instead of going through a
//! temporary: (a ± b)² (`Inst::Sq`), (a ± b)²·c (`Inst::SqMul`), a·b ± c (`Inst::MulAdd`).
//! The instruction computing the kernel's value accumulates it in place (`Out::Acc`), so the
//! hand-written normal, ((f₀ − c₀)²·c₁), is a single instruction with nothing stored: the loop of
//! `Blocked<NormalKernel>`.
//!
//! **Numbers.** Every instruction applies, lane by lane, the same f32 operations in the same order
//! as a plain node-by-node interpretation of the kernel graph (the fused forms are only a
//! different schedule; operand swaps use the exactly reversed operator), and the accumulation is
//! that of `Blocked<K>` — tiles of 256 samples summed in f32 in sample order, then added to the f64
//! sums — so the sums are bitwise those of the plain interpretation, whichever loops run
//! (tested below). ln and exp are [`crate::numeric::vmath`]'s vectorisable ones; lgamma, erf,
//! erfc, log1p, expm1 and tanh the f32 twins of the WGSL library in [`super::special`].

use super::graph::{apply2, Graph, Id, Op1, Op2, Program, N};
use super::special;
use crate::model::kernel::BLOCK_POINTS;
use crate::model::CoupledKernel;
use crate::numeric::vmath;
use std::collections::HashMap;

const G: usize = BLOCK_POINTS;
/// Lanes (grid points) per half block.
const HALF: usize = 32;
const HALVES: usize = G / HALF;
/// Samples per sub-tile.
const S: usize = 128;
/// Samples summed in f32 before each f64 accumulation (as `Blocked<K>`).
const TILE: usize = 256;

/// One sample's values over the 32 lanes of a half.
type Vh = [f32; HALF];
/// A temporary: one [`Vh`] per sample of the sub-tile.
type Tmp = [Vh; S];

/// A two-operand operator, possibly on swapped operands (`rev`: the value is op(b, a)), so that
/// operands can be put in the kinds the fused loops are specialised on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bop {
    op: Op2,
    rev: bool,
}

impl Bop {
    fn of(op: Op2) -> Bop {
        Bop { op, rev: false }
    }

    const ADD: Bop = Bop {
        op: Op2::Add,
        rev: false,
    };
    const MUL: Bop = Bop {
        op: Op2::Mul,
        rev: false,
    };
    /// b − a.
    const RSUB: Bop = Bop {
        op: Op2::Sub,
        rev: true,
    };

    /// The operator r with r(b, a) = self(a, b) bit for bit, where one exists (min and max are
    /// left alone: which zero they return depends on the operand order).
    fn reversed(self) -> Option<Bop> {
        match self.op {
            Op2::Min | Op2::Max => None,
            Op2::Add | Op2::Mul | Op2::Eq | Op2::Ne | Op2::And | Op2::Or => Some(self),
            Op2::Lt | Op2::Le | Op2::Gt | Op2::Ge => Some(Bop::of(self.op.swapped())),
            Op2::Sub | Op2::Div | Op2::Pow => Some(Bop {
                op: self.op,
                rev: !self.rev,
            }),
        }
    }
}

/// f32 semantics of a two-operand operator (the host's, [`apply2`], in f32).
#[inline(always)]
fn bop(o: Bop, x: f32, y: f32) -> f32 {
    if o.rev {
        apply2(o.op, y, x)
    } else {
        apply2(o.op, x, y)
    }
}

/// One-operand operations.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Uop {
    F(Op1),
    PowI(i32),
    /// The operand itself (a kernel value that is an operand, or a root used twice).
    Id,
}

/// f32 semantics of a one-operand function.
#[inline(always)]
fn op1(op: Op1, a: f32) -> f32 {
    match op {
        Op1::Neg => -a,
        Op1::Log => vmath::ln(a),
        Op1::Exp => vmath::exp(a),
        Op1::Sqrt => a.sqrt(),
        Op1::Abs => a.abs(),
        Op1::Log1p => special::log1p(a),
        Op1::Expm1 => special::expm1(a),
        Op1::Lgamma => special::lgamma(a),
        Op1::Erf => special::erf(a),
        Op1::Erfc => special::erfc(a),
        Op1::Tanh => special::tanh(a),
        Op1::Floor => a.floor(),
        Op1::Not => apply2(Op2::Eq, a, 0.0),
    }
}

/// aⁿ: a·a, (a·a)·a and (a·a)·(a·a) for n = 2, 3, 4, else binary powering (1/aⁿ for n < 0).
#[inline(always)]
fn powi(a: f32, n: i32) -> f32 {
    match n {
        2 => return a * a,
        3 => return a * a * a,
        4 => {
            let t = a * a;
            return t * t;
        }
        _ => {}
    }
    let mut k = n.unsigned_abs();
    let (mut base, mut r) = (a, 1.0f32);
    while k > 0 {
        if k & 1 == 1 {
            r *= base;
        }
        base *= base;
        k >>= 1;
    }
    if n < 0 {
        1.0 / r
    } else {
        r
    }
}

/// `select(c, a, b)`.
#[inline(always)]
fn sel(c: f32, a: f32, b: f32) -> f32 {
    if c != 0.0 {
        a
    } else {
        b
    }
}

/// ln(eᵃ + eᵇ) = max(a, b) + ln(1 + e^(−|a − b|)).
#[inline(always)]
fn lse2(a: f32, b: f32) -> f32 {
    a.max(b) + vmath::ln_1p_exp_neg((a - b).abs())
}

/// An operand of an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    /// A temporary.
    T(u16),
    /// A constant row: the kernel constants, then the literals.
    R(u16),
    /// A feature.
    S(u16),
}

impl Arg {
    /// Order of the kinds in the specialised operand pairs (T, T), (T, S), (T, R), (S, R).
    fn rank(self) -> u8 {
        match self {
            Arg::T(_) => 0,
            Arg::S(_) => 1,
            Arg::R(_) => 2,
        }
    }
}

/// Where an instruction's value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dst {
    T(u16),
    /// Added to the kernel sums.
    Acc,
    /// Counted as outside the support where it is 0.
    Count,
}

#[derive(Debug, Clone, PartialEq)]
enum Inst {
    Bin(Bop, Arg, Arg, Dst),
    Un(Uop, Arg, Dst),
    /// (a op b)² for op = +, −, reversed −.
    Sq(Bop, Arg, Arg, Dst),
    /// (a op b)²·c.
    SqMul(Bop, Arg, Arg, Arg, Dst),
    /// (a·b) op c for op = +, −, reversed − (c − a·b).
    MulAdd(Bop, Arg, Arg, Arg, Dst),
    Sel(Arg, Arg, Arg, Dst),
    Lse(Vec<Arg>, Dst),
}

/// How a node of the kernel graph is computed.
#[derive(Debug, Clone)]
enum Plan {
    /// An operand (feature, constant, literal): no instruction.
    Leaf(Arg),
    /// Folded into its (only) parent's instruction.
    Fused,
    /// One instruction; operands as node ids.
    Bin(Bop, Id, Id),
    Un(Uop, Id),
    Sq(Bop, Id, Id),
    SqMul(Bop, Id, Id, Id),
    MulAdd(Bop, Id, Id, Id),
    Sel(Id, Id, Id),
    Lse(Vec<Id>),
}

impl Plan {
    fn operands(&self) -> Vec<Id> {
        match self {
            Plan::Leaf(_) | Plan::Fused => vec![],
            Plan::Un(_, a) => vec![*a],
            Plan::Bin(_, a, b) | Plan::Sq(_, a, b) => vec![*a, *b],
            Plan::SqMul(_, a, b, c) | Plan::MulAdd(_, a, b, c) | Plan::Sel(a, b, c) => {
                vec![*a, *b, *c]
            }
            Plan::Lse(v) => v.clone(),
        }
    }
}

/// (op, a, b) with the operands in the order of [`Arg::rank`] where the operator can be reversed
/// exactly.
fn canon(op: Bop, a: Arg, b: Arg) -> (Bop, Arg, Arg) {
    match op.reversed() {
        Some(r) if a.rank() > b.rank() => (r, b, a),
        _ => (op, a, b),
    }
}

/// A compiled kernel.
pub struct RegisterKernel {
    nf: usize,
    nc: usize,
    lits: Vec<f32>,
    insts: Vec<Inst>,
    n_temps: usize,
    theta_support: bool,
    /// f64 evaluation of the same kernel graph (host side).
    k64: Program,
    inside64: Option<Program>,
}

impl RegisterKernel {
    /// Compiles the kernel `kernel` (and the support condition `inside`) of graph `k`.
    pub fn new(k: &Graph, kernel: Id, inside: Option<Id>, nf: usize, nc: usize) -> Self {
        let mut roots = vec![kernel];
        roots.extend(inside);
        let order = k.reachable(&roots);
        let mut uses: HashMap<Id, usize> = HashMap::new();
        for &n in &order {
            for c in k.children(n) {
                *uses.entry(c).or_default() += 1;
            }
        }
        for &r in &roots {
            *uses.entry(r).or_default() += 1;
        }
        // Leaves.
        let mut lits: Vec<f32> = Vec::new();
        let mut plan: HashMap<Id, Plan> = HashMap::new();
        for &n in &order {
            let leaf = match k.node(n) {
                N::F(j) => Arg::S(*j as u16),
                N::C(j) => Arg::R(*j as u16),
                N::Num(b) => {
                    let v = f64::from_bits(*b) as f32;
                    let j = lits
                        .iter()
                        .position(|&l| l.to_bits() == v.to_bits())
                        .unwrap_or_else(|| {
                            lits.push(v);
                            lits.len() - 1
                        });
                    Arg::R((nc + j) as u16)
                }
                _ => continue,
            };
            plan.insert(n, Plan::Leaf(leaf));
        }
        // Instructions, parents first, folding single-use children into fused forms.
        let fusable = |n: Id, plan: &HashMap<Id, Plan>| uses[&n] == 1 && !plan.contains_key(&n);
        for &n in order.iter().rev() {
            if plan.contains_key(&n) {
                continue;
            }
            let add_sub = |id: Id| match k.node(id) {
                N::B(op @ (Op2::Add | Op2::Sub), a, b) => Some((Bop::of(*op), *a, *b)),
                _ => None,
            };
            // (a ± b)² with the ± node folded in.
            let square = |id: Id, plan: &HashMap<Id, Plan>| match k.node(id) {
                N::PowI(q, 2) if fusable(*q, plan) => add_sub(*q).map(|s| (*q, s)),
                _ => None,
            };
            let mut fused = Vec::new();
            let p = match k.node(n).clone() {
                N::B(Op2::Mul, x, y) => {
                    let sq = [(x, y), (y, x)].into_iter().find_map(|(s, c)| {
                        if !fusable(s, &plan) {
                            return None;
                        }
                        square(s, &plan).map(|(q, t)| (s, q, t, c))
                    });
                    match sq {
                        Some((s, q, (op, a, b), c)) => {
                            fused.extend([s, q]);
                            Plan::SqMul(op, a, b, c)
                        }
                        None => Plan::Bin(Bop::MUL, x, y),
                    }
                }
                N::B(op @ (Op2::Add | Op2::Sub), x, y) => {
                    let mul = |id: Id| match k.node(id) {
                        N::B(Op2::Mul, a, b) if fusable(id, &plan) => Some((*a, *b)),
                        _ => None,
                    };
                    if let Some((a, b)) = mul(x) {
                        fused.push(x);
                        Plan::MulAdd(Bop::of(op), a, b, y)
                    } else if let Some((a, b)) = mul(y) {
                        fused.push(y);
                        let op = if op == Op2::Add { Bop::ADD } else { Bop::RSUB };
                        Plan::MulAdd(op, a, b, x)
                    } else {
                        Plan::Bin(Bop::of(op), x, y)
                    }
                }
                N::PowI(q, 2) => match add_sub(q) {
                    Some((op, a, b)) if fusable(q, &plan) => {
                        fused.push(q);
                        Plan::Sq(op, a, b)
                    }
                    _ => Plan::Un(Uop::PowI(2), q),
                },
                N::B(op, a, b) => Plan::Bin(Bop::of(op), a, b),
                N::U(op, a) => Plan::Un(Uop::F(op), a),
                N::PowI(a, p) => Plan::Un(Uop::PowI(p), a),
                N::Sel(c, a, b) => Plan::Sel(c, a, b),
                N::Lse(v) => Plan::Lse(v),
                N::X | N::P(_) | N::F(_) | N::C(_) | N::Num(_) => {
                    unreachable!("leaves are planned above")
                }
            };
            for f in fused {
                plan.insert(f, Plan::Fused);
            }
            plan.insert(n, p);
        }
        // The instructions in topological order, with temporaries reused after their last use.
        let emitted: Vec<Id> = order
            .iter()
            .copied()
            .filter(|n| !matches!(plan[n], Plan::Leaf(_) | Plan::Fused))
            .collect();
        let mut last: HashMap<Id, usize> = HashMap::new();
        for (i, n) in emitted.iter().enumerate() {
            for o in plan[n].operands() {
                last.insert(o, i);
            }
        }
        let mut args: HashMap<Id, Arg> = plan
            .iter()
            .filter_map(|(n, p)| match p {
                Plan::Leaf(a) => Some((*n, *a)),
                _ => None,
            })
            .collect();
        let mut free: Vec<u16> = Vec::new();
        let mut n_temps = 0usize;
        let mut insts = Vec::new();
        for (i, &n) in emitted.iter().enumerate() {
            // A root whose only use is being the root goes straight to its destination.
            let direct = if uses[&n] == 1 && n == kernel {
                Some(Dst::Acc)
            } else if uses[&n] == 1 && Some(n) == inside {
                Some(Dst::Count)
            } else {
                None
            };
            let dst = direct.unwrap_or_else(|| {
                Dst::T(free.pop().unwrap_or_else(|| {
                    n_temps += 1;
                    (n_temps - 1) as u16
                }))
            });
            let p = &plan[&n];
            // Release the temporaries of operands used for the last time (after the destination
            // was taken, which therefore never aliases an operand).
            for o in p.operands() {
                if last.get(&o) == Some(&i) && !roots.contains(&o) {
                    if let Some(Arg::T(t)) = args.get(&o) {
                        if !free.contains(t) {
                            free.push(*t);
                        }
                    }
                }
            }
            let a = |id: &Id| args[id];
            insts.push(match p {
                Plan::Bin(op, x, y) => {
                    let (op, x, y) = canon(*op, a(x), a(y));
                    Inst::Bin(op, x, y, dst)
                }
                Plan::Un(op, x) => Inst::Un(*op, a(x), dst),
                Plan::Sq(op, x, y) => {
                    let (op, x, y) = canon(*op, a(x), a(y));
                    Inst::Sq(op, x, y, dst)
                }
                Plan::SqMul(op, x, y, z) => {
                    let (op, x, y) = canon(*op, a(x), a(y));
                    Inst::SqMul(op, x, y, a(z), dst)
                }
                Plan::MulAdd(op, x, y, z) => {
                    let (_, x, y) = canon(Bop::MUL, a(x), a(y));
                    Inst::MulAdd(*op, x, y, a(z), dst)
                }
                Plan::Sel(c, x, y) => Inst::Sel(a(c), a(x), a(y), dst),
                Plan::Lse(v) => Inst::Lse(v.iter().map(a).collect(), dst),
                Plan::Leaf(_) | Plan::Fused => unreachable!("not emitted"),
            });
            if let Dst::T(t) = dst {
                args.insert(n, Arg::T(t));
            }
        }
        // Roots that are operands, or whose value is also used elsewhere.
        for (root, d) in [(Some(kernel), Dst::Acc), (inside, Dst::Count)] {
            let Some(r) = root else { continue };
            if !insts.iter().any(|i| inst_dst(i) == d) {
                insts.push(Inst::Un(Uop::Id, args[&r], d));
            }
        }
        RegisterKernel {
            nf,
            nc,
            lits,
            insts,
            n_temps,
            theta_support: inside.is_some(),
            k64: Program::new(k, &[kernel]),
            inside64: inside.map(|i| Program::new(k, &[i])),
        }
    }

    /// Number of instructions (for `models check`).
    pub fn len(&self) -> usize {
        self.insts.len()
    }

    /// Whether the program has no instruction (never: the value is at least accumulated).
    pub fn is_empty(&self) -> bool {
        self.insts.is_empty()
    }
}

fn inst_dst(i: &Inst) -> Dst {
    match i {
        Inst::Bin(.., d)
        | Inst::Un(.., d)
        | Inst::Sq(.., d)
        | Inst::SqMul(.., d)
        | Inst::MulAdd(.., d)
        | Inst::Sel(.., d)
        | Inst::Lse(_, d) => *d,
    }
}

/// An operand source over a sub-tile: its value at sample s, over the 32 lanes of the half.
trait Src: Copy {
    fn get(&self, s: usize) -> Vh;
}

/// A constant row, loaded once (registers).
#[derive(Clone, Copy)]
struct RowSrc(Vh);

impl Src for RowSrc {
    #[inline(always)]
    fn get(&self, _s: usize) -> Vh {
        self.0
    }
}

/// A temporary.
#[derive(Clone, Copy)]
struct TmpSrc<'a>(&'a Tmp);

impl Src for TmpSrc<'_> {
    #[inline(always)]
    fn get(&self, s: usize) -> Vh {
        self.0[s]
    }
}

/// A feature, broadcast over the lanes.
#[derive(Clone, Copy)]
struct FeatSrc<'a>(&'a [f32; S]);

impl Src for FeatSrc<'_> {
    #[inline(always)]
    fn get(&self, s: usize) -> Vh {
        [self.0[s]; HALF]
    }
}

/// Any operand, its kind decided at run time (the operand shapes that have no specialised loop).
#[derive(Clone, Copy)]
enum AnySrc<'a> {
    Row(Vh),
    Tmp(&'a Tmp),
    Feat(&'a [f32; S]),
}

impl Src for AnySrc<'_> {
    #[inline(always)]
    fn get(&self, s: usize) -> Vh {
        match self {
            AnySrc::Row(r) => *r,
            AnySrc::Tmp(t) => t[s],
            AnySrc::Feat(f) => [f[s]; HALF],
        }
    }
}

/// No operand (unused third operand).
#[derive(Clone, Copy)]
struct NoSrc;

impl Src for NoSrc {
    #[inline(always)]
    fn get(&self, _s: usize) -> Vh {
        [0.0; HALF]
    }
}

/// The operands of one half of a sub-tile.
struct Frame<'a> {
    temps: &'a [Box<Tmp>],
    /// rows[j][h]: constant row j on half h.
    rows: &'a [[Vh; HALVES]],
    feats: &'a [[f32; S]],
    h: usize,
}

impl<'a> Frame<'a> {
    #[inline(always)]
    fn tmp(&self, i: u16) -> TmpSrc<'a> {
        TmpSrc(&self.temps[i as usize])
    }
    #[inline(always)]
    fn row(&self, j: u16) -> RowSrc {
        RowSrc(self.rows[j as usize][self.h])
    }
    #[inline(always)]
    fn feat(&self, j: u16) -> FeatSrc<'a> {
        FeatSrc(&self.feats[j as usize])
    }
    #[inline(always)]
    fn any(&self, a: Arg) -> AnySrc<'a> {
        match a {
            Arg::T(i) => AnySrc::Tmp(&self.temps[i as usize]),
            Arg::R(j) => AnySrc::Row(self.rows[j as usize][self.h]),
            Arg::S(j) => AnySrc::Feat(&self.feats[j as usize]),
        }
    }
}

/// Where a loop's values go.
enum Out<'a> {
    T(&'a mut Tmp),
    Acc(&'a mut Vh),
    Count(&'a mut [u32; HALF]),
}

/// An instruction's values over a sub-tile (a trait rather than a closure, so that its body is
/// always inlined into the loops of [`deliver`]).
trait Elem {
    /// The value at sample s.
    fn at(&self, s: usize) -> Vh;
}

/// Delivers `e.at(s)` for the first `ns` samples of a sub-tile: stored, accumulated in sample
/// order, or counted where 0.
#[inline(always)]
fn deliver(out: Out<'_>, ns: usize, e: &impl Elem) {
    let ns = ns.min(S);
    match out {
        Out::T(t) => {
            for (s, d) in t.iter_mut().enumerate().take(ns) {
                *d = e.at(s);
            }
        }
        Out::Acc(acc) => {
            let mut ac = *acc;
            for s in 0..ns {
                let v = e.at(s);
                for i in 0..HALF {
                    ac[i] += v[i];
                }
            }
            *acc = ac;
        }
        Out::Count(cnt) => {
            let mut ct = *cnt;
            for s in 0..ns {
                let v = e.at(s);
                for i in 0..HALF {
                    ct[i] += (v[i] == 0.0) as u32;
                }
            }
            *cnt = ct;
        }
    }
}

/// f lane by lane on three operands.
struct Lanes<A, B, D, F>(A, B, D, F);

impl<A: Src, B: Src, D: Src, F: Fn(f32, f32, f32) -> f32> Elem for Lanes<A, B, D, F> {
    #[inline(always)]
    fn at(&self, s: usize) -> Vh {
        let (x, y, z) = (self.0.get(s), self.1.get(s), self.2.get(s));
        let mut r = [0f32; HALF];
        for i in 0..HALF {
            r[i] = (self.3)(x[i], y[i], z[i]);
        }
        r
    }
}

/// The instruction set the loops are compiled for: each instruction's loop is its own function
/// ([`deliver`] monomorphised on the operator and operand kinds), compiled for AVX2 + FMA where
/// present, else portable.
trait Isa: Copy {
    fn deliver<E: Elem>(self, out: Out<'_>, ns: usize, e: &E);
}

/// Baseline code (any CPU).
#[derive(Clone, Copy)]
struct Portable;

impl Isa for Portable {
    #[inline(never)]
    fn deliver<E: Elem>(self, out: Out<'_>, ns: usize, e: &E) {
        deliver(out, ns, e)
    }
}

/// AVX2 + FMA; a value exists only where the CPU supports both ([`Avx2::detect`]).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Avx2(());

#[cfg(target_arch = "x86_64")]
impl Avx2 {
    fn detect() -> Option<Avx2> {
        (std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"))
            .then_some(Avx2(()))
    }
}

#[cfg(target_arch = "x86_64")]
impl Isa for Avx2 {
    #[inline(always)]
    fn deliver<E: Elem>(self, out: Out<'_>, ns: usize, e: &E) {
        // SAFETY: an `Avx2` exists only where the CPU supports AVX2 and FMA.
        unsafe { deliver_avx2(out, ns, e) }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn deliver_avx2<E: Elem>(out: Out<'_>, ns: usize, e: &E) {
    deliver(out, ns, e)
}

/// The loop of one instruction: f lane by lane on the operands' values.
#[inline(always)]
fn exec<I: Isa, A: Src, B: Src, D: Src>(
    isa: I,
    a: A,
    b: B,
    c: D,
    out: Out<'_>,
    ns: usize,
    f: impl Fn(f32, f32, f32) -> f32,
) {
    isa.deliver(out, ns, &Lanes(a, b, c, f))
}

/// Binds `$x`, `$y` to the sources of operands `$a`, `$b` — specialised types for the pairs
/// (T, T), (T, S), (T, R), (S, R), a run-time source for any other — and evaluates `$body`.
macro_rules! srcs2 {
    ($fr:expr, $a:expr, $b:expr, |$x:ident, $y:ident| $body:expr) => {
        match ($a, $b) {
            (Arg::T(i), Arg::T(j)) => {
                let ($x, $y) = ($fr.tmp(i), $fr.tmp(j));
                $body
            }
            (Arg::T(i), Arg::S(j)) => {
                let ($x, $y) = ($fr.tmp(i), $fr.feat(j));
                $body
            }
            (Arg::T(i), Arg::R(j)) => {
                let ($x, $y) = ($fr.tmp(i), $fr.row(j));
                $body
            }
            (Arg::S(i), Arg::R(j)) => {
                let ($x, $y) = ($fr.feat(i), $fr.row(j));
                $body
            }
            (a, b) => {
                let ($x, $y) = ($fr.any(a), $fr.any(b));
                $body
            }
        }
    };
}

/// Binds `$z` to the source of a third operand: a temporary or a row (specialised), or any.
macro_rules! src3 {
    ($fr:expr, $c:expr, |$z:ident| $body:expr) => {
        match $c {
            Arg::T(i) => {
                let $z = $fr.tmp(i);
                $body
            }
            Arg::R(j) => {
                let $z = $fr.row(j);
                $body
            }
            c => {
                let $z = $fr.any(c);
                $body
            }
        }
    };
}

/// Binds `$o` to the constant operator `$op`, one of those listed (`Sub rev`: reversed), as a
/// closure, and evaluates `$body` once per operator (monomorphised).
macro_rules! ops {
    ($op:expr; $($v:ident $r:literal),*; |$o:ident| $body:expr) => {
        match ($op.op, $op.rev) {
            $((Op2::$v, $r) => {
                let $o = |x, y| bop(Bop { op: Op2::$v, rev: $r }, x, y);
                $body
            })*
            _ => unreachable!("operator {:?} not in this form", $op),
        }
    };
}

/// The loop of a one-operand instruction, monomorphised on the function.
#[inline(always)]
fn unary<I: Isa, A: Src>(isa: I, op: Uop, x: A, out: Out<'_>, ns: usize) {
    macro_rules! functions {
        ($($v:ident),*) => {
            match op {
                $(Uop::F(Op1::$v) => exec(isa, x, NoSrc, NoSrc, out, ns, |p, _, _| op1(Op1::$v, p)),)*
                Uop::PowI(2) => exec(isa, x, NoSrc, NoSrc, out, ns, |p, _, _| p * p),
                Uop::PowI(n) => exec(isa, x, NoSrc, NoSrc, out, ns, |p, _, _| powi(p, n)),
                Uop::Id => exec(isa, x, NoSrc, NoSrc, out, ns, |p, _, _| p),
            }
        };
    }
    functions!(Neg, Log, Exp, Sqrt, Abs, Log1p, Expm1, Lgamma, Erf, Erfc, Tanh, Floor, Not)
}

/// Runs one instruction on one half of a sub-tile.
#[inline(never)]
fn step<I: Isa>(isa: I, inst: &Inst, fr: &Frame<'_>, out: Out<'_>, ns: usize) {
    match inst {
        Inst::Bin(op, a, b, _) => match (op.op, op.rev) {
            (Op2::Add | Op2::Sub | Op2::Mul | Op2::Div, _) => {
                ops!(*op; Add false, Sub false, Sub true, Mul false, Div false, Div true; |o| {
                    srcs2!(fr, *a, *b, |x, y| exec(isa, x, y, NoSrc, out, ns, |p, q, _| o(p, q)))
                })
            }
            _ => {
                let (x, y) = (fr.any(*a), fr.any(*b));
                ops!(*op; Pow false, Pow true, Min false, Max false, Lt false, Le false, Gt false,
                    Ge false, Eq false, Ne false, And false, Or false; |o| {
                    exec(isa, x, y, NoSrc, out, ns, |p, q, _| o(p, q))
                })
            }
        },
        Inst::Un(op, a, _) => match *a {
            Arg::T(i) => unary(isa, *op, fr.tmp(i), out, ns),
            a => unary(isa, *op, fr.any(a), out, ns),
        },
        Inst::Sq(op, a, b, _) => {
            ops!(*op; Add false, Sub false, Sub true; |o| srcs2!(fr, *a, *b, |x, y| exec(
                isa,
                x,
                y,
                NoSrc,
                out,
                ns,
                |p, q, _| {
                    let t = o(p, q);
                    t * t
                }
            )))
        }
        Inst::SqMul(op, a, b, c, _) => {
            ops!(*op; Add false, Sub false, Sub true; |o| srcs2!(fr, *a, *b, |x, y| src3!(
                fr,
                *c,
                |z| exec(isa, x, y, z, out, ns, |p, q, r| {
                    let t = o(p, q);
                    t * t * r
                })
            )))
        }
        Inst::MulAdd(op, a, b, c, _) => {
            ops!(*op; Add false, Sub false, Sub true; |o| srcs2!(fr, *a, *b, |x, y| src3!(
                fr,
                *c,
                |z| exec(isa, x, y, z, out, ns, |p, q, r| o(p * q, r))
            )))
        }
        Inst::Sel(c, a, b, _) => exec(isa, fr.any(*c), fr.any(*a), fr.any(*b), out, ns, sel),
        Inst::Lse(v, _) => {
            if let [a, b] = v[..] {
                exec(isa, fr.any(a), fr.any(b), NoSrc, out, ns, |p, q, _| {
                    lse2(p, q)
                });
            } else {
                let v: Vec<AnySrc<'_>> = v.iter().map(|&a| fr.any(a)).collect();
                isa.deliver(out, ns, &LseN(&v));
            }
        }
    }
}

/// ln Σ exp(vᵢ) of three or more operands: m + ln Σ e^(vᵢ − m), m = max vᵢ.
struct LseN<'a, 'b>(&'b [AnySrc<'a>]);

impl Elem for LseN<'_, '_> {
    #[inline(always)]
    fn at(&self, s: usize) -> Vh {
        let mut mx = [f32::NEG_INFINITY; HALF];
        for a in self.0 {
            let x = a.get(s);
            for i in 0..HALF {
                mx[i] = mx[i].max(x[i]);
            }
        }
        let mut sum = [0f32; HALF];
        for a in self.0 {
            let x = a.get(s);
            for i in 0..HALF {
                sum[i] += vmath::exp(x[i] - mx[i]);
            }
        }
        let mut r = [0f32; HALF];
        for i in 0..HALF {
            r[i] = mx[i] + vmath::ln(sum[i]);
        }
        r
    }
}

/// Scratch of one [`RegisterKernel::sum_block`] call.
struct Scratch {
    temps: Vec<Box<Tmp>>,
    /// Taken out for the destination of the running instruction.
    spare: Box<Tmp>,
}

thread_local! {
    /// The f64 programs' per-node values, kept per thread: the reference paths call a program
    /// once per sample per grid point, too often to allocate for each call.
    static SCRATCH: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` on a scratch slice of `len` values (every node is written before it is read, so
/// the slice is not cleared). Not re-entrant: `f` must not run another program through it.
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f64]) -> R) -> R {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < len {
            s.resize(len, 0.0);
        }
        f(&mut s[..len])
    })
}

impl CoupledKernel for RegisterKernel {
    fn n_features(&self) -> usize {
        self.nf
    }
    fn n_consts(&self) -> usize {
        self.nc
    }
    fn theta_dependent_support(&self) -> bool {
        self.theta_support
    }
    fn k64(&self, f: &[f64], c: &[f64]) -> f64 {
        let mut out = [0.0];
        with_scratch(self.k64.len(), |scratch| {
            self.k64.run_kernel(0.0, &[], f, c, scratch, &mut out)
        });
        out[0]
    }
    fn outside64(&self, f: &[f64], c: &[f64]) -> bool {
        let Some(p) = &self.inside64 else {
            return false;
        };
        let mut out = [0.0];
        with_scratch(p.len(), |scratch| {
            p.run_kernel(0.0, &[], f, c, scratch, &mut out)
        });
        out[0] == 0.0
    }
    fn sum_block(&self, feats: &[f32], consts: &[f32], sums: &mut [f64], outside: &mut [u64]) {
        // Both compute bitwise the same values (lane-wise f32 operations, vmath's fused
        // multiply-adds single-rounded everywhere). AVX-512 machines run the AVX2 loops.
        #[cfg(target_arch = "x86_64")]
        if let Some(isa) = Avx2::detect() {
            return self.sum_block_impl(isa, feats, consts, sums, outside);
        }
        self.sum_block_impl(Portable, feats, consts, sums, outside)
    }
}

impl RegisterKernel {
    /// The blocked loop: sub-tiles of S samples through the program, half block by half block,
    /// accumulated per grid point in f32 in sample order over tiles of 256 samples, then into
    /// the f64 sums.
    fn sum_block_impl<I: Isa>(
        &self,
        isa: I,
        feats: &[f32],
        consts: &[f32],
        sums: &mut [f64],
        outside: &mut [u64],
    ) {
        let nf = self.nf.max(1);
        // Constant rows (the kernel constants, then the literals), per half.
        let n_rows = self.nc + self.lits.len();
        let mut rows = vec![[[0f32; HALF]; HALVES]; n_rows];
        for (j, row) in rows.iter_mut().enumerate() {
            for g in 0..G {
                row[g / HALF][g % HALF] = if j < self.nc {
                    consts[j * G + g]
                } else {
                    self.lits[j - self.nc]
                };
            }
        }
        let mut sc = Scratch {
            temps: (0..self.n_temps)
                .map(|_| Box::new([[0f32; HALF]; S]))
                .collect(),
            spare: Box::new([[0f32; HALF]; S]),
        };
        let mut fsub = vec![[0f32; S]; self.nf];
        let mut cnt = [[0u32; HALF]; HALVES];
        for tile in feats.chunks(TILE * nf) {
            let mut acc = [[0f32; HALF]; HALVES];
            for sub in tile.chunks(S * nf) {
                let ns = sub.len() / nf;
                // Feature-major: a full sub-tile of one feature is used in place.
                let fv: &[[f32; S]] = match <&[f32; S]>::try_from(sub) {
                    Ok(f) if self.nf == 1 => std::slice::from_ref(f),
                    _ => {
                        for (s, f) in sub.chunks_exact(nf).enumerate() {
                            for (j, v) in f.iter().enumerate().take(self.nf) {
                                fsub[j][s] = *v;
                            }
                        }
                        &fsub
                    }
                };
                for h in 0..HALVES {
                    for inst in &self.insts {
                        let d = inst_dst(inst);
                        if let Dst::T(t) = d {
                            std::mem::swap(&mut sc.temps[t as usize], &mut sc.spare);
                        }
                        let fr = Frame {
                            temps: &sc.temps,
                            rows: &rows,
                            feats: fv,
                            h,
                        };
                        let out = match d {
                            Dst::T(_) => Out::T(&mut sc.spare),
                            Dst::Acc => Out::Acc(&mut acc[h]),
                            Dst::Count => Out::Count(&mut cnt[h]),
                        };
                        step(isa, inst, &fr, out, ns);
                        if let Dst::T(t) = d {
                            std::mem::swap(&mut sc.temps[t as usize], &mut sc.spare);
                        }
                    }
                }
            }
            for (s, a) in sums.chunks_exact_mut(HALF).zip(&acc) {
                for (s, a) in s.iter_mut().zip(a) {
                    *s += *a as f64;
                }
            }
            if self.theta_support {
                for (o, c) in outside.chunks_exact_mut(HALF).zip(&mut cnt) {
                    for (o, c) in o.iter_mut().zip(c.iter_mut()) {
                        *o += *c as u64;
                        *c = 0;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain node-by-node f32 interpretation of the kernel graph, one (sample, grid point) at a
    /// time, accumulated as `Blocked<K>` does (tiles of 256 samples in f32, then f64): the
    /// reference the fused program must equal bit for bit.
    fn plain_sums(
        k: &Graph,
        kernel: Id,
        inside: Option<Id>,
        nf: usize,
        feats: &[f32],
        consts: &[f32],
    ) -> (Vec<f64>, Vec<u64>) {
        let mut roots = vec![kernel];
        roots.extend(inside);
        let order = k.reachable(&roots);
        let mut v = vec![0f32; k.nodes.len()];
        let (mut sums, mut outside) = (vec![0f64; G], vec![0u64; G]);
        for tile in feats.chunks(TILE * nf) {
            let mut acc = [0f32; G];
            for f in tile.chunks_exact(nf) {
                for g in 0..G {
                    for &n in &order {
                        let a = |i: Id| v[i as usize];
                        v[n as usize] = match k.node(n) {
                            N::F(j) => f[*j],
                            N::C(j) => consts[j * G + g],
                            N::Num(b) => f64::from_bits(*b) as f32,
                            N::U(op, x) => op1(*op, a(*x)),
                            N::B(op, x, y) => bop(Bop::of(*op), a(*x), a(*y)),
                            N::PowI(x, p) => powi(a(*x), *p),
                            N::Sel(c, x, y) => sel(a(*c), a(*x), a(*y)),
                            N::Lse(args) if args.len() == 2 => lse2(a(args[0]), a(args[1])),
                            N::Lse(args) => {
                                let m = args.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(a(x)));
                                let s = args.iter().fold(0f32, |s, &x| s + vmath::exp(a(x) - m));
                                m + vmath::ln(s)
                            }
                            N::X | N::P(_) => unreachable!("not in kernel graphs"),
                        };
                    }
                    acc[g] += v[kernel as usize];
                    if let Some(i) = inside {
                        outside[g] += (v[i as usize] == 0.0) as u64;
                    }
                }
            }
            for (s, a) in sums.iter_mut().zip(acc) {
                *s += a as f64;
            }
        }
        (sums, outside)
    }

    /// xorshift in [0, 1).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
        fn pick(&mut self, n: usize) -> usize {
            (self.next() * n as f64) as usize % n
        }
    }

    const NF: usize = 2;
    const NC: usize = 4;

    /// A random expression over features, constants and literals, with the shapes the fused
    /// instructions take ((a ± b)²·c, a·b ± c, …) drawn often, and earlier nodes reused (nodes with
    /// several uses, which go through temporaries).
    fn random_expr(g: &mut Graph, r: &mut Rng, depth: u32, pool: &mut Vec<Id>) -> Id {
        if depth == 0 || r.next() < 0.15 {
            if !pool.is_empty() && r.next() < 0.2 {
                return pool[r.pick(pool.len())];
            }
            return match r.pick(4) {
                0 => g.feat(r.pick(NF)),
                1 | 2 => g.cst(r.pick(NC)),
                _ => g.num([0.5, 2.0, -1.5, 3.0, 0.25][r.pick(5)]),
            };
        }
        let mut sub = |g: &mut Graph, r: &mut Rng| random_expr(g, r, depth - 1, pool);
        let positive = |g: &mut Graph, a: Id| {
            let m = g.u(Op1::Abs, a);
            let h = g.num(0.5);
            g.b(Op2::Add, m, h)
        };
        let id = match r.pick(12) {
            0 | 1 => {
                let (a, b, c) = (sub(g, r), sub(g, r), sub(g, r));
                let d = g.b([Op2::Sub, Op2::Add][r.pick(2)], a, b);
                let q = g.powi(d, 2);
                if r.next() < 0.5 {
                    g.b(Op2::Mul, q, c)
                } else {
                    g.b(Op2::Mul, c, q)
                }
            }
            2 | 3 => {
                let (a, b, c) = (sub(g, r), sub(g, r), sub(g, r));
                let m = g.b(Op2::Mul, a, b);
                match r.pick(3) {
                    0 => g.b(Op2::Add, m, c),
                    1 => g.b(Op2::Sub, m, c),
                    _ => g.b(Op2::Sub, c, m),
                }
            }
            4..=6 => {
                const OPS: [Op2; 15] = [
                    Op2::Add,
                    Op2::Sub,
                    Op2::Mul,
                    Op2::Div,
                    Op2::Pow,
                    Op2::Min,
                    Op2::Max,
                    Op2::Lt,
                    Op2::Le,
                    Op2::Gt,
                    Op2::Ge,
                    Op2::Eq,
                    Op2::Ne,
                    Op2::And,
                    Op2::Or,
                ];
                let op = OPS[r.pick(OPS.len())];
                let (a, b) = (sub(g, r), sub(g, r));
                let a = if op == Op2::Pow { positive(g, a) } else { a };
                g.b(op, a, b)
            }
            7 | 8 => {
                const OPS: [Op1; 13] = [
                    Op1::Neg,
                    Op1::Log,
                    Op1::Exp,
                    Op1::Sqrt,
                    Op1::Abs,
                    Op1::Log1p,
                    Op1::Expm1,
                    Op1::Lgamma,
                    Op1::Erf,
                    Op1::Erfc,
                    Op1::Tanh,
                    Op1::Floor,
                    Op1::Not,
                ];
                let op = OPS[r.pick(OPS.len())];
                let a = sub(g, r);
                let a = match op {
                    Op1::Log | Op1::Sqrt | Op1::Lgamma | Op1::Log1p => positive(g, a),
                    _ => a,
                };
                g.u(op, a)
            }
            9 => {
                let a = sub(g, r);
                g.powi(a, [2, 3, 4, 5, -1, -2][r.pick(6)])
            }
            10 => {
                let (c, a, b) = (sub(g, r), sub(g, r), sub(g, r));
                g.sel(c, a, b)
            }
            _ => {
                let n = 2 + r.pick(3);
                let args = (0..n).map(|_| sub(g, r)).collect();
                g.lse(args)
            }
        };
        pool.push(id);
        id
    }

    /// Sums and support counts of `kernel` (and `inside`) on a pseudo-random block of
    /// 3·256 + 17 samples (a partial tile and sub-tile), by the fused program (dispatched and
    /// portable) and by the plain interpretation.
    fn check(g: &Graph, kernel: Id, inside: Option<Id>, r: &mut Rng, what: &str) {
        let n = 3 * TILE + 17;
        let feats: Vec<f32> = (0..n * NF).map(|_| (6.0 * r.next() - 3.0) as f32).collect();
        let consts: Vec<f32> = (0..NC * G).map(|_| (4.0 * r.next() - 2.0) as f32).collect();
        let p = RegisterKernel::new(g, kernel, inside, NF, NC);
        let (mut s, mut o) = (vec![0f64; G], vec![0u64; G]);
        p.sum_block(&feats, &consts, &mut s, &mut o);
        let (mut sp, mut op) = (vec![0f64; G], vec![0u64; G]);
        p.sum_block_impl(Portable, &feats, &consts, &mut sp, &mut op);
        let (want, want_out) = plain_sums(g, kernel, inside, NF, &feats, &consts);
        let same = |a: &[f64], b: &[f64]| {
            a.iter()
                .zip(b)
                .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
        };
        assert!(
            same(&s, &want),
            "{what}: fused sums\n{s:?}\nplain\n{want:?}\n{:?}",
            p.insts
        );
        assert!(same(&sp, &want), "{what}: portable sums");
        if inside.is_some() {
            assert_eq!(o, want_out, "{what}: support counts");
            assert_eq!(op, want_out, "{what}: portable support counts");
        }
    }

    /// The fused program (fused forms, operand kinds swapped into the specialised loops,
    /// temporaries reused, the value accumulated in place, AVX2 and portable loops) computes
    /// bitwise the sums and support counts of the plain node-by-node interpretation of the
    /// kernel graph, on random kernels using every operator and function.
    #[test]
    fn fused_program_sums_are_bitwise_the_plain_interpretation() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        let mut fused = 0;
        for case in 0..300 {
            let mut g = Graph::default();
            let mut pool = Vec::new();
            let kernel = random_expr(&mut g, &mut r, 4, &mut pool);
            let inside = (case % 3 == 0).then(|| {
                let (a, b) = (random_expr(&mut g, &mut r, 2, &mut pool), g.feat(0));
                g.b(Op2::Lt, b, a)
            });
            let p = RegisterKernel::new(&g, kernel, inside, NF, NC);
            fused += p
                .insts
                .iter()
                .filter(|i| matches!(i, Inst::Sq(..) | Inst::SqMul(..) | Inst::MulAdd(..)))
                .count();
            check(&g, kernel, inside, &mut r, &format!("case {case}"));
        }
        assert!(fused > 100, "the fused forms are exercised ({fused})");
    }

    /// The hand-written normal, (f₀ − c₀)²·c₁, is one instruction accumulating in place; the
    /// three-component mixture is (f₀ − c)² and c − t·c per component, then the logsumexp.
    #[test]
    fn normal_and_mixture_kernels_compile_to_fused_instructions() {
        let mut g = Graph::default();
        let (f, c0, c1) = (g.feat(0), g.cst(0), g.cst(1));
        let d = g.b(Op2::Sub, f, c0);
        let q = g.powi(d, 2);
        let k = g.b(Op2::Mul, q, c1);
        let p = RegisterKernel::new(&g, k, None, 1, 2);
        assert_eq!(
            p.insts,
            vec![Inst::SqMul(
                Bop::of(Op2::Sub),
                Arg::S(0),
                Arg::R(0),
                Arg::R(1),
                Dst::Acc
            )]
        );
        let mut r = Rng(7);
        check(&g, k, None, &mut r, "normal");

        let mut g = Graph::default();
        let f = g.feat(0);
        let terms = (0..3)
            .map(|i| {
                let (a, m, s) = (g.cst(3 * i), g.cst(3 * i + 1), g.cst(3 * i + 2));
                let d = g.b(Op2::Sub, f, m);
                let q = g.powi(d, 2);
                let t = g.b(Op2::Mul, q, s);
                g.b(Op2::Sub, a, t)
            })
            .collect();
        let k = g.lse(terms);
        let p = RegisterKernel::new(&g, k, None, 1, 9);
        assert_eq!(p.len(), 7, "{:?}", p.insts);
        assert!(matches!(p.insts[6], Inst::Lse(_, Dst::Acc)));
        assert_eq!(
            p.insts
                .iter()
                .filter(|i| matches!(i, Inst::MulAdd(Bop::RSUB, ..)))
                .count(),
            3
        );
    }

    /// Kernels that are a single operand, or whose value is also the support condition, still
    /// accumulate (and count) correctly.
    #[test]
    fn operand_and_shared_roots_are_accumulated() {
        let mut r = Rng(11);
        let mut g = Graph::default();
        let f = g.feat(1);
        check(&g, f, None, &mut r, "a feature");
        let c = g.cst(2);
        let k = g.b(Op2::Gt, f, c);
        check(&g, k, Some(k), &mut r, "value = condition");
        let m = g.b(Op2::Mul, f, c);
        let k = g.b(Op2::Add, m, m);
        check(&g, k, Some(m), &mut r, "condition used by the value");
    }
}
