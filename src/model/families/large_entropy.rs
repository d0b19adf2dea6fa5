//! Entropy of the count families (poisson, binomial, negative binomial) when their variance is
//! large, in bounded time: the asymptotic series of H = E[−ln p(X)] about the mean, instead of a
//! sum over the support with ~20σ terms (10¹⁵ of them for `poisson(rate=1e15)`).
//!
//! Method. ln p(k) is written in Loader's saddle-point form, which has no large cancelling
//! terms — e.g. for the Poisson
//!
//! ```text
//! −ln p(k) = stirlerr(k) + bd0(k, λ) + ½ ln(2πk),
//! stirlerr(x) = ln Γ(x+1) − (x+½) ln x + x − ½ ln 2π = Σᵢ B₂ᵢ / (2i(2i−1) x²ⁱ⁻¹),
//! bd0(x, M) = x ln(x/M) + M − x = M·φ((x − M)/M),  φ(t) = (1+t) ln(1+t) − t = Σⱼ≥₂ (−t)ʲ/(j(j−1)),
//! ```
//!
//! and similarly for the binomial (Loader's `dbinom_raw`) and the negative binomial
//! (r/(r+k)·`dbinom_raw(r; r+k, p)`). Each piece is a function of the standardised variable
//! z = (k − mean)/σ; it is expanded as a truncated power series in z ([`J`] terms, computed in
//! f64 with series arithmetic), and E[zʲ] are the standardised central moments from the
//! family's cumulants: H = Σⱼ cⱼ·E[zʲ]. Term j is of order T^(1−j/2) for the concentration
//! T (λ; np(1−p); rq), so beyond [`THRESHOLD`] the truncation error is below 10⁻¹⁶ relative.
//! The lattice sum and the moment expansion agree to all orders (Euler–Maclaurin: the lattice
//! correction of a smooth pmf of width σ is O(e^(−2π²σ²))). Checked against mpmath at 40
//! digits in `tests/hostile_inputs.rs` (`tests/data/gen_entropy_reference.py`).

use crate::numeric::STIRLING;

/// Concentration (λ, np(1−p) or rq) from which the series is used instead of the sum.
pub(super) const THRESHOLD: f64 = 1000.0;

/// Order of the power series in z.
const J: usize = 20;

/// A power series in z truncated after zᴶ.
#[derive(Clone, Copy)]
struct Series([f64; J + 1]);

impl Series {
    fn constant(c: f64) -> Series {
        let mut s = [0.0; J + 1];
        s[0] = c;
        Series(s)
    }

    fn add(mut self, o: &Series) -> Series {
        for (a, b) in self.0.iter_mut().zip(&o.0) {
            *a += b;
        }
        self
    }

    fn scale(mut self, c: f64) -> Series {
        self.0.iter_mut().for_each(|a| *a *= c);
        self
    }

    fn mul(&self, o: &Series) -> Series {
        let mut r = [0.0; J + 1];
        for (i, &a) in self.0.iter().enumerate() {
            if a != 0.0 {
                for (j, &b) in o.0[..=J - i].iter().enumerate() {
                    r[i + j] += a * b;
                }
            }
        }
        Series(r)
    }

    /// ln(1 + u·z) = Σⱼ≥₁ (−1)ʲ⁺¹ uʲ zʲ / j.
    fn ln1p_linear(u: f64) -> Series {
        let mut s = [0.0; J + 1];
        let mut p = 1.0;
        for (j, c) in s.iter_mut().enumerate().skip(1) {
            p *= u;
            *c = if j % 2 == 1 { p } else { -p } / j as f64;
        }
        Series(s)
    }

    /// (1 + u·z)^(−s) = Σⱼ C(−s, j) uʲ zʲ.
    fn pow_linear(u: f64, s: f64) -> Series {
        let mut r = [0.0; J + 1];
        r[0] = 1.0;
        for j in 1..=J {
            r[j] = r[j - 1] * (-s - (j - 1) as f64) / j as f64 * u;
        }
        Series(r)
    }

    /// Σⱼ cⱼ·mⱼ: the expectation, given mⱼ = E[zʲ].
    fn expect(&self, moments: &[f64; J + 1]) -> f64 {
        self.0.iter().zip(moments).map(|(c, m)| c * m).sum()
    }
}

