//! The fast CPU path of a user model: its kernel graph compiled to a register program over
//! lane arrays, implementing [`CoupledKernel`].
//!
//! A register holds one f32 per (sample, grid point) of a sub-tile of S = 8 samples × 64 grid
//! points. Each instruction is one loop over those 512 lanes (inner loop over the 64 grid points,
//! which LLVM vectorises; compiled for AVX-512/AVX2 when present), so the interpretation cost —
//! one dispatch per instruction — is paid per 512 evaluations, not per evaluation. Operands are
//! registers, features (one value per sample, broadcast over the grid points), constants (one
//! value per grid point, broadcast over the samples) or literals (kept as constant rows).
//! Accumulation is that of `Blocked<K>`: tiles of 256 samples summed in f32 in sample order,
//! then added to the f64 sums.

use super::graph::{Graph, Id, Op1, Op2, Program, N};
use super::special;
use crate::model::kernel::BLOCK_POINTS;
use crate::model::CoupledKernel;
use std::collections::HashMap;

const G: usize = BLOCK_POINTS;
/// Samples per sub-tile.
const S: usize = 8;
const L: usize = S * G;
/// Samples summed in f32 before each f64 accumulation (as `Blocked<K>`).
const TILE: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Src {
    R(usize),
    F(usize),
    /// A constant row (kernel constants, then literals).
    C(usize),
}

#[derive(Debug, Clone)]
enum Inst {
    U(Op1, usize, Src),
    B(Op2, usize, Src, Src),
    PowI(usize, Src, i32),
    Sel(usize, Src, Src, Src),
    Lse(usize, Vec<Src>),
}

/// A compiled kernel.
pub struct RegisterKernel {
    nf: usize,
    nc: usize,
    lits: Vec<f32>,
    insts: Vec<Inst>,
    n_regs: usize,
    value: Src,
    inside: Option<Src>,
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
        // Last use of every node, for register reuse.
        let mut last: HashMap<Id, usize> = HashMap::new();
        for (i, &n) in order.iter().enumerate() {
            for c in k.children(n) {
                last.insert(c, i);
            }
        }
        for &r in &roots {
            last.insert(r, usize::MAX);
        }
        let mut lits: Vec<f32> = Vec::new();
        let mut src: HashMap<Id, Src> = HashMap::new();
        let mut free: Vec<usize> = Vec::new();
        let mut n_regs = 0;
        let mut insts = Vec::new();
        for (i, &n) in order.iter().enumerate() {
            let s = match k.node(n) {
                N::F(j) => Some(Src::F(*j)),
                N::C(j) => Some(Src::C(*j)),
                N::Num(b) => {
                    let v = f64::from_bits(*b) as f32;
                    let j = lits
                        .iter()
                        .position(|&l| l.to_bits() == v.to_bits())
                        .unwrap_or_else(|| {
                            lits.push(v);
                            lits.len() - 1
                        });
                    Some(Src::C(nc + j))
                }
                _ => None,
            };
            if let Some(s) = s {
                src.insert(n, s);
                continue;
            }
            let arg = |c: &Id| src[c];
            let node = k.node(n).clone();
            let dst = free.pop().unwrap_or_else(|| {
                n_regs += 1;
                n_regs - 1
            });
            // Free the registers of operands used for the last time (after allocating the
            // destination, which therefore never aliases an operand).
            for c in k.children(n) {
                if last.get(&c) == Some(&i) {
                    if let Some(Src::R(r)) = src.get(&c) {
                        if !free.contains(r) {
                            free.push(*r);
                        }
                    }
                }
            }
            if let N::PowI(a, p) = node {
                if (2..=4).contains(&p) {
                    // aⁿ as multiplications: a·a, (a·a)·a, (a·a)·(a·a).
                    let x = arg(&a);
                    let t = n_regs;
                    n_regs += 1;
                    insts.push(Inst::B(Op2::Mul, t, x, x));
                    insts.push(match p {
                        2 => Inst::B(Op2::Mul, dst, Src::R(t), Src::R(t)),
                        3 => Inst::B(Op2::Mul, dst, Src::R(t), x),
                        _ => Inst::B(Op2::Mul, dst, Src::R(t), Src::R(t)),
                    });
                    if p == 2 {
                        // a·a directly.
                        insts.pop();
                        insts.pop();
                        n_regs -= 1;
                        insts.push(Inst::B(Op2::Mul, dst, x, x));
                    }
                    src.insert(n, Src::R(dst));
                    continue;
                }
            }
            insts.push(match node {
                N::U(op, a) => Inst::U(op, dst, arg(&a)),
                N::B(op, a, b) => Inst::B(op, dst, arg(&a), arg(&b)),
                N::PowI(a, p) => Inst::PowI(dst, arg(&a), p),
                N::Sel(c, a, b) => Inst::Sel(dst, arg(&c), arg(&a), arg(&b)),
                N::Lse(v) => Inst::Lse(dst, v.iter().map(arg).collect()),
                _ => unreachable!("leaves handled above"),
            });
            src.insert(n, Src::R(dst));
        }
        RegisterKernel {
            nf,
            nc,
            lits,
            insts,
            n_regs,
            value: src[&kernel],
            inside: inside.map(|i| src[&i]),
            k64: Program::new(k, &[kernel]),
            inside64: inside.map(|i| Program::new(k, &[i])),
        }
    }

    /// Number of instructions (for `models check`).
    pub fn len(&self) -> usize {
        self.insts.len()
    }

    /// Whether the program has no instruction (a kernel that is a single operand).
    pub fn is_empty(&self) -> bool {
        self.insts.is_empty()
    }
}

