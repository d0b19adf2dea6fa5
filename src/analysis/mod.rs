//! Everything a sweep reports beyond the grid itself: H(P) and the KL columns, the identity
//! check, the MLE, `--refine` and the likelihood-ratio intervals. See [`crate::analysis::identity`],
//! [`crate::analysis::mle`], [`crate::analysis::refine`] and [`crate::analysis::intervals`].

use crate::error::Result;
use crate::model::grid::Grid;
use crate::model::Family;
pub mod identity;
pub mod intervals;
pub mod merged;
pub mod mle;
pub mod refine;

use crate::engine::pipeline::{SweepOutcome, CHUNK};
use crate::engine::session::Session;
use crate::input::Replay;
use crate::model::sample_spec::SampleSpec;
use identity::{Entropy, Identity, Units};
use intervals::{Interval, Region};
use mle::Mle;
use refine::Refined;

/// Options of the analysis (`sweep --true/--sample`, `--refine`, `--units`).
#[derive(Debug, Clone, Default)]
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
    /// Why `mle` is missing although the family has a closed form (data streamed past memory).
    pub mle_note: Option<String>,
    pub refined: Option<Refined>,
    pub intervals: Vec<Interval>,
    pub regions: Vec<Region>,
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
    let mut mle_note = None;
    let mle = match (&refined, best, xs) {
        (_, _, None) => {
            let fixed = grid.fixed_values();
            match outcome.moments.map(|m| family.mle_streamed(&m, &fixed)) {
                Some(Ok(Some(t))) => Some(Mle {
                    theta: t,
                    method: mle::MleMethod::ClosedForm,
                    mean_loglik: f64::NAN,
                }),
                Some(Ok(None)) if best.is_some() => {
                    mle_note = Some(format!(
                        "not computed: {} has no closed-form MLE and the numeric one needs the samples, but {NOT_IN_MEMORY}",
                        family.name()
                    ));
                    None
                }
                Some(Ok(None)) => None,
                Some(Err(why)) => {
                    mle_note = Some(format!(
                        "not computed: {why}, and the data were streamed in chunks of {CHUNK} samples"
                    ));
                    None
                }
                None => None,
            }
        }
        (Some(r), _, Some(xs)) => {
            let g = r.rounds.last().map_or(grid, |x| &x.grid);
            mle::estimate(family, g, xs, &r.theta)?
        }
        (None, Some(b), Some(xs)) => mle::estimate(family, grid, xs, &grid.theta(b))?,
        (None, None, _) => None,
    };
    let mut grids = vec![(grid, p)];
    if let Some(r) = &refined {
        grids.extend(r.rounds.iter().map(|x| (&x.grid, &x.partials)));
    }
    let (intervals, regions) = intervals::all(family, &grids);
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
    })
}
