//! Binomial distribution: successes in `trials` = t independent trials of success probability p,
//! support {0, 1, …, t}.
//!
//! log Q(x | t, p) = ln t! − ln x! − ln (t − x)! + x ln p + (t − x) ln(1 − p)
//!
//! Split: a(θ) = ln t! + t·ln(1 − p), b(x) = −ln x!, k(x, θ) = x·logit p with
//! logit p = ln p − ln(1 − p), and the host-coupled term h(x, t) = −ln (t − x)!, which depends on
//! θ only through t (usually one fixed value: `--grid trials=20`). The kernel is linear in x: the
//! device sums (x − x̄)·logit p and the host adds n·x̄·logit p ([`Shift::Linear`]), which keeps the
//! f32 partial sums small. The support depends on t: samples with x > t are counted outside on
//! the device (`outside4`), against the bound t + ½ − x̄ on the shifted sample (half-way between
//! integers, so f32 rounding cannot move a sample across it).
//!
//! Relative to the data's mean s (the linear shift), for each t > s: with p₀ = s/t the
//! reference, c₀ = logit p − logit p₀, a(θ; s) = t·ln((1 − p)/(1 − p₀)), b = 0, and
//! h(x, t; s) = ln b(x; t, p₀), the log-pmf at the reference in Loader's form
//! (stirlerr(t) − stirlerr(x) − stirlerr(t − x) − bd0(x, s) − bd0(t − x, t − s) +
//! ½·ln(t/(2πx(t − x))), no cancelling terms). The textbook split is a difference of terms of
//! order t·ln t, 3·10¹⁶ at t = 10¹⁵, where f64 keeps nothing of a log-likelihood of order 10;
//! this one leaves only O(1) terms per sample near the optimum. For t ≤ s (every such grid
//! point has samples above t) a = ln t! + t·ln(1 − p), h = −ln x! − ln (t − x)!.

use super::discrete::{per_param_value, summed_entropy, value_counts};
use super::KernelFloat;
use super::{
    Blocked, CoupledKernel, Domain, Family, Kernel, ParamSpec, ScaledKernel, Scaling, Shift,
    SuffStatsSpec,
};
use crate::error::{Error, Result};
use crate::model::grid::Grid;
use crate::numeric::{bd0, ln_factorial, stirlerr, Neumaier};
use rand::rngs::StdRng;
use rand_distr::Distribution;

/// The binomial family `binomial(trials, p)`.
pub struct Binomial;

/// k(x, θ) = x·c₀ with c₀ = logit p; outside when x > c₁ = t + ½ (x and c₁ both shifted).
pub struct BinomialKernel;

impl Kernel for BinomialKernel {
    const NF: usize = 1;
    const NC: usize = 2;
    const THETA_SUPPORT: bool = true;
    #[inline(always)]
    fn k<T: KernelFloat>(f: &[T], c: &[T]) -> T {
        ScaledKernel::k(f, c)
    }
    #[inline(always)]
    fn outside<T: KernelFloat>(f: &[T], c: &[T]) -> bool {
        f[0] > c[1]
    }
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "trials",
        domain: Domain::PositiveInteger,
    },
    ParamSpec {
        name: "p",
        domain: Domain::OpenUnit,
    },
];

