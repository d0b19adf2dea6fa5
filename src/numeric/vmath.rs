//! Vectorisable f32 transcendental functions for the family kernels, and [`KernelFloat`], the
//! float type the generic [`Kernel`](crate::family::Kernel) is written against.
//!
//! The fast CPU path runs each kernel over 64 grid points in a loop that the compiler vectorises
//! (AVX-512, AVX2 + FMA). A call to libm's scalar `logf`/`log1pf`/`expf` inside that loop stops
//! the vectorisation; the functions here are branch-free straight-line code (bit manipulation,
//! fused multiply-adds, selects), `#[inline(always)]`, so that each lane of the loop is one lane
//! of a vector register. They mirror `shaders/lib/math.wgsl` (`log1p4`, `log1p_exp_neg4`,
//! `softplus4`) and the WGSL builtins `exp`, `log`.
//!
//! Algorithms: Cody–Waite range reduction and the Cephes single-precision minimax polynomials
//! (`expf`, `logf`), with FMA everywhere. [`ln_1p`] reduces 1 + z by a power of two t = 2⁻ᵏ and
//! forms the reduced argument as fma(z, t, t − 1), which rounds (1 + z)·t − 1 once, so it needs
//! neither Goldberg's division nor a correction term. Every path (AVX-512, AVX2 + FMA, or the
//! portable build, where `f32::mul_add` is the correctly rounded libm `fmaf`) computes bitwise
//! the same values.
//!
//! Why not a crate: the SIMD math crates (`sleef`, `simdeez`, `wide`, `simd_vector`) implement
//! these functions on their own explicit vector types, while a family's kernel is scalar code
//! written once, generically for the f64 host mirror and the f32 fast path, and vectorised by the
//! compiler across grid points; `libm` is scalar with branches (what stopped the vectorisation).
//!
//! Maximum errors, in units in the last place (ULP) of the correctly rounded f32 result, measured
//! against f64 on dense sweeps (4·10⁶ points per range, spread evenly over every binade) by
//! `tests/vmath.rs`, which asserts the bounds:
//!
//! | function | input range | measured max error | asserted bound |
//! |---|---|---|---|
//! | [`exp`] | −87.33 ≤ x ≤ 88.72 (normal results) | 1.00 ULP | 1.5 ULP |
//! | [`exp`] | −103.97 ≤ x < −87.33 (subnormal results) | – | 1 subnormal ULP (2⁻¹⁴⁹) |
//! | [`ln`] | 0 < x ≤ f32::MAX (subnormals included) | 0.89 ULP | 1 ULP |
//! | [`ln_1p`] | −1 < z ≤ f32::MAX (z ≥ 0: cauchy, student_t) | 1.41 ULP | 1.5 ULP |
//! | [`ln_1p_exp_neg`] | 0 ≤ a ≤ 104 (logistic, normal_mixture) | 1.65 ULP | 2 ULP |
//! | [`ln_1p_exp_neg`] | −10³⁰ ≤ a < 0 | 1.39 ULP | 2 ULP |
//! | [`softplus`] | all finite z | 1.55 ULP | 2 ULP |
//! | [`ln_1pmx`] | −0.49 ≤ t ≤ 16 (student_t at ν ≥ 1000) | 2.87 ULP | 8 ULP |
//! | [`exp_neg`] | 0 ≤ a ≤ 87 (logistic, normal_mixture: 1 + e^(−a)) | – | 1.5 ULP |
//!
//! Special values follow std: `exp(NaN) = NaN`, `exp(+∞) = +∞`, `exp(−∞) = 0`, overflow to +∞
//! for x > 88.72, underflow to 0 for x < −103.97; `ln(0) = −∞`, `ln(x < 0) = NaN`,
//! `ln(+∞) = +∞`; `ln_1p(−1) = −∞`, `ln_1p(z < −1) = NaN`, `ln_1p(+∞) = +∞`; NaN in, NaN out.

// The polynomial coefficients are Cephes' published decimal values, kept as printed.
#![allow(clippy::excessive_precision)]

use num_traits::Float;

