//! `sweep` and `bench`: a job from the arguments `klgrid/__init__.py` hands over — the family
//! name, the grid as the command's `--grid` specifications, the data as a NumPy array, a path or
//! a `sample=` spec — validated by the library's own parsers, so every message is the command's.
//!
//! Data in memory: a contiguous float64 array is evaluated where it lies (no copy); a strided
//! one is gathered, and a float32 one widened, into one float64 buffer (exact), because the
//! engine and the analysis (MLE, refinement, discrete entropy) take `&[f64]`; the engine then
//! rounds to f32 per chunk as it does for any data. That buffer is kept for the next call
//! ([`crate::spare`]). Values are checked as the readers check a
//! file's (finite, integers for discrete families). A path is streamed by the readers, as
//! `--data PATH`.

use crate::errors::{input, one_line, to_py};
use crate::result::{Held, Pending, SweepResult};
use crate::run;
use crate::spare;
use klgrid::analysis::identity::Units;
use klgrid::analysis::{self, AnalysisOptions};
use klgrid::engine::bench::{self as kbench, BenchOptions};
use klgrid::engine::{
    self, parse_compare, Backend, EvalPath, Silent, Strategy, StreamJob, SweepJob,
};
use klgrid::input::{self as kinput, Column, Format, InputSpec, Source};
use klgrid::model::grid::{AxisSpec, Grid};
use klgrid::model::sample_spec::SampleSpec;
use klgrid::model::{lookup, Family};
use numpy::ndarray::ArrayView1;
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use serde_json::json;
use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;

/// The model a sweep evaluates. Today a built-in family by name; this is the one place a user
/// model (an expression, issue #12) will be resolved into the `&'static dyn Family` the engine
/// takes.
fn resolve_model(name: &str) -> klgrid::Result<&'static dyn Family> {
    lookup(name)
}

/// The family and its grid, from the `--grid` specifications in grid order.
fn family_and_grid(model: &str, grid: &[String]) -> PyResult<(&'static dyn Family, Grid)> {
    let family = resolve_model(model).map_err(to_py)?;
    let specs = grid
        .iter()
        .map(|s| AxisSpec::parse(s))
        .collect::<klgrid::Result<Vec<_>>>()
        .map_err(to_py)?;
    let grid = Grid::new(family, specs).map_err(to_py)?;
    Ok((family, grid))
}

/// `backend=` and `compare=` (two paths, `A,B`, only with `both`).
fn parse_backend(backend: &str, compare: Option<&str>) -> PyResult<Backend> {
    let b: Backend = backend.parse().map_err(to_py)?;
    match (b, compare) {
        (_, None) => Ok(b),
        (Backend::Both(..), Some(c)) => {
            let (x, y) = parse_compare(c).map_err(to_py)?;
            Ok(Backend::Both(x, y))
        }
        (_, Some(_)) => Err(input("compare= needs backend='both'")),
    }
}

/// The NumPy borrows the data point into, held for the whole call.
pub struct Borrows<'py> {
    f64: Option<PyReadonlyArray1<'py, f64>>,
    f32: Option<PyReadonlyArray1<'py, f32>>,
}

