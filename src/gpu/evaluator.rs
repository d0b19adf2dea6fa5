//! Runs the sweep kernel: uploads sample features and kernel constants in batches that fit the
//! device's limits, dispatches, reads the per-chunk f32 partials back and adds them per grid
//! point in f64, in chunk order (deterministic).

use super::adapter::GpuContext;
use super::kernel::{self, KernelShape};
use crate::error::{Error, Result};
use crate::family::Family;
use crate::split::KernelSums;
use bytemuck::{Pod, Zeroable};
use std::time::Instant;

/// Largest partial-sum buffer read back per dispatch (bytes).
const READBACK_CAP: u64 = 64 << 20;

/// Limits the batch planner works within; from the adapter, overridable for tests.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Largest storage-buffer binding (bytes).
    pub max_binding: u64,
    /// Largest partials buffer read back per dispatch (bytes).
    pub max_readback: u64,
    /// Largest number of workgroups along one dispatch dimension.
    pub max_groups_per_dim: u32,
}

impl BatchLimits {
    fn of(limits: &wgpu::Limits) -> BatchLimits {
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        BatchLimits {
            max_binding,
            max_readback: READBACK_CAP.min(max_binding),
            max_groups_per_dim: limits.max_compute_workgroups_per_dimension,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n_samples: u32,
    n_blocks: u32,
    n_chunks: u32,
    chunk_len: u32,
    groups_x: u32,
    pad: [u32; 3],
}

/// A compiled sweep kernel for one family on one device.
pub struct GpuEvaluator<'c> {
    ctx: &'c GpuContext,
    family: &'static dyn Family,
    shape: KernelShape,
    limits: BatchLimits,
    pipeline: wgpu::ComputePipeline,
    /// Seconds spent creating the pipeline and compiling it (a warm-up dispatch).
    pub compile_seconds: f64,
}

impl<'c> GpuEvaluator<'c> {
    /// Compiles the kernel of `family` for a grid of `grid_len` points, in the shape
    /// [`KernelShape::choose`] picks for the adapter unless `shape` overrides it.
    pub fn new(
        ctx: &'c GpuContext,
        family: &'static dyn Family,
        grid_len: usize,
        shape: Option<KernelShape>,
    ) -> Result<Self> {
        let shape = shape.unwrap_or_else(|| KernelShape::choose(ctx.summary.is_software, grid_len));
        if shape.workgroup_size > ctx.limits.max_compute_invocations_per_workgroup {
            return Err(Error::input(format!(
                "kernel shape: workgroup size {} exceeds the adapter's {}",
                shape.workgroup_size, ctx.limits.max_compute_invocations_per_workgroup
            )));
        }
        Self::with_shape(ctx, family, shape, BatchLimits::of(&ctx.limits))
    }

