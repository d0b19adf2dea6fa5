// Negative binomial family (failures before the r-th success): k(x, θ) = (x − m)·ln(1 − p), with
// c0 = ln(1 − p) and c1 = m (the centre, exact in f32; m·ln(1 − p) is added on the host);
// lnΓ(x + r) is summed on the host once per distinct r.
// Lanes are four grid points; x is one sample (an integer ≥ 0).
fn k4(x: f32, c0: vec4<f32>, c1: vec4<f32>) -> vec4<f32> {
    return (vec4<f32>(x) - c1) * c0;
}
