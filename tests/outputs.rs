//! The output side of the `klgrid` binary: NPZ and Parquet read back (in Rust, and by NumPy and
//! pandas) with the JSON's numbers, `--points`, closed and full streams, atomic `--out` (SIGTERM
//! mid-write), options checked before any data are read, and the smaller promises (XDG_RUNTIME_DIR,
//! `demo --backend both`, bench's integer count, the streamed MLE's likelihood in the table).

mod common;
use common::{assert_no_panic, klgrid, klgrid_command, stderr_text};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A fresh folder for one test.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("klgrid-outputs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A sweep with −∞ points (uniform), KL and a missing exact KL nowhere; `extra` appended.
const UNIFORM: [&str; 11] = [
    "sweep",
    "--family",
    "uniform",
    "--sample",
    "uniform(0, 1)",
    "-n",
    "1000",
    "--grid",
    "low=-0.5:0.5:11",
    "--grid",
    "high=0.5:1.5:13",
];

fn sweep_to(args: &[&str], format: &str, out: &Path, extra: &[&str]) {
    let o = klgrid_command()
        .args(args)
        .args(["--backend", "cpu", "--format", format, "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr_text(&o));
}

/// The JSON's per-point column `name` as f64 (null: a non-finite value).
fn json_column(v: &serde_json::Value, name: &str) -> Vec<Option<f64>> {
    v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let x = if name == "low" || name == "high" {
                &p["theta"][name]
            } else {
                &p[name]
            };
            x.as_f64()
        })
        .collect()
}

/// Same number: equal, or the JSON's null for a non-finite value.
fn same(json: &[Option<f64>], other: &[f64], what: &str) {
    assert_eq!(json.len(), other.len(), "{what}: length");
    for (i, (a, b)) in json.iter().zip(other).enumerate() {
        match a {
            Some(a) => assert_eq!(a.to_bits(), b.to_bits(), "{what}[{i}]: {a} vs {b}"),
            None => assert!(!b.is_finite(), "{what}[{i}]: null vs {b}"),
        }
    }
}

const COLUMNS: [&str; 8] = [
    "low",
    "high",
    "loglik",
    "mean_loglik",
    "cross_entropy",
    "outside_support",
    "kl",
    "kl_exact",
];

fn read_npz(
    path: &Path,
) -> std::collections::HashMap<String, npyz::NpyFile<std::io::Cursor<Vec<u8>>>> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = std::collections::HashMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = npyz::npz::array_name_from_file_name(f.name())
            .unwrap()
            .to_string();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        out.insert(
            name,
            npyz::NpyFile::new(std::io::Cursor::new(bytes)).unwrap(),
        );
    }
    out
}

/// An NPZ column as f64: the integer ones (`index`, `outside_support`) converted.
fn npz_f64(arr: npyz::NpyFile<std::io::Cursor<Vec<u8>>>, name: &str) -> Vec<f64> {
    if matches!(name, "index" | "outside_support") {
        arr.into_vec::<i64>()
            .unwrap()
            .into_iter()
            .map(|x| x as f64)
            .collect()
    } else {
        arr.into_vec::<f64>().unwrap()
    }
}

/// Parquet columns by name: f64 (integers converted), read with the parquet crate's row API.
fn read_parquet(path: &Path) -> (std::collections::HashMap<String, Vec<f64>>, Option<String>) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let meta = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == "klgrid"))
        .and_then(|k| k.value.clone());
    let mut cols: std::collections::HashMap<String, Vec<f64>> = Default::default();
    for row in reader.get_row_iter(None).unwrap() {
        for (name, field) in row.unwrap().get_column_iter() {
            let v = match field {
                Field::Double(x) => *x,
                Field::Long(x) => *x as f64,
                f => panic!("{name}: unexpected {f:?}"),
            };
            cols.entry(name.clone()).or_default().push(v);
        }
    }
    (cols, meta)
}

