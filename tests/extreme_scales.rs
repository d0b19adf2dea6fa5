//! Issue 18: the family kernels at the extremes of their own domains — gamma at small
//! coefficients of variation, student_t with large ν, poisson counts around 10⁶ and beyond, the
//! binomial with 10¹⁵ trials — on every path and strategy, against the f64 reference; and the
//! reference itself against mpmath (40+ digits) where the textbook forms cancel.

mod common;
use common::*;
use klgrid::engine::{evaluate, evaluate_cpu_ref, Agreement, EvalPath, Session, Strategy};
use klgrid::model::sample_spec::SampleSpec;
use klgrid::model::Family;

/// The paths that exist here: gpu (when an adapter exists) and cpu, each with the strategies the
/// family has.
fn paths(fam: &dyn Family) -> Vec<(EvalPath, Strategy)> {
    let mut out = vec![];
    for path in [EvalPath::Gpu, EvalPath::Cpu] {
        out.push((path, Strategy::Direct));
        if fam.suffstats().is_some() {
            out.push((path, Strategy::SuffStats));
        }
    }
    out
}

/// Every path against cpu-ref at every grid point within `tol` (relative to max(|ℓ|, 1)), with
/// the same best point.
fn every_path_matches(fam_name: &str, xs: &[f64], specs: &[&str], tol: f64) {
    let fam = family(fam_name);
    let grid = grid(fam, specs);
    let reference = evaluate_cpu_ref(fam, &grid, xs);
    let gpu = gpu();
    for (path, strategy) in paths(fam) {
        let session = match (path, &gpu) {
            (EvalPath::Gpu, Some(s)) => s,
            (EvalPath::Gpu, None) => continue,
            _ => &Session::new(Default::default()),
        };
        let e = evaluate(session, path, strategy, fam, &grid, xs).unwrap();
        let a = Agreement::compare(&e.partials, &reference.partials, tol);
        assert!(
            a.max_rel_diff <= tol && a.support_mismatches == 0 && a.argmax_agrees,
            "{fam_name} {path:?}/{strategy:?} {specs:?}: {a:?}"
        );
    }
}

fn draw(spec: &str, n: usize) -> Vec<f64> {
    SampleSpec::parse(spec).unwrap().draw(n, 7).unwrap()
}

#[test]
fn gamma_small_cv_matches_reference() {
    // CV 1e-6 and 1e-7 (shape 10¹², 10¹⁴): the acceptance's 1e-6, on a wide grid and on one
    // along the likelihood's ridge (rate = shape / x̄).
    for a in [1e12f64, 1e14] {
        let xs = draw(&format!("gamma(shape={a:?}, rate={a:?})"), 20_000);
        let wide = [
            format!("shape=log:{:?}:{:?}:7", a / 2.0, a * 2.0),
            format!("rate=log:{:?}:{:?}:7", a / 2.0, a * 2.0),
        ];
        let w: Vec<&str> = wide.iter().map(String::as_str).collect();
        every_path_matches("gamma", &xs, &w, 1e-6);
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let sd = 1.0 / a.sqrt();
        let ridge = [
            format!("shape={a:?}"),
            format!(
                "rate={:?}:{:?}:9",
                a / mean * (1.0 - 3.0 * sd / 140.0),
                a / mean * (1.0 + 3.0 * sd / 140.0)
            ),
        ];
        let r: Vec<&str> = ridge.iter().map(String::as_str).collect();
        every_path_matches("gamma", &xs, &r, 1e-9);
    }
}

#[test]
fn student_t_large_nu_matches_reference_on_a_log_grid_to_1e8() {
    let xs = draw("normal(mu=0, sigma=1)", 20_000);
    every_path_matches(
        "student_t",
        &xs,
        &["nu=log:1:1e8:33", "mu=0", "sigma=1"],
        1e-5,
    );
    // Far beyond: ν up to 10³⁰, with μ and σ free.
    every_path_matches(
        "student_t",
        &xs,
        &["nu=log:1:1e30:16", "mu=-0.1:0.1:3", "sigma=0.9:1.1:3"],
        1e-5,
    );
}

#[test]
fn poisson_large_counts_match_reference() {
    for rate in [1e6f64, 1e12, 1e15] {
        let xs = draw(&format!("poisson(rate={rate:?})"), 20_000);
        let w = 0.005 * rate.sqrt();
        let g = format!("rate={:?}:{:?}:21", rate - w, rate + w);
        every_path_matches("poisson", &xs, &[&g], 1e-7);
    }
    // 5·10⁷ identical values.
    every_path_matches(
        "poisson",
        &[5e7; 20_000],
        &["rate=log:4.99e7:5.01e7:21"],
        1e-7,
    );
}

