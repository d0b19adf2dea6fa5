//! The result of a sweep, as the Python `Sweep` sees it: per-point arrays, the axes, and the
//! command's own outputs — the JSON document, CSV and table written by `klgrid::report`, and
//! the plot drawn by `klgrid::plot` — so that Python and the command never drift apart.

use crate::errors::to_py;
use crate::job::Borrows;
use crate::run;
use klgrid::analysis::{self, Analysis, AnalysisOptions};
use klgrid::engine::{Session, Silent, SweepOutcome};
use klgrid::model::grid::Grid;
use klgrid::model::Family;
use klgrid::plot::{self, MetricChoice, PlotOptions};
use klgrid::report::{self, DataOrigin, Format, Points, Report};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple};
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Instant;

/// The samples the rest of the analysis ([`analysis::complete`]) reads.
pub enum Held {
    /// Those the outcome keeps ([`SweepOutcome::samples`]): none for data streamed past
    /// memory, whose analysis needs no samples.
    Outcome,
    /// Samples drawn (`sample=`).
    Owned(Vec<f64>),
    /// The NumPy array handed over, read again (gathered, widened, checked as by the sweep)
    /// and compared with what was swept: its length and its [`crate::job::scan`] checksum
    /// (taken by the same check), so that an array changed since the sweep is an error, never
    /// a silently different MLE.
    Array {
        array: Py<PyAny>,
        skip: bool,
        len: usize,
        checksum: u64,
    },
}

/// What the rest of the analysis needs besides the result itself.
pub struct Pending {
    /// The session of the sweep, for the cancellation hook (Ctrl-C) while it runs.
    pub session: Session,
    pub opts: AnalysisOptions,
    pub samples: Held,
}

