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
    /// f32, then added to the f64 sums in sample order.
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

/// The blocked loop: for each sample, k for all 64 grid points (a loop the compiler vectorises
/// across grid points, [`INTERLEAVE`] chains at a time), accumulated in f32 over tiles of 256
/// samples, then into f64. The order of the additions into each grid point's sum is the sample
/// order, whatever the vector width or interleave.
#[inline(always)]
fn sum_block_impl<K: Kernel>(feats: &[f32], consts: &[f32], sums: &mut [f64], outside: &mut [u64]) {
    const G: usize = BLOCK_POINTS;
    let nf = K::NF;
    let mut c = [[0f32; G]; MAX_KERNEL_CONSTS];
    for j in 0..K::NC {
        c[j].copy_from_slice(&consts[j * G..(j + 1) * G]);
    }
    let mut out = [0u32; G];
    for tile in feats.chunks(TILE * nf) {
        let mut acc = [0f32; G];
        for f in tile.chunks_exact(nf) {
            for h in 0..G / INTERLEAVE {
                for q in 0..INTERLEAVE {
                    let g = q * (G / INTERLEAVE) + h;
                    let mut cg = [0f32; MAX_KERNEL_CONSTS];
                    for j in 0..K::NC {
                        cg[j] = c[j][g];
                    }
                    acc[g] += K::k(f, &cg[..K::NC]);
                }
            }
        }
        // The support test in a second pass over the tile (still in L1): with both in one loop,
        // the 64 counters and the 64 sums do not fit in the vector registers together and spill
        // (4× slower for binomial on AVX2).
        if K::THETA_SUPPORT {
            for f in tile.chunks_exact(nf) {
                for g in 0..G {
                    let mut cg = [0f32; MAX_KERNEL_CONSTS];
                    for j in 0..K::NC {
                        cg[j] = c[j][g];
                    }
                    out[g] += K::outside(f, &cg[..K::NC]) as u32;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::families::{
        beta::BetaKernel, binomial::BinomialKernel, cauchy::CauchyKernel,
        exponential::ExponentialKernel, gamma::GammaKernel, laplace::LaplaceKernel,
        logistic::LogisticKernel, normal::NormalKernel, normal_mixture::MixtureKernel,
        student_t::StudentTKernel, uniform::UniformKernel, weibull::WeibullKernel,
    };

    /// Sums and support counts of one block.
    type BlockResult = (Vec<f64>, Vec<u64>);

    /// Sums and support counts of `K` on a pseudo-random block, by the dispatched (widest vector
    /// unit) loop and by the portable loop, which on x86-64 is compiled without AVX and FMA.
    fn both_paths<K: Kernel>() -> (BlockResult, BlockResult) {
        const G: usize = BLOCK_POINTS;
        let n = 3 * TILE + 17;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        let feats: Vec<f32> = (0..n * K::NF).map(|_| 8.0 * next() - 4.0).collect();
        let consts: Vec<f32> = (0..K::NC * G).map(|_| 3.0 * next() - 1.0).collect();
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
            let (fast, portable) = both_paths::<K>();
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
