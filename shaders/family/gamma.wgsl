// Gamma family, centred: k(x, θ) = (α − 1)·(ln x − m0) − β·(x − m1), from the features f0 = ln x
// and f1 = x, with c0 = α − 1, c1 = m0 ≈ E[ln x], c2 = β, c3 = m1 ≈ E[x] (the host adds the
// centres back in a(θ)). Lanes are four grid points.
fn k4(f0: f32, f1: f32, c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32>) -> vec4<f32> {
    return c0 * (vec4<f32>(f0) - c1) - c2 * (vec4<f32>(f1) - c3);
}