/// Read access to the operands of a sub-tile.
struct Lanes<'a> {
    regs: &'a [Vec<f32>],
    /// feats[j·S + s]: feature j of sample s.
    feats: &'a [f32],
    /// consts[j·G + g]: constant row j at grid point g.
    consts: &'a [f32],
}

impl Lanes<'_> {
    #[inline(always)]
    fn reg(&self, r: usize) -> &[f32] {
        &self.regs[r]
    }
    #[inline(always)]
    fn row(&self, j: usize) -> &[f32] {
        &self.consts[j * G..(j + 1) * G]
    }
    #[inline(always)]
    fn feat(&self, j: usize) -> &[f32] {
        &self.feats[j * S..(j + 1) * S]
    }
}

/// One sample's operand: a row over the 64 grid points, or one value for all of them.
enum Op<'a> {
    Row(&'a [f32; G]),
    Scalar(f32),
}

#[inline(always)]
fn opnd<'a>(ln: &Lanes<'a>, a: Src, s: usize) -> Op<'a> {
    match a {
        Src::R(r) => Op::Row(ln.regs[r][s * G..(s + 1) * G].try_into().expect("G lanes")),
        Src::C(j) => Op::Row(ln.consts[j * G..(j + 1) * G].try_into().expect("G lanes")),
        Src::F(j) => Op::Scalar(ln.feats[j * S + s]),
    }
}

/// dst[s][g] = f(a(s, g), b(s, g)) for s < ns: per sample, one fixed-length loop over the grid
/// points (vectorised), specialised on whether each operand is a row or one value.
#[inline(always)]
fn bin<F: Fn(f32, f32) -> f32>(dst: &mut [f32], ln: &Lanes<'_>, a: Src, b: Src, ns: usize, f: F) {
    for s in 0..ns {
        let d: &mut [f32; G] = (&mut dst[s * G..(s + 1) * G]).try_into().expect("G lanes");
        match (opnd(ln, a, s), opnd(ln, b, s)) {
            (Op::Row(x), Op::Row(y)) => {
                for g in 0..G {
                    d[g] = f(x[g], y[g]);
                }
            }
            (Op::Row(x), Op::Scalar(y)) => {
                for g in 0..G {
                    d[g] = f(x[g], y);
                }
            }
            (Op::Scalar(x), Op::Row(y)) => {
                for g in 0..G {
                    d[g] = f(x, y[g]);
                }
            }
            (Op::Scalar(x), Op::Scalar(y)) => d.fill(f(x, y)),
        }
    }
}

/// Copies operand `a` into lanes `dst` (for unary and n-ary instructions).
#[inline(always)]
fn load(dst: &mut [f32], ln: &Lanes<'_>, a: Src, ns: usize) {
    match a {
        Src::R(x) => dst[..ns * G].copy_from_slice(&ln.reg(x)[..ns * G]),
        Src::F(j) => {
            let fj = ln.feat(j);
            for s in 0..ns {
                dst[s * G..(s + 1) * G].fill(fj[s]);
            }
        }
        Src::C(j) => {
            let c = ln.row(j);
            for s in 0..ns {
                dst[s * G..(s + 1) * G].copy_from_slice(c);
            }
        }
    }
}

#[inline(always)]
fn b2f(b: bool) -> f32 {
    if b {
        1.0
    } else {
        0.0
    }
}

