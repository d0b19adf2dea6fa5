//! The GPU path agrees with the f64 reference for every registered family, within the family's
//! documented tolerance, on grids around the family's example θ and on awkward sample counts.

mod common;
use common::*;
use klgrid::engine::{evaluate_cpu_ref, evaluate_gpu, Agreement};
use klgrid::model::sample_spec::SampleSpec;
use klgrid::model::REGISTRY;

fn check(
    ctx: &klgrid::engine::Session,
    fam: &'static dyn klgrid::model::Family,
    k: usize,
    n: usize,
    seed: u64,
) {
    let spec = SampleSpec {
        family: fam,
        theta: fam.example_theta(),
    };
    let xs = spec.draw(n, seed).unwrap();
    let grid = example_grid(fam, k);
    let gpu = evaluate_gpu(ctx, fam, &grid, &xs).unwrap();
    let reference = evaluate_cpu_ref(fam, &grid, &xs);
    let tol = fam.kernel_class().tolerance();
    let a = Agreement::compare(&gpu.partials, &reference.partials, tol);
    assert!(
        a.within_tolerance,
        "{}: n={n}, grid {} points: {a:?}",
        fam.name(),
        grid.len()
    );
    // Outside-support counts agree exactly, point by point.
    assert_eq!(
        gpu.partials.outside,
        reference.partials.outside,
        "{}: n={n}",
        fam.name()
    );
}

/// Every family, on sample counts that are not multiples of 4, of a chunk, or of a workgroup:
/// n = 1, 3, 4097 and a larger odd count, with a different grid size each time.
#[test]
fn every_registered_family_matches_cpu_ref_within_its_tolerance() {
    let Some(ctx) = gpu() else { return };
    for fam in REGISTRY {
        for (i, (n, k)) in [(1usize, 3usize), (3, 5), (4097, 7), (150_001, 4)]
            .into_iter()
            .enumerate()
        {
            check(&ctx, *fam, k, n, 11 + i as u64);
        }
    }
}
