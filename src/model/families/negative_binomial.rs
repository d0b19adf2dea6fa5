//! Negative binomial distribution: the number of failures before the r-th success in trials of
//! success probability p (r real > 0), support {0, 1, 2, …}.
//!
//! log Q(x | r, p) = lnΓ(x + r) − lnΓ(r) − ln x! + r ln p + x ln(1 − p)
//!
//! Split: a(θ) = r ln p − lnΓ(r), b(x) = −ln x!, k(x, θ) = x·ln(1 − p) (linear in x: the device
//! sums (x − x̄)·ln(1 − p), [`Shift::Linear`]), and the host-coupled term h(x, r) = lnΓ(x + r),
//! which depends on θ only through r: Σᵢ h(xᵢ, r) is computed once per value of r as
//! Σ_v count_v·lnΓ(v + r) over the distinct data values v.

use super::discrete::{per_param_value, summed_entropy, value_counts};
use super::{
    Blocked, CoupledKernel, Domain, Family, ParamSpec, ScaledKernel, Scaling, Shift, SuffStatsSpec,
};
use crate::error::{Error, Result};
use crate::model::grid::Grid;
use crate::numeric::{ln_factorial, ln_gamma, Neumaier};
use rand::rngs::StdRng;
use rand_distr::Distribution;

/// The negative binomial family `negative_binomial(r, p)`.
pub struct NegativeBinomial;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "r",
        domain: Domain::Positive,
    },
    ParamSpec {
        name: "p",
        domain: Domain::OpenUnit,
    },
];

