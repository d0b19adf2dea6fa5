//! Several devices in one process (`--adapter all`, or a list of indices from `klgrid
//! adapters`): one [`Session`] per device, each driven by its own thread, behind one
//! [`ChunkEvaluator`] so that the pipeline runs unchanged.
//!
//! * [`DeviceSplit::Grid`] (default): device d evaluates a contiguous range of the grid's points
//!   ([`Grid::range`]) over every chunk; the ranges are put side by side.
//! * [`DeviceSplit::Data`]: chunk k goes to device k mod D, each device evaluates the whole grid
//!   over its chunks, and the devices' exact accumulations are merged
//!   ([`PartialSums::merge`]).
//!
//! Either way every grid point's sum is the exact sum of the same chunk partials as in one
//! process on one device, so on devices of one kind (two devices on one adapter) the result is
//! bitwise the one-device result. The kernel shape is chosen once, for the whole grid, so that a
//! range of the grid gets the kernel the whole grid would.

use crate::engine::config::{Backend, EvalPath, Strategy};
use crate::engine::evaluation::{ChunkEvaluator, Conditioning, Evaluation};
use crate::engine::gpu::{AdapterSummary, GpuContext, KernelShape};
use crate::engine::partials::{PartialSums, Partials};
use crate::engine::prepare::Centre;
use crate::engine::session::{Session, SessionOptions};
use crate::error::{Error, Result};
use crate::model::grid::Grid;
use crate::model::Family;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// How the work is split across devices (`--device-split`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DeviceSplit {
    /// Contiguous ranges of grid points, one per device.
    #[default]
    Grid,
    /// Chunks of the data, dealt round-robin.
    Data,
}

/// Which adapters `--adapter` names when it is `all` or a list of indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdapterSet {
    /// Every adapter `klgrid adapters` lists.
    All,
    /// These indices of `klgrid adapters` (repeats open one adapter several times).
    Indices(Vec<usize>),
}

impl AdapterSet {
    /// `all`, or indices separated by commas (`0,1`, `0,0`); `None` for anything else (a name
    /// substring, handled as before).
    pub fn parse(s: &str) -> Option<AdapterSet> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("all") {
            return Some(AdapterSet::All);
        }
        let v: Option<Vec<usize>> = t.split(',').map(|p| p.trim().parse().ok()).collect();
        v.filter(|v| !v.is_empty()).map(AdapterSet::Indices)
    }

    /// Opens a device on each adapter of the set.
    pub fn open(&self) -> Result<Vec<Arc<GpuContext>>> {
        let indices = match self {
            AdapterSet::All => {
                let n = crate::engine::gpu::list_adapters().len();
                if n == 0 {
                    return Err(Error::NoAdapter(
                        "--adapter all: no GPU adapter found (see `klgrid adapters`)".into(),
                    ));
                }
                (0..n).collect()
            }
            AdapterSet::Indices(v) => v.clone(),
        };
        indices
            .into_iter()
            .map(|i| GpuContext::open_index(i).map(Arc::new))
            .collect()
    }
}

/// One session per device, with the kernel shape of the whole grid, `whole` points.
pub fn sessions(
    contexts: Vec<Arc<GpuContext>>,
    options: &SessionOptions,
    family: &dyn Family,
    whole: usize,
) -> Vec<Session> {
    contexts
        .into_iter()
        .map(|ctx| {
            let shape = options.shape.unwrap_or_else(|| {
                KernelShape::choose_for(ctx.summary.is_software, whole, family.n_kernel_consts())
            });
            let o = SessionOptions {
                shape: Some(shape),
                ..options.clone()
            };
            Session::on_device(o, ctx)
        })
        .collect()
}

