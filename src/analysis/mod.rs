//! Everything a sweep reports beyond the grid itself: H(P) and the KL columns, the identity
//! check, the MLE, `--refine`, the likelihood-ratio intervals and regions (profile likelihood
//! with the nuisance parameters optimised, or read off the grid) and the errors at the MLE. See
//! [`crate::analysis::identity`], [`crate::analysis::mle`], [`crate::analysis::refine`],
//! [`crate::analysis::intervals`] and [`crate::analysis::profile`]; the f64 likelihood behind
//! them is [`crate::analysis::likelihood`], its optimiser [`crate::analysis::optim`] and the
//! Hessian [`crate::analysis::hessian`].

use crate::error::Result;
use crate::model::grid::Grid;
use crate::model::Family;
pub mod hessian;
pub mod identity;
pub mod intervals;
pub mod likelihood;
pub mod merged;
pub mod mle;
pub mod optim;
pub mod profile;
pub mod refine;

use crate::engine::pipeline::{SweepOutcome, CHUNK};
use crate::engine::session::Session;
use crate::engine::{EvalPath, Observer, Silent};
use crate::input::Replay;
use crate::model::sample_spec::SampleSpec;
use identity::{Entropy, Identity, Units};
use intervals::{Interval, IntervalMethod, Region, DEFAULT_LEVELS, REGION_LEVELS};
use likelihood::Likelihood;
use mle::Mle;
use profile::Uncertainty;
use refine::Refined;

