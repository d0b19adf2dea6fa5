//! The session: what a process builds once and reuses for every evaluation — the device (opened
//! on first use), the compiled sweep and reduction pipelines, and the evaluators' device buffers
//! (pooled, so refinement rounds and bench repeats reuse them).
//!
//! A [`Session`] is a cheap handle (clone it freely); one per device. Every sweep, refinement
//! round and bench repeat of a process goes through the same session, so each pipeline is
//! compiled once: [`Session::compilations`] counts them.

use crate::engine::gpu::codegen::sweep_source;
use crate::engine::gpu::{
    BatchLimits, GpuContext, GpuReducer, GpuSweep, KernelShape, ReducePipeline, SweepPipeline,
};
use crate::engine::prepare::CHUNK;
use crate::error::{Error, Result};
use crate::model::suffstats::StatsForm;
use crate::model::Family;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// How a session opens and uses its device.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Use the adapter whose name contains this text (`--adapter`).
    pub adapter: Option<String>,
    /// GPU kernel shape overriding the automatic choice (`--kernel-shape`).
    pub shape: Option<KernelShape>,
    /// Batch limits below the device's (tests of the batching that large data need).
    pub limits: Option<BatchLimits>,
}

/// What a session has built, for tests and `bench`: each pipeline should be built once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compilations {
    /// Sweep kernels compiled.
    pub sweep: usize,
    /// Sufficient-statistics reductions compiled.
    pub reduce: usize,
    /// Sets of sweep buffers allocated.
    pub sweep_buffers: usize,
    /// Sets of reduction buffers allocated.
    pub reduce_buffers: usize,
    /// Devices opened.
    pub devices: usize,
}

/// Why the device could not be opened (kept, so that a session asks once).
#[derive(Debug, Clone)]
struct OpenError {
    no_adapter: bool,
    message: String,
}

struct Inner {
    options: SessionOptions,
    gpu: OnceLock<std::result::Result<Arc<GpuContext>, OpenError>>,
    sweeps: Mutex<HashMap<String, Arc<SweepPipeline>>>,
    reducers: Mutex<HashMap<(StatsForm, usize), Arc<ReducePipeline>>>,
    idle_sweeps: Mutex<Vec<(usize, GpuSweep)>>,
    idle_reducers: Mutex<Vec<(usize, GpuReducer)>>,
    counts: Mutex<Compilations>,
}

/// A cancellation hook: asked before each chunk of every evaluation of a session (sweeps,
/// refinement rounds, bench runs) whether to stop; `true` makes the evaluation fail with
/// [`Error::Cancelled`].
pub type CancelHook = Arc<dyn Fn() -> bool + Send + Sync>;

/// The device and the compiled pipelines of a process (see the module documentation), and the
/// handle's cancellation hook, if any ([`Session::with_cancel`]).
#[derive(Clone)]
pub struct Session(Arc<Inner>, Option<CancelHook>);

