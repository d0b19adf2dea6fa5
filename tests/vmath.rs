//! The vectorisable f32 functions of `klgrid::numeric::vmath` against f64 on dense sweeps of their input
//! ranges: the maximum error in ULP of the correctly rounded f32 result stays within the bounds
//! documented in `src/vmath.rs`, special values follow std, and the kernels of the fast CPU path
//! agree with their f64 host mirror.

use klgrid::model::{lookup, KernelFloat};
use klgrid::numeric::vmath;

/// Size of one f32 ULP at the (correctly rounded) value `r`: 2^(e − 23) for |r| in [2^e, 2^(e+1)),
/// and the subnormal spacing 2⁻¹⁴⁹ below f32::MIN_POSITIVE.
fn ulp_of(r: f64) -> f64 {
    let r = (r as f32).abs() as f64;
    if r < f32::MIN_POSITIVE as f64 {
        return 2f64.powi(-149);
    }
    2f64.powi(r.log2().floor() as i32 - 23)
}

/// |got − want| in ULP of the f32 result; `want` is the f64 value.
fn ulp_err(got: f32, want: f64) -> f64 {
    if got as f64 == want || (got.is_nan() && want.is_nan()) {
        return 0.0;
    }
    if got.is_infinite() || (want as f32).is_infinite() {
        return if got == want as f32 {
            0.0
        } else {
            f64::INFINITY
        };
    }
    (got as f64 - want).abs() / ulp_of(want)
}

/// Every `step`-th f32 (by bit pattern) in [lo, hi] (both finite, same sign or zero), plus both
/// ends: a dense sweep whose points are spread evenly per binade.
fn sweep(lo: f32, hi: f32, points: usize) -> Vec<f32> {
    let key = |x: f32| -> i64 {
        let b = x.to_bits() as i64;
        if x.is_sign_negative() {
            -(b & 0x7fff_ffff)
        } else {
            b
        }
    };
    let unkey = |k: i64| -> f32 {
        if k < 0 {
            f32::from_bits(((-k) as u32) | 0x8000_0000)
        } else {
            f32::from_bits(k as u32)
        }
    };
    let (a, b) = (key(lo), key(hi));
    let step = ((b - a) / points as i64).max(1);
    let mut v: Vec<f32> = (a..=b).step_by(step as usize).map(unkey).collect();
    v.push(hi);
    v
}

/// The largest error in ULP of `f` against `reference` over `xs`, and where it occurs.
fn max_ulp(xs: &[f32], f: impl Fn(f32) -> f32, reference: impl Fn(f64) -> f64) -> (f64, f32) {
    let mut worst = (0.0, f32::NAN);
    for &x in xs {
        let e = ulp_err(f(x), reference(x as f64));
        if e > worst.0 || e.is_nan() {
            worst = (e, x);
        }
    }
    worst
}

fn assert_within(
    name: &str,
    range: &str,
    xs: &[f32],
    bound: f64,
    f: impl Fn(f32) -> f32,
    r: impl Fn(f64) -> f64,
) {
    let (e, at) = max_ulp(xs, f, r);
    println!(
        "{name} on {range}: max {e:.3} ULP at {at:e} ({} points)",
        xs.len()
    );
    assert!(
        e <= bound,
        "{name} on {range}: {e} ULP at x = {at:e} (bound {bound})"
    );
}

/// ln(1 + e^(−a)) in f64 without cancellation for any a.
fn ln_1p_exp_neg64(a: f64) -> f64 {
    if a >= 0.0 {
        (-a).exp().ln_1p()
    } else {
        -a + a.exp().ln_1p()
    }
}

#[test]
fn exp_is_within_1_5_ulp_for_normal_results_and_1_subnormal_ulp_below() {
    let mut xs = sweep(-87.33, 0.0, 2_000_000);
    xs.extend(sweep(0.0, 88.72, 2_000_000));
    assert_within("exp", "[-87.33, 88.72]", &xs, 1.5, vmath::exp, f64::exp);
    // Subnormal results: the error is at most one subnormal spacing.
    for x in sweep(-103.97, -87.34, 200_000) {
        let (got, want) = (vmath::exp(x) as f64, (x as f64).exp());
        assert!(
            (got - want).abs() <= 2f64.powi(-149),
            "exp({x:e}) = {got:e}, want {want:e}"
        );
    }
}

