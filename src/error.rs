//! Typed errors of the library. The CLI maps them to exit codes once, at its edge.

use thiserror::Error;

/// Everything that can go wrong in klgrid.
#[derive(Debug, Error)]
pub enum Error {
    /// Bad input from the user: data, grid, sample spec, family or parameter.
    #[error("{0}")]
    Input(String),

    /// A file could not be read.
    #[error("cannot read '{path}': {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// No GPU adapter matched the request.
    #[error("{0}")]
    NoAdapter(String),

    /// The GPU device failed (device creation, shader compilation, dispatch, readback).
    #[error("GPU error: {0}")]
    Gpu(String),

    /// A numerical procedure failed (the optimiser behind the numeric MLE).
    #[error("numerical error: {0}")]
    Numeric(String),

    /// Writing output failed.
    #[error("cannot write output: {0}")]
    Output(String),

    /// The session's cancellation hook asked to stop ([`Session::with_cancel`]): the
    /// evaluation stopped between two chunks, and nothing of it is reported.
    ///
    /// [`Session::with_cancel`]: crate::engine::Session::with_cancel
    #[error("cancelled")]
    Cancelled,
}

impl Error {
    /// Shorthand for [`Error::Input`].
    pub fn input(msg: impl Into<String>) -> Self {
        Error::Input(msg.into())
    }

    /// Whether the error is the user's input (the CLI exits with code 2 for these).
    pub fn is_input(&self) -> bool {
        matches!(self, Error::Input(_) | Error::Io { .. })
    }
}

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
