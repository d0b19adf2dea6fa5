//! Real data in: the same samples in every format give the same sweep; streamed data give
//! bitwise the results of data in memory; every input error is one line with exit code 2.

mod common;
use common::*;
use klgrid::engine::{self, Backend, EvalPath, Session, Silent, StreamJob, SweepJob, CHUNK};
use klgrid::input::{self, Column, Format, InputSpec};
use klgrid::model::sample_spec::SampleSpec;
use serde_json::Value;
use std::io::Write;
use std::process::Output;

fn write(name: &str, bytes: &[u8]) -> String {
    temp_file("input", name, bytes)
}

fn f64_le(xs: &[f64]) -> Vec<u8> {
    xs.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn f32_le(xs: &[f64]) -> Vec<u8> {
    xs.iter().flat_map(|&x| (x as f32).to_le_bytes()).collect()
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    klgrid_stdin(args, stdin)
}

const GRID: [&str; 4] = ["--grid", "mu=1:2:5", "--grid", "sigma=1.5:2.5:5"];

/// `sweep --family normal` on `data` (with `extra` options) on the cpu path, as JSON.
fn sweep_json(data: &str, extra: &[&str], stdin: Option<&[u8]>) -> Value {
    let mut args = vec![
        "sweep",
        "--family",
        "normal",
        "--data",
        data,
        "--backend",
        "cpu",
        "--format",
        "json",
    ];
    args.extend_from_slice(&GRID);
    args.extend_from_slice(extra);
    let o = run(&args, stdin);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {:?}", stderr_lines(&o));
    assert!(
        stderr_lines(&o).is_empty(),
        "stderr not clean: {:?}",
        stderr_lines(&o)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn mean_logliks(v: &Value) -> Vec<f64> {
    v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["mean_loglik"].as_f64().unwrap())
        .collect()
}

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f64::max)
}

/// The acceptance check: 200,000 samples as text, f32 and f64 `.npy`, column 1 of a 2-D
/// `.npy`, `.f32`, `.csv --column value`, `.tsv --column value` and stdin give the same mean
/// log-likelihoods (≤ 1e-6 relative); the formats holding the exact f64 values agree bitwise.
#[test]
fn the_same_samples_in_every_format_give_the_same_mean_logliks() {
    let n = 200_000;
    let xs = SampleSpec::parse("normal(mu=1.5, sigma=2)")
        .unwrap()
        .draw(n, 7)
        .unwrap();
    let text: String = xs.iter().map(|x| format!("{x}\n")).collect();
    let csv: String = std::iter::once("id,value\n".to_string())
        .chain(xs.iter().enumerate().map(|(i, x)| format!("{i},\"{x}\"\n")))
        .collect();
    let tsv: String = std::iter::once("# samples\nid\tvalue\n".to_string())
        .chain(xs.iter().enumerate().map(|(i, x)| format!("{i}\t{x}\n")))
        .collect();
    // 2-D, C order: rows (i, x).
    let two_d: Vec<f64> = xs
        .iter()
        .enumerate()
        .flat_map(|(i, &x)| [i as f64, x])
        .collect();
    // 2-D, Fortran order, big-endian: column 0 the index, column 1 the samples.
    let fortran: Vec<u8> = (0..n)
        .map(|i| i as f64)
        .chain(xs.iter().copied())
        .flat_map(|x| x.to_be_bytes())
        .collect();
    let shape1 = format!("({n},)");
    let shape2 = format!("({n}, 2)");

    let base = sweep_json(&write("s.txt", text.as_bytes()), &[], None);
    assert_eq!(base["n"], n);
    assert_eq!(base["data_format"], "text");
    assert_eq!(base["skipped_nonfinite"], 0);
    let reference = mean_logliks(&base);

    let exact = [
        (
            sweep_json(
                &write("s64.npy", &npy("<f8", false, &shape1, &f64_le(&xs))),
                &[],
                None,
            ),
            "npy",
        ),
        (
            sweep_json(
                &write("s2d.npy", &npy("<f8", false, &shape2, &f64_le(&two_d))),
                &["--column", "1"],
                None,
            ),
            "npy",
        ),
        (
            sweep_json(
                &write("sf.npy", &npy(">f8", true, &shape2, &fortran)),
                &["--column", "1"],
                None,
            ),
            "npy",
        ),
        (
            sweep_json(
                &write("s.csv", csv.as_bytes()),
                &["--column", "value"],
                None,
            ),
            "csv",
        ),
        (
            sweep_json(
                &write("s.tsv", tsv.as_bytes()),
                &["--column", "value"],
                None,
            ),
            "tsv",
        ),
        (sweep_json("-", &[], Some(text.as_bytes())), "text"),
        (
            sweep_json("-", &["--format-in", "f64"], Some(&f64_le(&xs))),
            "f64",
        ),
    ];
    for (v, format) in &exact {
        assert_eq!(v["n"], n);
        assert_eq!(v["data_format"], *format);
        assert_eq!(mean_logliks(v), reference, "{format}: not bitwise equal");
    }

    let f32s = [
        sweep_json(
            &write("s32.npy", &npy("<f4", false, &shape1, &f32_le(&xs))),
            &[],
            None,
        ),
        sweep_json(&write("s.f32", &f32_le(&xs)), &[], None),
        sweep_json(
            "-",
            &["--format-in", "npy"],
            Some(&npy("<f4", false, &shape1, &f32_le(&xs))),
        ),
    ];
    let f32_ref = mean_logliks(&f32s[0]);
    for v in &f32s {
        assert_eq!(v["n"], n);
        assert_eq!(mean_logliks(v), f32_ref);
    }
    let d = max_rel(&f32_ref, &reference);
    assert!(d <= 1e-6, "f32 formats differ from f64 by {d:e}");
    assert!(d > 0.0, "f32 rounding should show");
    for f in [
        "s.txt", "s64.npy", "s2d.npy", "sf.npy", "s.csv", "s.tsv", "s32.npy", "s.f32",
    ] {
        let _ = std::fs::remove_file(temp_dir("input").join(f));
    }
}

