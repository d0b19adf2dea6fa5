//! The sufficient-statistics strategy agrees with the direct f64 reference for every family that
//! has statistics (relative difference of the mean log-likelihood ≤ 1e-6), on the CPU and the GPU.

mod common;
use common::*;
use klgrid::engine::suffstats::spec_for;
use klgrid::engine::{evaluate_cpu_ref, evaluate_suffstats, Agreement};
use klgrid::model::sample_spec::SampleSpec;
use klgrid::model::REGISTRY;

#[test]
fn suffstats_match_direct_cpu_ref_for_every_valid_family() {
    let ctx = gpu();
    let mut checked = 0;
    for fam in REGISTRY.iter().filter(|f| f.suffstats().is_some()) {
        let spec = SampleSpec {
            family: *fam,
            theta: fam.example_theta(),
        };
        let xs = spec.draw(200_003, 31).unwrap();
        let grid = example_grid(*fam, 9);
        // Families whose statistics need a fixed parameter (weibull's shape) get it fixed.
        let grid = if spec_for(*fam, &grid).is_ok() {
            grid
        } else {
            let theta = fam.example_theta();
            let specs: Vec<String> = fam
                .params()
                .iter()
                .zip(&theta)
                .enumerate()
                .map(|(j, (p, v))| {
                    if fam.suffstats().unwrap().fixed_params.contains(&j) {
                        format!("{}={v}", p.name)
                    } else {
                        format!("{}={}:{}:9", p.name, v * 0.5, v * 2.0)
                    }
                })
                .collect();
            grid_owned(*fam, &specs)
        };
        let reference = evaluate_cpu_ref(*fam, &grid, &xs);
        let mut paths = vec![evaluate_suffstats(None, *fam, &grid, &xs).unwrap()];
        if let Some(ctx) = &ctx {
            paths.push(evaluate_suffstats(Some(ctx), *fam, &grid, &xs).unwrap());
        }
        for ev in paths {
            let a = Agreement::compare(&ev.partials, &reference.partials, 1e-6);
            assert!(a.within_tolerance, "{} ({}): {a:?}", fam.name(), ev.backend);
            assert_eq!(
                ev.partials.outside,
                reference.partials.outside,
                "{}",
                fam.name()
            );
        }
        checked += 1;
    }
    assert!(checked >= 11, "families with statistics: {checked}");
}

/// Binomial `trials` below some samples: those grid points are −∞ on both strategies, with the
/// same outside counts.
#[test]
fn suffstats_count_binomial_samples_above_trials_like_the_reference() {
    let fam = family("binomial");
    let xs = SampleSpec::parse("binomial(trials=20,p=0.3)")
        .unwrap()
        .draw(50_000, 4)
        .unwrap();
    let g = grid(fam, &["trials=5,9,15,20,25", "p=0.1:0.6:11"]);
    let reference = evaluate_cpu_ref(fam, &g, &xs);
    let ev = evaluate_suffstats(None, fam, &g, &xs).unwrap();
    assert_eq!(ev.partials.outside, reference.partials.outside);
    assert!(reference.partials.outside.iter().any(|&o| o > 0));
    assert!(Agreement::compare(&ev.partials, &reference.partials, 1e-6).within_tolerance);
}
