//! Small helpers for the device resources the evaluators own: storage and readback buffers,
//! bind-group entries, mapping a readback, and timestamp queries around a pass.

use super::adapter::GpuContext;
use crate::error::{Error, Result};

/// A storage buffer of at least `size` bytes (rounded up to 16), writable from the host;
/// `copy_src` when its contents are copied to a readback buffer.
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

/// A buffer the host maps to read results back.
pub(crate) fn readback(device: &wgpu::Device, label: &str, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: size.max(16).div_ceil(16) * 16,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// A uniform buffer for a `#[repr(C)]` parameter block of `size` bytes.
pub(crate) fn uniform(device: &wgpu::Device, label: &str, size: usize) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: size as u64,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

pub(crate) fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

/// Waits until submission `index` has completed (or everything submitted, for `None`) and its
/// map callbacks have run.
pub(crate) fn wait(ctx: &GpuContext, index: Option<wgpu::SubmissionIndex>) -> Result<()> {
    ctx.device
        .poll(wgpu::PollType::Wait {
            submission_index: index,
            timeout: None,
        })
        .map_err(|e| Error::Gpu(format!("waiting for the device: {e}")))?;
    ctx.take_error()
}

/// A readback whose mapping has been requested; [`Mapping::read`] waits for it.
pub(crate) struct Mapping {
    rx: std::sync::mpsc::Receiver<std::result::Result<(), wgpu::BufferAsyncError>>,
    offset: u64,
    len: u64,
}

/// Requests the mapping of `len` bytes of `buf` at `offset` (call after the submission that
/// fills it).
pub(crate) fn map(buf: &wgpu::Buffer, offset: u64, len: u64) -> Mapping {
    let (tx, rx) = std::sync::mpsc::channel();
    buf.slice(offset..offset + len)
        .map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
    Mapping { rx, offset, len }
}

impl Mapping {
    /// Waits for submission `index`, hands the mapped bytes to `f` as f32s, and unmaps.
    pub(crate) fn read(
        self,
        ctx: &GpuContext,
        buf: &wgpu::Buffer,
        index: Option<wgpu::SubmissionIndex>,
        f: impl FnOnce(&[f32]),
    ) -> Result<()> {
        wait(ctx, index)?;
        self.rx
            .recv()
            .map_err(|_| Error::Gpu("readback callback dropped".into()))?
            .map_err(|e| Error::Gpu(format!("mapping the result buffer: {e}")))?;
        {
            let slice = buf.slice(self.offset..self.offset + self.len);
            let view = slice
                .get_mapped_range()
                .map_err(|e| Error::Gpu(format!("reading the result buffer: {e}")))?;
            f(bytemuck::cast_slice(&view));
        }
        buf.unmap();
        Ok(())
    }
}

/// Timestamp queries around one compute pass, where the adapter supports them.
pub(crate) struct Timer {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    period_ns: f64,
}

impl Timer {
    pub(crate) fn new(ctx: &GpuContext) -> Option<Timer> {
        if !ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY) {
            return None;
        }
        let device = &ctx.device;
        let set = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("pass timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let resolve = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps"),
            size: 16,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let readback = readback(device, "timestamps readback", 16);
        Some(Timer {
            set,
            resolve,
            readback,
            period_ns: ctx.queue.get_timestamp_period() as f64,
        })
    }

    pub(crate) fn writes(&self) -> wgpu::ComputePassTimestampWrites<'_> {
        wgpu::ComputePassTimestampWrites {
            query_set: &self.set,
            beginning_of_pass_write_index: Some(0),
            end_of_pass_write_index: Some(1),
        }
    }

    pub(crate) fn resolve(&self, enc: &mut wgpu::CommandEncoder) {
        enc.resolve_query_set(&self.set, 0..2, &self.resolve, 0);
        enc.copy_buffer_to_buffer(&self.resolve, 0, &self.readback, 0, 16);
    }

    /// Requests the mapping of the two timestamps (after the submission that resolves them).
    pub(crate) fn map(&self) -> Mapping {
        map(&self.readback, 0, 16)
    }

    /// Seconds between the two timestamps of the pass, once `m` (from [`Timer::map`]) is ready.
    pub(crate) fn read(
        &self,
        ctx: &GpuContext,
        m: Mapping,
        index: Option<wgpu::SubmissionIndex>,
    ) -> Result<f64> {
        let mut ticks = [0u64; 2];
        m.read(ctx, &self.readback, index, |v: &[f32]| {
            ticks.copy_from_slice(bytemuck::cast_slice(v));
        })?;
        Ok(ticks[1].saturating_sub(ticks[0]) as f64 * self.period_ns * 1e-9)
    }
}

/// Compiles one WGSL compute shader (entry point `main`, layout derived from the
/// shader) and checks the device's error scope, so a shader the driver rejects is
/// an [`Error`] here rather than a panic at the first dispatch.
pub(crate) fn compute_pipeline(
    ctx: &GpuContext,
    label: &str,
    source: String,
) -> Result<wgpu::ComputePipeline> {
    let device = &ctx.device;
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    ctx.take_error()?;
    Ok(pipeline)
}
