//! Options that describe a job (family, data, grid, backend), and turning them into one.

use clap::Args;
use klgrid::engine::gpu::KernelShape;
use klgrid::engine::{
    parse_compare, Backend, BackendChoice, EvalPath, Session, SessionOptions, Strategy,
};
use klgrid::input::{self, Column, Format, InputSpec, Replay, SampleReader};
use klgrid::model::grid::{AxisSpec, Grid};
use klgrid::model::sample_spec::{SampleSpec, DEFAULT_SEED, DRAW_IN_MEMORY, MAX_DRAWS};
use klgrid::model::{lookup, Family};
use klgrid::{Error, Result};
use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct JobArgs {
    /// Model family to sweep (see `klgrid families`)
    #[arg(long, value_name = "NAME", required_unless_present_any = ["model", "logpdf"],
          conflicts_with_all = ["model", "logpdf"])]
    pub family: Option<String>,

    #[command(flatten)]
    pub user_model: super::models::ModelArgs,

    /// Data file, or - for standard input: text (one number per line, or columns), .csv, .tsv,
    /// NumPy .npy, raw little-endian .f32/.f64; optionally .gz/.zst-compressed. Streamed in
    /// chunks, so it may be larger than memory
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with = "sample",
        required_unless_present = "sample"
    )]
    pub data: Option<PathBuf>,

    /// Format of --data instead of the one its extension says (stdin: text unless given)
    #[arg(
        long,
        value_name = "FORMAT",
        requires = "data",
        conflicts_with = "sample"
    )]
    pub format_in: Option<Format>,

    /// Column of a CSV/TSV/text table (header name, or 0-based index) or of a 2-D .npy array
    /// (0-based index) holding the samples
    #[arg(
        long,
        value_name = "NAME|INDEX",
        requires = "data",
        conflicts_with = "sample"
    )]
    pub column: Option<String>,

    /// Drop NaN, ±inf and empty fields instead of failing; the output reports how many
    /// (skipped_nonfinite) and n counts only the samples used
    #[arg(long, requires = "data", conflicts_with = "sample")]
    pub skip_nonfinite: bool,

    /// No progress bar on stderr (it is shown only when stderr is a terminal) and no
    /// informational notes (which path `--backend auto` chose); warnings still print
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Draw synthetic data instead: a distribution such as 'normal(mu=1.5, sigma=2)'
    #[arg(long, value_name = "SPEC", requires = "n")]
    pub sample: Option<String>,

    /// Number of samples to draw with --sample (more than 2^25 are drawn in streamed blocks)
    #[arg(short = 'n', value_name = "N", conflicts_with = "data")]
    pub n: Option<u64>,

    /// Seed for --sample [default: 42]
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,

    /// Grid axis, once per parameter: NAME=START:STOP:COUNT, NAME=log:START:STOP:COUNT,
    /// NAME=V1,V2,... or NAME=V. The grid is the product, last axis fastest
    #[arg(long = "grid", value_name = "SPEC", required = true)]
    pub grid: Vec<String>,

    /// Use the adapter whose name contains this text (see `klgrid adapters`)
    #[arg(long, value_name = "SUBSTRING")]
    pub adapter: Option<String>,

    /// GPU kernel shape POINTS,WORKGROUP,CHUNK (grid points per invocation, invocations per
    /// workgroup, samples per chunk) instead of the one chosen for the adapter
    #[arg(long, value_name = "P,W,C", value_parser = parse_shape)]
    pub kernel_shape: Option<KernelShape>,
}

fn parse_shape(s: &str) -> std::result::Result<KernelShape, String> {
    KernelShape::parse(s).map_err(|e| e.to_string())
}

fn parse_pair(s: &str) -> std::result::Result<(EvalPath, EvalPath), String> {
    parse_compare(s).map_err(|e| e.to_string())
}

/// Which path evaluates a sweep.
#[derive(Debug, Args)]
pub struct BackendArgs {
    /// Evaluation path: auto (gpu if an adapter exists, else cpu), gpu, cpu (fast CPU path),
    /// cpu-ref (f64 reference), or both (two paths compared, see --compare)
    #[arg(long, value_name = "BACKEND", default_value = "auto")]
    pub backend: BackendChoice,

    /// With --backend both: the two paths to compare, the first tested against the second
    /// [default: gpu,cpu-ref]
    #[arg(long, value_name = "A,B", value_parser = parse_pair)]
    pub compare: Option<(EvalPath, EvalPath)>,

    /// How the gpu and cpu paths evaluate: suffstats (one pass for the sufficient statistics,
    /// then O(1) per grid point) where the family allows it, direct (every sample at every grid
    /// point), or auto (suffstats where valid)
    #[arg(long, value_name = "STRATEGY", default_value = "auto")]
    pub strategy: Strategy,
}

impl BackendArgs {
    /// The backend, with `--compare` applied.
    pub fn backend(&self) -> Result<Backend> {
        Backend::from_choice(self.backend, self.compare)
    }
}

/// The data of a job: drawn into memory, to be streamed from a file or stdin, or drawn in
/// streamed blocks (`-n` above 2²⁵).
pub enum JobData {
    Memory(Vec<f64>),
    Input(InputSpec),
    Draw {
        spec: SampleSpec,
        n: u64,
        seed: u64,
        integers: bool,
    },
}

