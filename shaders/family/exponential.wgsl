// Exponential family: k(x, θ) = −λx, with c0 = λ. Lanes are four grid points.
fn k4(x: f32, c0: vec4<f32>) -> vec4<f32> {
    return -c0 * x;
}
