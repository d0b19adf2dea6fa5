//! `klgrid._core`: the compiled half of the `klgrid` Python package (the other half,
//! `klgrid/__init__.py`, turns Python values — dicts, lists, NumPy arrays of any dtype, paths —
//! into the arguments here and wraps the results).
//!
//! Everything evaluates through the library exactly as the `klgrid` command does: the same
//! grid parser, readers, [`klgrid::engine`] pipeline, analysis and JSON writer, so a sweep from
//! Python gives the numbers of the same job on the command line, bit for bit. One
//! [`Session`](klgrid::engine::Session) per adapter choice lives as long as the process
//! ([`run::session`]), so repeated sweeps reuse the device and the compiled pipelines. The GIL
//! is released while the library works, and Ctrl-C stops an evaluation between two chunks
//! ([`run::detached`]).

use pyo3::prelude::*;

mod errors;
mod info;
mod job;
mod result;
mod run;
mod spare;

/// The extension module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("CHUNK", klgrid::engine::CHUNK)?;
    m.add("InputError", py.get_type::<errors::InputError>())?;
    m.add("GpuError", py.get_type::<errors::GpuError>())?;
    m.add_class::<result::SweepResult>()?;
    m.add_function(wrap_pyfunction!(job::sweep, m)?)?;
    m.add_function(wrap_pyfunction!(job::bench, m)?)?;
    m.add_function(wrap_pyfunction!(job::merge, m)?)?;
    m.add_function(wrap_pyfunction!(info::families, m)?)?;
    m.add_function(wrap_pyfunction!(info::adapters, m)?)?;
    m.add_function(wrap_pyfunction!(info::session_info, m)?)?;
    m.add_function(wrap_pyfunction!(info::axis_values, m)?)?;
    m.add_function(wrap_pyfunction!(release_buffers, m)?)?;
    m.add_function(wrap_pyfunction!(_kept_buffer_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(_selftest_panic, m)?)?;
    Ok(())
}

/// Frees the float64 buffer kept between calls for widening float32 (and gathering strided)
/// arrays ([`spare`]); returns the bytes freed.
#[pyfunction]
fn release_buffers() -> usize {
    spare::release()
}

/// The bytes of the buffer kept between calls (for the tests).
#[pyfunction]
fn _kept_buffer_bytes() -> usize {
    spare::kept_bytes()
}

/// Panics inside [`run::detached`], the boundary every call into the library goes through, so
/// that the tests can check a panic reaches Python as a `RuntimeError`, not an abort.
#[pyfunction]
fn _selftest_panic(py: Python<'_>) -> PyResult<()> {
    let session = run::session(None, None);
    run::detached(py, &session, |_| -> klgrid::Result<()> {
        panic!("a panic raised on purpose by _selftest_panic")
    })
}
