//! Host side of the a(θ) + b(x) + k(x, θ) split shared by the kernel paths (gpu, cpu, suffstats): preparing the
//! samples (features rounded to f32, Σb in f64, samples outside the θ-independent support),
//! computing the kernel constants in f64, and assembling S(θ) = n·a(θ) + Σb + Σk.

use crate::engine::partials::{KernelSums, Partials};
use crate::model::grid::Grid;
use crate::model::{Family, Shift};
use crate::numeric::Neumaier;
use rayon::prelude::*;

/// Samples per block of the parallel preparation (results combine in block order).
const BLOCK: usize = 1 << 18;

/// Samples prepared for a device: what the kernel reads, and the host-side sums.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Kernel features of the samples inside the θ-independent support, f32, sample-major.
    pub features: Vec<f32>,
    /// Number of samples inside the θ-independent support.
    pub n_inside: usize,
    /// Number of samples outside it (S = −∞ for every θ when > 0).
    pub outside: u64,
    /// Σ b(xᵢ) over the samples inside, in f64.
    pub data_sum: f64,
    /// The shift handed to [`Family::kernel_consts`]: the centre subtracted from the first
    /// feature ([`Shift::Location`] or [`Shift::Linear`]; else 0).
    pub shift: f64,
    /// [`Shift::Linear`]: the centres sⱼ subtracted from every feature (else 0), one per feature.
    pub linear_shift: Vec<f64>,
    /// Total number of samples.
    pub n: usize,
}

/// Mean of each unshifted feature over the samples inside the support, rounded to f32 (so that
/// centring is exact for f32-representable features); combined in block order. For integer data
/// the means are rounded to multiples of 1/256, so that x − s is exact in f32 for every integer
/// within 2¹⁵ of s: the few distinct values of integer data would otherwise carry the same
/// rounding error millions of times.
fn feature_means(family: &dyn Family, xs: &[f64]) -> Vec<f64> {
    let nf = family.n_features();
    let parts: Vec<(Vec<Neumaier>, usize)> = xs
        .par_chunks(BLOCK)
        .map(|c| {
            let mut s = vec![Neumaier::default(); nf];
            let mut k = 0;
            let mut f = vec![0.0; nf];
            for &x in c.iter().filter(|&&x| family.in_support(x)) {
                family.features(x, 0.0, &mut f);
                for j in 0..nf {
                    s[j].add(f[j]);
                }
                k += 1;
            }
            (s, k)
        })
        .collect();
    let mut total = vec![Neumaier::default(); nf];
    let mut k = 0;
    for (p, c) in parts {
        for j in 0..nf {
            total[j].add(p[j].value());
        }
        k += c;
    }
    let mut means = vec![0.0; nf];
    if k > 0 {
        for j in 0..nf {
            let m = total[j].value() / k as f64;
            let m = if family.integer_data() {
                (m * 256.0).round() / 256.0
            } else {
                m
            };
            means[j] = m as f32 as f64;
        }
    }
    means
}

/// Samples per chunk of the evaluation pipeline: 2²² = 4,194,304.
///
/// Every path evaluates a data set chunk by chunk — chunk k holds samples
/// [k·CHUNK, (k+1)·CHUNK) — into per-grid-point partials merged exactly
/// ([`crate::engine::partials::PartialSums`]). Data in memory and data streamed from a reader are
/// cut at the same places and centred the same way ([`Centre`], from the first chunk), so their
/// results are bitwise equal on the same backend; streamed data never take more memory than a few
/// chunks, whatever n.
pub const CHUNK: usize = 1 << 22;

/// Samples from which the centring is computed: the first chunk of the data ([`CHUNK`]), so
/// that it is fixed before any chunk is evaluated and the same whether the data are in memory or
/// streamed.
pub const CENTRE_SAMPLES: usize = CHUNK;

/// How features are centred on their way to the device ([`Shift`]), fixed for a whole data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Centre {
    /// [`Shift::Location`]: the centre c passed to [`Family::features`] (else 0).
    pub location: f64,
    /// [`Shift::Linear`]: the centres sⱼ subtracted from every feature (else 0), one per feature.
    pub linear_shift: Vec<f64>,
}

