//! Evaluating a WGSL library function on the device, element-wise: what tests of the shader
//! libraries (`shaders/lib/`) use to compare the device's f32 results with f64.

use super::adapter::GpuContext;
use super::buffers::{compute_pipeline, entry, map, readback, storage};
use crate::error::Result;

/// `function`, a `fn(vec4<f32>) -> vec4<f32>` of the WGSL `library`, applied to `xs` on the
/// device (four values per invocation).
pub fn eval_vec4(ctx: &GpuContext, library: &str, function: &str, xs: &[f32]) -> Result<Vec<f32>> {
    let mut data = xs.to_vec();
    data.resize(xs.len().div_ceil(4).max(1) * 4, 0.0);
    let n4 = data.len() / 4;
    let src = format!(
        "{library}\n@group(0) @binding(0) var<storage, read_write> data: array<vec4<f32>>;\n\
         @compute @workgroup_size(64)\n\
         fn main(@builtin(global_invocation_id) id: vec3<u32>) {{\n\
           let i = id.x + id.y * 4194240u;\n\
           if (i >= {n4}u) {{ return; }}\n\
           data[i] = {function}(data[i]);\n\
         }}\n"
    );
    let device = &ctx.device;
    let pipeline = compute_pipeline(ctx, "probe", src)?;
    let bytes = (data.len() * 4) as u64;
    let buf = storage(device, "probe data", bytes, true);
    ctx.queue.write_buffer(&buf, 0, bytemuck::cast_slice(&data));
    let back = readback(device, "probe readback", bytes);
    let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[entry(0, &buf)],
    });
    let mut enc = device.create_command_encoder(&Default::default());
    {
        let mut pass = enc.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind, &[]);
        let groups = n4.div_ceil(64) as u32;
        let (gx, gy) = (groups.min(65_535), groups.div_ceil(65_535));
        pass.dispatch_workgroups(gx, gy, 1);
    }
    enc.copy_buffer_to_buffer(&buf, 0, &back, 0, bytes.div_ceil(16) * 16);
    let index = ctx.queue.submit([enc.finish()]);
    let mut out = Vec::with_capacity(xs.len());
    map(&back, 0, bytes).read(ctx, &back, Some(index), |v| {
        out.extend_from_slice(&v[..xs.len()])
    })?;
    Ok(out)
}