impl Family for NegativeBinomial {
    fn name(&self) -> &'static str {
        "negative_binomial"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "failures before the r-th success: 0, 1, 2, ..."
    }
    fn integer_data(&self) -> bool {
        true
    }

    /// lnΓ(x + r) − lnΓ(r) − lnΓ(x + 1) + r ln p + x·ln_1p(−p) for integer x ≥ 0, −∞
    /// otherwise.
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        let (r, p) = (t[0], t[1]);
        if x < 0.0 || x.fract() != 0.0 {
            return f64::NEG_INFINITY;
        }
        // At x = 0 the Γ terms cancel exactly: Q(0) = p^r.
        let ln_coef = if x > 0.0 {
            ln_gamma(x + r) - ln_gamma(r) - ln_factorial(x)
        } else {
            0.0
        };
        let fail = if x > 0.0 { x * (-p).ln_1p() } else { 0.0 };
        ln_coef + r * p.ln() + fail
    }

    /// ∂r = ψ(x + r) − ψ(r) + ln p, ∂p = r/p − x/(1 − p); ∂rr = ψ′(x + r) − ψ′(r), ∂rp = 1/p,
    /// ∂pp = −r/p² − x/(1 − p)².
    fn ln_pdf_derivatives(&self, x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        use crate::numeric::trigamma;
        use statrs::function::gamma::digamma;
        let (r, p) = (t[0], t[1]);
        let q = 1.0 - p;
        let (dr, tr) = if x > 0.0 {
            (digamma(x + r) - digamma(r), trigamma(x + r) - trigamma(r))
        } else {
            (0.0, 0.0)
        };
        g[0] = dr + p.ln();
        g[1] = r / p - x / q;
        h[0] = tr;
        h[1] = 1.0 / p;
        h[2] = 1.0 / p;
        h[3] = -r / (p * p) - x / (q * q);
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x >= 0.0 && x.is_finite() && x.fract() == 0.0
    }

    /// a = r ln p − lnΓ(r).
    fn log_norm(&self, t: &[f64]) -> f64 {
        let (r, p) = (t[0], t[1]);
        r * p.ln() - ln_gamma(r)
    }

    /// b = −ln x!.
    fn data_term(&self, x: f64) -> f64 {
        -ln_factorial(x)
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<ScaledKernel>::NEW
    }

    /// c₀ = ln(1 − p).
    fn kernel_consts(&self, t: &[f64], _shift: f64, out: &mut [f64]) {
        out[0] = (-t[1]).ln_1p();
    }

    /// Scaling: k = c₀·f₀ is linear: c₀ scales like the inverse of the feature.
    fn scaling(&self) -> Option<Scaling> {
        Some(&[&[1]])
    }

    fn shift(&self) -> Shift {
        Shift::Linear
    }

    /// Σᵢ lnΓ(xᵢ + r) over the samples in the support, once per value of r:
    /// Σ_v count_v·lnΓ(v + r) over the distinct data values v.
    fn has_host_terms(&self) -> bool {
        true
    }

    fn host_coupled_sums(&self, grid: &Grid, xs: &[f64]) -> Option<Vec<f64>> {
        let counts = value_counts(xs);
        Some(per_param_value(grid, 0, |r| {
            let mut s = Neumaier::default();
            for &(v, c) in &counts {
                s.add(c as f64 * ln_gamma(v + r));
            }
            s.value()
        }))
    }

    /// Sufficient statistic T = Σ x (centred); Σ lnΓ(x + r) stays a host term per value of r, so
    /// any grid over r is valid.
    fn suffstats(&self) -> Option<SuffStatsSpec> {
        Some(SuffStatsSpec::linear::<ScaledKernel>())
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../../shaders/family/negative_binomial.wgsl")
    }

    /// Gamma–Poisson mixture: λ ~ Gamma(shape r, scale (1 − p)/p), x ~ Poisson(λ).
    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        self.validate(t)?;
        let err = |e: &dyn std::fmt::Display| Error::input(format!("negative_binomial: {e}"));
        let g = rand_distr::Gamma::new(t[0], (1.0 - t[1]) / t[1]).map_err(|e| err(&e))?;
        for o in out {
            let lambda: f64 = g.sample(rng);
            *o = if lambda > 0.0 {
                rand_distr::Poisson::new(lambda)
                    .map_err(|e| err(&e))?
                    .sample(rng)
            } else {
                // Gamma draws underflow to 0 for tiny r: Poisson(0) is 0.
                0.0
            };
        }
        Ok(())
    }

    /// H = −Σₓ p(x) ln p(x) over {0, 1, …}, summed outwards from the mode until the terms fall
    /// below 1e-20; `None` when that takes more than 2·10⁷ terms (p tiny).
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        let (r, p) = (t[0], t[1]);
        if r * (1.0 - p) >= super::large_entropy::THRESHOLD {
            // Bounded time: the asymptotic series instead of ~20σ terms.
            return Some(super::large_entropy::negative_binomial(r, p));
        }
        let mode = if r > 1.0 {
            ((r - 1.0) * (1.0 - p) / p).floor()
        } else {
            0.0
        };
        summed_entropy(|x| self.ln_pdf(x, t), mode, None)
    }

    /// Same r (the lnΓ terms cancel), with E_P[x] = r(1 − p)/p:
    /// D_KL = r·ln(p/q) + (r(1 − p)/p)·ln((1 − p)/(1 − q)); `None` for different r.
    fn kl_exact(&self, p: &[f64], q: &[f64]) -> Option<f64> {
        if p[0] != q[0] {
            return None;
        }
        let (r, a, b) = (p[0], p[1], q[1]);
        Some(r * (a / b).ln() + r * (1.0 - a) / a * ((-a).ln_1p() - (-b).ln_1p()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::grid::AxisSpec;
    use rand::SeedableRng;

    const F: NegativeBinomial = NegativeBinomial;

    #[test]
    fn pmf_sums_to_one_over_the_support_and_is_zero_outside() {
        for (r, p) in [(0.3, 0.5), (2.5, 0.35), (40.0, 0.9), (1.0, 0.05)] {
            let s: f64 = (0..20000).map(|x| F.ln_pdf(x as f64, &[r, p]).exp()).sum();
            assert!((s - 1.0).abs() < 1e-12, "r={r} p={p}: {s}");
            for x in [-1.0, 0.5] {
                assert_eq!(F.ln_pdf(x, &[r, p]), f64::NEG_INFINITY);
            }
        }
        // r = 1 is the geometric distribution.
        for x in [0.0, 1.0, 7.0] {
            let want = 0.3f64.ln() + x * 0.7f64.ln();
            assert!((F.ln_pdf(x, &[1.0, 0.3]) - want).abs() < 1e-14);
        }
    }

    /// No closed form: the MLE is None, and the numeric maximiser over p for the true r lies
    /// where the score vanishes, p = r/(r + x̄).
    #[test]
    fn no_closed_form_mle_and_profile_maximiser_in_p_is_r_over_r_plus_mean() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut xs = vec![0.0; 5000];
        F.sample_into(&[2.5, 0.35], &mut rng, &mut xs).unwrap();
        assert_eq!(F.mle(&xs, &[None, None]), None);
        let (m, _) = crate::model::moments::mean_var(&xs).unwrap();
        let best = crate::model::families::testing::golden_max(
            |p| F.ln_pdf_sum(&xs, &[2.5, p]).0,
            1e-6,
            0.999,
        );
        assert!((best - 2.5 / (2.5 + m)).abs() < 1e-6);
    }

    #[test]
    fn sampler_mean_and_variance_match() {
        let (r, p) = (2.5, 0.35);
        let mut rng = StdRng::seed_from_u64(5);
        let mut xs = vec![0.0; 200_000];
        F.sample_into(&[r, p], &mut rng, &mut xs).unwrap();
        let (m, v) = crate::model::moments::mean_var(&xs).unwrap();
        let (want_m, want_v) = (r * (1.0 - p) / p, r * (1.0 - p) / (p * p));
        assert!((m - want_m).abs() < 5.0 * (want_v / 2e5).sqrt(), "{m}");
        assert!((v / want_v - 1.0).abs() < 0.03, "{v}");
        let zeros = xs.iter().filter(|&&x| x == 0.0).count() as f64 / 2e5;
        assert!((zeros - p.powf(r)).abs() < 0.003, "P(0) = {zeros}");
    }

    #[test]
    fn entropy_matches_explicit_sum() {
        for (r, p) in [(0.3, 0.5), (2.5, 0.35), (40.0, 0.9)] {
            let direct: f64 = (0..20000)
                .map(|x| {
                    let lp = F.ln_pdf(x as f64, &[r, p]);
                    -lp.exp() * lp
                })
                .sum();
            let h = F.entropy(&[r, p]).unwrap();
            assert!((h - direct).abs() < 1e-12, "{h} vs {direct}");
        }
    }

    #[test]
    fn host_coupled_sums_are_per_r_value() {
        let xs = [0.0, 3.0, 3.0, 7.0, 1500.0];
        // r on the fast axis, then on the slow one.
        for specs in [["p=0.2,0.6", "r=0.5:4.5:3"], ["r=0.5:4.5:3", "p=0.2,0.6"]] {
            let grid = Grid::new(
                &F,
                specs.iter().map(|s| AxisSpec::parse(s).unwrap()).collect(),
            )
            .unwrap();
            let h = F.host_coupled_sums(&grid, &xs).unwrap();
            assert_eq!(h.len(), 6);
            for (i, &hi) in h.iter().enumerate() {
                let r = grid.theta(i)[0];
                let want: f64 = xs.iter().map(|&x| ln_gamma(x + r)).sum();
                assert!((hi - want).abs() < 1e-9, "point {i}: {hi} vs {want}");
            }
        }
    }
}
