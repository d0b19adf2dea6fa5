//! Laplace (double-exponential) distribution with location μ and scale b.
//!
//! log Q(x | μ, b) = −ln(2b) − |x − μ|/b
//!
//! Split: a(θ) = −ln(2b), b(x) = 0, k(x, θ) = −|x − μ|·(1/b) on the shifted sample.

use super::KernelFloat;
use super::{Blocked, CoupledKernel, Domain, Family, Kernel, ParamSpec, Scaling, Shift};
use crate::error::Result;
use crate::numeric::Neumaier;
use rand::distr::Open01;
use rand::rngs::StdRng;
use rand::RngExt;

/// The Laplace family `laplace(mu, scale)`.
pub struct Laplace;

/// k(x, θ) = −|f₀ − c₀|·c₁ with c₀ = μ − c, c₁ = 1/b.
pub struct LaplaceKernel;

impl Kernel for LaplaceKernel {
    const NF: usize = 1;
    const NC: usize = 2;
    #[inline(always)]
    fn k<T: KernelFloat>(f: &[T], c: &[T]) -> T {
        -(f[0] - c[0]).abs() * c[1]
    }
}

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "mu",
        domain: Domain::Real,
    },
    ParamSpec {
        name: "scale",
        domain: Domain::Positive,
    },
];

/// The sample median (the midpoint of the two middle order statistics when n is even).
fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    let n = v.len();
    let (lo, &mut hi, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        hi
    } else {
        let below = lo.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (below + hi)
    }
}