impl JobData {
    /// How to read streamed data again from the start, where the source allows (a regular
    /// file, the seeded draws); `None` for data in memory and for stdin or pipes.
    pub fn replay(&self) -> Option<Replay> {
        match self {
            JobData::Memory(_) => None,
            JobData::Input(spec) => Replay::of_input(spec),
            JobData::Draw {
                spec,
                n,
                seed,
                integers,
            } => {
                let (spec, n, seed, integers) = (spec.clone(), *n, *seed, *integers);
                Some(Replay::new(move || {
                    Ok(Box::new(spec.reader(n, seed, integers)) as Box<dyn SampleReader>)
                }))
            }
        }
    }

    /// A reader of streamed data (`None` for data in memory).
    pub fn reader(&self) -> Result<Option<Box<dyn SampleReader>>> {
        Ok(match self {
            JobData::Memory(_) => None,
            JobData::Input(spec) => Some(input::open(spec)?),
            JobData::Draw {
                spec,
                n,
                seed,
                integers,
            } => Some(Box::new(spec.reader(*n, *seed, *integers))),
        })
    }
}

/// A job ready to run: family, grid and data.
pub struct Job {
    pub family: &'static dyn Family,
    pub grid: Grid,
    pub data: JobData,
    pub data_source: String,
    pub data_seconds: f64,
    /// The adapter and kernel-shape options, for the session.
    pub session: SessionOptions,
    /// `--quiet`: no progress bar.
    pub quiet: bool,
}

impl Job {
    /// The data in memory: the drawn samples, or the whole input read (for `bench`).
    pub fn load(&self) -> Result<Cow<'_, [f64]>> {
        match (&self.data, self.data.reader()?) {
            (JobData::Memory(xs), _) => Ok(Cow::Borrowed(xs)),
            (_, Some(reader)) => Ok(Cow::Owned(input::read_to_memory(reader)?.0)),
            (_, None) => unreachable!("every other source has a reader"),
        }
    }

    /// The session every evaluation of this job goes through.
    pub fn session(&self) -> Session {
        Session::new(self.session.clone())
    }
}

impl JobArgs {
    /// Validates the options and reads or draws the data.
    /// The family, or the user model (`--model`, `--logpdf`).
    pub fn family(&self) -> Result<&'static dyn Family> {
        match &self.family {
            Some(name) => lookup(name),
            None => self.user_model.build(),
        }
    }

    /// The family and its validated grid (without the data).
    pub fn family_and_grid(&self) -> Result<(&'static dyn Family, Grid)> {
        let family = self.family()?;
        let specs = self
            .grid
            .iter()
            .map(|s| AxisSpec::parse(s))
            .collect::<Result<Vec<_>>>()?;
        let grid = Grid::new(family, specs)?;
        super::models::check_grid(family, &grid)?;
        Ok((family, grid))
    }

    pub fn build(&self) -> Result<Job> {
        super::output::set_quiet(self.quiet);
        let (family, grid) = self.family_and_grid()?;
        let t0 = Instant::now();
        let (data, data_source) = match (&self.data, &self.sample) {
            (Some(path), _) => {
                let spec = InputSpec {
                    source: input::Source::from_arg(path),
                    format: self.format_in,
                    column: self.column.as_deref().map(Column::parse),
                    integers: family.integer_data(),
                    skip_nonfinite: self.skip_nonfinite,
                };
                let name = spec.source.name();
                (JobData::Input(spec), name)
            }
            (None, Some(spec)) => {
                let spec = SampleSpec::parse(spec)?;
                let n = self.n.ok_or_else(|| Error::input("--sample needs -n N"))?;
                if n == 0 {
                    return Err(Error::input("-n must be at least 1"));
                }
                if n > MAX_DRAWS {
                    return Err(Error::input(format!(
                        "-n {n} is too large: at most 2^53 = {MAX_DRAWS} (the largest count f64 \
                         sums hold exactly)"
                    )));
                }
                let seed = self.seed.unwrap_or(DEFAULT_SEED);
                let name = format!("{spec}, seed {seed}");
                let integers = family.integer_data();
                if n > DRAW_IN_MEMORY {
                    // Drawn in streamed blocks, like a file: memory does not grow with n.
                    (
                        JobData::Draw {
                            spec,
                            n,
                            seed,
                            integers,
                        },
                        name,
                    )
                } else {
                    let n = usize::try_from(n).map_err(|_| Error::input("-n is too large"))?;
                    let xs = spec.draw_checked(n, seed, integers)?;
                    (JobData::Memory(xs), name)
                }
            }
            (None, None) => return Err(Error::input("give --data PATH or --sample SPEC -n N")),
        };
        if self.seed.is_some() && self.sample.is_none() {
            return Err(Error::input("--seed only applies to --sample"));
        }
        Ok(Job {
            family,
            grid,
            data,
            data_source,
            data_seconds: t0.elapsed().as_secs_f64(),
            session: SessionOptions {
                adapter: self.adapter.clone(),
                shape: self.kernel_shape,
                limits: None,
            },
            quiet: self.quiet,
        })
    }
}
