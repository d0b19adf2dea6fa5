//! The `klgrid` binary: acceptance commands, output formats, and bad input (exit 2, one line on
//! stderr, no panic).

mod common;
use common::{klgrid, klgrid_command, stderr_text, temp_file};
use std::path::PathBuf;
use std::process::Output;

fn klgrid_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = klgrid_command();
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run klgrid")
}

fn tmp(name: &str, content: &str) -> PathBuf {
    PathBuf::from(temp_file("cli", name, content.as_bytes()))
}

/// Asserts exit code 2 and exactly one line on stderr (ignoring Mesa's XDG_RUNTIME_DIR notes),
/// containing `needle`, and no panic.
fn assert_input_error(args: &[&str], needle: &str) {
    let o = klgrid(args);
    let err = stderr_text(&o);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
        .collect();
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(lines.len(), 1, "{args:?}: expected one line, got {err}");
    assert!(
        lines[0].contains(needle),
        "{args:?}: '{}' lacks '{needle}'",
        lines[0]
    );
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

const NORMAL_GRID: [&str; 4] = ["--grid", "mu=0:1:3", "--grid", "sigma=1:2:3"];

fn sweep_data(path: &str, family: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "sweep",
        "--family",
        family,
        "--data",
        path,
        "--backend",
        "cpu-ref",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn run_owned(v: &[String], needle: &str) {
    let refs: Vec<&str> = v.iter().map(|s| s.as_str()).collect();
    assert_input_error(&refs, needle);
}

#[test]
fn bad_data_files_are_input_errors_naming_the_problem() {
    let g = NORMAL_GRID;
    run_owned(
        &sweep_data("/nonexistent/x.txt", "normal", &g),
        "/nonexistent/x.txt",
    );
    let dir = std::env::temp_dir();
    run_owned(
        &sweep_data(dir.to_str().unwrap(), "normal", &g),
        "cannot read",
    );
    let p = tmp("token.txt", "1.0\n2.0\nabc\n");
    run_owned(
        &sweep_data(p.to_str().unwrap(), "normal", &g),
        ":3: 'abc' is not a number",
    );
    let p = tmp("empty.txt", "# only a comment\n\n");
    run_owned(&sweep_data(p.to_str().unwrap(), "normal", &g), "empty");
    let p = tmp("nan.txt", "1\nNaN\n");
    run_owned(
        &sweep_data(p.to_str().unwrap(), "normal", &g),
        ":2: non-finite",
    );
    let p = tmp("inf.txt", "1\n2\n-inf\n");
    run_owned(
        &sweep_data(p.to_str().unwrap(), "normal", &g),
        ":3: non-finite",
    );
    let p = tmp("frac.txt", "1\n2.5\n");
    run_owned(
        &sweep_data(p.to_str().unwrap(), "poisson", &["--grid", "rate=1:2:3"]),
        "not an integer",
    );
}

#[test]
fn bad_families_parameters_and_grids_are_input_errors() {
    let s = [
        "sweep",
        "--sample",
        "normal(mu=0,sigma=1)",
        "-n",
        "100",
        "--backend",
        "cpu-ref",
    ];
    fn with<'a>(s: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [s, extra].concat()
    }
    assert_input_error(
        &with(&s, &["--family", "nosuch", "--grid", "a=1"]),
        "unknown family 'nosuch'",
    );
    assert_input_error(
        &with(&s, &["--family", "normal", "--grid", "mu=0"]),
        "missing --grid for parameter(s) sigma",
    );
    assert_input_error(
        &with(
            &s,
            &[
                "--family", "normal", "--grid", "mu=0", "--grid", "mu=1", "--grid", "sigma=1",
            ],
        ),
        "'mu' is given more than once",
    );
    assert_input_error(
        &with(
            &s,
            &[
                "--family", "normal", "--grid", "mu=0", "--grid", "sigma=1", "--grid", "nu=2",
            ],
        ),
        "unknown parameter 'nu'",
    );
    assert_input_error(
        &with(
            &s,
            &[
                "--family",
                "normal",
                "--grid",
                "mu=0",
                "--grid",
                "sigma=-1:1:3",
            ],
        ),
        "'sigma' must be > 0",
    );
    assert_input_error(
        &with(&s, &["--family", "exponential", "--grid", "rate=0"]),
        "'rate' must be > 0",
    );
    assert_input_error(
        &with(
            &s,
            &[
                "--family", "normal", "--grid", "mu=0:1:0", "--grid", "sigma=1",
            ],
        ),
        "COUNT must be at least 1",
    );
    assert_input_error(
        &with(
            &s,
            &[
                "--family", "normal", "--grid", "mu=0:x:3", "--grid", "sigma=1",
            ],
        ),
        "not a number",
    );
}

#[test]
fn malformed_sample_specs_are_input_errors() {
    for (spec, needle) in [
        ("normal(mu=1", "missing closing ')'"),
        ("normal mu=1 sigma=2", "missing '('"),
        ("normal(mu=1)", "missing parameter(s) sigma"),
        ("normal(mu=1,sigma=0)", "'sigma' must be > 0"),
        ("normal(mu=one,sigma=1)", "'one' is not a number"),
        ("gaussian(mu=1,sigma=1)", "unknown family 'gaussian'"),
        ("poisson(rate=-2)", "'rate' must be > 0"),
    ] {
        assert_input_error(
            &[
                "sweep", "--family", "normal", "--sample", spec, "-n", "10", "--grid", "mu=0",
                "--grid", "sigma=1",
            ],
            needle,
        );
    }
    // Non-integer draws for a discrete family.
    assert_input_error(
        &[
            "sweep",
            "--family",
            "poisson",
            "--sample",
            "normal(mu=3,sigma=1)",
            "-n",
            "10",
            "--grid",
            "rate=1:4:4",
        ],
        "not an integer",
    );
    // -n 0, --sample without -n, neither --data nor --sample, unknown flags.
    assert_input_error(
        &[
            "sweep",
            "--family",
            "normal",
            "--sample",
            "normal(0,1)",
            "-n",
            "0",
            "--grid",
            "mu=0",
            "--grid",
            "sigma=1",
        ],
        "at least 1",
    );
    assert_input_error(
        &[
            "sweep",
            "--family",
            "normal",
            "--sample",
            "normal(0,1)",
            "--grid",
            "mu=0",
            "--grid",
            "sigma=1",
        ],
        "-n",
    );
    assert_input_error(
        &[
            "sweep", "--family", "normal", "--grid", "mu=0", "--grid", "sigma=1",
        ],
        "--data",
    );
    assert_input_error(&["sweep", "--bogus"], "--bogus");
}

#[test]
fn forced_gpu_without_adapter_fails_clearly_and_auto_says_it_fell_back() {
    // WGPU_BACKEND=dx12 leaves no adapter on Linux.
    let args = [
        "sweep",
        "--family",
        "normal",
        "--sample",
        "normal(0,1)",
        "-n",
        "1000",
        "--grid",
        "mu=-1:1:5",
        "--grid",
        "sigma=1",
        "--backend",
    ];
    let o = klgrid_env(&[&args[..], &["gpu"]].concat(), &[("WGPU_BACKEND", "dx12")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr_text(&o));
    assert!(
        stderr_text(&o).contains("no GPU adapter"),
        "{}",
        stderr_text(&o)
    );
    let o = klgrid_env(
        &[&args[..], &["auto", "--format", "json"]].concat(),
        &[("WGPU_BACKEND", "dx12")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr_text(&o));
    assert!(
        stderr_text(&o).contains("backend auto") && stderr_text(&o).contains("using cpu"),
        "{}",
        stderr_text(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["backend"], "cpu");
    assert!(v["adapter"].is_null());
}

/// JSON has the documented keys; −∞ points are null; best is the argmax of the points.
#[test]
fn json_output_follows_the_schema() {
    let p = tmp("pois.txt", "0\n1\n2\n3\n2\n1\n");
    let o = klgrid(&[
        "sweep",
        "--family",
        "poisson",
        "--data",
        p.to_str().unwrap(),
        "--grid",
        "rate=0.5:4:8",
        "--backend",
        "cpu-ref",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in [
        "family",
        "params",
        "n",
        "backend",
        "adapter",
        "points",
        "best",
        "mle",
        "grid",
        "timings",
        "tolerance",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["params"], serde_json::json!(["rate"]));
    assert_eq!(v["n"], 6);
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 8);
    for pt in points {
        for key in [
            "theta",
            "loglik",
            "mean_loglik",
            "cross_entropy",
            "outside_support",
        ] {
            assert!(pt.get(key).is_some(), "point lacks {key}");
        }
        let (m, c) = (
            pt["mean_loglik"].as_f64().unwrap(),
            pt["cross_entropy"].as_f64().unwrap(),
        );
        assert_eq!(m, -c);
    }
    let best = v["best"]["index"].as_u64().unwrap() as usize;
    let max = points
        .iter()
        .map(|p| p["mean_loglik"].as_f64().unwrap())
        .fold(f64::MIN, f64::max);
    assert_eq!(points[best]["mean_loglik"].as_f64().unwrap(), max);
    assert!((v["mle"]["theta"]["rate"].as_f64().unwrap() - 1.5).abs() < 1e-12);

    // Negative data for the exponential family: every point −∞, written as null; no best.
    let p = tmp("neg.txt", "1\n-1\n");
    let o = klgrid(&[
        "sweep",
        "--family",
        "exponential",
        "--data",
        p.to_str().unwrap(),
        "--grid",
        "rate=1,2",
        "--backend",
        "cpu-ref",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["best"].is_null());
    assert!(v["points"][0]["loglik"].is_null());
    assert_eq!(v["points"][1]["outside_support"], 1);
}

#[test]
fn csv_has_one_row_per_grid_point_in_grid_order() {
    let o = klgrid(&[
        "sweep",
        "--family",
        "normal",
        "--sample",
        "normal(0,1)",
        "-n",
        "500",
        "--grid",
        "sigma=1,2",
        "--grid",
        "mu=-1:1:3",
        "--backend",
        "cpu-ref",
        "--format",
        "csv",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "index,mu,sigma,loglik,mean_loglik,cross_entropy,outside_support,kl,kl_exact"
    );
    assert_eq!(lines.len(), 7);
    assert!(lines[2].starts_with("1,0,1,"), "{}", lines[2]);
    assert!(lines[4].starts_with("3,-1,2,"), "{}", lines[4]);
}

/// Acceptance: poisson, 1,000,000 samples, 301-point grid, gpu vs cpu-ref: exit 0, best rate
/// within one step of the MLE.
#[test]
fn poisson_both_backends_agree_and_best_is_within_a_step_of_the_mle() {
    let o = klgrid(&[
        "sweep",
        "--family",
        "poisson",
        "--sample",
        "poisson(rate=3.5)",
        "-n",
        "1000000",
        "--grid",
        "rate=0.5:8:301",
        "--backend",
        "both",
        "--format",
        "json",
    ]);
    if o.status.code() == Some(1) && stderr_text(&o).contains("no GPU adapter") {
        assert_ne!(
            std::env::var("KLGRID_REQUIRE_GPU").as_deref(),
            Ok("1"),
            "no GPU adapter"
        );
        eprintln!("SKIPPED: no GPU adapter; set KLGRID_REQUIRE_GPU=1 to fail instead");
        return;
    }
    assert_eq!(o.status.code(), Some(0), "{}", stderr_text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["backend"], "gpu");
    assert_eq!(v["agreement"]["argmax_agrees"], true);
    assert!(v["agreement"]["max_rel_diff"].as_f64().unwrap() <= 1e-6);
    let best = v["best"]["theta"]["rate"].as_f64().unwrap();
    let mle = v["mle"]["theta"]["rate"].as_f64().unwrap();
    assert!(
        (best - mle).abs() <= 7.5 / 300.0 + 1e-12,
        "best {best}, mle {mle}"
    );
}

#[test]
fn demo_finds_the_truth_within_one_grid_step() {
    let o = klgrid(&["demo"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_text(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("argmax likelihood = argmin cross-entropy = argmin KL"),
        "{out}"
    );
    let line = out.lines().find(|l| l.starts_with("best θ")).unwrap();
    let nums: Vec<f64> = line
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .filter_map(|t| t.parse().ok())
        .collect();
    let (mu, sigma) = (nums[0], nums[1]);
    assert!(
        (mu - 1.5).abs() <= 3.0 / 63.0 && (sigma - 2.0).abs() <= 2.0 / 63.0,
        "{line}"
    );
}

/// Every parameter of every family, given outside its domain in --sample and in --grid, is an
/// input error naming the parameter.
#[test]
fn out_of_domain_parameters_of_every_family_are_input_errors() {
    use klgrid::model::{Domain, REGISTRY};
    for fam in REGISTRY {
        let theta = fam.example_theta();
        for (j, p) in fam.params().iter().enumerate() {
            let bad = match p.domain {
                Domain::Real => "inf",
                Domain::Positive => "-1",
                Domain::OpenUnit => "1.5",
                Domain::PositiveInteger => "2.5",
            };
            let spec: Vec<String> = fam
                .params()
                .iter()
                .zip(&theta)
                .enumerate()
                .map(|(i, (q, v))| {
                    if i == j {
                        format!("{}={bad}", q.name)
                    } else {
                        format!("{}={v}", q.name)
                    }
                })
                .collect();
            let spec = format!("{}({})", fam.name(), spec.join(","));
            let mut args = vec![
                "sweep".to_string(),
                "--family".into(),
                fam.name().into(),
                "--sample".into(),
                spec,
                "-n".into(),
                "10".into(),
            ];
            for (q, v) in fam.params().iter().zip(&theta) {
                args.push("--grid".into());
                args.push(format!("{}={v}", q.name));
            }
            run_owned(&args, &format!("'{}'", p.name));
            // The same value on the grid.
            let mut args: Vec<String> = vec![
                "sweep".into(),
                "--family".into(),
                fam.name().into(),
                "--sample".into(),
            ];
            let good: Vec<String> = fam
                .params()
                .iter()
                .zip(&theta)
                .map(|(q, v)| format!("{}={v}", q.name))
                .collect();
            args.push(format!("{}({})", fam.name(), good.join(",")));
            args.extend(["-n".into(), "10".into()]);
            for (i, (q, v)) in fam.params().iter().zip(&theta).enumerate() {
                args.push("--grid".into());
                args.push(if i == j {
                    format!("{}={bad}", q.name)
                } else {
                    format!("{}={v}", q.name)
                });
            }
            let needle = if bad == "inf" {
                "must be finite".to_string()
            } else {
                format!("'{}'", p.name)
            };
            run_owned(&args, &needle);
        }
    }
}

/// Non-integer data for every discrete family is an input error naming the value and line.
#[test]
fn non_integer_data_for_every_discrete_family_is_an_input_error() {
    use klgrid::model::REGISTRY;
    let p = tmp("half.txt", "1\n0\n2.5\n");
    for fam in REGISTRY.iter().filter(|f| f.integer_data()) {
        let mut args = vec![
            "sweep".to_string(),
            "--family".into(),
            fam.name().into(),
            "--data".into(),
            p.to_str().unwrap().into(),
        ];
        for (q, v) in fam.params().iter().zip(fam.example_theta()) {
            args.push("--grid".into());
            args.push(format!("{}={v}", q.name));
        }
        run_owned(&args, ":3: value 2.5 is not an integer");
    }
}

/// README.md's family table is exactly what `klgrid families --format markdown` prints.
#[test]
fn readme_family_table_matches_the_registry() {
    let o = klgrid(&["families", "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(0));
    let table = String::from_utf8(o.stdout).unwrap();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(table.trim()),
        "README.md's family table is stale; paste:\n{table}"
    );
}

/// `--quiet` leaves out the note saying which path `--backend auto` chose (and every other
/// informational note); without it the note is printed once.
#[test]
fn quiet_silences_the_backend_auto_note() {
    let args = |quiet: bool| {
        let mut a = vec![
            "sweep",
            "--family",
            "normal",
            "--sample",
            "normal(mu=1,sigma=2)",
            "-n",
            "1000",
            "--points",
            "none",
        ];
        a.extend(NORMAL_GRID);
        if quiet {
            a.push("--quiet");
        }
        a
    };
    let loud = klgrid(&args(false));
    assert_eq!(loud.status.code(), Some(0), "{}", stderr_text(&loud));
    assert_eq!(stderr_text(&loud).matches("backend auto:").count(), 1);
    let quiet = klgrid(&args(true));
    assert_eq!(quiet.status.code(), Some(0), "{}", stderr_text(&quiet));
    let err = stderr_text(&quiet);
    assert!(!err.contains("backend auto"), "{err}");
    // The report is the same but for its timings.
    let report = |o: &Output| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| !l.starts_with("time"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(report(&loud), report(&quiet), "--quiet changes only stderr");
}
