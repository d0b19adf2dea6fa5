//! WGSL sources of the two device pipelines, generated from templates:
//!
//! * the sweep kernel (`shaders/engine/sweep.wgsl`) for one family's `k4` and one
//!   [`KernelShape`], with the register-blocked per-sample statements unrolled;
//! * the sufficient-statistics reduction (`shaders/engine/reduce.wgsl`) for one
//!   [`StatsForm`].
//!
//! Both read the samples' features in the same packing, [`FeatureLayout`].

use super::shape::KernelShape;
use crate::model::suffstats::StatsForm;
use crate::model::Family;
use std::fmt::Write;

const SWEEP: &str = include_str!("../../../shaders/engine/sweep.wgsl");
const REDUCE: &str = include_str!("../../../shaders/engine/reduce.wgsl");
const MATH: &str = include_str!("../../../shaders/lib/math.wgsl");

/// Load units per inner summation block (see the two-level summation in the templates).
const INNER_UNITS: usize = 16;

/// How `nf` f32 features per sample are packed into `vec4<f32>`s on the device: a *load unit*
/// of `vec4s` vec4(s) holds `samples` sample(s).
///
/// * nf = 1: one vec4 holds 4 samples; nf = 2: 2 samples;
/// * 3 ≤ nf ≤ 4: one sample per vec4 (padded to 4 floats);
/// * nf > 4: one sample per ⌈nf/4⌉ vec4s (padded to a multiple of 4 floats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureLayout {
    pub nf: usize,
    /// f32 slots per sample (nf, or nf padded).
    pub floats_per_sample: usize,
    pub vec4s: usize,
    pub samples: usize,
}

impl FeatureLayout {
    pub fn new(nf: usize) -> FeatureLayout {
        assert!(nf >= 1, "a kernel reads at least one feature");
        let floats_per_sample = match nf {
            1 | 2 => nf,
            _ => nf.div_ceil(4) * 4,
        };
        FeatureLayout {
            nf,
            floats_per_sample,
            vec4s: floats_per_sample.div_ceil(4),
            samples: (4 / floats_per_sample).max(1),
        }
    }

    /// f32 values the device buffer needs for `n` samples (whole load units).
    pub fn floats(&self, n: usize) -> usize {
        n.div_ceil(self.samples) * self.vec4s * 4
    }

    /// The features of `n` samples (`nf` per sample, sample-major) in this layout: borrowed when
    /// they already are (no padding needed), else packed into `scratch`.
    pub fn packed<'a>(&self, features: &'a [f32], scratch: &'a mut Vec<f32>) -> &'a [f32] {
        let n = features.len() / self.nf;
        if self.floats_per_sample == self.nf && features.len() == self.floats(n) {
            features
        } else {
            self.pack(features, scratch);
            scratch
        }
    }

    /// Packs `n` samples of tightly packed features (`nf` per sample, sample-major) into `out`
    /// in this layout, padding with zeros.
    pub fn pack(&self, features: &[f32], out: &mut Vec<f32>) {
        let n = features.len() / self.nf;
        out.clear();
        if self.floats_per_sample == self.nf {
            out.extend_from_slice(features);
        } else {
            out.reserve(n * self.floats_per_sample);
            for f in features.chunks_exact(self.nf) {
                out.extend_from_slice(f);
                out.extend(std::iter::repeat_n(0.0, self.floats_per_sample - self.nf));
            }
        }
        out.resize(self.floats(n), 0.0);
    }

    /// WGSL expressions of the features of sample `s` (0 ≤ s < `samples`) of the load unit held
    /// in the variables `x0`, `x1`, ….
    fn features(&self, s: usize) -> Vec<String> {
        let lanes = ["x", "y", "z", "w"];
        (0..self.nf)
            .map(|i| {
                let slot = s * self.floats_per_sample + i;
                format!("x{}.{}", slot / 4, lanes[slot % 4])
            })
            .collect()
    }

    /// Statements loading load unit `q` into `x0`, `x1`, ….
    fn load(&self, indent: &str) -> String {
        let mut out = String::new();
        for v in 0..self.vec4s {
            if self.vec4s == 1 {
                writeln!(out, "{indent}let x0 = samples[q];").unwrap();
            } else {
                writeln!(
                    out,
                    "{indent}let x{v} = samples[q * {}u + {v}u];",
                    self.vec4s
                )
                .unwrap();
            }
        }
        out.trim_end().to_string()
    }
}

