//! The closed-form D_KL(P‖Q) of every family that has one, against E_P[ln P − ln Q] computed
//! numerically: adaptive Gauss–Kronrod quadrature over the support for continuous families,
//! summation over the support for discrete ones.

use klgrid::model::{lookup, Family, REGISTRY};
use klgrid::numeric::quadrature::{integrate, integrate_from};

/// Families with a closed-form KL (for the parameter pairs below).
const WITH_KL: [&str; 14] = [
    "normal",
    "lognormal",
    "exponential",
    "gamma",
    "beta",
    "weibull",
    "laplace",
    "cauchy",
    "uniform",
    "poisson",
    "binomial",
    "bernoulli",
    "geometric",
    "negative_binomial",
];

/// p(x)·(ln p(x) − ln q(x)), 0 where p(x) = 0.
fn integrand(fam: &dyn Family, p: &[f64], q: &[f64], x: f64) -> f64 {
    let lp = fam.ln_pdf(x, p);
    if lp == f64::NEG_INFINITY {
        return 0.0;
    }
    let lq = fam.ln_pdf(x, q);
    lp.exp() * (lp - lq)
}

/// E_P[ln P − ln Q] by quadrature or summation.
fn numeric_kl(fam: &dyn Family, p: &[f64], q: &[f64]) -> f64 {
    let f = |x: f64| integrand(fam, p, q, x);
    let tol = 1e-13;
    match fam.name() {
        "normal" | "laplace" | "cauchy" => {
            // Split at the two locations, where the Laplace density has kinks.
            let (a, b) = (p[0].min(q[0]), p[0].max(q[0]));
            let s = p[1];
            let left = integrate_from(|x| f(a - x), 0.0, s, tol).value;
            let mid = if b > a {
                integrate(f, a, b, tol).value
            } else {
                0.0
            };
            left + mid + integrate_from(|x| f(b + x), 0.0, s, tol).value
        }
        "lognormal" => integrate_from(f, 0.0, p[0].exp(), tol).value,
        "exponential" => integrate_from(f, 0.0, 1.0 / p[0], tol).value,
        "gamma" => integrate_from(f, 0.0, p[0] / p[1], tol).value,
        "weibull" => integrate_from(f, 0.0, p[1], tol).value,
        "beta" => integrate(f, 0.0, 1.0, tol).value,
        "uniform" => integrate(f, p[0], p[1], tol).value,
        _ => {
            // Discrete: Σ over 0, 1, 2, … until the terms are negligible past the mean.
            let mut s = 0.0;
            let mut x = 0.0;
            let mut small = 0;
            while small < 50 && x < 1e6 {
                let t = f(x);
                s += t;
                small = if t.abs() < 1e-20 && x > 5.0 {
                    small + 1
                } else {
                    0
                };
                x += 1.0;
            }
            s
        }
    }
}

/// (P, Q) pairs per family: the example θ against a few others, plus P = Q.
fn pairs(name: &str) -> Vec<(Vec<f64>, Vec<f64>)> {
    let v = |a: &[f64]| a.to_vec();
    let list: Vec<(&[f64], &[f64])> = match name {
        "normal" | "lognormal" => vec![(&[0.3, 1.7], &[-0.5, 1.1]), (&[1.5, 2.0], &[0.0, 1.0])],
        "exponential" => vec![(&[1.7], &[0.4]), (&[0.5], &[3.0])],
        "gamma" => vec![(&[2.5, 1.5], &[0.8, 0.6]), (&[0.7, 2.0], &[3.0, 4.0])],
        "beta" => vec![(&[2.0, 3.0], &[0.8, 1.5]), (&[1.5, 1.2], &[4.0, 2.0])],
        "weibull" => vec![(&[1.7, 1.7], &[0.9, 2.5]), (&[3.0, 0.8], &[1.5, 1.0])],
        "laplace" => vec![(&[0.3, 1.7], &[-1.0, 0.9]), (&[0.0, 0.5], &[2.0, 2.0])],
        "cauchy" => vec![(&[0.3, 1.7], &[-1.0, 0.9]), (&[0.0, 0.5], &[2.0, 2.0])],
        "uniform" => vec![(&[0.0, 1.0], &[-0.5, 2.0]), (&[1.0, 2.5], &[1.0, 2.5])],
        "poisson" => vec![(&[1.7], &[0.4]), (&[6.0], &[9.5])],
        "binomial" => vec![(&[12.0, 0.35], &[12.0, 0.6]), (&[5.0, 0.9], &[5.0, 0.2])],
        "bernoulli" => vec![(&[0.35], &[0.8]), (&[0.05], &[0.5])],
        "geometric" => vec![(&[0.35], &[0.8]), (&[0.1], &[0.05])],
        "negative_binomial" => vec![(&[3.5, 0.4], &[3.5, 0.7]), (&[0.8, 0.2], &[0.8, 0.1])],
        _ => vec![],
    };
    let mut out: Vec<(Vec<f64>, Vec<f64>)> = list.iter().map(|(p, q)| (v(p), v(q))).collect();
    if let Some((p, _)) = out.first().cloned() {
        out.push((p.clone(), p));
    }
    out
}

#[test]
fn closed_form_kl_matches_numerical_integration_for_every_family_that_has_one() {
    for name in WITH_KL {
        let fam = lookup(name).unwrap();
        for (p, q) in pairs(name) {
            let exact = fam
                .kl_exact(&p, &q)
                .unwrap_or_else(|| panic!("{name}: no kl_exact"));
            let num = numeric_kl(fam, &p, &q);
            assert!(
                (exact - num).abs() <= 1e-9 * exact.abs().max(1.0),
                "{name} P={p:?} Q={q:?}: exact {exact} numeric {num}"
            );
            if p == q {
                assert!(exact.abs() < 1e-14, "{name}: KL(P‖P) = {exact}");
            } else {
                assert!(exact > 0.0, "{name}: {exact}");
            }
        }
    }
}

#[test]
fn families_without_a_closed_form_report_none() {
    for fam in REGISTRY {
        let t = fam.example_theta();
        let has = fam.kl_exact(&t, &t).is_some();
        assert_eq!(has, WITH_KL.contains(&fam.name()), "{}", fam.name());
    }
}

#[test]
fn kl_is_infinite_where_p_has_mass_outside_q_and_undefined_across_shapes_without_a_form() {
    let u = lookup("uniform").unwrap();
    assert_eq!(u.kl_exact(&[0.0, 2.0], &[0.5, 3.0]), Some(f64::INFINITY));
    let b = lookup("binomial").unwrap();
    assert_eq!(b.kl_exact(&[12.0, 0.3], &[10.0, 0.3]), Some(f64::INFINITY));
    assert_eq!(b.kl_exact(&[10.0, 0.3], &[12.0, 0.3]), None);
    let nb = lookup("negative_binomial").unwrap();
    assert_eq!(nb.kl_exact(&[2.0, 0.3], &[3.0, 0.3]), None);
}