/// gzip and zstd variants, by extension and (stdin) by magic bytes, read the same samples.
#[test]
fn compressed_inputs_read_the_same_samples() {
    let xs = SampleSpec::parse("normal(mu=1.5, sigma=2)")
        .unwrap()
        .draw(5_000, 8)
        .unwrap();
    let csv: String = std::iter::once("value\n".to_string())
        .chain(xs.iter().map(|x| format!("{x}\n")))
        .collect();
    let plain = mean_logliks(&sweep_json(&write("c.csv", csv.as_bytes()), &[], None));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(csv.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let zst = ruzstd::encoding::compress_to_vec(
        csv.as_bytes(),
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let v = sweep_json(&write("c.csv.gz", &gz), &[], None);
    assert_eq!(v["data_compression"], "gzip");
    assert_eq!(mean_logliks(&v), plain);
    let v = sweep_json(&write("c.csv.zst", &zst), &[], None);
    assert_eq!(v["data_compression"], "zstd");
    assert_eq!(mean_logliks(&v), plain);
    let v = sweep_json("-", &["--format-in", "csv"], Some(&gz));
    assert_eq!(mean_logliks(&v), plain);
    let f64_zst = ruzstd::encoding::compress_to_vec(
        &f64_le(&xs)[..],
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let v = sweep_json(&write("c.f64.zst", &f64_zst), &[], None);
    assert_eq!(mean_logliks(&v), plain);
}

/// `--skip-nonfinite` drops NaN, ±inf and empty fields, reports how many, and n counts only the
/// samples used; without it the first one is an error naming its place.
#[test]
fn skip_nonfinite_drops_reports_and_n_counts_the_rest() {
    let p = write("nf.csv", b"a,value\n1,1.5\n2,nan\n3,\n4,-inf\n5,2.5\n");
    let v = sweep_json(&p, &["--column", "value", "--skip-nonfinite"], None);
    assert_eq!(v["skipped_nonfinite"], 3);
    assert_eq!(v["n"], 2);
    let clean = sweep_json(&write("nf_clean.txt", b"1.5\n2.5\n"), &[], None);
    assert_eq!(mean_logliks(&v), mean_logliks(&clean));
    let p = write("nf.f32", &f32_le(&[1.5, f64::NAN, 2.5]));
    let v = sweep_json(&p, &["--skip-nonfinite"], None);
    assert_eq!(
        (v["skipped_nonfinite"].as_u64(), v["n"].as_u64()),
        (Some(1), Some(2))
    );
    // The table says so too.
    let o = run(
        &[
            "sweep",
            "--family",
            "normal",
            "--data",
            &p,
            "--skip-nonfinite",
            "--backend",
            "cpu",
            "--grid",
            "mu=0",
            "--grid",
            "sigma=1",
        ],
        None,
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("n = 2, 1 non-finite skipped"), "{out}");
}

/// Exit code 2, exactly one line on stderr containing `needle`, no panic.
fn assert_input_error(args: &[&str], stdin: Option<&[u8]>, needle: &str) {
    let o = run(args, stdin);
    let lines = stderr_lines(&o);
    let all = lines.join("\n");
    assert_eq!(o.status.code(), Some(2), "{args:?}: {all}");
    assert_eq!(lines.len(), 1, "{args:?}: expected one line, got {all}");
    assert!(
        lines[0].contains(needle),
        "{args:?}: '{}' lacks '{needle}'",
        lines[0]
    );
    assert!(!all.contains("panicked"), "{all}");
    assert!(o.stdout.is_empty(), "{args:?}: stdout not empty");
}

fn sweep_args<'a>(family: &'a str, data: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "sweep",
        "--family",
        family,
        "--data",
        data,
        "--backend",
        "cpu",
    ];
    if family == "normal" {
        v.extend_from_slice(&GRID);
    } else {
        v.extend_from_slice(&["--grid", "rate=1:2:3"]);
    }
    v.extend_from_slice(extra);
    v
}

#[test]
fn every_input_error_is_one_line_with_exit_code_2() {
    let e = |family: &str, data: &str, extra: &[&str], needle: &str| {
        assert_input_error(&sweep_args(family, data, extra), None, needle)
    };
    // Missing file, directory, permission denied (not testable as root, who may read anything).
    e(
        "normal",
        "/nonexistent/d.npy",
        &[],
        "cannot read '/nonexistent/d.npy'",
    );
    e("normal", "/nonexistent/d.csv.gz", &[], "No such file");
    let locked = write("locked.txt", b"1\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&locked).is_err() {
        e("normal", &locked, &[], "Permission denied");
    }

    // NPY: truncated data, truncated header, not NPY, malformed header, unsupported dtypes,
    // 3-D, 2-D without --column, column out of range, non-finite element, non-integer element.
    let d = f64_le(&[1.0, 2.0, 3.0]);
    e(
        "normal",
        &write("t.npy", &npy("<f8", false, "(4,)", &d)),
        &[],
        "truncated NPY data",
    );
    let full = npy("<f8", false, "(3,)", &d);
    e(
        "normal",
        &write("th.npy", &full[..30]),
        &[],
        "malformed NPY header: truncated",
    );
    e(
        "normal",
        &write("x.npy", b"1.0\n2.0\n"),
        &[],
        "not an NPY file",
    );
    e(
        "normal",
        &write("m.npy", &npy("<f8", false, "(3,", &d)),
        &[],
        "malformed NPY header",
    );
    for (descr, what) in [
        ("<U8", "strings"),
        ("|S8", "strings"),
        ("<c16", "complex"),
        ("|O", "Python objects"),
    ] {
        e(
            "normal",
            &write("u.npy", &npy(descr, false, "(1,)", &[0; 16])),
            &[],
            &format!("unsupported NPY dtype '{descr}' ({what}"),
        );
    }
    e(
        "normal",
        &write("r.npy", &npy("<f8", false, "[('a', '<f8')]", &d)),
        &[],
        "malformed NPY header",
    );
    e(
        "normal",
        &write("3d.npy", &npy("<f8", false, "(1, 1, 3)", &d)),
        &[],
        "3-D array",
    );
    let two = npy("<f8", false, "(1, 3)", &d);
    e(
        "normal",
        &write("2d.npy", &two),
        &[],
        "pick a column with --column INDEX (0..2)",
    );
    e(
        "normal",
        &write("2d.npy", &two),
        &["--column", "5"],
        "column '5' not found",
    );
    e(
        "normal",
        &write(
            "nan.npy",
            &npy("<f8", false, "(3,)", &f64_le(&[1.0, 2.0, f64::NAN])),
        ),
        &[],
        "nan.npy: element 2: non-finite value 'NaN'",
    );
    e(
        "poisson",
        &write(
            "frac.npy",
            &npy("<f8", false, "(3,)", &f64_le(&[1.0, 2.5, 3.0])),
        ),
        &[],
        "frac.npy: element 1: value 2.5 is not an integer",
    );

    // CSV/TSV: column not found (listing the columns), no --column with several, ragged row,
    // bad number, non-integer, non-finite, missing value, header only.
    let csv = write("d.csv", b"id,value\n1,2\n2,3\n");
    e(
        "normal",
        &csv,
        &["--column", "val"],
        "column 'val' not found (available columns: 0: 'id', 1: 'value')",
    );
    e("normal", &csv, &[], "2 columns; pick one with --column");
    e(
        "normal",
        &write("rag.csv", b"a,b\n1,2\n3\n"),
        &["--column", "b"],
        "rag.csv:3: ragged row",
    );
    e(
        "normal",
        &write("rag.tsv", b"1\t2\n3\t4\t5\n"),
        &["--column", "0"],
        "rag.tsv:2: ragged row",
    );
    e(
        "normal",
        &write("bad.csv", b"v\n1\nx1\n"),
        &[],
        "bad.csv:3: 'x1' is not a number",
    );
    e(
        "poisson",
        &write("frac.csv", b"count\n1\n2\n2.5\n"),
        &[],
        "frac.csv:4: value 2.5 is not an integer, but the family is discrete",
    );
    e(
        "normal",
        &write("inf.csv", b"v\n1\ninf\n"),
        &[],
        "inf.csv:3: non-finite",
    );
    e(
        "normal",
        &write("gap.csv", b"a,v\n1,\n"),
        &["--column", "v"],
        "gap.csv:2: missing value",
    );
    e("normal", &write("hdr.csv", b"value\n"), &[], "empty");

    // Empty after filtering.
    e(
        "normal",
        &write("allnan.txt", b"nan\ninf\n"),
        &["--skip-nonfinite"],
        "empty after dropping 2 non-finite value(s)",
    );
    e("normal", &write("empty.f32", b""), &[], "empty");

    // Raw: truncated, non-finite element, --column makes no sense.
    e(
        "normal",
        &write("t.f32", &[0u8; 7]),
        &[],
        "7 bytes is not a whole number of f32 values",
    );
    e(
        "normal",
        &write("n.f64", &f64_le(&[1.0, f64::INFINITY])),
        &[],
        "n.f64: element 1: non-finite value 'inf'",
    );
    e(
        "normal",
        &write("c.f32", &[0u8; 8]),
        &["--column", "1"],
        "--column does not apply",
    );

    // Compression: corrupt data; archives; unknown --format-in.
    e(
        "normal",
        &write("bad.csv.gz", b"\x1f\x8b\x08garbage"),
        &[],
        "cannot read",
    );
    e(
        "normal",
        &write("a.npz", b"PK"),
        &[],
        ".npz archives are not supported",
    );
    e(
        "normal",
        &csv,
        &["--format-in", "xls"],
        "invalid value 'xls'",
    );

    // Standard input: a bad NPY, a truncated raw stream, nothing at all.
    assert_input_error(
        &sweep_args("normal", "-", &["--format-in", "npy"]),
        Some(b"not npy at all"),
        "<stdin>: not an NPY file",
    );
    assert_input_error(
        &sweep_args("normal", "-", &["--format-in", "f32"]),
        Some(&[0u8; 6]),
        "6 bytes is not a whole number of f32 values",
    );
    assert_input_error(
        &sweep_args("normal", "-", &[]),
        Some(b""),
        "<stdin>: the data set is empty",
    );
}

/// Streamed data give bitwise the results of the same samples in memory, on every path, across
/// several chunks (2·CHUNK + 1001 samples: three chunks, the last one short).
#[test]
fn streamed_data_match_data_in_memory_bitwise_across_chunks() {
    let fam = family("normal");
    let n = 2 * CHUNK + 1001;
    // Values exact in f32, so that the .f32 file holds exactly the samples in memory.
    let xs: Vec<f64> = SampleSpec::parse("normal(mu=3, sigma=0.5)")
        .unwrap()
        .draw(n, 9)
        .unwrap()
        .into_iter()
        .map(|x| x as f32 as f64)
        .collect();
    let path = temp_dir("input").join("big.f32");
    std::fs::write(&path, f32_le(&xs)).unwrap();
    let g = grid(fam, &["mu=2.5:3.5:3", "sigma=0.4:0.6:3"]);
    let mut paths = vec![EvalPath::Cpu, EvalPath::CpuRef];
    if gpu().is_some() {
        paths.push(EvalPath::Gpu);
    }
    for p in paths {
        let memory = engine::run(
            &session(),
            &SweepJob {
                family: fam,
                grid: g.clone(),
                data: &xs,
                backend: Backend::One(p),
                strategy: klgrid::engine::Strategy::Direct,
            },
            &mut |_| {},
        )
        .unwrap();
        let reader = input::open(&InputSpec::new(&path)).unwrap();
        // Nothing kept: the analysis has only the streamed summary.
        let streamed = engine::pipeline::run_stream_limited(
            &session(),
            &StreamJob {
                family: fam,
                grid: g.clone(),
                backend: Backend::One(p),
                strategy: klgrid::engine::Strategy::Direct,
            },
            reader,
            CHUNK,
            0,
            &mut |_| {},
            &Silent,
        )
        .unwrap();
        assert!(streamed.kept.is_none());
        assert_eq!(
            streamed.primary.partials,
            memory.primary.partials,
            "{}",
            p.name()
        );
        assert_eq!(streamed.primary.partials.n, n as u64);
        // The MLE from streamed moments agrees with the one from all the data in memory.
        let mle = |o: &engine::SweepOutcome, xs: Option<&[f64]>| {
            let opts = klgrid::analysis::AnalysisOptions::default();
            klgrid::analysis::analyse(&session(), fam, &g, xs, o, &opts)
                .unwrap()
                .mle
                .unwrap()
                .theta
        };
        let (a, b) = (mle(&streamed, None), mle(&memory, Some(&xs)));
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-12 * y.abs(), "{a:?} vs {b:?}");
        }
        assert_eq!(streamed.input.as_ref().unwrap().0.format, Format::F32);
    }
    std::fs::remove_file(&path).unwrap();
}

