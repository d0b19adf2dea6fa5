// Logistic family: k(x, θ) = −|z| − 2·log1p(exp(−|z|)) with z = (x − μ)/s, on the shifted sample
// f0 = x − shift, with c0 = μ − shift and c1 = 1/s. Lanes are four grid points.
fn k4(f0: f32, c0: vec4<f32>, c1: vec4<f32>) -> vec4<f32> {
    let a = abs((vec4<f32>(f0) - c0) * c1);
    return -a - 2.0 * log1p_exp_neg4(a);
}
