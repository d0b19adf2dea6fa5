// Shared WGSL math for family kernels (WGSL has no log1p, lgamma or erf).

// 1/3 + w²/5 + w⁴/7 + … + w¹²/15: the tail of atanh(w)/w = 1 + w²·tail, for |w| ≤ 1/3 (the
// terms left out are below 1e-9 of it).
fn atanh_tail4(w2: vec4<f32>) -> vec4<f32> {
    var p = vec4<f32>(1.0 / 15.0);
    p = p * w2 + 1.0 / 13.0;
    p = p * w2 + 1.0 / 11.0;
    p = p * w2 + 1.0 / 9.0;
    p = p * w2 + 1.0 / 7.0;
    p = p * w2 + 1.0 / 5.0;
    return p * w2 + 1.0 / 3.0;
}

// ln(1 + z) for z > −1, to a few 1e-7 relative also for |z| ≪ 1, where log(1.0 + z) loses the
// digits of z: for −0.5 < z < 1, 2·atanh(w) with w = z/(2 + z), |w| < 1/3, by its odd series;
// elsewhere log(1 + z), where 1 + z carries no cancellation. (Not Goldberg's ln(u)·z/(u − 1),
// u = 1 + z: a compiler that reassociates (1 + z) − 1 to z — as lavapipe's does — turns it back
// into log(1 + z), 0 for z < 6e-8, and WGSL's log is only specified to an absolute 2⁻²¹ near 1.)
fn log1p4(z: vec4<f32>) -> vec4<f32> {
    let w = z / (2.0 + z);
    let w2 = w * w;
    let series = 2.0 * w * (atanh_tail4(w2) * w2 + 1.0);
    let small = (z > vec4<f32>(-0.5)) & (z < vec4<f32>(1.0));
    return select(log(1.0 + z), series, small);
}

// ln(1 + t) − t, to its own relative precision also for |t| ≪ 1 (student_t at large ν): for
// |t| < ½, with s = t/(2 + t), 2s³·tail(s²) − s·t (ln(1 + t) = 2s + 2s³·tail and t − 2s = s·t);
// elsewhere log1p(t) − t. The twin of `vmath::ln_1pmx`.
fn log1pmx4(t: vec4<f32>) -> vec4<f32> {
    let s = t / (2.0 + t);
    let s2 = s * s;
    let series = 2.0 * s * s2 * atanh_tail4(s2) - s * t;
    return select(log1p4(t) - t, series, abs(t) < vec4<f32>(0.5));
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
