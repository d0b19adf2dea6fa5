//! Shared helpers for the integration tests.
#![allow(dead_code)]

use klgrid::engine::{Session, SessionOptions};
use klgrid::model::grid::{AxisSpec, Grid};
use klgrid::model::{lookup, Family};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

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

/// The `klgrid` command, not yet run, with a private `XDG_RUNTIME_DIR` (Mesa's note silenced).
pub fn klgrid_command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_klgrid"));
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    c
}

/// Runs the `klgrid` binary (with a private `XDG_RUNTIME_DIR`).
pub fn klgrid(args: &[&str]) -> Output {
    klgrid_command().args(args).output().expect("run klgrid")
}

/// Runs `c` with stdout and stderr captured and stdin fed these bytes (from a thread: klgrid may
/// stop reading early on an error), or from `/dev/null` when there are none.
pub fn run_piped(mut c: Command, stdin: Option<&[u8]>) -> Output {
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = c.spawn().expect("run klgrid");
    if let Some(bytes) = stdin {
        let mut w = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = w.write_all(&bytes);
        });
    }
    child.wait_with_output().unwrap()
}

/// `klgrid ARGS` with stdin fed from `stdin` ([`run_piped`]).
pub fn klgrid_stdin(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut c = klgrid_command();
    c.args(args);
    run_piped(c, stdin)
}

/// Everything the run wrote on stderr.
pub fn stderr_text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The lines on stderr, without Mesa's `XDG_RUNTIME_DIR` notes.
pub fn stderr_lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
        .map(String::from)
        .collect()
}

/// Asserts that the run neither panicked nor was killed by a signal.
pub fn assert_no_panic(o: &Output) {
    let err = stderr_text(o);
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    assert!(o.status.code().is_some(), "killed by a signal: {err}");
}

/// A folder of this test process under the system's temporary folder, `klgrid-TAG-PID`.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("klgrid-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes `bytes` to `NAME` in [`temp_dir`]`(tag)`; its path.
pub fn temp_file(tag: &str, name: &str, bytes: &[u8]) -> String {
    let p = temp_dir(tag).join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

/// An NPY file (format 1.0) with this header and data, its header padded to 64 bytes.
pub fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    let mut h = dict.into_bytes();
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(b' ');
    }
    h.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out
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
