//! Distribution families: one file per family here, one WGSL file per family in
//! `shaders/family/`, and one line in [`REGISTRY`].
//!
//! Every family splits its log-density as
//!
//! ```text
//! log Q(x | θ) = a(θ) + b(x) + k(x, θ)          (x inside the support)
//! ```
//!
//! * `a(θ)` ([`Family::log_norm`]) — θ-only terms (normalisers, `lgamma` of parameters), computed
//!   on the host in f64 once per grid point;
//! * `b(x)` ([`Family::data_term`]) — x-only terms (`-lgamma(x+1)`, Jacobians), summed once per
//!   data set on the host in f64;
//! * `k(x, θ)` ([`Family::kernel`], mirrored by `k4` in the WGSL file) — the coupled kernel, the
//!   only part evaluated per sample per grid point on the device, from a few per-grid-point
//!   constants ([`Family::kernel_consts`]) computed on the host in f64.
//!
//! The full log-density [`Family::ln_pdf`] is written independently of the split: it is what the
//! `cpu-ref` oracle evaluates, so a mistake in the split shows up as a disagreement.

use super::grid::Grid;
use super::kernel::CoupledKernel;
use super::moments::Moments;
use super::param::{validate_domains, Domain, HasParams, ParamSpec};
use super::suffstats::SuffStatsSpec;
use crate::error::Result;
use rand::rngs::StdRng;

/// How the device kernel may be evaluated on centred features, which keeps f32 sums small and
/// precise when |mean| ≫ sd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shift {
    /// Features go to the device unchanged.
    None,
    /// Location families: the first feature goes to the device as `f − c`, `c` its mean over the
    /// data, and [`Family::kernel_consts`] receives `c` (e.g. μ − c for the normal).
    Location,
    /// Kernels linear and homogeneous in the features, k(f, θ) = Σⱼ cⱼ(θ)·fⱼ: every feature goes
    /// to the device as `fⱼ − sⱼ`, `sⱼ` its mean, and the host adds n·k(s, θ) in f64. The device
    /// then sums terms of both signs whose total is near zero, instead of n terms of one sign.
    /// [`Family::kernel_consts`] receives s₀ (for support bounds on the shifted feature).
    Linear,
}

/// How a kernel's constants scale with its features: `powers[i][j] = pᵢⱼ` such that
///
/// ```text
/// k(2^(−s₀)·f₀, …, 2^(Σⱼ pᵢⱼ·sⱼ)·cᵢ, …) = k(f, c)   for all integers sⱼ
/// ```
///
/// (e.g. the normal's k = −(f₀ − c₀)²·c₁ has p = [[−1], [2]]). Scaling by powers of two is
/// exact in binary floating point, so the engine may divide feature j by 2^sⱼ (and scale the
/// constants accordingly) without changing any f32 result — except that values which would have
/// overflowed or underflowed f32 no longer do.
pub type Scaling = &'static [&'static [i32]];

/// Precision class of a family's kernel, which sets its documented tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelClass {
    /// The kernel is a polynomial in x (normal, exponential, poisson, …): tolerance 1e-6.
    Polynomial,
    /// The kernel calls transcendental functions of x (log1p, exp): tolerance 1e-5.
    Transcendental,
}

impl KernelClass {
    /// Largest relative difference of the mean log-likelihood allowed between the device and the
    /// f64 reference (relative to `max(|mean loglik|, 1)`).
    pub fn tolerance(self) -> f64 {
        match self {
            KernelClass::Polynomial => 1e-6,
            KernelClass::Transcendental => 1e-5,
        }
    }
}

/// What [`Family::mle_streamed`] returns: the estimate, if any, or why it needs the data.
pub type StreamedMle = std::result::Result<Option<Vec<f64>>, &'static str>;

/// A parametric family Q(x | θ). See the module documentation for the split.
pub trait Family: Sync + Send {
    /// CLI name, e.g. `normal`.
    fn name(&self) -> &'static str;

    /// Parameters in their canonical order.
    fn params(&self) -> &'static [ParamSpec];

    /// The support, in words (for `klgrid families` and error messages).
    fn support(&self) -> &'static str;

    /// Whether data must be integers (discrete families).
    fn integer_data(&self) -> bool {
        false
    }

    /// Checks a parameter vector: each parameter in its domain, plus any cross-parameter
    /// constraint the family has (override and call [`validate_domains`]). A grid point that
    /// fails a cross-parameter constraint (e.g. uniform with low ≥ high) is not an error: every
    /// path reports it with likelihood 0 (S = −∞) and all n samples outside the support.
    fn validate(&self, theta: &[f64]) -> Result<()> {
        validate_domains(self.name(), self.params(), theta)
    }

