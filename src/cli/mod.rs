//! The command line: argument definitions and one module per subcommand. Thin over the library;
//! errors are reported once, in `main`.

pub mod adapters;
pub mod bench;
pub mod demo;
pub mod families;
pub mod job;
pub mod merge;
pub mod models;
pub mod output;
pub mod progress;
pub mod scale;
pub mod sweep;

use clap::{Parser, Subcommand};

/// Exit codes.
pub mod exit {
    /// A runtime failure: no GPU adapter for `--backend gpu`, a device error, an output error
    /// (a full disk, an unwritable `--out`, a standard output closed so that the report is
    /// lost). A closed pipe is not one: it ends the output quietly (see [`super::output`]).
    pub const RUNTIME: i32 = 1;
    /// Bad input: arguments, data, grid, sample spec, family or parameter.
    pub const INPUT: i32 = 2;
    /// `--backend both`: the paths disagree beyond the family's tolerance.
    pub const DISAGREE: i32 = 3;
}

#[derive(Debug, Parser)]
#[command(
    name = "klgrid",
    version,
    about = "Sweep parameter grids of statistical models over many samples on the GPU",
    long_about = "Evaluates, for every θ of a parameter grid, the log-likelihood S(θ) = Σ log Q(xᵢ|θ), \
the mean log-likelihood S/n and the cross-entropy H(P̂,Q_θ) = −S/n, and finds the best grid point: \
maximising the likelihood = minimising the cross-entropy = minimising D_KL(P̂‖Q_θ)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate every point of a parameter grid over a data set
    Sweep(sweep::SweepArgs),
    /// Merge the partial files of a sweep run in shards (`sweep --partials-out`) into its report
    Merge(merge::MergeArgs),
    /// Measure gpu, cpu and cpu-ref on the same job: throughput, device time, agreement
    Bench(bench::BenchArgs),
    /// A built-in sweep: normal(mu=1.5, sigma=2), 1,000,000 samples, a 64×64 grid
    Demo(demo::DemoArgs),
    /// List the GPU adapters wgpu can see, best first, with their key limits
    Adapters,
    /// List the distribution families with their parameters, domains and supports
    Families(families::FamiliesArgs),
    /// Models written as expressions: `models check FILE` validates one and prints its split
    Models(models::ModelsArgs),
}
