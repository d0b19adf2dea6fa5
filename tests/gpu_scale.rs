//! The GPU path at scale: data beyond one storage binding, grids beyond one dispatch, tiny and
//! huge n, and bitwise determinism.

mod common;
use common::*;
use klgrid::engine::gpu::{BatchLimits, KernelShape};
use klgrid::engine::{evaluate_cpu_ref, evaluate_gpu, Agreement, SessionOptions};
use klgrid::model::sample_spec::SampleSpec;

/// n = 40,000,000 (160 MB of f32 samples: more than lavapipe's 128 MiB storage binding, and far
/// more samples than llvmpipe's silent 65,535-iteration loop cap) agrees with cpu-ref.
#[test]
fn forty_million_samples_match_cpu_ref() {
    let Some(ctx) = gpu() else { return };
    let fam = family("normal");
    let xs = SampleSpec::parse("normal(mu=1.5,sigma=2)")
        .unwrap()
        .draw(40_000_000, 1)
        .unwrap();
    let g = grid(fam, &["mu=0:3:7", "sigma=1:3:5"]);
    let gpu = evaluate_gpu(&ctx, fam, &g, &xs).unwrap();
    let reference = evaluate_cpu_ref(fam, &g, &xs);
    let a = Agreement::compare(&gpu.partials, &reference.partials, 1e-6);
    assert!(a.within_tolerance && a.argmax_agrees, "{a:?}");
    assert_eq!(g.theta(gpu.partials.argmax().unwrap()), vec![1.5, 2.0]);
}

/// A 300×300 grid (90,000 points, many workgroups) agrees with cpu-ref point by point.
#[test]
fn grid_of_ninety_thousand_points_matches_cpu_ref() {
    let Some(ctx) = gpu() else { return };
    let fam = family("normal");
    let xs = SampleSpec::parse("normal(mu=0.2,sigma=1.1)")
        .unwrap()
        .draw(3_001, 2)
        .unwrap();
    let g = grid(fam, &["mu=-1:1:300", "sigma=0.5:2:300"]);
    let gpu = evaluate_gpu(&ctx, fam, &g, &xs).unwrap();
    let reference = evaluate_cpu_ref(fam, &g, &xs);
    let a = Agreement::compare(&gpu.partials, &reference.partials, 1e-6);
    assert!(a.within_tolerance && a.argmax_agrees, "{a:?}");
}

/// Tiny batch limits force many sample batches, many grid batches and 2-D dispatches; the
/// result is bitwise the same as with the adapter's limits (same chunks, same order).
#[test]
fn batching_to_tiny_limits_gives_bitwise_identical_results() {
    if gpu().is_none() {
        return;
    }
    for name in ["normal", "poisson"] {
        let fam = family(name);
        let xs = SampleSpec {
            family: fam,
            theta: fam.example_theta(),
        }
        .draw(50_003, 3)
        .unwrap();
        let g = example_grid(fam, 37);
        let shape = KernelShape {
            accumulators: 2,
            workgroup_size: 32,
            chunk_len: 256,
        };
        let roomy = BatchLimits {
            max_binding: 1 << 27,
            max_readback: 1 << 26,
            max_groups_per_dim: 65_535,
        };
        let tiny = BatchLimits {
            max_binding: 4 << 10,
            max_readback: 2 << 10,
            max_groups_per_dim: 3,
        };
        let session = |limits| {
            gpu_with(SessionOptions {
                shape: Some(shape),
                limits: Some(limits),
                ..SessionOptions::default()
            })
            .expect("the adapter opened above")
        };
        let (a, b) = (session(roomy), session(tiny));
        let ra = evaluate_gpu(&a, fam, &g, &xs).unwrap();
        let rb = evaluate_gpu(&b, fam, &g, &xs).unwrap();
        assert_eq!(ra.partials, rb.partials, "{name}");
        let reference = evaluate_cpu_ref(fam, &g, &xs);
        let ag = Agreement::compare(
            &rb.partials,
            &reference.partials,
            fam.kernel_class().tolerance(),
        );
        assert!(ag.within_tolerance, "{name}: {ag:?}");
    }
}

/// Two runs on the same input give bitwise-identical sums, on both paths.
#[test]
fn two_runs_are_bitwise_identical() {
    let Some(ctx) = gpu() else { return };
    let fam = family("normal");
    let xs = SampleSpec::parse("normal(mu=1,sigma=3)")
        .unwrap()
        .draw(1_000_003, 4)
        .unwrap();
    let g = grid(fam, &["mu=0:2:64", "sigma=2:4:64"]);
    let a = evaluate_gpu(&ctx, fam, &g, &xs).unwrap();
    let b = evaluate_gpu(&ctx, fam, &g, &xs).unwrap();
    assert_eq!(a.partials, b.partials);
    let small = grid(fam, &["mu=0:2:3", "sigma=2:4:3"]);
    assert_eq!(
        evaluate_cpu_ref(fam, &small, &xs).partials,
        evaluate_cpu_ref(fam, &small, &xs).partials
    );
}

/// A single sample, and data far from zero (|mean| ≫ sd, where the location shift matters).
#[test]
fn one_sample_and_offset_data_match_cpu_ref() {
    let Some(ctx) = gpu() else { return };
    let fam = family("normal");
    let g = grid(fam, &["mu=-2:2:9", "sigma=0.5:2:4"]);
    let one = [0.7];
    let a = evaluate_gpu(&ctx, fam, &g, &one).unwrap();
    let r = evaluate_cpu_ref(fam, &g, &one);
    assert!(Agreement::compare(&a.partials, &r.partials, 1e-6).within_tolerance);

    let xs = SampleSpec::parse("normal(mu=10000,sigma=1)")
        .unwrap()
        .draw(100_000, 5)
        .unwrap();
    let g = grid(fam, &["mu=9999:10001:21", "sigma=0.8:1.2:5"]);
    let a = evaluate_gpu(&ctx, fam, &g, &xs).unwrap();
    let r = evaluate_cpu_ref(fam, &g, &xs);
    let ag = Agreement::compare(&a.partials, &r.partials, 1e-6);
    assert!(ag.within_tolerance && ag.argmax_agrees, "{ag:?}");
}
