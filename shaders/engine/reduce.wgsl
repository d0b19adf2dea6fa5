// Sufficient-statistics reduction: Σᵢ t(fᵢ) over one chunk of samples per invocation.
//
// The host (src/engine/gpu/codegen.rs) fills the slots in double braces: the statistics t(f) as
// WGSL ({{STAT_VEC4S}} vec4(s) of four statistics) and the unrolled per-sample statements; the
// samples are packed as for the sweep kernel ({{SAMPLES_PER_UNIT}} sample(s) per load unit of
// {{VEC4S_PER_UNIT}} vec4(s)). Invocation `inv` sums chunk `inv` in a two-level f32 sum (blocks
// of {{INNER}} load units, then blocks into the chunk) and writes partials[inv·S + s]; the host
// adds the chunk partials in f64, in chunk order.

struct Params {
    // Constants the statistics may read (a fixed parameter, e.g. the Weibull shape).
    fixed: vec4<f32>,
    n_samples: u32,
    n_chunks: u32,
    chunk_len: u32,
    groups_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> samples: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> partials: array<vec4<f32>>;

{{STATS_FN}}

@compute @workgroup_size({{WORKGROUP_SIZE}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let chunk = (wid.y * params.groups_x + wid.x) * {{WORKGROUP_SIZE}}u + lid;
    if (chunk >= params.n_chunks) {
        return;
    }
    let start = chunk * params.chunk_len;
    let end = min(start + params.chunk_len, params.n_samples);
    let full = start + ((end - start) / {{SAMPLES_PER_UNIT}}u) * {{SAMPLES_PER_UNIT}}u;
{{INIT}}
    let q_end = full / {{SAMPLES_PER_UNIT}}u;
    for (var q0 = start / {{SAMPLES_PER_UNIT}}u; q0 < q_end; q0 = q0 + {{INNER}}u) {
        let q1 = min(q0 + {{INNER}}u, q_end);
{{INIT_BLOCK}}
        for (var q = q0; q < q1; q = q + 1u) {
{{LOAD}}
{{BODY_FULL}}
        }
{{ADD_BLOCK}}
    }
    let rest = end - full;
    if (rest > 0u) {
        let q = full / {{SAMPLES_PER_UNIT}}u;
{{LOAD_TAIL}}
{{BODY_TAIL}}
    }
{{STORE}}
}
