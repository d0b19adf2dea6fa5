//! The direct split paths as [`ChunkEvaluator`]s: every sample at every grid point through the
//! family's coupled kernel k(x, θ), on the CPU ([`DirectCpu`], the fast path) or the GPU
//! ([`DirectGpu`]), with a(θ), Σb(x) and the centring terms added on the host in f64
//! ([`crate::engine::prepare`]).

use crate::engine::config::{EvalPath, Strategy};
use crate::engine::cpu_fast;
use crate::engine::evaluation::{ChunkEvaluator, Evaluation, Tally};
use crate::engine::gpu::GpuSweep;
use crate::engine::partials::KernelSums;
use crate::engine::prepare::{
    assemble_with, kernel_consts, prepare_centred, Centre, Prepared, ThetaTerms,
};
use crate::engine::session::{PooledSweep, Session};
use crate::error::Result;
use crate::model::grid::Grid;
use crate::model::Family;
use std::collections::VecDeque;

/// The fast CPU path.
pub struct DirectCpu {
    family: &'static dyn Family,
    grid: Grid,
    centre: Option<Centre>,
    consts: Vec<f32>,
    /// a(θ) and the centring terms, from the first chunk for the others.
    terms: ThetaTerms,
    tally: Tally,
}

impl DirectCpu {
    pub fn new(family: &'static dyn Family, grid: &Grid) -> DirectCpu {
        DirectCpu {
            family,
            grid: grid.clone(),
            centre: None,
            consts: Vec::new(),
            terms: ThetaTerms::default(),
            tally: Tally::new(EvalPath::Cpu, Strategy::Direct, grid.len()),
        }
    }
}

impl ChunkEvaluator for DirectCpu {
    fn start(&mut self, centre: &Centre) -> Result<()> {
        let (family, grid) = (self.family, &self.grid);
        self.consts = self.tally.timed(|_| kernel_consts(family, grid, centre));
        self.tally.conditioning.rescaled_by = centre.rescaled_by();
        self.centre = Some(centre.clone());
        Ok(())
    }

    fn chunk(&mut self, xs: &[f64]) -> Result<()> {
        let (family, grid, consts) = (self.family, &self.grid, &self.consts);
        let terms = &mut self.terms;
        let centre = self.centre.as_ref().expect("start before chunk");
        self.tally.timed(|t| {
            let prep = prepare_centred(family, xs, centre);
            let sums = cpu_fast::kernel_sums(family, &prep, consts);
            let host = family.host_coupled_sums_at(grid, xs, prep.shift);
            let mut part = assemble_with(family, grid, &prep, &sums, host.as_deref(), terms);
            t.add_checked(family, grid, centre, &prep, xs, &mut part, true);
        });
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Evaluation> {
        Ok(self.tally.evaluation())
    }
}

/// A chunk on the device, waiting for its kernel sums: what the host assembly needs of it.
struct Waiting {
    /// The prepared chunk without its features (they are on the device).
    prep: Prepared,
    host: Option<Vec<f64>>,
    /// The samples, for the points the f32 kernel cannot be trusted with (evaluated in f64).
    xs: Vec<f64>,
}

/// The GPU path. Chunk k + 1 is prepared on the host while chunk k runs on the device; sums are
/// assembled in chunk order as they come back.
pub struct DirectGpu {
    family: &'static dyn Family,
    grid: Grid,
    centre: Option<Centre>,
    sweep: PooledSweep,
    waiting: VecDeque<Waiting>,
    /// a(θ) and the centring terms, from the first chunk for the others.
    terms: ThetaTerms,
    tally: Tally,
}

impl DirectGpu {
    /// The GPU path of `session` for `family` on `grid` (its kernel compiled, or taken from the
    /// session's cache, and its buffers allocated, or reused).
    pub fn new(session: &Session, family: &'static dyn Family, grid: &Grid) -> Result<DirectGpu> {
        let ctx = session.gpu()?;
        let (kernel, compile_seconds) = session.sweep_pipeline(family, grid.len())?;
        let shape = kernel.shape();
        let sweep = session.sweep_buffers(&kernel, grid.len())?;
        let mut tally = Tally::new(EvalPath::Gpu, Strategy::Direct, grid.len());
        tally.adapter = Some(ctx.summary.clone());
        tally.shape = Some(shape);
        tally.compile_seconds = compile_seconds;
        Ok(DirectGpu {
            family,
            grid: grid.clone(),
            centre: None,
            sweep,
            waiting: VecDeque::new(),
            terms: ThetaTerms::default(),
            tally,
        })
    }

    fn device(&mut self) -> &mut GpuSweep {
        self.sweep.get()
    }

    /// Assembles every chunk whose kernel sums are back.
    fn assemble_finished(&mut self) {
        while let Some(sums) = self.device().take_finished() {
            let w = self
                .waiting
                .pop_front()
                .expect("a waiting chunk per submitted chunk");
            self.add(&w, &sums);
        }
    }

    fn add(&mut self, w: &Waiting, sums: &KernelSums) {
        self.tally.device(sums.device_seconds);
        let mut part = assemble_with(
            self.family,
            &self.grid,
            &w.prep,
            sums,
            w.host.as_deref(),
            &mut self.terms,
        );
        let centre = self.centre.as_ref().expect("start before chunk");
        self.tally.add_checked(
            self.family,
            &self.grid,
            centre,
            &w.prep,
            &w.xs,
            &mut part,
            true,
        );
    }
}

impl ChunkEvaluator for DirectGpu {
    fn start(&mut self, centre: &Centre) -> Result<()> {
        let (family, grid) = (self.family, &self.grid);
        let consts = self.tally.timed(|_| kernel_consts(family, grid, centre));
        self.tally.conditioning.rescaled_by = centre.rescaled_by();
        self.device().set_consts(&consts);
        self.centre = Some(centre.clone());
        Ok(())
    }

    fn chunk(&mut self, xs: &[f64]) -> Result<()> {
        let t0 = std::time::Instant::now();
        let (family, grid) = (self.family, &self.grid);
        let centre = self.centre.as_ref().expect("start before chunk");
        // Host work for this chunk, while the device may still run the previous one.
        let mut prep = prepare_centred(family, xs, centre);
        let host = family.host_coupled_sums_at(grid, xs, prep.shift);
        self.device().submit(&prep.features, prep.n_inside)?;
        prep.features = Vec::new();
        self.waiting.push_back(Waiting {
            prep,
            host,
            xs: xs.to_vec(),
        });
        self.assemble_finished();
        self.tally.eval_seconds += t0.elapsed().as_secs_f64();
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Evaluation> {
        let t0 = std::time::Instant::now();
        self.device().drain()?;
        self.assemble_finished();
        self.tally.eval_seconds += t0.elapsed().as_secs_f64();
        let DirectGpu { tally, sweep, .. } = *self;
        drop(sweep); // back to the session's pool
        Ok(tally.evaluation())
    }
}
