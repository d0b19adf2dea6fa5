//! Models written as expressions (issue 12): every built-in family written by hand agrees with
//! the built-in family and across paths; sufficient statistics are found; normalisation matches
//! an independent quadrature; bad models are clear errors; the WGSL special functions meet their
//! documented accuracy on the device.

mod common;
use common::*;
use klgrid::engine::{evaluate_cpu, evaluate_cpu_ref, evaluate_gpu, evaluate_suffstats, Agreement};
use klgrid::model::expr::{self, ModelSpec};
use klgrid::model::grid::Grid;
use klgrid::model::sample_spec::SampleSpec;
use klgrid::model::Family;

fn model(file: &str) -> &'static dyn Family {
    let path = format!("{}/examples/models/{file}.toml", env!("CARGO_MANIFEST_DIR"));
    expr::build(&ModelSpec::read(std::path::Path::new(&path)).unwrap()).unwrap()
}

/// (family, sample spec, grid) for each hand-written model: the grids of
/// benches/families_agreement.sh, coarser.
const CASES: &[(&str, &str, &[&str])] = &[
    (
        "normal",
        "normal(mu=1.5,sigma=2)",
        &["mu=0:3:7", "sigma=1:3:5"],
    ),
    (
        "lognormal",
        "lognormal(mu=0.5,sigma=0.8)",
        &["mu=0:1:5", "sigma=0.4:1.2:5"],
    ),
    ("exponential", "exponential(rate=1.7)", &["rate=0.5:3:11"]),
    (
        "gamma",
        "gamma(shape=2,rate=1.5)",
        &["shape=1:3:5", "rate=0.5:3:5"],
    ),
    (
        "beta",
        "beta(alpha=2,beta=5)",
        &["alpha=1:3:5", "beta=3:7:5"],
    ),
    (
        "weibull",
        "weibull(shape=1.5,scale=2)",
        &["shape=1:2:5", "scale=1:3:5"],
    ),
    (
        "laplace",
        "laplace(mu=0.3,scale=1.5)",
        &["mu=-0.7:1.3:5", "scale=0.5:2.5:5"],
    ),
    (
        "cauchy",
        "cauchy(mu=0.3,scale=1.5)",
        &["mu=-0.7:1.3:5", "scale=0.5:2.5:5"],
    ),
    (
        "student_t",
        "student_t(nu=5,mu=0.3,sigma=1.5)",
        &["nu=3:7:3", "mu=-0.2:0.8:3", "sigma=1:2:3"],
    ),
    (
        "logistic",
        "logistic(mu=0.3,scale=1.5)",
        &["mu=-0.7:1.3:5", "scale=0.5:2.5:5"],
    ),
    (
        "uniform",
        "uniform(low=-1,high=2)",
        &["low=-1.5:-0.5:5", "high=1.5:2.5:5"],
    ),
    (
        "normal_mixture",
        "normal_mixture(w=0.3,mu1=-1,sigma1=0.7,mu2=2,sigma2=1.2)",
        &[
            "w=0.2:0.4:2",
            "mu1=-1.5:-0.5:3",
            "sigma1=0.5:0.9:2",
            "mu2=1.5:2.5:3",
            "sigma2=1:1.4:2",
        ],
    ),
    ("poisson", "poisson(rate=3.5)", &["rate=0.5:8:11"]),
    (
        "binomial",
        "binomial(trials=20,p=0.3)",
        &["trials=20", "p=0.1:0.6:11"],
    ),
    ("bernoulli", "bernoulli(p=0.3)", &["p=0.1:0.6:11"]),
    ("geometric", "geometric(p=0.3)", &["p=0.1:0.6:11"]),
    (
        "negative_binomial",
        "negative_binomial(r=2.5,p=0.35)",
        &["r=1:5:5", "p=0.2:0.5:5"],
    ),
];

fn grid_for(f: &dyn Family, specs: &[&str]) -> Grid {
    grid(f, specs)
}

