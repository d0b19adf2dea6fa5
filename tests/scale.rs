//! Beyond one process (issue 13): data shards, grid shards and several devices give the JSON
//! `points` of one process bit for bit, and `klgrid merge` refuses every set of files that is not
//! one whole sweep with one line and exit code 2.
//!
//! The data sets have 2·2²² + 300,000 samples: three chunks of 2²² (the last one short), so that
//! data shards hold different chunks and the centring comes from another shard's chunk. They are
//! written once under target/ (`CARGO_TARGET_TMPDIR`) and kept between runs.

mod common;

use klgrid::model::sample_spec::SampleSpec;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

const N: usize = 2 * (1 << 22) + 300_000;

fn run(args: &[&str]) -> Output {
    let out = common::klgrid(args);
    assert!(
        out.status.success(),
        "klgrid {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The serialised `points` array of a JSON report (everything from `"points": [` on).
fn points(path: &Path) -> String {
    let s = std::fs::read_to_string(path).unwrap();
    let i = s.find("\"points\": [").expect("a points array");
    s[i..].to_string()
}

fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scale");
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

fn draw(spec: &str, seed: u64) -> Vec<f64> {
    SampleSpec::parse(spec).unwrap().draw(N, seed).unwrap()
}

/// The file `name` in [`dir`], written by `make` the first time (kept between runs).
fn cached(cell: &'static OnceLock<PathBuf>, name: &str, make: fn() -> Vec<u8>) -> &'static Path {
    cell.get_or_init(|| {
        let p = dir().join(name);
        if !p.exists() {
            std::fs::write(&p, make()).unwrap();
        }
        p
    })
}

/// normal(1.5, 2) as raw f64.
fn normal_file() -> &'static Path {
    static F: OnceLock<PathBuf> = OnceLock::new();
    cached(&F, "normal.f64", || {
        draw("normal(mu=1.5, sigma=2)", 1)
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    })
}

/// poisson(3.5) as text with a header and comments (found by the line scan).
fn poisson_file() -> &'static Path {
    static F: OnceLock<PathBuf> = OnceLock::new();
    cached(&F, "poisson.txt", || {
        let mut s = String::from("# counts\ncount\n");
        for (i, x) in draw("poisson(rate=3.5)", 2).iter().enumerate() {
            if i % 1_000_003 == 0 {
                s.push_str("# a comment\n\n");
            }
            s.push_str(&format!("{x}\n"));
        }
        s.into_bytes()
    })
}

/// gamma(2, 3) as column 1 of a C-order (N, 2) NPY array of f4.
fn gamma_file() -> &'static Path {
    static F: OnceLock<PathBuf> = OnceLock::new();
    cached(&F, "gamma.npy", || {
        let data: Vec<u8> = draw("gamma(shape=2, rate=3)", 3)
            .iter()
            .enumerate()
            .flat_map(|(i, x)| [(i as f32).to_le_bytes(), (*x as f32).to_le_bytes()])
            .flatten()
            .collect();
        common::npy("<f4", false, &format!("({N}, 2)"), &data)
    })
}

/// The sweeps of the matrix: (name, data options, grid and strategy options).
fn cases() -> Vec<(&'static str, Vec<String>, Vec<&'static str>)> {
    vec![
        (
            "normal",
            vec!["--data".into(), normal_file().display().to_string()],
            vec![
                "--family",
                "normal",
                "--grid",
                "mu=1:2:5",
                "--grid",
                "sigma=1.5:2.5:3",
                "--strategy",
                "direct",
            ],
        ),
        (
            "poisson",
            vec!["--data".into(), poisson_file().display().to_string()],
            vec!["--family", "poisson", "--grid", "rate=3:4:21"],
        ),
        (
            "gamma",
            vec![
                "--data".into(),
                gamma_file().display().to_string(),
                "--column".into(),
                "1".into(),
            ],
            vec![
                "--family",
                "gamma",
                "--grid",
                "shape=1.8,2.2",
                "--grid",
                "rate=2.5:3.5:3",
                "--strategy",
                "direct",
            ],
        ),
    ]
}

