//! `klgrid adapters`.

use klgrid::engine::gpu::list_adapters;

/// Prints every adapter with its key limits, best first.
pub fn run() -> i32 {
    let adapters = list_adapters();
    if adapters.is_empty() {
        println!("no GPU adapters found (without a GPU, install Mesa's lavapipe: apt-get install mesa-vulkan-drivers libvulkan1)");
        return 0;
    }
    for (i, a) in adapters.iter().enumerate() {
        println!("[{i}] {}", a.name);
        println!(
            "    backend {}, device type {}{}",
            a.backend,
            a.device_type,
            if a.is_software { " (software)" } else { "" }
        );
        println!("    driver {}", a.driver);
        println!(
            "    max storage binding {} MiB, max buffer {} MiB, {} workgroups per dimension, {} invocations per workgroup",
            a.max_storage_buffer_binding_size >> 20,
            a.max_buffer_size >> 20,
            a.max_compute_workgroups_per_dimension,
            a.max_compute_invocations_per_workgroup
        );
        println!(
            "    shader f64 {}, timestamp queries {}",
            yes(a.shader_f64),
            yes(a.timestamp_query)
        );
    }
    0
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
