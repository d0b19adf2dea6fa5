//! WGSL source of the sweep kernel for one family and one [`KernelShape`]: the template
//! `shaders/sweep.wgsl` with the family's `k4` and the unrolled per-sample statements filled in.

use crate::family::Family;
use std::fmt::Write;

/// The shape of the device work, chosen per adapter and grid in [`KernelShape::choose`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelShape {
    /// vec4 accumulators per invocation: each invocation handles 4·A grid points.
    pub accumulators: u32,
    /// Invocations per workgroup.
    pub workgroup_size: u32,
    /// Samples per chunk (one invocation's loop; a multiple of 4).
    pub chunk_len: u32,
}

impl KernelShape {
    /// Grid points per invocation.
    pub fn points_per_invocation(&self) -> usize {
        4 * self.accumulators as usize
    }

    /// Parses `POINTS,WORKGROUP,CHUNK` (e.g. `128,32,4096`): grid points per invocation (a
    /// multiple of 4, at most 512), invocations per workgroup (1–1024) and samples per chunk (a
    /// multiple of 4, at most 16,384, keeping every shader loop far below llvmpipe's cap).
    pub fn parse(s: &str) -> crate::Result<KernelShape> {
        let bad = |why: &str| {
            crate::Error::input(format!(
                "--kernel-shape '{s}': {why} (expected POINTS,WORKGROUP,CHUNK, e.g. 128,32,4096)"
            ))
        };
        let v: Vec<u32> = s
            .split(',')
            .map(|t| {
                t.trim()
                    .parse::<u32>()
                    .map_err(|_| bad(&format!("'{}' is not a positive integer", t.trim())))
            })
            .collect::<crate::Result<_>>()?;
        let [points, wg, chunk] = v[..] else {
            return Err(bad("expected three numbers"));
        };
        if points == 0 || points % 4 != 0 || points > 512 {
            return Err(bad("POINTS must be a multiple of 4 between 4 and 512"));
        }
        if wg == 0 || wg > 1024 {
            return Err(bad("WORKGROUP must be between 1 and 1024"));
        }
        if chunk == 0 || chunk % 4 != 0 || chunk > 16_384 {
            return Err(bad("CHUNK must be a multiple of 4 between 4 and 16384"));
        }
        Ok(KernelShape {
            accumulators: points / 4,
            workgroup_size: wg,
            chunk_len: chunk,
        })
    }

    /// Chooses the shape for an adapter and a grid size. This is the one place where the kernel
    /// shape is decided.
    ///
    /// * Software adapters (lavapipe): 32 invocations per workgroup, up to 32 accumulators (128
    ///   grid points) per invocation, 4,096-sample chunks — measured fastest on llvmpipe, where
    ///   sample loads and loop overhead, not arithmetic, set the cost.
    /// * Hardware adapters: 64 invocations, up to 8 accumulators (32 points), 2,048-sample
    ///   chunks — fewer registers per invocation, more invocations in flight.
    ///
    /// Fewer accumulators are used when the grid is small, so that padding the grid to whole
    /// blocks wastes at most 1/8 of the work.
    pub fn choose(software: bool, grid_len: usize) -> KernelShape {
        let (max_acc, workgroup_size, chunk_len) = if software {
            (32, 32, 4096)
        } else {
            (8, 64, 2048)
        };
        let mut acc = max_acc;
        while acc > 1 {
            let pts = 4 * acc as usize;
            let padded = grid_len.div_ceil(pts) * pts;
            if padded * 8 <= grid_len * 9 {
                break;
            }
            acc /= 2;
        }
        KernelShape {
            accumulators: acc,
            workgroup_size,
            chunk_len,
        }
    }
}

/// vec4 loads per inner summation block (see the two-level summation in `shaders/sweep.wgsl`).
const INNER_VEC4S: usize = 16;

const TEMPLATE: &str = include_str!("../../shaders/sweep.wgsl");
const MATH: &str = include_str!("../../shaders/lib/math.wgsl");