/// One finished sweep: the evaluation, its analysis and where the data came from.
#[pyclass(frozen, module = "klgrid._core", name = "SweepResult")]
pub struct SweepResult {
    pub family: &'static dyn Family,
    pub grid: Grid,
    pub outcome: SweepOutcome,
    /// The analysis as far as [`analysis::summarise`] takes it (H(P), KL, identity,
    /// refinement), or the whole one when `pending` is `None`.
    pub summary: Analysis,
    /// How to complete it (MLE, intervals, regions, errors): on first access to one of them,
    /// so that a sweep whose caller reads the grid only costs the evaluation.
    pub pending: Option<Pending>,
    /// The completed analysis and the seconds it took, once computed.
    pub full: PyOnceLock<(Analysis, f64)>,
    /// `data` of the report: the path, the sample spec and seed, or `<array float64>`.
    pub data_source: String,
    pub data_seconds: f64,
    /// `data_format` for data handed over as an array (`"array"`); `None`: as written.
    pub data_format: Option<&'static str>,
    /// What the command would print on stderr (the path `auto` chose).
    pub notes: Vec<String>,
    /// Address of the float64 samples evaluated (0 for streamed files): equal to the NumPy
    /// array's own for a contiguous float64 array, which is evaluated in place.
    pub data_address: usize,
    /// Whether the samples evaluated are a copy of the array handed over.
    pub data_copied: bool,
    /// Wall seconds of the call's phases: `data_s` (drawing, converting, checking; 0 for
    /// streamed files, read while evaluating), `engine_s` (opening the paths, compiling,
    /// evaluating — the pipeline's `run`), `analysis_s` (entropy, KL, refinement: the part of
    /// the analysis done in the call; the rest is [`SweepResult::complete_seconds`]).
    pub phases: [(&'static str, f64); 3],
}

impl SweepResult {
    /// The whole analysis: computed from `pending` on the first call (with the GIL released,
    /// panics caught), then kept. The same [`analysis::complete`] the command runs after
    /// [`analysis::summarise`], on the same samples, so the result is the command's.
    fn analysis(&self, py: Python<'_>) -> PyResult<&Analysis> {
        let Some(p) = &self.pending else {
            return Ok(&self.summary);
        };
        self.full
            .get_or_try_init(py, || self.complete(py, p))
            .map(|(a, _)| a)
    }

    fn complete(&self, py: Python<'_>, p: &Pending) -> PyResult<(Analysis, f64)> {
        let t0 = Instant::now();
        let (family, grid, outcome) = (self.family, &self.grid, &self.outcome);
        let finish = |xs: Option<&[f64]>| {
            let a = analysis::complete(
                family,
                grid,
                xs,
                outcome,
                &p.opts,
                self.summary.clone(),
                &Silent,
            );
            (a, t0.elapsed().as_secs_f64())
        };
        match &p.samples {
            Held::Outcome => run::detached(py, &p.session, |_| Ok(finish(outcome.samples(None)))),
            Held::Owned(xs) => run::detached(py, &p.session, |_| Ok(finish(Some(xs)))),
            Held::Array {
                array,
                skip,
                len,
                checksum,
            } => {
                let borrows = Borrows::of(Some(array.bind(py)))?;
                let data = borrows.data(false)?;
                run::detached(py, &p.session, |_| {
                    let changed = || {
                        klgrid::Error::input(
                            "data: the array handed to klgrid.sweep was changed since; the MLE, \
                             intervals and errors are computed from it on first access — read \
                             them before changing it, or pass a copy (data=x.copy())",
                        )
                    };
                    let loaded = data.load(family, *skip).map_err(|_| changed())?;
                    if loaded.xs.len() != *len || loaded.checksum != *checksum {
                        return Err(changed());
                    }
                    let done = finish(Some(&loaded.xs));
                    loaded.recycle();
                    Ok(done)
                })
            }
        }
    }

    fn report<'a>(&'a self, analysis: &'a Analysis) -> Report<'a> {
        Report {
            family: self.family,
            grid: &self.grid,
            outcome: &self.outcome,
            data_source: self.data_source.clone(),
            // Read from a file (streamed or into memory), else drawn or handed over as an array.
            origin: match &self.outcome.input {
                Some((info, _)) => DataOrigin::Read(info),
                None => DataOrigin::Drawn,
            },
            data_seconds: self.data_seconds,
            analysis,
        }
    }
}

/// Keeps what the JSON writer writes up to its `points` array: the document's head.
#[derive(Default)]
struct HeadOnly {
    buf: Vec<u8>,
    done: bool,
}

/// Where the writer starts the per-point array (the last field of the document).
const POINTS: &[u8] = b",\n  \"points\": [";

impl Write for HeadOnly {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if self.done {
            return Err(io::Error::other("head complete"));
        }
        let from = self.buf.len().saturating_sub(POINTS.len());
        self.buf.extend_from_slice(b);
        if let Some(p) = self.buf[from..]
            .windows(POINTS.len())
            .position(|w| w == POINTS)
        {
            self.buf.truncate(from + p);
            self.done = true;
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn output(e: io::Error) -> PyErr {
    to_py(klgrid::Error::Output(e.to_string()))
}

#[pymethods]
impl SweepResult {
    /// The JSON document without its `points` (every other field, as the command writes it),
    /// so that a grid of millions of points is not written to read the best point. Written by
    /// the library's writer, stopped where the points begin. `complete=False`: from the
    /// analysis as far as the sweep took it, without computing the rest — its fields `mle`,
    /// `mle_note`, `intervals`, `regions`, `errors`, `covariance`, `correlation`, `hessian`,
    /// `profile` and `warnings` are then placeholders, every other field is final.
    #[pyo3(signature = (complete=true))]
    fn head_json(&self, py: Python<'_>, complete: bool) -> PyResult<String> {
        let analysis = if complete {
            self.analysis(py)?
        } else {
            &self.summary
        };
        py.detach(|| {
            let mut w = HeadOnly::default();
            let res = report::json::write(&self.report(analysis), Points::All, &mut w);
            if !w.done {
                // No points array where expected: the whole document.
                res?;
            } else {
                w.buf.extend_from_slice(b"\n}\n");
            }
            String::from_utf8(w.buf).map_err(io::Error::other)
        })
        .map_err(output)
    }

    /// The report in `format`: `json` (the document of `--format json`), `csv` or `table`.
    fn write(&self, py: Python<'_>, format: &str) -> PyResult<String> {
        let format: Format = format.parse().map_err(to_py)?;
        let analysis = self.analysis(py)?;
        py.detach(|| {
            let mut buf = Vec::new();
            report::write(&self.report(analysis), format, &mut buf)?;
            String::from_utf8(buf).map_err(io::Error::other)
        })
        .map_err(output)
    }

    /// Per grid point, in grid order (flat): `loglik` and `mean_loglik` (nats, −∞ outside the
    /// support), `cross_entropy` = −mean_loglik, `kl` = cross_entropy − H(P) and `kl_exact`
    /// (NaN where none) in the sweep's units, and `outside_support` (uint64). `kl` and
    /// `kl_exact` only where the report has those columns.
    fn arrays<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let p = &self.outcome.primary.partials;
        let u = self.summary.units;
        let len = p.len();
        let d = PyDict::new(py);
        let col = |f: &dyn Fn(usize) -> f64| (0..len).map(f).collect::<Vec<f64>>();
        d.set_item("loglik", PyArray1::from_vec(py, col(&|i| p.loglik(i))))?;
        d.set_item(
            "mean_loglik",
            PyArray1::from_vec(py, col(&|i| p.mean_loglik(i))),
        )?;
        d.set_item(
            "cross_entropy",
            PyArray1::from_vec(py, col(&|i| u.of(-p.mean_loglik(i)))),
        )?;
        d.set_item("outside_support", PyArray1::from_vec(py, p.outside.clone()))?;
        if let Some(k) = &self.summary.kl {
            d.set_item("kl", PyArray1::from_vec(py, col(&|i| u.of(k[i]))))?;
        }
        if let Some(k) = &self.summary.kl_exact {
            d.set_item("kl_exact", PyArray1::from_vec(py, col(&|i| u.of(k[i]))))?;
        }
        Ok(d)
    }

    /// The axes in grid order: `[(name, values), ...]`.
    fn axes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .grid
            .axes()
            .iter()
            .map(|a| {
                PyTuple::new(
                    py,
                    [
                        a.name.clone().into_pyobject(py)?.into_any(),
                        PyArray1::from_vec(py, a.values.clone()).into_any(),
                    ],
                )
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// The grid's shape: the number of values of each axis, in grid order.
    #[getter]
    fn shape(&self) -> Vec<usize> {
        self.grid.axes().iter().map(|a| a.values.len()).collect()
    }

    /// The family's parameter names, in its canonical order (the CSV's columns).
    #[getter]
    fn params(&self) -> Vec<&'static str> {
        self.family.params().iter().map(|p| p.name).collect()
    }

    #[getter]
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    #[getter]
    fn data_address(&self) -> usize {
        self.data_address
    }

    #[getter]
    fn data_copied(&self) -> bool {
        self.data_copied
    }

    /// Wall seconds of the call's phases (see the field).
    #[getter]
    fn phases(&self) -> Vec<(&'static str, f64)> {
        self.phases.to_vec()
    }

    /// Wall seconds the rest of the analysis (MLE, intervals, errors) took when it was
    /// computed, on first access; `None` before (or when the sweep's analysis was whole).
    #[getter]
    fn complete_seconds(&self, py: Python<'_>) -> Option<f64> {
        self.full.get(py).map(|(_, s)| *s)
    }

    /// Computes the rest of the analysis now, if not yet done (what reading `mle` does).
    fn complete_analysis(&self, py: Python<'_>) -> PyResult<()> {
        self.analysis(py).map(|_| ())
    }

    #[getter]
    fn data_format(&self) -> Option<&'static str> {
        self.data_format
    }

    /// Draws the sweep as `klgrid sweep --plot PATH` does: PNG or SVG by the extension;
    /// `metric` `loglik` (the default here), `cross_entropy`, `kl`, `deviance` (the command's
    /// default) or `delta_loglik`; `size` `WxH`; `pair` `A,B` (more than two parameters: the 2-D
    /// profile of two).
    #[pyo3(signature = (path, metric="loglik", size="1200x800", pair=None))]
    fn plot(
        &self,
        py: Python<'_>,
        path: PathBuf,
        metric: &str,
        size: &str,
        pair: Option<&str>,
    ) -> PyResult<()> {
        plot::ImageFormat::from_path(&path).map_err(to_py)?;
        let options = PlotOptions {
            metric: metric.parse::<MetricChoice>().map_err(to_py)?,
            size: Some(plot::parse_size(size).map_err(to_py)?),
            pair: pair
                .map(|s| plot::parse_pair(s, &self.grid))
                .transpose()
                .map_err(to_py)?,
            ..PlotOptions::default()
        };
        let analysis = self.analysis(py)?;
        let input = plot::sweep_input(self.family, &self.grid, &self.outcome, analysis, &options)
            .map_err(to_py)?;
        py.detach(|| plot::render(&input, &path).map(|_| ()))
            .map_err(to_py)
    }
}
