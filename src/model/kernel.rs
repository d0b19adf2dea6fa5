//! The coupled kernel k(f, θ) of a family, written once, generically over the float type: f64 for
//! the host (split checks, linear centring) and f32 for the fast CPU path, where
//! [`Blocked`] runs it register-blocked over grid points so the compiler vectorises it.
//!
//! Kernels call transcendental functions through [`KernelFloat`] (`vln_1p`, `vexp`, …): std's in
//! f64, the branch-free [`crate::numeric::vmath`] ones in f32, so that the blocked loop vectorises.
//!
//! The WGSL `k4` in `shaders/family/NAME.wgsl` is the device twin of [`Kernel::k`].

pub use crate::numeric::vmath::KernelFloat;
use std::marker::PhantomData;

/// Largest number of kernel constants per grid point a [`Kernel`] (a built-in family's kernel,
/// run by [`Blocked`]) may use. The engine itself takes any number: a family with its own
/// [`CoupledKernel`] (a user model) is limited only by the device.
pub const MAX_KERNEL_CONSTS: usize = 8;

/// Largest number of per-sample features a [`Kernel`] may use (see [`MAX_KERNEL_CONSTS`]).
pub const MAX_FEATURES: usize = 2;

/// A family's coupled kernel.
pub trait Kernel: Send + Sync + 'static {
    /// Number of features per sample (1 or 2).
    const NF: usize;
    /// Number of constants per grid point.
    const NC: usize;
    /// Whether the support depends on θ (then [`Kernel::outside`] is evaluated).
    const THETA_SUPPORT: bool = false;

    /// k(f, c): the kernel from the sample's features `f` (length NF) and a grid point's
    /// constants `c` (length NC).
    fn k<T: KernelFloat>(f: &[T], c: &[T]) -> T;

    /// Whether the sample lies outside the θ-dependent part of the support.
    fn outside<T: KernelFloat>(_f: &[T], _c: &[T]) -> bool {
        false
    }

    /// How the fast CPU path's blocked f32 loop evaluates Σᵢ k(fᵢ, c) ([`Form`]); the f64 host
    /// mirror always evaluates [`Kernel::k`].
    const FORM: Form = Form::Direct;

    /// For [`Form::LogProduct`]: (u, v) with k(f, c) = w(c)·ln u + v, u ≥ 1 and never NaN.
    fn log_parts<T: KernelFloat>(_f: &[T], _c: &[T]) -> (T, T) {
        unreachable!("log_parts of a kernel whose FORM is not LogProduct")
    }

    /// For [`Form::LogProduct`]: the θ-only weight w(c) of ln u.
    fn log_weight<T: KernelFloat>(_c: &[T]) -> T {
        unreachable!("log_weight of a kernel whose FORM is not LogProduct")
    }

    /// For [`Form::LogProduct`]: whether the log-product form is used at this grid point (a
    /// block of 64 points takes it only where every point does; otherwise [`Form::Direct`]).
    fn log_form_holds(_c: &[f32]) -> bool {
        true
    }
}