impl Default for Session {
    fn default() -> Session {
        Session::new(SessionOptions::default())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain caches behind: still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Session {
    /// A session; the device is opened on first use.
    pub fn new(options: SessionOptions) -> Session {
        Session(
            Arc::new(Inner {
                options,
                gpu: OnceLock::new(),
                sweeps: Mutex::new(HashMap::new()),
                reducers: Mutex::new(HashMap::new()),
                idle_sweeps: Mutex::new(Vec::new()),
                idle_reducers: Mutex::new(Vec::new()),
                counts: Mutex::new(Compilations::default()),
            }),
            None,
        )
    }

    /// A handle to the same device, pipelines and buffers whose evaluations ask `hook`, before
    /// each chunk, whether to stop (then they fail with [`Error::Cancelled`]). Used to interrupt
    /// a long sweep — its refinement rounds, a bench — from outside, e.g. on Ctrl-C in Python;
    /// the check costs one call per chunk of [`CHUNK`] samples.
    pub fn with_cancel(&self, hook: CancelHook) -> Session {
        Session(self.0.clone(), Some(hook))
    }

    /// Whether this handle's cancellation hook asks to stop (never, without one).
    pub fn cancelled(&self) -> bool {
        self.1.as_ref().is_some_and(|h| h())
    }

    /// A session on a device opened beforehand (several devices in one process: one session per
    /// device, [`crate::engine::multi`]).
    pub fn on_device(options: SessionOptions, ctx: Arc<GpuContext>) -> Session {
        let s = Session::new(options);
        let _ = s.0.gpu.set(Ok(ctx));
        lock(&s.0.counts).devices += 1;
        s
    }

    /// The options the session was made with.
    pub fn options(&self) -> &SessionOptions {
        &self.0.options
    }

    /// The device, opened on the first call (on the best adapter matching the `adapter` option);
    /// [`Error::NoAdapter`] when there is none. A failure is remembered: the session does not
    /// try again.
    pub fn gpu(&self) -> Result<Arc<GpuContext>> {
        let r =
            self.0.gpu.get_or_init(
                || match GpuContext::open(self.0.options.adapter.as_deref()) {
                    Ok(c) => {
                        lock(&self.0.counts).devices += 1;
                        Ok(Arc::new(c))
                    }
                    Err(e) => Err(OpenError {
                        no_adapter: matches!(e, Error::NoAdapter(_)),
                        message: match e {
                            Error::NoAdapter(m) | Error::Gpu(m) => m,
                            other => other.to_string(),
                        },
                    }),
                },
            );
        match r {
            Ok(c) => Ok(c.clone()),
            Err(e) if e.no_adapter => Err(Error::NoAdapter(e.message.clone())),
            Err(e) => Err(Error::Gpu(e.message.clone())),
        }
    }

    /// Whether the device has been opened (successfully).
    pub fn has_gpu(&self) -> bool {
        matches!(self.0.gpu.get(), Some(Ok(_)))
    }

    /// The batch limits evaluations work within.
    pub fn limits(&self) -> Result<BatchLimits> {
        let ctx = self.gpu()?;
        Ok(self
            .0
            .options
            .limits
            .unwrap_or_else(|| BatchLimits::of(&ctx.limits)))
    }

    /// What has been compiled and allocated so far.
    pub fn compilations(&self) -> Compilations {
        *lock(&self.0.counts)
    }

    /// The sweep kernel of `family` for a grid of `grid_len` points, in the shape the options
    /// give or [`KernelShape::choose_for`] picks; compiled on first use. Returns it with the
    /// seconds spent compiling it now (0 when it came from the cache).
    pub fn sweep_pipeline(
        &self,
        family: &dyn Family,
        grid_len: usize,
    ) -> Result<(Arc<SweepPipeline>, f64)> {
        let ctx = self.gpu()?;
        let shape = self.0.options.shape.unwrap_or_else(|| {
            KernelShape::choose_for(ctx.summary.is_software, grid_len, family.n_kernel_consts())
        });
        // Keyed by the generated source: the family's kernel and the shape, nothing else.
        let key = sweep_source(family, shape);
        if let Some(p) = lock(&self.0.sweeps).get(&key) {
            return Ok((p.clone(), 0.0));
        }
        let p = SweepPipeline::compile(&ctx, family, shape)?;
        lock(&self.0.counts).sweep += 1;
        let secs = p.compile_seconds;
        lock(&self.0.sweeps).insert(key, p.clone());
        Ok((p, secs))
    }

    /// The reduction of `form` over `nf` features; compiled on first use. Returns it with the
    /// seconds spent compiling it now.
    pub fn reduce_pipeline(
        &self,
        form: StatsForm,
        nf: usize,
    ) -> Result<(Arc<ReducePipeline>, f64)> {
        let ctx = self.gpu()?;
        if let Some(p) = lock(&self.0.reducers).get(&(form, nf)) {
            return Ok((p.clone(), 0.0));
        }
        let p = ReducePipeline::compile(&ctx, form, nf)?;
        lock(&self.0.counts).reduce += 1;
        let secs = p.compile_seconds;
        lock(&self.0.reducers).insert((form, nf), p.clone());
        Ok((p, secs))
    }

    /// Buffers for evaluating `grid_len` points with `kernel` in chunks of [`CHUNK`] samples:
    /// an idle set from an earlier evaluation of the same kernel and grid size, or a new one.
    pub fn sweep_buffers(
        &self,
        kernel: &Arc<SweepPipeline>,
        grid_len: usize,
    ) -> Result<PooledSweep> {
        let key = Arc::as_ptr(kernel) as usize;
        {
            let mut idle = lock(&self.0.idle_sweeps);
            if let Some(i) = idle
                .iter()
                .position(|(k, s)| *k == key && s.grid_len() == grid_len)
            {
                let (_, s) = idle.swap_remove(i);
                return Ok(PooledSweep {
                    sweep: Some(s),
                    key,
                    session: self.clone(),
                });
            }
        }
        let s = GpuSweep::new(self.gpu()?, kernel.clone(), self.limits()?, grid_len, CHUNK)?;
        lock(&self.0.counts).sweep_buffers += 1;
        Ok(PooledSweep {
            sweep: Some(s),
            key,
            session: self.clone(),
        })
    }

    /// Buffers for `kernel`'s reduction of chunks of [`CHUNK`] samples (pooled like
    /// [`Session::sweep_buffers`]).
    pub fn reduce_buffers(&self, kernel: &Arc<ReducePipeline>) -> Result<PooledReducer> {
        let key = Arc::as_ptr(kernel) as usize;
        {
            let mut idle = lock(&self.0.idle_reducers);
            if let Some(i) = idle.iter().position(|(k, _)| *k == key) {
                let (_, r) = idle.swap_remove(i);
                return Ok(PooledReducer {
                    reducer: Some(r),
                    key,
                    session: self.clone(),
                });
            }
        }
        let r = GpuReducer::new(self.gpu()?, kernel.clone(), CHUNK)?;
        lock(&self.0.counts).reduce_buffers += 1;
        Ok(PooledReducer {
            reducer: Some(r),
            key,
            session: self.clone(),
        })
    }
}

/// Sweep buffers borrowed from a session's pool; they go back when dropped (unless work is still
/// in flight after an error).
pub struct PooledSweep {
    sweep: Option<GpuSweep>,
    key: usize,
    session: Session,
}

impl PooledSweep {
    pub fn get(&mut self) -> &mut GpuSweep {
        self.sweep.as_mut().expect("present until dropped")
    }
}

impl Drop for PooledSweep {
    fn drop(&mut self) {
        if let Some(s) = self.sweep.take() {
            if !s.busy() {
                lock(&self.session.0.idle_sweeps).push((self.key, s));
            }
        }
    }
}

/// Reduction buffers borrowed from a session's pool.
pub struct PooledReducer {
    reducer: Option<GpuReducer>,
    key: usize,
    session: Session,
}

impl PooledReducer {
    pub fn get(&mut self) -> &mut GpuReducer {
        self.reducer.as_mut().expect("present until dropped")
    }
}

impl Drop for PooledReducer {
    fn drop(&mut self) {
        if let Some(r) = self.reducer.take() {
            lock(&self.session.0.idle_reducers).push((self.key, r));
        }
    }
}