impl<'py> Borrows<'py> {
    pub fn of(data: Option<&Bound<'py, PyAny>>) -> PyResult<Borrows<'py>> {
        let mut b = Borrows {
            f64: None,
            f32: None,
        };
        let Some(d) = data else {
            return Ok(b);
        };
        if let Ok(a) = d.cast::<PyArray1<f64>>() {
            b.f64 = Some(a.try_readonly().map_err(|e| input(format!("data: {e}")))?);
        } else if let Ok(a) = d.cast::<PyArray1<f32>>() {
            b.f32 = Some(a.try_readonly().map_err(|e| input(format!("data: {e}")))?);
        }
        Ok(b)
    }
}

/// The samples, as handed over.
pub enum Data<'a> {
    /// A contiguous float64 array, evaluated in place; `true` when the Python side made it
    /// (from a list or another dtype).
    Slice(&'a [f64], bool),
    /// A strided float64 array.
    Strided(ArrayView1<'a, f64>),
    /// A float32 array.
    F32(ArrayView1<'a, f32>),
    /// `sample=SPEC`, `n=`, `seed=`.
    Sample {
        spec: SampleSpec,
        n: usize,
        seed: u64,
    },
    /// A path: read by the readers.
    File(InputSpec),
}

/// The data arguments of `sweep` and `bench`.
struct DataArgs<'a, 'py> {
    data: Option<&'a Bound<'py, PyAny>>,
    copied: bool,
    sample: Option<String>,
    n: Option<u64>,
    seed: u64,
    format_in: Option<&'a str>,
    column: Option<&'a str>,
    skip_nonfinite: bool,
}

impl<'a, 'py> DataArgs<'a, 'py> {
    fn resolve<'b>(
        &self,
        borrows: &'b Borrows<'py>,
        family: &'static dyn Family,
    ) -> PyResult<Data<'b>> {
        let file_only = self.format_in.is_some() || self.column.is_some();
        match (self.data, &self.sample) {
            (Some(_), Some(_)) => Err(input("give data or sample=, not both")),
            (None, None) => Err(input(
                "give data (an array, a list or a path) or sample='FAMILY(p=v, ...)' with n=N",
            )),
            (None, Some(s)) => {
                if file_only || self.skip_nonfinite {
                    return Err(input(
                        "format_in=, column= and skip_nonfinite= apply to data, not to sample=",
                    ));
                }
                let spec = SampleSpec::parse(s).map_err(to_py)?;
                let n = self.n.ok_or_else(|| input("sample= needs n=N"))?;
                if n == 0 {
                    return Err(input("n must be at least 1"));
                }
                let n = usize::try_from(n).map_err(|_| input("n is too large"))?;
                Ok(Data::Sample {
                    spec,
                    n,
                    seed: self.seed,
                })
            }
            (Some(d), None) => {
                if self.n.is_some() {
                    return Err(input(
                        "n= applies to sample= only (data has its own length)",
                    ));
                }
                if let Ok(path) = d.extract::<String>() {
                    let format = self
                        .format_in
                        .map(str::parse::<Format>)
                        .transpose()
                        .map_err(to_py)?;
                    return Ok(Data::File(InputSpec {
                        source: Source::from_arg(Path::new(&path)),
                        format,
                        column: self.column.map(Column::parse),
                        integers: family.integer_data(),
                        skip_nonfinite: self.skip_nonfinite,
                    }));
                }
                if file_only {
                    return Err(input("format_in= and column= apply to a data file"));
                }
                borrows.data(self.copied)
            }
        }
    }
}

impl<'py> Borrows<'py> {
    /// The samples of a NumPy array borrowed by [`Borrows::of`]: in place when contiguous
    /// float64, else to be gathered or widened by [`Data::load`].
    pub fn data(&self, copied: bool) -> PyResult<Data<'_>> {
        if let Some(a) = &self.f64 {
            return Ok(match a.as_slice() {
                Ok(s) => Data::Slice(s, copied),
                Err(_) => Data::Strided(a.as_array()),
            });
        }
        if let Some(a) = &self.f32 {
            return Ok(Data::F32(a.as_array()));
        }
        Err(PyTypeError::new_err(
            "data must be a 1-D float32 or float64 NumPy array or a path \
             (klgrid.sweep converts lists and other dtypes)",
        ))
    }
}

/// Samples in memory, checked.
pub struct Loaded<'a> {
    pub xs: Cow<'a, [f64]>,
    /// Non-finite values dropped (`skip_nonfinite`).
    skipped: u64,
    /// `data` in the report.
    source: String,
    /// Seconds spent drawing, reading, converting or checking.
    seconds: f64,
    /// Whether `xs` is a copy of what Python handed over.
    copied: bool,
    /// `data_format` in the report for arrays ("array"); `None` keeps the writer's.
    format: Option<&'static str>,
    /// The [`scan`] checksum of `xs` (arrays only; 0 otherwise).
    pub checksum: u64,
}

