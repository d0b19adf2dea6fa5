// Student t family: with z = (x − μ)/σ on the shifted sample f0 = x − shift, q = z² and
// t = q/ν, from c0 = μ − shift, c1 = 1/σ, c2 = (ν + 1)/2, c3 = 1/ν, c4 = 1 for ν ≥ 1000 (else 0):
// k = −(ν + 1)/2 · ln(1 + t), or where c4 = 1 (the host adds the normal part −q/2 in f64)
// r = −(ν + 1)/2 · (ln(1 + t) − t) − q/(2ν). Lanes are four grid points.
fn k4(f0: f32, c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32>, c4: vec4<f32>) -> vec4<f32> {
    let z = (vec4<f32>(f0) - c0) * c1;
    let q = z * z;
    let t = q * c3;
    let large_nu = -c2 * log1pmx4(t) - 0.5 * q * c3;
    let plain = -c2 * log1p4(t);
    return select(plain, large_nu, c4 > vec4<f32>(0.5));
}
