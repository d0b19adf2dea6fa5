//! The identity, with numbers: the entropy H(P) of the data-generating distribution, the KL
//! column D_KL(P‖Q_θ) = H(P, Q_θ) − H(P), the exact KL where a closed form exists, and the three
//! optima (largest log-likelihood, smallest cross-entropy, smallest KL) found independently from
//! their own columns.
//!
//! Where H(P) comes from:
//! * P known (`--sample SPEC`, or `--true SPEC` for a data file): H(P) of that distribution,
//!   `entropy_source` "analytic" — the family's formula (or its sum over the support for the
//!   poisson, binomial and negative binomial), or, where the family has none (the normal mixture),
//!   −∫ p ln p by adaptive Gauss–Kronrod quadrature with its error bound;
//! * discrete data, P unknown: the empirical distribution P̂ (value v with frequency c_v/n) is
//!   exact, so H(P̂) = −Σ_v (c_v/n)·ln(c_v/n), `entropy_source` "empirical", and the KL column is
//!   D_KL(P̂‖Q_θ) ≥ 0;
//! * continuous data, P unknown: no entropy and no KL (H(P̂) of a continuous sample is not the
//!   differential entropy of anything).

use crate::engine::partials::{first_best, Partials};
use crate::error::{Error, Result};
use crate::model::grid::Grid;
use crate::model::sample_spec::SampleSpec;
use crate::model::Family;
use crate::numeric::quadrature;
use crate::numeric::Neumaier;
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

/// Units of entropy, cross-entropy and KL figures (log-likelihoods stay in nats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Units {
    /// Natural logarithms.
    #[default]
    Nats,
    /// Base-2 logarithms: nats / ln 2.
    Bits,
}

impl Units {
    /// `nats` or `bits`.
    pub fn name(self) -> &'static str {
        match self {
            Units::Nats => "nats",
            Units::Bits => "bits",
        }
    }

    /// A figure in nats expressed in these units: v, or v / ln 2 for bits.
    pub fn of(self, nats: f64) -> f64 {
        match self {
            Units::Nats => nats,
            Units::Bits => nats / std::f64::consts::LN_2,
        }
    }
}

impl std::str::FromStr for Units {
    type Err = Error;
    fn from_str(s: &str) -> Result<Units> {
        match s {
            "nats" => Ok(Units::Nats),
            "bits" => Ok(Units::Bits),
            _ => Err(Error::input(format!(
                "unknown units '{s}' (expected nats or bits)"
            ))),
        }
    }
}

/// Where H(P) came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntropySource {
    /// The known data-generating distribution P.
    Analytic,
    /// The empirical distribution P̂ of discrete data.
    Empirical,
}

impl EntropySource {
    /// `analytic` or `empirical`.
    pub fn name(self) -> &'static str {
        match self {
            EntropySource::Analytic => "analytic",
            EntropySource::Empirical => "empirical",
        }
    }
}

/// How H(P) was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntropyMethod {
    /// The family's formula (or its sum over a discrete support).
    Formula,
    /// −∫ p ln p by adaptive Gauss–Kronrod quadrature.
    Quadrature,
    /// −Σ_v (c_v/n)·ln(c_v/n) over the distinct data values.
    Counts,
}

impl EntropyMethod {
    /// `formula`, `quadrature` or `counts`.
    pub fn name(self) -> &'static str {
        match self {
            EntropyMethod::Formula => "formula",
            EntropyMethod::Quadrature => "quadrature",
            EntropyMethod::Counts => "counts",
        }
    }
}

/// H(P) in nats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entropy {
    pub value: f64,
    pub source: EntropySource,
    pub method: EntropyMethod,
    /// Estimated bound on the absolute error of a quadrature (nats); `None` otherwise.
    pub error: Option<f64>,
}

/// Absolute tolerance of the entropy quadrature, nats.
const ENTROPY_TOL: f64 = 1e-12;

/// H(P) of a known distribution: the family's formula, else −∫ p ln p by quadrature over the
/// real line, centred on the median of 4,096 draws and scaled by their interquartile range.
pub fn entropy_of(spec: &SampleSpec) -> Result<Entropy> {
    if let Some(h) = spec.family.entropy(&spec.theta) {
        return Ok(Entropy {
            value: h,
            source: EntropySource::Analytic,
            method: EntropyMethod::Formula,
            error: None,
        });
    }
    if spec.family.integer_data() {
        return Err(Error::input(format!("no entropy known for {spec}")));
    }
    let mut xs = spec.draw(4096, 0)?;
    xs.sort_by(f64::total_cmp);
    let centre = xs[xs.len() / 2];
    let scale = (xs[3 * xs.len() / 4] - xs[xs.len() / 4]).max(1e-300);
    let fam = spec.family;
    let q = quadrature::integrate_real(
        |x| {
            let lp = fam.ln_pdf(x, &spec.theta);
            let p = lp.exp();
            if p > 0.0 {
                -p * lp
            } else {
                0.0
            }
        },
        centre,
        scale,
        ENTROPY_TOL,
    );
    Ok(Entropy {
        value: q.value,
        source: EntropySource::Analytic,
        method: EntropyMethod::Quadrature,
        error: Some(q.error),
    })
}