#[test]
fn ln_is_within_1_ulp_on_all_positive_floats() {
    let xs = sweep(f32::from_bits(1), f32::MAX, 4_000_000);
    assert_within("ln", "(0, MAX]", &xs, 1.0, vmath::ln, f64::ln);
    let xs = sweep(0.5, 2.0, 2_000_000);
    assert_within("ln", "[0.5, 2]", &xs, 1.0, vmath::ln, f64::ln);
}

#[test]
fn ln_1p_is_within_1_5_ulp_on_its_whole_domain() {
    // (−1, 0): dense near −1 and near 0 alike (the sweep is even per binade).
    let xs = sweep(-1.0 + f32::EPSILON / 2.0, -f32::from_bits(1), 4_000_000);
    assert_within("ln_1p", "(-1, 0)", &xs, 1.5, vmath::ln_1p, f64::ln_1p);
    // [0, MAX]: what the cauchy and student_t kernels see (z² ≥ 0).
    let xs = sweep(0.0, f32::MAX, 4_000_000);
    assert_within("ln_1p", "[0, MAX]", &xs, 1.5, vmath::ln_1p, f64::ln_1p);
    // Every f32 of one binade around the reduction boundaries.
    let xs = sweep(0.25, 0.5, 2_100_000);
    assert_within("ln_1p", "[0.25, 0.5]", &xs, 1.5, vmath::ln_1p, f64::ln_1p);
}

#[test]
fn ln_1p_exp_neg_is_within_2_ulp_for_the_kernels_nonnegative_arguments() {
    let xs = sweep(0.0, 104.0, 4_000_000);
    assert_within(
        "ln_1p_exp_neg",
        "[0, 104]",
        &xs,
        2.0,
        vmath::ln_1p_exp_neg,
        ln_1p_exp_neg64,
    );
    // Negative arguments are not used by the kernels but are handled: −a + ln(1 + eᵃ).
    let xs = sweep(-1e30, 0.0, 1_000_000);
    assert_within(
        "ln_1p_exp_neg",
        "[-1e30, 0]",
        &xs,
        2.0,
        vmath::ln_1p_exp_neg,
        ln_1p_exp_neg64,
    );
}

#[test]
fn softplus_is_within_2_ulp_for_all_finite_arguments() {
    let softplus64 = |z: f64| z.max(0.0) + ln_1p_exp_neg64(z.abs());
    let mut xs = sweep(-f32::MAX, 0.0, 1_000_000);
    xs.extend(sweep(0.0, f32::MAX, 1_000_000));
    assert_within("softplus", "finite", &xs, 2.0, vmath::softplus, softplus64);
}

#[test]
fn special_values_follow_std() {
    let (inf, nan) = (f32::INFINITY, f32::NAN);
    assert!(vmath::exp(nan).is_nan());
    assert_eq!(vmath::exp(inf), inf);
    assert_eq!(vmath::exp(-inf), 0.0);
    assert_eq!(vmath::exp(88.73), inf);
    assert_eq!(vmath::exp(1000.0), inf);
    assert_eq!(vmath::exp(-104.0), 0.0);
    assert_eq!(vmath::exp(0.0), 1.0);
    assert_eq!(vmath::exp(-0.0), 1.0);
    assert!(vmath::ln(nan).is_nan());
    assert!(vmath::ln(-1.0).is_nan());
    assert!(vmath::ln(-inf).is_nan());
    assert_eq!(vmath::ln(0.0), -inf);
    assert_eq!(vmath::ln(-0.0), -inf);
    assert_eq!(vmath::ln(inf), inf);
    assert_eq!(vmath::ln(1.0), 0.0);
    assert!(vmath::ln_1p(nan).is_nan());
    assert!(vmath::ln_1p(-1.5).is_nan());
    assert!(vmath::ln_1p(-inf).is_nan());
    assert_eq!(vmath::ln_1p(-1.0), -inf);
    assert_eq!(vmath::ln_1p(inf), inf);
    assert_eq!(vmath::ln_1p(0.0), 0.0);
    assert_eq!(vmath::ln_1p(1e-30), 1e-30);
    assert_eq!(vmath::ln_1p(f32::from_bits(1)), f32::from_bits(1));
    assert!(vmath::ln_1p_exp_neg(nan).is_nan());
    assert_eq!(vmath::ln_1p_exp_neg(inf), 0.0);
    assert_eq!(vmath::ln_1p_exp_neg(-inf), inf);
    assert_eq!(vmath::softplus(-inf), 0.0);
    assert_eq!(vmath::softplus(inf), inf);
    assert!(vmath::softplus(nan).is_nan());
}

