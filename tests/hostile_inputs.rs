//! Hostile and mistaken inputs (issue 15, input side): the release binary, run under an
//! address-space limit of 4 GiB (`setrlimit(RLIMIT_AS)` in the child, like `prlimit --as=4G`),
//! never aborts or panics, keeps its memory bounded, loses no data silently, and answers bad
//! input with one clear line and exit code 2.

use klgrid::engine::{self, Backend, EvalPath, Session, Silent, StreamJob, SweepJob};
use klgrid::input::SampleReader;
use klgrid::model::lookup;
use klgrid::model::sample_spec::{SampleSpec, BLOCK};
mod common;
use common::{klgrid_command, run_piped, stderr_lines, temp_file};
use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The address-space limit every run gets.
const AS_LIMIT: u64 = 4 << 30;

fn write(name: &str, bytes: &[u8]) -> String {
    temp_file("hostile", name, bytes)
}

/// The klgrid command under the 4 GiB address-space limit.
fn command(args: &[&str]) -> Command {
    let mut c = klgrid_command();
    c.args(args);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        c.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: AS_LIMIT as libc::rlim_t,
                rlim_max: AS_LIMIT as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    c
}

fn run(args: &[&str], stdin: Option<Vec<u8>>) -> Output {
    run_piped(command(args), stdin.as_deref())
}

fn input_error(o: &Output, needles: &[&str], max_len: usize) -> String {
    let lines = stderr_lines(o);
    let all = String::from_utf8_lossy(&o.stderr);
    assert!(
        !all.contains("panicked") && !all.contains("memory allocation"),
        "{all}"
    );
    assert_eq!(o.status.code(), Some(2), "{lines:?}");
    assert_eq!(lines.len(), 1, "expected one line: {lines:?}");
    let line = &lines[0];
    assert!(
        line.len() <= max_len,
        "{} bytes: {}",
        line.len(),
        line.chars().take(300).collect::<String>()
    );
    for n in needles {
        assert!(line.contains(n), "'{line}' lacks '{n}'");
    }
    line.clone()
}

const NORMAL: [&str; 7] = [
    "--family",
    "normal",
    "--grid",
    "mu=0:1:3",
    "--grid",
    "sigma=1:2:3",
    "--backend",
];

fn sweep_data(data: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["sweep", "--data", data]
        .iter()
        .chain(NORMAL.iter())
        .chain(["cpu"].iter())
        .map(|s| s.to_string())
        .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn run_owned(args: &[String], stdin: Option<Vec<u8>>) -> Output {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&a, stdin)
}

#[test]
fn endless_lines_and_fields_fail_naming_the_line_in_bounded_memory() {
    // /dev/zero as text and as CSV: one endless line.
    for fmt in [&[][..], &["--format-in", "csv"], &["--format-in", "tsv"]] {
        let o = run_owned(&sweep_data("/dev/zero", fmt), None);
        input_error(&o, &["/dev/zero:1: line longer than 1.0 MiB"], 400);
    }
    // An endless line on stdin, after two good ones.
    let mut bytes = b"1\n2\n".to_vec();
    bytes.extend(std::iter::repeat_n(b'7', 3 << 20));
    let o = run_owned(&sweep_data("-", &[]), Some(bytes));
    input_error(&o, &["<stdin>:3: line longer than", "it starts '7777"], 400);
    // An unclosed CSV quote: a field that swallows every following line.
    let mut csv = b"x\n1\n\"2\n".to_vec();
    csv.extend(b"3\n".repeat(2 << 20));
    let p = write("unclosed.csv", &csv);
    let o = run_owned(&sweep_data(&p, &[]), None);
    input_error(&o, &["unclosed.csv:", "an unclosed quote?"], 400);
}

