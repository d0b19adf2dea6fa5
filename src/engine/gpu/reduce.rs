//! Sufficient statistics on the device: Σᵢ t(fᵢ) by the WGSL reduction
//! (`shaders/engine/reduce.wgsl`), one sub-chunk of samples per invocation, sub-chunk partials
//! added on the host in f64 in order. The pipeline is compiled once per form and device
//! ([`ReducePipeline`], cached by the session); a [`GpuReducer`] owns the buffers of one
//! evaluation, allocated once for the largest chunk.

use super::adapter::GpuContext;
use super::buffers;
use super::codegen::{reduce_source, stat_vec4s, FeatureLayout, REDUCE_CHUNK, REDUCE_WORKGROUP};
use crate::error::{Error, Result};
use crate::model::suffstats::StatsForm;
use bytemuck::{Pod, Zeroable};
use std::sync::Arc;
use std::time::Instant;

/// The reduction's parameter block; its WGSL twin is `Params` in `shaders/engine/reduce.wgsl`
/// (a test checks that the two layouts agree).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug)]
pub(crate) struct ReduceParams {
    pub fixed: [f32; 4],
    pub n_samples: u32,
    pub n_chunks: u32,
    pub chunk_len: u32,
    pub groups_x: u32,
}

/// A compiled reduction for one statistics form and feature count on one device.
pub struct ReducePipeline {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    form: StatsForm,
    nf: usize,
    /// Seconds spent creating and compiling it (a warm-up dispatch).
    pub compile_seconds: f64,
}

impl ReducePipeline {
    /// Compiles the reduction of `form` over `nf` features, including the driver's lazy
    /// compilation (a dispatch on empty work).
    pub fn compile(
        ctx: &Arc<GpuContext>,
        form: StatsForm,
        nf: usize,
    ) -> Result<Arc<ReducePipeline>> {
        let t0 = Instant::now();
        let pipeline = buffers::compute_pipeline(ctx, "suffstats", reduce_source(form, nf))?;
        let layout = pipeline.get_bind_group_layout(0);
        let p = Arc::new(ReducePipeline {
            pipeline,
            layout,
            form,
            nf,
            compile_seconds: 0.0,
        });
        {
            let mut warm = GpuReducer::new(ctx.clone(), p.clone(), 1)?;
            warm.reduce(&[], 0, [0.0; 4])?;
        }
        let mut p = Arc::try_unwrap(p)
            .map_err(|_| Error::Gpu("reduce pipeline still in use after warm-up".into()))?;
        p.compile_seconds = t0.elapsed().as_secs_f64();
        Ok(Arc::new(p))
    }
}

/// One evaluation's reduction buffers (allocated once for chunks of up to `max_n` samples).
pub struct GpuReducer {
    ctx: Arc<GpuContext>,
    kernel: Arc<ReducePipeline>,
    layout: FeatureLayout,
    nv: usize,
    samples_per_batch: usize,
    samples: wgpu::Buffer,
    partials: wgpu::Buffer,
    readback: wgpu::Buffer,
    params: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    staging: Vec<f32>,
}

