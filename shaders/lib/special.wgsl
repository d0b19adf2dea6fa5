// Special functions for generated user-model kernels (WGSL has no log1p, expm1, lgamma, erf,
// erfc, and its tanh is only as accurate as exp). Each works on vec4<f32> (four grid points) and
// has an f32 twin in src/expr/special.rs with the same algorithm, tested against f64 (libm) on
// a dense sweep, on the CPU and through a test shader on the device. Accuracy measured on
// lavapipe (README, section "Your own model"):
//   sp_log1p4, sp_tanh4: a few 1e-7 relative; sp_expm14: a few 1e-7 relative for |z| < 0.5,
//     (4 + 1.3·|z|)·1e-7 beyond, where it is WGSL's exp (specified to 3 + 2|z| ULP);
//   sp_erf4: a few 1e-7 absolute, relative for |x| < 0.5;
//   sp_erfc4: relative (1 + x²)·2e-7 for x ≥ 0 (the tail, where relative accuracy matters);
//   sp_lgamma4: absolute 2.5e-6 (1.7e-6 measured near x = 1.93) + relative 1e-6 (x > 0;
//     x ≤ 0 by reflection).

// ln(1 + z): the family kernels' log1p4 of shaders/lib/math.wgsl, which every sweep shader
// includes (for −0.5 < z < 1, 2·atanh(w) with w = z/(2 + z), |w| < 1/3, by its odd series, 8
// terms, truncation < 1e-9; elsewhere log(1 + z), where 1 + z carries no cancellation).
fn sp_log1p4(z: vec4<f32>) -> vec4<f32> {
    return log1p4(z);
}

// e^z − 1: for |z| < 0.5 its Taylor series to z¹⁰ (truncation < 3e-10 relative); elsewhere
// exp(z) − 1, where the subtraction loses no digits.
fn sp_expm14(z: vec4<f32>) -> vec4<f32> {
    var p = vec4<f32>(1.0 / 3628800.0);
    p = p * z + 1.0 / 362880.0;
    p = p * z + 1.0 / 40320.0;
    p = p * z + 1.0 / 5040.0;
    p = p * z + 1.0 / 720.0;
    p = p * z + 1.0 / 120.0;
    p = p * z + 1.0 / 24.0;
    p = p * z + 1.0 / 6.0;
    p = p * z + 0.5;
    p = p * z + 1.0;
    let series = z * p;
    return select(exp(z) - 1.0, series, abs(z) < vec4<f32>(0.5));
}

// tanh(x) = sign(x)·m/(m + 2), m = expm1(2|x|); 1 beyond |x| = 9.
fn sp_tanh4(x: vec4<f32>) -> vec4<f32> {
    let a = min(abs(x), vec4<f32>(9.0));
    let m = sp_expm14(2.0 * a);
    return sign(x) * (m / (m + 2.0));
}

// ln Γ(x) for x > 0: shifted up to z ≥ 5 by Γ(x) = Γ(x + k)/(x(x+1)…(x+k−1)), then Stirling's
// series to z⁻⁷ (truncation < 2e-10).
fn sp_lgamma_pos4(x: vec4<f32>) -> vec4<f32> {
    var z = x;
    var prod = vec4<f32>(1.0);
    for (var i = 0; i < 5; i = i + 1) {
        let lo = z < vec4<f32>(5.0);
        prod = select(prod, prod * z, lo);
        z = select(z, z + 1.0, lo);
    }
    let r = 1.0 / z;
    let r2 = r * r;
    let corr = r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 * (1.0 / 1680.0))));
    return (z - 0.5) * log(z) - z + 0.9189385332 + corr - log(prod);
}

// ln |Γ(x)|; for x ≤ 0 by reflection, ln Γ(x) = ln(π / |sin πx|) − ln Γ(1 − x).
fn sp_lgamma4(x: vec4<f32>) -> vec4<f32> {
    let pos = sp_lgamma_pos4(select(1.0 - x, x, x > vec4<f32>(0.0)));
    let s = abs(sin(3.14159265358979 * (x - floor(x))));
    let refl = log(3.14159265358979 / s) - pos;
    return select(refl, pos, x > vec4<f32>(0.0));
}

// erfc(|x|) by the Chebyshev-fitted form t·exp(−x² + P(t)), t = 1/(1 + |x|/2) (fractional error
// < 1.2e-7 in exact arithmetic), with x² split as h² + (x − h)(x + h), h = ⌊16x⌋/16, so that
// the square carries no rounding.
fn sp_erfc_abs4(x: vec4<f32>) -> vec4<f32> {
    let z = abs(x);
    let t = 1.0 / (1.0 + 0.5 * z);
    var p = vec4<f32>(0.17087277);
    p = p * t - 0.82215223;
    p = p * t + 1.48851587;
    p = p * t - 1.13520398;
    p = p * t + 0.27886807;
    p = p * t - 0.18628806;
    p = p * t + 0.09678418;
    p = p * t + 0.37409196;
    p = p * t + 1.00002368;
    p = p * t - 1.26551223;
    let h = floor(z * 16.0) / 16.0;
    return t * exp(-h * h) * exp(p - (z - h) * (z + h));
}

// erfc(x); 2 − erfc(|x|) for x < 0.
fn sp_erfc4(x: vec4<f32>) -> vec4<f32> {
    let e = sp_erfc_abs4(x);
    return select(e, 2.0 - e, x < vec4<f32>(0.0));
}

// erf(x): for |x| < 0.5 its Taylor series to x¹⁵ (truncation < 2e-10), else sign(x)·(1 − erfc|x|).
fn sp_erf4(x: vec4<f32>) -> vec4<f32> {
    let x2 = x * x;
    var p = vec4<f32>(-1.0 / 75600.0);
    p = p * x2 + 1.0 / 9360.0;
    p = p * x2 - 1.0 / 1320.0;
    p = p * x2 + 1.0 / 216.0;
    p = p * x2 - 1.0 / 42.0;
    p = p * x2 + 1.0 / 10.0;
    p = p * x2 - 1.0 / 3.0;
    p = p * x2 + 1.0;
    let series = 1.1283791671 * x * p;
    let far = sign(x) * (1.0 - sp_erfc_abs4(x));
    return select(far, series, abs(x) < vec4<f32>(0.5));
}
