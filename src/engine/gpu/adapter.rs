//! Finding adapters and opening a device with the adapter's own limits.

use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};

/// What `klgrid adapters` shows of an adapter.
#[derive(Debug, Clone)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub is_software: bool,
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub shader_f64: bool,
    pub timestamp_query: bool,
}

impl AdapterSummary {
    fn of(adapter: &wgpu::Adapter) -> AdapterSummary {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let features = adapter.features();
        AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
            is_software: info.device_type == wgpu::DeviceType::Cpu,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            shader_f64: features.contains(wgpu::Features::SHADER_F64),
            timestamp_query: features.contains(wgpu::Features::TIMESTAMP_QUERY),
        }
    }

    /// One line: `name (backend, device type)`.
    pub fn label(&self) -> String {
        format!("{} ({}, {})", self.name, self.backend, self.device_type)
    }
}

fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    desc.backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
    wgpu::Instance::new(desc)
}

/// Preference order: hardware before software, then Vulkan/Metal/DX12 before GL.
fn rank(a: &wgpu::Adapter) -> (u8, u8) {
    let info = a.get_info();
    let ty = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let backend = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        _ => 1,
    };
    (ty, backend)
}

/// All adapters, best first.
fn ranked_adapters(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    let mut adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    adapters.sort_by_key(rank);
    adapters
}

/// Lists every adapter wgpu can see, best first.
pub fn list_adapters() -> Vec<AdapterSummary> {
    ranked_adapters(&instance())
        .iter()
        .map(AdapterSummary::of)
        .collect()
}

/// An open device on a chosen adapter.
pub struct GpuContext {
    pub summary: AdapterSummary,
    pub limits: wgpu::Limits,
    pub features: wgpu::Features,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    errors: Arc<Mutex<Vec<String>>>,
}

impl GpuContext {
    /// Opens adapter `index` of [`list_adapters`] (the order `klgrid adapters` shows); opening
    /// one index twice gives two devices on one adapter.
    pub fn open_index(index: usize) -> Result<GpuContext> {
        let adapters = ranked_adapters(&instance());
        let n = adapters.len();
        let adapter = adapters.into_iter().nth(index).ok_or_else(|| {
            Error::NoAdapter(format!(
                "no GPU adapter [{index}]: there are {n} (see `klgrid adapters`)"
            ))
        })?;
        Self::open_adapter(adapter)
    }

    /// Opens the best adapter whose name contains `name_filter` (case-insensitive), requesting
    /// the adapter's own limits. Fails with [`Error::NoAdapter`] when none exists.
    pub fn open(name_filter: Option<&str>) -> Result<GpuContext> {
        let instance = instance();
        let adapters = ranked_adapters(&instance);
        let adapter = match name_filter {
            Some(f) => {
                let f = f.to_lowercase();
                adapters
                    .into_iter()
                    .find(|a| a.get_info().name.to_lowercase().contains(&f))
                    .ok_or_else(|| {
                        Error::NoAdapter(format!(
                            "no GPU adapter whose name contains '{f}' (see `klgrid adapters`)"
                        ))
                    })?
            }
            None => adapters.into_iter().next().ok_or_else(|| {
                Error::NoAdapter(
                    "no GPU adapter found (install a Vulkan driver; without a GPU, Mesa's lavapipe: \
                     apt-get install mesa-vulkan-drivers libvulkan1)"
                        .to_string(),
                )
            })?,
        };
        Self::open_adapter(adapter)
    }

    /// Opens a device on `adapter` with its own limits.
    fn open_adapter(adapter: wgpu::Adapter) -> Result<GpuContext> {
        let summary = AdapterSummary::of(&adapter);
        let limits = adapter.limits();
        let features = adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("klgrid"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| Error::Gpu(format!("cannot open device on {}: {e}", summary.label())))?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        Ok(GpuContext {
            summary,
            limits,
            features,
            device,
            queue,
            errors,
        })
    }

    /// Returns the first device error recorded since the last call, if any.
    pub fn take_error(&self) -> Result<()> {
        let mut v = self
            .errors
            .lock()
            .map_err(|_| Error::Gpu("error sink poisoned".into()))?;
        if v.is_empty() {
            return Ok(());
        }
        let msg = v.join("; ");
        v.clear();
        Err(Error::Gpu(msg))
    }
}