#[test]
fn errors_quote_at_most_a_short_prefix_of_the_input() {
    // A 10 MB line (over the line bound) and a 500 kB token (under it), as text and CSV.
    let long = "x".repeat(10_000_000);
    let p = write("long.txt", format!("1\n{long}\n").as_bytes());
    input_error(&run_owned(&sweep_data(&p, &[]), None), &[":2:"], 400);
    let token = format!("1\n2\n9{}\n", "z".repeat(500_000));
    for name in ["token.txt", "token.csv", "token.tsv"] {
        let p = write(name, token.as_bytes());
        let line = input_error(
            &run_owned(&sweep_data(&p, &[]), None),
            &[":3: '9zzz", "is not a number"],
            300,
        );
        assert!(line.contains("(500001 bytes)"), "{line}");
    }
    // A header of 100,000 names, and a column that is not there.
    let header: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
    let p = write("wide.csv", format!("{}\n", header.join(",")).as_bytes());
    input_error(
        &run_owned(&sweep_data(&p, &["--column", "nope"]), None),
        &["column 'nope' not found", "(100000 columns in all)"],
        2000,
    );
    // Long option values.
    let big = "y".repeat(100_000);
    let g = format!("mu=0:{big}:3");
    let o = run(
        &[
            "sweep",
            "--family",
            "normal",
            "--sample",
            "normal(0,1)",
            "-n",
            "10",
            "--grid",
            &g,
            "--grid",
            "sigma=1",
        ],
        None,
    );
    input_error(&o, &["is not a number"], 300);
    let s = format!("normal(mu=0, sigma={big})");
    let o = run(
        &[
            "sweep", "--family", "normal", "--sample", &s, "-n", "10", "--grid", "mu=0", "--grid",
            "sigma=1",
        ],
        None,
    );
    input_error(&o, &["is not a number"], 300);
    let o = run(
        &[
            "sweep",
            "--family",
            &big,
            "--sample",
            "normal(0,1)",
            "-n",
            "10",
            "--grid",
            "mu=0",
        ],
        None,
    );
    input_error(&o, &["unknown family 'yyy"], 600);
}

#[test]
fn a_byte_order_mark_is_dropped_in_every_text_format() {
    for (name, body, extra) in [
        ("bom.txt", "1\n2\n3\n", &[][..]),
        ("bom.csv", "x\n1\n2\n3\n", &[]),
        ("bom.tsv", "1\n2\n3\n", &[]),
        ("bom.dat", "1\n2\n3\n", &["--format-in", "csv"]),
    ] {
        let mut bytes = b"\xef\xbb\xbf".to_vec();
        bytes.extend_from_slice(body.as_bytes());
        let p = write(name, &bytes);
        let mut args = sweep_data(&p, &["--format", "json"]);
        args.extend(extra.iter().map(|s| s.to_string()));
        let o = run_owned(&args, None);
        assert_eq!(o.status.code(), Some(0), "{name}: {:?}", stderr_lines(&o));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["n"], 3, "{name}");
    }
}

#[test]
fn first_lines_that_only_resemble_numbers_are_data_and_fail_with_their_line() {
    for first in ["1_000", "0x10", "1e", "2.5f", "-1_0", ".5x"] {
        for ext in ["txt", "csv"] {
            let p = write(
                &format!("first.{ext}"),
                format!("{first}\n2\n3\n").as_bytes(),
            );
            input_error(
                &run_owned(&sweep_data(&p, &[]), None),
                &[":1: '", first, "is not a number", "not a header"],
                400,
            );
        }
    }
    // `3,`: one token in text, two fields in CSV — neither is a header.
    let p = write("comma.txt", b"3,\n2\n3\n");
    input_error(
        &run_owned(&sweep_data(&p, &[]), None),
        &[":1: '3,' is not a number", "--format-in csv"],
        400,
    );
    let p = write("comma.csv", b"3,\n2,\n3,\n");
    input_error(
        &run_owned(&sweep_data(&p, &[]), None),
        &["2 columns", "line 1"],
        400,
    );
    // Real headers are still headers: n counts the data rows only.
    for (name, body) in [
        ("h.txt", "value\n1\n2\n"),
        ("h.csv", "\"the value\"\n1\n2\n"),
        ("h2.txt", "x1\n1\n2\n"),
    ] {
        let p = write(name, body.as_bytes());
        let o = run_owned(&sweep_data(&p, &["--format", "json"]), None);
        assert_eq!(o.status.code(), Some(0), "{name}: {:?}", stderr_lines(&o));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["n"], 2, "{name}");
    }
}