/// Acceptance: NPZ and Parquet, read back with the npyz/zip and parquet crates, hold the JSON's
/// numbers (−∞ where the JSON has null), the CSV's column names, the axes, and the JSON summary.
#[test]
fn npz_and_parquet_read_back_in_rust_hold_the_json_numbers() {
    let d = dir("readback");
    for f in ["json", "npz", "parquet", "csv"] {
        sweep_to(&UNIFORM, f, &d.join(format!("u.{f}")), &[]);
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("u.json")).unwrap()).unwrap();
    let csv = std::fs::read_to_string(d.join("u.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();

    let mut npz = read_npz(&d.join("u.npz"));
    let mut names: Vec<String> = npz.keys().cloned().collect();
    names.sort();
    let mut want: Vec<String> = header.iter().map(|s| s.to_string()).collect();
    want.extend(["axis_low", "axis_high", "metadata"].map(String::from));
    want.sort();
    assert_eq!(names, want);
    for name in COLUMNS {
        let arr = npz.remove(name).unwrap();
        assert_eq!(arr.shape(), &[143]);
        let values = npz_f64(arr, name);
        same(&json_column(&json, name), &values, &format!("npz {name}"));
    }
    let index = npz.remove("index").unwrap().into_vec::<i64>().unwrap();
    assert_eq!(index, (0..143).collect::<Vec<i64>>());
    let axis = npz.remove("axis_high").unwrap().into_vec::<f64>().unwrap();
    assert_eq!(axis.len(), 13);
    assert_eq!((axis[0], axis[12]), (0.5, 1.5));
    let meta = npz.remove("metadata").unwrap();
    assert_eq!(meta.shape(), &[] as &[u64]);
    let meta: serde_json::Value =
        serde_json::from_str(&meta.into_vec::<String>().unwrap()[0]).unwrap();
    assert_eq!(meta["family"], "uniform");
    assert_eq!(meta["best"], json["best"]);
    assert!(meta.get("points").is_none());

    let (pq, meta) = read_parquet(&d.join("u.parquet"));
    let mut names: Vec<&str> = pq.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut want = header.clone();
    want.sort_unstable();
    assert_eq!(names, want);
    for name in COLUMNS {
        same(
            &json_column(&json, name),
            &pq[name],
            &format!("parquet {name}"),
        );
    }
    let meta: serde_json::Value = serde_json::from_str(&meta.unwrap()).unwrap();
    assert_eq!(meta["identity"], json["identity"]);
    assert_eq!(meta["grid"], json["grid"]);
}

/// A Parquet file of more than one row group (its columns encoded in parallel and appended in
/// order) holds, row for row, the NPZ's values, bit for bit, with the encodings the module
/// documents: DELTA_BINARY_PACKED integers, dictionary-encoded parameters, column statistics.
#[test]
fn parquet_of_two_row_groups_holds_the_npz_values_with_its_documented_encodings() {
    use parquet::basic::Encoding;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::file::statistics::Statistics;
    let d = dir("rowgroups");
    // 1025 × 1024 = 2²⁰ + 1024 points: one full row group and a short one.
    let args = [
        "sweep",
        "--family",
        "normal",
        "--sample",
        "normal(mu=1.5, sigma=2)",
        "-n",
        "300",
        "--grid",
        "mu=0:3:1025",
        "--grid",
        "sigma=1:3:1024",
        "--strategy",
        "suffstats",
    ];
    for f in ["npz", "parquet"] {
        sweep_to(&args, f, &d.join(format!("g.{f}")), &[]);
    }
    let n = 1025 * 1024;
    let reader =
        SerializedFileReader::new(std::fs::File::open(d.join("g.parquet")).unwrap()).unwrap();
    let meta = reader.metadata();
    let rows: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
    assert_eq!(rows, [1 << 20, n as i64 - (1 << 20)]);
    for (g, group) in meta.row_groups().iter().enumerate() {
        for c in group.columns() {
            let name = c.column_path().string();
            let encodings: Vec<Encoding> = c.encodings().collect();
            match name.as_str() {
                "index" | "outside_support" => {
                    assert!(encodings.contains(&Encoding::DELTA_BINARY_PACKED), "{name}")
                }
                "mu" | "sigma" => {
                    assert!(c.dictionary_page_offset().is_some(), "{name}");
                    assert!(encodings.contains(&Encoding::RLE_DICTIONARY), "{name}");
                }
                _ => assert!(encodings.contains(&Encoding::PLAIN), "{name}"),
            }
            if name == "index" {
                let lo = g as i64 * (1 << 20);
                match c.statistics() {
                    Some(Statistics::Int64(s)) => {
                        assert_eq!(
                            (s.min_opt(), s.max_opt()),
                            (Some(&lo), Some(&(lo + rows[g] - 1)))
                        )
                    }
                    s => panic!("index statistics {s:?}"),
                }
            }
        }
    }
    let (pq, _) = read_parquet(&d.join("g.parquet"));
    let mut npz = read_npz(&d.join("g.npz"));
    for (name, values) in &pq {
        let arr = npz.remove(name.as_str()).unwrap();
        let want = npz_f64(arr, name);
        assert_eq!(values.len(), n, "{name}");
        assert!(
            values
                .iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{name}: the Parquet and NPZ values differ"
        );
    }
    assert_eq!(pq["index"], (0..n).map(|i| i as f64).collect::<Vec<_>>());
}

/// Acceptance: NumPy reads the NPZ and pandas (pyarrow) the Parquet file with the JSON's numbers.
/// Needs python3 with numpy, pandas and pyarrow: skipped with a note when they are missing,
/// except under CI=true, where a missing package fails the test.
#[test]
fn numpy_and_pandas_read_the_json_numbers() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let probe = Command::new("python3")
        .args(["-c", "import numpy, pandas, pyarrow"])
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        other => {
            let why = match other {
                Ok(o) => stderr_text(&o),
                Err(e) => e.to_string(),
            };
            assert!(
                !ci,
                "CI=true: python3 with numpy, pandas and pyarrow is needed: {why}"
            );
            eprintln!("skipped: python3 with numpy, pandas and pyarrow not found ({why})");
            return;
        }
    }
    let d = dir("python");
    for f in ["json", "npz", "parquet"] {
        sweep_to(&UNIFORM, f, &d.join(format!("u.{f}")), &[]);
    }
    let script = r#"
