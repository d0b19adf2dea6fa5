//! The built-in families: one file per family here, one WGSL file per family in
//! `shaders/family/`, and one line in [`REGISTRY`]. The split every family implements is
//! described in [`crate::model::family`].

use crate::error::{Error, Result};

pub(crate) mod bernoulli;
pub(crate) mod beta;
pub(crate) mod binomial;
pub(crate) mod cauchy;
mod discrete;
pub(crate) mod exponential;
pub(crate) mod gamma;
pub(crate) mod geometric;
pub(crate) mod laplace;
mod large_entropy;
pub(crate) mod logistic;
pub(crate) mod lognormal;
pub(crate) mod negative_binomial;
pub(crate) mod normal;
pub(crate) mod normal_mixture;
pub(crate) mod poisson;
pub(crate) mod student_t;
#[cfg(test)]
mod testing;
pub(crate) mod uniform;
pub(crate) mod weibull;

// What the family files use, in one place (they refer to it as `super::…`).
pub use super::family::{
    kl_bernoulli, kl_normal, location_scale_derivatives, Family, KernelClass, Scaling, Shift,
    StreamedMle, HALF_LN_2PI,
};
pub use super::kernel::{
    Blocked, CoupledKernel, Form, Kernel, KernelFloat, ScaledKernel, MAX_FEATURES,
    MAX_KERNEL_CONSTS,
};
pub use super::param::{validate_domains, Domain, ParamSpec};
pub use super::suffstats::{StatsForm, SuffStatsSpec};

/// Every family klgrid knows, in the order `klgrid families` lists them.
pub static REGISTRY: &[&dyn Family] = &[
    &normal::Normal,
    &lognormal::LogNormal,
    &exponential::Exponential,
    &gamma::Gamma,
    &beta::Beta,
    &weibull::Weibull,
    &laplace::Laplace,
    &cauchy::Cauchy,
    &student_t::StudentT,
    &logistic::Logistic,
    &uniform::Uniform,
    &normal_mixture::NormalMixture,
    &poisson::Poisson,
    &binomial::Binomial,
    &bernoulli::Bernoulli,
    &geometric::Geometric,
    &negative_binomial::NegativeBinomial,
];