    /// A typical valid θ, for generic tests (the registry-walking GPU vs cpu-ref test draws data
    /// from it and builds grids around it). Default: 0.3 for real parameters, 1.7 for positive
    /// ones, 0.35 in (0, 1), 12 for integers; override where that is degenerate or invalid.
    fn example_theta(&self) -> Vec<f64> {
        self.params()
            .iter()
            .map(|p| match p.domain {
                Domain::Real => 0.3,
                Domain::Positive => 1.7,
                Domain::OpenUnit => 0.35,
                Domain::PositiveInteger => 12.0,
            })
            .collect()
    }

    /// Full log-density log Q(x | θ) in f64, −∞ outside the support. Independent of the split:
    /// this is what `cpu-ref` evaluates.
    fn ln_pdf(&self, x: f64, theta: &[f64]) -> f64;

    /// Whether x lies in the part of the support that does not depend on θ.
    fn in_support(&self, x: f64) -> bool;

    /// Whether the support also depends on θ (then the kernel's `outside` is counted per grid
    /// point on the device).
    fn theta_dependent_support(&self) -> bool {
        self.coupled().theta_dependent_support()
    }

    /// a(θ): θ-only terms of the log-density, f64.
    fn log_norm(&self, theta: &[f64]) -> f64;

    /// b(x): x-only terms of the log-density, f64 (summed once per data set).
    fn data_term(&self, _x: f64) -> f64 {
        0.0
    }

    /// The coupled kernel k(f, θ): `&Blocked::<K>::NEW` for the family's [`Kernel`] `K`. It
    /// fixes the number of features and constants, evaluates k in f64 on the host, and runs the
    /// fast CPU path; the WGSL `k4` is its device twin.
    fn coupled(&self) -> &'static dyn CoupledKernel;

    /// Number of kernel constants per grid point (any number; the built-in kernels use at most
    /// [`MAX_KERNEL_CONSTS`](super::kernel::MAX_KERNEL_CONSTS)); the WGSL `k4` takes
    /// this many `vec4<f32>` arguments after the sample features.
    fn n_kernel_consts(&self) -> usize {
        self.coupled().n_consts()
    }

    /// Fills `out[..n_kernel_consts()]` with the kernel constants of θ, computed in f64. `shift`
    /// is the centre subtracted from the first feature on its way to the device (0 with
    /// [`Shift::None`]): location families fold it into μ; linear kernels may use it for a
    /// θ-dependent support bound on the shifted feature.
    fn kernel_consts(&self, theta: &[f64], shift: f64, out: &mut [f64]);

    /// The θ-only terms a(θ) for features and constants taken at `shift`, the value
    /// [`Family::kernel_consts`] receives: families whose constants are relative to a reference
    /// derived from the data (the poisson's ln(λ/x̄), the gamma's features relative to x̄) keep
    /// the reference's large terms out of the f32 kernel by moving them here, where they cancel
    /// in f64. Default: [`Family::log_norm`], which does not depend on the shift.
    fn log_norm_at(&self, theta: &[f64], _shift: f64) -> f64 {
        self.log_norm(theta)
    }

    /// b(x) for constants taken at `shift` (see [`Family::log_norm_at`]). Default:
    /// [`Family::data_term`].
    fn data_term_at(&self, x: f64, _shift: f64) -> f64 {
        self.data_term(x)
    }

    /// [`Family::host_coupled_sums`] for constants taken at `shift` (see
    /// [`Family::log_norm_at`]). Default: [`Family::host_coupled_sums`].
    fn host_coupled_sums_at(&self, grid: &Grid, xs: &[f64], _shift: f64) -> Option<Vec<f64>> {
        self.host_coupled_sums(grid, xs)
    }

    /// For [`Shift::Linear`] families: whether the features are relative to the data's mean x̄
    /// (the gamma's x/x̄ − 1, whose digits survive a coefficient of variation of 10⁻⁷ where x
    /// and ln x do not). The engine then passes x̄ (over the first chunk, in f64) to
    /// [`Family::features`] as its shift, and as the shift to [`Family::kernel_consts`] and the
    /// `_at` hooks, instead of s₀; the features are then centred at their means as usual.
    /// Default: false.
    fn mean_relative(&self) -> bool {
        false
    }

    /// Number of per-sample features the kernel reads (at least 1; the built-in kernels read 1 or
    /// 2, [`MAX_FEATURES`](super::kernel::MAX_FEATURES)).
    fn n_features(&self) -> usize {
        self.coupled().n_features()
    }

    /// The per-sample inputs of the kernel, computed on the host in f64 before rounding to f32
    /// (x-only transforms such as ln x belong here, not in the shader). Called only for x inside
    /// [`Family::in_support`]. Default: the shifted sample `x − shift`.
    fn features(&self, x: f64, shift: f64, out: &mut [f64]) {
        out[0] = x - shift;
    }

