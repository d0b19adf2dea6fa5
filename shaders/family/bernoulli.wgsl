// Bernoulli family: k(x, θ) = (x − m)·logit p, with c0 = logit p = ln p − ln(1 − p) and c1 = m
// (the centre, exact in f32; m·logit p is added on the host).
// Lanes are four grid points; x is one sample (0 or 1).
fn k4(x: f32, c0: vec4<f32>, c1: vec4<f32>) -> vec4<f32> {
    return (vec4<f32>(x) - c1) * c0;
}
