//! Library errors as Python exceptions, raised once at the boundary: bad input is an
//! [`InputError`] (a `ValueError`) with the CLI's message, a missing adapter or a failing device
//! a [`GpuError`] (a `RuntimeError`), and a panic — a bug — a `RuntimeError` saying so, never an
//! abort of the interpreter.

use pyo3::create_exception;
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};
use pyo3::PyErr;
use std::any::Any;

create_exception!(
    klgrid,
    InputError,
    PyValueError,
    "Bad input: data, grid, sample spec, family or parameter (the command's exit code 2). A \
     ValueError; the message is the one the klgrid command prints."
);

create_exception!(
    klgrid,
    GpuError,
    PyRuntimeError,
    "No GPU adapter for backend='gpu' (or the adapter named), or the device failed (the \
     command's exit code 1). A RuntimeError."
);

/// The message on one line, as the command prints it: the lines trimmed and joined by spaces.
pub fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Python exception for a library error.
pub fn to_py(e: klgrid::Error) -> PyErr {
    use klgrid::Error;
    let msg = one_line(&e.to_string());
    match e {
        Error::Input(_) | Error::Io { .. } => InputError::new_err(msg),
        Error::NoAdapter(_) | Error::Gpu(_) => GpuError::new_err(msg),
        Error::Numeric(_) => PyRuntimeError::new_err(msg),
        Error::Output(_) => PyOSError::new_err(msg),
        Error::Cancelled => PyKeyboardInterrupt::new_err("klgrid: cancelled"),
    }
}

/// An [`InputError`] with this message.
pub fn input(msg: impl Into<String>) -> PyErr {
    InputError::new_err(msg.into())
}

/// The exception for a panic caught at the boundary.
pub fn panic_to_py(p: Box<dyn Any + Send>) -> PyErr {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    PyRuntimeError::new_err(format!(
        "klgrid: internal error (a bug, please report it): {}",
        one_line(&msg)
    ))
}
