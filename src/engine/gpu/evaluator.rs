//! The sweep kernel on the device: a compiled [`SweepPipeline`] (one per family, shape and
//! device, cached by the session), and a [`GpuSweep`] that owns the buffers of one evaluation —
//! allocated once, sized for the largest chunk — and runs chunk after chunk through them.
//!
//! A chunk's samples are uploaded and evaluated in batches that fit the device's limits (any n,
//! any grid); each dispatch's per-sub-chunk f32 partials are copied to one of two readback
//! buffers and added per grid point in f64, in sub-chunk order (deterministic). Two readback
//! buffers let the device run dispatch d + 1 — and the host prepare the next chunk — while the
//! host reads dispatch d back: a chunk is submitted by [`GpuSweep::submit`] and its sums are
//! collected later ([`GpuSweep::take_finished`]).

use super::adapter::GpuContext;
use super::buffers::{self, Mapping, Timer};
use super::codegen::{sweep_source, FeatureLayout};
use super::shape::KernelShape;
use crate::engine::partials::KernelSums;
use crate::error::{Error, Result};
use crate::model::Family;
use bytemuck::{Pod, Zeroable};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

/// Largest partial-sum buffer read back per dispatch (bytes).
const READBACK_CAP: u64 = 64 << 20;

/// Limits the batch planner works within; from the adapter, overridable for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Largest storage-buffer binding (bytes).
    pub max_binding: u64,
    /// Largest partials buffer read back per dispatch (bytes).
    pub max_readback: u64,
    /// Largest number of workgroups along one dispatch dimension.
    pub max_groups_per_dim: u32,
}

