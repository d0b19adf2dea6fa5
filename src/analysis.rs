//! Everything a sweep reports beyond the grid itself: H(P) and the KL columns, the identity
//! check, the MLE, `--refine` and the likelihood-ratio intervals. See [`crate::identity`],
//! [`crate::mle`], [`crate::refine`] and [`crate::intervals`].

use crate::error::Result;
use crate::family::Family;
use crate::gpu::KernelShape;
use crate::grid::Grid;
use crate::identity::{self, Entropy, Identity, Units};
use crate::intervals::{Interval, IntervalMethod, Region, DEFAULT_LEVELS, REGION_LEVELS};
use crate::likelihood::Likelihood;
use crate::mle::{self, Mle};
use crate::profile::{self, Uncertainty};
use crate::refine::{self, Refined};
use crate::sample_spec::SampleSpec;
use crate::sweep::{Path, SweepOutcome};

/// Options of the analysis (`sweep --true/--sample`, `--refine`, `--units`, `--intervals`,
/// `--cl`, `--region-cl`).
#[derive(Debug, Clone)]
pub struct AnalysisOptions {
    /// The data-generating distribution P, when known.
    pub truth: Option<SampleSpec>,
    /// Refinement rounds (0: none).
    pub refine: u32,
    pub units: Units,
    /// Adapter and kernel shape for refinement rounds on the GPU (as for the sweep).
    pub adapter: Option<String>,
    pub shape: Option<KernelShape>,
    /// How intervals and regions are computed.
    pub intervals: IntervalMethod,
    /// Levels of the per-parameter intervals and of the joint regions.
    pub levels: Vec<f64>,
    pub region_levels: Vec<f64>,
    /// Points per optimised profile curve, for `--plot` (0: none).
    pub curve_points: usize,
}

impl Default for AnalysisOptions {
    fn default() -> AnalysisOptions {
        AnalysisOptions {
            truth: None,
            refine: 0,
            units: Units::default(),
            adapter: None,
            shape: None,
            intervals: IntervalMethod::default(),
            levels: DEFAULT_LEVELS.to_vec(),
            region_levels: REGION_LEVELS.to_vec(),
            curve_points: 0,
        }
    }
}

/// The analysis of one sweep. Figures are in nats; `units` is applied when reporting.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub units: Units,
    pub truth: Option<SampleSpec>,
    /// H(P), or `None` with the reason in `entropy_note`.
    pub entropy: Option<Entropy>,
    pub entropy_note: Option<String>,
    /// D_KL(P‖Q_θ) = cross-entropy − H(P) per grid point (+∞ where S = −∞).
    pub kl: Option<Vec<f64>>,
    /// The closed-form D_KL(P‖Q_θ) per grid point (NaN where none), when P is of the swept
    /// family.
    pub kl_exact: Option<Vec<f64>>,
    pub identity: Identity,
    pub mle: Option<Mle>,
    /// Why there is no MLE, or that it lies on the boundary.
    pub mle_note: Option<String>,
    pub refined: Option<Refined>,
    /// One interval per free parameter, at 95% (or the highest level asked).
    pub intervals: Vec<Interval>,
    pub regions: Vec<Region>,
    /// Every interval at every level, the errors at the MLE and the warnings.
    pub uncertainty: Uncertainty,
}

/// Why a part of the analysis is missing for data that were streamed and not kept in memory.
const NOT_IN_MEMORY: &str = "the data were streamed and are too many to hold in memory";

/// Analyses a finished sweep of `family` on `grid` over the samples `xs` — `None` when the data
/// were streamed and not kept: then the parts that need the samples themselves (empirical
/// entropy, numeric MLE, refinement) are left out with a note, and the MLE is the closed form the
/// sweep computed from streamed sums.
pub fn analyse(
    family: &'static dyn Family,
    grid: &Grid,
    xs: Option<&[f64]>,
    outcome: &SweepOutcome,
    opts: &AnalysisOptions,
) -> Result<Analysis> {
    let p = &outcome.primary.partials;
    let entropy = match xs {
        Some(xs) => identity::data_entropy(family, opts.truth.as_ref(), xs)?,
        None if opts.truth.is_none() && family.integer_data() => {
            Err(format!("H(P̂) needs the sample counts, but {NOT_IN_MEMORY}"))
        }
        None => identity::data_entropy(family, opts.truth.as_ref(), &[])?,
    };
    let (entropy, entropy_note) = match entropy {
        Ok(h) => (Some(h), None),
        Err(why) => (None, Some(why)),
    };
    let kl = entropy.map(|h| identity::kl_column(p, h.value));
    let kl_exact = match (&entropy, &opts.truth) {
        (Some(_), Some(t)) => identity::kl_exact_column(family, grid, t),
        _ => None,
    };
    let identity = identity::check(p, kl.as_deref());
    let best = p.argmax();
    let refined = match (best, xs) {
        (Some(b), Some(xs)) if opts.refine > 0 => {
            let path: Path = outcome.primary.backend.parse()?;
            Some(refine::refine(
                family,
                grid,
                &grid.theta(b),
                p.mean_loglik(b),
                xs,
                path,
                opts.adapter.as_deref(),
                opts.shape,
                opts.refine,
            )?)
        }
        (_, None) if opts.refine > 0 => {
            return Err(crate::Error::input(format!(
                "--refine re-evaluates the data, but {NOT_IN_MEMORY} (n = {})",
                p.n
            )))
        }
        _ => None,
    };
    // Every likelihood evaluation behind the MLE, intervals and errors is f64-exact.
    let lik = xs.map(|xs| Likelihood::new(family, grid, xs));
    let (mle, mle_note) = match (&refined, best, &lik) {
        (_, _, None) => match outcome.mle.as_ref() {
            Some(t) => match mle::streamed_check(family, grid, t) {
                Some(note) => (None, Some(note)),
                None => (
                    Some(Mle {
                        theta: t.clone(),
                        method: mle::MleMethod::ClosedForm,
                        mean_loglik: outcome.mle_mean_loglik.unwrap_or(f64::NAN),
                        on_boundary: false,
                    }),
                    None,
                ),
            },
            None => (None, None),
        },
        (Some(r), _, Some(lik)) => {
            let g = r.rounds.last().map_or(grid, |x| &x.grid);
            let o = mle::locate(family, g, lik, &r.theta);
            (o.mle, o.note)
        }
        (None, Some(b), Some(lik)) => {
            let o = mle::locate(family, grid, lik, &grid.theta(b));
            (o.mle, o.note)
        }
        (None, None, _) => (None, None),
    };
    let mut grids = vec![(grid, p)];
    if let Some(r) = &refined {
        grids.extend(r.rounds.iter().map(|x| (&x.grid, &x.partials)));
    }
    let settings = profile::Settings {
        method: opts.intervals,
        levels: opts.levels.clone(),
        region_levels: opts.region_levels.clone(),
        curve_points: opts.curve_points,
        f32_tolerance: (outcome.primary.backend != "cpu-ref")
            .then(|| family.kernel_class().tolerance()),
    };
    let uncertainty = profile::uncertainty(family, &grids, lik.as_ref(), mle.as_ref(), &settings);
    let intervals = profile::primary(&uncertainty.intervals);
    let regions = uncertainty.regions.clone();
    Ok(Analysis {
        units: opts.units,
        truth: opts.truth.clone(),
        entropy,
        entropy_note,
        kl,
        kl_exact,
        identity,
        mle,
        mle_note,
        refined,
        intervals,
        regions,
        uncertainty,
    })
}