    /// Compiles the kernel with an explicit shape and batch limits (tests use small limits to
    /// exercise the batching that large data need).
    pub fn with_shape(
        ctx: &'c GpuContext,
        family: &'static dyn Family,
        shape: KernelShape,
        limits: BatchLimits,
    ) -> Result<Self> {
        let t0 = Instant::now();
        let src = kernel::source(family, shape);
        let device = &ctx.device;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(family.name()),
            source: wgpu::ShaderSource::Wgsl(src.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(family.name()),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        ctx.take_error()?;
        let mut ev = GpuEvaluator {
            ctx,
            family,
            shape,
            limits,
            pipeline,
            compile_seconds: 0.0,
        };
        // Drivers compile lazily at the first dispatch (llvmpipe does): do it now, on empty
        // work, so that evaluation timings do not include it.
        ev.kernel_sums_impl(&[], 0, &vec![0.0f32; family.n_kernel_consts()], 1)?;
        ev.compile_seconds = t0.elapsed().as_secs_f64();
        Ok(ev)
    }

    /// The kernel shape in use.
    pub fn shape(&self) -> KernelShape {
        self.shape
    }

    /// Σᵢ k(xᵢ, θ) for every grid point. `features` holds `n × n_features` f32 values (sample
    /// major); `consts` holds `grid_len × n_kernel_consts` f32 values (point major).
    pub fn kernel_sums(&self, features: &[f32], n: usize, consts: &[f32]) -> Result<KernelSums> {
        let nc = self.family.n_kernel_consts();
        if nc == 0
            || !consts.len().is_multiple_of(nc)
            || features.len() != n * self.family.n_features()
        {
            return Err(Error::Gpu("kernel_sums: inconsistent input sizes".into()));
        }
        self.kernel_sums_impl(features, n, consts, consts.len() / nc)
    }

    fn kernel_sums_impl(
        &self,
        features: &[f32],
        n: usize,
        consts: &[f32],
        grid_len: usize,
    ) -> Result<KernelSums> {
        let device = &self.ctx.device;
        let queue = &self.ctx.queue;
        let nf = self.family.n_features();
        let nc = self.family.n_kernel_consts();
        let outside = self.family.theta_dependent_support();
        let g = self.shape.points_per_invocation();
        let a_n = self.shape.accumulators as usize;
        let wg = self.shape.workgroup_size as u64;
        let chunk_len = self.shape.chunk_len as usize;
        let lim = self.limits;

        // Grid batch: constants and one chunk's partials must fit one binding.
        let by_consts = lim.max_binding / (4 * nc as u64);
        let by_partials = lim.max_readback / 4;
        let max_points = (by_consts.min(by_partials).min(1 << 30) as usize / g) * g;
        if max_points == 0 {
            return Err(Error::Gpu(
                "device limits too small for one grid block".into(),
            ));
        }
        let grid_batch = max_points.min(grid_len.div_ceil(g) * g);

        // Sample batch, in chunks: features, partials and the dispatch size must fit.
        let chunk_bytes = (chunk_len * nf * 4) as u64;
        let by_samples = lim.max_binding / chunk_bytes;
        let by_readback = lim.max_readback / (grid_batch as u64 * 4);
        let blocks = (grid_batch / g) as u64;
        let max_invocations = (lim.max_groups_per_dim as u64).pow(2) * wg;
        let by_dispatch = max_invocations.min(1 << 31) / blocks;
        let chunks_per_batch = by_samples.min(by_readback).min(by_dispatch).max(1) as usize;
        let samples_per_batch = chunks_per_batch * chunk_len;

        let mut sums = KernelSums {
            k: vec![0.0; grid_len],
            outside: vec![0; grid_len],
            device_seconds: None,
        };
        let timer = Timer::new(self.ctx);

        // Buffers, sized for the largest batch actually used.
        let feat_floats = (n.min(samples_per_batch) * nf).div_ceil(4).max(1) * 4;
        let samples_buf = storage(device, "samples", (feat_floats * 4) as u64, false);
        let consts_floats = grid_batch * nc;
        let consts_buf = storage(device, "consts", (consts_floats * 4) as u64, false);
        let n_chunks_max = n.min(samples_per_batch).div_ceil(chunk_len).max(1);
        let partial_bytes = (n_chunks_max * grid_batch * 4) as u64;
        let partials_buf = storage(device, "partials", partial_bytes, true);
        let outside_buf = outside.then(|| storage(device, "outside", partial_bytes, true));
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: partial_bytes * if outside { 2 } else { 1 },
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let params_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: std::mem::size_of::<Params>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let layout = self.pipeline.get_bind_group_layout(0);
        let mut entries = vec![
            entry(0, &params_buf),
            entry(1, &samples_buf),
            entry(2, &consts_buf),
            entry(3, &partials_buf),
        ];
        if let Some(b) = &outside_buf {
            entries.push(entry(4, b));
        }
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("sweep"),
            layout: &layout,
            entries: &entries,
        });