impl Family for Binomial {
    fn name(&self) -> &'static str {
        "binomial"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "integers 0, 1, ..., trials"
    }
    fn integer_data(&self) -> bool {
        true
    }

    /// ln C(t, x) + x ln p + (t − x) ln(1 − p), with ln C(t, x) = lnΓ(t+1) − lnΓ(x+1) −
    /// lnΓ(t−x+1) and ln(1 − p) = ln_1p(−p); −∞ unless x ∈ {0, …, t}.
    /// Beyond 1000 trials, in Loader's form ([`loader`]), without the cancellation of terms of
    /// order t·ln t.
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        let (n, p) = (t[0], t[1]);
        if !(x >= 0.0 && x <= n) || x.fract() != 0.0 {
            return f64::NEG_INFINITY;
        }
        // t·p and t·(1 − p) with their rounding errors (exact products and sums), which
        // Loader's form otherwise multiplies by (x − tp)/(tp): 5·10⁻¹⁰ at t = 10¹⁵.
        let m = n * p;
        let dm = n.mul_add(p, -m);
        let rest = n - m;
        if n > 1000.0 && m > 0.0 && rest > 0.0 {
            let dr = ((n - rest) - m) - dm;
            return loader(x, n, m, rest) + dm * (x - m) / m + dr * ((n - x) - rest) / rest;
        }
        let ln_choose = ln_factorial(n) - ln_factorial(x) - ln_factorial(n - x);
        // 0·ln p is 0 (x = 0), and (t − x)·ln(1 − p) is 0 at x = t.
        let succ = if x > 0.0 { x * p.ln() } else { 0.0 };
        let fail = if n > x { (n - x) * (-p).ln_1p() } else { 0.0 };
        ln_choose + succ + fail
    }

    /// In p (trials is an integer, not differentiated): ∂p = x/p − (t − x)/(1 − p),
    /// ∂pp = −x/p² − (t − x)/(1 − p)².
    fn ln_pdf_derivatives(&self, x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        let (n, p) = (t[0], t[1]);
        let q = 1.0 - p;
        g[0] = 0.0;
        g[1] = x / p - (n - x) / q;
        h[..3].fill(0.0);
        h[3] = -x / (p * p) - (n - x) / (q * q);
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x >= 0.0 && x.is_finite() && x.fract() == 0.0
    }

    /// a = ln t! + t·ln(1 − p).
    fn log_norm(&self, t: &[f64]) -> f64 {
        let (n, p) = (t[0], t[1]);
        ln_factorial(n) + n * (-p).ln_1p()
    }

    /// b = −ln x!.
    fn data_term(&self, x: f64) -> f64 {
        -ln_factorial(x)
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<BinomialKernel>::NEW
    }

    /// c₀ = logit p = ln p − ln(1 − p) (for 0 < s < t, logit p − logit p₀, p₀ = s/t), c₁ = t + ½ −
    /// shift (the support bound on the shifted sample).
    fn kernel_consts(&self, t: &[f64], shift: f64, out: &mut [f64]) {
        let p = t[1];
        out[0] = match reference(t[0], shift) {
            Some(p0) => ((p - p0) / p0).ln_1p() - ((p0 - p) / (1.0 - p0)).ln_1p(),
            None => p.ln() - (-p).ln_1p(),
        };
        out[1] = t[0] + 0.5 - shift;
    }

    /// a(θ; s) = t·ln((1 − p)/(1 − p₀)) for 0 < s < t, else [`Family::log_norm`].
    fn log_norm_at(&self, t: &[f64], shift: f64) -> f64 {
        match reference(t[0], shift) {
            Some(p0) => t[0] * ((p0 - t[1]) / (1.0 - p0)).ln_1p(),
            None => self.log_norm(t),
        }
    }

    /// b = 0 for s > 0 (the x-only terms are in h, with those of t), else −ln x!.
    fn data_term_at(&self, x: f64, shift: f64) -> f64 {
        if shift > 0.0 {
            0.0
        } else {
            self.data_term(x)
        }
    }

    /// h(x, t; s) = ln b(x; t, s/t) for 0 < s < t; −ln x! − ln (t − x)! for t ≤ s; at s ≤ 0,
    /// [`Family::host_coupled_sums`].
    fn host_coupled_sums_at(&self, grid: &Grid, xs: &[f64], shift: f64) -> Option<Vec<f64>> {
        if shift <= 0.0 {
            return self.host_coupled_sums(grid, xs);
        }
        let counts = value_counts(xs);
        Some(per_param_value(grid, 0, |n| {
            let mut s = Neumaier::default();
            for &(v, c) in counts.iter().take_while(|(v, _)| *v <= n) {
                let h = match reference(n, shift) {
                    // t − s with its rounding error (first order, as in `ln_pdf`).
                    Some(_) => {
                        let rest = n - shift;
                        let dr = (n - rest) - shift;
                        loader(v, n, shift, rest) + dr * ((n - v) - rest) / rest
                    }
                    None => -ln_factorial(v) - ln_factorial(n - v),
                };
                s.add(c as f64 * h);
            }
            s.value()
        }))
    }

    /// Scaling: k = c₀·f₀ is linear; c₁, the support bound on the shifted feature, scales like the feature.
    fn scaling(&self) -> Option<Scaling> {
        Some(&[&[1], &[-1]])
    }

    fn shift(&self) -> Shift {
        Shift::Linear
    }

    /// Σᵢ −ln (t − xᵢ)! over the samples with 0 ≤ xᵢ ≤ t, once per distinct t:
    /// Σ_v −count_v·ln (t − v)! over the distinct data values v.
    fn has_host_terms(&self) -> bool {
        true
    }

    fn host_coupled_sums(&self, grid: &Grid, xs: &[f64]) -> Option<Vec<f64>> {
        let counts = value_counts(xs);
        Some(per_param_value(grid, 0, |n| {
            let mut s = Neumaier::default();
            for &(v, c) in counts.iter().take_while(|(v, _)| *v <= n) {
                s.add(-(c as f64) * ln_factorial(n - v));
            }
            s.value()
        }))
    }

    /// Sufficient statistic T = Σ x (centred); samples above `trials` counted per distinct t.
    fn suffstats(&self) -> Option<SuffStatsSpec> {
        Some(SuffStatsSpec {
            outside: Some(|grid, xs| {
                let counts = value_counts(xs);
                let total: u64 = counts.iter().map(|(_, c)| c).sum();
                per_param_value(grid, 0, |t| {
                    let inside: u64 = counts
                        .iter()
                        .take_while(|(v, _)| *v <= t)
                        .map(|(_, c)| c)
                        .sum();
                    (total - inside) as f64
                })
                .into_iter()
                .map(|v| v as u64)
                .collect()
            }),
            ..SuffStatsSpec::linear::<BinomialKernel>()
        })
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../../shaders/family/binomial.wgsl")
    }

    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        self.validate(t)?;
        let d = rand_distr::Binomial::new(t[0] as u64, t[1])
            .map_err(|e| Error::input(format!("binomial: {e}")))?;
        for o in out {
            *o = d.sample(rng) as f64;
        }
        Ok(())
    }

    /// p̂ = x̄ / t when the grid holds `trials` = t fixed; `None` otherwise, when a sample lies
    /// outside {0, …, t}, or when p̂ ∉ (0, 1).
    fn mle(&self, xs: &[f64], fixed: &[Option<f64>]) -> Option<Vec<f64>> {
        let n = fixed.first().copied().flatten()?;
        if xs.iter().any(|&x| !(x >= 0.0 && x <= n)) {
            return None;
        }
        let (mean, _) = crate::model::moments::mean_var(xs)?;
        let p = mean / n;
        (p > 0.0 && p < 1.0).then(|| vec![n, p])
    }

    /// p̂ = x̄/t for the fixed number of trials t.
    fn mle_streamed(
        &self,
        m: &crate::model::moments::Moments,
        fixed: &[Option<f64>],
    ) -> super::StreamedMle {
        let Some(t) = fixed.first().copied().flatten() else {
            return Ok(None);
        };
        let p = m.mean / t;
        let ok = m.n > 0 && m.min >= 0.0 && m.max <= t;
        Ok((ok && p > 0.0 && p < 1.0).then(|| vec![t, p]))
    }

    /// H = −Σₓ p(x) ln p(x) over {0, …, t}, summed outwards from the mode until the terms fall
    /// below 1e-20 (see [`summed_entropy`]).
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        if t[0] * t[1] * (1.0 - t[1]) >= super::large_entropy::THRESHOLD {
            // Bounded time: the asymptotic series instead of ~20σ terms.
            return Some(super::large_entropy::binomial(t[0], t[1]));
        }
        let mode = ((t[0] + 1.0) * t[1]).floor().min(t[0]);
        summed_entropy(|x| self.ln_pdf(x, t), mode, Some(t[0]))
    }

    /// Same trials t: D_KL = t·(p·ln(p/q) + (1 − p)·ln((1 − p)/(1 − q))); +∞ when P has more
    /// trials than Q (mass above Q's support); `None` when Q has more trials (no closed form).
    fn kl_exact(&self, p: &[f64], q: &[f64]) -> Option<f64> {
        if p[0] == q[0] {
            Some(p[0] * super::kl_bernoulli(p[1], q[1]))
        } else if p[0] > q[0] {
            Some(f64::INFINITY)
        } else {
            None
        }
    }
}

