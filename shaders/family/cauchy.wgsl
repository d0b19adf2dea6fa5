// Cauchy family: k(x, θ) = −log1p(z²) with z = (x − μ)/s, on the shifted sample f0 = x − shift,
// with c0 = μ − shift and c1 = 1/s. Lanes are four grid points.
fn k4(f0: f32, c0: vec4<f32>, c1: vec4<f32>) -> vec4<f32> {
    let z = (vec4<f32>(f0) - c0) * c1;
    return -log1p4(z * z);
}