impl BatchLimits {
    /// The limits of an open device.
    pub fn of(limits: &wgpu::Limits) -> BatchLimits {
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

/// The sweep kernel's parameter block; its WGSL twin is `Params` in `shaders/engine/sweep.wgsl`
/// (a test checks that the two layouts agree).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Debug, PartialEq)]
pub(crate) struct SweepParams {
    pub n_samples: u32,
    pub n_blocks: u32,
    pub n_chunks: u32,
    pub chunk_len: u32,
    pub groups_x: u32,
    pub pad: [u32; 3],
}

/// A compiled sweep kernel for one family and shape on one device.
pub struct SweepPipeline {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    shape: KernelShape,
    nf: usize,
    nc: usize,
    outside: bool,
    /// Seconds spent creating the pipeline and compiling it (a warm-up dispatch).
    pub compile_seconds: f64,
}

impl SweepPipeline {
    /// Compiles the kernel of `family` in `shape`, including the driver's lazy compilation
    /// (forced by a dispatch on empty work, so that evaluation timings do not include it).
    pub fn compile(
        ctx: &Arc<GpuContext>,
        family: &dyn Family,
        shape: KernelShape,
    ) -> Result<Arc<SweepPipeline>> {
        if shape.workgroup_size > ctx.limits.max_compute_invocations_per_workgroup {
            return Err(Error::input(format!(
                "kernel shape: workgroup size {} exceeds the adapter's {}",
                shape.workgroup_size, ctx.limits.max_compute_invocations_per_workgroup
            )));
        }
        let t0 = Instant::now();
        let src = sweep_source(family, shape);
        let pipeline = buffers::compute_pipeline(ctx, family.name(), src)?;
        let layout = pipeline.get_bind_group_layout(0);
        let p = Arc::new(SweepPipeline {
            pipeline,
            layout,
            shape,
            nf: family.n_features(),
            nc: family.n_kernel_consts(),
            outside: family.theta_dependent_support(),
            compile_seconds: 0.0,
        });
        // Drivers compile lazily at the first dispatch (llvmpipe does): do it now.
        {
            let limits = BatchLimits::of(&ctx.limits);
            let mut warm = GpuSweep::new(ctx.clone(), p.clone(), limits, 1, 1)?;
            warm.set_consts(&vec![0.0; p.nc]);
            warm.submit(&[], 0)?;
            warm.drain()?;
        }
        let mut p = Arc::try_unwrap(p)
            .map_err(|_| Error::Gpu("sweep pipeline still in use after warm-up".into()))?;
        p.compile_seconds = t0.elapsed().as_secs_f64();
        Ok(Arc::new(p))
    }

    /// The kernel shape.
    pub fn shape(&self) -> KernelShape {
        self.shape
    }
}

/// How one evaluation cuts its work: grid points per dispatch and samples per batch.
#[derive(Debug, Clone, Copy)]
struct Plan {
    grid_batch: usize,
    samples_per_batch: usize,
}

impl Plan {
    /// The plan for `grid_len` points.
    fn new(p: &SweepPipeline, limits: BatchLimits, grid_len: usize) -> Result<Plan> {
        let g = p.shape.points_per_invocation();
        let wg = p.shape.workgroup_size as u64;
        let chunk_len = p.shape.chunk_len as usize;
        let layout = FeatureLayout::new(p.nf);
        // Grid batch: constants and one sub-chunk's partials must fit one binding.
        let by_consts = limits.max_binding / (4 * p.nc.max(1) as u64);
        let by_partials = limits.max_readback / 4;
        let max_points = (by_consts.min(by_partials).min(1 << 30) as usize / g) * g;
        if max_points == 0 {
            return Err(Error::Gpu(
                "device limits too small for one grid block".into(),
            ));
        }
        let grid_batch = max_points.min(grid_len.div_ceil(g) * g);
        // Sample batch, in sub-chunks: features, partials and the dispatch size must fit.
        let chunk_bytes = (layout.floats(chunk_len) * 4) as u64;
        let by_samples = limits.max_binding / chunk_bytes;
        let by_readback = limits.max_readback / (grid_batch as u64 * 4);
        let blocks = (grid_batch / g) as u64;
        let max_invocations = (limits.max_groups_per_dim as u64).pow(2) * wg;
        let by_dispatch = max_invocations.min(1 << 31) / blocks;
        let chunks_per_batch = by_samples.min(by_readback).min(by_dispatch).max(1) as usize;
        Ok(Plan {
            grid_batch,
            samples_per_batch: chunks_per_batch * chunk_len,
        })
    }
}

/// One dispatch whose results are on their way back.
struct InFlight {
    slot: usize,
    index: wgpu::SubmissionIndex,
    /// The partials, followed (θ-dependent supports) by the outside counts.
    partials: Mapping,
    timer: Option<Mapping>,
    /// Sequence number of the chunk it belongs to.
    chunk: u64,
    /// Grid points [p0, p1) of the dispatch, its sub-chunks and the stride between them.
    p0: usize,
    p1: usize,
    n_chunks: usize,
    stride: usize,
}

/// A chunk submitted but not yet complete.
struct Pending {
    seq: u64,
    sums: KernelSums,
    dispatches: usize,
    submitted: bool,
}

/// The readback side of one of the two slots.
struct Slot {
    readback: wgpu::Buffer,
    timer: Option<Timer>,
}

/// One evaluation's device state: the kernel, its buffers (allocated once) and the chunks in
/// flight.
pub struct GpuSweep {
    ctx: Arc<GpuContext>,
    kernel: Arc<SweepPipeline>,
    limits: BatchLimits,
    plan: Plan,
    grid_len: usize,
    layout: FeatureLayout,
    samples: wgpu::Buffer,
    consts_buf: wgpu::Buffer,
    partials: wgpu::Buffer,
    outside: Option<wgpu::Buffer>,
    params: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    slots: [Slot; 2],
    partial_bytes: u64,
    /// Point-major f32 constants of the whole grid, and the grid batch the device holds.
    consts: Vec<f32>,
    packed: Vec<f32>,
    packed_for: Option<usize>,
    staging: Vec<f32>,
    in_flight: VecDeque<InFlight>,
    pending: VecDeque<Pending>,
    next_seq: u64,
}

impl GpuSweep {
    /// Buffers for evaluating `grid_len` points in chunks of up to `max_n` samples.
    pub fn new(
        ctx: Arc<GpuContext>,
        kernel: Arc<SweepPipeline>,
        limits: BatchLimits,
        grid_len: usize,
        max_n: usize,
    ) -> Result<GpuSweep> {
        let plan = Plan::new(&kernel, limits, grid_len)?;
        let layout = FeatureLayout::new(kernel.nf);
        let device = &ctx.device;
        let chunk_len = kernel.shape.chunk_len as usize;
        let batch_n = max_n.min(plan.samples_per_batch).max(1);
        let samples = buffers::storage(
            device,
            "samples",
            (layout.floats(batch_n) * 4) as u64,
            false,
        );
        let consts_buf = buffers::storage(
            device,
            "consts",
            (plan.grid_batch * kernel.nc.max(1) * 4) as u64,
            false,
        );
        let n_chunks_max = batch_n.div_ceil(chunk_len).max(1);
        let partial_bytes = (n_chunks_max * plan.grid_batch * 4) as u64;
        let partials = buffers::storage(device, "partials", partial_bytes, true);
        let outside = kernel
            .outside
            .then(|| buffers::storage(device, "outside", partial_bytes, true));
        let params = buffers::uniform(device, "params", std::mem::size_of::<SweepParams>());
        let mut entries = vec![
            buffers::entry(0, &params),
            buffers::entry(1, &samples),
            buffers::entry(2, &consts_buf),
            buffers::entry(3, &partials),
        ];
        if let Some(b) = &outside {
            entries.push(buffers::entry(4, b));
        }
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("sweep"),
            layout: &kernel.layout,
            entries: &entries,
        });
        let rb_bytes = partial_bytes * if kernel.outside { 2 } else { 1 };
        let slot = |name| Slot {
            readback: buffers::readback(device, name, rb_bytes),
            timer: Timer::new(&ctx),
        };
        let slots = [slot("readback 0"), slot("readback 1")];
        ctx.take_error()?;
        Ok(GpuSweep {
            limits,
            plan,
            grid_len,
            layout,
            samples,
            consts_buf,
            partials,
            outside,
            params,
            bind_group,
            slots,
            partial_bytes,
            consts: Vec::new(),
            packed: vec![0.0; plan.grid_batch * kernel.nc.max(1)],
            packed_for: None,
            staging: Vec::new(),
            in_flight: VecDeque::new(),
            pending: VecDeque::new(),
            next_seq: 0,
            ctx,
            kernel,
        })
    }

