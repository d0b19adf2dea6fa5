//! The process's sessions, and running library work with the GIL released, interruptible by
//! Ctrl-C, with panics caught.

use crate::errors;
use klgrid::engine::gpu::KernelShape;
use klgrid::engine::{Session, SessionOptions};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};

/// What a session is made for: the adapter name filter and the kernel shape.
type SessionKey = (Option<String>, Option<KernelShape>);

/// The sessions of this process, one per (adapter, kernel shape) choice: created on first use,
/// kept until the interpreter exits, so that every sweep reuses the device, the compiled
/// pipelines and the pooled buffers.
static SESSIONS: Mutex<Vec<(SessionKey, Session)>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The session for `adapter` (a substring of the adapter's name) and `shape` (a kernel shape
/// instead of the automatic one).
pub fn session(adapter: Option<&str>, shape: Option<KernelShape>) -> Session {
    let mut all = lock(&SESSIONS);
    if let Some((_, s)) = all
        .iter()
        .find(|((a, k), _)| a.as_deref() == adapter && *k == shape)
    {
        return s.clone();
    }
    let s = Session::new(SessionOptions {
        adapter: adapter.map(str::to_string),
        shape,
        limits: None,
    });
    all.push(((adapter.map(str::to_string), shape), s.clone()));
    s
}

/// Parses a kernel shape `P,W,C` (an [`errors::InputError`] when malformed).
pub fn shape(s: Option<&str>) -> PyResult<Option<KernelShape>> {
    s.map(KernelShape::parse).transpose().map_err(errors::to_py)
}

/// Runs `f` on `base` with the GIL released. Before each chunk of every evaluation `f` starts,
/// the session's cancellation hook takes the GIL for a moment and runs Python's signal
/// handlers: a Ctrl-C (KeyboardInterrupt), or any exception a handler raises, stops the
/// evaluation there and is raised here. Library errors become Python exceptions
/// ([`errors::to_py`]); a panic becomes a `RuntimeError` ([`errors::panic_to_py`]).
pub fn detached<T: Send>(
    py: Python<'_>,
    base: &Session,
    f: impl FnOnce(&Session) -> klgrid::Result<T> + Send,
) -> PyResult<T> {
    let raised: Arc<Mutex<Option<PyErr>>> = Arc::new(Mutex::new(None));
    let seen = raised.clone();
    let session = base.with_cancel(Arc::new(move || {
        if lock(&seen).is_some() {
            return true;
        }
        Python::attach(|py| match py.check_signals() {
            Ok(()) => false,
            Err(e) => {
                *lock(&seen) = Some(e);
                true
            }
        })
    }));
    let out = py.detach(|| catch_unwind(AssertUnwindSafe(|| f(&session))));
    match out {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(klgrid::Error::Cancelled)) => Err(lock(&raised)
            .take()
            .unwrap_or_else(|| PyKeyboardInterrupt::new_err("klgrid: cancelled"))),
        Ok(Err(e)) => Err(errors::to_py(e)),
        Err(p) => Err(errors::panic_to_py(p)),
    }
}