/// Opens the evaluators of a job on several devices: the reported path split across the
/// sessions (one worker thread each), the reference path of `both` on the first session.
pub fn open(
    sessions: &[Session],
    split: DeviceSplit,
    family: &'static dyn Family,
    grid: &Grid,
    backend: Backend,
    strategy: Strategy,
    notes: &mut Vec<String>,
) -> Result<Vec<Box<dyn ChunkEvaluator>>> {
    let first = sessions
        .first()
        .ok_or_else(|| Error::input("no device to evaluate on"))?;
    // The reported path and strategy, resolved once for the whole grid (as `open_paths` does).
    let (path, reference) = match backend {
        Backend::One(p) => (p, None),
        Backend::Both(a, b) => (a, Some(b)),
        Backend::Auto => match first.gpu() {
            Ok(c) => {
                notes.push(format!("backend auto: using gpu on {}", c.summary.label()));
                (EvalPath::Gpu, None)
            }
            Err(e) => {
                notes.push(format!("backend auto: {e}; using cpu"));
                (EvalPath::Cpu, None)
            }
        },
    };
    if path == EvalPath::CpuRef && strategy == Strategy::SuffStats {
        return Err(Error::input(
            "--strategy suffstats applies to the gpu and cpu paths; cpu-ref is always direct",
        ));
    }
    let strategy = match path {
        EvalPath::CpuRef => Strategy::Direct,
        _ => crate::engine::suffstats::resolve(strategy, family, grid)?,
    };
    let reference = reference
        .map(|b| crate::engine::backend::open(b, Strategy::Direct, first, family, grid))
        .transpose()?;
    let d = sessions.len();
    let mut workers = Vec::with_capacity(d);
    for (k, s) in sessions.iter().enumerate() {
        let g = match split {
            DeviceSplit::Grid => {
                let (a, b) = (grid.len() * k / d, grid.len() * (k + 1) / d);
                grid.range(a, b).expect("a range of the grid")
            }
            DeviceSplit::Data => grid.clone(),
        };
        let ev = crate::engine::backend::open(path, strategy, s, family, &g)?;
        workers.push(Worker::spawn(ev, k)?);
    }
    notes.push(format!(
        "{d} devices, {} split: {}",
        match split {
            DeviceSplit::Grid => "grid",
            DeviceSplit::Data => "data",
        },
        sessions
            .iter()
            .enumerate()
            .map(|(k, s)| format!(
                "[{k}] {}",
                s.gpu()
                    .map_or_else(|_| "cpu".to_string(), |c| c.summary.label())
            ))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut out: Vec<Box<dyn ChunkEvaluator>> = vec![Box::new(Multi {
        workers,
        split,
        next: 0,
        len: grid.len(),
    })];
    out.extend(reference);
    Ok(out)
}

/// A message to a worker.
enum Msg {
    Start(Centre),
    Chunk(Arc<Vec<f64>>),
}

/// A device's thread: it owns that device's evaluator.
struct Worker {
    tx: Option<SyncSender<Msg>>,
    handle: Option<JoinHandle<Result<Evaluation>>>,
}

impl Worker {
    fn spawn(mut ev: Box<dyn ChunkEvaluator>, k: usize) -> Result<Worker> {
        // One message queued while one is evaluated: at most two chunks per device in flight.
        let (tx, rx) = sync_channel::<Msg>(1);
        let handle = std::thread::Builder::new()
            .name(format!("klgrid-device-{k}"))
            .spawn(move || {
                let mut failed: Option<Error> = None;
                for m in rx {
                    if failed.is_some() {
                        continue; // drain, so that the sender never blocks on a dead worker
                    }
                    let r = match m {
                        Msg::Start(c) => ev.start(&c),
                        Msg::Chunk(xs) => ev.chunk(&xs),
                    };
                    if let Err(e) = r {
                        failed = Some(e);
                    }
                }
                match failed {
                    Some(e) => Err(e),
                    None => ev.finish(),
                }
            })
            .map_err(|e| Error::Gpu(format!("cannot start a device thread: {e}")))?;
        Ok(Worker {
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    fn send(&mut self, m: Msg) -> Result<()> {
        let ok = self.tx.as_ref().is_some_and(|tx| tx.send(m).is_ok());
        if ok {
            return Ok(());
        }
        // The worker has stopped: its result says why.
        match self.join() {
            Err(e) => Err(e),
            Ok(_) => Err(Error::Gpu("a device thread stopped early".into())),
        }
    }

    fn join(&mut self) -> Result<Evaluation> {
        self.tx = None;
        match self.handle.take() {
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(Error::Gpu("a device thread panicked".into()))),
            None => Err(Error::Gpu("a device thread was joined twice".into())),
        }
    }
}

/// The evaluator over several devices (see the module documentation).
struct Multi {
    workers: Vec<Worker>,
    split: DeviceSplit,
    /// The next chunk's number (data split).
    next: usize,
    /// Grid points.
    len: usize,
}

impl ChunkEvaluator for Multi {
    fn start(&mut self, centre: &Centre) -> Result<()> {
        for w in &mut self.workers {
            w.send(Msg::Start(centre.clone()))?;
        }
        Ok(())
    }

    fn chunk(&mut self, xs: &[f64]) -> Result<()> {
        let xs = Arc::new(xs.to_vec());
        match self.split {
            DeviceSplit::Grid => {
                for w in &mut self.workers {
                    w.send(Msg::Chunk(xs.clone()))?;
                }
            }
            DeviceSplit::Data => {
                let k = self.next % self.workers.len();
                self.next += 1;
                self.workers[k].send(Msg::Chunk(xs))?;
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Evaluation> {
        let evals: Vec<Result<Evaluation>> = self.workers.iter_mut().map(|w| w.join()).collect();
        let evals = evals.into_iter().collect::<Result<Vec<_>>>()?;
        combine(evals, self.split, self.len)
    }
}

/// Puts the devices' evaluations together: side by side (grid split) or merged (data split).
fn combine(evals: Vec<Evaluation>, split: DeviceSplit, len: usize) -> Result<Evaluation> {
    let first = evals
        .first()
        .cloned()
        .ok_or_else(|| Error::input("no device evaluated"))?;
    let mut exact = PartialSums::zeros(len);
    match split {
        DeviceSplit::Grid => {
            let mut offset = 0;
            for e in &evals {
                exact.merge_range(offset, &e.exact);
                offset += e.exact.len();
            }
            exact.add_samples(first.exact.n());
        }
        DeviceSplit::Data => {
            for e in &evals {
                exact.merge(&e.exact);
            }
        }
    }
    let partials: Partials = exact.value();
    let adapters: Vec<AdapterSummary> = evals.iter().filter_map(|e| e.adapter.clone()).collect();
    let adapter = (!adapters.is_empty()).then(|| AdapterSummary {
        name: adapters
            .iter()
            .map(|a| a.name.clone())
            .collect::<Vec<_>>()
            .join(" + "),
        backend: adapters
            .iter()
            .map(|a| a.backend.clone())
            .collect::<Vec<_>>()
            .join(" + "),
        device_type: adapters
            .iter()
            .map(|a| a.device_type.clone())
            .collect::<Vec<_>>()
            .join(" + "),
        ..adapters[0].clone()
    });
    let max = |f: &dyn Fn(&Evaluation) -> f64| evals.iter().map(f).fold(0.0, f64::max);
    let device = evals
        .iter()
        .filter_map(|e| e.device_seconds)
        .reduce(|a, b| a + b);
    let mut conditioning = Conditioning::default();
    for e in &evals {
        conditioning.merge(&e.conditioning);
    }
    Ok(Evaluation {
        backend: first.backend,
        strategy: first.strategy,
        conditioning,
        adapter,
        shape: first.shape,
        partials,
        exact,
        compile_seconds: max(&|e| e.compile_seconds),
        device_seconds: device,
        eval_seconds: max(&|e| e.eval_seconds),
    })
}