/// The float type of a family's [`Kernel`](crate::family::Kernel): [`num_traits::Float`] plus
/// the transcendental functions kernels call. The f64 implementation is std's (the host mirror,
/// bit-for-bit what the kernels computed before); the f32 implementation is this module's
/// vectorisable one (the fast CPU path). Kernels call these methods, never `Float::ln_1p` or
/// `Float::exp`, whose f32 versions are scalar libm calls that stop the vectorisation.
pub trait KernelFloat: Float {
    /// eˣ.
    fn vexp(self) -> Self;
    /// ln x.
    fn vln(self) -> Self;
    /// ln(1 + z).
    fn vln_1p(self) -> Self;
    /// ln(1 + e^(−a)), the tail of the softplus (a ≥ 0 in the kernels).
    fn vln_1p_exp_neg(self) -> Self;
    /// ln(1 + t) − t, to its own relative precision also for |t| ≪ 1 (student_t at large ν).
    fn vln_1pmx(self) -> Self;
    /// e^(−a) for a ≥ 0, where only 1 + e^(−a) matters (the log-product form of logistic and
    /// normal_mixture): in f32 results below e^(−87) are returned as e^(−87) ([`exp_neg`]).
    fn vexp_neg(self) -> Self;
}

impl KernelFloat for f64 {
    #[inline(always)]
    fn vexp(self) -> f64 {
        self.exp()
    }
    #[inline(always)]
    fn vln(self) -> f64 {
        self.ln()
    }
    #[inline(always)]
    fn vln_1p(self) -> f64 {
        self.ln_1p()
    }
    #[inline(always)]
    fn vln_1p_exp_neg(self) -> f64 {
        (-self).exp().ln_1p()
    }
    #[inline(always)]
    fn vln_1pmx(self) -> f64 {
        crate::numeric::ln1pmx(self)
    }
    #[inline(always)]
    fn vexp_neg(self) -> f64 {
        (-self).exp()
    }
}

impl KernelFloat for f32 {
    #[inline(always)]
    fn vexp(self) -> f32 {
        exp(self)
    }
    #[inline(always)]
    fn vln(self) -> f32 {
        ln(self)
    }
    #[inline(always)]
    fn vln_1p(self) -> f32 {
        ln_1p(self)
    }
    #[inline(always)]
    fn vln_1p_exp_neg(self) -> f32 {
        ln_1p_exp_neg(self)
    }
    #[inline(always)]
    fn vln_1pmx(self) -> f32 {
        ln_1pmx(self)
    }
    #[inline(always)]
    fn vexp_neg(self) -> f32 {
        exp_neg(self)
    }
}

/// log₂ e.
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 = LN2_HI + LN2_LO, LN2_HI with 9 significant bits (so k·LN2_HI is exact for |k| < 2¹⁵).
const LN2_HI: f32 = 0.693_359_375;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5·2²³: x + MAGIC rounds x to an integer (ties to even) held in the low mantissa bits.
const MAGIC: f32 = 12_582_912.0;
/// Bits added to those of u so that the exponent field is k with u·2⁻ᵏ ∈ [√½, √2).
const SQRT_HALF_SHIFT: u32 = 0x3f80_0000 - 0x3f35_04f3;

/// 2ⁿ for −126 ≤ n ≤ 127, built from its bits (wrapping, so that garbage lanes — NaN inputs,
/// discarded by a later select — cannot overflow-panic in debug builds).
#[inline(always)]
fn pow2i(n: i32) -> f32 {
    f32::from_bits((n.wrapping_add(127) as u32).wrapping_shl(23))
}

/// Select without a branch: `if c { a } else { b }` on values (compiles to a blend).
#[inline(always)]
fn select(c: bool, a: f32, b: f32) -> f32 {
    if c {
        a
    } else {
        b
    }
}

/// eʳ for |r| ≤ ½ ln 2 (a little more is fine): 1 + r + r²·P(r), Cephes `expf` minimax
/// polynomial P of degree 5, evaluated by Estrin's scheme (a shorter dependency chain than
/// Horner's, which the out-of-order core overlaps better across grid points).
#[inline(always)]
fn exp_reduced(r: f32) -> f32 {
    let r2 = r * r;
    let r4 = r2 * r2;
    let p01 = 1.666_666_5e-1f32.mul_add(r, 5.000_000_1e-1);
    let p23 = 8.333_452e-3f32.mul_add(r, 4.166_579_6e-2);
    let p45 = 1.987_569_1e-4f32.mul_add(r, 1.398_2e-3);
    let p = p23.mul_add(r2, p01);
    let p = p45.mul_add(r4, p);
    p.mul_add(r2, r) + 1.0
}

