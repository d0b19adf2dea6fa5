// Shared WGSL math for family kernels (WGSL has no log1p, lgamma or erf).

// ln(1 + z) accurate to a few ulp for z > −1, also for |z| ≪ 1 where log(1.0 + z) loses
// digits: with u = fl(1 + z), ln(1 + z) ≈ ln(u)·z/(u − 1) (Goldberg's trick).
fn log1p_f32(z: f32) -> f32 {
    let u = 1.0 + z;
    let d = u - 1.0;
    return select(log(u) * (z / d), z, d == 0.0);
}

fn log1p4(z: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(log1p_f32(z.x), log1p_f32(z.y), log1p_f32(z.z), log1p_f32(z.w));
}

// ln(1 + e^(−a)) for a ≥ 0, the tail of the softplus: e^(−a) ∈ (0, 1] cannot overflow, and
// log1p keeps the digits when e^(−a) ≪ 1.
fn log1p_exp_neg4(a: vec4<f32>) -> vec4<f32> {
    return log1p4(exp(-a));
}

// softplus(z) = ln(1 + e^z) = max(z, 0) + ln(1 + e^(−|z|)), stable for every z.
fn softplus4(z: vec4<f32>) -> vec4<f32> {
    return max(z, vec4<f32>(0.0)) + log1p_exp_neg4(abs(z));
}
