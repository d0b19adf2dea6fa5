//! Parameters: their domains, and the named parameter lists a grid binds its axes to.

use crate::error::{Error, Result};

/// The set of values a parameter may take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Domain {
    /// Any finite real number.
    Real,
    /// A finite real number > 0.
    Positive,
    /// A real number in the open interval (0, 1).
    OpenUnit,
    /// An integer ≥ 1.
    PositiveInteger,
}

impl Domain {
    /// Whether `v` lies in the domain.
    pub fn contains(self, v: f64) -> bool {
        if !v.is_finite() {
            return false;
        }
        match self {
            Domain::Real => true,
            Domain::Positive => v > 0.0,
            Domain::OpenUnit => v > 0.0 && v < 1.0,
            Domain::PositiveInteger => v >= 1.0 && v.fract() == 0.0 && v <= 1e15,
        }
    }

    /// Human-readable description, used in error messages and `klgrid families`.
    pub fn describe(self) -> &'static str {
        match self {
            Domain::Real => "a finite real number",
            Domain::Positive => "> 0",
            Domain::OpenUnit => "in (0, 1)",
            Domain::PositiveInteger => "an integer >= 1",
        }
    }
}

/// One parameter of a family: its name (part of the CLI interface) and domain.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub domain: Domain,
}

/// A named, ordered list of parameters: a family or a user model, as far as a
/// [`Grid`](super::grid::Grid) needs to know it.
pub trait HasParams {
    /// The model's name (for error messages).
    fn model_name(&self) -> &str;

    /// The parameters, in their canonical order.
    fn param_specs(&self) -> &[ParamSpec];
}

/// Checks every parameter against its domain; the error names the parameter and the domain.
pub fn validate_domains(family: &str, params: &[ParamSpec], theta: &[f64]) -> Result<()> {
    debug_assert_eq!(params.len(), theta.len());
    for (p, &v) in params.iter().zip(theta) {
        if !p.domain.contains(v) {
            return Err(Error::input(format!(
                "{family}: parameter '{}' must be {} (got {v})",
                p.name,
                p.domain.describe()
            )));
        }
    }
    Ok(())
}