impl Family for Laplace {
    fn name(&self) -> &'static str {
        "laplace"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn support(&self) -> &'static str {
        "all reals"
    }

    /// −ln(2b) − |x − μ|/b.
    fn ln_pdf(&self, x: f64, t: &[f64]) -> f64 {
        if !x.is_finite() {
            return f64::NEG_INFINITY;
        }
        -(2.0 * t[1]).ln() - (x - t[0]).abs() / t[1]
    }

    /// Location–scale with f(z) = −|z|: f′ = −sign z, f″ = 0 (the likelihood is not twice
    /// differentiable in μ, so its Hessian is singular in μ: no standard error for μ).
    fn ln_pdf_derivatives(&self, x: f64, t: &[f64], g: &mut [f64], h: &mut [f64]) -> bool {
        let z = (x - t[0]) / t[1];
        let sign = if z > 0.0 {
            1.0
        } else if z < 0.0 {
            -1.0
        } else {
            0.0
        };
        super::location_scale_derivatives(z, t[1], -sign, 0.0, (0, 1, 2), g, h);
        true
    }

    fn in_support(&self, x: f64) -> bool {
        x.is_finite()
    }

    /// a = −ln(2b).
    fn log_norm(&self, t: &[f64]) -> f64 {
        -(2.0 * t[1]).ln()
    }

    fn coupled(&self) -> &'static dyn CoupledKernel {
        &Blocked::<LaplaceKernel>::NEW
    }

    /// c₀ = μ − c, c₁ = 1/b.
    fn kernel_consts(&self, t: &[f64], shift: f64, out: &mut [f64]) {
        out[0] = t[0] - shift;
        out[1] = 1.0 / t[1];
    }

    /// Scaling: c₀ = μ − c like the feature, c₁ = 1/b like its inverse.
    fn scaling(&self) -> Option<Scaling> {
        Some(&[&[-1], &[1]])
    }

    fn shift(&self) -> Shift {
        Shift::Location
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../../shaders/family/laplace.wgsl")
    }

    /// Inverse CDF of u ~ U(0, 1) (open): x = μ + b·ln(2u) for u < ½, x = μ − b·ln(2(1 − u))
    /// otherwise (1 − u is exact for u ≥ ½).
    fn sample_into(&self, t: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()> {
        let (mu, b) = (t[0], t[1]);
        for o in out {
            let u: f64 = rng.sample(Open01);
            *o = if u < 0.5 {
                mu + b * (2.0 * u).ln()
            } else {
                mu - b * (2.0 * (1.0 - u)).ln()
            };
        }
        Ok(())
    }

    /// μ̂ = median, b̂ = mean |x − μ̂| (with μ or b held fixed, the other at its conditional
    /// maximum: μ̂ = median whatever b, b̂ = mean |x − μ|). `None` when b̂ = 0.
    fn mle(&self, xs: &[f64], fixed: &[Option<f64>]) -> Option<Vec<f64>> {
        if xs.is_empty() || !xs.iter().all(|x| x.is_finite()) {
            return None;
        }
        let mu = fixed[0].unwrap_or_else(|| median(xs));
        let b = fixed[1].unwrap_or_else(|| {
            let mut s = Neumaier::default();
            for &x in xs {
                s.add((x - mu).abs());
            }
            s.value() / xs.len() as f64
        });
        (b > 0.0).then(|| vec![mu, b])
    }

    /// μ̂ is the median: it needs the data themselves.
    fn mle_streamed(
        &self,
        _m: &crate::model::moments::Moments,
        _fixed: &[Option<f64>],
    ) -> super::StreamedMle {
        Err("the median (μ̂) needs all the data in memory")
    }

    /// H = 1 + ln(2b).
    fn entropy(&self, t: &[f64]) -> Option<f64> {
        Some(1.0 + (2.0 * t[1]).ln())
    }

    /// With d = |μ_p − μ_q|: D_KL = ln(b_q/b_p) + d/b_q + (b_p/b_q)·e^(−d/b_p) − 1.
    fn kl_exact(&self, p: &[f64], q: &[f64]) -> Option<f64> {
        let ((mp, bp), (mq, bq)) = ((p[0], p[1]), (q[0], q[1]));
        let d = (mp - mq).abs();
        Some((bq / bp).ln() + d / bq + (bp / bq) * (-d / bp).exp() - 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::families::testing::{golden_max, simpson};
    use rand::SeedableRng;

    #[test]
    fn entropy_matches_numeric_integral() {
        for t in [[0.3, 1.7], [-4.0, 0.2], [10.0, 5.0]] {
            // −∫ p ln p dx, split at the kink x = μ (Simpson needs a smooth integrand).
            let f = |x: f64| {
                let lp = Laplace.ln_pdf(x, &t);
                -lp.exp() * lp
            };
            let w = 60.0 * t[1];
            let h = simpson(f, t[0] - w, t[0], 200_000) + simpson(f, t[0], t[0] + w, 200_000);
            let e = Laplace.entropy(&t).unwrap();
            assert!((h - e).abs() < 1e-9, "{t:?}: numeric {h} formula {e}");
        }
    }

    #[test]
    fn mle_maximises_the_likelihood() {
        let t = [0.4, 0.8];
        for n in [2001, 2000] {
            let mut xs = vec![0.0; n];
            Laplace
                .sample_into(&t, &mut StdRng::seed_from_u64(3), &mut xs)
                .unwrap();
            let ll = |th: &[f64]| Laplace.ln_pdf_sum(&xs, th).0;
            let m = Laplace.mle(&xs, &[None, None]).unwrap();
            // Coordinate ascent by golden-section search (μ first: its optimum does not depend
            // on b).
            let mu = golden_max(|v| ll(&[v, 1.0]), -3.0, 3.0);
            let b = golden_max(|v| ll(&[mu, v]), 0.05, 5.0);
            assert!(ll(&m) >= ll(&[mu, b]) - 1e-9, "n={n}: {m:?} vs {mu}, {b}");
            if n % 2 == 1 {
                assert!((m[0] - mu).abs() < 1e-6 && (m[1] - b).abs() < 1e-6);
            }
            // μ held fixed: b̂ maximises over b alone.
            let m = Laplace.mle(&xs, &[Some(0.1), None]).unwrap();
            let b = golden_max(|v| ll(&[0.1, v]), 0.05, 5.0);
            assert!(m[0] == 0.1 && (m[1] - b).abs() < 1e-6, "{m:?} {b}");
        }
    }

    #[test]
    fn sampler_moments_match() {
        let t = [0.3, 1.5];
        let mut xs = vec![0.0; 400_000];
        Laplace
            .sample_into(&t, &mut StdRng::seed_from_u64(5), &mut xs)
            .unwrap();
        let (m, v) = crate::model::moments::mean_var(&xs).unwrap();
        let ev = 2.0 * t[1] * t[1];
        assert!((m - t[0]).abs() < 0.02, "mean {m} vs {}", t[0]);
        assert!((v - ev).abs() < 0.03 * ev, "var {v} vs {ev}");
    }
}