#[test]
fn kernel_float_f64_is_std_and_f32_is_vmath() {
    for x in [-3.5f64, -0.25, 0.0, 1e-9, 0.7, 2.0, 40.0] {
        assert_eq!(x.vexp(), x.exp());
        assert_eq!(x.abs().vln(), x.abs().ln());
        assert_eq!(x.abs().vln_1p(), x.abs().ln_1p());
        assert_eq!(x.vln_1p_exp_neg(), (-x).exp().ln_1p());
        let y = x as f32;
        assert_eq!(y.vexp().to_bits(), vmath::exp(y).to_bits());
        assert_eq!(y.abs().vln().to_bits(), vmath::ln(y.abs()).to_bits());
        assert_eq!(y.abs().vln_1p().to_bits(), vmath::ln_1p(y.abs()).to_bits());
        assert_eq!(
            y.vln_1p_exp_neg().to_bits(),
            vmath::ln_1p_exp_neg(y).to_bits()
        );
    }
}

/// The kernels of the fast CPU path, blocked over 64 grid points and evaluated in f32 with
/// `vmath`, against their f64 host mirror `k64` at the same (f32-rounded) features and constants,
/// for the families whose kernels call transcendental functions, over features and constants
/// spanning what their sweeps produce. One sample per call, so the f32 tile sum adds nothing and
/// the difference is the kernel's own: within 2e-6 of max(|k|, 1). (The f32 rounding of the
/// kernel's arguments, a few 2⁻²⁴, is amplified by |u| in the Weibull's eᵘ — |u| ≤ 10 here — on
/// top of the ≤ 2 ULP of the functions.)
#[test]
fn blocked_f32_kernels_match_their_f64_mirror_for_transcendental_families() {
    for (name, consts, feats) in [
        // c₀ = μ − shift, c₁ = 1/s; features x − shift.
        ("cauchy", vec![(-3.0, 3.0), (0.05, 20.0)], (-1e4, 1e4)),
        // c₀ = μ − shift, c₁ = 1/σ, c₂ = (ν + 1)/2, c₃ = 1/ν, c₄ = the large-ν flag (> 0 in
        // most lanes, 0 in the first).
        (
            "student_t",
            vec![
                (-3.0, 3.0),
                (0.02, 5.0),
                (0.6, 5e7),
                (2e-8, 1.7),
                (0.0, 1.0),
            ],
            (-1e3, 1e3),
        ),
        // Every lane below the large-ν split and with (ν + 1)/2 ≤ 16: the log-product form.
        (
            "student_t",
            vec![
                (-3.0, 3.0),
                (0.02, 5.0),
                (0.6, 16.0),
                (0.03, 1.7),
                (0.0, 0.0),
            ],
            (-1e3, 1e3),
        ),
        ("logistic", vec![(-3.0, 3.0), (0.05, 20.0)], (-50.0, 50.0)),
        // c₀ = ln λ − shift, c₁ = k; features ln x − shift.
        ("weibull", vec![(-1.0, 1.0), (0.3, 4.0)], (-1.5, 1.5)),
        // One shape for the whole block: eᵘ factored per sample and point, and for |k·f| > 16
        // (here |f| > 4) the direct form per sample.
        ("weibull", vec![(-1.0, 1.0), (4.0, 4.0)], (-6.0, 6.0)),
        // c₀, c₃ = μ − shift; c₁, c₄ = 1/(2σ²); c₂, c₅ = ln w − ln σ.
        (
            "normal_mixture",
            vec![
                (-3.0, 0.0),
                (0.1, 5.0),
                (-4.0, 1.0),
                (0.0, 3.0),
                (0.1, 5.0),
                (-4.0, 1.0),
            ],
            (-8.0, 8.0),
        ),
    ] {
        let fam = lookup(name).unwrap();
        let k = fam.coupled();
        let nc = k.n_consts();
        assert_eq!(nc, consts.len(), "{name}");
        let soa = block_consts(&consts);
        let mut worst = 0f64;
        for i in 0..2001 {
            let f = (feats.0 + (feats.1 - feats.0) * (i as f64 / 2000.0)) as f32;
            let sums = block_sums(k, &[f], &soa);
            for (g, &got) in sums.iter().enumerate() {
                let c = point_consts(&soa, nc, g);
                let want = k.k64(&[f as f64], &c);
                let rel = (got - want).abs() / want.abs().max(1.0);
                worst = worst.max(rel);
                assert!(
                    rel <= 2e-6,
                    "{name}: f = {f}, point {g}: {got} vs {want} (rel {rel:e})"
                );
            }
        }
        println!("{name}: largest kernel difference {worst:.2e} of max(|k|, 1)");
    }
}

