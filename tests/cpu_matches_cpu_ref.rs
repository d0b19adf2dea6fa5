//! The fast CPU path agrees with the f64 reference for every registered family, within the
//! family's tolerance, and its result does not depend on the number of threads.

mod common;
use common::*;
use klgrid::engine::{evaluate_cpu, evaluate_cpu_ref, Agreement};
use klgrid::model::sample_spec::SampleSpec;
use klgrid::model::REGISTRY;

#[test]
fn every_registered_family_matches_cpu_ref_on_the_cpu_path() {
    for fam in REGISTRY {
        // About 64 grid points whatever the number of parameters.
        let p = fam.params().len() as f64;
        let k = (64f64.powf(1.0 / p).floor() as usize).max(2);
        for (i, n) in [1usize, 257, 300_001].into_iter().enumerate() {
            let spec = SampleSpec {
                family: *fam,
                theta: fam.example_theta(),
            };
            let xs = spec.draw(n, 21 + i as u64).unwrap();
            let grid = example_grid(*fam, k);
            let cpu = evaluate_cpu(*fam, &grid, &xs);
            let reference = evaluate_cpu_ref(*fam, &grid, &xs);
            let a = Agreement::compare(
                &cpu.partials,
                &reference.partials,
                fam.kernel_class().tolerance(),
            );
            assert!(a.within_tolerance, "{}: n={n}: {a:?}", fam.name());
            assert_eq!(
                cpu.partials.outside,
                reference.partials.outside,
                "{}",
                fam.name()
            );
        }
    }
}

#[test]
fn cpu_path_is_bitwise_identical_with_one_thread_and_with_many() {
    let fam = family("normal");
    let xs = SampleSpec::parse("normal(mu=1,sigma=2)")
        .unwrap()
        .draw(300_001, 9)
        .unwrap();
    for axes in [
        &["mu=0:2:3", "sigma=1:3:2"][..],
        &["mu=0:2:20", "sigma=1:3:20"][..],
    ] {
        let g = grid(fam, axes);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let four = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let a = one.install(|| evaluate_cpu(fam, &g, &xs));
        let b = four.install(|| evaluate_cpu(fam, &g, &xs));
        assert_eq!(a.partials, b.partials);
        let a = one.install(|| evaluate_cpu_ref(fam, &g, &xs));
        let b = four.install(|| evaluate_cpu_ref(fam, &g, &xs));
        assert_eq!(a.partials, b.partials);
    }
}