/// Runs `sweep` with `base` + `extra`, JSON to `out`.
fn sweep(base: &[String], extra: &[&str], out: &Path) {
    let mut args: Vec<&str> = vec!["sweep", "-q"];
    args.extend(base.iter().map(String::as_str));
    args.extend(extra);
    args.extend(["--format", "json", "--out", out.to_str().unwrap()]);
    run(&args);
}

/// Runs the K shards of `flag` and merges them (in reverse order), JSON to `out`.
fn shards_merged(base: &[String], flag: &str, k: u32, out: &Path) {
    let mut files = Vec::new();
    for i in 1..=k {
        let f = out.with_extension(format!("{i}.klp"));
        let mut args: Vec<&str> = vec!["sweep", "-q"];
        args.extend(base.iter().map(String::as_str));
        let split = format!("{i}/{k}");
        args.extend([flag, &split, "--partials-out", f.to_str().unwrap()]);
        run(&args);
        files.push(f);
    }
    let mut args: Vec<String> = vec!["merge".into()];
    args.extend(files.iter().rev().map(|f| f.display().to_string()));
    args.extend([
        "--format".into(),
        "json".into(),
        "--out".into(),
        out.display().to_string(),
    ]);
    run(&args.iter().map(String::as_str).collect::<Vec<_>>());
}

fn matrix(backend: &str, devices: bool) {
    for (name, data, opts) in cases() {
        let mut base = data.clone();
        base.extend(opts.iter().map(|s| s.to_string()));
        base.extend(["--backend".to_string(), backend.to_string()]);
        let d = dir().join(format!("{name}-{backend}"));
        std::fs::create_dir_all(&d).unwrap();
        let single = d.join("single.json");
        sweep(&base, &[], &single);
        let want = points(&single);
        shards_merged(&base, "--shard", 3, &d.join("data.json"));
        assert_eq!(
            points(&d.join("data.json")),
            want,
            "{name} {backend}: --shard 1/3..3/3 merged"
        );
        shards_merged(&base, "--grid-shard", 4, &d.join("grid.json"));
        assert_eq!(
            points(&d.join("grid.json")),
            want,
            "{name} {backend}: --grid-shard 1/4..4/4 merged"
        );
        if devices {
            for split in ["grid", "data"] {
                let out = d.join(format!("devices-{split}.json"));
                sweep(&base, &["--adapter", "0,0", "--device-split", split], &out);
                assert_eq!(
                    points(&out),
                    want,
                    "{name} {backend}: two devices, {split} split"
                );
            }
        }
    }
}

#[test]
fn shards_and_grid_shards_merge_to_the_single_process_points_on_cpu() {
    matrix("cpu", false);
}

#[test]
fn shards_grid_shards_and_two_devices_give_the_single_process_points_on_gpu() {
    if common::gpu().is_none() {
        return;
    }
    matrix("gpu", true);
}

#[test]
fn sample_shards_draw_the_single_runs_samples() {
    let d = dir().join("sample");
    std::fs::create_dir_all(&d).unwrap();
    let base: Vec<String> = [
        "--family",
        "normal",
        "--sample",
        "normal(mu=1.5, sigma=2)",
        "-n",
        "8688608",
        "--seed",
        "5",
        "--grid",
        "mu=1:2:5",
        "--grid",
        "sigma=2",
        "--backend",
        "cpu",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    sweep(&base, &[], &d.join("single.json"));
    shards_merged(&base, "--shard", 3, &d.join("merged.json"));
    assert_eq!(
        points(&d.join("merged.json")),
        points(&d.join("single.json"))
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("merged.json")).unwrap()).unwrap();
    assert_eq!(m["n"], N);
    assert_eq!(m["data"], "normal(mu=1.5, sigma=2), seed 5");
    // P is known: the entropy and KL columns are the single run's.
    assert_eq!(m["entropy_source"], "analytic");
    assert_eq!(m["mle"]["method"], "closed_form");
    assert!(m["mle"]["mean_loglik"].is_null());
}

