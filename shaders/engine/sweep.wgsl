// Grid-sweep kernel: Σᵢ k(xᵢ, θ) over one chunk of samples for one block of grid points.
//
// The host (src/engine/gpu/codegen.rs) fills the slots in double braces: the family's `k4` (shaders/family/*.wgsl),
// the number of vec4 accumulators per invocation (4 grid points each), the workgroup size, and
// the unrolled per-sample statements. Nothing here loops over grid points: the only loop runs
// over the chunk's samples, chunk_len / 4 iterations, far below llvmpipe's silent cap of 65,535
// loop iterations per invocation.
//
// Invocation `inv` handles grid block `inv % n_blocks` and sample chunk `inv / n_blocks`, and
// writes one f32 partial sum per grid point: partials[(chunk · n_blocks + block) · A + a] holds
// grid points 4a … 4a + 3 of the block. The host adds the partials over chunks in f64, in chunk
// order, so results do not depend on scheduling.

struct Params {
    // Samples in this batch.
    n_samples: u32,
    // Grid blocks in this grid batch.
    n_blocks: u32,
    // Sample chunks in this batch.
    n_chunks: u32,
    // Samples per chunk (a multiple of 4).
    chunk_len: u32,
    // Workgroups along x of the dispatch (the dispatch is 2-D to stay under the per-dimension cap).
    groups_x: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// Sample features, packed into vec4s: a load unit of {{VEC4S_PER_UNIT}} vec4(s) holds
// {{SAMPLES_PER_UNIT}} sample(s) of {{FEATURES}} feature(s) each (see FeatureLayout).
@group(0) @binding(1) var<storage, read> samples: array<vec4<f32>>;
// Kernel constants: consts[(block · A + a) · NC + j] is constant j of grid points 4a … 4a + 3.
@group(0) @binding(2) var<storage, read> consts: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec4<f32>>;
{{OUTSIDE_BINDING}}

{{MATH}}

{{FAMILY}}

@compute @workgroup_size({{WORKGROUP_SIZE}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let inv = (wid.y * params.groups_x + wid.x) * {{WORKGROUP_SIZE}}u + lid;
    if (inv >= params.n_blocks * params.n_chunks) {
        return;
    }
    let block = inv % params.n_blocks;
    let chunk = inv / params.n_blocks;
    let start = chunk * params.chunk_len;
    let end = min(start + params.chunk_len, params.n_samples);
    // Samples [start, full) fill whole load units; [full, end) is the ragged tail.
    let full = start + ((end - start) / {{SAMPLES_PER_UNIT}}u) * {{SAMPLES_PER_UNIT}}u;
    let cbase = block * {{CONSTS_PER_BLOCK}}u;
{{LOAD_CONSTS}}
{{INIT}}
    // Two-level summation: blocks of {{INNER}} load units are summed into fresh partials t·, which
    // are then added to the chunk totals acc·. The f32 rounding error grows with the block
    // length plus the number of blocks, not with the chunk length.
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
    let obase = (chunk * params.n_blocks + block) * {{ACCUMULATORS}}u;
{{STORE}}
}
