//! Standard errors, covariance and correlation at the MLE, like MINUIT's HESSE: the observed
//! information I = −∇²S(θ̂) over the free parameters, in θ (not the unconstrained coordinates),
//! f64, and V = I⁻¹, σⱼ = √Vⱼⱼ, ρⱼₖ = Vⱼₖ/(σⱼσₖ).
//!
//! ∇²S is the sum of the family's analytic per-sample second derivatives
//! ([`crate::model::Family::ln_pdf_derivatives`]) where it has them, else central finite
//! differences of the exact S with step control: each step hⱼ is set so that the diagonal
//! difference changes S by about 10⁻² nat (hⱼ = √(2·0.01/|Iⱼⱼ|), from a first estimate; rounding
//! then contributes ~10⁻⁹ relative), capped at a fifth of the distance to the domain's edge, and
//! each entry is Richardson-extrapolated from steps h and 2h ((4·D(h) − D(2h))/3, truncation
//! error O(h⁴)). I must be positive definite (a Cholesky factorisation exists); otherwise no
//! errors are given and the note says so — the likelihood is then not locally quadratic at θ̂
//! (a maximum on the support's edge, as for the uniform; a likelihood not twice differentiable,
//! as the Laplace's in μ; or a saddle).

use crate::analysis::likelihood::Likelihood;
use crate::analysis::optim::{cholesky, cholesky_inverse};
use crate::model::{Domain, Family};

/// How the Hessian was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HessianMethod {
    Analytic,
    FiniteDifferences,
}

impl HessianMethod {
    /// `analytic` or `finite_differences`.
    pub fn name(self) -> &'static str {
        match self {
            HessianMethod::Analytic => "analytic",
            HessianMethod::FiniteDifferences => "finite_differences",
        }
    }
}

/// Errors at the MLE.
#[derive(Debug, Clone, PartialEq)]
pub struct Errors {
    /// The free parameters (family indices) and their names, in the family's order.
    pub params: Vec<usize>,
    pub names: Vec<String>,
    pub method: HessianMethod,
    /// I = −∇²S(θ̂), row-major.
    pub information: Vec<f64>,
    pub positive_definite: bool,
    /// σⱼ, V and ρ (row-major); `None` when I is not positive definite.
    pub errors: Option<Vec<f64>>,
    pub covariance: Option<Vec<f64>>,
    pub correlation: Option<Vec<f64>>,
    /// Why there are no errors.
    pub note: Option<String>,
}

/// Target change of S (nats) of the diagonal finite-difference steps.
const TARGET: f64 = 1e-2;

/// Largest step of parameter j at θⱼ = v: a fifth of the distance to its domain's edge (real
/// parameters: unbounded).
fn max_step(domain: Domain, v: f64) -> f64 {
    match domain {
        Domain::Positive => 0.2 * v,
        Domain::OpenUnit => 0.2 * v.min(1.0 - v),
        _ => f64::INFINITY,
    }
}

/// −∇²S by central differences with step control (see the module documentation); `None` when a
/// value is not finite.
fn finite_differences(lik: &Likelihood<'_>, theta: &[f64], vars: &[usize]) -> Option<Vec<f64>> {
    let fam = lik.family();
    let k = vars.len();
    let s0 = lik.loglik(theta);
    let at = |steps: &[(usize, f64)]| {
        let mut t = theta.to_vec();
        for &(j, d) in steps {
            t[j] += d;
        }
        lik.loglik(&t)
    };
    let dom = |j: usize| fam.params()[j].domain;
    // First estimate of each diagonal from a small relative step, then the controlled step.
    let mut h: Vec<f64> = vars
        .iter()
        .map(|&j| {
            let v = theta[j];
            (1e-4 * v.abs().max(1e-3)).min(max_step(dom(j), v))
        })
        .collect();
    for (a, &j) in vars.iter().enumerate() {
        let d = (at(&[(j, h[a])]) - 2.0 * s0 + at(&[(j, -h[a])])) / (h[a] * h[a]);
        if d.is_finite() && d != 0.0 {
            h[a] = (2.0 * TARGET / d.abs())
                .sqrt()
                .min(0.5 * max_step(dom(j), theta[j]));
        }
    }
    // Second differences at steps (h, h) and (2h, 2h), Richardson-combined.
    let second = |a: usize, b: usize, m: f64| {
        let (ja, jb, ha, hb) = (vars[a], vars[b], m * h[a], m * h[b]);
        if a == b {
            (at(&[(ja, ha)]) - 2.0 * s0 + at(&[(ja, -ha)])) / (ha * ha)
        } else {
            (at(&[(ja, ha), (jb, hb)]) - at(&[(ja, ha), (jb, -hb)]) - at(&[(ja, -ha), (jb, hb)])
                + at(&[(ja, -ha), (jb, -hb)]))
                / (4.0 * ha * hb)
        }
    };
    let mut info = vec![0.0; k * k];
    for a in 0..k {
        for b in 0..=a {
            let v = -(4.0 * second(a, b, 1.0) - second(a, b, 2.0)) / 3.0;
            info[a * k + b] = v;
            info[b * k + a] = v;
        }
    }
    info.iter().all(|v| v.is_finite()).then_some(info)
}