/// ln(1 + t) − t (student_t's large-ν kernel) keeps its own relative precision down to the
/// smallest normal t, where ln_1p(t) − t would keep none, and up to t = 16: within 8 ULP of the
/// f64 value (the series' few roundings below ½; above, the subtraction's factor ≤ 5).
#[test]
fn ln_1pmx_keeps_its_relative_precision_near_zero() {
    let mut xs = sweep(f32::MIN_POSITIVE, 16.0, 200_000);
    xs.extend(sweep(-0.49, -f32::MIN_POSITIVE, 100_000));
    let (worst, at) = max_ulp(&xs, vmath::ln_1pmx, klgrid::numeric::ln1pmx);
    eprintln!("ln_1pmx: {worst:.2} ULP at {at}");
    assert!(worst <= 8.0, "ln_1pmx: {worst} ULP at {at}");
}

#[test]
fn exp_neg_is_within_1_5_ulp_up_to_87_and_saturates_beyond() {
    let xs = sweep(0.0, 87.0, 4_000_000);
    assert_within("exp_neg", "[0, 87]", &xs, 1.5, vmath::exp_neg, |a| {
        (-a).exp()
    });
    let floor = vmath::exp_neg(87.0);
    assert!(floor > f32::MIN_POSITIVE && floor.is_normal());
    for a in [87.001f32, 100.0, 1e10, f32::MAX, f32::INFINITY] {
        assert_eq!(vmath::exp_neg(a), floor, "a = {a}");
        assert_eq!(1.0 + vmath::exp_neg(a), 1.0);
    }
    assert_eq!((2.5f64).vexp_neg(), (-2.5f64).exp());
    assert_eq!((2.5f32).vexp_neg().to_bits(), vmath::exp_neg(2.5).to_bits());
}

/// Constants of one block, structure of arrays, constant j of point g spread over its range.
fn block_consts(consts: &[(f64, f64)]) -> Vec<f32> {
    const G: usize = klgrid::model::kernel::BLOCK_POINTS;
    let mut soa = vec![0f32; consts.len() * G];
    for (j, &(lo, hi)) in consts.iter().enumerate() {
        for g in 0..G {
            let t = ((g * (7 + 3 * j)) % G) as f64 / (G - 1) as f64;
            soa[j * G + g] = (lo + (hi - lo) * t) as f32;
        }
    }
    soa
}

/// The constants of point g of a block (structure of arrays, `nc` constants), in f64.
fn point_consts(soa: &[f32], nc: usize, g: usize) -> Vec<f64> {
    const G: usize = klgrid::model::kernel::BLOCK_POINTS;
    (0..nc).map(|j| soa[j * G + g] as f64).collect()
}

/// The blocked f32 sums of one block over the samples `f`.
fn block_sums(
    k: &dyn klgrid::model::CoupledKernel,
    f: &[f32],
    soa: &[f32],
) -> [f64; klgrid::model::kernel::BLOCK_POINTS] {
    const G: usize = klgrid::model::kernel::BLOCK_POINTS;
    let mut sums = [0f64; G];
    let mut outside = [0u64; G];
    k.sum_block(f, soa, &mut sums, &mut outside);
    sums
}