/// How [`Blocked`] sums a kernel over a tile of samples for 64 grid points.
///
/// # Forms
///
/// - `Direct`: acc_g += k(fᵢ, c_g) in f32, for every sample and grid point.
/// - `LogProduct` (k = w(c)·ln u(f, c) + v(f, c), u ≥ 1): Σᵢ ln uᵢ = ln Πᵢ uᵢ. Each point keeps
///   the running product in [1, 2) and its binary exponent apart (the product's exponent bits
///   are moved into an integer after every multiplication), so the tile costs one multiply and
///   three integer operations per sample and point, and one [`vmath::ln`] per tile and point:
///   Σ k = w·(ln P + E·ln 2) + Σ v, the last step in f64. Error: each product rounds once
///   (2⁻²⁴ relative, so ≤ 2⁻²⁴ absolute in ln P), and u itself rounds once, so a sample's
///   contribution is within |w|·2⁻²³ of exact — like the direct form's f32 accumulation, and no
///   worse while |w| is small, which is why a kernel may decline the form for large weights
///   ([`Kernel::log_form_holds`]). A tile in which some u reaches 2¹²⁶ (the product could
///   overflow) or +∞ is summed by the direct form instead, so overflow behaves exactly as there.
/// - `ExpAffine { slope, offset }` (k = u − eᵘ, u = c_slope·(f₀ − c_offset), one feature): where
///   the 64 points of a block fall into at most four runs of consecutive points that share
///   c_slope = s (a grid whose shape axis is not the fastest, as in weibull's `shape`, `scale`
///   order), eᵘ = e^(s·f₀)·e^(−s·c_offset): the first factor once per sample and run (vectorised
///   over the tile's samples, with s·f₀ split exactly into two floats by an FMA), the second once
///   per point (the same way), so a sample and point cost one subtract, two multiplies and a subtract, as
///   a polynomial kernel does. Used while |s·f₀| ≤ 16 and |s·c_offset| ≤ 16 (both factors far
///   from overflow; the product's relative error then stays within a few ULP); samples beyond,
///   and blocks with more runs (the slope axis the fastest-varying one), use the direct form.
///
/// [`vmath::ln`]: crate::numeric::vmath::ln
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// acc += k(f, c).
    Direct,
    /// k = w·ln u + v, summed as the logarithm of a renormalised product.
    LogProduct {
        /// Whether v is not identically zero (then it is accumulated).
        linear: bool,
    },
    /// k = u − eᵘ with u = c_slope·(f₀ − c_offset), the exponential factored per block.
    ExpAffine {
        /// Index of the slope constant.
        slope: usize,
        /// Index of the offset constant.
        offset: usize,
    },
}

/// k(x, θ) = x·c₀: the kernel of the families whose log-density couples x and θ only through
/// x times one θ-only coefficient c₀ — poisson (ln λ), bernoulli and binomial (logit p), geometric
/// and negative binomial (ln(1 − p)). Linear, so those families centre it ([`super::Shift::Linear`]).
pub struct ScaledKernel;

impl Kernel for ScaledKernel {
    const NF: usize = 1;
    const NC: usize = 1;
    #[inline(always)]
    fn k<T: KernelFloat>(f: &[T], c: &[T]) -> T {
        f[0] * c[0]
    }
}

/// Grid points per block of the fast CPU path (eight AVX2 registers of f32 accumulators).
pub const BLOCK_POINTS: usize = 64;

/// The blocked loop evaluates grid points g and g + 32 side by side: two independent dependency
/// chains per vector step, which the out-of-order core overlaps. A long kernel (ln_1p, exp: ~25
/// dependent operations) otherwise leaves the core waiting on latency; more than two chains
/// spill registers on AVX2 (measured: 1.2× faster for logistic and normal_mixture than one chain,
/// normal_mixture 3× slower with four).
const INTERLEAVE: usize = 2;

/// Samples summed in f32 before each f64 accumulation.
const TILE: usize = 256;

/// Object-safe access to a family's [`Kernel`]: its sizes, its f64 host evaluation, and its
/// blocked f32 loop for the fast CPU path. Families return `&Blocked::<K>::NEW` from
/// [`Family::coupled`](super::Family::coupled).
pub trait CoupledKernel: Send + Sync {
    /// Features per sample ([`Kernel::NF`]).
    fn n_features(&self) -> usize;

    /// Constants per grid point ([`Kernel::NC`]).
    fn n_consts(&self) -> usize;

    /// Whether the support depends on θ ([`Kernel::THETA_SUPPORT`]).
    fn theta_dependent_support(&self) -> bool;

    /// k(f, c) in f64.
    fn k64(&self, f: &[f64], c: &[f64]) -> f64;

    /// Whether the sample is outside the θ-dependent support, in f64.
    fn outside64(&self, f: &[f64], c: &[f64]) -> bool;

