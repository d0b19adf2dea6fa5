//! Log-normal distribution: ln x ~ N(mu, sigma²), support x > 0.
//!
//! log Q(x | μ, σ) = −ln x − ln σ − ½ ln 2π − (ln x − μ)² / (2σ²)
//!
//! Split: a(θ) = −ln σ − ½ ln 2π, b(x) = −ln x (the Jacobian), k(x, θ) = −(ln x − μ)²·h with
//! h = 1/(2σ²); the feature is ln x (computed on the host in f64), centred by the shift.

use super::normal::{NormalKernel, NORMAL_STATS};
use super::{
    Blocked, CoupledKernel, Domain, Family, ParamSpec, Scaling, Shift, SuffStatsSpec, HALF_LN_2PI,
};
use crate::error::{Error, Result};
use rand::rngs::StdRng;
use rand_distr::Distribution;

/// The log-normal family `lognormal(mu, sigma)`.
pub struct LogNormal;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "mu",
        domain: Domain::Real,
    },
    ParamSpec {
        name: "sigma",
        domain: Domain::Positive,
    },
];

impl Family for LogNormal {
    fn name(&self) -> &'static str {
        "lognormal"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "x > 0"
    }

    /// ln φ((ln x − μ)/σ) − ln σ − ln x for x > 0, −∞ otherwise.
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        if !(x > 0.0 && x.is_finite()) {
            return f64::NEG_INFINITY;
        }
        let lx = x.ln();
        let z = (lx - t[0]) / t[1];
        -0.5 * z * z - t[1].ln() - HALF_LN_2PI - lx
    }

    /// The normal's, on ln x: f(z) = −z²/2 with z = (ln x − μ)/σ.
    fn ln_pdf_derivatives(&self, x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        let z = (x.ln() - t[0]) / t[1];
        super::location_scale_derivatives(z, t[1], -z, -1.0, (0, 1, 2), g, h);
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x > 0.0 && x.is_finite()
    }

    /// a = −ln σ − ½ ln 2π.
    fn log_norm(&self, t: &[f64]) -> f64 {
        -t[1].ln() - HALF_LN_2PI
    }

    /// b = −ln x.
    fn data_term(&self, x: f64) -> f64 {
        -x.ln()
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<NormalKernel>::NEW
    }

    /// c₀ = μ − c, c₁ = 1/(2σ²).
    fn kernel_consts(&self, t: &[f64], shift: f64, out: &mut [f64]) {
        out[0] = t[0] - shift;
        out[1] = 0.5 / (t[1] * t[1]);
    }

    /// f₀ = ln x − c.
    fn features(&self, x: f64, shift: f64, out: &mut [f64]) {
        out[0] = x.ln() - shift;
    }

    /// Scaling: as the normal's, on f₀ = ln x − c.
    fn scaling(&self) -> Option<Scaling> {
        Some(&[&[-1], &[2]])
    }

    fn shift(&self) -> Shift {
        Shift::Location
    }

    /// The normal's statistics, of the centred ln x.
    fn suffstats(&self) -> Option<SuffStatsSpec> {
        Some(NORMAL_STATS)
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../../shaders/family/lognormal.wgsl")
    }

    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        let d = rand_distr::LogNormal::new(t[0], t[1])
            .map_err(|e| Error::input(format!("lognormal: {e}")))?;
        for o in out {
            *o = d.sample(rng);
        }
        Ok(())
    }

    /// μ̂ = mean of ln x, σ̂ = √(Σ(ln x − μ̂)²/n); with μ held fixed, σ̂ = √(Σ(ln x − μ)²/n).
    /// `None` when a sample is not > 0 or σ̂ = 0.
    fn mle(&self, xs: &[f64], fixed: &[Option<f64>]) -> Option<Vec<f64>> {
        if !xs.iter().all(|&x| self.in_support(x)) {
            return None;
        }
        let ls: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
        let (mean, var) = crate::model::moments::mean_var(&ls)?;
        let (mu, var) = match fixed[0] {
            Some(mu) => (mu, var + (mean - mu) * (mean - mu)),
            None => (mean, var),
        };
        let sigma = fixed[1].unwrap_or(var.sqrt());
        (sigma > 0.0).then(|| vec![mu, sigma])
    }

    /// From the mean and M₂ of ln x, as [`Family::mle`].
    fn mle_streamed(
        &self,
        m: &crate::model::moments::Moments,
        fixed: &[Option<f64>],
    ) -> super::StreamedMle {
        let Some((mean, var)) = m.log_mean_var() else {
            return Ok(None);
        };
        let (mu, var) = match fixed[0] {
            Some(mu) => (mu, var + (mean - mu) * (mean - mu)),
            None => (mean, var),
        };
        let sigma = fixed[1].unwrap_or(var.sqrt());
        Ok((sigma > 0.0).then(|| vec![mu, sigma]))
    }

    /// H = μ + ½ + ½ ln(2π σ²).
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        Some(t[0] + 0.5 + HALF_LN_2PI + t[1].ln())
    }

    /// D_KL is that of the normals of ln x (KL is invariant under x ↦ ln x):
    /// ln(σ_q/σ_p) + (σ_p² + (μ_p − μ_q)²)/(2σ_q²) − ½.
    fn kl_exact(&self, p: &[f64], q: &[f64]) -> Option<f64> {
        Some(super::kl_normal(p[0], p[1], q[0], q[1]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::families::testing::{entropy_integral, exp_map, golden_max};
    use rand::SeedableRng;

    #[test]
    fn entropy_matches_numeric_integral() {
        for t in [[0.3, 1.7], [-2.0, 0.25], [1.5, 3.0]] {
            let (a, b) = (t[0] - 40.0 * t[1], t[0] + 40.0 * t[1]);
            let h = entropy_integral(|x| LogNormal.ln_pdf(x, &t), exp_map, a, b, 200_000);
            let e = LogNormal.entropy(&t).unwrap();
            assert!((h - e).abs() < 1e-9, "{t:?}: numeric {h} formula {e}");
        }
    }

    #[test]
    fn mle_maximises_the_likelihood() {
        let t = [0.4, 0.8];
        let mut xs = vec![0.0; 2000];
        LogNormal
            .sample_into(&t, &mut StdRng::seed_from_u64(3), &mut xs)
            .unwrap();
        let ll = |th: &[f64]| LogNormal.ln_pdf_sum(&xs, th).0;
        let m = LogNormal.mle(&xs, &[None, None]).unwrap();
        // Coordinate ascent by golden-section search.
        let mut th = [0.0, 1.0];
        for _ in 0..6 {
            th[0] = golden_max(|v| ll(&[v, th[1]]), -3.0, 3.0);
            th[1] = golden_max(|v| ll(&[th[0], v]), 0.05, 5.0);
        }
        assert!((m[0] - th[0]).abs() < 1e-6 && (m[1] - th[1]).abs() < 1e-6);
        assert!(ll(&m) >= ll(&th));
        // μ held fixed: σ̂ maximises over σ alone.
        let m = LogNormal.mle(&xs, &[Some(0.1), None]).unwrap();
        let s = golden_max(|v| ll(&[0.1, v]), 0.05, 5.0);
        assert!(m[0] == 0.1 && (m[1] - s).abs() < 1e-6, "{m:?} {s}");
    }

    #[test]
    fn sampler_moments_match() {
        let t = [0.3, 0.5];
        let mut xs = vec![0.0; 400_000];
        LogNormal
            .sample_into(&t, &mut StdRng::seed_from_u64(5), &mut xs)
            .unwrap();
        let (m, v) = crate::model::moments::mean_var(&xs).unwrap();
        let s2 = t[1] * t[1];
        let (em, ev) = (
            (t[0] + s2 / 2.0).exp(),
            (s2.exp() - 1.0) * (2.0 * t[0] + s2).exp(),
        );
        assert!((m - em).abs() < 0.01 * em, "mean {m} vs {em}");
        assert!((v - ev).abs() < 0.03 * ev, "var {v} vs {ev}");
    }
}