/// Looks a family up by its CLI name; an unknown name is an input error that suggests the
/// nearest known one ([`crate::guard::suggest`]) and lists them all.
pub fn lookup(name: &str) -> Result<&'static dyn Family> {
    REGISTRY
        .iter()
        .copied()
        .find(|f| f.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = REGISTRY.iter().map(|f| f.name()).collect();
            Error::input(format!(
                "unknown family '{}' ({}known: {})",
                crate::guard::quote(name),
                crate::guard::did_you_mean(name, names.iter().copied()),
                names.join(", ")
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The analytic derivatives of ln Q agree with central differences of `ln_pdf` (step 1e-5
    /// relative, second differences of the analytic gradient) for every family providing them,
    /// at its example θ and at samples drawn from it.
    #[test]
    fn analytic_derivatives_match_finite_differences_for_every_family() {
        use rand::{rngs::StdRng, SeedableRng};
        let mut provided = 0;
        for fam in REGISTRY {
            let theta = fam.example_theta();
            let p = theta.len();
            let mut rng = StdRng::seed_from_u64(11);
            let mut xs = vec![0.0; 12];
            fam.sample_into(&theta, &mut rng, &mut xs).unwrap();
            let (mut g, mut h) = (vec![0.0; p], vec![0.0; p * p]);
            if !fam.ln_pdf_derivatives(xs[0], &theta, &mut g, &mut h) {
                continue;
            }
            provided += 1;
            let diff = |j: usize| fam.params()[j].domain != Domain::PositiveInteger;
            for &x in &xs {
                assert!(fam.ln_pdf_derivatives(x, &theta, &mut g, &mut h));
                for j in (0..p).filter(|&j| diff(j)) {
                    let e = 1e-5 * theta[j].abs().max(0.1);
                    let at = |d: f64| {
                        let mut t = theta.clone();
                        t[j] += d;
                        t
                    };
                    let fd = (fam.ln_pdf(x, &at(e)) - fam.ln_pdf(x, &at(-e))) / (2.0 * e);
                    assert!(
                        (fd - g[j]).abs() <= 1e-6 * g[j].abs().max(1.0),
                        "{} x={x} ∂{j}: analytic {} fd {fd}",
                        fam.name(),
                        g[j]
                    );
                    let (mut gp, mut gm, mut hh) = (vec![0.0; p], vec![0.0; p], vec![0.0; p * p]);
                    fam.ln_pdf_derivatives(x, &at(e), &mut gp, &mut hh);
                    fam.ln_pdf_derivatives(x, &at(-e), &mut gm, &mut hh);
                    for k in (0..p).filter(|&k| diff(k)) {
                        let fd = (gp[k] - gm[k]) / (2.0 * e);
                        let a = h[j * p + k];
                        assert!(
                            (fd - a).abs() <= 1e-5 * a.abs().max(1.0),
                            "{} x={x} ∂{j}∂{k}: analytic {a} fd {fd}",
                            fam.name()
                        );
                        assert_eq!(a, h[k * p + j], "{}: symmetric", fam.name());
                    }
                }
            }
        }
        assert!(provided >= 16, "{provided} families provide derivatives");
    }

    /// a(θ) + b(x) + k(x, θ) (+ the host-coupled term h(x, θ), where the family has one) must
    /// equal the full log-density for every family, on the host in f64, for a few θ and x inside
    /// the support (with and without shift).
    #[test]
    fn split_reassembles_full_log_density_for_every_family() {
        use crate::model::grid::{AxisSpec, Grid, Spacing};
        use rand::{rngs::StdRng, SeedableRng};
        for fam in REGISTRY {
            let theta: Vec<f64> = fam.example_theta();
            // h(x, θ) = host_coupled_sums of the single sample x on a one-point grid at θ.
            let point = Grid::new(
                *fam,
                fam.params()
                    .iter()
                    .zip(&theta)
                    .map(|(p, &v)| AxisSpec {
                        name: p.name.to_string(),
                        values: vec![v],
                        spacing: Spacing::Fixed,
                    })
                    .collect(),
            )
            .unwrap();
            let host = |x: f64| fam.host_coupled_sums(&point, &[x]).map_or(0.0, |h| h[0]);
            let mut rng = StdRng::seed_from_u64(7);
            let mut xs = vec![0.0; 64];
            fam.sample_into(&theta, &mut rng, &mut xs).unwrap();
            for shift in [0.0, 0.75] {
                let shift = if fam.shift() == Shift::Location {
                    shift
                } else {
                    0.0
                };
                let mut c = [0.0; MAX_KERNEL_CONSTS];
                fam.kernel_consts(&theta, shift, &mut c);
                for &x in &xs {
                    let mut f = [0.0; MAX_FEATURES];
                    fam.features(x, shift, &mut f);
                    let full = fam.ln_pdf(x, &theta);
                    assert!(!fam.kernel_outside(&f, &c), "{}: x={x}", fam.name());
                    let split =
                        fam.log_norm(&theta) + fam.data_term(x) + fam.kernel(&f, &c) + host(x);
                    assert!(
                        (full - split).abs() <= 1e-9 * full.abs().max(1.0),
                        "{}: x={x} full={full} split={split}",
                        fam.name()
                    );
                    if fam.shift() == Shift::Linear {
                        // k(f) = k(f − s) + k(s): the kernel is linear and homogeneous.
                        let s = [0.75; MAX_FEATURES];
                        let fs: Vec<f64> = f.iter().zip(&s).map(|(a, b)| a - b).collect();
                        let k = fam.kernel(&f, &c);
                        let parts = fam.kernel(&fs, &c) + fam.kernel(&s, &c);
                        assert!(
                            (k - parts).abs() <= 1e-9 * k.abs().max(1.0),
                            "{}",
                            fam.name()
                        );
                    }
                }
            }
        }
    }
}