/// Generates the sweep kernel for `family` and `shape`.
pub fn sweep_source(family: &dyn Family, shape: KernelShape) -> String {
    let a_n = shape.accumulators as usize;
    let nc = family.n_kernel_consts();
    let layout = FeatureLayout::new(family.n_features());
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

    // Statements adding sample s of the load unit into accumulators `{acc}0…`.
    let sample_stmts = |s: usize, acc: &str, indent: &str| {
        let feats = layout.features(s).join(", ");
        let mut out = String::new();
        for a in 0..a_n {
            let cs: Vec<String> = (0..nc).map(|j| format!("c{a}_{j}")).collect();
            let args = if cs.is_empty() {
                feats.clone()
            } else {
                format!("{feats}, {}", cs.join(", "))
            };
            writeln!(out, "{indent}{acc}{a} = {acc}{a} + k4({args});").unwrap();
            if outside {
                writeln!(out, "{indent}out{a} = out{a} + outside4({args});").unwrap();
            }
        }
        out
    };
    let spu = layout.samples;
    let mut body_full = String::new();
    for s in 0..spu {
        body_full.push_str(&sample_stmts(s, "t", "            "));
    }
    // The tail: only when a unit holds several samples (else `full == end`).
    let mut body_tail = String::new();
    if spu > 1 {
        body_tail = sample_stmts(0, "acc", "        ");
        for s in 1..spu {
            writeln!(body_tail, "        if (rest > {s}u) {{").unwrap();
            body_tail.push_str(&sample_stmts(s, "acc", "            "));
            writeln!(body_tail, "        }}").unwrap();
        }
    }

    let outside_binding = if outside {
        "@group(0) @binding(4) var<storage, read_write> outside_counts: array<vec4<f32>>;"
    } else {
        ""
    };
    SWEEP
        .replace("{{OUTSIDE_BINDING}}", outside_binding)
        .replace("{{MATH}}", MATH)
        .replace("{{FAMILY}}", family.wgsl())
        .replace("{{FEATURES}}", &layout.nf.to_string())
        .replace("{{VEC4S_PER_UNIT}}", &layout.vec4s.to_string())
        .replace("{{WORKGROUP_SIZE}}", &shape.workgroup_size.to_string())
        .replace("{{SAMPLES_PER_UNIT}}", &spu.to_string())
        .replace("{{CONSTS_PER_BLOCK}}", &(a_n * nc).to_string())
        .replace("{{ACCUMULATORS}}", &a_n.to_string())
        .replace("{{LOAD_CONSTS}}", load.trim_end())
        .replace("{{INIT}}", init.trim_end())
        .replace("{{INIT_BLOCK}}", init_block.trim_end())
        .replace("{{ADD_BLOCK}}", add_block.trim_end())
        .replace("{{INNER}}", &INNER_UNITS.to_string())
        .replace("{{LOAD}}", &layout.load("            "))
        .replace("{{LOAD_TAIL}}", &layout.load("        "))
        .replace("{{BODY_FULL}}", body_full.trim_end())
        .replace("{{BODY_TAIL}}", body_tail.trim_end())
        .replace("{{STORE}}", store.trim_end())
}

/// Invocations per workgroup of the reduction.
pub const REDUCE_WORKGROUP: usize = 64;
/// Samples per invocation of the reduction.
pub const REDUCE_CHUNK: usize = 4096;

/// The WGSL expressions of the statistics t(f) of `form` with `nf` features, the features
/// named `f0`, `f1`, …; constants the form reads come from `params.fixed`.
fn stats_exprs(form: StatsForm, nf: usize) -> Vec<String> {
    match form {
        StatsForm::Linear => (0..nf).map(|j| format!("f{j}")).collect(),
        StatsForm::Quadratic => vec!["f0".into(), "f0 * f0".into()],
        StatsForm::ExpScaled(j) => {
            let lane = ["x", "y", "z", "w"][j.min(3)];
            vec!["f0".into(), format!("exp(params.fixed.{lane} * f0)")]
        }
    }
}

/// Number of vec4 partials per chunk of the reduction of `form` with `nf` features.
pub fn stat_vec4s(form: StatsForm, nf: usize) -> usize {
    form.n_stats(nf).div_ceil(4)
}

