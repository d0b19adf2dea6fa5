//! `klgrid merge`: the report of a sweep run in shards (`sweep --partials-out`).

use super::scale::{report_merged, ReportOptions};
use super::sweep::{IntervalArgs, PlotArgs};
use clap::Args;
use klgrid::analysis::identity::Units;
use klgrid::engine::merge::merge_files;
use klgrid::report::Format;
use klgrid::Result;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Partial files of one sweep (`sweep --shard I/K --partials-out FILE`, every shard once,
    /// in any order)
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Output format
    #[arg(long, value_name = "FORMAT", default_value = "table")]
    pub format: Format,

    /// Write the output to this file instead of stdout
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,

    /// Units of every entropy, cross-entropy and KL figure (log-likelihoods stay in nats)
    #[arg(long, value_name = "UNITS", default_value = "nats")]
    pub units: Units,

    #[command(flatten)]
    pub intervals: IntervalArgs,

    #[command(flatten)]
    pub plot: PlotArgs,
}

/// Checks that the files are one sweep's shards, merges them exactly and writes the report.
pub fn run(args: &MergeArgs) -> Result<i32> {
    let merged = merge_files(&args.files)?;
    report_merged(
        &merged,
        &ReportOptions {
            format: args.format,
            out: args.out.as_deref(),
            units: args.units,
            intervals: &args.intervals,
            plot: &args.plot,
        },
    )
}