        let grid_batches = grid_len.div_ceil(grid_batch).max(1);
        let mut packed = vec![0.0f32; consts_floats];
        let mut sample_start = 0usize;
        let mut packed_for = usize::MAX;
        loop {
            let batch_n = (n - sample_start).min(samples_per_batch);
            let n_chunks = batch_n.div_ceil(chunk_len).max(1);
            let feats = &features[sample_start * nf..(sample_start + batch_n) * nf];
            if !feats.is_empty() {
                queue.write_buffer(&samples_buf, 0, bytemuck::cast_slice(&pad4(feats)));
            }
            for gb in 0..grid_batches {
                let p0 = gb * grid_batch;
                let p1 = (p0 + grid_batch).min(grid_len);
                if packed_for != gb {
                    pack_consts(&consts[p0 * nc..p1 * nc], nc, a_n, &mut packed);
                    queue.write_buffer(&consts_buf, 0, bytemuck::cast_slice(&packed));
                    packed_for = gb;
                }
                let n_blocks = (p1 - p0).div_ceil(g);
                let invocations = (n_blocks * n_chunks) as u64;
                let groups = invocations.div_ceil(wg).max(1);
                let groups_x = groups.min(lim.max_groups_per_dim as u64);
                let groups_y = groups.div_ceil(groups_x);
                let params = Params {
                    n_samples: batch_n as u32,
                    n_blocks: n_blocks as u32,
                    n_chunks: if batch_n == 0 { 0 } else { n_chunks as u32 },
                    chunk_len: chunk_len as u32,
                    groups_x: groups_x as u32,
                    pad: [0; 3],
                };
                queue.write_buffer(&params_buf, 0, bytemuck::bytes_of(&params));
                let used = (n_chunks * n_blocks * g * 4) as u64;
                let mut enc = device.create_command_encoder(&Default::default());
                {
                    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("sweep"),
                        timestamp_writes: timer.as_ref().map(Timer::writes),
                    });
                    pass.set_pipeline(&self.pipeline);
                    pass.set_bind_group(0, &bind_group, &[]);
                    pass.dispatch_workgroups(groups_x as u32, groups_y as u32, 1);
                }
                enc.copy_buffer_to_buffer(&partials_buf, 0, &readback, 0, used);
                if let Some(b) = &outside_buf {
                    enc.copy_buffer_to_buffer(b, 0, &readback, partial_bytes, used);
                }
                if let Some(t) = &timer {
                    t.resolve(&mut enc);
                }
                queue.submit([enc.finish()]);
                if let Some(t) = &timer {
                    let s = t.read(self.ctx)?;
                    *sums.device_seconds.get_or_insert(0.0) += s;
                }
                if batch_n == 0 {
                    device
                        .poll(wgpu::PollType::wait_indefinitely())
                        .map_err(|e| Error::Gpu(e.to_string()))?;
                    self.ctx.take_error()?;
                    continue;
                }
                let stride = n_blocks * g;
                let real = p1 - p0;
                read_back(self.ctx, &readback, 0, used, |vals: &[f32]| {
                    let dst = &mut sums.k[p0..p1];
                    for c in 0..n_chunks {
                        for (d, &v) in dst.iter_mut().zip(&vals[c * stride..c * stride + real]) {
                            *d += v as f64;
                        }
                    }
                })?;
                if outside {
                    read_back(
                        self.ctx,
                        &readback,
                        partial_bytes,
                        used,
                        |vals: &[f32]| {
                            let dst = &mut sums.outside[p0..p1];
                            for c in 0..n_chunks {
                                for (d, &v) in
                                    dst.iter_mut().zip(&vals[c * stride..c * stride + real])
                                {
                                    *d += v as u64;
                                }
                            }
                        },
                    )?;
                }
            }
            sample_start += batch_n;
            if sample_start >= n {
                break;
            }
        }
        Ok(sums)
    }
}

/// Timestamp queries around each compute pass, where the adapter supports them.
struct Timer {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    period_ns: f64,
}