import json, sys
import numpy as np, pandas as pd, pyarrow.parquet as pq
d = sys.argv[1]
doc = json.load(open(d + "/u.json"))
npz = np.load(d + "/u.npz")
df = pd.read_parquet(d + "/u.parquet")
def col(name):
    pts = doc["points"]
    vals = [p["theta"][name] if name in ("low", "high") else p[name] for p in pts]
    return vals
for name in ["low", "high", "loglik", "mean_loglik", "cross_entropy", "outside_support", "kl", "kl_exact"]:
    want = col(name)
    for what, got in (("npz", npz[name]), ("parquet", df[name].to_numpy())):
        assert len(got) == len(want), (what, name, len(got))
        for i, (w, g) in enumerate(zip(want, got)):
            if w is None:
                assert not np.isfinite(g), (what, name, i, g)
            else:
                assert float(g) == w, (what, name, i, g, w)
assert list(df.columns) == ["index", "low", "high", "loglik", "mean_loglik", "cross_entropy", "outside_support", "kl", "kl_exact"], list(df.columns)
assert str(df["index"].dtype) == "int64" and str(npz["outside_support"].dtype) == "int64"
meta = json.loads(str(npz["metadata"]))
assert meta["best"] == doc["best"] and "points" not in meta
pmeta = json.loads(pq.read_metadata(d + "/u.parquet").metadata[b"klgrid"])
assert pmeta["identity"] == doc["identity"]
assert list(npz["axis_low"]) == sorted(set(col("low"))), list(npz["axis_low"])
print("ok")
"#;
    let o = Command::new("python3")
        .args(["-c", script])
        .arg(&d)
        .output()
        .unwrap();
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "ok",
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        stderr_text(&o)
    );
}

/// `--points best` lists the best point only and `--points none` no point, in every format: the
/// JSON's `points` array (absent with none), the CSV rows, the NPZ arrays and the Parquet rows.
#[test]
fn points_best_and_none_choose_the_rows_of_every_format() {
    let d = dir("points");
    for which in ["best", "none"] {
        for f in ["json", "csv", "npz", "parquet"] {
            sweep_to(
                &UNIFORM,
                f,
                &d.join(format!("{which}.{f}")),
                &["--points", which],
            );
        }
        let rows = usize::from(which == "best");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join(format!("{which}.json"))).unwrap())
                .unwrap();
        match which {
            "best" => {
                let pts = json["points"].as_array().unwrap();
                assert_eq!(pts.len(), 1);
                assert_eq!(pts[0]["mean_loglik"], json["best"]["mean_loglik"]);
                assert_eq!(pts[0]["theta"], json["best"]["theta"]);
            }
            _ => assert!(json.get("points").is_none()),
        }
        let csv = std::fs::read_to_string(d.join(format!("{which}.csv"))).unwrap();
        assert_eq!(csv.lines().count(), 1 + rows);
        if rows == 1 {
            let index = json["best"]["index"].as_u64().unwrap();
            assert!(csv
                .lines()
                .nth(1)
                .unwrap()
                .starts_with(&format!("{index},")));
        }
        let npz = read_npz(&d.join(format!("{which}.npz")));
        assert_eq!(npz["loglik"].shape(), &[rows as u64]);
        assert_eq!(npz["axis_low"].shape(), &[11]);
        let (pq, meta) = read_parquet(&d.join(format!("{which}.parquet")));
        assert_eq!(pq.get("loglik").map_or(0, Vec::len), rows);
        assert!(meta.is_some());
    }
    // The table: the top-points view has 5, 1 or no rows.
    for (which, rows) in [("all", 5), ("best", 1), ("none", 0)] {
        let o = klgrid_command()
            .args(UNIFORM)
            .args(["--backend", "cpu", "--points", which])
            .output()
            .unwrap();
        let text = String::from_utf8(o.stdout).unwrap();
        let view: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("top grid points"))
            .skip(2)
            .collect();
        assert_eq!(view.len(), rows, "{which}: {text}");
    }
}

