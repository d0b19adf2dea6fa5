//! Sufficient statistics on the GPU: Σᵢ t(fᵢ) by a WGSL reduction (`shaders/suffstats.wgsl`),
//! one chunk of samples per invocation, chunk partials added on the host in f64 in chunk order.

use super::adapter::GpuContext;
use super::evaluator::{entry, pad4, read_back, storage};
use crate::error::Result;
use crate::family::suffstats::{StatsForm, MAX_STATS};
use bytemuck::{Pod, Zeroable};
use std::fmt::Write;

const TEMPLATE: &str = include_str!("../../shaders/suffstats.wgsl");

/// Samples per chunk (one invocation's loop).
const CHUNK_LEN: usize = 4096;
/// Invocations per workgroup.
const WORKGROUP: usize = 64;
/// vec4 loads per inner summation block.
const INNER: usize = 16;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    fixed: [f32; 4],
    n_samples: u32,
    n_chunks: u32,
    chunk_len: u32,
    groups_x: u32,
}

/// The WGSL expression of t(f0, f1) for a form.
fn stats_expr(form: StatsForm, nf: usize) -> String {
    match form {
        StatsForm::Linear if nf == 1 => "vec4<f32>(f0, 0.0, 0.0, 0.0)".into(),
        StatsForm::Linear => "vec4<f32>(f0, f1, 0.0, 0.0)".into(),
        StatsForm::Quadratic => "vec4<f32>(f0, f0 * f0, 0.0, 0.0)".into(),
        StatsForm::ExpScaled(j) => {
            let lane = ["x", "y", "z", "w"][j.min(3)];
            format!("vec4<f32>(f0, exp(params.fixed.{lane} * f0), 0.0, 0.0)")
        }
    }
}

/// The WGSL module for `form` with `nf` features per sample.
pub fn source(form: StatsForm, nf: usize) -> String {
    let spv = 4 / nf;
    let lanes = ["x.x", "x.y", "x.z", "x.w"];
    let stmt = |s: usize, acc: &str, indent: &str| {
        let f0 = lanes[s * nf];
        let f1 = if nf == 2 { lanes[s * nf + 1] } else { "0.0" };
        format!("{indent}{acc} = {acc} + stats({f0}, {f1});\n")
    };
    let mut full = String::new();
    for s in 0..spv {
        full.push_str(&stmt(s, "t", "            "));
    }
    let mut tail = stmt(0, "acc", "        ");
    for s in 1..spv {
        writeln!(tail, "        if (rest > {s}u) {{").unwrap();
        tail.push_str(&stmt(s, "acc", "            "));
        writeln!(tail, "        }}").unwrap();
    }
    TEMPLATE
        .replace("{{STATS}}", &stats_expr(form, nf))
        .replace("{{WORKGROUP_SIZE}}", &WORKGROUP.to_string())
        .replace("{{SAMPLES_PER_VEC4}}", &spv.to_string())
        .replace("{{INNER}}", &INNER.to_string())
        .replace("{{BODY_FULL}}", full.trim_end())
        .replace("{{BODY_TAIL}}", tail.trim_end())
}

/// Σᵢ t(fᵢ) over `n` samples whose features (`nf` per sample, f32) are `features`; `fixed`
/// holds the first kernel constants of the grid (read by [`StatsForm::ExpScaled`]).
pub fn reduce(
    ctx: &GpuContext,
    form: StatsForm,
    nf: usize,
    features: &[f32],
    n: usize,
    fixed: [f32; 4],
) -> Result<[f64; MAX_STATS]> {
    let device = &ctx.device;
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("suffstats"),
        source: wgpu::ShaderSource::Wgsl(source(form, nf).into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("suffstats"),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    ctx.take_error()?;
    let max_binding = ctx
        .limits
        .max_storage_buffer_binding_size
        .min(ctx.limits.max_buffer_size) as usize;
    let max_groups = ctx.limits.max_compute_workgroups_per_dimension as usize;
    // Whole chunks per batch, bounded by the binding size and the dispatch size.
    let chunks_per_batch = (max_binding / (CHUNK_LEN * nf * 4))
        .min(max_groups * max_groups * WORKGROUP)
        .max(1);
    let samples_per_batch = chunks_per_batch * CHUNK_LEN;
    let batch_n = n.min(samples_per_batch).max(1);
    let samples_buf = storage(
        device,
        "samples",
        ((batch_n * nf).div_ceil(4) * 16) as u64,
        false,
    );
    let n_chunks_max = batch_n.div_ceil(CHUNK_LEN);
    let partial_bytes = (n_chunks_max * 16) as u64;
    let partials_buf = storage(device, "partials", partial_bytes, true);
    let readback = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: partial_bytes.max(16),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let params_buf = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("params"),
        size: std::mem::size_of::<Params>() as u64,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("suffstats"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            entry(0, &params_buf),
            entry(1, &samples_buf),
            entry(2, &partials_buf),
        ],
    });
    let mut totals = [0f64; MAX_STATS];
    let mut start = 0;
    while start < n {
        let len = (n - start).min(samples_per_batch);
        let n_chunks = len.div_ceil(CHUNK_LEN);
        ctx.queue.write_buffer(
            &samples_buf,
            0,
            bytemuck::cast_slice(&pad4(&features[start * nf..(start + len) * nf])),
        );
        let groups = n_chunks.div_ceil(WORKGROUP);
        let groups_x = groups.min(max_groups);
        let groups_y = groups.div_ceil(groups_x);
        let params = Params {
            fixed,
            n_samples: len as u32,
            n_chunks: n_chunks as u32,
            chunk_len: CHUNK_LEN as u32,
            groups_x: groups_x as u32,
        };
        ctx.queue
            .write_buffer(&params_buf, 0, bytemuck::bytes_of(&params));
        let mut enc = device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(groups_x as u32, groups_y as u32, 1);
        }
        let used = (n_chunks * 16) as u64;
        enc.copy_buffer_to_buffer(&partials_buf, 0, &readback, 0, used);
        ctx.queue.submit([enc.finish()]);
        read_back(ctx, &readback, 0, used, |v: &[f32]| {
            for c in v.chunks_exact(4) {
                for (t, &x) in totals.iter_mut().zip(c) {
                    *t += x as f64;
                }
            }
        })?;
        start += len;
    }
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_stats_source_validates_for_every_form() {
        for (form, nf) in [
            (StatsForm::Linear, 1),
            (StatsForm::Linear, 2),
            (StatsForm::Quadratic, 1),
            (StatsForm::ExpScaled(1), 1),
        ] {
            let src = source(form, nf);
            let module = naga::front::wgsl::parse_str(&src)
                .unwrap_or_else(|e| panic!("{form:?}: {}", e.emit_to_string(&src)));
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::default(),
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{form:?}: {e:?}"));
        }
    }
}