    /// For one block of [`BLOCK_POINTS`] grid points whose constants are given structure-of-
    /// arrays (`consts[j * BLOCK_POINTS + g]` is constant j of point g), adds Σ k over the
    /// samples of `feats` (f32, sample-major, NF per sample) into `sums` and the number of
    /// samples outside the θ-dependent support into `outside`. Tiles of 256 samples are summed in
    /// f32 (in the kernel's [`Form`]), then added to the f64 sums in sample order.
    fn sum_block(&self, feats: &[f32], consts: &[f32], sums: &mut [f64], outside: &mut [u64]);
}

/// Runs a [`Kernel`] register-blocked over [`BLOCK_POINTS`] grid points.
pub struct Blocked<K>(PhantomData<K>);

impl<K: Kernel> Blocked<K> {
    /// The blocked runner of `K` (usable in statics: `&Blocked::<K>::NEW`).
    pub const NEW: Self = Blocked(PhantomData);
}

impl<K: Kernel> CoupledKernel for Blocked<K> {
    fn n_features(&self) -> usize {
        K::NF
    }

    fn n_consts(&self) -> usize {
        K::NC
    }

    fn theta_dependent_support(&self) -> bool {
        K::THETA_SUPPORT
    }

    fn k64(&self, f: &[f64], c: &[f64]) -> f64 {
        K::k(f, c)
    }

    fn outside64(&self, f: &[f64], c: &[f64]) -> bool {
        K::outside(f, c)
    }

