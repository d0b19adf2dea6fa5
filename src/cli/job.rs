//! Options that describe a job (family, data, grid, backend), and turning them into one.

use clap::Args;
use klgrid::family::{lookup, Family};
use klgrid::gpu::KernelShape;
use klgrid::grid::{AxisSpec, Grid};
use klgrid::input::{self, Column, Format, InputSpec};
use klgrid::sample_spec::{SampleSpec, DEFAULT_SEED};
use klgrid::sweep::{parse_compare, Backend};
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
    #[arg(long, value_name = "FORMAT", requires = "data",
          value_parser = ["text", "csv", "tsv", "npy", "f32", "f64"])]
    pub format_in: Option<String>,

    /// Column of a CSV/TSV/text table (header name, or 0-based index) or of a 2-D .npy array
    /// (0-based index) holding the samples
    #[arg(long, value_name = "NAME|INDEX", requires = "data")]
    pub column: Option<String>,

    /// Drop NaN, ±inf and empty fields instead of failing; the output reports how many
    /// (skipped_nonfinite) and n counts only the samples used
    #[arg(long, requires = "data")]
    pub skip_nonfinite: bool,

    /// No progress bar on stderr (it is shown only when stderr is a terminal)
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Draw synthetic data instead: a distribution such as 'normal(mu=1.5, sigma=2)'
    #[arg(long, value_name = "SPEC", requires = "n")]
    pub sample: Option<String>,

    /// Number of samples to draw with --sample
    #[arg(short = 'n', value_name = "N")]
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
    #[arg(long, value_name = "P,W,C")]
    pub kernel_shape: Option<String>,
}

/// Which path evaluates a sweep.
#[derive(Debug, Args)]
pub struct BackendArgs {
    /// Evaluation path: auto (gpu if an adapter exists, else cpu), gpu, cpu (fast CPU path),
    /// cpu-ref (f64 reference), or both (two paths compared, see --compare)
    #[arg(long, value_name = "BACKEND", default_value = "auto",
          value_parser = ["auto", "gpu", "cpu", "cpu-ref", "both"])]
    pub backend: String,

    /// With --backend both: the two paths to compare, the first tested against the second
    /// [default: gpu,cpu-ref]
    #[arg(long, value_name = "A,B")]
    pub compare: Option<String>,

    /// How the gpu and cpu paths evaluate: suffstats (one pass for the sufficient statistics,
    /// then O(1) per grid point) where the family allows it, direct (every sample at every grid
    /// point), or auto (suffstats where valid)
    #[arg(long, value_name = "STRATEGY", default_value = "auto",
          value_parser = ["auto", "direct", "suffstats"])]
    pub strategy: String,
}

impl BackendArgs {
    /// The backend, with `--compare` applied.
    pub fn backend(&self) -> Result<Backend> {
        match (self.backend.parse()?, &self.compare) {
            (Backend::Both(..), Some(c)) => {
                let (a, b) = parse_compare(c)?;
                Ok(Backend::Both(a, b))
            }
            (_, Some(_)) => Err(Error::input("--compare needs --backend both")),
            (b, None) => Ok(b),
        }
    }
}

/// The data of a job: drawn into memory, or to be streamed from a file or stdin.
pub enum JobData {
    Memory(Vec<f64>),
    Input(InputSpec),
}

/// A job ready to run: family, grid and data.
pub struct Job {
    pub family: &'static dyn Family,
    pub grid: Grid,
    pub data: JobData,
    pub data_source: String,
    pub data_seconds: f64,
    pub adapter: Option<String>,
    pub shape: Option<KernelShape>,
    /// `--quiet`: no progress bar.
    pub quiet: bool,
}

impl Job {
    /// The data in memory: the drawn samples, or the whole input read (for `bench`).
    pub fn load(&self) -> Result<Cow<'_, [f64]>> {
        match &self.data {
            JobData::Memory(xs) => Ok(Cow::Borrowed(xs)),
            JobData::Input(spec) => Ok(Cow::Owned(input::read_all(spec)?.0)),
        }
    }
}

impl JobArgs {
    /// Validates the options and reads or draws the data.
    pub fn build(&self) -> Result<Job> {
        let family: &'static dyn Family = match &self.family {
            Some(name) => lookup(name)?,
            None => self.user_model.build()?,
        };
        let specs = self
            .grid
            .iter()
            .map(|s| AxisSpec::parse(s))
            .collect::<Result<Vec<_>>>()?;
        let grid = Grid::new(family, specs)?;
        super::models::check_grid(family, &grid)?;
        let t0 = Instant::now();
        let (data, data_source) = match (&self.data, &self.sample) {
            (Some(path), _) => {
                let spec = InputSpec {
                    source: input::Source::from_arg(path),
                    format: self
                        .format_in
                        .as_deref()
                        .map(str::parse::<Format>)
                        .transpose()?,
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
                let n = usize::try_from(n).map_err(|_| Error::input("-n is too large"))?;
                let seed = self.seed.unwrap_or(DEFAULT_SEED);
                let xs = spec.draw(n, seed)?;
                if family.integer_data() {
                    if let Some((i, x)) = xs.iter().enumerate().find(|(_, x)| x.fract() != 0.0) {
                        return Err(Error::input(format!(
                            "sample #{} = {x} from {spec} is not an integer, but {} is a discrete family",
                            i + 1,
                            family.name()
                        )));
                    }
                }
                (JobData::Memory(xs), format!("{spec}, seed {seed}"))
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
            adapter: self.adapter.clone(),
            shape: self
                .kernel_shape
                .as_deref()
                .map(KernelShape::parse)
                .transpose()?,
            quiet: self.quiet,
        })
    }
}
