//! Criterion benchmarks of the three paths (gpu, cpu, cpu-ref) per family class: a polynomial
//! kernel (normal), a transcendental kernel (cauchy), a discrete family (poisson).
//!
//! `cargo bench --bench paths`. The GPU group is left out when no adapter exists. Sizes are small
//! enough for a 2-core machine; `klgrid bench` measures the large jobs.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use klgrid::family::lookup;
use klgrid::gpu::{GpuContext, GpuEvaluator};
use klgrid::grid::{AxisSpec, Grid};
use klgrid::sample_spec::SampleSpec;
use klgrid::sweep::{evaluate_cpu, evaluate_cpu_ref, evaluate_with};

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
    let gpu = GpuContext::open(None).ok();
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
        if let Some(ctx) = &gpu {
            let ev = GpuEvaluator::new(ctx, family, grid.len(), None).unwrap();
            g.bench_function(BenchmarkId::new("gpu", grid.len()), |b| {
                b.iter(|| evaluate_with(&ev, ctx, family, &grid, &xs).unwrap())
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
