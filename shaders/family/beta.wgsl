// Beta family: k(x, θ) = (α − 1)·ln x + (β − 1)·ln(1 − x) from the features f0 = ln x and
// f1 = ln(1 − x) (computed and centred at their data means on the host; the host adds
// n·k(means, θ) in f64), with c0 = α − 1 and c1 = β − 1. Lanes are four grid points.
fn k4(f0: f32, f1: f32, c0: vec4<f32>, c1: vec4<f32>) -> vec4<f32> {
    return c0 * f0 + c1 * f1;
}
