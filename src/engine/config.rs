//! The typed choices of an evaluation: which path evaluates ([`EvalPath`]), how the backend is
//! chosen ([`Backend`]), and direct evaluation or sufficient statistics ([`Strategy`]).

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// An evaluation path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum EvalPath {
    /// WGSL kernels through wgpu.
    Gpu,
    /// The fast CPU path: the same split, vectorised, all cores.
    Cpu,
    /// The f64 reference.
    #[value(name = "cpu-ref")]
    CpuRef,
}

impl EvalPath {
    /// The CLI name: `gpu`, `cpu` or `cpu-ref`.
    pub fn name(self) -> &'static str {
        match self {
            EvalPath::Gpu => "gpu",
            EvalPath::Cpu => "cpu",
            EvalPath::CpuRef => "cpu-ref",
        }
    }
}

impl fmt::Display for EvalPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for EvalPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl FromStr for EvalPath {
    type Err = Error;
    fn from_str(s: &str) -> Result<EvalPath> {
        match s {
            "gpu" => Ok(EvalPath::Gpu),
            "cpu" => Ok(EvalPath::Cpu),
            "cpu-ref" => Ok(EvalPath::CpuRef),
            _ => Err(Error::input(format!(
                "unknown path '{s}' (expected gpu, cpu or cpu-ref)"
            ))),
        }
    }
}

/// `--backend`, as typed on the command line (see [`Backend`] for what it resolves to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    /// A hardware adapter, else a software adapter, else the fast CPU path; says which.
    Auto,
    /// The GPU; fails when no adapter exists (never falls back).
    Gpu,
    /// The fast CPU path.
    Cpu,
    /// The f64 reference.
    #[value(name = "cpu-ref")]
    CpuRef,
    /// Two paths on the same data, compared (see `--compare`).
    Both,
}

/// Which path evaluates the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A hardware adapter, else a software adapter, else the fast CPU path; says on stderr which.
    Auto,
    /// One path; `gpu` fails when no adapter exists.
    One(EvalPath),
    /// Two paths on the same data, compared: the first is reported and tested against the
    /// second (default `gpu` against `cpu-ref`).
    Both(EvalPath, EvalPath),
}

impl Backend {
    /// The backend for a `--backend` choice and an optional `--compare` pair.
    pub fn from_choice(
        choice: BackendChoice,
        compare: Option<(EvalPath, EvalPath)>,
    ) -> Result<Backend> {
        let b = match choice {
            BackendChoice::Auto => Backend::Auto,
            BackendChoice::Gpu => Backend::One(EvalPath::Gpu),
            BackendChoice::Cpu => Backend::One(EvalPath::Cpu),
            BackendChoice::CpuRef => Backend::One(EvalPath::CpuRef),
            BackendChoice::Both => {
                let (a, r) = compare.unwrap_or((EvalPath::Gpu, EvalPath::CpuRef));
                return Ok(Backend::Both(a, r));
            }
        };
        match compare {
            Some(_) => Err(Error::input("--compare needs --backend both")),
            None => Ok(b),
        }
    }
}

impl FromStr for Backend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Backend> {
        match s {
            "auto" => Ok(Backend::Auto),
            "both" => Ok(Backend::Both(EvalPath::Gpu, EvalPath::CpuRef)),
            _ => s.parse().map(Backend::One).map_err(|_| {
                Error::input(format!(
                    "unknown backend '{s}' (expected auto, gpu, cpu, cpu-ref or both)"
                ))
            }),
        }
    }
}

/// Parses `--compare A,B` into the pair for `--backend both`.
pub fn parse_compare(s: &str) -> Result<(EvalPath, EvalPath)> {
    let (a, b) = s.split_once(',').ok_or_else(|| {
        Error::input(format!(
            "--compare '{s}': expected two paths, e.g. cpu,cpu-ref"
        ))
    })?;
    let (a, b): (EvalPath, EvalPath) = (a.trim().parse()?, b.trim().parse()?);
    if a == b {
        return Err(Error::input(format!(
            "--compare '{s}': the two paths must differ"
        )));
    }
    Ok((a, b))
}

/// How the grid is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Strategy {
    /// Sufficient statistics where the family and grid allow it, else direct.
    Auto,
    /// Every sample at every grid point.
    Direct,
    /// One pass for the statistics, then O(1) per grid point.
    #[value(name = "suffstats")]
    SuffStats,
}

impl Strategy {
    /// `auto`, `direct` or `suffstats`.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Auto => "auto",
            Strategy::Direct => "direct",
            Strategy::SuffStats => "suffstats",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Strategy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl FromStr for Strategy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Strategy> {
        match s {
            "auto" => Ok(Strategy::Auto),
            "direct" => Ok(Strategy::Direct),
            "suffstats" => Ok(Strategy::SuffStats),
            _ => Err(Error::input(format!(
                "unknown strategy '{s}' (expected auto, direct or suffstats)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_choice_and_compare_resolve_like_the_cli_says() {
        assert_eq!(
            Backend::from_choice(BackendChoice::Both, None).unwrap(),
            Backend::Both(EvalPath::Gpu, EvalPath::CpuRef)
        );
        assert_eq!(
            Backend::from_choice(BackendChoice::Both, Some((EvalPath::Cpu, EvalPath::CpuRef)))
                .unwrap(),
            Backend::Both(EvalPath::Cpu, EvalPath::CpuRef)
        );
        assert!(
            Backend::from_choice(BackendChoice::Gpu, Some((EvalPath::Cpu, EvalPath::CpuRef)))
                .unwrap_err()
                .is_input()
        );
        assert!(parse_compare("cpu,cpu").is_err());
        assert!(parse_compare("gpu").is_err());
        assert_eq!("cpu-ref".parse::<EvalPath>().unwrap(), EvalPath::CpuRef);
        assert_eq!(
            serde_json::to_string(&EvalPath::CpuRef).unwrap(),
            "\"cpu-ref\""
        );
        assert_eq!(
            serde_json::to_string(&Strategy::SuffStats).unwrap(),
            "\"suffstats\""
        );
    }
}