/// stirlerr(x₀(1 + u·z)) as a series in z (Stirling's series; x₀ ≥ [`THRESHOLD`]).
fn stirlerr(x0: f64, u: f64) -> Series {
    let mut acc = Series::constant(0.0);
    for (i, &b) in STIRLING.iter().enumerate() {
        let s = (2 * i + 1) as f64;
        acc = acc.add(&Series::pow_linear(u, s).scale(b * x0.powf(-s)));
    }
    acc
}

/// stirlerr(x) for a constant x ≥ [`THRESHOLD`].
fn stirlerr_at(x: f64) -> f64 {
    stirlerr(x, 0.0).0[0]
}

/// bd0(x, M) = M·φ((x − M)/M) as a series in z, for M = M₀(1 + b·z) and x − M = e·z.
fn bd0(m0: f64, b: f64, e: f64) -> Series {
    // t = (e/M₀)·z / (1 + b·z).
    let mut lin = Series::constant(0.0);
    lin.0[1] = e / m0;
    let t = lin.mul(&Series::pow_linear(b, 1.0));
    // φ(t) = Σⱼ≥₂ (−1)ʲ tʲ / (j(j−1)); t has no constant term, so tʲ starts at zʲ.
    let mut phi = Series::constant(0.0);
    let mut tj = t;
    for j in 2..=J {
        tj = tj.mul(&t);
        let c = if j % 2 == 0 { 1.0 } else { -1.0 } / (j * (j - 1)) as f64;
        phi = phi.add(&tj.scale(c));
    }
    let mut m = Series::constant(m0);
    m.0[1] = m0 * b;
    m.mul(&phi)
}

/// E[zʲ], j = 0…J, from the standardised cumulants kⱼ = κⱼ/σʲ (k₂ = 1; k₁ = 0 is implied):
/// mₙ = Σₖ₌₂ⁿ C(n−1, k−1)·kₖ·mₙ₋ₖ.
fn moments(k: &[f64; J + 1]) -> [f64; J + 1] {
    let mut m = [0.0; J + 1];
    m[0] = 1.0;
    for n in 2..=J {
        let mut c = 1.0; // C(n−1, k−1), starting at k = 1
        let mut s = 0.0;
        for kk in 2..=n {
            c = c * (n - kk + 1) as f64 / (kk - 1) as f64;
            s += c * k[kk] * m[n - kk];
        }
        m[n] = s;
    }
    m
}

/// Polynomial (coefficients in increasing powers) evaluated at x.
fn poly(c: &[f64], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |a, &b| a * x + b)
}

/// Derivative of a polynomial.
fn deriv(c: &[f64]) -> Vec<f64> {
    c.iter()
        .enumerate()
        .skip(1)
        .map(|(i, &a)| i as f64 * a)
        .collect()
}

/// Product of two polynomials.
fn pmul(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut r = vec![0.0; a.len() + b.len() - 1];
    for (i, &x) in a.iter().enumerate() {
        for (j, &y) in b.iter().enumerate() {
            r[i + j] += x * y;
        }
    }
    r
}

/// H(Poisson(λ)) for λ ≥ [`THRESHOLD`]: κⱼ = λ.
pub(super) fn poisson(lambda: f64) -> f64 {
    let sd = lambda.sqrt();
    let u = sd / lambda;
    let mut k = [0.0; J + 1];
    for (j, kj) in k.iter_mut().enumerate().skip(2) {
        *kj = lambda * sd.powi(-(j as i32));
    }
    let m = moments(&k);
    let series = stirlerr(lambda, u)
        .add(&bd0(lambda, 0.0, sd))
        .add(&Series::ln1p_linear(u).scale(0.5));
    0.5 * (2.0 * std::f64::consts::PI * lambda).ln() + series.expect(&m)
}