    /// k(x, θ) from the features and the constants, in f64 (the family's [`Kernel`]).
    fn kernel(&self, features: &[f64], consts: &[f64]) -> f64 {
        self.coupled().k64(features, consts)
    }

    /// For θ-dependent supports: whether the sample with these features lies outside the
    /// θ-dependent part of the support (the θ-independent part is [`Family::in_support`]).
    fn kernel_outside(&self, features: &[f64], consts: &[f64]) -> bool {
        self.coupled().outside64(features, consts)
    }

    /// Coupled terms the device cannot evaluate (WGSL has no `lgamma`) but that depend on θ only
    /// through a few distinct values, e.g. −Σᵢ ln (t − xᵢ)! for the binomial's `trials` t:
    /// returns Σᵢ h(xᵢ, θ) per grid point, computed on the host in f64 (once per distinct value,
    /// not once per point), over the samples inside the support of θ. Default: no such terms.
    fn host_coupled_sums(&self, _grid: &Grid, _xs: &[f64]) -> Option<Vec<f64>> {
        None
    }

    /// Whether [`Family::host_coupled_sums`] has terms: then a(θ) + b(x) + k(f(x), c(θ)) alone
    /// is not the density, and the f64 likelihood of the analysis uses the whole `ln_pdf`.
    fn has_host_terms(&self) -> bool {
        false
    }

    /// Whether the f32 kernel at these constants (scaled, as the device gets them) meets the
    /// family's tolerance on samples whose device features lie in `range` (per feature, the
    /// chunk's (min, max) after centring and scaling). Where it does not, the direct paths
    /// evaluate that grid point in f64 for that chunk (counted in `conditioning`). Checked
    /// besides the f32 range itself, which the engine checks for every family. Default: true.
    fn f32_resolves(&self, _range: &[(f64, f64)], _consts: &[f64]) -> bool {
        true
    }

    /// Evaluation by sufficient statistics (`--strategy suffstats`), where the kernel is a linear
    /// combination of per-sample statistics. Default: not available.
    fn suffstats(&self) -> Option<SuffStatsSpec> {
        None
    }

    /// How the kernel's constants scale with its features (see [`Scaling`]), where they do:
    /// then the engine evaluates the f32 kernel on features in units of the data's spread, so
    /// that data at any scale (10⁻³⁰ … 10³⁰) stay inside the f32 range. Default: no scaling.
    fn scaling(&self) -> Option<Scaling> {
        None
    }

    /// Whether and how features are centred before going to the device (see [`Shift`]).
    fn shift(&self) -> Shift {
        Shift::None
    }

    /// The WGSL source defining `fn k4(x: f32, c0: vec4<f32>, …) -> vec4<f32>` — with one `f32`
    /// argument per feature, then one `vec4<f32>` per constant, lanes being four grid points —
    /// and, for θ-dependent supports, `fn outside4(…) -> vec4<f32>` with the same arguments,
    /// returning 1.0 in the lanes where the sample is outside.
    fn wgsl(&self) -> &'static str;

    /// Precision class of the kernel.
    fn kernel_class(&self) -> KernelClass {
        KernelClass::Polynomial
    }

    /// Fills `out` with independent draws from Q(· | θ).
    fn sample_into(&self, theta: &[f64], rng: &mut StdRng, out: &mut [f64]) -> Result<()>;

    /// Closed-form maximum-likelihood estimate from the data, or `None` where no closed form
    /// exists. `fixed[j]` is `Some(v)` when parameter j is held fixed by the grid.
    fn mle(&self, _xs: &[f64], _fixed: &[Option<f64>]) -> Option<Vec<f64>> {
        None
    }

    /// The closed-form MLE of [`Family::mle`] from a streamed summary of the data
    /// ([`Moments`](Moments): n, mean, M₂, min, max, moments of ln x), for data
    /// read in chunks and not kept in memory: `Ok(Some(θ̂))`; `Ok(None)` where the family has no
    /// closed form or the data admit no estimate; `Err(why)` where the closed form needs the
    /// data themselves (a median). Default: `Ok(None)`.
    fn mle_streamed(&self, _m: &Moments, _fixed: &[Option<f64>]) -> StreamedMle {
        Ok(None)
    }

    /// Differential (or Shannon, for discrete families) entropy H(Q_θ) in nats, where a formula
    /// exists.
    fn entropy(&self, _theta: &[f64]) -> Option<f64> {
        None
    }

    /// The Kullback–Leibler divergence D_KL(P‖Q) = E_P[ln P(x) − ln Q(x)] in nats between two
    /// members of this family, P at parameters `p` and Q at `q`, where a closed form exists
    /// (`None` otherwise). +∞ where P puts mass outside the support of Q.
    fn kl_exact(&self, _p: &[f64], _q: &[f64]) -> Option<f64> {
        None
    }

