// Negative binomial family (failures before the r-th success): k(x, θ) = x·ln(1 − p), with
// c0 = ln(1 − p); lnΓ(x + r) is summed on the host once per distinct r. The host sends x − x̄ and
// adds n·x̄·ln(1 − p) in f64 (linear centring). Lanes are four grid points.
fn k4(x: f32, c0: vec4<f32>) -> vec4<f32> {
    return c0 * x;
}