/// A position-dependent checksum of the samples' bit patterns, and whether every sample is
/// finite, in one pass: Fletcher's two running sums (aᵢ = aᵢ₋₁ + bits(xᵢ), bᵢ = bᵢ₋₁ + aᵢ,
/// wrapping) over 8 interleaved lanes, so the loop vectorises and costs what the finiteness
/// check alone costs (it is memory-bound). Any change of one value, and any reordering, changes
/// it (but for wrapping coincidences): it tells whether an array handed over still holds what
/// was swept when the analysis reads it again ([`crate::result::Held::Array`]).
pub fn scan(xs: &[f64]) -> (bool, u64) {
    const L: usize = 8;
    let (mut a, mut b) = ([0u64; L], [0u64; L]);
    let mut finite = true;
    for c in xs.chunks(4096) {
        let mut ok = true;
        let mut lanes = c.chunks_exact(L);
        for l in &mut lanes {
            for j in 0..L {
                ok &= l[j].is_finite();
                a[j] = a[j].wrapping_add(l[j].to_bits());
                b[j] = b[j].wrapping_add(a[j]);
            }
        }
        for (j, x) in lanes.remainder().iter().enumerate() {
            ok &= x.is_finite();
            a[j] = a[j].wrapping_add(x.to_bits());
            b[j] = b[j].wrapping_add(a[j]);
        }
        finite &= ok;
    }
    let mut h = xs.len() as u64;
    for j in 0..L {
        h = (h ^ a[j])
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
        h = (h ^ b[j])
            .wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
            .rotate_left(31);
    }
    (finite, h)
}

/// Checks an array's values as the readers check a file's: finite — or, with `skip`, dropped
/// and counted — and integers for a discrete family. Unchanged (still borrowed) when every
/// value passes. Returns the samples, the count dropped and their [`scan`] checksum.
fn checked<'a>(
    xs: Cow<'a, [f64]>,
    family: &dyn Family,
    skip: bool,
) -> klgrid::Result<(Cow<'a, [f64]>, u64, u64)> {
    if xs.is_empty() {
        return Err(klgrid::Error::input("data: the data set is empty"));
    }
    let integers = family.integer_data();
    let bad = |x: f64| !x.is_finite() || (integers && x.fract() != 0.0);
    // The common case first, in one pass whose inner loop has no early exit (so it vectorises).
    let (all_finite, sum) = scan(&xs);
    if all_finite && !integers {
        return Ok((xs, 0, sum));
    }
    let Some(first) = xs.iter().position(|&x| bad(x)) else {
        return Ok((xs, 0, sum));
    };
    let mut out = Vec::with_capacity(xs.len());
    out.extend_from_slice(&xs[..first]);
    let mut skipped = 0u64;
    for (i, &x) in xs.iter().enumerate().skip(first) {
        if !x.is_finite() {
            if skip {
                skipped += 1;
                continue;
            }
            return Err(klgrid::Error::input(format!(
                "data: element {i}: non-finite value '{x}' (NaN and infinities are not data; \
                 skip_nonfinite=True drops them)"
            )));
        }
        if integers && x.fract() != 0.0 {
            return Err(klgrid::Error::input(format!(
                "data: element {i}: value {x} is not an integer, but the family is discrete"
            )));
        }
        out.push(x);
    }
    if out.is_empty() {
        return Err(kinput::empty_error("data", skipped));
    }
    let sum = scan(&out).1;
    Ok((Cow::Owned(out), skipped, sum))
}

impl Loaded<'_> {
    /// Hands a widened or gathered buffer back to be kept for the next call ([`spare`]); one
    /// borrowed from the array is left alone.
    pub fn recycle(self) {
        if let Cow::Owned(v) = self.xs {
            spare::give(v);
        }
    }
}