#[test]
fn dropped_nonfinite_values_are_counted_once_across_shards() {
    let d = dir().join("skip");
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join("holes.f32");
    let mut xs = draw("normal(mu=0, sigma=1)", 9);
    for i in (0..N - 1).step_by(999_983) {
        xs[i] = f64::NAN;
    }
    xs[N - 1] = f64::INFINITY;
    let b: Vec<u8> = xs.iter().flat_map(|v| (*v as f32).to_le_bytes()).collect();
    std::fs::write(&p, b).unwrap();
    let base: Vec<String> = [
        "--data",
        p.to_str().unwrap(),
        "--skip-nonfinite",
        "--family",
        "normal",
        "--grid",
        "mu=-0.5:0.5:5",
        "--grid",
        "sigma=1",
        "--backend",
        "cpu",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    sweep(&base, &[], &d.join("single.json"));
    shards_merged(&base, "--shard", 3, &d.join("merged.json"));
    assert_eq!(
        points(&d.join("merged.json")),
        points(&d.join("single.json"))
    );
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join(f)).unwrap()).unwrap()
    };
    let (a, b) = (read("single.json"), read("merged.json"));
    let dropped = (0..N - 1).step_by(999_983).count() + 1;
    assert_eq!(a["skipped_nonfinite"], dropped);
    assert_eq!(b["skipped_nonfinite"], a["skipped_nonfinite"]);
    assert_eq!(b["n"], a["n"]);
}

/// Runs klgrid expecting exit code 2 with one line on stderr containing `want`.
fn refused(args: &[&str], want: &str) {
    let out = common::klgrid(args);
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
        .collect();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(lines.len(), 1, "{args:?}: one line, got {err}");
    assert!(
        lines[0].contains(want),
        "{args:?}: expected '{want}' in {err}"
    );
}

#[test]
fn merge_refuses_missing_duplicate_overlapping_foreign_corrupted_and_newer_files() {
    let d = dir().join("refuse");
    std::fs::create_dir_all(&d).unwrap();
    let data = d.join("x.f64");
    let other = d.join("y.f64");
    let b = |seed| -> Vec<u8> {
        SampleSpec::parse("normal(mu=0, sigma=1)")
            .unwrap()
            .draw(5000, seed)
            .unwrap()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    };
    std::fs::write(&data, b(1)).unwrap();
    std::fs::write(&other, b(2)).unwrap();
    let f = |name: &str| d.join(name).display().to_string();
    let shard = |file: &Path, grid: &str, flag: &str, part: &str, out: &str| {
        run(&[
            "sweep",
            "-q",
            "--data",
            file.to_str().unwrap(),
            "--family",
            "normal",
            "--grid",
            grid,
            "--grid",
            "sigma=1",
            "--backend",
            "cpu",
            flag,
            part,
            "--partials-out",
            &f(out),
        ]);
    };
    let g = "mu=-1:1:9";
    for i in 1..=3 {
        shard(
            &data,
            g,
            "--grid-shard",
            &format!("{i}/3"),
            &format!("g{i}.klp"),
        );
    }
    shard(&data, g, "--grid-shard", "1/2", "h1.klp");
    shard(&data, "mu=-1:1:8", "--grid-shard", "2/3", "other-grid.klp");
    shard(&other, g, "--grid-shard", "3/3", "other-data.klp");
    // The three shards merge.
    run(&["merge", &f("g1.klp"), &f("g2.klp"), &f("g3.klp")]);
    refused(
        &["merge", &f("g1.klp"), &f("g3.klp")],
        "grid shard 2/3 (points 3..6) is missing",
    );
    refused(
        &[
            "merge",
            &f("g1.klp"),
            &f("g2.klp"),
            &f("g2.klp"),
            &f("g3.klp"),
        ],
        "(a duplicate)",
    );
    refused(
        &[
            "merge",
            &f("g1.klp"),
            &f("g2.klp"),
            &f("g3.klp"),
            &f("h1.klp"),
        ],
        "shards of different grid splits overlap",
    );
    refused(
        &["merge", &f("g1.klp"), &f("other-grid.klp"), &f("g3.klp")],
        "other grid",
    );
    refused(
        &["merge", &f("g1.klp"), &f("g2.klp"), &f("other-data.klp")],
        "other data",
    );
    // A flipped byte in the body, a newer format version, not a partial file at all.
    let mut bytes = std::fs::read(d.join("g2.klp")).unwrap();
    let k = bytes.len() - 30;
    bytes[k] ^= 0x10;
    std::fs::write(d.join("bad.klp"), &bytes).unwrap();
    refused(
        &["merge", &f("g1.klp"), &f("bad.klp"), &f("g3.klp")],
        "checksum mismatch",
    );
    let mut bytes = std::fs::read(d.join("g2.klp")).unwrap();
    bytes[8..12].copy_from_slice(&7u32.to_le_bytes());
    std::fs::write(d.join("newer.klp"), &bytes).unwrap();
    refused(
        &["merge", &f("g1.klp"), &f("newer.klp"), &f("g3.klp")],
        "format version 7 is newer",
    );
    refused(
        &["merge", data.to_str().unwrap()],
        "not a klgrid partial file",
    );
    // Shards write partials, not reports.
    refused(
        &[
            "sweep",
            "--data",
            data.to_str().unwrap(),
            "--family",
            "normal",
            "--grid",
            g,
            "--grid",
            "sigma=1",
            "--shard",
            "1/2",
        ],
        "give --partials-out FILE",
    );
    refused(
        &[
            "sweep",
            "--data",
            data.to_str().unwrap(),
            "--family",
            "normal",
            "--grid",
            g,
            "--grid",
            "sigma=1",
            "--shard",
            "3/2",
            "--partials-out",
            &f("z.klp"),
        ],
        "expected I/K",
    ); // The report's options belong to the merge: a shard refuses them instead of ignoring them.
    for extra in [["--cl", "0.9"], ["--intervals", "grid"]] {
        let mut args = vec![
            "sweep",
            "--data",
            data.to_str().unwrap(),
            "--family",
            "normal",
            "--grid",
            g,
            "--grid",
            "sigma=1",
            "--shard",
            "1/2",
            "--partials-out",
        ];
        let out = f("cl.klp");
        args.push(&out);
        args.extend(extra);
        refused(&args, "give them to `klgrid merge`");
    }
}

