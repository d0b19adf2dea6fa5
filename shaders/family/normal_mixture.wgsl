// Two-component normal mixture: k(x, θ) = log(e^l1 + e^l2) computed as
// max(l1, l2) + log1p(exp(−|l1 − l2|)), with l1 = c2 − (f0 − c0)²·c1 and
// l2 = c5 − (f0 − c3)²·c4, on the shifted sample f0 = x − shift: c0 = μ1 − shift,
// c1 = 1/(2σ1²), c2 = ln w − ln σ1, c3 = μ2 − shift, c4 = 1/(2σ2²), c5 = ln(1 − w) − ln σ2.
// Lanes are four grid points.
fn k4(
    f0: f32,
    c0: vec4<f32>,
    c1: vec4<f32>,
    c2: vec4<f32>,
    c3: vec4<f32>,
    c4: vec4<f32>,
    c5: vec4<f32>,
) -> vec4<f32> {
    let x = vec4<f32>(f0);
    let d1 = x - c0;
    let d2 = x - c3;
    let l1 = c2 - d1 * d1 * c1;
    let l2 = c5 - d2 * d2 * c4;
    return max(l1, l2) + log1p_exp_neg4(abs(l1 - l2));
}
