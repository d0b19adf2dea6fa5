mod common;
use common::*;
use klgrid::sample_spec::SampleSpec;
use klgrid::sweep::*;

#[test]
fn smoke() {
    let Some(ctx) = gpu() else { return };
    eprintln!("{:?}", ctx.summary);
    let fam = family("normal");
    let xs = SampleSpec::parse("normal(mu=1.5,sigma=2)")
        .unwrap()
        .draw(100_001, 1)
        .unwrap();
    let g = grid(fam, &["mu=0:3:7", "sigma=1:3:5"]);
    let a = evaluate_gpu(&ctx, fam, &g, &xs).unwrap();
    let b = evaluate_cpu_ref(fam, &g, &xs);
    let ag = Agreement::compare(&a.partials, &b.partials, 1e-6);
    eprintln!(
        "{:?} compile {} eval {}",
        ag, a.compile_seconds, a.eval_seconds
    );
    for i in 0..5 {
        eprintln!(
            "{} {}",
            a.partials.mean_loglik(i),
            b.partials.mean_loglik(i)
        );
    }
    assert!(ag.within_tolerance);
}
