// Laplace family: k(x, θ) = −|x − μ|/b, on the shifted sample f0 = x − shift, with
// c0 = μ − shift and c1 = 1/b. Lanes are four grid points.
fn k4(f0: f32, c0: vec4<f32>, c1: vec4<f32>) -> vec4<f32> {
    return -abs(vec4<f32>(f0) - c0) * c1;
}
