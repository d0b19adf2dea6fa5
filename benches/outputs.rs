//! The report writers on a 10⁶-point sweep (normal, 1000 × 1000 grid, P known so the kl and
//! kl_exact columns are there): table, csv, json, npz and parquet written into memory, and the
//! analysis' own per-point work for comparison. Each is run 7 times; the median wall time and the
//! median CPU time of the process (all threads: the NPZ and Parquet writers fill and encode on
//! the thread pool) are printed with the bytes per second of each. CPU time is what to compare on
//! a machine shared with other work; wall time is inflated there.
//!
//! `cargo bench --bench outputs`. The acceptance figure (the whole command, 2×2 against 10⁶
//! points) is measured on the release binary: see README.md, "Big grids".

use klgrid::analysis::identity::Units;
use klgrid::analysis::{self, AnalysisOptions};
use klgrid::engine::Strategy;
use klgrid::engine::{self, Backend, EvalPath, Session, SweepJob};
use klgrid::model::grid::{AxisSpec, Grid};
use klgrid::model::lookup;
use klgrid::model::sample_spec::SampleSpec;
use klgrid::report::{self, DataOrigin, Format, Points, Report};

/// CPU seconds of the process, all threads.
fn process_cpu() -> f64 {
    #[cfg(unix)]
    {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes the struct we pass.
        unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
        t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
    }
    #[cfg(not(unix))]
    {
        f64::NAN
    }
}

/// Median (wall, process CPU) seconds of 7 runs of `f`.
fn measure(mut f: impl FnMut()) -> (f64, f64) {
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..7 {
        let (t0, c0) = (std::time::Instant::now(), process_cpu());
        f();
        wall.push(t0.elapsed().as_secs_f64());
        cpu.push(process_cpu() - c0);
    }
    wall.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    (wall[3], cpu[3])
}

fn main() {
    let family = lookup("normal").unwrap();
    let truth = SampleSpec::parse("normal(mu=1.5, sigma=2)").unwrap();
    let xs = truth.draw(100_000, 1).unwrap();
    let grid = Grid::new(
        family,
        ["mu=0:3:1000", "sigma=1:3:1000"]
            .iter()
            .map(|a| AxisSpec::parse(a).unwrap())
            .collect(),
    )
    .unwrap();
    let job = SweepJob {
        family,
        grid: grid.clone(),
        data: &xs,
        backend: Backend::One(EvalPath::Cpu),
        strategy: Strategy::SuffStats,
    };
    let outcome = engine::run(&Session::default(), &job, &mut |_| {}).unwrap();
    let opts = AnalysisOptions {
        truth: Some(truth),
        refine: 0,
        units: Units::Nats,
        ..AnalysisOptions::default()
    };
    let (wall, cpu) = measure(|| {
        analysis::analyse(
            &Session::default(),
            family,
            &grid,
            Some(&xs),
            &outcome,
            &opts,
        )
        .unwrap();
    });
    println!("1e6 points: analysis  wall {wall:.3} s, cpu {cpu:.3} s (several threads)");
    let an = analysis::analyse(
        &Session::default(),
        family,
        &grid,
        Some(&xs),
        &outcome,
        &opts,
    )
    .unwrap();
    let rep = Report {
        family,
        grid: &grid,
        outcome: &outcome,
        data_source: "bench".into(),
        origin: DataOrigin::Drawn,
        data_seconds: 0.0,
        analysis: &an,
    };
    for format in [
        Format::Table,
        Format::Csv,
        Format::Json,
        Format::Npz,
        Format::Parquet,
    ] {
        let mut buf = Vec::new();
        report::write_points(&rep, format, Points::All, &mut buf).unwrap();
        let bytes = buf.len() as f64;
        let (wall, cpu) = measure(|| {
            buf.clear();
            report::write_points(&rep, format, Points::All, &mut buf).unwrap();
        });
        println!(
            "1e6 points: {:<8}  {:>7.1} MB  wall {wall:.3} s ({:>6.0} MB/s), cpu {cpu:.3} s ({:>6.0} MB/s)",
            format.name(),
            bytes / 1e6,
            bytes / 1e6 / wall,
            bytes / 1e6 / cpu
        );
    }
}