impl Timer {
    fn new(ctx: &GpuContext) -> Option<Timer> {
        if !ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY) {
            return None;
        }
        let device = &ctx.device;
        let set = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("sweep timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let resolve = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps"),
            size: 16,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps readback"),
            size: 16,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let period_ns = ctx.queue.get_timestamp_period() as f64;
        Some(Timer {
            set,
            resolve,
            readback,
            period_ns,
        })
    }

    fn writes(&self) -> wgpu::ComputePassTimestampWrites<'_> {
        wgpu::ComputePassTimestampWrites {
            query_set: &self.set,
            beginning_of_pass_write_index: Some(0),
            end_of_pass_write_index: Some(1),
        }
    }

    fn resolve(&self, enc: &mut wgpu::CommandEncoder) {
        enc.resolve_query_set(&self.set, 0..2, &self.resolve, 0);
        enc.copy_buffer_to_buffer(&self.resolve, 0, &self.readback, 0, 16);
    }

    /// Seconds between the two timestamps of the last pass.
    fn read(&self, ctx: &GpuContext) -> Result<f64> {
        let mut ticks = [0u64; 2];
        read_back(ctx, &self.readback, 0, 16, |v: &[f32]| {
            ticks.copy_from_slice(bytemuck::cast_slice(v));
        })?;
        Ok(ticks[1].saturating_sub(ticks[0]) as f64 * self.period_ns * 1e-9)
    }
}

/// Copies features into a buffer whose length is a multiple of 4 floats (whole vec4s).
pub(crate) fn pad4(f: &[f32]) -> std::borrow::Cow<'_, [f32]> {
    if f.len().is_multiple_of(4) {
        std::borrow::Cow::Borrowed(f)
    } else {
        let mut v = f.to_vec();
        v.resize(f.len().div_ceil(4) * 4, 0.0);
        std::borrow::Cow::Owned(v)
    }
}

/// Packs point-major constants into the kernel's layout: f32 index ((block·A + a)·NC + j)·4 + l
/// holds constant j of point block·4A + 4a + l. Padding points repeat the last real point, so
/// the kernel never sees undefined constants.
fn pack_consts(src: &[f32], nc: usize, a_n: usize, out: &mut [f32]) {
    let real = src.len() / nc;
    let g = 4 * a_n;
    let padded = out.len() / nc;
    for p in 0..padded {
        let q = p.min(real.saturating_sub(1));
        let (block, within) = (p / g, p % g);
        let (a, l) = (within / 4, within % 4);
        for j in 0..nc {
            let v = if real == 0 { 0.0 } else { src[q * nc + j] };
            out[((block * a_n + a) * nc + j) * 4 + l] = v;
        }
    }
}

pub(crate) fn storage(
    device: &wgpu::Device,
    label: &str,
    size: u64,
    copy_src: bool,
) -> wgpu::Buffer {
    let mut usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
    if copy_src {
        usage |= wgpu::BufferUsages::COPY_SRC;
    }
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: size.max(16).div_ceil(16) * 16,
        usage,
        mapped_at_creation: false,
    })
}

pub(crate) fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

/// Maps `len` bytes of `buf` at `offset`, hands them to `f` as f32s, and unmaps.
pub(crate) fn read_back(
    ctx: &GpuContext,
    buf: &wgpu::Buffer,
    offset: u64,
    len: u64,
    f: impl FnOnce(&[f32]),
) -> Result<()> {
    let slice = buf.slice(offset..offset + len);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| Error::Gpu(format!("waiting for the device: {e}")))?;
    ctx.take_error()?;
    rx.recv()
        .map_err(|_| Error::Gpu("readback callback dropped".into()))?
        .map_err(|e| Error::Gpu(format!("mapping the result buffer: {e}")))?;
    {
        let view = slice
            .get_mapped_range()
            .map_err(|e| Error::Gpu(format!("reading the result buffer: {e}")))?;
        f(bytemuck::cast_slice(&view));
    }
    buf.unmap();
    Ok(())
}