    /// Analytic derivatives of ln Q(x | θ) with respect to the parameters, in f64, for x inside
    /// the support of θ: writes ∂ ln Q/∂θⱼ to `grad[j]` and ∂² ln Q/∂θⱼ∂θₖ to `hess[j·p + k]`
    /// (p = `params().len()`, both arrays fully overwritten; integer parameters get 0). Summed
    /// over the samples they give the gradient and Hessian of S(θ) behind the standard errors
    /// and the Newton steps of the profile likelihood. Returns `false`, and the caller uses
    /// finite differences, where the family does not provide them (the default).
    fn ln_pdf_derivatives(
        &self,
        _x: f64,
        _theta: &[f64],
        _grad: &mut [f64],
        _hess: &mut [f64],
    ) -> bool {
        false
    }

    /// Σᵢ log Q(xᵢ | θ) by the full density, and the number of samples outside the support.
    /// Summation: blocks of 256 log-densities are summed in eight interleaved f64 lanes (error
    /// ≤ 35ε·Σ|terms| per block), and the block sums with Neumaier's compensated sum. Provided
    /// so that each family gets a statically dispatched, inlined loop; do not override.
    fn ln_pdf_sum(&self, xs: &[f64], theta: &[f64]) -> (f64, u64) {
        const BLOCK: usize = 256;
        let mut total = crate::numeric::Neumaier::default();
        let mut outside = 0u64;
        let mut buf = [0f64; BLOCK];
        for chunk in xs.chunks(BLOCK) {
            let buf = &mut buf[..chunk.len()];
            for (b, &x) in buf.iter_mut().zip(chunk) {
                *b = self.ln_pdf(x, theta);
            }
            let mut lanes = [0f64; 8];
            let mut groups = buf.chunks_exact(8);
            for g in &mut groups {
                for (lane, &l) in lanes.iter_mut().zip(g) {
                    let inside = l != f64::NEG_INFINITY;
                    outside += !inside as u64;
                    *lane += if inside { l } else { 0.0 };
                }
            }
            for (lane, &l) in lanes.iter_mut().zip(groups.remainder()) {
                let inside = l != f64::NEG_INFINITY;
                outside += !inside as u64;
                *lane += if inside { l } else { 0.0 };
            }
            let s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
                + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
            total.add(s);
        }
        (total.value(), outside)
    }
}

impl<T: Family + ?Sized> HasParams for T {
    fn model_name(&self) -> &str {
        self.name()
    }

    fn param_specs(&self) -> &[ParamSpec] {
        self.params()
    }
}

/// D_KL(N(μ_p, σ_p²) ‖ N(μ_q, σ_q²)) = ln(σ_q/σ_p) + (σ_p² + (μ_p − μ_q)²)/(2σ_q²) − ½.
pub fn kl_normal(mp: f64, sp: f64, mq: f64, sq: f64) -> f64 {
    let d = mp - mq;
    (sq / sp).ln() + (sp * sp + d * d) / (2.0 * sq * sq) - 0.5
}

/// D_KL(Bernoulli(p) ‖ Bernoulli(q)) = p·ln(p/q) + (1 − p)·ln((1 − p)/(1 − q)).
pub fn kl_bernoulli(p: f64, q: f64) -> f64 {
    p * (p / q).ln() + (1.0 - p) * ((-p).ln_1p() - (-q).ln_1p())
}

/// Derivatives of a location–scale log-density ln Q = −ln s + f(z), z = (x − μ)/s, from f′(z)
/// and f″(z), for parameters μ at index `im` and s at `is` of a p-parameter θ:
/// ∂μ = −f′/s, ∂s = −(1 + z·f′)/s, ∂μμ = f″/s², ∂μs = (f′ + z·f″)/s²,
/// ∂ss = (1 + 2z·f′ + z²·f″)/s². Writes only those entries of `grad` and `hess`.
#[allow(clippy::too_many_arguments)]
pub fn location_scale_derivatives(
    z: f64,
    s: f64,
    f1: f64,
    f2: f64,
    (im, is, p): (usize, usize, usize),
    grad: &mut [f64],
    hess: &mut [f64],
) {
    let s2 = s * s;
    grad[im] = -f1 / s;
    grad[is] = -(1.0 + z * f1) / s;
    hess[im * p + im] = f2 / s2;
    let cross = (f1 + z * f2) / s2;
    hess[im * p + is] = cross;
    hess[is * p + im] = cross;
    hess[is * p + is] = (1.0 + 2.0 * z * f1 + z * z * f2) / s2;
}

/// ½·ln(2π).
pub const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;
