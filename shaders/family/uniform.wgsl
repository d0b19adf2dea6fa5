// Uniform family: k(x, θ) = 0; the support [low, high] depends on θ. Each sample arrives as a
// double-float pair (f0, f1) = (f32(x), f32(x − f0)), each bound likewise: (c0, c1) for low,
// (c2, c3) for high. Pairs compare lexicographically, which agrees with the exact comparison
// unless sample and bound agree to ~2^-48 relative. Lanes are four grid points.
fn k4(f0: f32, f1: f32, c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(0.0);
}

// 1.0 in the lanes whose interval [low, high] does not contain the sample, else 0.0.
fn outside4(f0: f32, f1: f32, c0: vec4<f32>, c1: vec4<f32>, c2: vec4<f32>, c3: vec4<f32>) -> vec4<f32> {
    let hi = vec4<f32>(f0);
    let lo = vec4<f32>(f1);
    let below = (hi < c0) | ((hi == c0) & (lo < c1));
    let above = (hi > c2) | ((hi == c2) & (lo > c3));
    return select(vec4<f32>(0.0), vec4<f32>(1.0), below | above);
}