/// For every built-in family, its hand-written model (not via NAME_lpdf) gives the built-in
/// family's mean log-likelihood on the reference path at every grid point (to 1e-12), and its
/// cpu (and, where there is an adapter, gpu) path agrees with its reference path within the
/// family's tolerance, with the same argmax.
#[test]
fn every_hand_written_family_matches_the_built_in_on_every_path() {
    let ctx = gpu();
    for &(name, spec, axes) in CASES {
        let fam = family(name);
        let m = model(name);
        let xs = SampleSpec::parse(spec).unwrap().draw(30_000, 5).unwrap();
        let (gm, gb) = (grid_for(m, axes), grid_for(fam, axes));
        let r_model = evaluate_cpu_ref(m, &gm, &xs);
        let r_fam = evaluate_cpu_ref(fam, &gb, &xs);
        let same = Agreement::compare(&r_model.partials, &r_fam.partials, 1e-12);
        assert!(
            same.within_tolerance && same.argmax_agrees,
            "{name}: model vs built-in {same:?}"
        );
        let tol = fam.kernel_class().tolerance();
        assert!(
            m.kernel_class().tolerance() <= tol,
            "{name}: model tolerance"
        );
        let cpu = evaluate_cpu(m, &gm, &xs);
        let a = Agreement::compare(&cpu.partials, &r_model.partials, tol);
        assert!(a.within_tolerance && a.argmax_agrees, "{name}: cpu {a:?}");
        if let Some(ctx) = &ctx {
            let g = evaluate_gpu(ctx, m, &gm, &xs).unwrap();
            let a = Agreement::compare(&g.partials, &r_model.partials, tol);
            assert!(a.within_tolerance && a.argmax_agrees, "{name}: gpu {a:?}");
        }
    }
}

/// A location model is centred automatically: the hand-written normal on data of mean 1e4 and
/// sd 1 stays within 1e-6 on the fast paths.
#[test]
fn hand_written_normal_is_centred_for_a_large_mean() {
    let m = model("normal");
    let xs = SampleSpec::parse("normal(mu=10000,sigma=1)")
        .unwrap()
        .draw(50_000, 3)
        .unwrap();
    let g = grid(m, &["mu=9999.5:10000.5:11", "sigma=0.5:1.5:11"]);
    let r = evaluate_cpu_ref(m, &g, &xs);
    let cpu = evaluate_cpu(m, &g, &xs);
    let a = Agreement::compare(&cpu.partials, &r.partials, 1e-6);
    assert!(a.within_tolerance && a.argmax_agrees, "{a:?}");
    if let Some(ctx) = gpu() {
        let gp = evaluate_gpu(&ctx, m, &g, &xs).unwrap();
        let a = Agreement::compare(&gp.partials, &r.partials, 1e-6);
        assert!(a.within_tolerance && a.argmax_agrees, "{a:?}");
    }
}

/// Exponential-family models written out are evaluated by sufficient statistics, which agree
/// with the reference.
#[test]
fn sufficient_statistics_are_found_and_agree_with_the_reference() {
    for &(name, spec, axes) in CASES {
        let m = model(name);
        let has = m.suffstats().is_some();
        let expected = matches!(
            name,
            "normal"
                | "lognormal"
                | "exponential"
                | "gamma"
                | "beta"
                | "poisson"
                | "bernoulli"
                | "geometric"
                | "negative_binomial"
        );
        assert_eq!(has, expected, "{name}: sufficient statistics");
        if !has {
            continue;
        }
        let xs = SampleSpec::parse(spec).unwrap().draw(20_000, 9).unwrap();
        let g = grid(m, axes);
        let s = evaluate_suffstats(None, m, &g, &xs).unwrap();
        let r = evaluate_cpu_ref(m, &g, &xs);
        let a = Agreement::compare(&s.partials, &r.partials, m.kernel_class().tolerance());
        assert!(
            a.within_tolerance && a.argmax_agrees,
            "{name}: suffstats {a:?}"
        );
    }
}

