//! A session builds its device resources once: every pipeline is compiled once, and the buffers
//! of one evaluation are reused by the next (chunks, refinement rounds, bench repeats).

mod common;
use common::*;
use klgrid::analysis::{self, AnalysisOptions};
use klgrid::engine::bench::{self, BenchOptions};
use klgrid::engine::{self, Backend, EvalPath, Silent, Strategy, StreamJob, SweepJob};
use klgrid::input::{self, InputSpec};
use klgrid::model::sample_spec::SampleSpec;

fn draw(spec: &str, n: usize) -> Vec<f64> {
    SampleSpec::parse(spec).unwrap().draw(n, 5).unwrap()
}

#[test]
fn a_streamed_suffstats_sweep_over_three_chunks_compiles_the_reduction_once() {
    let Some(session) = gpu() else { return };
    let fam = family("normal");
    let xs = draw("normal(mu=1, sigma=2)", 3_000);
    let path = std::env::temp_dir().join(format!("klgrid-session-{}.f64", std::process::id()));
    std::fs::write(
        &path,
        xs.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>(),
    )
    .unwrap();
    let job = StreamJob {
        family: fam,
        grid: grid(fam, &["mu=0:2:9", "sigma=1:3:9"]),
        backend: Backend::One(EvalPath::Gpu),
        strategy: Strategy::SuffStats,
    };
    let reader = input::open(&InputSpec::new(&path)).unwrap();
    let out =
        engine::pipeline::run_stream_chunked(&session, &job, reader, 1_000, &mut |_| {}, &Silent)
            .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(out.primary.strategy, Strategy::SuffStats);
    assert_eq!(out.primary.partials.n, 3_000);
    let c = session.compilations();
    assert_eq!(
        (c.devices, c.reduce, c.reduce_buffers, c.sweep),
        (1, 1, 1, 0),
        "{c:?}"
    );
}

#[test]
fn a_sweep_refined_four_times_compiles_its_kernel_once_and_reuses_its_buffers() {
    let Some(session) = gpu() else { return };
    let fam = family("normal");
    let xs = draw("normal(mu=1.5, sigma=2)", 50_000);
    let g = grid(fam, &["mu=0:3:31", "sigma=1:3:21"]);
    let job = SweepJob {
        family: fam,
        grid: g.clone(),
        data: &xs,
        backend: Backend::One(EvalPath::Gpu),
        strategy: Strategy::Direct,
    };
    let out = engine::run(&session, &job, &mut |_| {}).unwrap();
    let first = out.primary.compile_seconds;
    let opts = AnalysisOptions {
        refine: 4,
        ..AnalysisOptions::default()
    };
    let an = analysis::analyse(&session, fam, &g, Some(&xs), &out, &opts).unwrap();
    assert_eq!(an.refined.unwrap().rounds.len(), 4);
    let c = session.compilations();
    assert_eq!((c.devices, c.sweep, c.sweep_buffers), (1, 1, 1), "{c:?}");
    // The first evaluation paid the compilation; a later one on the session pays none.
    assert!(first > 0.0);
    let again = engine::evaluate_gpu(&session, fam, &g, &xs).unwrap();
    assert_eq!(again.compile_seconds, 0.0);
    assert_eq!(again.partials, out.primary.partials);
}

#[test]
fn a_bench_with_three_repeats_compiles_each_pipeline_once() {
    let Some(session) = gpu() else { return };
    let fam = family("normal");
    let xs = draw("normal(mu=1.5, sigma=2)", 20_000);
    let g = grid(fam, &["mu=0:3:16", "sigma=1:3:16"]);
    for strategy in [Strategy::Direct, Strategy::SuffStats] {
        let opts = BenchOptions {
            paths: vec![EvalPath::Gpu, EvalPath::Cpu],
            repeat: 3,
            ref_repeat: 1,
            strategy,
        };
        let report = bench::run(&session, fam, &g, &xs, &opts, &mut |_| {}).unwrap();
        assert_eq!(report.results[0].runs, 3);
    }
    let c = session.compilations();
    assert_eq!(
        (
            c.devices,
            c.sweep,
            c.sweep_buffers,
            c.reduce,
            c.reduce_buffers
        ),
        (1, 1, 1, 1, 1),
        "{c:?}"
    );
}