impl<'a> Data<'a> {
    /// The samples in memory: borrowed, gathered, widened, drawn, or (a path) read whole.
    pub fn load(self, family: &'static dyn Family, skip: bool) -> klgrid::Result<Loaded<'a>> {
        let t0 = Instant::now();
        let array = |xs: Cow<'a, [f64]>, copied: bool, dtype: &str| {
            let (xs, skipped, checksum) = checked(xs, family, skip)?;
            let copied = copied || matches!(xs, Cow::Owned(_));
            Ok::<_, klgrid::Error>(Loaded {
                source: format!("<array {dtype}>"),
                xs,
                skipped,
                seconds: 0.0,
                copied,
                format: Some("array"),
                checksum,
            })
        };
        let mut loaded = match self {
            Data::Slice(s, copied) => array(Cow::Borrowed(s), copied, "float64")?,
            Data::Strided(v) => array(
                Cow::Owned(spare::gather(v.len(), v.iter().copied())),
                true,
                "float64",
            )?,
            Data::F32(v) => {
                let wide = match v.as_slice() {
                    Some(s) => spare::widen(s),
                    None => spare::gather(v.len(), v.iter().map(|&x| f64::from(x))),
                };
                array(Cow::Owned(wide), true, "float32")?
            }
            Data::Sample { spec, n, seed } => {
                let xs = spec.draw(n, seed)?;
                if family.integer_data() {
                    if let Some((i, x)) = xs.iter().enumerate().find(|(_, x)| x.fract() != 0.0) {
                        return Err(klgrid::Error::input(format!(
                            "sample #{} = {x} from {spec} is not an integer, but {} is a discrete family",
                            i + 1,
                            family.name()
                        )));
                    }
                }
                Loaded {
                    xs: Cow::Owned(xs),
                    skipped: 0,
                    source: format!("{spec}, seed {seed}"),
                    seconds: 0.0,
                    copied: false,
                    format: None,
                    checksum: 0,
                }
            }
            Data::File(spec) => {
                let (xs, reader) = kinput::read_all(&spec)?;
                Loaded {
                    xs: Cow::Owned(xs),
                    skipped: reader.skipped_nonfinite(),
                    source: spec.source.name(),
                    seconds: 0.0,
                    copied: false,
                    format: None,
                    checksum: 0,
                }
            }
        };
        loaded.seconds = t0.elapsed().as_secs_f64();
        Ok(loaded)
    }
}