/// Generates the complete WGSL module for `family` and `shape`.
pub fn source(family: &dyn Family, shape: KernelShape) -> String {
    let a_n = shape.accumulators as usize;
    let nc = family.n_kernel_consts();
    let nf = family.n_features();
    assert!(nf == 1 || nf == 2, "families have 1 or 2 features");
    let spv = 4 / nf; // samples per vec4
    let outside = family.theta_dependent_support();

    let mut load = String::new();
    let mut init = String::new();
    let mut init_block = String::new();
    let mut add_block = String::new();
    let mut store = String::new();
    for a in 0..a_n {
        for j in 0..nc {
            writeln!(load, "    let c{a}_{j} = consts[cbase + {}u];", a * nc + j).unwrap();
        }
        writeln!(init, "    var acc{a} = vec4<f32>(0.0);").unwrap();
        writeln!(init_block, "        var t{a} = vec4<f32>(0.0);").unwrap();
        writeln!(add_block, "        acc{a} = acc{a} + t{a};").unwrap();
        writeln!(store, "    partials[obase + {a}u] = acc{a};").unwrap();
        if outside {
            writeln!(init, "    var out{a} = vec4<f32>(0.0);").unwrap();
            writeln!(store, "    outside_counts[obase + {a}u] = out{a};").unwrap();
        }
    }

    // Statements adding sample s (0 ≤ s < spv) of the vec4 `x` into accumulators `{acc}0…`.
    let lanes = ["x.x", "x.y", "x.z", "x.w"];
    let sample_stmts = |s: usize, acc: &str, indent: &str| {
        let feats = lanes[s * nf..(s + 1) * nf].join(", ");
        let mut out = String::new();
        for a in 0..a_n {
            let cs: Vec<String> = (0..nc).map(|j| format!("c{a}_{j}")).collect();
            let args = format!("{feats}, {}", cs.join(", "));
            writeln!(out, "{indent}{acc}{a} = {acc}{a} + k4({args});").unwrap();
            if outside {
                writeln!(out, "{indent}out{a} = out{a} + outside4({args});").unwrap();
            }
        }
        out
    };
    let mut body_full = String::new();
    for s in 0..spv {
        body_full.push_str(&sample_stmts(s, "t", "            "));
    }
    let mut body_tail = sample_stmts(0, "acc", "        ");
    for s in 1..spv {
        writeln!(body_tail, "        if (rest > {s}u) {{").unwrap();
        body_tail.push_str(&sample_stmts(s, "acc", "            "));
        writeln!(body_tail, "        }}").unwrap();
    }

    let outside_binding = if outside {
        "@group(0) @binding(4) var<storage, read_write> outside_counts: array<vec4<f32>>;"
    } else {
        ""
    };
    TEMPLATE
        .replace("{{OUTSIDE_BINDING}}", outside_binding)
        .replace("{{MATH}}", MATH)
        .replace("{{FAMILY}}", family.wgsl())
        .replace("{{FEATURES}}", &nf.to_string())
        .replace("{{WORKGROUP_SIZE}}", &shape.workgroup_size.to_string())
        .replace("{{SAMPLES_PER_VEC4}}", &spv.to_string())
        .replace("{{CONSTS_PER_BLOCK}}", &(a_n * nc).to_string())
        .replace("{{ACCUMULATORS}}", &a_n.to_string())
        .replace("{{LOAD_CONSTS}}", load.trim_end())
        .replace("{{INIT}}", init.trim_end())
        .replace("{{INIT_BLOCK}}", init_block.trim_end())
        .replace("{{ADD_BLOCK}}", add_block.trim_end())
        .replace("{{INNER}}", &INNER_VEC4S.to_string())
        .replace("{{BODY_FULL}}", body_full.trim_end())
        .replace("{{BODY_TAIL}}", body_tail.trim_end())
        .replace("{{STORE}}", store.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::REGISTRY;

    #[test]
    fn shape_uses_fewer_accumulators_for_small_grids() {
        assert_eq!(KernelShape::choose(true, 4096).accumulators, 32);
        assert_eq!(KernelShape::choose(true, 35).accumulators, 1);
        assert_eq!(KernelShape::choose(true, 1).accumulators, 1);
        assert_eq!(KernelShape::choose(true, 90_000).accumulators, 32);
        assert_eq!(KernelShape::choose(false, 4096).accumulators, 8);
    }

    /// Every family's generated module must parse and validate with naga, for every shape.
    #[test]
    fn generated_source_validates_for_every_family_and_shape() {
        for fam in REGISTRY {
            for acc in [1, 2, 8, 32] {
                let shape = KernelShape {
                    accumulators: acc,
                    workgroup_size: 32,
                    chunk_len: 4096,
                };
                let src = source(*fam, shape);
                assert!(!src.contains("{{"), "unfilled slot");
                let module = naga::front::wgsl::parse_str(&src)
                    .unwrap_or_else(|e| panic!("{}: {}", fam.name(), e.emit_to_string(&src)));
                naga::valid::Validator::new(
                    naga::valid::ValidationFlags::all(),
                    naga::valid::Capabilities::default(),
                )
                .validate(&module)
                .unwrap_or_else(|e| panic!("{}: {e:?}", fam.name()));
            }
        }
    }
}
