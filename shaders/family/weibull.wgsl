// Weibull family: k(x, θ) = u − exp(u) with u = k·(ln x − ln λ), from the feature
// f0 = ln x − shift, with c0 = ln λ − shift and c1 = k. Lanes are four grid points.
fn k4(f0: f32, c0: vec4<f32>, c1: vec4<f32>) -> vec4<f32> {
    let u = c1 * (vec4<f32>(f0) - c0);
    return u - exp(u);
}
