//! MPI ranks (issue 13; `cargo test --release --features mpi --test mpi`, needs `mpirun` from
//! OpenMPI): `mpirun -n 2` and `-n 3`, data and grid splits, give the JSON `points` of one
//! process bit for bit; an error on one rank ends every rank with a non-zero exit and one
//! message, without hanging.
#![cfg(feature = "mpi")]

mod common;

use klgrid::model::sample_spec::SampleSpec;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const N: usize = 2 * (1 << 22) + 300_000;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_klgrid")
}

fn dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mpi");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `mpirun --allow-run-as-root --oversubscribe -n ranks klgrid args...`, killed after 300 s
/// (a hang fails the test instead of the suite). Each call has its own OpenMPI session folder:
/// the tests run in parallel, and two jobs sharing /tmp/ompi.HOST.UID race when one removes it.
fn mpirun(ranks: usize, args: &[&str]) -> Output {
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let session = dir().join(format!("ompi-{}-{call}", std::process::id()));
    std::fs::create_dir_all(&session).unwrap();
    let mut child = Command::new("mpirun")
        .args([
            "--allow-run-as-root",
            "--oversubscribe",
            "-n",
            &ranks.to_string(),
            bin(),
        ])
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("TMPDIR", &session)
        .env("OMPI_MCA_orte_tmpdir_base", &session)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpirun (OpenMPI) on PATH");
    let t0 = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if t0.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            panic!("mpirun -n {ranks} {args:?} hung for 300 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn points(path: &Path) -> String {
    let s = std::fs::read_to_string(path).unwrap();
    s[s.find("\"points\": [").expect("points")..].to_string()
}

fn write_f64(path: &Path, xs: &[f64]) {
    let b: Vec<u8> = xs.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, b).unwrap();
}

#[test]
fn two_and_three_ranks_give_the_single_process_points_with_either_split() {
    let d = dir();
    let data = d.join("normal.f64");
    write_f64(
        &data,
        &SampleSpec::parse("normal(mu=1.5, sigma=2)")
            .unwrap()
            .draw(N, 4)
            .unwrap(),
    );
    let mut backends = vec!["cpu"];
    if common::gpu().is_some() {
        backends.push("gpu");
    }
    for backend in backends {
        let base = [
            "sweep",
            "-q",
            "--data",
            data.to_str().unwrap(),
            "--family",
            "normal",
            "--grid",
            "mu=1:2:7",
            "--grid",
            "sigma=1.5:2.5:5",
            "--strategy",
            "direct",
            "--backend",
            backend,
            "--format",
            "json",
        ];
        let single = d.join(format!("single-{backend}.json"));
        let out = Command::new(bin())
            .args(base)
            .args(["--out", single.to_str().unwrap()])
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = points(&single);
        for ranks in [2, 3] {
            for split in ["data", "grid"] {
                let f = d.join(format!("mpi-{backend}-{ranks}-{split}.json"));
                let mut args: Vec<&str> = base.to_vec();
                args.extend(["--mpi", "--mpi-split", split, "--out", f.to_str().unwrap()]);
                let out = mpirun(ranks, &args);
                assert!(
                    out.status.success(),
                    "{backend} -n {ranks} {split}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert_eq!(
                    points(&f),
                    want,
                    "{backend}: mpirun -n {ranks}, {split} split"
                );
            }
        }
    }
}

#[test]
fn an_error_on_one_rank_ends_every_rank_with_one_message_and_no_hang() {
    let d = dir();
    // NaN in the last chunk: only the last rank of a data split reads it.
    let data = d.join("bad.f64");
    let mut xs = SampleSpec::parse("normal(mu=0, sigma=1)")
        .unwrap()
        .draw(N, 6)
        .unwrap();
    xs[N - 10] = f64::NAN;
    write_f64(&data, &xs);
    let out = mpirun(
        3,
        &[
            "sweep",
            "-q",
            "--data",
            data.to_str().unwrap(),
            "--family",
            "normal",
            "--grid",
            "mu=-1:1:5",
            "--grid",
            "sigma=1",
            "--backend",
            "cpu",
            "--mpi",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let ours: Vec<&str> = err.lines().filter(|l| l.starts_with("klgrid:")).collect();
    assert_eq!(ours.len(), 1, "one message: {err}");
    assert!(
        ours[0].contains("rank 2:") && ours[0].contains(&format!("element {}", N - 10)),
        "{err}"
    );
}