impl GpuReducer {
    /// Buffers for reducing chunks of up to `max_n` samples.
    pub fn new(
        ctx: Arc<GpuContext>,
        kernel: Arc<ReducePipeline>,
        max_n: usize,
    ) -> Result<GpuReducer> {
        let device = &ctx.device;
        let layout = FeatureLayout::new(kernel.nf);
        let nv = stat_vec4s(kernel.form, kernel.nf);
        let max_binding = ctx
            .limits
            .max_storage_buffer_binding_size
            .min(ctx.limits.max_buffer_size) as usize;
        let max_groups = ctx.limits.max_compute_workgroups_per_dimension as usize;
        // Whole sub-chunks per batch, bounded by the binding size and the dispatch size.
        let chunks_per_batch = (max_binding / (layout.floats(REDUCE_CHUNK) * 4))
            .min(max_groups * max_groups * REDUCE_WORKGROUP)
            .max(1);
        let samples_per_batch = chunks_per_batch * REDUCE_CHUNK;
        let batch_n = max_n.min(samples_per_batch).max(1);
        let samples = buffers::storage(
            device,
            "samples",
            (layout.floats(batch_n) * 4) as u64,
            false,
        );
        let n_chunks_max = batch_n.div_ceil(REDUCE_CHUNK);
        let partial_bytes = (n_chunks_max * nv * 16) as u64;
        let partials = buffers::storage(device, "partials", partial_bytes, true);
        let readback = buffers::readback(device, "readback", partial_bytes);
        let params = buffers::uniform(device, "params", std::mem::size_of::<ReduceParams>());
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("suffstats"),
            layout: &kernel.layout,
            entries: &[
                buffers::entry(0, &params),
                buffers::entry(1, &samples),
                buffers::entry(2, &partials),
            ],
        });
        ctx.take_error()?;
        Ok(GpuReducer {
            ctx,
            kernel,
            layout,
            nv,
            samples_per_batch,
            samples,
            partials,
            readback,
            params,
            bind_group,
            staging: Vec::new(),
        })
    }

    /// Σᵢ t(fᵢ) over `n` samples whose features (`nf` per sample, f32) are `features`; `fixed`
    /// holds the first kernel constants of the grid (read by [`StatsForm::ExpScaled`]). Returns
    /// one f64 total per statistic.
    pub fn reduce(&mut self, features: &[f32], n: usize, fixed: [f32; 4]) -> Result<Vec<f64>> {
        let nf = self.kernel.nf;
        let mut totals = vec![0f64; self.nv * 4];
        let max_groups = self.ctx.limits.max_compute_workgroups_per_dimension as usize;
        let mut start = 0;
        while start < n {
            let len = (n - start).min(self.samples_per_batch);
            let n_chunks = len.div_ceil(REDUCE_CHUNK);
            let data = self
                .layout
                .packed(&features[start * nf..(start + len) * nf], &mut self.staging);
            self.ctx
                .queue
                .write_buffer(&self.samples, 0, bytemuck::cast_slice(data));
            let groups = n_chunks.div_ceil(REDUCE_WORKGROUP);
            let groups_x = groups.min(max_groups);
            let groups_y = groups.div_ceil(groups_x);
            let params = ReduceParams {
                fixed,
                n_samples: len as u32,
                n_chunks: n_chunks as u32,
                chunk_len: REDUCE_CHUNK as u32,
                groups_x: groups_x as u32,
            };
            self.ctx
                .queue
                .write_buffer(&self.params, 0, bytemuck::bytes_of(&params));
            let mut enc = self.ctx.device.create_command_encoder(&Default::default());
            {
                let mut pass = enc.begin_compute_pass(&Default::default());
                pass.set_pipeline(&self.kernel.pipeline);
                pass.set_bind_group(0, &self.bind_group, &[]);
                pass.dispatch_workgroups(groups_x as u32, groups_y as u32, 1);
            }
            let used = (n_chunks * self.nv * 16) as u64;
            enc.copy_buffer_to_buffer(&self.partials, 0, &self.readback, 0, used);
            let index = self.ctx.queue.submit([enc.finish()]);
            let m = buffers::map(&self.readback, 0, used);
            let nv4 = self.nv * 4;
            m.read(&self.ctx, &self.readback, Some(index), |v: &[f32]| {
                for c in v.chunks_exact(nv4) {
                    for (t, &x) in totals.iter_mut().zip(c) {
                        *t += x as f64;
                    }
                }
            })?;
            start += len;
        }
        if n == 0 {
            // An empty reduction still runs once (the warm-up that forces lazy compilation).
            let params = ReduceParams {
                fixed,
                n_samples: 0,
                n_chunks: 0,
                chunk_len: REDUCE_CHUNK as u32,
                groups_x: 1,
            };
            self.ctx
                .queue
                .write_buffer(&self.params, 0, bytemuck::bytes_of(&params));
            let mut enc = self.ctx.device.create_command_encoder(&Default::default());
            {
                let mut pass = enc.begin_compute_pass(&Default::default());
                pass.set_pipeline(&self.kernel.pipeline);
                pass.set_bind_group(0, &self.bind_group, &[]);
                pass.dispatch_workgroups(1, 1, 1);
            }
            let index = self.ctx.queue.submit([enc.finish()]);
            buffers::wait(&self.ctx, Some(index))?;
        }
        totals.truncate(self.kernel.form.n_stats(nf));
        Ok(totals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::gpu::codegen::struct_layout;

    /// `ReduceParams` must have the size and member offsets of the WGSL `Params`.
    #[test]
    fn reduce_params_match_the_wgsl_struct() {
        use std::mem::offset_of;
        let src = reduce_source(StatsForm::ExpScaled(1), 1);
        let module = naga::front::wgsl::parse_str(&src).unwrap();
        let (size, offsets) = struct_layout(&module, "Params");
        assert_eq!(size as usize, std::mem::size_of::<ReduceParams>());
        assert_eq!(
            offsets,
            vec![
                ("fixed".to_string(), offset_of!(ReduceParams, fixed) as u32),
                (
                    "n_samples".to_string(),
                    offset_of!(ReduceParams, n_samples) as u32
                ),
                (
                    "n_chunks".to_string(),
                    offset_of!(ReduceParams, n_chunks) as u32
                ),
                (
                    "chunk_len".to_string(),
                    offset_of!(ReduceParams, chunk_len) as u32
                ),
                (
                    "groups_x".to_string(),
                    offset_of!(ReduceParams, groups_x) as u32
                ),
            ]
        );
    }
}