/// H(P̂) = ln n − (1/n)·Σ_v c_v ln c_v over the distinct values v of `xs` with counts c_v, nats.
pub fn empirical_entropy(xs: &[f64]) -> f64 {
    let mut counts: HashMap<u64, u64> = HashMap::new();
    for &x in xs {
        // +0.0 and −0.0 are one value.
        *counts.entry((x + 0.0).to_bits()).or_default() += 1;
    }
    entropy_of_counts(counts.into_values().collect(), xs.len() as u64)
}

/// H(P̂) = ln n − (1/n)·Σ_v c_v ln c_v from the counts c_v of the distinct values of n samples
/// (any order: they are summed in increasing order), nats; what [`empirical_entropy`] computes,
/// from counts merged across shards.
pub fn entropy_of_counts(mut cs: Vec<u64>, n: u64) -> f64 {
    cs.sort_unstable();
    let n = n as f64;
    let mut s = Neumaier::default();
    for c in cs {
        let c = c as f64;
        s.add(c * c.ln());
    }
    n.ln() - s.value() / n
}

/// H(P) for a sweep, or why there is none: `truth` is the known P, if any.
pub fn data_entropy(
    family: &dyn Family,
    truth: Option<&SampleSpec>,
    xs: &[f64],
) -> Result<std::result::Result<Entropy, String>> {
    match truth {
        Some(spec) if spec.family.integer_data() != family.integer_data() => Ok(Err(format!(
            "P = {spec} is {} and the model {} is {}: D_KL(P‖Q_θ) is not finite, so no entropy or KL is reported",
            if spec.family.integer_data() { "discrete" } else { "continuous" },
            family.name(),
            if family.integer_data() { "discrete" } else { "continuous" },
        ))),
        Some(spec) => Ok(Ok(entropy_of(spec)?)),
        None if family.integer_data() => Ok(Ok(Entropy {
            value: empirical_entropy(xs),
            source: EntropySource::Empirical,
            method: EntropyMethod::Counts,
            error: None,
        })),
        None => Ok(Err(
            "continuous data and P unknown: H(P) is not known, so KL = cross-entropy − H(P) is not reported (declare P with --true SPEC)"
                .to_string(),
        )),
    }
}

/// The cross-entropy H(P̂, Q_θ) = −S(θ)/n of every grid point (+∞ where S = −∞), nats.
pub fn cross_entropy_column(p: &Partials) -> Vec<f64> {
    (0..p.len()).map(|i| -p.mean_loglik(i)).collect()
}

/// D_KL(P‖Q_θ) = H(P̂, Q_θ) − H(P) for every grid point, nats (+∞ where S = −∞).
pub fn kl_column(p: &Partials, entropy: f64) -> Vec<f64> {
    (0..p.len())
        .into_par_iter()
        .map(|i| -p.mean_loglik(i) - entropy)
        .collect()
}

/// The exact D_KL(P‖Q_θ) of every grid point from the family's closed form, when P is of the
/// swept family and the form exists at some point (NaN at points where it does not); `None`
/// otherwise.
pub fn kl_exact_column(family: &dyn Family, grid: &Grid, truth: &SampleSpec) -> Option<Vec<f64>> {
    if truth.family.name() != family.name() {
        return None;
    }
    let any = AtomicBool::new(false);
    let col = (0..grid.len())
        .into_par_iter()
        .map_init(
            || grid.cursor(),
            |cursor, i| match family.kl_exact(&truth.theta, cursor.theta(i)) {
                Some(v) => {
                    any.store(true, Ordering::Relaxed);
                    v
                }
                None => f64::NAN,
            },
        )
        .collect::<Vec<f64>>();
    let any = any.into_inner();
    any.then_some(col)
}

/// The three optima, each found from its own column (ties: the first index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// Index of the largest log-likelihood S(θ).
    pub argmax_loglik: Option<usize>,
    /// Index of the smallest cross-entropy −S(θ)/n.
    pub argmin_cross_entropy: Option<usize>,
    /// Index of the smallest KL, where the KL column exists.
    pub argmin_kl: Option<usize>,
    /// All three (two without KL) exist and agree.
    pub holds: bool,
}

/// Index of the smallest finite value (first on ties).
pub fn argmin(values: &[f64]) -> Option<usize> {
    first_best(
        values.len(),
        |i| Some(values[i]).filter(|v| v.is_finite()),
        |v, b| v < b,
    )
}

