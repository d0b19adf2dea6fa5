// Sufficient-statistics reduction: Σᵢ t(fᵢ) over one chunk of samples per invocation.
//
// The host (src/gpu/stats.rs) fills the slots in double braces: the statistics t(f) as WGSL
// (up to four, in one vec4) and the unrolled per-sample statements. Invocation `inv` sums chunk
// `inv` in a two-level f32 sum (blocks of {{INNER}} vec4 loads, then blocks into the chunk) and
// writes partials[inv]; the host adds the chunk partials in f64, in chunk order.

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

fn stats(f0: f32, f1: f32) -> vec4<f32> {
    return {{STATS}};
}

@compute @workgroup_size({{WORKGROUP_SIZE}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let chunk = (wid.y * params.groups_x + wid.x) * {{WORKGROUP_SIZE}}u + lid;
    if (chunk >= params.n_chunks) {
        return;
    }
    let start = chunk * params.chunk_len;
    let end = min(start + params.chunk_len, params.n_samples);
    let full = start + ((end - start) / {{SAMPLES_PER_VEC4}}u) * {{SAMPLES_PER_VEC4}}u;
    var acc = vec4<f32>(0.0);
    let q_end = full / {{SAMPLES_PER_VEC4}}u;
    for (var q0 = start / {{SAMPLES_PER_VEC4}}u; q0 < q_end; q0 = q0 + {{INNER}}u) {
        let q1 = min(q0 + {{INNER}}u, q_end);
        var t = vec4<f32>(0.0);
        for (var q = q0; q < q1; q = q + 1u) {
            let x = samples[q];
{{BODY_FULL}}
        }
        acc = acc + t;
    }
    let rest = end - full;
    if (rest > 0u) {
        let x = samples[full / {{SAMPLES_PER_VEC4}}u];
{{BODY_TAIL}}
    }
    partials[chunk] = acc;
}
