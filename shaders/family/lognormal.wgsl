// Log-normal family: k(x, θ) = −(ln x − μ)²·h, from the feature f0 = ln x − shift, with
// c0 = μ − shift and c1 = h = 1/(2σ²). Lanes are four grid points.
fn k4(f0: f32, c0: vec4<f32>, c1: vec4<f32>) -> vec4<f32> {
    let d = vec4<f32>(f0) - c0;
    return -(d * d) * c1;
}