impl Centre {
    /// The centring of `family` for data whose first samples are `xs`: the means of the
    /// features over the first [`CENTRE_SAMPLES`] samples of `xs` (see `feature_means`).
    pub fn of(family: &dyn Family, xs: &[f64]) -> Centre {
        let head = &xs[..xs.len().min(CENTRE_SAMPLES)];
        let none = vec![0.0; family.n_features()];
        match family.shift() {
            Shift::None => Centre {
                location: 0.0,
                linear_shift: none,
            },
            Shift::Location => Centre {
                location: feature_means(family, head)[0],
                linear_shift: none,
            },
            Shift::Linear => Centre {
                location: 0.0,
                linear_shift: feature_means(family, head),
            },
        }
    }

    /// The shift handed to [`Family::kernel_consts`]: c or s₀.
    pub fn shift(&self) -> f64 {
        self.location + self.linear_shift[0]
    }
}

/// Prepares `xs` (one chunk of a data set) for the device paths of `family` with the data set's
/// centring.
pub fn prepare_centred(family: &dyn Family, xs: &[f64], centre: &Centre) -> Prepared {
    let nf = family.n_features();
    // `location` goes to `features`; `linear_shift` is subtracted from the features after.
    let Centre {
        location,
        ref linear_shift,
    } = *centre;
    let parts: Vec<(Vec<f32>, u64, Neumaier)> = xs
        .par_chunks(BLOCK)
        .map(|c| {
            let mut feats = Vec::with_capacity(c.len() * nf);
            let mut outside = 0u64;
            let mut b = Neumaier::default();
            let mut f = vec![0.0; nf];
            for &x in c {
                if !family.in_support(x) {
                    outside += 1;
                    continue;
                }
                family.features(x, location, &mut f);
                feats.extend((0..nf).map(|j| (f[j] - linear_shift[j]) as f32));
                b.add(family.data_term(x));
            }
            (feats, outside, b)
        })
        .collect();
    let mut features = Vec::with_capacity(xs.len() * nf);
    let mut outside = 0;
    let mut data_sum = Neumaier::default();
    for (f, o, b) in parts {
        features.extend_from_slice(&f);
        outside += o;
        data_sum.add(b.value());
    }
    Prepared {
        n_inside: features.len() / nf,
        features,
        outside,
        data_sum: data_sum.value(),
        shift: location + linear_shift[0],
        linear_shift: linear_shift.clone(),
        n: xs.len(),
    }
}

/// Kernel constants of every grid point, computed in f64 and rounded to f32, point-major.
pub fn kernel_consts(family: &dyn Family, grid: &Grid, shift: f64) -> Vec<f32> {
    let nc = family.n_kernel_consts();
    let mut out = vec![0.0f32; grid.len() * nc];
    out.par_chunks_mut(nc).enumerate().for_each_init(
        || (vec![0.0; grid.n_params()], vec![0.0; nc]),
        |(theta, c), (p, dst)| {
            grid.theta_into(p, theta);
            family.kernel_consts(theta, shift, c);
            for (d, &v) in dst.iter_mut().zip(c.iter()) {
                *d = v as f32;
            }
        },
    );
    out
}

/// S(θ) = n·a(θ) + Σb + Σk (+ n·k(s, θ) for a linear shift s, + the family's host-coupled
/// sums) per grid point; samples outside
/// the θ-independent support, or outside the θ-dependent one as counted by the kernel, make
/// S = −∞. Points failing a cross-parameter constraint have all n samples outside.
pub fn assemble(
    family: &dyn Family,
    grid: &Grid,
    prep: &Prepared,
    sums: &KernelSums,
    host: Option<&[f64]>,
) -> Partials {
    let mut out = Partials::zeros(grid.len());
    out.n = prep.n as u64;
    let n_in = prep.n_inside as f64;
    let linear = family.shift() == Shift::Linear;
    out.sum
        .par_iter_mut()
        .zip(out.outside.par_iter_mut())
        .enumerate()
        .for_each_init(
            || {
                (
                    vec![0.0; grid.n_params()],
                    vec![0.0; family.n_kernel_consts()],
                )
            },
            |(theta, c), (p, (s, o))| {
                grid.theta_into(p, theta);
                if family.validate(theta).is_err() {
                    (*s, *o) = (0.0, prep.n as u64);
                    return;
                }
                let h = host.map_or(0.0, |h| h[p]);
                let centre = if linear {
                    family.kernel_consts(theta, prep.shift, c);
                    n_in * family.kernel(&prep.linear_shift, c)
                } else {
                    0.0
                };
                *s = n_in * family.log_norm(theta) + prep.data_sum + sums.k[p] + centre + h;
                *o = prep.outside + sums.outside[p];
            },
        );
    out
}