#[inline(always)]
fn un(op: Op1, v: &mut [f32]) {
    macro_rules! map {
        ($f:expr) => {
            for x in v.iter_mut() {
                *x = $f(*x);
            }
        };
    }
    match op {
        Op1::Neg => map!(|a: f32| -a),
        Op1::Log => map!(f32::ln),
        Op1::Exp => map!(f32::exp),
        Op1::Sqrt => map!(f32::sqrt),
        Op1::Abs => map!(f32::abs),
        Op1::Log1p => map!(special::log1p),
        Op1::Expm1 => map!(special::expm1),
        Op1::Lgamma => map!(special::lgamma),
        Op1::Erf => map!(special::erf),
        Op1::Erfc => map!(special::erfc),
        Op1::Tanh => map!(special::tanh),
        Op1::Floor => map!(f32::floor),
        Op1::Not => map!(|a: f32| b2f(a == 0.0)),
    }
}

impl RegisterKernel {
    /// Runs the program on one sub-tile (`ns` samples) into `regs`.
    #[inline(always)]
    fn run(&self, regs: &mut [Vec<f32>], feats: &[f32], consts: &[f32], ns: usize) {
        for inst in &self.insts {
            let d = match inst {
                Inst::B(_, d, ..) | Inst::U(_, d, _) | Inst::PowI(d, ..) | Inst::Sel(d, ..) => *d,
                Inst::Lse(d, _) => *d,
            };
            // The destination is taken out while the operands (never it) are read.
            let mut t = std::mem::take(&mut regs[d]);
            let ln = Lanes {
                regs,
                feats,
                consts,
            };
            match inst {
                Inst::B(op, _, a, b) => {
                    macro_rules! go {
                        ($f:expr) => {
                            bin(&mut t, &ln, *a, *b, ns, $f)
                        };
                    }
                    match op {
                        Op2::Add => go!(|x, y| x + y),
                        Op2::Sub => go!(|x, y| x - y),
                        Op2::Mul => go!(|x, y| x * y),
                        Op2::Div => go!(|x, y| x / y),
                        Op2::Pow => go!(f32::powf),
                        Op2::Min => go!(f32::min),
                        Op2::Max => go!(f32::max),
                        Op2::Lt => go!(|x, y| b2f(x < y)),
                        Op2::Le => go!(|x, y| b2f(x <= y)),
                        Op2::Gt => go!(|x, y| b2f(x > y)),
                        Op2::Ge => go!(|x, y| b2f(x >= y)),
                        Op2::Eq => go!(|x, y| b2f(x == y)),
                        Op2::Ne => go!(|x, y| b2f(x != y)),
                        Op2::And => go!(|x, y| b2f(x != 0.0 && y != 0.0)),
                        Op2::Or => go!(|x, y| b2f(x != 0.0 || y != 0.0)),
                    }
                }
                Inst::U(op, _, a) => {
                    load(&mut t, &ln, *a, ns);
                    un(*op, &mut t[..ns * G]);
                }
                Inst::PowI(_, a, n) => {
                    load(&mut t, &ln, *a, ns);
                    let n = *n;
                    for v in &mut t[..ns * G] {
                        *v = powi(*v, n);
                    }
                }
                Inst::Sel(_, c, a, b) => {
                    let (mut tc, mut ta) = (vec![0f32; L], vec![0f32; L]);
                    load(&mut tc, &ln, *c, ns);
                    load(&mut ta, &ln, *a, ns);
                    load(&mut t, &ln, *b, ns);
                    for i in 0..ns * G {
                        if tc[i] != 0.0 {
                            t[i] = ta[i];
                        }
                    }
                }
                Inst::Lse(_, args) => {
                    let vals: Vec<Vec<f32>> = args
                        .iter()
                        .map(|a| {
                            let mut v = vec![0f32; L];
                            load(&mut v, &ln, *a, ns);
                            v
                        })
                        .collect();
                    for (i, o) in t[..ns * G].iter_mut().enumerate() {
                        *o = lse_lane(&vals, i);
                    }
                }
            }
            regs[d] = t;
        }
    }
}

