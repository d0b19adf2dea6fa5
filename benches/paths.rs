//! Criterion benchmarks of the three paths (gpu, cpu, cpu-ref) per family class: a polynomial
//! kernel (normal), a transcendental kernel (cauchy), a discrete family (poisson).
//!
//! `cargo bench --bench paths`. The GPU group is left out when no adapter exists. Sizes are small
//! enough for a 2-core machine; `klgrid bench` measures the large jobs.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use klgrid::engine::{evaluate_cpu, evaluate_cpu_ref, evaluate_gpu, Session};
use klgrid::model::grid::{AxisSpec, Grid};
use klgrid::model::lookup;
use klgrid::model::sample_spec::SampleSpec;

/// (family, data spec, grid) per class.
const CASES: &[(&str, &str, &str, &[&str])] = &[
    (
        "polynomial",
        "normal",
        "normal(mu=1.5, sigma=2)",
        &["mu=0:3:32", "sigma=1:3:32"],
    ),
    (
        "transcendental",
        "cauchy",
        "cauchy(mu=0.5, scale=1.5)",
        &["mu=-1:2:32", "scale=0.5:3:32"],
    ),
    (
        "discrete",
        "poisson",
        "poisson(rate=3.5)",
        &["rate=0.5:8:1024"],
    ),
];

fn paths(c: &mut Criterion) {
    // One session for every benchmark: the device opened and each kernel compiled once.
    let session = Session::default();
    let gpu = session.gpu().is_ok().then_some(&session);
    for &(class, fam, spec, axes) in CASES {
        let Ok(family) = lookup(fam) else { continue };
        let xs = SampleSpec::parse(spec).unwrap().draw(200_000, 1).unwrap();
        let grid = Grid::new(
            family,
            axes.iter().map(|a| AxisSpec::parse(a).unwrap()).collect(),
        )
        .unwrap();
        let mut g = c.benchmark_group(format!("{class}/{fam}"));
        g.sample_size(10);
        g.throughput(Throughput::Elements((xs.len() * grid.len()) as u64));
        if let Some(s) = gpu {
            evaluate_gpu(s, family, &grid, &xs).unwrap(); // compiles the kernel
            g.bench_function(BenchmarkId::new("gpu", grid.len()), |b| {
                b.iter(|| evaluate_gpu(s, family, &grid, &xs).unwrap())
            });
        }
        g.bench_function(BenchmarkId::new("cpu", grid.len()), |b| {
            b.iter(|| evaluate_cpu(family, &grid, &xs))
        });
        g.bench_function(BenchmarkId::new("cpu-ref", grid.len()), |b| {
            b.iter(|| evaluate_cpu_ref(family, &grid, &xs))
        });
        g.finish();
    }
}

criterion_group!(benches, paths);
criterion_main!(benches);