/// Errors at `theta` (the MLE) over the parameters `vars`.
pub fn at_mle(lik: &Likelihood<'_>, theta: &[f64], vars: &[usize]) -> Errors {
    let fam: &dyn Family = lik.family();
    let k = vars.len();
    let (method, info) = match lik.derivatives(theta, vars) {
        Some((_, h)) => (
            HessianMethod::Analytic,
            Some(h.iter().map(|v| -v).collect()),
        ),
        None => (
            HessianMethod::FiniteDifferences,
            finite_differences(lik, theta, vars),
        ),
    };
    let names = vars
        .iter()
        .map(|&j| fam.params()[j].name.to_string())
        .collect();
    let Some(info) = info else {
        return Errors {
            params: vars.to_vec(),
            names,
            method,
            information: vec![f64::NAN; k * k],
            positive_definite: false,
            errors: None,
            covariance: None,
            correlation: None,
            note: Some("the Hessian of −S at the MLE is not finite".into()),
        };
    };
    let Some(l) = cholesky(&info, k) else {
        return Errors {
            params: vars.to_vec(),
            names,
            method,
            information: info,
            positive_definite: false,
            errors: None,
            covariance: None,
            correlation: None,
            note: Some(
                "the Hessian of −S at the MLE is not positive definite: the likelihood is not \
                 locally quadratic there (a maximum on the support's edge, a likelihood not \
                 twice differentiable, or a saddle), so there are no standard errors; use the \
                 profile intervals"
                    .into(),
            ),
        };
    };
    let cov = cholesky_inverse(&l, k);
    let se: Vec<f64> = (0..k).map(|a| cov[a * k + a].sqrt()).collect();
    let mut corr = vec![0.0; k * k];
    for a in 0..k {
        for b in 0..k {
            corr[a * k + b] = if a == b {
                1.0
            } else {
                cov[a * k + b] / (se[a] * se[b])
            };
        }
    }
    Errors {
        params: vars.to_vec(),
        names,
        method,
        information: info,
        positive_definite: true,
        errors: Some(se),
        covariance: Some(cov),
        correlation: Some(corr),
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::test_grid as grid;
    use crate::model::lookup;
    use crate::model::sample_spec::SampleSpec;

    /// Normal: I = diag(n/σ̂², 2n/σ̂²) at the MLE, so σ(μ) = σ̂/√n, σ(σ) = σ̂/√(2n), ρ = 0; the
    /// analytic and the finite-difference Hessians both give it.
    #[test]
    fn normal_errors_are_the_textbook_ones_by_both_methods() {
        let fam = lookup("normal").unwrap();
        let xs = SampleSpec::parse("normal(mu=1, sigma=3)")
            .unwrap()
            .draw(4000, 2)
            .unwrap();
        let g = grid(fam, &["mu=0:2:5", "sigma=2:4:5"]);
        let t = fam.mle(&xs, &[None, None]).unwrap();
        let lik = Likelihood::new(fam, &g, &xs);
        let e = at_mle(&lik, &t, &[0, 1]);
        assert_eq!(e.method, HessianMethod::Analytic);
        let n = xs.len() as f64;
        let se = e.errors.unwrap();
        assert!((se[0] - t[1] / n.sqrt()).abs() < 1e-12 * se[0]);
        assert!((se[1] - t[1] / (2.0 * n).sqrt()).abs() < 1e-12 * se[1]);
        assert!(e.correlation.unwrap()[1].abs() < 1e-12);
        let fd = finite_differences(&lik, &t, &[0, 1]).unwrap();
        for (a, b) in fd.iter().zip(&e.information) {
            assert!(
                (a - b).abs() < 1e-6 * e.information[0],
                "{fd:?} {:?}",
                e.information
            );
        }
    }

    /// The uniform's likelihood is largest on the support's edge, where its Hessian is not
    /// negative definite: no errors, and a note.
    #[test]
    fn a_hessian_that_is_not_positive_definite_gives_no_errors() {
        let fam = lookup("uniform").unwrap();
        let xs = [0.1, 0.5, 0.9, 0.3];
        let g = grid(fam, &["low=-1:0:3", "high=1:2:3"]);
        let lik = Likelihood::new(fam, &g, &xs);
        let e = at_mle(&lik, &[0.1, 0.9], &[0, 1]);
        assert!(!e.positive_definite && e.errors.is_none() && e.note.is_some());
    }
}