/// The reference success probability p₀ = s/t of the split relative to the data's mean s, where
/// 0 < s < t.
fn reference(trials: f64, shift: f64) -> Option<f64> {
    (shift > 0.0 && shift < trials).then(|| shift / trials)
}

/// ln b(x; t, p) for x ∈ {0, …, t} in Loader's form, from the means m = t·p and t − m = t·(1 − p)
/// given separately (so that neither loses digits): stirlerr(t) − stirlerr(x) − stirlerr(t − x)
/// − bd0(x, m) − bd0(t − x, t − m) + ½·ln(t/(2πx(t − x))); at x = 0, t·ln(1 − p) =
/// −bd0(t, t − m) − m; at x = t, t·ln p = −bd0(t, m) − (t − m).
fn loader(x: f64, t: f64, m: f64, rest: f64) -> f64 {
    if x == 0.0 {
        return -bd0(t, rest) - m;
    }
    if x == t {
        return -bd0(t, m) - rest;
    }
    let y = t - x;
    stirlerr(t) - stirlerr(x) - stirlerr(y) - bd0(x, m) - bd0(y, rest)
        + 0.5 * (t / (std::f64::consts::TAU * x * y)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::families::testing::golden_max;
    use crate::model::grid::AxisSpec;
    use rand::SeedableRng;

    const F: Binomial = Binomial;

    #[test]
    fn pmf_sums_to_one_over_the_support_and_is_zero_outside() {
        for (n, p) in [(1.0, 0.3), (12.0, 0.35), (20.0, 0.01), (200.0, 0.93)] {
            let s: f64 = (0..=n as u64)
                .map(|x| F.ln_pdf(x as f64, &[n, p]).exp())
                .sum();
            assert!((s - 1.0).abs() < 1e-12, "t={n} p={p}: {s}");
            assert_eq!(F.ln_pdf(n + 1.0, &[n, p]), f64::NEG_INFINITY);
            assert_eq!(F.ln_pdf(-1.0, &[n, p]), f64::NEG_INFINITY);
            assert_eq!(F.ln_pdf(0.5, &[n, p]), f64::NEG_INFINITY);
        }
    }

    #[test]
    fn closed_form_mle_matches_numeric_maximisation() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut xs = vec![0.0; 5000];
        F.sample_into(&[20.0, 0.3], &mut rng, &mut xs).unwrap();
        let mle = F.mle(&xs, &[Some(20.0), None]).unwrap();
        let ll = |p: f64| F.ln_pdf_sum(&xs, &[20.0, p]).0;
        let best = golden_max(ll, 1e-6, 1.0 - 1e-6);
        assert!((mle[1] - best).abs() < 1e-6, "{mle:?} vs {best}");
        assert_eq!(F.mle(&xs, &[None, None]), None);
        assert_eq!(F.mle(&[0.0, 0.0], &[Some(5.0), None]), None);
        assert_eq!(F.mle(&[1.0, 6.0], &[Some(5.0), None]), None);
    }

    #[test]
    fn sampler_mean_and_variance_match() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut xs = vec![0.0; 200_000];
        F.sample_into(&[20.0, 0.3], &mut rng, &mut xs).unwrap();
        let (m, v) = crate::model::moments::mean_var(&xs).unwrap();
        // sd of the mean: √(4.2 / 2e5) ≈ 0.0046.
        assert!((m - 6.0).abs() < 0.025, "{m}");
        assert!((v - 4.2).abs() < 0.1, "{v}");
        assert!(xs
            .iter()
            .all(|&x| (0.0..=20.0).contains(&x) && x.fract() == 0.0));
    }

    #[test]
    fn entropy_matches_explicit_sum() {
        for (n, p) in [(1.0, 0.3), (12.0, 0.35), (500.0, 0.02)] {
            let direct: f64 = (0..=n as u64)
                .map(|x| {
                    let lp = F.ln_pdf(x as f64, &[n, p]);
                    -lp.exp() * lp
                })
                .sum();
            let h = F.entropy(&[n, p]).unwrap();
            assert!((h - direct).abs() < 1e-12, "{h} vs {direct}");
        }
        // t = 1: Bernoulli entropy.
        let h = F.entropy(&[1.0, 0.3]).unwrap();
        assert!((h - (-(0.3f64 * 0.3f64.ln()) - 0.7 * 0.7f64.ln())).abs() < 1e-15);
    }

    #[test]
    fn host_coupled_sums_are_per_trials_value_and_skip_samples_above_trials() {
        let xs = [0.0, 3.0, 3.0, 7.0, 12.0];
        // trials on the slow axis, then on the fast one.
        for specs in [
            ["trials=5,12", "p=0.1:0.9:3"],
            ["p=0.1:0.9:3", "trials=5,12"],
        ] {
            let grid = Grid::new(
                &F,
                specs.iter().map(|s| AxisSpec::parse(s).unwrap()).collect(),
            )
            .unwrap();
            let h = F.host_coupled_sums(&grid, &xs).unwrap();
            assert_eq!(h.len(), 6);
            for (p, &hp) in h.iter().enumerate() {
                let n = grid.theta(p)[0];
                let want: f64 = xs
                    .iter()
                    .filter(|&&x| x <= n)
                    .map(|&x| -ln_factorial(n - x))
                    .sum();
                assert!((hp - want).abs() < 1e-12, "point {p}: {hp} vs {want}");
            }
        }
    }

    #[test]
    fn value_counts_histogram_includes_large_values_and_skips_invalid_ones() {
        let xs = [3.0, 1e6, 3.0, 0.0, -1.0, 2.5, 1e6, 5000.0];
        assert_eq!(
            value_counts(&xs),
            vec![(0.0, 1), (3.0, 2), (5000.0, 1), (1e6, 2)]
        );
    }
}
