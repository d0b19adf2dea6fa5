//! `klgrid demo`: a built-in sweep showing that the three criteria pick the same grid point.

use super::output;
use clap::Args;
use klgrid::analysis::{self, Analysis, AnalysisOptions};
use klgrid::engine::{
    self, Backend, BackendChoice, Session, SessionOptions, Strategy, SweepJob, SweepOutcome,
};
use klgrid::model::grid::{AxisSpec, Grid};
use klgrid::model::lookup;
use klgrid::model::sample_spec::SampleSpec;
use klgrid::report::{fmt_num, theta_text};
use klgrid::Result;
use std::io::Write;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Evaluation path
    #[arg(long, value_name = "BACKEND", default_value = "auto")]
    pub backend: BackendChoice,

    /// Use the adapter whose name contains this text
    #[arg(long, value_name = "SUBSTRING")]
    pub adapter: Option<String>,
}

const TRUTH: &str = "normal(mu=1.5, sigma=2)";
const N: usize = 1_000_000;
const SEED: u64 = 42;
const GRID: [&str; 2] = ["mu=0:3:64", "sigma=1:3:64"];

/// Index of the smallest finite value of `f(i)` (first on ties).
fn argmin(len: usize, f: impl Fn(usize) -> f64) -> Option<usize> {
    (0..len)
        .filter(|&i| f(i).is_finite())
        .min_by(|&a, &b| f(a).total_cmp(&f(b)).then(a.cmp(&b)))
}

pub fn run(args: &DemoArgs) -> Result<i32> {
    let family = lookup("normal")?;
    let truth = SampleSpec::parse(TRUTH)?;
    let grid = Grid::new(
        family,
        GRID.iter()
            .map(|s| AxisSpec::parse(s))
            .collect::<Result<_>>()?,
    )?;
    output::stdout(|w| {
        writeln!(
            w,
            "klgrid demo: {N} samples from {truth} (seed {SEED}), normal family on a 64×64 grid"
        )?;
        writeln!(
            w,
            "             mu = 0 … 3, sigma = 1 … 3 ({} points)",
            grid.len()
        )
    })?;
    let xs = truth.draw(N, SEED)?;
    let job = SweepJob {
        family,
        grid,
        data: &xs,
        backend: Backend::from_choice(args.backend, None)?,
        // The demo sweeps every sample at every grid point (the GPU kernel), not the shortcut.
        strategy: Strategy::Direct,
    };
    let session = Session::new(SessionOptions {
        adapter: args.adapter.clone(),
        ..SessionOptions::default()
    });
    let out = engine::run(&session, &job, &mut |m| output::note(m))?;
    let an = analysis::analyse(
        &session,
        family,
        &job.grid,
        Some(&xs),
        &out,
        &AnalysisOptions::default(),
    )?;
    let mut code = 0;
    output::stdout(|w| {
        code = write_result(&job, &truth, &out, &an, w)?;
        Ok(())
    })?;
    match super::sweep::disagreement_code(&out) {
        0 => Ok(code),
        disagree => Ok(disagree),
    }
}

/// The demo's result lines; returns the exit code (1 when no grid point has a finite
/// likelihood).
fn write_result(
    job: &SweepJob<'_>,
    truth: &SampleSpec,
    out: &SweepOutcome,
    an: &Analysis,
    w: &mut dyn Write,
) -> std::io::Result<i32> {
    let family = job.family;
    let ev = &out.primary;
    match &ev.adapter {
        Some(a) => writeln!(w, "backend      {} on {}", ev.backend, a.label())?,
        None => writeln!(w, "backend      {}", ev.backend)?,
    }
    let p = &ev.partials;
    let len = p.len();
    // The entropy of the data-generating distribution, known here: H(P) = ½ ln(2πe σ²).
    let h = family.entropy(&truth.theta).unwrap_or(f64::NAN);
    let i_ll = argmin(len, |i| -p.loglik(i));
    let i_ce = argmin(len, |i| -p.mean_loglik(i));
    let i_kl = argmin(len, |i| -p.mean_loglik(i) - h);
    let Some(best) = i_ll else {
        writeln!(w, "no grid point has a finite likelihood")?;
        return Ok(1);
    };
    let theta = job.grid.theta(best);
    writeln!(w, "best θ       {}", theta_text(family, &theta))?;
    if let Some(m) = &an.mle {
        writeln!(
            w,
            "MLE          {} ({})",
            theta_text(family, &m.theta),
            m.method.name().replace('_', " ")
        )?;
    }
    let ll = p.mean_loglik(best);
    let ce = -ll;
    let same = i_ll == i_ce && i_ce == i_kl;
    writeln!(
        w,
        "{}",
        if same {
            "argmax likelihood = argmin cross-entropy = argmin KL"
        } else {
            "argmax likelihood, argmin cross-entropy and argmin KL differ (precision?)"
        }
    )?;
    writeln!(
        w,
        "  at {}: mean log-likelihood {}, cross-entropy {} nats, KL = cross-entropy − H(P) = {} nats (H(P) = {} nats)",
        theta_text(family, &theta),
        fmt_num(ll),
        fmt_num(ce),
        fmt_num(ce - h),
        fmt_num(h)
    )?;
    if let Some(line) = klgrid::report::table::agreement(out) {
        writeln!(w, "agreement    {line}")?;
    }
    write!(
        w,
        "time         evaluate {:.3} s ({:.3e} evaluations/s){}",
        ev.eval_seconds,
        N as f64 * len as f64 / ev.eval_seconds.max(1e-12),
        if ev.compile_seconds > 0.0 {
            format!(", compile {:.3} s", ev.compile_seconds)
        } else {
            String::new()
        }
    )?;
    if let Some(re) = &out.reference {
        write!(w, ", {} {:.3} s", re.backend, re.eval_seconds)?;
    }
    writeln!(w)?;
    Ok(0)
}
