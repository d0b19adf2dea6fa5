//! Binomial with `trials` on a grid axis: the support {0, …, t} depends on θ, so the device's
//! per-point outside counts (`outside4`) and the host-coupled −Σ ln (t − xᵢ)! (once per distinct t,
//! over the samples with xᵢ ≤ t) must agree with cpu-ref point by point, in either axis order.

mod common;
use common::*;
use klgrid::engine::{evaluate_cpu_ref, evaluate_gpu, Agreement};
use klgrid::model::sample_spec::SampleSpec;

#[test]
fn binomial_with_a_trials_axis_matches_cpu_ref_including_outside_counts() {
    let Some(ctx) = gpu() else { return };
    let fam = family("binomial");
    let xs = SampleSpec::parse("binomial(trials=12, p=0.35)")
        .unwrap()
        .draw(20_001, 3)
        .unwrap();
    for specs in [
        ["trials=5,9,12,30", "p=0.1:0.7:9"],
        ["p=0.1:0.7:9", "trials=5,9,12,30"],
    ] {
        let g = grid(fam, &specs);
        let gpu = evaluate_gpu(&ctx, fam, &g, &xs).unwrap();
        let reference = evaluate_cpu_ref(fam, &g, &xs);
        assert_eq!(
            gpu.partials.outside, reference.partials.outside,
            "{specs:?}"
        );
        // trials = 5 and 9 leave samples outside; 12 and 30 none.
        for p in 0..g.len() {
            let t = g.theta(p)[0];
            let want = xs.iter().filter(|&&x| x > t).count() as u64;
            assert_eq!(reference.partials.outside[p], want);
        }
        assert!(reference.partials.outside.iter().any(|&o| o > 0));
        let a = Agreement::compare(&gpu.partials, &reference.partials, 1e-6);
        assert!(a.within_tolerance, "{specs:?}: {a:?}");
    }
}