/// Runs one sweep: `klgrid sweep` without the output — the result keeps the evaluation and the
/// analysis for the arrays, the JSON document, the CSV, the table and the plot.
#[pyfunction]
#[pyo3(signature = (
    family, *, grid, data=None, data_copied=false, sample=None, n=None, seed=42,
    backend="auto", compare=None, strategy="auto", refine=0, truth=None, units="nats",
    adapter=None, kernel_shape=None, format_in=None, column=None, skip_nonfinite=false
))]
#[allow(clippy::too_many_arguments)]
pub fn sweep(
    py: Python<'_>,
    family: &str,
    grid: Vec<String>,
    data: Option<&Bound<'_, PyAny>>,
    data_copied: bool,
    sample: Option<String>,
    n: Option<u64>,
    seed: u64,
    backend: &str,
    compare: Option<&str>,
    strategy: &str,
    refine: u32,
    truth: Option<String>,
    units: &str,
    adapter: Option<&str>,
    kernel_shape: Option<&str>,
    format_in: Option<&str>,
    column: Option<&str>,
    skip_nonfinite: bool,
) -> PyResult<SweepResult> {
    let backend = parse_backend(backend, compare)?;
    let strategy: Strategy = strategy.parse().map_err(to_py)?;
    let units: Units = units.parse().map_err(to_py)?;
    if refine > 60 {
        return Err(input(format!(
            "refine must be between 0 and 60 (got {refine})"
        )));
    }
    if truth.is_some() && sample.is_some() {
        return Err(input(
            "true= declares the distribution behind data; with sample= the spec itself is the truth",
        ));
    }
    let (family, grid) = family_and_grid(family, &grid)?;
    let shape = run::shape(kernel_shape)?;
    let args = DataArgs {
        data,
        copied: data_copied,
        sample: sample.clone(),
        n,
        seed,
        format_in,
        column,
        skip_nonfinite,
    };
    let borrows = Borrows::of(data)?;
    // An array handed over is read again by the rest of the analysis (a path is not kept).
    let held_array = data.map(|d| d.clone().unbind());
    let data = args.resolve(&borrows, family)?;
    let truth = match (&truth, &sample) {
        (Some(t), _) => Some(
            SampleSpec::parse(t)
                .map_err(|e| input(one_line(&e.to_string()).replacen("--sample", "--true", 1)))?,
        ),
        (None, Some(s)) => Some(SampleSpec::parse(s).map_err(to_py)?),
        (None, None) => None,
    };
    let opts = AnalysisOptions {
        truth,
        refine,
        units,
        ..AnalysisOptions::default()
    };
    let base = run::session(adapter, shape);
    let later = base.clone();
    run::detached(py, &base, move |session| {
        let mut notes: Vec<String> = Vec::new();
        let mut note = |m: &str| notes.push(m.to_string());
        let t0 = Instant::now();
        let (loaded, file) = match data {
            Data::File(spec) => (None, Some(spec)),
            other => (Some(other.load(family, skip_nonfinite)?), None),
        };
        let t1 = Instant::now();
        let outcome = match (&loaded, file) {
            (Some(l), _) => {
                let job = SweepJob {
                    family,
                    grid: grid.clone(),
                    data: &l.xs,
                    backend,
                    strategy,
                };
                let mut o = engine::run(session, &job, &mut note)?;
                o.skipped_nonfinite = l.skipped;
                o
            }
            (None, Some(spec)) => {
                let reader = kinput::open(&spec)?;
                let job = StreamJob {
                    family,
                    grid: grid.clone(),
                    backend,
                    strategy,
                };
                engine::run_stream(session, &job, reader, &mut note, &Silent)?
            }
            (None, None) => return Err(klgrid::Error::input("no data")),
        };
        let memory = loaded.as_ref().map(|l| &*l.xs);
        let t2 = Instant::now();
        // The part of the analysis that can fail, and refinement, now; the MLE, intervals and
        // errors (passes over the samples) on first access to them (`SweepResult::analysis`).
        let summary = analysis::summarise(
            session,
            family,
            &grid,
            outcome.samples(memory),
            &outcome,
            &opts,
            &Silent,
        )?;
        let (source, seconds, format, copied, address) = match &loaded {
            Some(l) => (
                l.source.clone(),
                l.seconds,
                l.format,
                l.copied,
                l.xs.as_ptr() as usize,
            ),
            None => (
                outcome
                    .input
                    .as_ref()
                    .map_or_else(String::new, |(i, _)| i.name.clone()),
                outcome.input.as_ref().map_or(0.0, |i| i.1),
                None,
                false,
                0,
            ),
        };
        // What the rest of the analysis will read: the array handed over (read again, and
        // checked against the checksum of what was swept), the samples drawn, or those the
        // outcome keeps (none for data streamed past memory).
        let samples = match (loaded, held_array) {
            (Some(l), Some(array)) => {
                let held = Held::Array {
                    array,
                    skip: skip_nonfinite,
                    len: l.xs.len(),
                    checksum: l.checksum,
                };
                l.recycle();
                held
            }
            (Some(l), None) => Held::Owned(l.xs.into_owned()),
            (None, _) => Held::Outcome,
        };
        let phases = [
            ("data_s", (t1 - t0).as_secs_f64()),
            ("engine_s", (t2 - t1).as_secs_f64()),
            ("analysis_s", t2.elapsed().as_secs_f64()),
        ];
        Ok(SweepResult {
            phases,
            family,
            grid,
            outcome,
            summary,
            pending: Some(Pending {
                session: later,
                opts,
                samples,
            }),
            full: PyOnceLock::new(),
            data_source: source,
            data_seconds: seconds,
            data_format: format,
            notes,
            data_address: address,
            data_copied: copied,
        })
    })
}

