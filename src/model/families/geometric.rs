//! Geometric distribution: the number of failures before the first success in trials of
//! success probability p, support {0, 1, 2, …}.
//!
//! log Q(x | p) = ln p + x ln(1 − p)
//!
//! Split: a(θ) = ln p, b(x) = 0, k(x, θ) = x·ln(1 − p); the kernel is linear in x, so the
//! device sums (x − x̄)·ln(1 − p) ([`Shift::Linear`]).

use super::{
    Blocked, CoupledKernel, Domain, Family, ParamSpec, ScaledKernel, Scaling, Shift, SuffStatsSpec,
};
use crate::error::{Error, Result};
use rand::rngs::StdRng;
use rand_distr::Distribution;

/// The geometric family `geometric(p)`.
pub struct Geometric;

const PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "p",
    domain: Domain::OpenUnit,
}];

impl Family for Geometric {
    fn name(&self) -> &'static str {
        "geometric"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "failures before the first success: 0, 1, 2, ..."
    }
    fn integer_data(&self) -> bool {
        true
    }

    /// ln p + x·ln_1p(−p) for integer x ≥ 0, −∞ otherwise.
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        if x < 0.0 || x.fract() != 0.0 {
            return f64::NEG_INFINITY;
        }
        let fail = if x > 0.0 { x * (-t[0]).ln_1p() } else { 0.0 };
        t[0].ln() + fail
    }

    /// ∂p = 1/p − x/(1 − p), ∂pp = −1/p² − x/(1 − p)².
    fn ln_pdf_derivatives(&self, x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        let (p, q) = (t[0], 1.0 - t[0]);
        g[0] = 1.0 / p - x / q;
        h[0] = -1.0 / (p * p) - x / (q * q);
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x >= 0.0 && x.is_finite() && x.fract() == 0.0
    }

    /// a = ln p.
    fn log_norm(&self, t: &[f64]) -> f64 {
        t[0].ln()
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<ScaledKernel>::NEW
    }

    /// c₀ = ln(1 − p).
    fn kernel_consts(&self, t: &[f64], _shift: f64, out: &mut [f64]) {
        out[0] = (-t[0]).ln_1p();
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
        include_str!("../../../shaders/family/geometric.wgsl")
    }

    /// rand_distr's `Geometric` counts the failures before the first success, as here.
    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        self.validate(t)?;
        let d = rand_distr::Geometric::new(t[0])
            .map_err(|e| Error::input(format!("geometric: {e}")))?;
        for o in out {
            *o = d.sample(rng) as f64;
        }
        Ok(())
    }

    /// p̂ = 1/(1 + x̄); `None` when a sample is negative or when p̂ ∉ (0, 1) (all zeros).
    fn mle(&self, xs: &[f64], _fixed: &[Option<f64>]) -> Option<Vec<f64>> {
        if xs.iter().any(|&x| x < 0.0 || x.is_nan()) {
            return None;
        }
        let (mean, _) = crate::model::moments::mean_var(xs)?;
        let p = 1.0 / (1.0 + mean);
        (p > 0.0 && p < 1.0).then(|| vec![p])
    }

    /// p̂ = 1/(1 + x̄).
    fn mle_streamed(
        &self,
        m: &crate::model::moments::Moments,
        _fixed: &[Option<f64>],
    ) -> super::StreamedMle {
        let p = 1.0 / (1.0 + m.mean);
        Ok((m.n > 0 && m.min >= 0.0 && p > 0.0 && p < 1.0).then(|| vec![p]))
    }

    /// H = (−(1 − p) ln(1 − p) − p ln p) / p = −ln p − (1 − p)·ln(1 − p)/p.
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        let p = t[0];
        Some(-p.ln() - (1.0 - p) * (-p).ln_1p() / p)
    }

    /// With E_P[x] = (1 − p)/p: D_KL = ln(p/q) + ((1 − p)/p)·ln((1 − p)/(1 − q)).
    fn kl_exact(&self, p: &[f64], q: &[f64]) -> Option<f64> {
        let (a, b) = (p[0], q[0]);
        Some((a / b).ln() + (1.0 - a) / a * ((-a).ln_1p() - (-b).ln_1p()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::families::testing::golden_max;
    use rand::SeedableRng;

    const F: Geometric = Geometric;

    #[test]
    fn pmf_sums_to_one_over_the_support_and_is_zero_outside() {
        for p in [0.02, 0.35, 0.9] {
            let s: f64 = (0..5000).map(|x| F.ln_pdf(x as f64, &[p]).exp()).sum();
            assert!((s - 1.0).abs() < 1e-12, "p={p}: {s}");
            for x in [-1.0, 0.5] {
                assert_eq!(F.ln_pdf(x, &[p]), f64::NEG_INFINITY);
            }
        }
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
    }

    /// rand_distr's Geometric counts failures (mean (1 − p)/p), not trials (mean 1/p).
    #[test]
    fn sampler_counts_failures_and_mean_matches() {
        for p in [0.3, 0.8] {
            let mut rng = StdRng::seed_from_u64(5);
            let mut xs = vec![0.0; 200_000];
            F.sample_into(&[p], &mut rng, &mut xs).unwrap();
            let (m, _) = crate::model::moments::mean_var(&xs).unwrap();
            let want = (1.0 - p) / p;
            let sd = ((1.0 - p) / (p * p) / 2e5).sqrt();
            assert!((m - want).abs() < 5.0 * sd, "p={p}: {m} vs {want}");
            let zeros = xs.iter().filter(|&&x| x == 0.0).count() as f64 / 2e5;
            assert!((zeros - p).abs() < 0.005, "P(0) = {zeros}, want {p}");
        }
    }

    #[test]
    fn entropy_matches_explicit_sum() {
        for p in [0.02, 0.35, 0.9] {
            let direct: f64 = (0..5000)
                .map(|x| {
                    let lp = F.ln_pdf(x as f64, &[p]);
                    -lp.exp() * lp
                })
                .sum();
            let h = F.entropy(&[p]).unwrap();
            assert!((h - direct).abs() < 1e-12, "{h} vs {direct}");
        }
    }
}
