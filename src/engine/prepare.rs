//! Host side of the a(θ) + b(x) + k(x, θ) split shared by the kernel paths (gpu, cpu, suffstats): preparing the
//! samples (features rounded to f32, Σb in f64, samples outside the θ-independent support),
//! computing the kernel constants in f64, and assembling S(θ) = n·a(θ) + Σb + Σk.

use crate::engine::partials::{KernelSums, Partials};
use crate::model::grid::Grid;
use crate::model::{Family, Shift, MAX_FEATURES};
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
    /// The scale exponents sⱼ: feature j went to the device divided by 2^sⱼ (see [`Centre`]).
    pub scale: Vec<i32>,
    /// Smallest and largest value of each feature as the device sees it (centred and scaled, in
    /// f64 before rounding), over the samples inside the support; `None` without such samples.
    pub range: Option<Vec<(f64, f64)>>,
    /// Total number of samples.
    pub n: usize,
}

/// Σᵢ g(j, fⱼ(xᵢ)) for each feature j over the samples of `xs` inside the support, and their
/// count: Neumaier sums per block of [`BLOCK`] samples (in parallel), merged in block order, so
/// the result does not depend on the number of threads.
fn feature_sums(
    family: &dyn Family,
    xs: &[f64],
    location: f64,
    g: impl Fn(usize, f64) -> f64 + Sync,
) -> (Vec<Neumaier>, usize) {
    let nf = family.n_features();
    let parts: Vec<(Vec<Neumaier>, usize)> = xs
        .par_chunks(BLOCK)
        .map(|c| {
            let mut s = vec![Neumaier::default(); nf];
            let mut k = 0;
            let mut f = vec![0.0; nf];
            for &x in c.iter().filter(|&&x| family.in_support(x)) {
                family.features(x, location, &mut f);
                for j in 0..nf {
                    s[j].add(g(j, f[j]));
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
    (total, k)
}

/// Mean of each unshifted feature over the samples inside the support, rounded to f32 (so that
/// centring is exact for f32-representable features); combined in block order. For integer data
/// the means are rounded to multiples of 1/256, so that x − s is exact in f32 for every integer
/// within 2¹⁵ of s: the few distinct values of integer data would otherwise carry the same
/// rounding error millions of times.
fn feature_means(family: &dyn Family, xs: &[f64], location: f64) -> Vec<f64> {
    let nf = family.n_features();
    let (total, k) = feature_sums(family, xs, location, |_, f| f);
    let mut means = vec![0.0; nf];
    if k > 0 {
        for j in 0..nf {
            let m = total[j].value() / k as f64;
            let m = if family.integer_data() {
                (m * 256.0).round() / 256.0
            } else {
                m
            };
            // Rounded to f32 where f32 holds it (beyond, the data are rescaled anyway).
            let r = m as f32;
            means[j] = if r.is_finite() { r as f64 } else { m };
        }
    }
    means
}

/// Mean of the samples of `xs` inside the support, in f64 (0 without such samples): the
/// location of [`Family::mean_relative`] families.
fn data_mean(family: &dyn Family, xs: &[f64]) -> f64 {
    let parts: Vec<(Neumaier, usize)> = xs
        .par_chunks(BLOCK)
        .map(|c| {
            let mut s = Neumaier::default();
            let mut k = 0;
            for &x in c.iter().filter(|&&x| family.in_support(x)) {
                s.add(x);
                k += 1;
            }
            (s, k)
        })
        .collect();
    let (mut total, mut k) = (Neumaier::default(), 0);
    for (p, c) in parts {
        total.add(p.value());
        k += c;
    }
    if k > 0 {
        total.value() / k as f64
    } else {
        0.0
    }
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

/// Root-mean-square of each centred feature over the samples of `xs` inside the support.
fn feature_spreads(family: &dyn Family, xs: &[f64], location: f64, linear: &[f64]) -> Vec<f64> {
    let (total, k) = feature_sums(family, xs, location, |j, f| {
        let d = f - linear[j];
        d * d
    });
    total
        .iter()
        .map(|t| {
            if k > 0 {
                (t.value() / k as f64).sqrt()
            } else {
                0.0
            }
        })
        .collect()
}

/// Centred features whose spread lies within [2⁻¹⁶, 2¹⁶] are not rescaled.
const SCALE_FREE: f64 = 65_536.0;

/// The scale exponent for a feature of RMS `rms`: the nearest power of two when the spread is
/// outside [2⁻¹⁶, 2¹⁶] (0 otherwise, or for a spread of 0 or non-finite).
fn scale_exponent(rms: f64) -> i32 {
    if !rms.is_finite() || rms == 0.0 || (1.0 / SCALE_FREE..=SCALE_FREE).contains(&rms) {
        return 0;
    }
    (rms.log2().round() as i32).clamp(-1000, 1000)
}

/// How features are centred (and scaled) on their way to the f32 kernels ([`Shift`],
/// [`Family::scaling`]), fixed for a whole data set from its first chunk.
///
/// Scaling: for a family that declares how its constants scale with its features, feature j is
/// divided by 2^sⱼ, the power of two nearest its spread after centring whenever that spread is
/// outside [2⁻¹⁶, 2¹⁶], and kernel constant i multiplied by 2^(Σⱼ pᵢⱼ·sⱼ) ([`scale_consts`]).
/// The kernel's value is unchanged — exactly, since these are powers of two — but its operands
/// stay inside the f32 range whatever the data's units (10⁻³⁰ kg, 10³⁰ m).
#[derive(Debug, Clone, PartialEq)]
pub struct Centre {
    /// [`Shift::Location`]: the centre c passed to [`Family::features`]; [`Shift::Linear`]
    /// with [`Family::mean_relative`]: the data mean x̄ passed to it (else 0).
    pub location: f64,
    /// [`Shift::Linear`]: the centres sⱼ subtracted from every feature (else 0), one per feature.
    pub linear_shift: Vec<f64>,
    /// Scale exponents sⱼ per feature (0: not scaled).
    pub scale: Vec<i32>,
}

impl Centre {
    /// The centring of `family` for data whose first samples are `xs`: the means of the
    /// features over the first [`CENTRE_SAMPLES`] samples of `xs` (see `feature_means`).
    pub fn of(family: &dyn Family, xs: &[f64]) -> Centre {
        let head = &xs[..xs.len().min(CENTRE_SAMPLES)];
        let nf = family.n_features();
        let none = vec![0.0; nf];
        let (location, linear_shift) = match family.shift() {
            Shift::None => (0.0, none),
            Shift::Location => (feature_means(family, head, 0.0)[0], none),
            Shift::Linear if family.mean_relative() => {
                let m = data_mean(family, head);
                (m, feature_means(family, head, m))
            }
            Shift::Linear => (0.0, feature_means(family, head, 0.0)),
        };
        let scale = match family.scaling() {
            Some(_) => feature_spreads(family, head, location, &linear_shift)
                .into_iter()
                .map(scale_exponent)
                .collect(),
            None => vec![0; nf],
        };
        Centre {
            location,
            linear_shift,
            scale,
        }
    }

    /// The factors 2^sⱼ the features were divided by, when any is not 1.
    pub fn rescaled_by(&self) -> Option<Vec<f64>> {
        self.scale
            .iter()
            .any(|&s| s != 0)
            .then(|| self.scale.iter().map(|&s| 2f64.powi(s)).collect())
    }

    /// The shift handed to [`Family::kernel_consts`] and the `_at` hooks: the location c (or
    /// x̄) where there is one, else s₀. (Location families have no linear shifts, and linear
    /// families without [`Family::mean_relative`] no location, so that is c + s₀; a
    /// mean-relative family's location x̄ is nonzero whenever a sample is inside the support.)
    pub fn shift(&self) -> f64 {
        if self.location != 0.0 {
            self.location
        } else {
            self.linear_shift[0]
        }
    }
}

/// The per-feature buffers of [`prepare_block`]: the features of one sample, the linear shifts
/// and scale factors applied to them, and the range of the results so far.
struct FeatureBuffers<'a> {
    f: &'a mut [f64],
    shift: &'a [f64],
    factor: &'a [f64],
    range: &'a mut [(f64, f64)],
}

/// One block of [`prepare_centred`]: for each sample inside the support, its features
/// (fⱼ − sⱼ)·2^(−eⱼ) in f32 appended to `feats` (their range kept), b(x) added to `data`; the
/// others counted in `outside`. Returns the range of each feature.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn prepare_block(
    family: &dyn Family,
    xs: &[f64],
    location: f64,
    shift: f64,
    buf: FeatureBuffers<'_>,
    feats: &mut Vec<f32>,
    outside: &mut u64,
    data: &mut Neumaier,
) -> Vec<(f64, f64)> {
    let FeatureBuffers {
        f,
        shift: lin,
        factor,
        range,
    } = buf;
    for &x in xs {
        if !family.in_support(x) {
            *outside += 1;
            continue;
        }
        family.features(x, location, f);
        for j in 0..f.len() {
            let v = (f[j] - lin[j]) * factor[j];
            range[j] = (range[j].0.min(v), range[j].1.max(v));
            feats.push(v as f32);
        }
        data.add(family.data_term_at(x, shift));
    }
    range.to_vec()
}

/// Prepares `xs` (one chunk of a data set) for the device paths of `family` with the data set's
/// centring.
pub fn prepare_centred(family: &dyn Family, xs: &[f64], centre: &Centre) -> Prepared {
    let nf = family.n_features();
    // `location` goes to `features`; `linear_shift` is subtracted from the features after.
    let Centre {
        location,
        ref linear_shift,
        ref scale,
    } = *centre;
    let factor: Vec<f64> = scale.iter().map(|&s| 2f64.powi(-s)).collect();
    let shift = centre.shift();
    type Part = (Vec<f32>, u64, Neumaier, Vec<(f64, f64)>);
    let parts: Vec<Part> = xs
        .par_chunks(BLOCK)
        .map(|c| {
            let mut feats = Vec::with_capacity(c.len() * nf);
            let mut outside = 0u64;
            let mut b = Neumaier::default();
            // The built-in families' buffers on the stack, where the compiler keeps them in
            // registers across the families' (opaque) calls; a model's with more features on
            // the heap.
            let mut stack = (
                [0.0; MAX_FEATURES],
                [0.0; MAX_FEATURES],
                [0.0; MAX_FEATURES],
            );
            let mut stack_range = [(f64::INFINITY, f64::NEG_INFINITY); MAX_FEATURES];
            let (mut heap_f, mut heap_range);
            let buf = if nf <= MAX_FEATURES {
                let (f, lin, fac) = &mut stack;
                lin[..nf].copy_from_slice(&linear_shift[..nf]);
                fac[..nf].copy_from_slice(&factor[..nf]);
                FeatureBuffers {
                    f: &mut f[..nf],
                    shift: &lin[..nf],
                    factor: &fac[..nf],
                    range: &mut stack_range[..nf],
                }
            } else {
                heap_f = vec![0.0; nf];
                heap_range = vec![(f64::INFINITY, f64::NEG_INFINITY); nf];
                FeatureBuffers {
                    f: &mut heap_f,
                    shift: linear_shift,
                    factor: &factor,
                    range: &mut heap_range,
                }
            };
            let range = prepare_block(
                family,
                c,
                location,
                shift,
                buf,
                &mut feats,
                &mut outside,
                &mut b,
            );
            (feats, outside, b, range)
        })
        .collect();
    let mut features = Vec::with_capacity(xs.len() * nf);
    let mut outside = 0;
    let mut data_sum = Neumaier::default();
    let mut range = vec![(f64::INFINITY, f64::NEG_INFINITY); nf];
    for (f, o, b, r) in parts {
        features.extend_from_slice(&f);
        outside += o;
        data_sum.add(b.value());
        for (t, p) in range.iter_mut().zip(r) {
            *t = (t.0.min(p.0), t.1.max(p.1));
        }
    }
    let n_inside = features.len() / nf;
    Prepared {
        n_inside,
        features,
        outside,
        data_sum: data_sum.value(),
        shift,
        linear_shift: linear_shift.clone(),
        scale: scale.clone(),
        range: (n_inside > 0).then_some(range),
        n: xs.len(),
    }
}

/// Multiplies the kernel constants `c` by 2^(Σⱼ pᵢⱼ·sⱼ) for the scale exponents `scale`
/// ([`Family::scaling`]), so that the kernel on scaled features has the value it has on
/// unscaled ones.
pub fn scale_consts(family: &dyn Family, scale: &[i32], c: &mut [f64]) {
    if scale.iter().all(|&s| s == 0) {
        return;
    }
    if let Some(powers) = family.scaling() {
        for (ci, p) in c.iter_mut().zip(powers) {
            let e: i32 = p.iter().zip(scale).map(|(&p, &s)| p * s).sum();
            *ci *= 2f64.powi(e);
        }
    }
}

/// The kernel constants of θ for the data set's centring, scaled (f64).
pub fn consts_of(family: &dyn Family, theta: &[f64], centre: &Centre, c: &mut [f64]) {
    family.kernel_consts(theta, centre.shift(), c);
    scale_consts(family, &centre.scale, c);
}

/// Kernel constants of every grid point for the data set's centring, computed in f64, scaled,
/// and rounded to f32, point-major.
pub fn kernel_consts(family: &dyn Family, grid: &Grid, centre: &Centre) -> Vec<f32> {
    let nc = family.n_kernel_consts();
    let mut out = vec![0.0f32; grid.len() * nc];
    if nc == 0 {
        return out;
    }
    out.par_chunks_mut(nc).enumerate().for_each_init(
        || (vec![0.0; grid.n_params()], vec![0.0; nc]),
        |(theta, c), (p, dst)| {
            grid.theta_into(p, theta);
            consts_of(family, theta, centre, c);
            for (d, &v) in dst.iter_mut().zip(c.iter()) {
                *d = v as f32;
            }
        },
    );
    out
}

/// Largest |k| per sample the f32 kernels are trusted with: sums of a 4,096-sample sub-chunk
/// stay far below f32's 3.4·10³⁸.
const KERNEL_LIMIT: f64 = 1e34;

/// Whether an f32 value `v32` stands for the f64 value `v` without overflow or loss to
/// underflow (a nonzero value rounded into f32's subnormal range or to 0).
fn fits_f32(v: f64) -> bool {
    let r = v as f32;
    r.is_finite() && (v == 0.0 || r.abs() >= f32::MIN_POSITIVE)
}

/// Whether every feature of the chunk fits f32 ([`fits_f32`] at both ends of its range).
pub fn features_fit(prep: &Prepared) -> bool {
    prep.range
        .as_ref()
        .is_none_or(|r| r.iter().all(|&(lo, hi)| fits_f32(lo) && fits_f32(hi)))
}

/// The grid points of a chunk whose f32 evaluation cannot be trusted, to be evaluated in f64
/// instead ([`evaluate_f64`]): points with all samples inside the support whose kernel sum came
/// back non-finite (an f32 overflow is a numerical failure, never "outside the support"); and,
/// with `predict`, points whose scaled constants do not fit f32, or whose kernel at the chunk's
/// feature extremes exceeds the f32 kernels' range (`KERNEL_LIMIT`), or whose features do not fit
/// f32 at all, or where the family says its f32 kernel cannot resolve the chunk's features
/// ([`Family::f32_resolves`]).
pub fn f64_points(
    family: &dyn Family,
    grid: &Grid,
    centre: &Centre,
    prep: &Prepared,
    part: &Partials,
    predict: bool,
) -> Vec<usize> {
    let nc = family.n_kernel_consts();
    let nf = family.n_features();
    let features_fit = features_fit(prep);
    // Without the prediction, on features that fit, only a point with all samples inside and a
    // non-finite sum can need f64: when there is none (nearly always), no point is looked at
    // further.
    if !predict
        && features_fit
        && !part
            .sum
            .par_iter()
            .zip(part.outside.par_iter())
            .any(|(s, &o)| o == 0 && !s.is_finite())
    {
        return Vec::new();
    }
    // Corners of the feature box (up to 4 features; beyond, the post-check alone).
    let corners: Vec<Vec<f64>> = match &prep.range {
        Some(r) if predict && nf <= 4 => (0..1usize << nf)
            .map(|m| {
                (0..nf)
                    .map(|j| if m >> j & 1 == 1 { r[j].1 } else { r[j].0 })
                    .collect()
            })
            .collect(),
        _ => Vec::new(),
    };
    (0..grid.len())
        .into_par_iter()
        .map_init(
            || (vec![0.0; grid.n_params()], vec![0.0; nc]),
            |(theta, c), p| {
                if part.outside[p] > 0 {
                    return None;
                }
                // Without the prediction, a finite sum of features that fit needs no more checks
                // (a θ outside the family's constraints has all samples outside, above).
                if !predict && part.sum[p].is_finite() && features_fit {
                    return None;
                }
                grid.theta_into(p, theta);
                if family.validate(theta).is_err() {
                    return None;
                }
                if !part.sum[p].is_finite() || !features_fit {
                    return Some(p);
                }
                if !predict {
                    return None;
                }
                consts_of(family, theta, centre, c);
                if !c.iter().all(|&v| fits_f32(v)) {
                    return Some(p);
                }
                if let Some(r) = &prep.range {
                    if !family.f32_resolves(r, c) {
                        return Some(p);
                    }
                }
                corners
                    .iter()
                    .any(|f| {
                        let k = family.kernel(f, c).abs();
                        k.is_nan() || k > KERNEL_LIMIT
                    })
                    .then_some(p)
            },
        )
        .flatten()
        .collect()
}

/// Replaces the partials of `points` with their f64 evaluation over the chunk `xs` by the full
/// density (the `cpu-ref` arithmetic).
pub fn evaluate_f64(
    family: &dyn Family,
    grid: &Grid,
    xs: &[f64],
    points: &[usize],
    part: &mut Partials,
) {
    for (&p, (s, o)) in points.iter().zip(ln_pdf_sums(family, grid, xs, points)) {
        part.sum[p] = s;
        part.outside[p] = o;
    }
}

/// (Σᵢ ln Q(xᵢ | θ), samples outside) of each of `points` over the chunk `xs`, in f64 by the full
/// density (the `cpu-ref` arithmetic), in parallel.
pub fn ln_pdf_sums(
    family: &dyn Family,
    grid: &Grid,
    xs: &[f64],
    points: &[usize],
) -> Vec<(f64, u64)> {
    points
        .par_iter()
        .map(|&p| family.ln_pdf_sum(xs, &grid.theta(p)))
        .collect()
}

/// The θ-only terms of [`assemble`] per grid point: whether θ is a distribution of the family,
/// a(θ) at the centre's shift, and k(s, c) for a linear shift s. They depend on the grid and the
/// centring only, which every chunk of a sweep shares, so an evaluator computes them for its
/// first chunk and reuses them for the others ([`assemble_with`]); a chunk with another centring
/// computes them again.
#[derive(Debug, Default)]
pub struct ThetaTerms {
    /// The centring the terms were computed for: bits of the shift and of the linear shifts.
    key: Option<(u64, Vec<u64>)>,
    /// Per point: `None` when θ fails the family's constraints, else (a(θ), k(s, c) or 0).
    terms: Vec<Option<(f64, f64)>>,
}

impl ThetaTerms {
    /// The terms for `grid` at the centring of `prep`, computed unless held already.
    pub fn ensure(
        &mut self,
        family: &dyn Family,
        grid: &Grid,
        prep: &Prepared,
    ) -> &[Option<(f64, f64)>] {
        let key = (
            prep.shift.to_bits(),
            prep.linear_shift.iter().map(|v| v.to_bits()).collect(),
        );
        if self.key.as_ref() != Some(&key) || self.terms.len() != grid.len() {
            let linear = family.shift() == Shift::Linear;
            self.terms = (0..grid.len())
                .into_par_iter()
                .map_init(
                    || {
                        (
                            vec![0.0; grid.n_params()],
                            vec![0.0; family.n_kernel_consts()],
                        )
                    },
                    |(theta, c), p| {
                        grid.theta_into(p, theta);
                        theta_terms_at(family, linear, prep, theta, c)
                    },
                )
                .collect();
            self.key = Some(key);
        }
        &self.terms
    }
}

/// The θ-only terms of one point of [`ThetaTerms`]: `None` when θ fails the family's
/// constraints, else (a(θ), k(s, c) for a linear shift s (`linear`), or 0), `c` scratch for the
/// kernel constants.
#[inline]
pub fn theta_terms_at(
    family: &dyn Family,
    linear: bool,
    prep: &Prepared,
    theta: &[f64],
    c: &mut [f64],
) -> Option<(f64, f64)> {
    if family.validate(theta).is_err() {
        return None;
    }
    let k_shift = if linear {
        family.kernel_consts(theta, prep.shift, c);
        family.kernel(&prep.linear_shift, c)
    } else {
        0.0
    };
    Some((family.log_norm_at(theta, prep.shift), k_shift))
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
    assemble_with(family, grid, prep, sums, host, &mut ThetaTerms::default())
}

/// [`assemble`] with the θ-only terms held in `terms` from an earlier chunk of the same sweep
/// (bitwise the same sums: the same operations on the same values).
pub fn assemble_with(
    family: &dyn Family,
    grid: &Grid,
    prep: &Prepared,
    sums: &KernelSums,
    host: Option<&[f64]>,
    terms: &mut ThetaTerms,
) -> Partials {
    let mut out = Partials::zeros(grid.len());
    assemble_into(family, grid, prep, sums, host, terms, &mut out);
    out
}

/// [`assemble_with`] into `out`, whose buffers are reused (resized to the grid; every value is
/// written), so that an evaluator of many chunks allocates them once.
pub fn assemble_into(
    family: &dyn Family,
    grid: &Grid,
    prep: &Prepared,
    sums: &KernelSums,
    host: Option<&[f64]>,
    terms: &mut ThetaTerms,
    out: &mut Partials,
) {
    let terms = terms.ensure(family, grid, prep);
    out.sum.resize(grid.len(), 0.0);
    out.outside.resize(grid.len(), 0);
    out.n = prep.n as u64;
    let n_in = prep.n_inside as f64;
    out.sum
        .par_iter_mut()
        .zip(out.outside.par_iter_mut())
        .enumerate()
        .for_each(|(p, (s, o))| {
            (*s, *o) = point_sum(
                prep,
                n_in,
                terms[p],
                sums.k[p],
                host.map_or(0.0, |h| h[p]),
                sums.outside[p],
            );
        });
}

/// One point of [`assemble`]: (S, samples outside) = (n·a(θ) + Σb + Σk + n·k(s, θ) + h,
/// outside the θ-independent support + `outside`) from its θ-only `terms`, kernel sum `k`,
/// host-coupled sum `h` and θ-dependent count `outside`; all n samples outside when θ fails the
/// family's constraints (`terms` is `None`). `n_in` is the samples inside, as f64.
#[inline]
pub fn point_sum(
    prep: &Prepared,
    n_in: f64,
    terms: Option<(f64, f64)>,
    k: f64,
    h: f64,
    outside: u64,
) -> (f64, u64) {
    let Some((log_norm, k_shift)) = terms else {
        return (0.0, prep.n as u64);
    };
    (
        n_in * log_norm + prep.data_sum + k + n_in * k_shift + h,
        prep.outside + outside,
    )
}