#[test]
fn csv_piped_as_text_suggests_format_in_csv() {
    let o = run_owned(&sweep_data("-", &[]), Some(b"a,b\n1,2\n3,4\n".to_vec()));
    input_error(
        &o,
        &["<stdin>:2: '1,2' is not a number", "--format-in csv"],
        300,
    );
    let o = run_owned(
        &sweep_data(
            "-",
            &["--format-in", "csv", "--column", "b", "--format", "json"],
        ),
        Some(b"a,b\n1,2\n3,4\n".to_vec()),
    );
    assert_eq!(o.status.code(), Some(0), "{:?}", stderr_lines(&o));
}

#[test]
fn a_range_of_one_value_needs_start_equal_to_stop() {
    let base = [
        "sweep",
        "--family",
        "normal",
        "--sample",
        "normal(0,1)",
        "-n",
        "100",
    ];
    for g in ["mu=0:3:1", "mu=log:1:3:1"] {
        let args: Vec<&str> = base
            .iter()
            .copied()
            .chain(["--grid", g, "--grid", "sigma=1", "--backend", "cpu"])
            .collect();
        let mu = if g.contains("log") { "mu=1" } else { "mu=0" };
        input_error(&run(&args, None), &["COUNT 1 with START", mu], 300);
    }
    let args: Vec<&str> = base
        .iter()
        .copied()
        .chain([
            "--grid",
            "mu=2:2:1",
            "--grid",
            "sigma=1",
            "--backend",
            "cpu",
        ])
        .collect();
    assert_eq!(run(&args, None).status.code(), Some(0));
}

#[test]
fn options_of_the_other_data_source_are_errors_for_sweep_and_bench() {
    let data = write("ok.txt", b"1\n2\n3\n");
    for cmd in ["sweep", "bench"] {
        let with_data = [cmd, "--data", &data, "-n", "5"];
        let args: Vec<&str> = with_data
            .iter()
            .copied()
            .chain(NORMAL)
            .chain(["cpu"])
            .collect();
        let args: Vec<&str> = if cmd == "bench" {
            args.into_iter()
                .filter(|a| *a != "--backend" && *a != "cpu")
                .collect()
        } else {
            args
        };
        input_error(&run(&args, None), &["cannot be used with"], 300);
        for extra in [
            &["--column", "1"][..],
            &["--skip-nonfinite"],
            &["--format-in", "csv"],
        ] {
            let args: Vec<&str> = [cmd, "--sample", "normal(0,1)", "-n", "100"]
                .into_iter()
                .chain(extra.iter().copied())
                .chain(["--family", "normal", "--grid", "mu=0", "--grid", "sigma=1"])
                .collect();
            input_error(&run(&args, None), &["cannot be used with"], 300);
        }
    }
}

#[test]
fn grids_that_cannot_fit_are_refused_up_front_with_the_memory_they_need() {
    let base = [
        "sweep",
        "--family",
        "normal",
        "--sample",
        "normal(0,1)",
        "-n",
        "100",
    ];
    for grids in [
        &["--grid", "mu=0:1:1000000000", "--grid", "sigma=1"][..],
        &["--grid", "mu=0:1:30000", "--grid", "sigma=1:2:30000"],
    ] {
        let args: Vec<&str> = base.iter().copied().chain(grids.iter().copied()).collect();
        let t0 = Instant::now();
        input_error(&run(&args, None), &["would need", "GiB of memory"], 300);
        assert!(t0.elapsed() < Duration::from_secs(5));
    }
}