/// Over many tiles of samples (1,000 to 5,000, so tiles of 256 and a ragged last one), each
/// family's blocked f32 sum — in whichever form its kernel takes for the block — stays within
/// 2·10⁻⁶ of Σ|k| of the f64 sum of its host mirror: the log-product and factored-exponential
/// forms are as accurate in sum as the direct form's f32 tile accumulation.
#[test]
fn blocked_sums_over_many_tiles_match_the_f64_sum_in_every_form() {
    const G: usize = klgrid::model::kernel::BLOCK_POINTS;
    for (name, consts, feats) in [
        ("cauchy", vec![(-1.0, 1.0), (0.3, 3.0)], (-30.0, 30.0)),
        (
            "student_t",
            vec![
                (-1.0, 1.0),
                (0.2, 2.0),
                (2.0, 16.0),
                (0.06, 0.5),
                (0.0, 0.0),
            ],
            (-20.0, 20.0),
        ),
        ("logistic", vec![(-1.0, 1.0), (0.3, 3.0)], (-15.0, 15.0)),
        (
            "normal_mixture",
            vec![
                (-2.0, 0.0),
                (0.2, 2.0),
                (-2.0, 0.0),
                (0.5, 2.5),
                (0.2, 2.0),
                (-2.0, 0.0),
            ],
            (-5.0, 6.0),
        ),
        ("weibull", vec![(-0.5, 0.5), (1.7, 1.7)], (-3.0, 1.5)),
        ("weibull", vec![(-0.5, 0.5), (0.5, 3.0)], (-3.0, 1.5)),
        // Three runs of equal shape in the block (a 21-point scale axis), and five (direct).
        ("weibull", vec![(-0.5, 0.5), (3.0, 21.0)], (-3.0, 1.5)),
        ("weibull", vec![(-0.5, 0.5), (5.0, 13.0)], (-3.0, 1.5)),
    ] {
        let k = lookup(name).unwrap().coupled();
        let mut soa = block_consts(&consts);
        if name == "weibull" && consts[1].0 > 2.9 {
            // Shapes in runs of consts[1].1 points: 1.2, 1.45, 1.7, …
            let run = consts[1].1 as usize;
            for g in 0..G {
                soa[G + g] = 1.2 + 0.25 * (g / run) as f32;
            }
        }
        for n in [1000usize, 5000] {
            // Features: a fixed pseudo-random spread over the range.
            let mut state = 0x9e37_79b9_7f4a_7c15u64;
            let f: Vec<f32> = (0..n)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let t = (state >> 40) as f64 / (1u64 << 24) as f64;
                    (feats.0 + (feats.1 - feats.0) * t) as f32
                })
                .collect();
            let sums = block_sums(k, &f, &soa);
            let mut worst = 0f64;
            for (g, &got) in sums.iter().enumerate() {
                let c = point_consts(&soa, consts.len(), g);
                let (mut want, mut mass) = (0f64, 0f64);
                for &x in &f {
                    let v = k.k64(&[x as f64], &c);
                    want += v;
                    mass += v.abs();
                }
                let rel = (got - want).abs() / mass.max(n as f64);
                worst = worst.max(rel);
                assert!(
                    rel <= 2e-6,
                    "{name}, n = {n}, point {g}: {got} vs {want} (rel {rel:e})"
                );
            }
            println!("{name}, n = {n}: largest difference {worst:.2e} of Σ|k|");
        }
    }
}

/// A tile in which the log-product form's u reaches 2¹²⁶ or overflows to +∞ is summed by the
/// direct form: −∞ where the kernel is −∞ (the engine's f64 fallback then takes over), and the
/// direct form's finite value below the overflow.
#[test]
fn log_product_tiles_that_could_overflow_are_summed_directly() {
    let k = lookup("cauchy").unwrap().coupled();
    let soa = block_consts(&[(-1.0, 1.0), (1.0, 1.0)]);
    for (huge, finite) in [(1e25f32, false), (1.2e19, true)] {
        let mut f: Vec<f32> = (0..600).map(|i| (i % 13) as f32 - 6.0).collect();
        f[300] = huge; // in the second tile
        let sums = block_sums(k, &f, &soa);
        for (g, &got) in sums.iter().enumerate() {
            let c = point_consts(&soa, 2, g);
            let want: f64 = f.iter().map(|&x| k.k64(&[x as f64], &c)).sum();
            if finite {
                assert!(got.is_finite(), "point {g}: {got}");
                assert!(
                    (got - want).abs() <= 1e-6 * want.abs(),
                    "point {g}: {got} vs {want}"
                );
            } else {
                assert_eq!(got, f64::NEG_INFINITY, "point {g}");
            }
        }
    }
}