/// eˣ = 2ⁿ·eʳ with n = round(x·log₂ e), r = x − n·ln 2 (Cody–Waite, two FMAs), eʳ by
/// [`exp_reduced`], and 2ⁿ applied as two factors 2^⌊n/2⌋·2^(n−⌊n/2⌋) so that results near
/// overflow and subnormal results are rounded correctly. x is first clamped to [−104, 89]
/// (NaN-preserving), beyond which the result is 0 or +∞ anyway.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // `x > c` is false for NaN, so NaN passes through both clamps.
    let x = select(x > 89.0, 89.0, x);
    let x = select(x < -104.0, -104.0, x);
    let t = x.mul_add(LOG2E, MAGIC);
    let n = t - MAGIC;
    let ni = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    let r = n.mul_add(-LN2_HI, x);
    let r = n.mul_add(-LN2_LO, r);
    let n1 = ni >> 1;
    let n2 = ni.wrapping_sub(n1);
    exp_reduced(r) * pow2i(n1) * pow2i(n2)
}

/// Largest a for which [`exp_neg`] returns e^(−a) itself: e^(−87) ≈ 1.6·10⁻³⁸ is still a normal
/// float.
const EXP_NEG_MAX: f32 = 87.0;

/// e^(−a) for a ≥ 0 — [`exp`] without its clamps and its two-factor scaling, for the kernels
/// that only form 1 + e^(−a): n = round(−a·log₂ e) ∈ [−126, 0] and eʳ ∈ [√½, √2], so 2ⁿ·eʳ is a
/// normal float and the scaling is an integer addition to the exponent bits (exact). For
/// a > 87 it returns e^(−87) (1 + e^(−a) rounds to 1 either way); NaN is not expected (the
/// kernels' arguments are finite or +∞, which gives e^(−87)).
#[inline(always)]
pub fn exp_neg(a: f32) -> f32 {
    let x = select(a < EXP_NEG_MAX, -a, -EXP_NEG_MAX);
    let t = x.mul_add(LOG2E, MAGIC);
    let n = t - MAGIC;
    let ni = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    let r = n.mul_add(-LN2_HI, x);
    let r = n.mul_add(-LN2_LO, r);
    f32::from_bits(
        exp_reduced(r)
            .to_bits()
            .wrapping_add((ni as u32).wrapping_shl(23)),
    )
}

/// ln(1 + m) − m for m ∈ [√½ − 1, √2 − 1]: −m²/2 + m³·P(m), Cephes `logf` minimax polynomial P
/// of degree 8, evaluated by Estrin's scheme.
#[inline(always)]
fn ln_1p_reduced(m: f32) -> f32 {
    let m2 = m * m;
    let m4 = m2 * m2;
    let p01 = (-2.499_999_4e-1f32).mul_add(m, 3.333_333_1e-1);
    let p23 = (-1.666_805_8e-1f32).mul_add(m, 2.000_071_5e-1);
    let p45 = (-1.242_014_1e-1f32).mul_add(m, 1.424_932_3e-1);
    let p67 = (-1.151_461e-1f32).mul_add(m, 1.167_699_9e-1);
    let p03 = p23.mul_add(m2, p01);
    let p47 = p67.mul_add(m2, p45);
    let p47 = 7.037_683_6e-2f32.mul_add(m4, p47);
    let p = p47.mul_add(m4, p03);
    (-0.5f32).mul_add(m2, p * (m * m2))
}

/// k·ln 2 + ln(1 + m), summed small terms first.
#[inline(always)]
fn combine(k: f32, m: f32) -> f32 {
    let y = k.mul_add(LN2_LO, ln_1p_reduced(m));
    k.mul_add(LN2_HI, m + y)
}

