// Bernoulli family: k(x, θ) = x·logit p, with c0 = logit p = ln p − ln(1 − p). The host sends
// x − x̄ and adds n·x̄·logit p in f64 (linear centring). Lanes are four grid points.
fn k4(x: f32, c0: vec4<f32>) -> vec4<f32> {
    return c0 * x;
}