/// Finds the three optima independently: the largest S, the smallest cross-entropy, the
/// smallest KL (when `kl` is given).
pub fn check(p: &Partials, kl: Option<&[f64]>) -> Identity {
    let argmax_loglik = p.argmax();
    // The smallest finite −S(θ)/n, first on ties (`argmin` of `cross_entropy_column`, without
    // the column).
    let argmin_cross_entropy = first_best(
        p.len(),
        |i| Some(-p.mean_loglik(i)).filter(|v| v.is_finite()),
        |v, b| v < b,
    );
    let argmin_kl = kl.and_then(argmin);
    let holds = argmax_loglik.is_some()
        && argmax_loglik == argmin_cross_entropy
        && (kl.is_none() || argmin_kl == argmax_loglik);
    Identity {
        argmax_loglik,
        argmin_cross_entropy,
        argmin_kl,
        holds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empirical_entropy_of_a_fair_coin_is_ln_2_and_of_a_constant_is_zero() {
        let coin: Vec<f64> = (0..1000).map(|i| (i % 2) as f64).collect();
        assert!((empirical_entropy(&coin) - std::f64::consts::LN_2).abs() < 1e-15);
        assert_eq!(empirical_entropy(&[3.0; 17]), 0.0);
        // Three values with frequencies 1/2, 1/4, 1/4: H = 1.5 ln 2.
        let xs = [0.0, 0.0, 1.0, 2.0];
        assert!((empirical_entropy(&xs) - 1.5 * std::f64::consts::LN_2).abs() < 1e-15);
    }

    #[test]
    fn bits_are_nats_over_ln_2() {
        assert_eq!(Units::Nats.of(2.0), 2.0);
        assert!((Units::Bits.of(std::f64::consts::LN_2) - 1.0).abs() < 1e-15);
        assert!("furlongs".parse::<Units>().unwrap_err().is_input());
    }

    #[test]
    fn identity_indices_come_from_their_own_columns() {
        let p = Partials {
            sum: vec![-10.0, -8.0, -9.0],
            outside: vec![0, 0, 0],
            n: 2,
        };
        let kl = kl_column(&p, 3.5);
        assert_eq!(kl, vec![1.5, 0.5, 1.0]);
        let id = check(&p, Some(&kl));
        assert_eq!(
            (id.argmax_loglik, id.argmin_cross_entropy, id.argmin_kl),
            (Some(1), Some(1), Some(1))
        );
        assert!(id.holds);
        // A KL column that disagrees (not one computed from this S) breaks the identity.
        let id = check(&p, Some(&[0.0, 1.0, 2.0]));
        assert_eq!(id.argmin_kl, Some(0));
        assert!(!id.holds);
        // Without KL the two others decide.
        let id = check(&p, None);
        assert!(id.holds && id.argmin_kl.is_none());
    }

    #[test]
    fn mixture_entropy_by_quadrature_matches_a_fine_riemann_sum() {
        let spec =
            SampleSpec::parse("normal_mixture(w=0.3, mu1=-1, sigma1=0.7, mu2=2, sigma2=1.2)")
                .unwrap();
        let h = entropy_of(&spec).unwrap();
        assert_eq!(h.method, EntropyMethod::Quadrature);
        let err = h.error.unwrap();
        assert!(err < 1e-10, "{err}");
        // Midpoint rule, step 1e-4 over [−15, 20]: error ~1e-9.
        let step = 1e-4;
        let mut s = Neumaier::default();
        for k in 0..350_000 {
            let x = -15.0 + (k as f64 + 0.5) * step;
            let lp = spec.family.ln_pdf(x, &spec.theta);
            s.add(-lp.exp() * lp * step);
        }
        assert!(
            (h.value - s.value()).abs() < 1e-8,
            "{} vs {}",
            h.value,
            s.value()
        );
        // Between the entropies of the components and that plus ln 2 (mixing entropy bound).
        let (h1, h2) = (
            0.5 + 0.918_938_533 + 0.7f64.ln(),
            0.5 + 0.918_938_533 + 1.2f64.ln(),
        );
        let lower = 0.3 * h1 + 0.7 * h2;
        assert!(h.value > lower && h.value < lower + std::f64::consts::LN_2);
    }

    #[test]
    fn continuous_data_without_truth_has_no_entropy_and_a_reason() {
        let fam = crate::model::lookup("normal").unwrap();
        let why = data_entropy(fam, None, &[1.0, 2.0]).unwrap().unwrap_err();
        assert!(why.contains("--true"), "{why}");
        let disc = crate::model::lookup("poisson").unwrap();
        let h = data_entropy(disc, None, &[1.0, 2.0]).unwrap().unwrap();
        assert_eq!(h.source, EntropySource::Empirical);
        assert!((h.value - std::f64::consts::LN_2).abs() < 1e-15);
        let spec = SampleSpec::parse("poisson(rate=2)").unwrap();
        assert!(data_entropy(fam, Some(&spec), &[1.0]).unwrap().is_err());
    }
}