/// Options of the analysis (`sweep --true/--sample`, `--refine`, `--units`, `--intervals`,
/// `--cl`, `--region-cl`).
#[derive(Debug, Clone)]
pub struct AnalysisOptions {
    /// The data-generating distribution P, when known.
    pub truth: Option<SampleSpec>,
    /// Refinement rounds (0: none).
    pub refine: u32,
    pub units: Units,
    /// Data streamed and not kept: how to read them again, where the source allows, so that
    /// `--refine` evaluates each round in one more streamed pass (`None`: refinement of such
    /// data is an error).
    pub replay: Option<Replay>,
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
            replay: None,
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
    /// Why there is no MLE (it does not exist, or the data were streamed past memory and the
    /// family has no closed form), or that it lies on the boundary.
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
/// entropy, numeric MLE, refinement) are left out with a note, and the MLE is the closed form
/// from the streamed summary ([`SweepOutcome::moments`]). This is the one place the MLE is
/// computed; refinement rounds run on `session`, on the sweep's own path and strategy.
pub fn analyse(
    session: &Session,
    family: &'static dyn Family,
    grid: &Grid,
    xs: Option<&[f64]>,
    outcome: &SweepOutcome,
    opts: &AnalysisOptions,
) -> Result<Analysis> {
    analyse_observed(session, family, grid, xs, outcome, opts, &Silent)
}

/// [`analyse`], telling `observer` each phase that can take a while (`"refine"`, `"MLE"`,
/// `"intervals"`) and the count of f64 likelihood evaluations as it grows: [`summarise`], then
/// [`complete`].
pub fn analyse_observed(
    session: &Session,
    family: &'static dyn Family,
    grid: &Grid,
    xs: Option<&[f64]>,
    outcome: &SweepOutcome,
    opts: &AnalysisOptions,
    observer: &dyn Observer,
) -> Result<Analysis> {
    let summary = summarise(session, family, grid, xs, outcome, opts, observer)?;
    Ok(complete(family, grid, xs, outcome, opts, summary, observer))
}

/// The first part of [`analyse`]: everything but what the MLE needs — H(P) and the KL
/// columns, the identity check and the `--refine` rounds (which re-evaluate the data on
/// `session`). Every error of the analysis is raised here. The result is an [`Analysis`]
/// whose MLE, intervals, regions and uncertainty are still empty (`mle: None`,
/// `mle_note: None`): [`complete`] fills them in, so that a caller may do that later, or
/// never (the Python `Sweep` does it on first access to them).
pub fn summarise(
    session: &Session,
    family: &'static dyn Family,
    grid: &Grid,
    xs: Option<&[f64]>,
    outcome: &SweepOutcome,
    opts: &AnalysisOptions,
    observer: &dyn Observer,
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
    if best.is_some() && opts.refine > 0 {
        observer.phase("refine");
    }
    let refined = match (best, xs) {
        (Some(b), Some(xs)) if opts.refine > 0 => Some(refine::refine(
            session,
            family,
            grid,
            &grid.theta(b),
            p.mean_loglik(b),
            xs,
            outcome.primary.backend,
            outcome.primary.strategy,
            opts.refine,
        )?),
        (Some(b), None) if opts.refine > 0 => match &opts.replay {
            Some(replay) => Some(refine::refine_streamed(
                session,
                family,
                grid,
                &grid.theta(b),
                p.mean_loglik(b),
                replay,
                outcome.primary.backend,
                outcome.primary.strategy,
                opts.refine,
            )?),
            None => {
                return Err(crate::Error::input(format!(
                    "--refine re-evaluates the data, but {NOT_IN_MEMORY} (n = {}) and the \
                     source cannot be read again (standard input, a pipe); save them to a file",
                    p.n
                )))
            }
        },
        _ => None,
    };
    Ok(Analysis {
        units: opts.units,
        truth: opts.truth.clone(),
        entropy,
        entropy_note,
        kl,
        kl_exact,
        identity,
        mle: None,
        mle_note: None,
        refined,
        intervals: Vec::new(),
        regions: Vec::new(),
        uncertainty: Uncertainty::default(),
    })
}

/// The second part of [`analyse`]: the MLE (closed form from the streamed summary when `xs`
/// is `None`, else located by the f64 likelihood from the best grid point or the refined
/// one), the likelihood-ratio intervals and regions and the errors at the MLE, added to
/// `summary` (the result of [`summarise`] on the same sweep, samples and options). It cannot
/// fail: what cannot be computed is left out with a note.
pub fn complete(
    family: &'static dyn Family,
    grid: &Grid,
    xs: Option<&[f64]>,
    outcome: &SweepOutcome,
    opts: &AnalysisOptions,
    summary: Analysis,
    observer: &dyn Observer,
) -> Analysis {
    let p = &outcome.primary.partials;
    let best = p.argmax();
    let refined = &summary.refined;
    // Every likelihood evaluation behind the MLE, intervals and errors is f64-exact.
    let lik = xs.map(|xs| Likelihood::new(family, grid, xs).observed(observer));
    if lik.is_some() && best.is_some() {
        observer.phase("MLE");
    }
    let (mle, mle_note) = match (refined, best, &lik) {
        (_, _, None) => {
            let fixed = grid.fixed_values();
            match outcome.moments.map(|m| family.mle_streamed(&m, &fixed)) {
                Some(Ok(Some(t))) => match mle::streamed_check(family, grid, &t) {
                    Some(note) => (None, Some(note)),
                    None => (
                        Some(Mle {
                            theta: t,
                            method: mle::MleMethod::ClosedForm,
                            mean_loglik: f64::NAN,
                            on_boundary: false,
                        }),
                        None,
                    ),
                },
                Some(Ok(None)) if best.is_some() => (
                    None,
                    Some(format!(
                        "not computed: {} has no closed-form MLE and the numeric one needs the samples, but {NOT_IN_MEMORY}",
                        family.name()
                    )),
                ),
                Some(Ok(None)) => (None, None),
                Some(Err(why)) => (
                    None,
                    Some(format!(
                        "not computed: {why}, and the data were streamed in chunks of {CHUNK} samples"
                    )),
                ),
                None => (None, None),
            }
        }
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
    if let Some(r) = refined {
        grids.extend(r.rounds.iter().map(|x| (&x.grid, &x.partials)));
    }
    let settings = profile::Settings {
        method: opts.intervals,
        levels: opts.levels.clone(),
        region_levels: opts.region_levels.clone(),
        curve_points: opts.curve_points,
        f32_tolerance: (outcome.primary.backend != EvalPath::CpuRef)
            .then(|| family.kernel_class().tolerance()),
    };
    if lik.is_some() && mle.is_some() {
        observer.phase("intervals");
    }
    let uncertainty = profile::uncertainty(family, &grids, lik.as_ref(), mle.as_ref(), &settings);
    let intervals = profile::primary(&uncertainty.intervals);
    let regions = uncertainty.regions.clone();
    Analysis {
        mle,
        mle_note,
        intervals,
        regions,
        uncertainty,
        ..summary
    }
}

/// A grid from `--grid` specs, for the analysis' unit tests.
#[cfg(test)]
pub(crate) fn test_grid(family: &dyn Family, specs: &[&str]) -> Grid {
    use crate::model::grid::AxisSpec;
    Grid::new(
        family,
        specs.iter().map(|s| AxisSpec::parse(s).unwrap()).collect(),
    )
    .unwrap()
}