    /// The kernel shape in use.
    pub fn shape(&self) -> KernelShape {
        self.kernel.shape
    }

    /// Number of grid points the buffers were planned for.
    pub fn grid_len(&self) -> usize {
        self.grid_len
    }

    /// Sets the kernel constants of every grid point (`grid_len × n_kernel_consts`, point-major,
    /// computed in f64 and rounded to f32) for the chunks that follow.
    pub fn set_consts(&mut self, consts: &[f32]) {
        self.consts.clear();
        self.consts.extend_from_slice(consts);
        self.packed_for = None;
    }

    /// Uploads and dispatches one chunk: `features` holds `n × n_features` f32 values
    /// (sample-major). Its sums come back through [`GpuSweep::take_finished`], in submission
    /// order.
    pub fn submit(&mut self, features: &[f32], n: usize) -> Result<()> {
        if features.len() != n * self.kernel.nf
            || self.consts.len() != self.grid_len * self.kernel.nc
        {
            return Err(Error::Gpu("sweep: inconsistent input sizes".into()));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.push_back(Pending {
            seq,
            sums: KernelSums {
                k: vec![0.0; self.grid_len],
                outside: vec![0; self.grid_len],
                device_seconds: None,
            },
            dispatches: 0,
            submitted: false,
        });
        let nf = self.kernel.nf;
        let nc = self.kernel.nc;
        let g = self.kernel.shape.points_per_invocation();
        let a_n = self.kernel.shape.accumulators as usize;
        let wg = self.kernel.shape.workgroup_size as u64;
        let chunk_len = self.kernel.shape.chunk_len as usize;
        let max_groups = self.limits.max_groups_per_dim as u64;
        let grid_batches = self.grid_len.div_ceil(self.plan.grid_batch).max(1);
        let mut start = 0usize;
        loop {
            let batch_n = (n - start).min(self.plan.samples_per_batch);
            let n_chunks = batch_n.div_ceil(chunk_len).max(1);
            if batch_n > 0 {
                let data = self.layout.packed(
                    &features[start * nf..(start + batch_n) * nf],
                    &mut self.staging,
                );
                self.ctx
                    .queue
                    .write_buffer(&self.samples, 0, bytemuck::cast_slice(data));
            }
            for gb in 0..grid_batches {
                let p0 = gb * self.plan.grid_batch;
                let p1 = (p0 + self.plan.grid_batch).min(self.grid_len);
                if self.packed_for != Some(gb) {
                    pack_consts(&self.consts[p0 * nc..p1 * nc], nc, a_n, &mut self.packed);
                    self.ctx.queue.write_buffer(
                        &self.consts_buf,
                        0,
                        bytemuck::cast_slice(&self.packed),
                    );
                    self.packed_for = Some(gb);
                }
                let n_blocks = (p1 - p0).div_ceil(g);
                let invocations = (n_blocks * n_chunks) as u64;
                let groups = invocations.div_ceil(wg).max(1);
                let groups_x = groups.min(max_groups);
                let groups_y = groups.div_ceil(groups_x);
                let params = SweepParams {
                    n_samples: batch_n as u32,
                    n_blocks: n_blocks as u32,
                    n_chunks: if batch_n == 0 { 0 } else { n_chunks as u32 },
                    chunk_len: chunk_len as u32,
                    groups_x: groups_x as u32,
                    pad: [0; 3],
                };
                self.ctx
                    .queue
                    .write_buffer(&self.params, 0, bytemuck::bytes_of(&params));
                // A free slot: the oldest dispatch must have been read back.
                if self.in_flight.len() == 2 {
                    self.collect_oldest()?;
                }
                let slot = (0..2)
                    .find(|s| self.in_flight.iter().all(|d| d.slot != *s))
                    .expect("a free slot");
                let used = (n_chunks * n_blocks * g * 4) as u64;
                let mut enc = self.ctx.device.create_command_encoder(&Default::default());
                {
                    let sl = &self.slots[slot];
                    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("sweep"),
                        timestamp_writes: sl.timer.as_ref().map(Timer::writes),
                    });
                    pass.set_pipeline(&self.kernel.pipeline);
                    pass.set_bind_group(0, &self.bind_group, &[]);
                    pass.dispatch_workgroups(groups_x as u32, groups_y as u32, 1);
                }
                let sl = &self.slots[slot];
                enc.copy_buffer_to_buffer(&self.partials, 0, &sl.readback, 0, used);
                if let Some(b) = &self.outside {
                    enc.copy_buffer_to_buffer(b, 0, &sl.readback, self.partial_bytes, used);
                }
                if let Some(t) = &sl.timer {
                    t.resolve(&mut enc);
                }
                let index = self.ctx.queue.submit([enc.finish()]);
                let real = batch_n > 0;
                // One mapping (a buffer maps once at a time): the partials, and the outside
                // counts after them at `partial_bytes`.
                let mapped = match &self.outside {
                    Some(_) => self.partial_bytes + used,
                    None => used,
                };
                let partials = buffers::map(&sl.readback, 0, mapped);
                let timer = sl.timer.as_ref().map(Timer::map);
                self.in_flight.push_back(InFlight {
                    slot,
                    index,
                    partials,
                    timer,
                    chunk: seq,
                    p0,
                    p1: if real { p1 } else { p0 },
                    n_chunks: if real { n_chunks } else { 0 },
                    stride: n_blocks * g,
                });
                if let Some(p) = self.pending.back_mut() {
                    p.dispatches += 1;
                }
            }
            start += batch_n;
            if start >= n {
                break;
            }
        }
        if let Some(p) = self.pending.back_mut() {
            p.submitted = true;
        }
        Ok(())
    }

    /// Reads the oldest dispatch back and adds it into its chunk's sums.
    fn collect_oldest(&mut self) -> Result<()> {
        let Some(d) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let sl = &self.slots[d.slot];
        let pending = self
            .pending
            .iter_mut()
            .find(|p| p.seq == d.chunk)
            .ok_or_else(|| Error::Gpu("sweep: dispatch of an unknown chunk".into()))?;
        let sums = &mut pending.sums;
        let real = d.p1 - d.p0;
        let outside_at = self
            .outside
            .as_ref()
            .map(|_| (self.partial_bytes / 4) as usize);
        d.partials.read(
            &self.ctx,
            &sl.readback,
            Some(d.index.clone()),
            |vals: &[f32]| {
                let dst = &mut sums.k[d.p0..d.p1];
                for c in 0..d.n_chunks {
                    for (s, &v) in dst.iter_mut().zip(&vals[c * d.stride..c * d.stride + real]) {
                        *s += v as f64;
                    }
                }
                if let Some(o) = outside_at {
                    let counts = &vals[o..];
                    let dst = &mut sums.outside[d.p0..d.p1];
                    for c in 0..d.n_chunks {
                        for (s, &v) in dst
                            .iter_mut()
                            .zip(&counts[c * d.stride..c * d.stride + real])
                        {
                            *s += v as u64;
                        }
                    }
                }
            },
        )?;
        if let (Some(m), Some(t)) = (d.timer, &sl.timer) {
            let s = t.read(&self.ctx, m, Some(d.index))?;
            *sums.device_seconds.get_or_insert(0.0) += s;
        }
        pending.dispatches -= 1;
        Ok(())
    }

    /// The sums of the oldest submitted chunk, once all its dispatches are back (`None` while
    /// it is still running).
    pub fn take_finished(&mut self) -> Option<KernelSums> {
        let front = self.pending.front()?;
        if front.submitted && front.dispatches == 0 {
            self.pending.pop_front().map(|p| p.sums)
        } else {
            None
        }
    }

    /// Waits for everything in flight.
    pub fn drain(&mut self) -> Result<()> {
        while !self.in_flight.is_empty() {
            self.collect_oldest()?;
        }
        Ok(())
    }

    /// Whether chunks are still in flight or waiting to be taken.
    pub fn busy(&self) -> bool {
        !self.pending.is_empty()
    }
}