#[test]
fn binomial_huge_trials_match_reference() {
    for (t, p, w) in [
        ("1e15", 0.3, 1e-7),
        ("4294967297", 0.3, 1e-5),
        ("1e15", 1e-9, 1e-11),
    ] {
        let xs = draw(&format!("binomial(trials={t}, p={p:?})"), 20_000);
        let g = format!("p={:?}:{:?}:21", p - w, p + w);
        every_path_matches("binomial", &xs, &[&format!("trials={t}"), &g], 1e-7);
    }
    // A trials axis around 10¹²: the reference p₀ = x̄/t per value of t.
    let xs = draw("binomial(trials=1e12, p=0.5)", 20_000);
    every_path_matches(
        "binomial",
        &xs,
        &[
            "trials=999999000000,1e12,1000001000000",
            "p=0.49999:0.50001:11",
        ],
        1e-7,
    );
}

/// The f64 log-densities where the textbook forms cancel, against mpmath at 60 digits.
#[test]
#[allow(clippy::excessive_precision)]
fn reference_log_densities_at_extreme_parameters_match_mpmath() {
    let cases: &[(&str, f64, &[f64], f64)] = &[
        (
            "poisson",
            1e12 + 1234.0,
            &[1e12 - 567.0],
            -14.734_450_713_586_530,
        ),
        ("poisson", 1_000_001.0, &[999_000.0], -8.328_028_979_386_727),
        ("poisson", 3.0, &[2.5], -1.542_887_273_605_589_8),
        ("poisson", 5e7, &[5e7], -9.782_705_316_567_549),
        (
            "binomial",
            3e14 + 12_345_678.0,
            &[1e15, 0.3],
            -17.770_897_545_330_94,
        ),
        (
            "binomial",
            1_288_490_189.0,
            &[4_294_967_297.0, 0.3],
            -11.228_969_548_204_239,
        ),
        ("binomial", 0.0, &[1e15, 1e-15], -1.000_000_000_000_000_6),
        ("binomial", 1e15, &[1e15, 0.999_999], -1_000_000_500.029_089),
        ("binomial", 2000.0, &[5000.0, 0.4], -4.464_029_728_870_068),
        (
            "gamma",
            1.000_000_3,
            &[1e14, 99_999_980_000_000.0],
            14.699_157_451_555_626,
        ),
    ];
    for &(name, x, theta, want) in cases {
        let got = family(name).ln_pdf(x, theta);
        assert!(
            (got - want).abs() <= 2e-13 * want.abs().max(1.0),
            "{name}({theta:?}) at {x}: {got} vs {want}"
        );
    }
}

/// The split taken at a data shift (a(θ; s) + b(x; s) + k(f(x; s), c(θ; s)) + h(x, θ; s))
/// equals the full density, for every family and a few shifts (those the engine may hand it:
/// a data mean for linear and mean-relative families).
#[test]
fn split_at_a_data_shift_matches_the_full_density_for_every_family() {
    use klgrid::model::grid::Grid;
    use klgrid::model::{Shift, REGISTRY};
    use rand::SeedableRng;
    for fam in REGISTRY {
        let theta = fam.example_theta();
        let point = Grid::point(*fam, &theta).unwrap();
        let mut xs = vec![0.0; 64];
        fam.sample_into(&theta, &mut rand::rngs::StdRng::seed_from_u64(3), &mut xs)
            .unwrap();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        for s in [mean, 0.5 * mean, 1.5 * mean + 1.0] {
            // What the engine hands each hook (see `Centre`): linear families get their shift
            // in the constants and `_at` hooks only, unless mean-relative.
            let (shift, feature_shift) = match fam.shift() {
                Shift::None => (0.0, 0.0),
                Shift::Location => (s, s),
                Shift::Linear if fam.mean_relative() => (s, s),
                Shift::Linear => (s, 0.0),
            };
            let nf = fam.n_features();
            let mut c = vec![0.0; fam.n_kernel_consts()];
            fam.kernel_consts(&theta, shift, &mut c);
            for &x in &xs {
                let mut f = vec![0.0; nf];
                fam.features(x, feature_shift, &mut f);
                let h = fam
                    .host_coupled_sums_at(&point, &[x], shift)
                    .map_or(0.0, |h| h[0]);
                let split = fam.log_norm_at(&theta, shift)
                    + fam.data_term_at(x, shift)
                    + fam.kernel(&f, &c)
                    + h;
                let full = fam.ln_pdf(x, &theta);
                assert!(
                    (split - full).abs() <= 1e-9 * full.abs().max(1.0),
                    "{} at shift {s}: x={x} full={full} split={split}",
                    fam.name()
                );
            }
        }
    }
}

