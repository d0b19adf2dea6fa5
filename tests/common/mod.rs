//! Shared helpers for the integration tests.
#![allow(dead_code)]

use klgrid::engine::{Session, SessionOptions};
use klgrid::model::grid::{AxisSpec, Grid};
use klgrid::model::{lookup, Family};

/// A session with the GPU opened (on `KLGRID_ADAPTER` if set), or `None` (test skipped, with a
/// note) when no adapter exists. With `KLGRID_REQUIRE_GPU=1` (as in CI) a missing adapter fails
/// the test instead.
pub fn gpu() -> Option<Session> {
    gpu_with(SessionOptions::default())
}

/// A session on `KLGRID_ADAPTER` (if set); the device is opened when a GPU path needs it.
pub fn session() -> Session {
    Session::new(SessionOptions {
        adapter: std::env::var("KLGRID_ADAPTER").ok(),
        ..SessionOptions::default()
    })
}

/// [`gpu`] with other session options (kernel shape, batch limits).
pub fn gpu_with(mut options: SessionOptions) -> Option<Session> {
    options.adapter = std::env::var("KLGRID_ADAPTER").ok();
    let session = Session::new(options);
    match session.gpu() {
        Ok(_) => Some(session),
        Err(e) => {
            if std::env::var("KLGRID_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("KLGRID_REQUIRE_GPU=1 but no GPU adapter: {e}");
            }
            eprintln!("SKIPPED (no GPU adapter: {e}); set KLGRID_REQUIRE_GPU=1 to fail instead");
            None
        }
    }
}

pub fn family(name: &str) -> &'static dyn Family {
    lookup(name).unwrap()
}

pub fn grid(fam: &dyn Family, specs: &[&str]) -> Grid {
    Grid::new(
        fam,
        specs.iter().map(|s| AxisSpec::parse(s).unwrap()).collect(),
    )
    .unwrap()
}

/// A grid around the family's example θ with `k` values per free axis: real parameters θ ± 1,
/// positive ones log-spaced over [θ/2, 2θ], (0, 1) ones θ ± 0.3 clipped to [0.05, 0.95], and
/// integer ones fixed.
pub fn example_grid(fam: &dyn Family, k: usize) -> Grid {
    use klgrid::model::grid::Spacing;
    use klgrid::model::Domain;
    let theta = fam.example_theta();
    let specs = fam
        .params()
        .iter()
        .zip(&theta)
        .map(|(p, &v)| {
            let (lo, hi, log) = match p.domain {
                Domain::Real => (v - 1.0, v + 1.0, false),
                Domain::Positive => (v / 2.0, v * 2.0, true),
                Domain::OpenUnit => ((v - 0.3).max(0.05), (v + 0.3).min(0.95), false),
                Domain::PositiveInteger => (v, v, false),
            };
            let kk = if lo == hi { 1 } else { k };
            let values = (0..kk)
                .map(|i| {
                    let t = if kk == 1 {
                        0.0
                    } else {
                        i as f64 / (kk - 1) as f64
                    };
                    if log {
                        (lo.ln() + (hi.ln() - lo.ln()) * t).exp()
                    } else {
                        lo + (hi - lo) * t
                    }
                })
                .collect();
            AxisSpec {
                name: p.name.to_string(),
                values,
                spacing: Spacing::List,
            }
        })
        .collect();
    Grid::new(fam, specs).unwrap()
}

pub fn grid_owned(fam: &dyn Family, specs: &[String]) -> Grid {
    Grid::new(
        fam,
        specs.iter().map(|s| AxisSpec::parse(s).unwrap()).collect(),
    )
    .unwrap()
}

/// Runs the `klgrid` binary (with a private `XDG_RUNTIME_DIR`).
pub fn klgrid(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_klgrid"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run klgrid")
}

/// The JSON document `klgrid` writes for `args`, which must succeed.
pub fn json(args: &[&str]) -> serde_json::Value {
    let o = klgrid(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A JSON number.
pub fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}
