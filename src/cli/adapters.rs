//! `klgrid adapters`.

use super::output;
use klgrid::engine::gpu::list_adapters;
use klgrid::Result;
use std::io::Write;

/// Prints every adapter with its key limits, best first.
pub fn run() -> Result<i32> {
    let adapters = list_adapters();
    output::stdout(|w| write(&adapters, w))?;
    Ok(0)
}

fn write(
    adapters: &[klgrid::engine::gpu::AdapterSummary],
    w: &mut dyn Write,
) -> std::io::Result<()> {
    if adapters.is_empty() {
        writeln!(w, "no GPU adapters found (without a GPU, install Mesa's lavapipe: apt-get install mesa-vulkan-drivers libvulkan1)")?;
        return Ok(());
    }
    for (i, a) in adapters.iter().enumerate() {
        writeln!(w, "[{i}] {}", a.name)?;
        writeln!(
            w,
            "    backend {}, device type {}{}",
            a.backend,
            a.device_type,
            if a.is_software { " (software)" } else { "" }
        )?;
        writeln!(w, "    driver {}", a.driver)?;
        writeln!(w,
            "    max storage binding {} MiB, max buffer {} MiB, {} workgroups per dimension, {} invocations per workgroup",
            a.max_storage_buffer_binding_size >> 20,
            a.max_buffer_size >> 20,
            a.max_compute_workgroups_per_dimension,
            a.max_compute_invocations_per_workgroup
        )?;
        writeln!(
            w,
            "    shader f64 {}, timestamp queries {}",
            yes(a.shader_f64),
            yes(a.timestamp_query)
        )?;
    }
    Ok(())
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