/// Runs `klgrid bench` on the job and returns the command's JSON document (`--format json`)
/// with the notes it would print on stderr: `{"report": {...}, "notes": [...]}`.
#[pyfunction]
#[pyo3(signature = (
    family, *, grid, data=None, data_copied=false, sample=None, n=None, seed=42,
    backends=None, repeat=5, ref_repeat=1, strategy="direct", adapter=None, kernel_shape=None,
    format_in=None, column=None, skip_nonfinite=false
))]
#[allow(clippy::too_many_arguments)]
pub fn bench(
    py: Python<'_>,
    family: &str,
    grid: Vec<String>,
    data: Option<&Bound<'_, PyAny>>,
    data_copied: bool,
    sample: Option<String>,
    n: Option<u64>,
    seed: u64,
    backends: Option<Vec<String>>,
    repeat: usize,
    ref_repeat: usize,
    strategy: &str,
    adapter: Option<&str>,
    kernel_shape: Option<&str>,
    format_in: Option<&str>,
    column: Option<&str>,
    skip_nonfinite: bool,
) -> PyResult<String> {
    if repeat == 0 {
        return Err(input("repeat must be at least 1"));
    }
    let strategy: Strategy = strategy.parse().map_err(to_py)?;
    let paths = backends
        .map(|v| {
            v.iter()
                .map(|s| s.parse::<EvalPath>())
                .collect::<klgrid::Result<Vec<_>>>()
        })
        .transpose()
        .map_err(to_py)?;
    let (family, grid) = family_and_grid(family, &grid)?;
    let shape = run::shape(kernel_shape)?;
    let args = DataArgs {
        data,
        copied: data_copied,
        sample,
        n,
        seed,
        format_in,
        column,
        skip_nonfinite,
    };
    let borrows = Borrows::of(data)?;
    let data = args.resolve(&borrows, family)?;
    let base = run::session(adapter, shape);
    run::detached(py, &base, move |session| {
        let loaded = data.load(family, skip_nonfinite)?;
        let mut notes: Vec<String> = Vec::new();
        let paths = match paths {
            Some(p) => p,
            None => {
                let mut v = vec![EvalPath::Gpu, EvalPath::Cpu, EvalPath::CpuRef];
                if let Err(e) = session.gpu() {
                    notes.push(format!("bench: leaving out gpu: {e}"));
                    v.remove(0);
                }
                v
            }
        };
        let opts = BenchOptions {
            paths,
            repeat,
            ref_repeat,
            strategy,
        };
        let report = kbench::run(session, family, &grid, &loaded.xs, &opts, &mut |m| {
            notes.push(m.to_string())
        })?;
        let doc = json!({
            "report": klgrid::report::bench::document(&report, kbench::peak_rss_bytes()),
            "notes": notes,
        });
        Ok(doc.to_string())
    })
}

/// Merges partial files (`klgrid sweep --shard I/K --partial-out …`, MPI ranks) into one sweep:
/// `klgrid merge FILES` without the output. The merged sums are exact (fixed-point), so the
/// result is bitwise the single process's whatever the split and the order of `paths`.
#[pyfunction]
#[pyo3(signature = (paths, *, units="nats"))]
pub fn merge(py: Python<'_>, paths: Vec<std::path::PathBuf>, units: &str) -> PyResult<SweepResult> {
    let units: Units = units.parse().map_err(to_py)?;
    let base = run::session(None, None);
    run::detached(py, &base, move |_| {
        let t0 = Instant::now();
        let merged = klgrid::engine::merge::merge_files(&paths)?;
        let t1 = Instant::now();
        let opts = AnalysisOptions {
            units,
            ..AnalysisOptions::default()
        };
        let an = analysis::merged::analyse_merged(&merged, opts)?;
        let phases = [
            ("data_s", 0.0),
            ("engine_s", (t1 - t0).as_secs_f64()),
            ("analysis_s", t1.elapsed().as_secs_f64()),
        ];
        Ok(SweepResult {
            phases,
            family: merged.family,
            data_source: merged.data.source(),
            data_seconds: merged.data_seconds,
            grid: merged.grid,
            outcome: merged.outcome,
            summary: an,
            pending: None,
            full: PyOnceLock::new(),
            data_format: None,
            notes: merged.notes,
            data_address: 0,
            data_copied: false,
        })
    })
}