/// Packs point-major constants into the kernel's layout: f32 index ((block·A + a)·NC + j)·4 + l
/// holds constant j of point block·4A + 4a + l. Padding points repeat the last real point, so
/// the kernel never sees undefined constants.
fn pack_consts(src: &[f32], nc: usize, a_n: usize, out: &mut [f32]) {
    if nc == 0 {
        return;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::gpu::codegen::struct_layout;
    use crate::model::lookup;

    /// `SweepParams` must have the size and member offsets of the WGSL `Params`.
    #[test]
    fn sweep_params_match_the_wgsl_struct() {
        let fam = lookup("normal").unwrap();
        let src = sweep_source(
            fam,
            KernelShape {
                accumulators: 1,
                workgroup_size: 32,
                chunk_len: 4096,
            },
        );
        let module = naga::front::wgsl::parse_str(&src).unwrap();
        let (size, offsets) = struct_layout(&module, "Params");
        assert_eq!(size as usize, std::mem::size_of::<SweepParams>());
        use std::mem::offset_of;
        assert_eq!(
            offsets,
            vec![
                (
                    "n_samples".to_string(),
                    offset_of!(SweepParams, n_samples) as u32
                ),
                (
                    "n_blocks".to_string(),
                    offset_of!(SweepParams, n_blocks) as u32
                ),
                (
                    "n_chunks".to_string(),
                    offset_of!(SweepParams, n_chunks) as u32
                ),
                (
                    "chunk_len".to_string(),
                    offset_of!(SweepParams, chunk_len) as u32
                ),
                (
                    "groups_x".to_string(),
                    offset_of!(SweepParams, groups_x) as u32
                ),
                ("pad0".to_string(), offset_of!(SweepParams, pad) as u32),
                ("pad1".to_string(), offset_of!(SweepParams, pad) as u32 + 4),
                ("pad2".to_string(), offset_of!(SweepParams, pad) as u32 + 8),
            ]
        );
    }

    #[test]
    fn constants_are_packed_per_block_with_the_last_point_repeated() {
        // 3 points, 2 constants, A = 1 (4 points per block).
        let src = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0];
        let mut out = vec![0.0; 8];
        pack_consts(&src, 2, 1, &mut out);
        assert_eq!(out, vec![1.0, 2.0, 3.0, 3.0, 10.0, 20.0, 30.0, 30.0]);
    }
}
