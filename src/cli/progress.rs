//! Progress bars on stderr: while data are streamed, bytes read (with throughput and, for files,
//! ETA) and samples evaluated (with throughput); for data in memory, samples evaluated of n
//! (with ETA; every path of `--backend both` counted); then the analysis' phase and its f64
//! likelihood evaluations. Shown only when stderr is a terminal and
//! `--quiet` is not given, so stdout and redirected stderr stay clean.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use klgrid::engine::Observer;
use klgrid::input::Position;
use std::io::IsTerminal;
use std::time::Duration;

/// The two bars, or nothing.
pub struct Progress {
    /// The bars, the reading one only for streamed data.
    bars: Option<(MultiProgress, Option<ProgressBar>, ProgressBar)>,
}

impl Progress {
    /// Bars for an input of `total` bytes (where known), unless `quiet` or stderr is not a
    /// terminal.
    pub fn new(quiet: bool, total: Option<u64>) -> Progress {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress { bars: None };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let read_style = match total {
            Some(_) => ProgressStyle::with_template(
                "read     [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            ),
            None => {
                ProgressStyle::with_template("read     {spinner} {bytes} {binary_bytes_per_sec}")
            }
        };
        let read = match total {
            Some(t) => ProgressBar::new(t),
            None => ProgressBar::new_spinner(),
        };
        if let Ok(style) = read_style {
            read.set_style(style.progress_chars("=> "));
        }
        let eval = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template(
            "evaluate {spinner} {human_pos} samples ({rate} samples/s) {elapsed}",
        ) {
            eval.set_style(style.with_key(
                "rate",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.3e}", state.per_sec());
                },
            ));
        }
        let read = multi.add(read);
        let eval = multi.add(eval);
        read.enable_steady_tick(Duration::from_millis(200));
        eval.enable_steady_tick(Duration::from_millis(200));
        Progress {
            bars: Some((multi, Some(read), eval)),
        }
    }

    /// One bar for `n` samples in memory being evaluated, unless `quiet` or stderr is not a
    /// terminal.
    pub fn evaluating(quiet: bool, n: u64) -> Progress {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress { bars: None };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let eval = ProgressBar::new(n);
        if let Ok(style) = ProgressStyle::with_template(
            "evaluate [{wide_bar}] {human_pos}/{human_len} samples ({rate} samples/s) ETA {eta}",
        ) {
            eval.set_style(
                style
                    .with_key(
                        "rate",
                        |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = write!(w, "{:.3e}", state.per_sec());
                        },
                    )
                    .progress_chars("=> "),
            );
        }
        let eval = multi.add(eval);
        eval.enable_steady_tick(Duration::from_millis(200));
        Progress {
            bars: Some((multi, None, eval)),
        }
    }

    /// One spinner for the analysis after the sweep: its phase (refine, MLE, intervals) and the
    /// f64 likelihood evaluations so far, unless `quiet` or stderr is not a terminal.
    pub fn analysing(quiet: bool) -> Progress {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress { bars: None };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template(
            "analyse  {spinner} {msg}: {human_pos} likelihood evaluations {elapsed}",
        ) {
            bar.set_style(style);
        }
        bar.set_message("starting");
        let bar = multi.add(bar);
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress {
            bars: Some((multi, None, bar)),
        }
    }

    /// Prints a line on stderr without tearing the bars.
    pub fn note(&self, msg: &str) {
        match &self.bars {
            Some((multi, ..)) => multi.suspend(|| super::output::note(msg)),
            None => super::output::note(msg),
        }
    }

    /// Removes the bars.
    pub fn finish(&self) {
        if let Some((_, read, eval)) = &self.bars {
            if let Some(read) = read {
                read.finish_and_clear();
            }
            eval.finish_and_clear();
        }
    }
}

impl Observer for Progress {
    fn read(&self, pos: Position) {
        if let Some((_, Some(read), _)) = &self.bars {
            read.set_position(pos.bytes);
        }
    }

    fn evaluated(&self, samples: u64) {
        if let Some((_, _, eval)) = &self.bars {
            eval.set_position(samples);
        }
    }

    fn phase(&self, name: &str) {
        if let Some((_, _, bar)) = &self.bars {
            bar.set_message(name.to_string());
        }
    }

    fn likelihood_evaluations(&self, count: u64) {
        if let Some((_, _, bar)) = &self.bars {
            bar.set_position(count);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
