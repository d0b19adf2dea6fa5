// Binomial family: k(x, θ) = x·logit p, with c0 = logit p = ln p − ln(1 − p) and c1 = t + ½ − x̄
// (the support bound on the shifted sample). The host sends x − x̄ and adds n·x̄·logit p in f64.
// The support {0, …, t} depends on θ: outside4 is 1.0 in the lanes where x > t.
// Lanes are four grid points.
fn k4(x: f32, c0: vec4<f32>, c1: vec4<f32>) -> vec4<f32> {
    return c0 * x;
}

fn outside4(x: f32, c0: vec4<f32>, c1: vec4<f32>) -> vec4<f32> {
    return select(vec4<f32>(0.0), vec4<f32>(1.0), vec4<f32>(x) > c1);
}