/// H(Binomial(n, p)) for n·p(1−p) ≥ [`THRESHOLD`]: κⱼ = n·cⱼ(p), cⱼ₊₁ = p(1−p)·cⱼ′.
pub(super) fn binomial(n: f64, p: f64) -> f64 {
    // H is symmetric in p ↔ 1 − p; p ≤ ½ keeps the cumulant polynomials well conditioned.
    let p = p.min(1.0 - p);
    let q = 1.0 - p;
    let (np, nq) = (n * p, n * q);
    let sd = (np * q).sqrt();
    let mut k = [0.0; J + 1];
    let mut c = vec![0.0, 1.0]; // c₁ = p
    for (j, kj) in k.iter_mut().enumerate().skip(2) {
        c = pmul(&deriv(&c), &[0.0, 1.0, -1.0]);
        *kj = n * poly(&c, p) / sd.powi(j as i32);
    }
    let m = moments(&k);
    let (u, w) = (sd / np, -sd / nq);
    let series = stirlerr(np, u)
        .add(&stirlerr(nq, w))
        .add(&bd0(np, 0.0, sd))
        .add(&bd0(nq, 0.0, -sd))
        .add(&Series::ln1p_linear(u).scale(0.5))
        .add(&Series::ln1p_linear(w).scale(0.5));
    0.5 * (2.0 * std::f64::consts::PI * np * q).ln() - stirlerr_at(n) + series.expect(&m)
}

/// H(NegativeBinomial(r, p)) (failures before the r-th success) for r(1−p) ≥ [`THRESHOLD`]:
/// κⱼ = r·Pⱼ(q)/pʲ with P₁ = q, Pⱼ₊₁ = q·(Pⱼ′·(1 − q) + j·Pⱼ) (Eulerian polynomials).
pub(super) fn negative_binomial(r: f64, p: f64) -> f64 {
    let q = 1.0 - p;
    let mean = r * q / p;
    let sd = (r * q).sqrt() / p;
    let mut k = [0.0; J + 1];
    let mut pj = vec![0.0, 1.0]; // P₁ = q
    for j in 1..J {
        let next = pmul(&deriv(&pj), &[1.0, -1.0])
            .into_iter()
            .chain(std::iter::repeat(0.0))
            .zip(pj.iter().chain(std::iter::repeat(&0.0)))
            .take(pj.len())
            .map(|(a, &b)| a + j as f64 * b)
            .collect::<Vec<_>>();
        pj = pmul(&next, &[0.0, 1.0]);
        let jj = j + 1;
        k[jj] = r * poly(&pj, q) / (p.powi(jj as i32) * sd.powi(jj as i32));
    }
    let m = moments(&k);
    // r + k = r/p + σz; (r + k)·p = r + pσz; (r + k)·q = mean + qσz.
    let total = r / p;
    let series = stirlerr(total, sd / total)
        .scale(-1.0)
        .add(&stirlerr(mean, sd / mean))
        .add(&bd0(r, p * sd / r, -p * sd))
        .add(&bd0(mean, q * sd / mean, p * sd))
        .add(&Series::ln1p_linear(sd / total).scale(0.5))
        .add(&Series::ln1p_linear(sd / mean).scale(0.5));
    // −ln p(k) = ½ ln(r+k) − ln r + ½ ln(2πr) + ½ ln k − stirlerr(r+k) + stirlerr(r)
    //            + stirlerr(k) + bd0(r, (r+k)p) + bd0(k, (r+k)q).
    0.5 * (2.0 * std::f64::consts::PI * mean / p).ln() + stirlerr_at(r) + series.expect(&m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_of_a_standard_normal_come_from_k2_alone() {
        let mut k = [0.0; J + 1];
        k[2] = 1.0;
        let m = moments(&k);
        assert_eq!((m[1], m[2], m[3], m[4], m[6]), (0.0, 1.0, 0.0, 3.0, 15.0));
    }

    #[test]
    fn negative_binomial_cumulants_follow_the_eulerian_polynomials() {
        // κ₂ = rq/p², κ₃ = rq(1+q)/p³, κ₄ = rq(1+4q+q²)/p⁴: check P₃, P₄ through the recursion.
        let mut pj = vec![0.0, 1.0];
        let mut all = vec![pj.clone()];
        for j in 1..4 {
            let next = pmul(&deriv(&pj), &[1.0, -1.0])
                .into_iter()
                .chain(std::iter::repeat(0.0))
                .zip(pj.iter().chain(std::iter::repeat(&0.0)))
                .take(pj.len())
                .map(|(a, &b)| a + j as f64 * b)
                .collect::<Vec<_>>();
            pj = pmul(&next, &[0.0, 1.0]);
            all.push(pj.clone());
        }
        let q = 0.3;
        assert!((poly(&all[1], q) - q).abs() < 1e-15);
        assert!((poly(&all[2], q) - q * (1.0 + q)).abs() < 1e-15);
        assert!((poly(&all[3], q) - q * (1.0 + 4.0 * q + q * q)).abs() < 1e-15);
    }
}
