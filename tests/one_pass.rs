//! A data source is read once: `/dev/stdin`, `-` and a FIFO work like a file, with the whole
//! analysis (numeric MLE, refinement) from the samples kept in that one pass.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

fn sample_text() -> String {
    // Gamma-like positive data, deterministic.
    (1..=2000)
        .map(|i| format!("{}\n", 0.5 + ((i * 7919) % 1000) as f64 / 400.0))
        .collect()
}

fn sweep_json(data: &str, stdin: Option<&str>) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_klgrid"));
    cmd.args([
        "sweep",
        "--family",
        "gamma",
        "--data",
        data,
        "--grid",
        "shape=log:0.5:20:9",
        "--grid",
        "rate=log:0.2:20:9",
        "--backend",
        "cpu",
        "--refine",
        "2",
        "--format",
        "json",
        "-q",
    ])
    .stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        let mut w = child.stdin.take().unwrap();
        let text = text.to_string();
        std::thread::spawn(move || w.write_all(text.as_bytes()));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The report from a regular file, to compare the one-pass sources with.
fn from_file(text: &str, tag: &str) -> Value {
    let path =
        std::env::temp_dir().join(format!("klgrid-one-pass-{tag}-{}.txt", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let v = sweep_json(path.to_str().unwrap(), None);
    std::fs::remove_file(&path).unwrap();
    v
}

fn assert_same_analysis(a: &Value, b: &Value) {
    assert_eq!(a["n"], 2000);
    assert_eq!(a["points"], b["points"]);
    assert_eq!(a["mle"]["method"], "numeric");
    assert_eq!(a["mle"], b["mle"]);
    assert_eq!(a["refined"]["rounds"], 2);
    assert_eq!(a["refined"]["theta"], b["refined"]["theta"]);
}

#[test]
fn stdin_and_dev_stdin_are_read_once_with_the_full_analysis() {
    let text = sample_text();
    let file = from_file(&text, "stdin");
    assert_same_analysis(&sweep_json("-", Some(&text)), &file);
    assert_same_analysis(&sweep_json("/dev/stdin", Some(&text)), &file);
}

#[cfg(unix)]
#[test]
fn a_fifo_is_read_once_with_the_full_analysis() {
    let text = sample_text();
    let file = from_file(&text, "fifo");
    let fifo = std::env::temp_dir().join(format!("klgrid-fifo-{}", std::process::id()));
    let _ = std::fs::remove_file(&fifo);
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let writer = {
        let fifo = fifo.clone();
        let text = text.clone();
        // Opening a FIFO for writing blocks until the reader opens it; a second open by the
        // reader would block forever, which is what this test guards against.
        std::thread::spawn(move || std::fs::write(&fifo, text))
    };
    let v = sweep_json(fifo.to_str().unwrap(), None);
    writer.join().unwrap().unwrap();
    std::fs::remove_file(&fifo).unwrap();
    assert_same_analysis(&v, &file);
}

/// `--refine` on drawn data too many to keep in memory re-draws them (the same seeded blocks)
/// for each round instead of failing (a regular file is read again the same way; a pipe, which
/// cannot be read twice, is a one-line input error).
#[test]
fn refine_of_data_past_memory_streams_each_round_again() {
    let mut c = Command::new(env!("CARGO_BIN_EXE_klgrid"));
    let n = (klgrid::engine::pipeline::KEEP_SAMPLES + 1000).to_string();
    let o = c
        .args([
            "sweep",
            "--family",
            "normal",
            "--sample",
            "normal(mu=1,sigma=2)",
            "-n",
            &n,
            "--grid",
            "mu=0:2:5",
            "--grid",
            "sigma=1:3:5",
            "--refine",
            "1",
            "--backend",
            "cpu",
            "--points",
            "none",
            "--format",
            "json",
        ])
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let refined = &doc["refined"];
    assert!(refined.is_object(), "no refinement in {doc}");
    let theta = &refined["theta"];
    assert!(
        (theta["mu"].as_f64().unwrap() - 1.0).abs() < 0.01,
        "{refined}"
    );
    assert!(
        (theta["sigma"].as_f64().unwrap() - 2.0).abs() < 0.01,
        "{refined}"
    );
    assert_eq!(refined["rounds"], 1, "{refined}");
}