#[test]
fn huge_n_is_drawn_in_streamed_blocks_in_bounded_memory() {
    // 10¹⁰ samples would be 80 GB in memory: streamed, the process stays small while it runs.
    let mut child: Child = command(&[
        "sweep",
        "--family",
        "normal",
        "--sample",
        "normal(0,1)",
        "-n",
        "10000000000",
        "--strategy",
        "suffstats",
        "--grid",
        "mu=0:1:3",
        "--grid",
        "sigma=1:2:3",
        "--backend",
        "cpu",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let still_running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(
        still_running,
        "exited early: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hwm_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(hwm_kb < 1 << 20, "peak RSS {hwm_kb} kB");
    // Beyond 2^53 it is refused; bench, which keeps the data in memory, refuses 10¹⁰.
    let o = run(
        &[
            "sweep",
            "--family",
            "normal",
            "--sample",
            "normal(0,1)",
            "-n",
            "18446744073709551615",
            "--grid",
            "mu=0",
            "--grid",
            "sigma=1",
        ],
        None,
    );
    input_error(&o, &["-n 18446744073709551615 is too large"], 300);
    let o = run(
        &[
            "bench",
            "--family",
            "normal",
            "--sample",
            "normal(0,1)",
            "-n",
            "10000000000",
            "--grid",
            "mu=0",
            "--grid",
            "sigma=1",
            "--backends",
            "cpu",
        ],
        None,
    );
    input_error(&o, &["10000000000 samples", "would need 74.5 GiB"], 300);
}

#[test]
fn streamed_draws_are_bitwise_the_draws_in_memory_and_give_the_same_sweep() {
    let spec = SampleSpec::parse("gamma(shape=2.5, rate=1.5)").unwrap();
    let n = 3 * BLOCK + 17;
    let whole = spec.draw(n, 11).unwrap();
    let mut r = spec.reader(n as u64, 11, false);
    let mut streamed = Vec::new();
    // Odd read sizes: the reader hands out pieces of its blocks.
    for want in [1usize, 999, 70_000, 5].iter().cycle() {
        if r.read(&mut streamed, *want).unwrap() == 0 {
            break;
        }
    }
    assert_eq!(streamed.len(), n);
    assert!(whole
        .iter()
        .zip(&streamed)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    assert_eq!(r.info().format.name(), "sample");

    // Through the streaming pipeline, in chunks smaller than the data: the same partials.
    let family = lookup("gamma").unwrap();
    let grid = klgrid::model::grid::Grid::new(
        family,
        ["shape=2:3:5", "rate=1:2:5"]
            .iter()
            .map(|s| klgrid::model::grid::AxisSpec::parse(s).unwrap())
            .collect(),
    )
    .unwrap();
    let job = SweepJob {
        family,
        grid: grid.clone(),
        data: &whole,
        backend: Backend::One(EvalPath::Cpu),
        strategy: klgrid::engine::Strategy::Direct,
    };
    let mem = engine::run(&Session::default(), &job, &mut |_| {}).unwrap();
    let sj = StreamJob {
        family,
        grid,
        backend: Backend::One(EvalPath::Cpu),
        strategy: klgrid::engine::Strategy::Direct,
    };
    let reader = Box::new(spec.reader(n as u64, 11, false));
    let st = engine::run_stream(&Session::default(), &sj, reader, &mut |_| {}, &Silent).unwrap();
    assert_eq!(st.primary.partials, mem.primary.partials);
}

#[test]
fn extreme_parameters_draw_no_silent_infinities_or_values_outside_the_support() {
    for (spec, needle) in [
        ("normal(mu=1e308,sigma=1e308)", "not finite"),
        ("exponential(rate=1e-320)", "not finite"),
        ("lognormal(700,10)", "not finite"),
        (
            "gamma(shape=1e-5,rate=1)",
            "outside the support of gamma (x > 0)",
        ),
        ("beta(1e-3,1e-3)", "outside the support of beta (0 < x < 1)"),
        ("weibull(shape=0.001,scale=1)", "weibull"),
    ] {
        let family = &spec[..spec.find('(').unwrap()];
        let o = run(
            &[
                "sweep",
                "--family",
                "normal",
                "--sample",
                spec,
                "-n",
                "1000",
                "--grid",
                "mu=0",
                "--grid",
                "sigma=1",
                "--backend",
                "cpu",
            ],
            None,
        );
        let line = input_error(&o, &["sample #", family, needle], 300);
        assert!(line.contains("too extreme"), "{line}");
    }
    // The library draw checks too, and names the first bad sample.
    let e = SampleSpec::parse("gamma(shape=1e-5, rate=1)")
        .unwrap()
        .draw(1000, 42)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("sample #") && e.contains("gamma(shape=1e-5, rate=1)"),
        "{e}"
    );
}

#[test]
fn misspelt_names_get_the_nearest_suggestion() {
    let o = run(
        &[
            "sweep",
            "--family",
            "gama",
            "--sample",
            "gamma(2,1)",
            "-n",
            "10",
            "--grid",
            "shape=1",
            "--grid",
            "rate=1",
        ],
        None,
    );
    input_error(&o, &["unknown family 'gama'", "did you mean 'gamma'?"], 400);
    let o = run(
        &[
            "sweep",
            "--family",
            "normal",
            "--sample",
            "normal(0,1)",
            "-n",
            "10",
            "--grid",
            "mu=0",
            "--grid",
            "sigm=1",
        ],
        None,
    );
    input_error(
        &o,
        &["unknown parameter 'sigm'", "did you mean 'sigma'?"],
        300,
    );
    let o = run(
        &[
            "sweep",
            "--family",
            "normal",
            "--sample",
            "normal(mu=0, sigmaa=1)",
            "-n",
            "10",
            "--grid",
            "mu=0",
            "--grid",
            "sigma=1",
        ],
        None,
    );
    input_error(
        &o,
        &["unknown parameter 'sigmaa'", "did you mean 'sigma'?"],
        300,
    );
    let p = write("names.csv", b"id,value\n1,2\n");
    input_error(
        &run_owned(&sweep_data(&p, &["--column", "valeu"]), None),
        &["column 'valeu' not found", "did you mean 'value'?"],
        300,
    );
}

#[test]
fn bench_repeat_is_bounded() {
    let o = run(
        &[
            "bench",
            "--family",
            "normal",
            "--sample",
            "normal(0,1)",
            "-n",
            "100",
            "--grid",
            "mu=0",
            "--grid",
            "sigma=1",
            "--backends",
            "cpu",
            "--repeat",
            "1000000000",
        ],
        None,
    );
    input_error(&o, &["--repeat 1000000000 is too many", "10000"], 200);
}

const ENTROPY: &str = include_str!("data/reference_entropy.csv");

/// `tests/data/reference_entropy.csv` (mpmath, 40 digits) at parameters up to 10¹⁵: the
/// asymptotic series is within 1e-12 relative, and each entropy takes well under a second.
#[test]
fn entropies_of_huge_count_distributions_match_mpmath_in_bounded_time() {
    let mut rows = 0;
    for line in ENTROPY.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let family = lookup(f[0]).unwrap();
        let theta: Vec<f64> = f[1].split(' ').map(|v| v.parse().unwrap()).collect();
        let want: f64 = f[2].parse().unwrap();
        let t0 = Instant::now();
        let got = family.entropy(&theta).expect("an entropy");
        let dt = t0.elapsed();
        let rel = (got - want).abs() / want.abs();
        assert!(rel < 1e-12, "{line}: {got} vs {want} ({rel:.1e})");
        assert!(dt < Duration::from_millis(200), "{line}: {dt:?}");
        rows += 1;
    }
    assert!(rows >= 12);
    // The whole command: --sample poisson(rate=1e15) reports H(P) at once.
    let o = run(
        &[
            "sweep",
            "--family",
            "poisson",
            "--sample",
            "poisson(rate=1e15)",
            "-n",
            "1000",
            "--grid",
            "rate=1e15",
            "--backend",
            "cpu",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{:?}", stderr_lines(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let h = v["entropy"].as_f64().unwrap();
    assert!((h - 18.688326730660016).abs() < 1e-10, "{h}");
}
