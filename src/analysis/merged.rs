//! The analysis of a merged sweep ([`Merged`]: partial files of shards or ranks), shared by
//! `klgrid merge` and the Python `klgrid.merge`: what [`analyse`] gives for streamed data, with
//! H(P̂) of discrete data from the merged counts of distinct values, and the parts that need
//! the samples themselves (numeric MLE, refinement) left out with a note that says why.

use super::identity::{self, Entropy, EntropyMethod, EntropySource};
use super::{analyse, Analysis, AnalysisOptions, NOT_IN_MEMORY};
use crate::engine::merge::Merged;
use crate::engine::partial_file::MAX_VALUE_COUNTS;
use crate::engine::session::Session;
use crate::error::Result;
use crate::model::sample_spec::SampleSpec;

/// Why parts of the analysis are missing after a merge.
pub const MERGED: &str = "a merged sweep has the shards' partials, not the samples";

/// Analyses `merged` with `opts` (their `truth` is the one the shards recorded, their `refine`
/// 0: a merge has no samples to refine on).
///
/// # Formula
/// For discrete data without a declared P, H(P̂) = −Σ_v (c_v/n) ln(c_v/n) over the merged
/// counts c_v of the distinct values (the partial files keep them for at most
/// [`MAX_VALUE_COUNTS`] values), and D_KL(P̂‖Q_θ) = H(P̂, Q_θ) − H(P̂) per grid point.
pub fn analyse_merged(merged: &Merged, mut opts: AnalysisOptions) -> Result<Analysis> {
    let family = merged.family;
    let outcome = &merged.outcome;
    let truth = merged.truth.as_deref().map(SampleSpec::parse).transpose()?;
    let no_truth = truth.is_none();
    opts.truth = truth;
    opts.refine = 0;
    opts.replay = None;
    let mut an = analyse(
        &Session::default(),
        family,
        &merged.grid,
        None,
        outcome,
        &opts,
    )?;
    let p = &outcome.primary.partials;
    if family.integer_data() && no_truth {
        match &merged.value_counts {
            Some(c) => {
                let h = identity::entropy_of_counts(c.clone(), p.n);
                an.entropy = Some(Entropy {
                    value: h,
                    source: EntropySource::Empirical,
                    method: EntropyMethod::Counts,
                    error: None,
                });
                an.entropy_note = None;
                an.kl = Some(identity::kl_column(p, h));
                an.identity = identity::check(p, an.kl.as_deref());
            }
            None => {
                an.entropy_note = Some(format!(
                    "H(P̂) needs the counts of the distinct values, which the partial files hold for at most {MAX_VALUE_COUNTS} distinct values"
                ))
            }
        }
    }
    if let Some(n) = &mut an.mle_note {
        *n = n.replace(NOT_IN_MEMORY, MERGED);
    }
    Ok(an)
}