/// Runs `args` with its stdout a pipe whose reader is gone before anything is written.
fn closed_pipe(args: &[&str]) -> Output {
    let mut child = klgrid_command()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

/// `klgrid … | head -1`: a closed pipe ends the output quietly with exit 0, for every command
/// and every format; nothing on stderr but notes.
#[test]
fn a_closed_pipe_ends_quietly_with_exit_0_for_every_command_and_format() {
    let big = [
        "sweep",
        "--family",
        "normal",
        "--sample",
        "normal(0,1)",
        "-n",
        "1000",
        "--grid",
        "mu=-1:1:100",
        "--grid",
        "sigma=1:2:100",
        "--backend",
        "cpu",
        "--format",
    ];
    let mut runs: Vec<Vec<&str>> = vec![vec!["families"], vec!["adapters"]];
    for f in ["table", "csv", "json", "npz", "parquet"] {
        let mut a = big.to_vec();
        a.push(f);
        runs.push(a);
    }
    runs.push(vec!["demo", "--backend", "cpu"]);
    for args in runs {
        let o = closed_pipe(&args);
        assert_no_panic(&o);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr_text(&o));
        assert!(
            !stderr_text(&o).contains("error"),
            "{args:?}: {}",
            stderr_text(&o)
        );
    }
}

/// `klgrid families > /dev/full`, and a sweep: the output is lost, so exit 1 with one line.
#[test]
fn a_full_stdout_is_a_failure_with_one_line() {
    if !Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    let sweep = [
        "sweep",
        "--family",
        "normal",
        "--sample",
        "normal(0,1)",
        "-n",
        "100",
        "--grid",
        "mu=-1:1:3",
        "--grid",
        "sigma=1:2:3",
        "--backend",
        "cpu",
        "--format",
        "json",
    ];
    for args in [&["families"][..], &sweep[..]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = klgrid_command().args(args).stdout(full).output().unwrap();
        assert_no_panic(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = stderr_text(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("No space left"), "{err}");
    }
}

/// Runs `args` with file descriptor `fd` closed.
#[cfg(unix)]
fn with_closed_fd(args: &[&str], fd: i32) -> Output {
    use std::os::unix::process::CommandExt;
    let mut c = klgrid_command();
    c.args(args);
    // SAFETY: close() is async-signal-safe, as pre_exec requires.
    unsafe {
        c.pre_exec(move || {
            libc::close(fd);
            Ok(())
        });
    }
    c.output().unwrap()
}

/// `klgrid families >&-` and a sweep with stdout closed: the report would be lost, so exit 1
/// (the sweep says so before any work); with `--out` it runs; a closed or broken stderr never
/// panics and keeps the exit code.
#[cfg(unix)]
#[test]
fn closed_stdout_loses_the_report_and_fails_closed_stderr_does_not_panic() {
    let o = with_closed_fd(&["families"], 1);
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr_text(&o).contains("standard output is closed"),
        "{}",
        stderr_text(&o)
    );

    let d = dir("closed");
    let out = d.join("r.csv");
    let base = [
        "sweep",
        "--family",
        "normal",
        "--sample",
        "normal(0,1)",
        "-n",
        "100",
        "--grid",
        "mu=-1:1:3",
        "--grid",
        "sigma=1:2:3",
        "--backend",
        "cpu",
    ];
    let o = with_closed_fd(&base, 1);
    assert_eq!(o.status.code(), Some(1), "{}", stderr_text(&o));
    let mut with_out = base.to_vec();
    with_out.extend(["--format", "csv", "--out", out.to_str().unwrap()]);
    let o = with_closed_fd(&with_out, 1);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_text(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 10);

    // stderr closed, and stderr a pipe nobody reads: an input error still exits 2.
    let bad = [
        "sweep",
        "--family",
        "gama",
        "--sample",
        "normal(0,1)",
        "-n",
        "9",
        "--grid",
        "x=1",
    ];
    let o = with_closed_fd(&bad, 2);
    assert_eq!(o.status.code(), Some(2));
    let mut child = klgrid_command()
        .args(bad)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(2));
}

