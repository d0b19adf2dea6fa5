//! WGSL for a user model: `fn k4(f0: f32, …, c0: vec4<f32>, …) -> vec4<f32>` (and `outside4`
//! for a support that depends on θ) generated from the kernel graph, in the calling convention of
//! `shaders/sweep.wgsl` (one f32 per feature, one vec4 per constant, lanes = four grid points),
//! preceded by `shaders/lib/special.wgsl`.

use super::graph::{Graph, Id, Op1, Op2, N};
use std::fmt::Write;

const SPECIAL: &str = include_str!("../../../shaders/lib/special.wgsl");

fn lit(v: f64) -> String {
    let v = v as f32;
    if v.is_nan() {
        return "vec4<f32>(0.0 / 0.0)".into();
    }
    let v = v.clamp(-3.0e38, 3.0e38);
    format!("vec4<f32>({v:?})")
}

/// The statements computing `roots` into `let t{id}`; booleans are `vec4<bool>`.
fn body(k: &Graph, roots: &[Id], out: &mut String) {
    for n in k.reachable(roots) {
        let t = |i: &Id| format!("t{i}");
        let e = match k.node(n) {
            N::Num(b) => lit(f64::from_bits(*b)),
            N::F(j) => format!("vec4<f32>(f{j})"),
            N::C(j) => format!("c{j}"),
            N::X | N::P(_) => unreachable!("kernel graphs have no x or θ"),
            N::U(op, a) => {
                let a = t(a);
                match op {
                    Op1::Neg => format!("-{a}"),
                    Op1::Not => format!("!{a}"),
                    Op1::Log => format!("log({a})"),
                    Op1::Exp => format!("exp({a})"),
                    Op1::Sqrt => format!("sqrt({a})"),
                    Op1::Abs => format!("abs({a})"),
                    Op1::Floor => format!("floor({a})"),
                    Op1::Log1p => format!("sp_log1p4({a})"),
                    Op1::Expm1 => format!("sp_expm14({a})"),
                    Op1::Lgamma => format!("sp_lgamma4({a})"),
                    Op1::Erf => format!("sp_erf4({a})"),
                    Op1::Erfc => format!("sp_erfc4({a})"),
                    Op1::Tanh => format!("sp_tanh4({a})"),
                }
            }
            N::B(op, a, b) => {
                let (a, b) = (t(a), t(b));
                match op {
                    Op2::Add => format!("{a} + {b}"),
                    Op2::Sub => format!("{a} - {b}"),
                    Op2::Mul => format!("{a} * {b}"),
                    Op2::Div => format!("{a} / {b}"),
                    Op2::Pow => format!("pow({a}, {b})"),
                    Op2::Min => format!("min({a}, {b})"),
                    Op2::Max => format!("max({a}, {b})"),
                    Op2::Lt => format!("{a} < {b}"),
                    Op2::Le => format!("{a} <= {b}"),
                    Op2::Gt => format!("{a} > {b}"),
                    Op2::Ge => format!("{a} >= {b}"),
                    Op2::Eq => format!("{a} == {b}"),
                    Op2::Ne => format!("{a} != {b}"),
                    Op2::And => format!("{a} & {b}"),
                    Op2::Or => format!("{a} | {b}"),
                }
            }
            N::PowI(a, p) => {
                let a = t(a);
                let m = p.unsigned_abs();
                let prod = vec![a.as_str(); m as usize].join(" * ");
                let prod = if m == 0 {
                    "vec4<f32>(1.0)".into()
                } else {
                    prod
                };
                if *p < 0 {
                    format!("1.0 / ({prod})")
                } else {
                    prod
                }
            }
            N::Sel(c, a, b) => format!("select({}, {}, {})", t(b), t(a), t(c)),
            N::Lse(v) if v.len() == 2 => {
                let (a, b) = (t(&v[0]), t(&v[1]));
                format!("max({a}, {b}) + sp_log1p4(exp(-abs({a} - {b})))")
            }
            N::Lse(v) => {
                let m = v
                    .iter()
                    .map(t)
                    .reduce(|a, b| format!("max({a}, {b})"))
                    .unwrap_or_default();
                writeln!(out, "    let m{n} = {m};").unwrap();
                let s: Vec<String> = v.iter().map(|a| format!("exp({} - m{n})", t(a))).collect();
                format!("m{n} + log({})", s.join(" + "))
            }
        };
        writeln!(out, "    let t{n} = {e};").unwrap();
    }
}

/// The complete family WGSL: special functions, `k4` and, with `inside`, `outside4`.
pub fn source(k: &Graph, kernel: Id, inside: Option<Id>, nf: usize, nc: usize) -> String {
    let mut args: Vec<String> = (0..nf).map(|j| format!("f{j}: f32")).collect();
    args.extend((0..nc).map(|j| format!("c{j}: vec4<f32>")));
    let args = args.join(", ");
    let mut s = String::from(SPECIAL);
    s.push_str("\n// Generated from the model's kernel graph.\n");
    writeln!(s, "fn k4({args}) -> vec4<f32> {{").unwrap();
    body(k, &[kernel], &mut s);
    writeln!(s, "    return t{kernel};\n}}").unwrap();
    if let Some(i) = inside {
        writeln!(s, "\nfn outside4({args}) -> vec4<f32> {{").unwrap();
        body(k, &[i], &mut s);
        writeln!(
            s,
            "    return select(vec4<f32>(1.0), vec4<f32>(0.0), t{i});\n}}"
        )
        .unwrap();
    }
    s
}