    fn sum_block(&self, feats: &[f32], consts: &[f32], sums: &mut [f64], outside: &mut [u64]) {
        // The same loop compiled for the widest vector unit present. Each grid point's sum runs
        // in the same order in every version (vectorisation is across grid points), and the
        // kernels' fused multiply-adds (crate::numeric::vmath) are single-rounded in every version
        // (AVX-512F implies FMA; AVX2 is paired with FMA; the portable build calls fmaf), so the
        // results are identical whichever runs.
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F (checked just above).
                return unsafe { sum_block_avx512::<K>(feats, consts, sums, outside) };
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                return unsafe { sum_block_avx2::<K>(feats, consts, sums, outside) };
            }
        }
        sum_block_impl::<K>(feats, consts, sums, outside)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn sum_block_avx512<K: Kernel>(f: &[f32], c: &[f32], s: &mut [f64], o: &mut [u64]) {
    sum_block_impl::<K>(f, c, s, o)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sum_block_avx2<K: Kernel>(f: &[f32], c: &[f32], s: &mut [f64], o: &mut [u64]) {
    sum_block_impl::<K>(f, c, s, o)
}

/// A block's constants, structure of arrays: `c[j][g]` is constant j of point g.
type BlockConsts = [[f32; BLOCK_POINTS]; MAX_KERNEL_CONSTS];

/// The constants of point g of a block, as a kernel takes them.
#[inline(always)]
fn point<K: Kernel>(c: &BlockConsts, g: usize) -> [f32; MAX_KERNEL_CONSTS] {
    let mut cg = [0f32; MAX_KERNEL_CONSTS];
    for j in 0..K::NC {
        cg[j] = c[j][g];
    }
    cg
}

/// The blocked loop, by the kernel's [`Form`]: a block takes the kernel's own form where it
/// holds for the block, the direct form otherwise. Every vector-unit version runs this code, so
/// the choice — and each grid point's order of operations — is the same in all of them.
#[inline(always)]
fn sum_block_impl<K: Kernel>(feats: &[f32], consts: &[f32], sums: &mut [f64], outside: &mut [u64]) {
    const G: usize = BLOCK_POINTS;
    let mut c: BlockConsts = [[0f32; G]; MAX_KERNEL_CONSTS];
    for j in 0..K::NC {
        c[j].copy_from_slice(&consts[j * G..(j + 1) * G]);
    }
    match K::FORM {
        Form::Direct => sum_direct::<K>(feats, &c, sums, outside),
        Form::LogProduct { linear } => {
            if (0..G).all(|g| K::log_form_holds(&point::<K>(&c, g)[..K::NC])) {
                sum_log_product::<K>(feats, &c, sums, linear)
            } else {
                sum_direct::<K>(feats, &c, sums, outside)
            }
        }
        Form::ExpAffine { slope, offset } => {
            sum_exp_affine::<K>(feats, &c, sums, outside, slope, offset)
        }
    }
}

/// acc_g += k(f, c_g) for the samples of one tile: for each sample, k for all 64 grid points (a
/// loop the compiler vectorises across grid points, [`INTERLEAVE`] chains at a time).
#[inline(always)]
fn direct_tile<K: Kernel>(tile: &[f32], c: &BlockConsts, acc: &mut [f32; BLOCK_POINTS]) {
    const G: usize = BLOCK_POINTS;
    for f in tile.chunks_exact(K::NF) {
        for h in 0..G / INTERLEAVE {
            for q in 0..INTERLEAVE {
                let g = q * (G / INTERLEAVE) + h;
                let cg = point::<K>(c, g);
                acc[g] += K::k(f, &cg[..K::NC]);
            }
        }
    }
}

/// [`Form::Direct`]: k accumulated in f32 over tiles of 256 samples, then into f64. The order of
/// the additions into each grid point's sum is the sample order, whatever the vector width or
/// interleave.
#[inline(always)]
fn sum_direct<K: Kernel>(feats: &[f32], c: &BlockConsts, sums: &mut [f64], outside: &mut [u64]) {
    const G: usize = BLOCK_POINTS;
    let nf = K::NF;
    let mut out = [0u32; G];
    for tile in feats.chunks(TILE * nf) {
        let mut acc = [0f32; G];
        direct_tile::<K>(tile, c, &mut acc);
        // The support test in a second pass over the tile (still in L1): with both in one loop,
        // the 64 counters and the 64 sums do not fit in the vector registers together and spill
        // (4× slower for binomial on AVX2).
        if K::THETA_SUPPORT {
            for f in tile.chunks_exact(nf) {
                for (g, o) in out.iter_mut().enumerate() {
                    let cg = point::<K>(c, g);
                    *o += K::outside(f, &cg[..K::NC]) as u32;
                }
            }
        }
        for (s, a) in sums.iter_mut().zip(acc) {
            *s += a as f64;
        }
        if K::THETA_SUPPORT {
            for (o, v) in outside.iter_mut().zip(&mut out) {
                *o += *v as u64;
                *v = 0;
            }
        }
    }
}

/// Largest u of a tile for which [`sum_log_product`] keeps the product: P ∈ [1, 2) times
/// u < 2¹²⁶ stays below 2¹²⁷, far from overflow.
const LOG_PRODUCT_MAX_U: f32 = 8.507_059e37; // 2¹²⁶

/// [`Form::LogProduct`]: per tile and point, Σᵢ w·ln uᵢ + vᵢ = w·(ln P + E·ln 2) + Σ v, with the
/// product Πᵢ uᵢ = P·2^E kept as P ∈ [1, 2) and the integer E (see [`Form`]).
#[inline(always)]
fn sum_log_product<K: Kernel>(feats: &[f32], c: &BlockConsts, sums: &mut [f64], linear: bool) {
    const G: usize = BLOCK_POINTS;
    const MANTISSA: u32 = 0x007f_ffff;
    const ONE: u32 = 0x3f80_0000;
    let nf = K::NF;
    let mut w = [0f64; G];
    for (g, wg) in w.iter_mut().enumerate() {
        *wg = K::log_weight(&point::<K>(c, g)[..K::NC]) as f64;
    }
    for tile in feats.chunks(TILE * nf) {
        let mut p = [1f32; G];
        let mut e = [0i32; G];
        let mut v = [0f32; G];
        let mut top = [1f32; G];
        for f in tile.chunks_exact(nf) {
            for h in 0..G / INTERLEAVE {
                for q in 0..INTERLEAVE {
                    let g = q * (G / INTERLEAVE) + h;
                    let cg = point::<K>(c, g);
                    let (u, vg) = K::log_parts(f, &cg[..K::NC]);
                    // P·u ∈ [1, 2¹²⁷): its biased exponent moves into E, P returns to [1, 2).
                    let bits = (p[g] * u).to_bits();
                    e[g] = e[g].wrapping_add((bits >> 23) as i32);
                    p[g] = f32::from_bits((bits & MANTISSA) | ONE);
                    if linear {
                        v[g] += vg;
                    }
                    top[g] = if u > top[g] { u } else { top[g] };
                }
            }
        }
        if top.iter().any(|&t| t >= LOG_PRODUCT_MAX_U) {
            // A product could have overflowed: this tile by the direct form.
            let mut acc = [0f32; G];
            direct_tile::<K>(tile, c, &mut acc);
            for (s, a) in sums.iter_mut().zip(acc) {
                *s += a as f64;
            }
            continue;
        }
        let bias = 127 * (tile.len() / nf) as i32;
        for g in 0..G {
            let ln_p = crate::numeric::vmath::ln(p[g]) as f64;
            let exponent = e[g].wrapping_sub(bias) as f64;
            sums[g] += w[g] * (exponent * std::f64::consts::LN_2 + ln_p) + v[g] as f64;
        }
    }
}

/// Largest |s·f₀| and |s·c_offset| for which [`sum_exp_affine`] factors eᵘ.
const EXP_AFFINE_MAX: f32 = 16.0;

/// Most runs of equal slope in a block that [`sum_exp_affine`] factors (a grid whose slope axis
/// has fewer than 64 points after it changes slope every run of points).
const EXP_AFFINE_RUNS: usize = 4;

/// [`Form::ExpAffine`]: k = u − eᵘ, u = s·(f₀ − c_g), where the block's points fall into at most
/// [`EXP_AFFINE_RUNS`] runs of consecutive points sharing a slope s, and eᵘ = e^(s·f₀)·e^(−s·c_g)
/// (see [`Form`]). The direct form for a block with more runs or too large offsets, and for a
/// run's samples with |s·f₀| > 16.
#[inline(always)]
fn sum_exp_affine<K: Kernel>(
    feats: &[f32],
    c: &BlockConsts,
    sums: &mut [f64],
    outside: &mut [u64],
    slope: usize,
    offset: usize,
) {
    const G: usize = BLOCK_POINTS;
    // Runs of equal slope: run r covers points starts[r]..starts[r + 1].
    let mut starts = [G; EXP_AFFINE_RUNS + 1];
    let mut runs = 0;
    let mut factored = K::NF == 1 && !K::THETA_SUPPORT;
    let mut scale = [0f32; G];
    for g in 0..G {
        if g == 0 || c[slope][g] != c[slope][g - 1] {
            if runs == EXP_AFFINE_RUNS {
                factored = false;
                break;
            }
            starts[runs] = g;
            runs += 1;
        }
        // e^(−s·c) as e^(s·f) below: s·c = hi + lo exactly, e^(−hi)·(1 − lo).
        let hi = c[slope][g] * c[offset][g];
        let lo = c[slope][g].mul_add(c[offset][g], -hi);
        factored &= hi.abs() <= EXP_AFFINE_MAX;
        let eh = crate::numeric::vmath::exp(-hi);
        scale[g] = eh.mul_add(-lo, eh);
    }
    if !factored {
        return sum_direct::<K>(feats, c, sums, outside);
    }
    let mut ef = [[0f32; TILE]; EXP_AFFINE_RUNS];
    for tile in feats.chunks(TILE) {
        let mut acc = [0f32; G];
        for r in 0..runs {
            let (lo, hi) = (starts[r], starts[r + 1]);
            let s = c[slope][lo];
            // e^(s·f) = e^hi·e^lo ≈ e^hi·(1 + lo), s·f = hi + lo exactly (|lo| ≤ 2⁻²⁰: e^lo − 1 −
            // lo is below 10⁻¹²); vectorised across the tile's samples.
            for (x, &f) in ef[r].iter_mut().zip(tile) {
                let h = s * f;
                let l = s.mul_add(f, -h);
                let eh = crate::numeric::vmath::exp(h);
                *x = eh.mul_add(l, eh);
            }
            for (&f, &x) in tile.iter().zip(&ef[r]) {
                if (s * f).abs() <= EXP_AFFINE_MAX {
                    // Slices zipped, so that the loop vectorises whatever the run's bounds.
                    let lanes = acc[lo..hi]
                        .iter_mut()
                        .zip(&c[offset][lo..hi])
                        .zip(&scale[lo..hi]);
                    for ((a, &off), &sc) in lanes {
                        let u = s * (f - off);
                        *a += u - x * sc;
                    }
                } else {
                    for (g, a) in acc.iter_mut().enumerate().take(hi).skip(lo) {
                        let cg = point::<K>(c, g);
                        *a += K::k(&[f], &cg[..K::NC]);
                    }
                }
            }
        }
        for (sum, a) in sums.iter_mut().zip(acc) {
            *sum += a as f64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::families::{
        beta::BetaKernel, binomial::BinomialKernel, cauchy::CauchyKernel,
        exponential::ExponentialKernel, gamma::GammaKernel, laplace::LaplaceKernel,
        logistic::LogisticKernel, normal::NormalKernel, normal_mixture::MixtureKernel,
        student_t::StudentTKernel, uniform::UniformKernel, weibull::WeibullKernel,
    };

    /// A fixed xorshift64 sequence of pseudo-random bits.
    fn xorshift() -> impl FnMut() -> u64 {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    /// Sums and support counts of one block.
    type BlockResult = (Vec<f64>, Vec<u64>);

    /// Sums and support counts of `K` on a pseudo-random block, by the dispatched (widest vector
    /// unit) loop and by the portable loop, which on x86-64 is compiled without AVX and FMA.
    /// `fix` adjusts the block's constants (structure of arrays) before the run.
    fn both_paths<K: Kernel>(fix: fn(&mut [f32])) -> (BlockResult, BlockResult) {
        const G: usize = BLOCK_POINTS;
        let n = 3 * TILE + 17;
        let mut bits = xorshift();
        let mut next = move || (bits() >> 40) as f32 / (1u64 << 24) as f32;
        let feats: Vec<f32> = (0..n * K::NF).map(|_| 8.0 * next() - 4.0).collect();
        let mut consts: Vec<f32> = (0..K::NC * G).map(|_| 3.0 * next() - 1.0).collect();
        fix(&mut consts);
        let run = |portable: bool| {
            let (mut s, mut o) = (vec![0f64; G], vec![0u64; G]);
            if portable {
                sum_block_impl::<K>(&feats, &consts, &mut s, &mut o);
            } else {
                Blocked::<K>::NEW.sum_block(&feats, &consts, &mut s, &mut o);
            }
            (s, o)
        };
        (run(false), run(true))
    }

    /// The vectorised loop (AVX-512, AVX2 + FMA) computes bitwise what the portable loop
    /// computes, for every kernel: vectorisation is across grid points, each grid point's sum
    /// runs in sample order, and vmath's fused multiply-adds are single-rounded everywhere.
    #[test]
    fn vectorised_blocks_are_bitwise_the_portable_loop_for_every_kernel() {
        fn check<K: Kernel>(name: &str) {
            check_with::<K>(name, |_| {});
        }
        fn check_with<K: Kernel>(name: &str, fix: fn(&mut [f32])) {
            let (fast, portable) = both_paths::<K>(fix);
            assert!(
                fast.0.iter().any(|v| *v != 0.0) || name == "uniform",
                "{name}"
            );
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast.0), bits(&portable.0), "{name}: sums");
            assert_eq!(fast.1, portable.1, "{name}: support counts");
        }
        check::<NormalKernel>("normal");
        check::<ExponentialKernel>("exponential");
        check::<GammaKernel>("gamma");
        check::<BetaKernel>("beta");
        check::<WeibullKernel>("weibull");
        check::<LaplaceKernel>("laplace");
        check::<CauchyKernel>("cauchy");
        check::<StudentTKernel>("student_t");
        check::<LogisticKernel>("logistic");
        check::<UniformKernel>("uniform");
        check::<MixtureKernel>("normal_mixture");
        check::<ScaledKernel>("poisson");
        check::<BinomialKernel>("binomial");
        // The forms the random constants above do not reach: student_t's log-product form
        // (every point below the large-ν split, (ν + 1)/2 ≤ 16) and weibull's factored
        // exponential (one shape for the block).
        const G: usize = BLOCK_POINTS;
        check_with::<StudentTKernel>("student_t", |c| {
            c[4 * G..5 * G].fill(0.0);
            c[2 * G..3 * G]
                .iter_mut()
                .for_each(|v| *v = 1.0 + 5.0 * v.abs());
            c[3 * G..4 * G].iter_mut().for_each(|v| *v = 0.1 + v.abs());
        });
        check_with::<WeibullKernel>("weibull", |c| c[G..2 * G].fill(1.7));
        check_with::<WeibullKernel>("weibull", |c| {
            for (g, v) in c[G..2 * G].iter_mut().enumerate() {
                *v = 1.2 + 0.25 * (g / 21) as f32;
            }
        });
    }

    /// The forms the fast CPU path sums are the kernel itself: in f64, w(c)·ln u + v equals
    /// k(f, c) for the log-product kernels, and u − eᵘ with u = c_slope·(f₀ − c_offset) for the
    /// factored-exponential one, over a spread of features and constants; u ≥ 1 and never NaN.
    #[test]
    fn kernel_forms_are_the_kernel() {
        fn check<K: Kernel>(name: &str) {
            let mut bits = xorshift();
            let mut next = move || (bits() >> 11) as f64 / (1u64 << 53) as f64;
            for _ in 0..10_000 {
                let f = [20.0 * next() - 10.0];
                let mut c = [0f64; MAX_KERNEL_CONSTS];
                for v in c.iter_mut().take(K::NC) {
                    *v = 0.05 + 3.0 * next();
                }
                if name == "student_t" {
                    c[4] = 0.0;
                }
                let c = &c[..K::NC];
                let k = K::k(&f, c);
                let form = match K::FORM {
                    Form::Direct => unreachable!("{name}"),
                    Form::LogProduct { linear } => {
                        let (u, v) = K::log_parts(&f, c);
                        assert!(u >= 1.0, "{name}: u = {u}");
                        assert!(linear || v == 0.0, "{name}: v = {v}");
                        K::log_weight(c) * u.ln() + v
                    }
                    Form::ExpAffine { slope, offset } => {
                        let u = c[slope] * (f[0] - c[offset]);
                        u - u.exp()
                    }
                };
                assert!(
                    (form - k).abs() <= 1e-12 * k.abs().max(1.0),
                    "{name}: f = {f:?}, c = {c:?}: {form} vs {k}"
                );
            }
        }
        check::<CauchyKernel>("cauchy");
        check::<StudentTKernel>("student_t");
        check::<LogisticKernel>("logistic");
        check::<MixtureKernel>("normal_mixture");
        check::<WeibullKernel>("weibull");
    }

    /// The support counts of the θ-dependent families (counted in a second pass over each tile)
    /// are the number of samples for which `outside` holds, per grid point.
    #[test]
    fn support_counts_are_the_number_of_samples_outside() {
        const G: usize = BLOCK_POINTS;
        let feats: Vec<f32> = (0..1000).map(|i| (i % 25) as f32 - 6.0).collect();
        // Binomial: c₀ = logit p, c₁ = support bound on the shifted sample.
        let mut consts = vec![0.3f32; 2 * G];
        for g in 0..G {
            consts[G + g] = g as f32 * 0.25 - 4.0;
        }
        let (mut s, mut o) = (vec![0f64; G], vec![0u64; G]);
        Blocked::<BinomialKernel>::NEW.sum_block(&feats, &consts, &mut s, &mut o);
        for g in 0..G {
            let want = feats.iter().filter(|&&f| f > consts[G + g]).count() as u64;
            assert_eq!(o[g], want, "point {g}");
        }
    }
}