/// Acceptance: SIGTERM while a long run writes `--out` leaves the existing file untouched and
/// no temporary file behind; a failed run too; a finished run replaces it, keeping its mode.
#[cfg(unix)]
#[test]
fn sigterm_mid_write_leaves_the_old_file_intact_and_no_temporary() {
    use std::os::unix::fs::PermissionsExt;
    let d = dir("atomic");
    let out = d.join("result.json");
    std::fs::write(&out, "old content\n").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o640)).unwrap();
    let temporaries = || {
        std::fs::read_dir(&d)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
            .map(|e| e.path())
            .collect::<Vec<_>>()
    };
    // 1,000,000 points: some 240 MB of JSON, long enough to be caught writing.
    let mut child = klgrid_command()
        .args([
            "sweep",
            "--family",
            "normal",
            "--sample",
            "normal(0,1)",
            "-n",
            "1000",
            "--grid",
            "mu=-1:1:1000",
            "--grid",
            "sigma=1:2:1000",
            "--backend",
            "cpu",
            "--format",
            "json",
            "-q",
            "--out",
        ])
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let caught = loop {
        let writing = temporaries()
            .iter()
            .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 1 << 20));
        if writing {
            break true;
        }
        if t0.elapsed() > Duration::from_secs(120) || child.try_wait().unwrap().is_some() {
            break false;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(caught, "the run was not caught writing its temporary file");
    // SAFETY: kill() on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old content\n");
    assert_eq!(temporaries(), Vec::<PathBuf>::new());

    // A run that fails after the output was prepared: the old file stays, no temporary.
    let data = d.join("bad.txt");
    std::fs::write(&data, "1\n2\nabc\n").unwrap();
    let o = klgrid_command()
        .args(["sweep", "--family", "normal", "--data"])
        .arg(&data)
        .args(["--grid", "mu=0:1:3", "--grid", "sigma=1:2:3", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr_text(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old content\n");
    assert_eq!(temporaries(), Vec::<PathBuf>::new());

    // A finished run replaces the file and keeps its permissions.
    std::fs::write(d.join("good.txt"), "1\n2\n3\n").unwrap();
    let o = klgrid_command()
        .args(["sweep", "--family", "normal", "--data"])
        .arg(d.join("good.txt"))
        .args([
            "--grid",
            "mu=0:1:3",
            "--grid",
            "sigma=1:2:3",
            "--backend",
            "cpu",
        ])
        .args(["--format", "json", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr_text(&o));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["n"], 3);
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    assert_eq!(temporaries(), Vec::<PathBuf>::new());
}

/// Late validation: an unwritable `--out`, a `--plot` with a wrong extension or in a missing
/// folder, a malformed `--true`, a bad `--plot-size` or `--plot-pair` are reported before the data
/// are read: the data here are a FIFO nobody writes, which would block any read forever.
#[cfg(unix)]
#[test]
fn options_are_checked_before_any_data_are_read() {
    let d = dir("early");
    let fifo = d.join("never-written");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid path string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let fifo = fifo.to_str().unwrap().to_string();
    let cases: [(&[&str], i32, &str); 7] = [
        (
            &["--out", "/nonexistent-dir/r.json"],
            1,
            "--out '/nonexistent-dir/r.json'",
        ),
        (&["--out", "/"], 1, "is a directory"),
        (&["--plot", "p.jpg"], 2, ".png or .svg"),
        (
            &["--plot", "/nonexistent-dir/p.png"],
            1,
            "--plot '/nonexistent-dir/p.png'",
        ),
        (&["--true", "normal(mu=1"], 2, "--true"),
        (
            &["--plot", "p.png", "--plot-size", "10x10"],
            2,
            "--plot-size",
        ),
        (&["--plot", "p.png", "--plot-pair", "mu,nope"], 2, "nope"),
    ];
    for (extra, code, needle) in cases {
        let mut child = klgrid_command()
            .current_dir(&d)
            .args(["sweep", "--family", "normal", "--data", &fifo])
            .args(["--grid", "mu=0:1:3", "--grid", "sigma=1:2:3"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if t0.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = status.unwrap_or_else(|| panic!("{extra:?}: blocked reading the data"));
        assert_eq!(status.code(), Some(code), "{extra:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{extra:?}: {err}");
        assert!(err.contains(needle), "{extra:?}: {err}");
    }
    let left: Vec<_> = std::fs::read_dir(&d).unwrap().collect();
    assert_eq!(left.len(), 1, "only the FIFO is left: {left:?}");
}

/// With XDG_RUNTIME_DIR unset, a GPU command prints no Mesa warning about it.
#[test]
fn unset_xdg_runtime_dir_gives_no_mesa_warning() {
    let o = klgrid_command()
        .env_remove("XDG_RUNTIME_DIR")
        .arg("adapters")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(
        !stderr_text(&o).contains("XDG_RUNTIME_DIR"),
        "{}",
        stderr_text(&o)
    );
}

/// `demo --backend both` prints the agreement of the two paths (and would exit 3 on a
/// disagreement, like sweep).
#[test]
fn demo_both_prints_the_agreement() {
    if std::env::var("KLGRID_REQUIRE_GPU").is_err()
        && klgrid(&["adapters"]).stdout.starts_with(b"no GPU")
    {
        eprintln!("skipped: no GPU adapter");
        return;
    }
    let o = klgrid(&["demo", "--backend", "both"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}{}", stderr_text(&o));
    let line = text
        .lines()
        .find(|l| l.starts_with("agreement"))
        .unwrap_or_else(|| panic!("no agreement line: {text}"));
    assert!(
        line.contains("gpu vs cpu-ref") && line.ends_with("-> OK"),
        "{line}"
    );
}

/// bench's `evaluations_per_run` is an integer: n · grid points.
#[test]
fn bench_evaluations_per_run_is_an_integer() {
    let o = klgrid(&[
        "bench",
        "--family",
        "normal",
        "--sample",
        "normal(0,1)",
        "-n",
        "1000",
        "--grid",
        "mu=-1:1:3",
        "--grid",
        "sigma=1:2:3",
        "--backends",
        "cpu",
        "--repeat",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["evaluations_per_run"].as_u64(), Some(9000), "{v}");
}

/// Data streamed in more than one chunk from standard input (which is read once): the one pass
/// keeps the samples, so the MLE's mean log-likelihood is computed — never printed as NaN — and
/// the JSON says what was read. (Where the samples are not kept, the table says "not computed":
/// `report::table::tests::streamed_mle_without_samples_says_not_computed`.)
#[test]
fn table_says_not_computed_for_the_streamed_mle_likelihood() {
    use std::io::Write;
    // 2²² + 1000 samples: more than one chunk.
    let n = (1usize << 22) + 1000;
    let mut bytes = Vec::with_capacity(8 * n);
    for i in 0..n {
        bytes.extend_from_slice(&(((i % 1000) as f64) / 100.0).to_le_bytes());
    }
    let sweep = |f: &str| {
        let mut child = klgrid_command()
            .args([
                "sweep",
                "--family",
                "normal",
                "--data",
                "-",
                "--format-in",
                "f64",
            ])
            .args([
                "--grid",
                "mu=4:6:3",
                "--grid",
                "sigma=2:4:3",
                "--backend",
                "cpu",
            ])
            .args(["--format", f])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let data = bytes.clone();
        let feeder = std::thread::spawn(move || stdin.write_all(&data));
        let o = child.wait_with_output().unwrap();
        feeder.join().unwrap().unwrap();
        o
    };
    let o = sweep("table");
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_text(&o));
    let mle = text.lines().find(|l| l.starts_with("MLE")).unwrap();
    assert!(mle.contains("mean loglik -"), "{mle}");
    assert!(!text.contains("NaN"), "{text}");
    let o = sweep("json");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["data_format"], "f64");
    assert!(v["mle"]["mean_loglik"].as_f64().is_some_and(f64::is_finite));
}