/// aⁿ by binary powering (exact repeated multiplication for small n).
#[inline(always)]
fn powi(a: f32, n: i32) -> f32 {
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

/// ln Σ exp(vᵢ) at lane i: for two terms max + log1p(e^(−|a − b|)) (as the device), else
/// m + ln Σ e^(vᵢ − m).
#[inline(always)]
fn lse_lane(vals: &[Vec<f32>], i: usize) -> f32 {
    if vals.len() == 2 {
        let (a, b) = (vals[0][i], vals[1][i]);
        return a.max(b) + special::log1p((-(a - b).abs()).exp());
    }
    let m = vals.iter().map(|v| v[i]).fold(f32::NEG_INFINITY, f32::max);
    m + vals.iter().map(|v| (v[i] - m).exp()).sum::<f32>().ln()
}

impl CoupledKernel for RegisterKernel {
    fn n_features(&self) -> usize {
        self.nf
    }
    fn n_consts(&self) -> usize {
        self.nc
    }
    fn theta_dependent_support(&self) -> bool {
        self.inside.is_some()
    }
    fn k64(&self, f: &[f64], c: &[f64]) -> f64 {
        let mut scratch = vec![0.0; self.k64.len()];
        let mut out = [0.0];
        self.k64.run_kernel(0.0, &[], f, c, &mut scratch, &mut out);
        out[0]
    }
    fn outside64(&self, f: &[f64], c: &[f64]) -> bool {
        let Some(p) = &self.inside64 else {
            return false;
        };
        let mut scratch = vec![0.0; p.len()];
        let mut out = [0.0];
        p.run_kernel(0.0, &[], f, c, &mut scratch, &mut out);
        out[0] == 0.0
    }
    fn sum_block(&self, feats: &[f32], consts: &[f32], sums: &mut [f64], outside: &mut [u64]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F (checked just above).
                return unsafe { self.sum_block_avx512(feats, consts, sums, outside) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked just above).
                return unsafe { self.sum_block_avx2(feats, consts, sums, outside) };
            }
        }
        self.sum_block_impl(feats, consts, sums, outside)
    }
}

impl RegisterKernel {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn sum_block_avx512(&self, f: &[f32], c: &[f32], s: &mut [f64], o: &mut [u64]) {
        self.sum_block_impl(f, c, s, o)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn sum_block_avx2(&self, f: &[f32], c: &[f32], s: &mut [f64], o: &mut [u64]) {
        self.sum_block_impl(f, c, s, o)
    }

    /// The blocked loop: sub-tiles of S samples through the program, accumulated per grid
    /// point in f32 in sample order over tiles of 256 samples, then into the f64 sums.
    #[inline(always)]
    fn sum_block_impl(&self, feats: &[f32], consts: &[f32], sums: &mut [f64], outside: &mut [u64]) {
        let nf = self.nf;
        // Constant rows: the kernel constants, then the literals.
        let mut rows = Vec::with_capacity((self.nc + self.lits.len()) * G);
        rows.extend_from_slice(&consts[..self.nc * G]);
        for &l in &self.lits {
            rows.extend(std::iter::repeat_n(l, G));
        }
        let mut regs: Vec<Vec<f32>> = (0..self.n_regs).map(|_| vec![0f32; L]).collect();
        let mut fsub = vec![0f32; nf * S];
        let mut out = [0u32; G];
        let value_row = |regs: &[Vec<f32>], src: Src, s: usize, g: usize, fsub: &[f32]| match src {
            Src::R(r) => regs[r][s * G + g],
            Src::F(j) => fsub[j * S + s],
            Src::C(j) => rows[j * G + g],
        };
        for tile in feats.chunks(TILE * nf) {
            let mut acc = [0f32; G];
            for sub in tile.chunks(S * nf) {
                let ns = sub.len() / nf;
                for s in 0..ns {
                    for j in 0..nf {
                        fsub[j * S + s] = sub[s * nf + j];
                    }
                }
                self.run(&mut regs, &fsub, &rows, ns);
                match self.value {
                    Src::R(r) => {
                        for s in 0..ns {
                            let v = &regs[r][s * G..(s + 1) * G];
                            for g in 0..G {
                                acc[g] += v[g];
                            }
                        }
                    }
                    src => {
                        for s in 0..ns {
                            for (g, a) in acc.iter_mut().enumerate() {
                                *a += value_row(&regs, src, s, g, &fsub);
                            }
                        }
                    }
                }
                if let Some(src) = self.inside {
                    for s in 0..ns {
                        for (g, o) in out.iter_mut().enumerate() {
                            *o += (value_row(&regs, src, s, g, &fsub) == 0.0) as u32;
                        }
                    }
                }
            }
            for (s, a) in sums.iter_mut().zip(acc) {
                *s += a as f64;
            }
            if self.inside.is_some() {
                for (o, v) in outside.iter_mut().zip(&mut out) {
                    *o += *v as u64;
                    *v = 0;
                }
            }
        }
    }
}
