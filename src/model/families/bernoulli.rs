//! Bernoulli distribution with success probability p, support {0, 1}.
//!
//! log Q(x | p) = x ln p + (1 − x) ln(1 − p)
//!
//! Split: a(θ) = ln(1 − p), b(x) = 0, k(x, θ) = x·logit p with logit p = ln p − ln(1 − p);
//! the kernel is linear in x, so the device sums (x − x̄)·logit p ([`Shift::Linear`]).

use super::{
    Blocked, CoupledKernel, Domain, Family, ParamSpec, ScaledKernel, Scaling, Shift, SuffStatsSpec,
};
use crate::error::{Error, Result};
use rand::rngs::StdRng;
use rand_distr::Distribution;

/// The Bernoulli family `bernoulli(p)`.
pub struct Bernoulli;

const PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "p",
    domain: Domain::OpenUnit,
}];

impl Family for Bernoulli {
    fn name(&self) -> &'static str {
        "bernoulli"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "0 or 1"
    }
    fn integer_data(&self) -> bool {
        true
    }

    /// ln p at x = 1, ln(1 − p) = ln_1p(−p) at x = 0, −∞ elsewhere.
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        if x == 1.0 {
            t[0].ln()
        } else if x == 0.0 {
            (-t[0]).ln_1p()
        } else {
            f64::NEG_INFINITY
        }
    }

    /// ∂p = x/p − (1 − x)/(1 − p), ∂pp = −x/p² − (1 − x)/(1 − p)².
    fn ln_pdf_derivatives(&self, x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        let (p, q) = (t[0], 1.0 - t[0]);
        g[0] = x / p - (1.0 - x) / q;
        h[0] = -x / (p * p) - (1.0 - x) / (q * q);
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x == 0.0 || x == 1.0
    }

    /// a = ln(1 − p).
    fn log_norm(&self, t: &[f64]) -> f64 {
        (-t[0]).ln_1p()
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<ScaledKernel>::NEW
    }

    /// c₀ = logit p = ln p − ln(1 − p).
    fn kernel_consts(&self, t: &[f64], _shift: f64, out: &mut [f64]) {
        out[0] = t[0].ln() - (-t[0]).ln_1p();
    }

    /// Scaling: k = c₀·f₀ is linear: c₀ scales like the inverse of the feature.
    fn scaling(&self) -> Option<Scaling> {
        Some(&[&[1]])
    }

    fn shift(&self) -> Shift {
        Shift::Linear
    }

    /// Sufficient statistics Tⱼ = Σ fⱼ (the kernel is linear in the features).
    fn suffstats(&self) -> Option<SuffStatsSpec> {
        Some(SuffStatsSpec::linear::<ScaledKernel>())
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../../shaders/family/bernoulli.wgsl")
    }

    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        let d = rand_distr::Bernoulli::new(t[0])
            .map_err(|e| Error::input(format!("bernoulli: {e}")))?;
        for o in out {
            *o = if d.sample(rng) { 1.0 } else { 0.0 };
        }
        Ok(())
    }

    /// p̂ = x̄; `None` when a sample is not 0 or 1, or when p̂ ∉ (0, 1) (all zeros or all ones).
    fn mle(&self, xs: &[f64], _fixed: &[Option<f64>]) -> Option<Vec<f64>> {
        if !xs.iter().all(|&x| self.in_support(x)) {
            return None;
        }
        let (mean, _) = crate::model::moments::mean_var(xs)?;
        (mean > 0.0 && mean < 1.0).then(|| vec![mean])
    }

    /// p̂ = x̄ for integer data in {0, 1}.
    fn mle_streamed(
        &self,
        m: &crate::model::moments::Moments,
        _fixed: &[Option<f64>],
    ) -> super::StreamedMle {
        let ok = m.n > 0 && m.min >= 0.0 && m.max <= 1.0;
        Ok((ok && m.mean > 0.0 && m.mean < 1.0).then(|| vec![m.mean]))
    }

    /// H = −p ln p − (1 − p) ln(1 − p).
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        let p = t[0];
        Some(-p * p.ln() - (1.0 - p) * (-p).ln_1p())
    }

    /// D_KL = p·ln(p/q) + (1 − p)·ln((1 − p)/(1 − q)).
    fn kl_exact(&self, p: &[f64], q: &[f64]) -> Option<f64> {
        Some(super::kl_bernoulli(p[0], q[0]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::families::testing::golden_max;
    use rand::SeedableRng;

    const F: Bernoulli = Bernoulli;

    #[test]
    fn pmf_sums_to_one_over_the_support_and_is_zero_outside() {
        for p in [1e-9, 0.35, 0.5, 0.999] {
            let s = F.ln_pdf(0.0, &[p]).exp() + F.ln_pdf(1.0, &[p]).exp();
            assert!((s - 1.0).abs() < 1e-15, "p={p}: {s}");
            for x in [-1.0, 0.5, 2.0] {
                assert_eq!(F.ln_pdf(x, &[p]), f64::NEG_INFINITY);
            }
        }
        // ln(1 − p) keeps its digits for tiny p.
        assert_eq!(F.ln_pdf(0.0, &[1e-12]), (-1e-12f64).ln_1p());
    }

    #[test]
    fn closed_form_mle_matches_numeric_maximisation() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut xs = vec![0.0; 5000];
        F.sample_into(&[0.3], &mut rng, &mut xs).unwrap();
        let mle = F.mle(&xs, &[None]).unwrap();
        let best = golden_max(|p| F.ln_pdf_sum(&xs, &[p]).0, 1e-6, 1.0 - 1e-6);
        assert!((mle[0] - best).abs() < 1e-6, "{mle:?} vs {best}");
        assert_eq!(F.mle(&[0.0, 0.0], &[None]), None);
        assert_eq!(F.mle(&[1.0, 1.0], &[None]), None);
        assert_eq!(F.mle(&[1.0, 2.0, 0.0], &[None]), None);
    }

    #[test]
    fn sampler_mean_matches() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut xs = vec![0.0; 200_000];
        F.sample_into(&[0.3], &mut rng, &mut xs).unwrap();
        let (m, _) = crate::model::moments::mean_var(&xs).unwrap();
        // sd of the mean: √(0.21 / 2e5) ≈ 0.001.
        assert!((m - 0.3).abs() < 0.005, "{m}");
        assert!(xs.iter().all(|&x| x == 0.0 || x == 1.0));
    }

    #[test]
    fn entropy_is_ln2_at_one_half() {
        assert!((F.entropy(&[0.5]).unwrap() - 2f64.ln()).abs() < 1e-15);
    }
}