/// The Gaussian peak on an exponential background, normalised over [0, 10], against an
/// independent f64 computation: Simpson's rule with 400,001 points for Z, the log-density summed
/// directly. Mean log-likelihoods agree to 1e-6 relative at every grid point, on the reference
/// and fast CPU paths.
#[test]
fn normalised_peak_on_background_matches_an_independent_quadrature() {
    let m = model("peak_on_background");
    // Data: 70% exponential(0.4) restricted to [0, 10], 30% normal(4, 0.5), by rejection.
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut xs = Vec::new();
    while xs.len() < 20_000 {
        let x: f64 = if rng.random::<f64>() < 0.3 {
            let (u, v): (f64, f64) = (rng.random(), rng.random());
            4.0 + 0.5 * (-2.0 * (1.0 - u).ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        } else {
            -(1.0 - rng.random::<f64>()).ln() / 0.4
        };
        if (0.0..=10.0).contains(&x) {
            xs.push(x);
        }
    }
    let g = grid(
        m,
        &[
            "f=0.1:0.5:3",
            "mu=3.5:4.5:3",
            "sigma=0.3:0.7:3",
            "tau=0.2:0.6:3",
        ],
    );
    let density = |x: f64, t: &[f64]| {
        let (f, mu, s, tau) = (t[0], t[1], t[2], t[3]);
        let z = (x - mu) / s;
        f * (-0.5 * z * z).exp() / (s * (2.0 * std::f64::consts::PI).sqrt())
            + (1.0 - f) * tau * (-tau * x).exp()
    };
    let r = evaluate_cpu_ref(m, &g, &xs);
    let cpu = evaluate_cpu(m, &g, &xs);
    for i in 0..g.len() {
        let t = g.theta(i);
        let k = 400_000;
        let h = 10.0 / k as f64;
        let mut z = density(0.0, &t) + density(10.0, &t);
        for j in 1..k {
            z += density(j as f64 * h, &t) * if j % 2 == 1 { 4.0 } else { 2.0 };
        }
        let z = z * h / 3.0;
        let want: f64 =
            xs.iter().map(|&x| (density(x, &t) / z).ln()).sum::<f64>() / xs.len() as f64;
        for (what, p) in [("cpu-ref", &r.partials), ("cpu", &cpu.partials)] {
            let got = p.mean_loglik(i);
            assert!(
                (got - want).abs() <= 1e-6 * want.abs(),
                "{what} point {i} θ = {t:?}: {got} vs {want}"
            );
        }
        let lz = expr::model_of(m).unwrap().log_z(&t);
        assert!(
            (lz.value - z.ln()).abs() < 1e-9,
            "log Z {} vs {}",
            lz.value,
            z.ln()
        );
    }
}

/// The zero-inflated Poisson: a discrete model with an x-only condition, laid out linearly.
#[test]
fn zero_inflated_poisson_agrees_with_a_direct_formula() {
    let m = model("zip");
    let xs: Vec<f64> = SampleSpec::parse("poisson(rate=2.5)")
        .unwrap()
        .draw(10_000, 2)
        .unwrap()
        .into_iter()
        .enumerate()
        .map(|(i, x)| if i % 4 == 0 { 0.0 } else { x })
        .collect();
    let g = grid(m, &["pi0=0.1:0.4:4", "rate=2:3:5"]);
    let cpu = evaluate_cpu(m, &g, &xs);
    for i in 0..g.len() {
        let t = g.theta(i);
        let (p0, rate) = (t[0], t[1]);
        let want: f64 = xs
            .iter()
            .map(|&x| {
                if x == 0.0 {
                    (p0 + (1.0 - p0) * (-rate).exp()).ln()
                } else {
                    (1.0 - p0).ln() + x * rate.ln() - rate - libm::lgamma(x + 1.0)
                }
            })
            .sum::<f64>()
            / xs.len() as f64;
        assert!(
            (cpu.partials.mean_loglik(i) - want).abs() < 1e-6 * want.abs(),
            "point {i}"
        );
    }
    assert!(m.suffstats().is_some());
}

fn err(logpdf: &str, params: &str) -> String {
    let spec = ModelSpec::inline(logpdf, params, None, false, false);
    match spec.and_then(|s| expr::build(&s).map(|_| ())) {
        Ok(()) => panic!("'{logpdf}' should be an error"),
        Err(e) => {
            assert!(e.is_input());
            e.to_string()
        }
    }
}

/// Bad models are input errors that name the place.
#[test]
fn bad_models_are_clear_errors_naming_the_place() {
    let e = err(
        "-log(sigma) - (x - mu)^2/(2*sigam^2)",
        "mu:real,sigma:positive",
    );
    assert!(
        e.contains("unknown name 'sigam' at column 29") && e.contains("parameters are mu, sigma"),
        "{e}"
    );
    let e = err("normal_lpdf(x, mu)", "mu:real");
    assert!(
        e.contains("'normal_lpdf' takes 3 arguments") && e.contains("column 1"),
        "{e}"
    );
    let e = err("-(x - mu)^2", "mu:real,sigma:positive");
    assert!(e.contains("parameter 'sigma' is never used"), "{e}");
    let e = err("-(x - mu)^2/s", "mu:real,s:[3,1]");
    assert!(e.contains("empty"), "{e}");
    let e = err("-log(s) - (x - mu)^2/s", "mu:real,s:real");
    assert!(
        e.contains("division by 's'") && e.contains("column 22"),
        "{e}"
    );
    let e = err("-(x - mu)^2 +", "mu:real");
    assert!(e.contains("syntax error at column 14"), "{e}");
}

/// A log-density that is not finite at a sample counts that sample outside the support, on
/// every path (documented): log(x) at x ≤ 0 with the support left as all reals.
#[test]
fn non_finite_values_at_a_sample_count_as_outside_the_support() {
    let spec = ModelSpec::inline(
        "log(rate) - rate*x + 0*log(x)",
        "rate:positive",
        None,
        false,
        false,
    )
    .unwrap();
    let m = expr::build(&spec).unwrap();
    let xs = vec![1.0, 2.0, -1.0, 0.5];
    let g = grid(m, &["rate=1:2:3"]);
    for p in [
        evaluate_cpu_ref(m, &g, &xs).partials,
        evaluate_cpu(m, &g, &xs).partials,
    ] {
        assert!(p.outside.iter().all(|&o| o == 1), "{:?}", p.outside);
    }
}

/// The WGSL special functions meet the documented accuracy on the device (dense sweep against
/// f64), like their CPU twins.
#[test]
fn wgsl_special_functions_meet_their_documented_accuracy_on_the_device() {
    use klgrid::engine::gpu::probe::eval_vec4;
    use klgrid::model::expr::special::{Special, WGSL};
    let Some(session) = gpu() else { return };
    let ctx = session.gpu().unwrap();
    for f in Special::ALL {
        let xs = f.sweep(100_001);
        let vs = eval_vec4(&ctx, WGSL, f.wgsl_name(), &xs).unwrap();
        let (e, at) = f.worst(&xs, &vs);
        assert!(
            e <= 1.0,
            "{f:?} on the device: error {e} × allowed at x = {at}"
        );
    }
}

/// A model with a coupled `lgamma` term (evaluated on the host, once per distinct value) on
/// continuous data: the f64 likelihood of the analysis (MLE, intervals) is the whole density,
/// host terms included — not the device split a(θ) + b(x) + k alone.
#[test]
fn analysis_likelihood_of_a_model_with_host_terms_is_the_whole_density() {
    use klgrid::analysis::mle::LikelihoodData;
    let spec = ModelSpec::inline(
        "-lgamma(1 + a*x) - x",
        "a:(0.1,5)",
        Some("0:10"),
        false,
        true,
    )
    .unwrap();
    let m = expr::build(&spec).unwrap();
    assert!(
        m.has_host_terms(),
        "the lgamma of a coupled argument goes to the host"
    );
    let xs: Vec<f64> = SampleSpec::parse("gamma(shape=2,rate=1)")
        .unwrap()
        .draw(5_000, 9)
        .unwrap()
        .into_iter()
        .filter(|&x| x < 10.0)
        .collect();
    let data = LikelihoodData::new(m, &xs);
    for a in [0.3, 1.0, 2.5] {
        let want = xs.iter().map(|&x| m.ln_pdf(x, &[a])).sum::<f64>() / xs.len() as f64;
        let got = data.mean_loglik(m, &[a]);
        assert!(
            (got - want).abs() < 1e-12 * want.abs().max(1.0),
            "a = {a}: {got} vs {want}"
        );
    }
}