/// ln(1 + z), accurate also for |z| ≪ 1 (where ln(1.0 + z) loses digits) — the f32 twin of
/// WGSL `log1p4` (which sums the atanh series near 0 instead). With u = fl(1 + z) and k the exponent for which u·2⁻ᵏ ∈ [√½, √2), the
/// reduced argument m = (1 + z)·2⁻ᵏ − 1 is fma(z, t, t − 1) with t = 2⁻ᵏ: z·t and t − 1 are exact
/// (k ≥ −24 for z > −1), so m is rounded once. For k > 24 the 1 is below the last bit of u, and m
/// is taken from the bits of u instead (exact; also where 2⁻ᵏ would not be a normal float).
#[inline(always)]
pub fn ln_1p(z: f32) -> f32 {
    let u = 1.0 + z;
    let iu = u.to_bits().wrapping_add(SQRT_HALF_SHIFT);
    let k = ((iu >> 23) as i32).wrapping_sub(127);
    let t = pow2i(k.wrapping_neg());
    let m_fma = z.mul_add(t, t - 1.0);
    let m_bits = f32::from_bits((iu & 0x007f_ffff).wrapping_add(0x3f35_04f3)) - 1.0;
    let m = select(k > 24, m_bits, m_fma);
    let r = combine(k as f32, m);
    // ln_1p(+∞) = +∞ and NaN → NaN (`z < ∞` is false for both); ln_1p(−1) = −∞, below −1 NaN.
    let r = select(z < f32::INFINITY, r, z + z);
    let r = select(z > -1.0, r, f32::NAN);
    select(z == -1.0, f32::NEG_INFINITY, r)
}

/// ln x: x = 2ᵏ·(1 + m) with 1 + m ∈ [√½, √2) taken from the bits of x (m exact), then
/// k·ln 2 + ln(1 + m). Subnormal x are scaled by 2²³ first.
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    let tiny = x < f32::MIN_POSITIVE;
    let xs = select(tiny, x * 8_388_608.0, x); // 2²³
    let bits = xs.to_bits().wrapping_add(SQRT_HALF_SHIFT);
    let k = ((bits >> 23) as i32) - 127;
    let m = f32::from_bits((bits & 0x007f_ffff).wrapping_add(0x3f35_04f3)) - 1.0;
    let kf = k as f32 - select(tiny, 23.0, 0.0);
    let r = combine(kf, m);
    // ln(+∞) = +∞, NaN → NaN; ln(0) = −∞, ln(x < 0) = NaN.
    let r = select(x < f32::INFINITY, r, x + x);
    let r = select(x > 0.0, r, f32::NAN);
    select(x == 0.0, f32::NEG_INFINITY, r)
}

/// ln(1 + t) − t — the f32 twin of WGSL `log1pmx4`: for |t| < ½, with s = t/(2 + t) (|s| < ⅓),
/// −s·t + 2s³·(1/3 + s²/5 + … + s¹²/15), without the cancellation of ln(1 + t) against t
/// (truncation < 10⁻⁹); elsewhere [`ln_1p`](t) − t, which loses at most a factor 5 of relative
/// precision at |t| = ½ (2.9 ULP measured, `tests/vmath.rs`).
#[inline(always)]
pub fn ln_1pmx(t: f32) -> f32 {
    let s = t / (2.0 + t);
    let s2 = s * s;
    let mut p = 1.0 / 15.0;
    p = s2.mul_add(p, 1.0 / 13.0);
    p = s2.mul_add(p, 1.0 / 11.0);
    p = s2.mul_add(p, 1.0 / 9.0);
    p = s2.mul_add(p, 1.0 / 7.0);
    p = s2.mul_add(p, 1.0 / 5.0);
    p = s2.mul_add(p, 1.0 / 3.0);
    let series = (2.0 * s * s2).mul_add(p, -(s * t));
    select(t.abs() < 0.5, series, ln_1p(t) - t)
}

/// ln(1 + e^(−a)), the tail of the softplus — the f32 twin of WGSL `log1p_exp_neg4` — as
/// max(−a, 0) + ln(1 + t) with t = e^(−|a|) ∈ [0, 1], which cannot overflow. Since 1 + t ∈ [1, 2],
/// the reduction needs no bits: k = 0 and m = t (exact) below t = √2 − 1, else k = 1 and
/// m = (t − 1)/2, one FMA.
#[inline(always)]
pub fn ln_1p_exp_neg(a: f32) -> f32 {
    let t = exp(-a.abs());
    let high = t >= std::f32::consts::SQRT_2 - 1.0;
    let m = select(high, t.mul_add(0.5, -0.5), t);
    let k = select(high, 1.0, 0.0);
    select(a < 0.0, -a, 0.0) + combine(k, m)
}

/// softplus(z) = ln(1 + eᶻ) = max(z, 0) + ln(1 + e^(−|z|)), stable for every z — the f32 twin
/// of WGSL `softplus4`.
#[inline(always)]
pub fn softplus(z: f32) -> f32 {
    select(z > 0.0, z, 0.0) + ln_1p_exp_neg(z.abs())
}