/// At large ν the normal part of the student_t kernel is summed on the host: the split with it
/// equals the full density, the MLE's f64 split likelihood includes it, and heavy-tailed data
/// (samples beyond 4√ν scales) send those points to f64 instead of losing digits in f32.
#[test]
fn student_t_large_nu_split_is_exact_and_outliers_go_to_f64() {
    use klgrid::analysis::mle::LikelihoodData;
    let fam = family("student_t");
    let xs = draw("normal(mu=3, sigma=2)", 3000);
    for nu in [5.0, 999.0, 1000.0, 1e6, 1e15] {
        let theta = [nu, 3.1, 1.9];
        let full = LikelihoodData::Samples(&xs).mean_loglik(fam, &theta);
        let split = LikelihoodData::new(fam, &xs).mean_loglik(fam, &theta);
        assert!(
            (full - split).abs() < 1e-12 * full.abs(),
            "ν={nu}: {full} {split}"
        );
    }
    // Cauchy data against large ν: f64 at those points, and agreement.
    let xs = draw("cauchy(mu=0, scale=1)", 20_000);
    let g = grid(fam, &["nu=log:1:1e8:9", "mu=0", "sigma=1"]);
    let reference = evaluate_cpu_ref(fam, &g, &xs);
    let e = evaluate(
        &Session::new(Default::default()),
        EvalPath::Cpu,
        Strategy::Direct,
        fam,
        &g,
        &xs,
    )
    .unwrap();
    assert_eq!(e.conditioning.f64_points, 6, "{:?}", e.conditioning);
    let a = Agreement::compare(&e.partials, &reference.partials, 1e-5);
    assert!(a.within_tolerance && a.argmax_agrees, "{a:?}");
}

/// `--refine 60` on the f32 paths stops where the path can no longer tell grid points apart
/// (instead of reporting steps of 10⁻¹⁶), and the refined point lies within its reported
/// uncertainty of the MLE; cpu-ref, in f64, resolves far finer.
#[test]
fn refinement_stops_at_the_paths_resolution_and_reports_its_uncertainty() {
    use klgrid::analysis::refine::Stopped;
    use klgrid::analysis::{self, AnalysisOptions};
    use klgrid::engine::{Backend, SweepJob};
    let fam = family("normal");
    let xs = draw("normal(mu=1.5, sigma=2)", 200_000);
    let g = grid(fam, &["mu=0:3:11", "sigma=1:3:11"]);
    let mut unc = vec![];
    for path in [EvalPath::Cpu, EvalPath::CpuRef] {
        let job = SweepJob {
            family: fam,
            grid: g.clone(),
            data: &xs,
            backend: Backend::One(path),
            strategy: Strategy::Direct,
        };
        let session = Session::default();
        let out = klgrid::engine::run(&session, &job, &mut |_| {}).unwrap();
        let opts = AnalysisOptions {
            refine: 60,
            ..Default::default()
        };
        let a = analysis::analyse(&session, fam, &g, Some(&xs), &out, &opts).unwrap();
        let (r, m) = (a.refined.unwrap(), a.mle.unwrap());
        assert_eq!(r.stopped, Stopped::Resolution, "{path:?}");
        assert!(r.rounds.len() < 60, "{path:?}: {} rounds", r.rounds.len());
        for j in 0..2 {
            let (s, res, u) = (
                r.step[j].unwrap(),
                r.resolution[j].unwrap(),
                r.uncertainty[j].unwrap(),
            );
            assert!(
                s <= res && res <= 2.0 * s && u == res.max(0.5 * s),
                "{path:?} {j}: {r:?}"
            );
            assert!(
                (r.theta[j] - m.theta[j]).abs() <= u,
                "{path:?} {j}: {r:?} {m:?}"
            );
        }
        unc.push(r.uncertainty[0].unwrap());
    }
    // f32: h_min = √(2·2⁻²⁴·2.1/0.25) ≈ 10⁻³ for mu; f64 (16·2⁻⁵³): ≈ 2·10⁻⁷.
    assert!(unc[1] < 1e-3 * unc[0], "{unc:?}");
}

/// On the device, the family kernels' log1p keeps the digits of tiny arguments (student_t's
/// w² = z²/ν at large ν; log(1 + z) returns 0 below 6·10⁻⁸) and ln(1 + t) − t keeps its own.
#[test]
fn wgsl_log1p_and_log1pmx_keep_relative_precision_of_tiny_arguments() {
    use klgrid::engine::gpu::probe::eval_vec4;
    const MATH: &str = include_str!("../shaders/lib/math.wgsl");
    let Some(session) = gpu() else { return };
    let ctx = session.gpu().unwrap();
    let xs: Vec<f32> = (0..4000)
        .map(|i| 10f64.powf(-18.0 + 19.2 * i as f64 / 3999.0) as f32)
        .collect();
    for (name, f64_twin) in [
        ("log1p4", f64::ln_1p as fn(f64) -> f64),
        ("log1pmx4", klgrid::numeric::ln1pmx),
    ] {
        let vs = eval_vec4(&ctx, MATH, name, &xs).unwrap();
        for (&x, &v) in xs.iter().zip(&vs) {
            let want = f64_twin(x as f64);
            let rel = ((v as f64 - want) / want).abs();
            assert!(rel < 2e-6, "{name}({x}) = {v}, want {want}: {rel:.1e}");
        }
    }
}
