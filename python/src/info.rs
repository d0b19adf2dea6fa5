//! `families()`, `adapters()`, the session's counters and axis values: what `klgrid families`
//! and `klgrid adapters` print, as JSON documents the Python side parses.

use crate::errors::to_py;
use crate::run;
use klgrid::engine::gpu::list_adapters;
use klgrid::model::grid::AxisSpec;
use klgrid::model::sample_spec::SampleSpec;
use klgrid::model::{Domain, Family, REGISTRY};
use numpy::PyArray1;
use pyo3::prelude::*;
use serde_json::json;

/// Whether the family has a closed-form MLE (probed on data drawn from its example θ, as
/// `klgrid families` does) and an entropy formula.
fn capabilities(f: &'static dyn Family) -> (bool, bool) {
    let theta = f.example_theta();
    let spec = SampleSpec {
        family: f,
        theta: theta.clone(),
    };
    let fixed: Vec<Option<f64>> = f
        .params()
        .iter()
        .zip(&theta)
        .map(|(p, &v)| (p.domain == Domain::PositiveInteger).then_some(v))
        .collect();
    let mle = spec
        .draw(1000, 1)
        .ok()
        .and_then(|xs| f.mle(&xs, &fixed))
        .is_some();
    (mle, f.entropy(&theta).is_some())
}

/// The families, as `klgrid families` lists them: a JSON array of
/// `{name, params: [{name, domain}], support, integer_data, tolerance, closed_form_mle,
/// entropy}`.
#[pyfunction]
pub fn families() -> String {
    let list: Vec<_> = REGISTRY
        .iter()
        .map(|f| {
            let (mle, entropy) = capabilities(*f);
            json!({
                "name": f.name(),
                "params": f.params().iter().map(|p| json!({
                    "name": p.name,
                    "domain": p.domain.describe(),
                })).collect::<Vec<_>>(),
                "support": f.support(),
                "integer_data": f.integer_data(),
                "tolerance": f.kernel_class().tolerance(),
                "closed_form_mle": mle,
                "entropy": entropy,
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// The adapters wgpu sees, best first, as `klgrid adapters` lists them (a JSON array).
#[pyfunction]
pub fn adapters(py: Python<'_>) -> String {
    let list: Vec<_> = py
        .detach(list_adapters)
        .into_iter()
        .map(|a| {
            json!({
                "name": a.name,
                "label": a.label(),
                "backend": a.backend,
                "device_type": a.device_type,
                "driver": a.driver,
                "is_software": a.is_software,
                "max_storage_buffer_binding_size": a.max_storage_buffer_binding_size,
                "max_buffer_size": a.max_buffer_size,
                "max_compute_workgroups_per_dimension": a.max_compute_workgroups_per_dimension,
                "max_compute_invocations_per_workgroup": a.max_compute_invocations_per_workgroup,
                "shader_f64": a.shader_f64,
                "timestamp_query": a.timestamp_query,
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// What the process's session for `adapter`/`kernel_shape` has built so far (a JSON object):
/// `{"devices", "sweep", "reduce", "sweep_buffers", "reduce_buffers", "gpu_open"}`.
#[pyfunction]
#[pyo3(signature = (adapter=None, kernel_shape=None))]
pub fn session_info(adapter: Option<&str>, kernel_shape: Option<&str>) -> PyResult<String> {
    let s = run::session(adapter, run::shape(kernel_shape)?);
    let c = s.compilations();
    Ok(json!({
        "devices": c.devices,
        "sweep": c.sweep,
        "reduce": c.reduce,
        "sweep_buffers": c.sweep_buffers,
        "reduce_buffers": c.reduce_buffers,
        "gpu_open": s.has_gpu(),
    })
    .to_string())
}

/// The values of one `--grid` specification (`NAME=...`), as the grid parser computes them.
#[pyfunction]
pub fn axis_values<'py>(py: Python<'py>, spec: &str) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let a = AxisSpec::parse(spec).map_err(to_py)?;
    Ok(PyArray1::from_vec(py, a.values))
}
