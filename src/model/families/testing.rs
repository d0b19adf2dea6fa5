//! Numerical helpers for the families' unit tests.

/// ∫ₐᵇ f by composite Simpson with `n` (even) panels.
pub fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
    let h = (b - a) / n as f64;
    let mut s = f(a) + f(b);
    for i in 1..n {
        s += f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

/// Argmax of a unimodal f on [a, b] by golden-section search (200 steps).
pub fn golden_max(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..200 {
        if fc > fd {
            (b, d, fd) = (d, c, fc);
            c = b - g * (b - a);
            fc = f(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    0.5 * (a + b)
}

/// The differential entropy H = −∫ p ln p dx of `ln_pdf` by [`simpson`] over u ∈ [a, b] after a
/// change of variable x = x(u), dx = x′(u) du (`map` returns (x, x′)); points where p
/// underflows to 0 add 0.
pub fn entropy_integral(
    ln_pdf: impl Fn(f64) -> f64,
    map: impl Fn(f64) -> (f64, f64),
    a: f64,
    b: f64,
    n: usize,
) -> f64 {
    let f = |u: f64| {
        let (x, dx) = map(u);
        let lp = ln_pdf(x);
        let p = lp.exp();
        if p > 0.0 {
            -p * lp * dx
        } else {
            0.0
        }
    };
    simpson(f, a, b, n)
}

/// x = eᵘ, dx = eᵘ du: [`entropy_integral`] over the positive reals.
pub fn exp_map(u: f64) -> (f64, f64) {
    (u.exp(), u.exp())
}