#[test]
fn a_merged_report_has_the_closed_form_mle_from_the_merged_summary_and_says_what_is_missing() {
    let d = dir().join("report");
    std::fs::create_dir_all(&d).unwrap();
    let base: Vec<String> = [
        "--data",
        normal_file().to_str().unwrap(),
        "--family",
        "normal",
        "--grid",
        "mu=1:2:5",
        "--grid",
        "sigma=1.5:2.5:5",
        "--backend",
        "cpu",
        "--true",
        "normal(mu=1.5, sigma=2)",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    shards_merged(&base, "--shard", 2, &d.join("m.json"));
    // A merged report has no samples, so its intervals are read off the grid (issue 16: the
    // default profile method needs the data): the whole sweep's grid-read intervals are the
    // ones to equal.
    sweep(&base, &["--intervals", "grid"], &d.join("s.json"));
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join(f)).unwrap()).unwrap()
    };
    let (m, s) = (read("m.json"), read("s.json"));
    assert_eq!(m["best"], s["best"]);
    assert_eq!(m["identity"], s["identity"]);
    assert_eq!(m["intervals"], s["intervals"]);
    assert_eq!(m["entropy"], s["entropy"]);
    assert_eq!(m["mle"]["method"], "closed_form");
    // The MLE from the merged summary agrees with the one from the samples to rounding.
    for p in ["mu", "sigma"] {
        let (a, b) = (
            m["mle"]["theta"][p].as_f64().unwrap(),
            s["mle"]["theta"][p].as_f64().unwrap(),
        );
        assert!((a - b).abs() <= 1e-12 * b.abs(), "{p}: {a} vs {b}");
    }
    // gamma has no closed form: the note says why the numeric MLE is missing.
    let g: Vec<String> = [
        "--data",
        gamma_file().to_str().unwrap(),
        "--column",
        "1",
        "--family",
        "gamma",
        "--grid",
        "shape=1.8,2.2",
        "--grid",
        "rate=2.5:3.5:3",
        "--backend",
        "cpu",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    shards_merged(&g, "--shard", 2, &d.join("g.json"));
    let gm = read("g.json");
    assert!(gm["mle"].is_null());
    assert!(
        gm["mle_note"].as_str().unwrap().contains("merged sweep"),
        "{}",
        gm["mle_note"]
    );
}
