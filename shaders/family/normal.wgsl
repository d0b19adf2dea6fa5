// Normal family: k(x, θ) = −(x − μ)²·h, with c0 = μ − shift and c1 = h = 1/(2σ²).
// Lanes are four grid points; x is one (shifted) sample.
fn k4(x: f32, c0: vec4<f32>, c1: vec4<f32>) -> vec4<f32> {
    let d = vec4<f32>(x) - c0;
    return -(d * d) * c1;
}