/// Generates the sufficient-statistics reduction for `form` with `nf` features per sample.
pub fn reduce_source(form: StatsForm, nf: usize) -> String {
    let layout = FeatureLayout::new(nf);
    let exprs = stats_exprs(form, nf);
    let nv = exprs.len().div_ceil(4);
    let params: Vec<String> = (0..nf).map(|j| format!("f{j}: f32")).collect();
    let mut stats_fn = String::new();
    for v in 0..nv {
        let lanes: Vec<String> = (0..4)
            .map(|l| {
                exprs
                    .get(4 * v + l)
                    .cloned()
                    .unwrap_or_else(|| "0.0".into())
            })
            .collect();
        writeln!(
            stats_fn,
            "fn stats{v}({}) -> vec4<f32> {{\n    return vec4<f32>({});\n}}",
            params.join(", "),
            lanes.join(", ")
        )
        .unwrap();
    }
    let stmts = |s: usize, acc: &str, indent: &str| {
        let feats = layout.features(s).join(", ");
        let mut out = String::new();
        for v in 0..nv {
            writeln!(out, "{indent}{acc}{v} = {acc}{v} + stats{v}({feats});").unwrap();
        }
        out
    };
    let spu = layout.samples;
    let mut full = String::new();
    for s in 0..spu {
        full.push_str(&stmts(s, "t", "            "));
    }
    let mut tail = String::new();
    if spu > 1 {
        tail = stmts(0, "acc", "        ");
        for s in 1..spu {
            writeln!(tail, "        if (rest > {s}u) {{").unwrap();
            tail.push_str(&stmts(s, "acc", "            "));
            writeln!(tail, "        }}").unwrap();
        }
    }
    let mut init = String::new();
    let mut init_block = String::new();
    let mut add_block = String::new();
    let mut store = String::new();
    for v in 0..nv {
        writeln!(init, "    var acc{v} = vec4<f32>(0.0);").unwrap();
        writeln!(init_block, "        var t{v} = vec4<f32>(0.0);").unwrap();
        writeln!(add_block, "        acc{v} = acc{v} + t{v};").unwrap();
        writeln!(store, "    partials[chunk * {nv}u + {v}u] = acc{v};").unwrap();
    }
    REDUCE
        .replace("{{STATS_FN}}", stats_fn.trim_end())
        .replace("{{STAT_VEC4S}}", &nv.to_string())
        .replace("{{WORKGROUP_SIZE}}", &REDUCE_WORKGROUP.to_string())
        .replace("{{SAMPLES_PER_UNIT}}", &spu.to_string())
        .replace("{{VEC4S_PER_UNIT}}", &layout.vec4s.to_string())
        .replace("{{INNER}}", &INNER_UNITS.to_string())
        .replace("{{INIT}}", init.trim_end())
        .replace("{{INIT_BLOCK}}", init_block.trim_end())
        .replace("{{ADD_BLOCK}}", add_block.trim_end())
        .replace("{{LOAD}}", &layout.load("            "))
        .replace("{{LOAD_TAIL}}", &layout.load("        "))
        .replace("{{BODY_FULL}}", full.trim_end())
        .replace("{{BODY_TAIL}}", tail.trim_end())
        .replace("{{STORE}}", store.trim_end())
}

/// The size and (member, offset) list of the WGSL struct `name` of a parsed module (tests of
/// the host↔shader parameter blocks).
#[cfg(test)]
pub(crate) fn struct_layout(module: &naga::Module, name: &str) -> (u32, Vec<(String, u32)>) {
    for (_, ty) in module.types.iter() {
        if ty.name.as_deref() == Some(name) {
            if let naga::TypeInner::Struct { members, span } = &ty.inner {
                return (
                    *span,
                    members
                        .iter()
                        .map(|m| (m.name.clone().unwrap_or_default(), m.offset))
                        .collect(),
                );
            }
        }
    }
    panic!("no struct {name}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::REGISTRY;

    pub(crate) fn validate(src: &str) -> naga::Module {
        let module = naga::front::wgsl::parse_str(src)
            .unwrap_or_else(|e| panic!("{}\n{src}", e.emit_to_string(src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{e:?}"));
        module
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
                let src = sweep_source(*fam, shape);
                assert!(!src.contains("{{"), "unfilled slot");
                validate(&src);
            }
        }
    }

    #[test]
    fn generated_stats_source_validates_for_every_form_and_feature_count() {
        for (form, nf) in [
            (StatsForm::Linear, 1),
            (StatsForm::Linear, 2),
            (StatsForm::Linear, 3),
            (StatsForm::Linear, 6),
            (StatsForm::Quadratic, 1),
            (StatsForm::ExpScaled(1), 1),
        ] {
            let src = reduce_source(form, nf);
            assert!(!src.contains("{{"), "unfilled slot");
            validate(&src);
        }
    }

    #[test]
    fn feature_layout_packs_whole_load_units() {
        let l1 = FeatureLayout::new(1);
        assert_eq!((l1.vec4s, l1.samples, l1.floats(5)), (1, 4, 8));
        let l3 = FeatureLayout::new(3);
        assert_eq!((l3.vec4s, l3.samples, l3.floats(2)), (1, 1, 8));
        let mut out = Vec::new();
        l3.pack(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &mut out);
        assert_eq!(out, vec![1.0, 2.0, 3.0, 0.0, 4.0, 5.0, 6.0, 0.0]);
        let l6 = FeatureLayout::new(6);
        assert_eq!((l6.floats_per_sample, l6.vec4s, l6.samples), (8, 2, 1));
        assert_eq!(l6.features(0)[5], "x1.y");
        let l2 = FeatureLayout::new(2);
        l2.pack(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &mut out);
        assert_eq!(out, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, 0.0]);
    }
}
