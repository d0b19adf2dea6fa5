//! The identity, reported: entropy, KL, exact KL, MLE, refinement and likelihood-ratio intervals,
//! through the binary (the acceptance command) and the library (the GPU path).

mod common;

use common::{f, json, klgrid};
use klgrid::analysis::identity::Units;
use klgrid::analysis::mle::MleMethod;
use klgrid::analysis::{self, AnalysisOptions};
use klgrid::engine::{self, Backend, EvalPath, Session, SweepJob};
use klgrid::model::sample_spec::SampleSpec;
use serde_json::Value;

const ACCEPTANCE: [&str; 16] = [
    "sweep",
    "--family",
    "normal",
    "--sample",
    "normal(mu=1.5,sigma=2)",
    "-n",
    "1000000",
    "--seed",
    "3",
    "--grid",
    "mu=0:3:31",
    "--grid",
    "sigma=1:3:21",
    "--refine",
    "6",
    "--format",
];

/// The acceptance command (on the fast CPU path).
#[test]
fn acceptance_entropy_exact_kl_identity_refinement_and_mu_interval() {
    let mut args = ACCEPTANCE.to_vec();
    args.extend(["json", "--backend", "cpu"]);
    let v = json(&args);
    let e = std::f64::consts::E;
    let h = 0.5 * (2.0 * std::f64::consts::PI * e * 4.0).ln();
    assert!((f(&v["entropy"]) - h).abs() < 1e-9, "{}", v["entropy"]);
    assert_eq!(v["entropy_source"], "analytic");
    assert_eq!(v["units"], "nats");
    // θ = (0, 1) is grid point 0.
    let p0 = &v["points"][0];
    assert_eq!(
        (f(&p0["theta"]["mu"]), f(&p0["theta"]["sigma"])),
        (0.0, 1.0)
    );
    let want = 0.5f64.ln() + (4.0 + 2.25) / 2.0 - 0.5;
    assert!(
        (f(&p0["kl_exact"]) - want).abs() < 1e-9,
        "{}",
        p0["kl_exact"]
    );
    assert!((f(&p0["kl"]) - want).abs() < 0.02, "{}", p0["kl"]);
    // KL is cross-entropy − H(P) at every point.
    for pt in v["points"].as_array().unwrap() {
        assert!((f(&pt["kl"]) - (f(&pt["cross_entropy"]) - f(&v["entropy"]))).abs() < 1e-12);
    }
    let id = &v["identity"];
    assert_eq!(id["holds"], true);
    assert_eq!(id["argmax_loglik"], id["argmin_cross_entropy"]);
    assert_eq!(id["argmax_loglik"], id["argmin_kl"]);
    assert_eq!(id["argmax_loglik"], v["best"]["index"]);
    let mle = &v["mle"];
    assert_eq!(mle["method"], "closed_form");
    let (mu, sigma) = (f(&mle["theta"]["mu"]), f(&mle["theta"]["sigma"]));
    let r = &v["refined"];
    assert_eq!(r["rounds"], 6);
    assert!((f(&r["theta"]["mu"]) - mu).abs() < 1e-3, "{r}");
    assert!((f(&r["theta"]["sigma"]) - sigma).abs() < 1e-3, "{r}");
    assert!((f(&r["step"]["mu"]) - 0.1 / 64.0).abs() < 1e-12);
    let iv = &v["intervals"]["mu"];
    let (lo, hi) = (f(&iv["low"]), f(&iv["high"]));
    assert!(lo < mu && mu < hi, "{iv}");
    let wald = 2.0 * 1.96 * sigma / 1000.0;
    assert!(((hi - lo) - wald).abs() < 0.3 * wald, "{iv} vs {wald}");
    assert_eq!(
        (iv["open_low"].clone(), iv["level"].clone()),
        (Value::Bool(false), 0.95.into())
    );
    // The sigma interval: σ̂ ± 1.96·σ̂/√(2n).
    let iv = &v["intervals"]["sigma"];
    let width = f(&iv["high"]) - f(&iv["low"]);
    let wald = 2.0 * 1.96 * sigma / (2.0e6f64).sqrt();
    assert!((width - wald).abs() < 0.3 * wald, "{iv} vs {wald}");
    // Joint regions: the 95% one holds the 68% one's rows.
    let regions = v["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 2);
    assert_eq!(
        (f(&regions[0]["level"]), f(&regions[1]["level"])),
        (0.68, 0.95)
    );
    assert!((f(&regions[1]["threshold"]) - 5.991_464_547_107_98).abs() < 1e-9);
}

/// The table states the identity with the three values at the best point.
#[test]
fn table_states_the_identity_and_the_entropy() {
    let mut args = ACCEPTANCE.to_vec();
    args.extend(["table", "--backend", "cpu", "--units", "bits"]);
    args[6] = "20000";
    let o = klgrid(&args);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8(o.stdout).unwrap();
    let line = out
        .lines()
        .find(|l| l.starts_with("identity"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("argmax likelihood = argmin cross-entropy = argmin KL")
            && line.contains("cross-entropy")
            && line.contains("KL")
            && line.contains("bits"),
        "{line}"
    );
    assert!(out.contains("entropy     H(P) = 3.0471 bits"), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("interval    mu in [")),
        "{out}"
    );
}

/// `--units bits` divides every entropy, cross-entropy and KL figure by ln 2; log-likelihoods
/// stay in nats.
#[test]
fn bits_are_nats_divided_by_ln_2_and_logliks_stay_in_nats() {
    let base = [
        "sweep",
        "--family",
        "poisson",
        "--sample",
        "poisson(rate=3)",
        "-n",
        "5000",
        "--grid",
        "rate=1:5:9",
        "--backend",
        "cpu-ref",
        "--format",
        "json",
        "--units",
    ];
    let mut a = base.to_vec();
    a.push("nats");
    let mut b = base.to_vec();
    b.push("bits");
    let (n, bits) = (json(&a), json(&b));
    assert_eq!(bits["units"], "bits");
    let ln2 = std::f64::consts::LN_2;
    assert!((f(&bits["entropy"]) * ln2 - f(&n["entropy"])).abs() < 1e-12);
    for (pn, pb) in n["points"]
        .as_array()
        .unwrap()
        .iter()
        .zip(bits["points"].as_array().unwrap())
    {
        for key in ["cross_entropy", "kl", "kl_exact"] {
            assert!((f(&pb[key]) * ln2 - f(&pn[key])).abs() < 1e-12, "{key}");
        }
        assert_eq!(pb["mean_loglik"], pn["mean_loglik"]);
    }
    assert_eq!(bits["mle"]["mean_loglik"], n["mle"]["mean_loglik"]);
}

/// Discrete data without a known P: H(P̂) is exact, so KL = D_KL(P̂‖Q_θ) ≥ 0 at every point.
#[test]
fn empirical_kl_of_discrete_data_is_nonnegative_everywhere() {
    let dir = std::env::temp_dir().join(format!("klgrid-id-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (family, spec, grid) in [
        ("poisson", "poisson(rate=2.5)", vec!["rate=0.5:6:45"]),
        ("geometric", "geometric(p=0.3)", vec!["p=0.05:0.95:37"]),
        ("bernoulli", "bernoulli(p=0.3)", vec!["p=0.05:0.95:19"]),
        (
            "negative_binomial",
            "negative_binomial(r=3, p=0.4)",
            vec!["r=1:6:11", "p=0.1:0.9:17"],
        ),
        (
            "binomial",
            "binomial(trials=10, p=0.35)",
            vec!["trials=10", "p=0.05:0.95:31"],
        ),
    ] {
        let xs = SampleSpec::parse(spec).unwrap().draw(20_000, 11).unwrap();
        let path = dir.join(format!("{family}.txt"));
        let text: String = xs.iter().map(|x| format!("{x}\n")).collect();
        std::fs::write(&path, text).unwrap();
        for backend in ["cpu-ref", "cpu"] {
            let mut args = vec![
                "sweep",
                "--family",
                family,
                "--data",
                path.to_str().unwrap(),
                "--backend",
                backend,
                "--format",
                "json",
            ];
            for g in &grid {
                args.extend(["--grid", g]);
            }
            let v = json(&args);
            assert_eq!(v["entropy_source"], "empirical", "{family}");
            assert!(v["kl_exact"].is_null());
            let bound = if backend == "cpu-ref" { 1e-12 } else { 1e-6 };
            for pt in v["points"].as_array().unwrap() {
                let kl = f(&pt["kl"]);
                assert!(kl >= -bound, "{family} {backend}: {pt}");
            }
            assert_eq!(v["identity"]["holds"], true, "{family} {backend}");
        }
    }
}

/// Continuous data without `--true`: no entropy, no KL, and the reason; with `--true` the
/// analytic entropy and the exact KL; `--true` with `--sample` is an input error.
#[test]
fn continuous_data_needs_true_for_kl_and_true_conflicts_with_sample() {
    let dir = std::env::temp_dir().join(format!("klgrid-id2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("exp.txt");
    let xs = SampleSpec::parse("exponential(rate=2)")
        .unwrap()
        .draw(5000, 5)
        .unwrap();
    std::fs::write(
        &path,
        xs.iter().map(|x| format!("{x}\n")).collect::<String>(),
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let base = [
        "sweep",
        "--family",
        "exponential",
        "--data",
        p,
        "--grid",
        "rate=0.5:4:15",
        "--backend",
        "cpu-ref",
    ];
    let mut a = base.to_vec();
    a.extend(["--format", "json"]);
    let v = json(&a);
    assert!(v["entropy"].is_null() && v["entropy_source"].is_null());
    assert!(v["entropy_note"].as_str().unwrap().contains("--true"));
    assert!(v["points"][0].get("kl").is_none());
    assert!(v["identity"]["argmin_kl"].is_null());
    assert_eq!(v["identity"]["holds"], true);
    let o = klgrid(&base);
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(
        table.contains("entropy     none: continuous data and P unknown"),
        "{table}"
    );

    let mut t = a.clone();
    t.extend(["--true", "exponential(rate=2)"]);
    let v = json(&t);
    assert!((f(&v["entropy"]) - (1.0 - 2f64.ln())).abs() < 1e-15);
    assert_eq!(v["truth"], "exponential(rate=2)");
    // At rate 2 (grid point 6) the exact KL is 0.
    assert_eq!(f(&v["points"][6]["theta"]["rate"]), 2.0);
    assert_eq!(f(&v["points"][6]["kl_exact"]), 0.0);
    assert!(f(&v["points"][6]["kl"]).abs() < 0.02);

    let o = klgrid(&[
        "sweep",
        "--family",
        "normal",
        "--sample",
        "normal(0,1)",
        "-n",
        "10",
        "--true",
        "normal(0,1)",
        "--grid",
        "mu=0",
        "--grid",
        "sigma=1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("--true"), "{err}");
}

/// CSV gains `kl` and `kl_exact` columns when they exist.
#[test]
fn csv_has_kl_columns_when_p_is_known() {
    let o = klgrid(&[
        "sweep",
        "--family",
        "normal",
        "--sample",
        "normal(0,1)",
        "-n",
        "500",
        "--grid",
        "mu=0",
        "--grid",
        "sigma=1,2",
        "--backend",
        "cpu-ref",
        "--format",
        "csv",
    ]);
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "index,mu,sigma,loglik,mean_loglik,cross_entropy,outside_support,kl,kl_exact"
    );
    let last: Vec<f64> = lines[2].split(',').map(|c| c.parse().unwrap()).collect();
    // KL(N(0,1)‖N(0,2)) = ln 2 + 1/8 − 1/2.
    assert!(
        (last[8] - (2f64.ln() + 0.125 - 0.5)).abs() < 1e-12,
        "{}",
        lines[2]
    );
}

/// Numeric MLE (gamma) and refinement: the refined point approaches the MLE, the MLE is a
/// maximum, and the intervals contain it.
#[test]
fn refinement_converges_to_the_numeric_mle() {
    let fam = common::family("gamma");
    let xs = SampleSpec::parse("gamma(shape=2, rate=3)")
        .unwrap()
        .draw(50_000, 8)
        .unwrap();
    let grid = common::grid(fam, &["shape=log:0.5:8:21", "rate=log:0.5:10:21"]);
    let job = SweepJob {
        family: fam,
        grid: grid.clone(),
        data: &xs,
        backend: Backend::One(EvalPath::Cpu),
        strategy: klgrid::engine::Strategy::Direct,
    };
    let out = engine::run(&Session::default(), &job, &mut |_| {}).unwrap();
    let opts = AnalysisOptions {
        truth: None,
        refine: 8,
        ..Default::default()
    };
    let a = analysis::analyse(&Session::default(), fam, &grid, Some(&xs), &out, &opts).unwrap();
    let m = a.mle.unwrap();
    assert_eq!(m.method, MleMethod::Numeric);
    let r = a.refined.unwrap();
    assert_eq!(r.rounds.len(), 8);
    for j in 0..2 {
        let step = r.step[j].unwrap();
        assert!(
            (r.theta[j] - m.theta[j]).abs() <= 2.0 * step,
            "{j}: {:?} {:?}",
            r.theta,
            m.theta
        );
        assert!(step < 0.01 * m.theta[j]);
    }
    // The MLE is at least as likely as the refined grid point (f64 vs the fast path's f32
    // kernel: allow its tolerance).
    assert!(m.mean_loglik >= r.mean_loglik - 1e-6 * m.mean_loglik.abs());
    for iv in &a.intervals {
        let (lo, hi) = (iv.span.low.unwrap(), iv.span.high.unwrap());
        assert!(lo < m.theta[iv.param] && m.theta[iv.param] < hi, "{iv:?}");
    }
    assert!(a.entropy.is_none() && a.kl.is_none());
}

/// Coverage sanity: over 40 data sets of n = 400 from N(1, 2²), the 95% interval of mu contains
/// the truth about 95% of the time (at least 33 of 40, a 1-in-1000 failure for 95% coverage),
/// and its width is 2·1.96·σ̂/√n within 5%.
#[test]
fn normal_mu_intervals_cover_the_truth_and_have_the_wald_width() {
    let fam = common::family("normal");
    let grid = common::grid(fam, &["mu=-1:3:81", "sigma=1:3:41"]);
    let spec = SampleSpec::parse("normal(mu=1, sigma=2)").unwrap();
    let mut covered = 0;
    for seed in 0..40 {
        let xs = spec.draw(400, seed).unwrap();
        let out = engine::run(
            &common::session(),
            &SweepJob {
                family: fam,
                grid: grid.clone(),
                data: &xs,
                backend: Backend::One(EvalPath::CpuRef),
                strategy: klgrid::engine::Strategy::Direct,
            },
            &mut |_| {},
        )
        .unwrap();
        let a = analysis::analyse(
            &Session::default(),
            fam,
            &grid,
            Some(&xs),
            &out,
            &AnalysisOptions::default(),
        )
        .unwrap();
        let iv = &a.intervals[0];
        assert_eq!(iv.name, "mu");
        let (lo, hi) = (iv.span.low.unwrap(), iv.span.high.unwrap());
        covered += (lo < 1.0 && 1.0 < hi) as u32;
        let sigma = a.mle.as_ref().unwrap().theta[1];
        let wald = 2.0 * 1.96 * sigma / 20.0;
        assert!(((hi - lo) - wald).abs() < 0.05 * wald, "{lo} {hi} {wald}");
    }
    assert!(covered >= 33, "covered {covered} of 40");
}

/// The GPU path: the same analysis with refinement rounds on the device (skipped without an
/// adapter, as the other GPU tests).
#[test]
fn gpu_refinement_and_identity_match_the_reference() {
    if common::gpu().is_none() {
        return;
    }
    let fam = common::family("normal");
    let spec = SampleSpec::parse("normal(mu=1.5, sigma=2)").unwrap();
    let xs = spec.draw(200_000, 3).unwrap();
    let grid = common::grid(fam, &["mu=0:3:31", "sigma=1:3:21"]);
    let opts = AnalysisOptions {
        truth: Some(spec),
        refine: 3,
        units: Units::Nats,
        ..AnalysisOptions::default()
    };
    let run = |path: EvalPath| {
        let out = engine::run(
            &common::session(),
            &SweepJob {
                family: fam,
                grid: grid.clone(),
                data: &xs,
                backend: Backend::One(path),
                strategy: klgrid::engine::Strategy::Direct,
            },
            &mut |_| {},
        )
        .unwrap();
        analysis::analyse(&Session::default(), fam, &grid, Some(&xs), &out, &opts).unwrap()
    };
    let (g, r) = (run(EvalPath::Gpu), run(EvalPath::CpuRef));
    assert!(g.identity.holds);
    assert_eq!(g.identity, r.identity);
    let (rg, rr) = (g.refined.unwrap(), r.refined.unwrap());
    assert_eq!(rg.theta, rr.theta);
    assert!((rg.mean_loglik - rr.mean_loglik).abs() < 1e-6 * rr.mean_loglik.abs());
    for (a, b) in g.intervals.iter().zip(&r.intervals) {
        let (wa, wb) = (
            a.span.high.unwrap() - a.span.low.unwrap(),
            b.span.high.unwrap() - b.span.low.unwrap(),
        );
        assert!((wa - wb).abs() < 0.05 * wb, "{a:?} {b:?}");
    }
    let (kg, kr) = (g.kl.unwrap(), r.kl.unwrap());
    for (a, b) in kg.iter().zip(&kr) {
        assert!((a - b).abs() < 1e-5, "{a} {b}");
    }
    assert_eq!(g.kl_exact, r.kl_exact);
}