/// Many small chunks through the reading thread: the result agrees with the reference, the
/// laplace MLE (a median) is reported as not computed, and an error in a later chunk stops the
/// sweep with that error.
#[test]
fn small_chunks_stream_through_the_pipeline_and_errors_stop_it() {
    let fam = family("laplace");
    let xs = SampleSpec::parse("laplace(mu=0.5, scale=2)")
        .unwrap()
        .draw(10_007, 3)
        .unwrap();
    let path = temp_dir("input").join("lap.f64");
    std::fs::write(&path, f64_le(&xs)).unwrap();
    let g = grid(fam, &["mu=0:1:5", "scale=1:3:5"]);
    let job = StreamJob {
        family: fam,
        grid: g.clone(),
        backend: Backend::One(EvalPath::Cpu),
        strategy: klgrid::engine::Strategy::Direct,
    };
    let reader = input::open(&InputSpec::new(&path)).unwrap();
    let out = engine::pipeline::run_stream_chunked(
        &Session::default(),
        &job,
        reader,
        1000,
        &mut |_| {},
        &Silent,
    )
    .unwrap();
    let reference = engine::evaluate_cpu_ref(fam, &g, &xs);
    let a = engine::Agreement::compare(&out.primary.partials, &reference.partials, 1e-5);
    assert!(a.within_tolerance, "{a:?}");
    // Without the samples (streamed past memory), the median is not computed, with a note; the
    // one pass kept these 10,007 samples, so with them it is.
    let analyse = |o: &engine::SweepOutcome, xs: Option<&[f64]>| {
        let opts = klgrid::analysis::AnalysisOptions::default();
        klgrid::analysis::analyse(&Session::default(), fam, &g, xs, o, &opts).unwrap()
    };
    assert_eq!(out.kept.as_deref(), Some(&xs[..]));
    assert!(analyse(&out, out.samples(None)).mle.is_some());
    let reader = input::open(&InputSpec::new(&path)).unwrap();
    let unkept = engine::pipeline::run_stream_limited(
        &Session::default(),
        &job,
        reader,
        1000,
        0,
        &mut |_| {},
        &Silent,
    )
    .unwrap();
    assert_eq!(unkept.primary.partials, out.primary.partials);
    let streamed_only = analyse(&unkept, None);
    assert!(streamed_only.mle.is_none());
    assert!(streamed_only
        .mle_note
        .as_deref()
        .unwrap()
        .contains("median"));

    let mut bad = xs.clone();
    bad[5_500] = f64::NAN;
    std::fs::write(&path, f64_le(&bad)).unwrap();
    let reader = input::open(&InputSpec::new(&path)).unwrap();
    let e = engine::pipeline::run_stream_chunked(
        &Session::default(),
        &job,
        reader,
        1000,
        &mut |_| {},
        &Silent,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("lap.f64: element 5500: non-finite"), "{e}");

    // --skip-nonfinite through the library, with a column of a CSV.
    let spec = InputSpec {
        column: Some(Column::Named("x".into())),
        skip_nonfinite: true,
        ..InputSpec::new(&temp_dir("input").join("lap.csv"))
    };
    std::fs::write(temp_dir("input").join("lap.csv"), "x\n1\nnan\n2\n").unwrap();
    let out = engine::run_stream(
        &Session::default(),
        &job,
        input::open(&spec).unwrap(),
        &mut |_| {},
        &Silent,
    )
    .unwrap();
    assert_eq!((out.skipped_nonfinite, out.primary.partials.n), (1, 2));
    // Small data in one chunk keep their MLE (the median is available).
    assert!(analyse(&out, out.samples(None)).mle.is_some());
}
