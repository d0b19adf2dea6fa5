// Student t family: k(x, θ) = −(ν + 1)/2 · log1p(w²) with w = (x − μ)/(σ√ν), on the shifted
// sample f0 = x − shift, with c0 = μ − shift, c1 = 1/(σ√ν) and c2 = (ν + 1)/2. Lanes are four
// grid points.
fn k4(f0: f32, c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>) -> vec4<f32> {
    let w = (vec4<f32>(f0) - c0) * c1;
    return -c2 * log1p4(w * w);
}
