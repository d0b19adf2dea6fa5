// Binomial family: k(x, θ) = (x − m)·logit p, with c0 = logit p = ln p − ln(1 − p), c1 = m (the
// centre, exact in f32; m·logit p is added on the host) and c2 = trials t.
// The support {0, …, t} depends on θ: outside4 is 1.0 in the lanes where x > t.
// Lanes are four grid points; x is one sample (an integer, exact in f32 up to 2^24).
fn k4(x: f32, c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>) -> vec4<f32> {
    return (vec4<f32>(x) - c1) * c0;
}

fn outside4(x: f32, c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>) -> vec4<f32> {
    return select(vec4<f32>(0.0), vec4<f32>(1.0), vec4<f32>(x) > c2);
}
