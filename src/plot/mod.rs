//! Pictures of a sweep (`--plot PATH`): the profile curve of each free parameter (one panel per
//! parameter), or for two free parameters the heatmap with the joint likelihood-ratio regions.
//! PNG or SVG by the file's extension, drawn with plotters and an embedded font (DejaVu Sans), so
//! it works on a machine without system fonts.
//!
//! The figures show the numbers the report prints, not a second computation of them:
//! * curves are drawn by default in Δ(−2 ln L) = 2·(S(θ̂) − S) (`--plot-metric deviance`; or
//!   Δ mean log-likelihood, `delta_loglik`, or the sweep's own metrics), with a horizontal line at
//!   each interval level's threshold χ²₁(level) and the bands drawn from exactly the reported
//!   intervals ([`crate::analysis::Analysis::uncertainty`]); the optimised (f64) profile is the
//!   line, the grid's profile (maximum over the other axes' grid values) the markers;
//! * heatmaps draw the reported regions' polygons, and are embedded as one raster image (also in
//!   SVG, where the text stays text);
//! * legends go where they cover no data (the corner of the plotting area with the fewest curve
//!   points; above the heatmap), log axes have ticks at 1-2-5 values, and panels without a finite
//!   value are not drawn.

mod contour;
mod draw;

use crate::analysis::intervals::{Interval, Region};
use crate::analysis::profile::ProfileCurve;
use crate::analysis::Analysis;
use crate::engine::partials::Partials;
use crate::engine::SweepOutcome;
use crate::error::{Error, Result};
use crate::model::grid::{Grid, Spacing};
use crate::model::Family;
use std::path::Path;

pub use crate::analysis::intervals::{chi2_2, chi2_quantile, REGION_LEVELS};

/// `--plot-metric`: what the plot shows, as chosen on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MetricChoice {
    /// Δ(−2 ln L) from the maximum (the deviance).
    #[default]
    Deviance,
    /// Δ mean log-likelihood from the maximum.
    #[value(name = "delta_loglik")]
    DeltaLoglik,
    /// The mean log-likelihood.
    Loglik,
    /// The cross-entropy.
    #[value(name = "cross_entropy")]
    CrossEntropy,
    /// The KL divergence (needs H(P)).
    Kl,
}

impl std::str::FromStr for MetricChoice {
    type Err = Error;

    /// `deviance`, `delta_loglik`, `loglik`, `cross_entropy` or `kl` (for callers without clap).
    fn from_str(s: &str) -> Result<MetricChoice> {
        <MetricChoice as clap::ValueEnum>::from_str(s, false).map_err(|_| {
            Error::input(format!(
                "unknown plot metric '{s}' (expected deviance, delta_loglik, loglik, cross_entropy or kl)"
            ))
        })
    }
}

impl MetricChoice {
    /// The metric drawn for this choice: the KL divergence needs H(P) from `an` (an input error
    /// that says why it is unknown otherwise).
    pub fn metric(self, an: &Analysis) -> Result<Metric> {
        Ok(match self {
            MetricChoice::Deviance => Metric::Deviance,
            MetricChoice::DeltaLoglik => Metric::DeltaLoglik,
            MetricChoice::Loglik => Metric::Loglik,
            MetricChoice::CrossEntropy => Metric::CrossEntropy,
            MetricChoice::Kl => {
                let entropy = an.entropy.as_ref().map(|h| h.value).ok_or_else(|| {
                    Error::input(format!(
                        "--plot-metric kl needs H(P): {}",
                        an.entropy_note.as_deref().unwrap_or("unknown")
                    ))
                })?;
                Metric::Kl { entropy }
            }
        })
    }
}

/// How a sweep is drawn, beyond its data: the `--plot-*` options, parsed.
#[derive(Debug, Clone, Default)]
pub struct PlotOptions {
    pub metric: MetricChoice,
    /// Pixel size (width, height); `None`: 1200×800.
    pub size: Option<(u32, u32)>,
    /// `--plot-pair`, as grid axis indices.
    pub pair: Option<(usize, usize)>,
    /// `--title` (default: the family and n).
    pub title: Option<String>,
    /// `--label NAME=TEXT`, parsed by [`parse_labels`].
    pub labels: Vec<(String, String)>,
}

/// What `--plot` draws for a sweep and its analysis: the grid's metric, the reported intervals,
/// regions and profile curves, and the deviance's zero at S(θ̂)/n by the exact likelihood where
/// the analysis has it (else the best grid point's mean log-likelihood).
pub fn sweep_input<'a>(
    family: &'static dyn Family,
    grid: &'a Grid,
    outcome: &'a SweepOutcome,
    an: &'a Analysis,
    opts: &'a PlotOptions,
) -> Result<PlotInput<'a>> {
    let ev = &outcome.primary;
    let n = ev.partials.n as f64;
    let peak = match an.uncertainty.s_hat {
        Some(s) => s / n,
        None => outcome.best.map_or(0.0, |b| ev.partials.mean_loglik(b)),
    };
    Ok(PlotInput {
        family,
        grid,
        partials: &ev.partials,
        metric: opts.metric.metric(an)?,
        best: outcome.best,
        mle: an.mle.as_ref().map(|m| m.theta.as_slice()),
        title: opts
            .title
            .clone()
            .unwrap_or_else(|| format!("{}, n = {}", family.name(), ev.partials.n)),
        size: opts.size.unwrap_or((1200, 800)),
        pair: opts.pair,
        intervals: &an.uncertainty.intervals,
        regions: &an.regions,
        curves: &an.uncertainty.curves,
        peak,
        labels: &opts.labels,
    })
}

/// What the plot shows per grid point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// Δ(−2 ln L) = 2n·(m̂ − m) from the maximum m̂ of the mean log-likelihood (lower is better).
    Deviance,
    /// Δ mean log-likelihood m − m̂ (higher is better, ≤ 0).
    DeltaLoglik,
    /// Mean log-likelihood S/n (higher is better).
    Loglik,
    /// Cross-entropy −S/n (lower is better).
    CrossEntropy,
    /// KL divergence −S/n − H(P), given H(P) (lower is better).
    Kl { entropy: f64 },
}

impl Metric {
    /// The metric from the mean log-likelihood `m`, with m̂ = `peak` and n samples.
    pub fn of(self, m: f64, peak: f64, n: f64) -> f64 {
        match self {
            Metric::Deviance => 2.0 * n * (peak - m),
            Metric::DeltaLoglik => m - peak,
            Metric::Loglik => m,
            Metric::CrossEntropy => -m,
            Metric::Kl { entropy } => -m - entropy,
        }
    }

    /// Whether lower values are better (the colour map is reversed for the deviance, so that the
    /// most likely region is yellow as for the log-likelihood).
    pub fn lower_is_better(self) -> bool {
        !matches!(self, Metric::DeltaLoglik | Metric::Loglik)
    }

    /// Axis label.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Deviance => "Δ(−2 ln L)",
            Metric::DeltaLoglik => "Δ mean log-likelihood (nats)",
            Metric::Loglik => "mean log-likelihood (nats)",
            Metric::CrossEntropy => "cross-entropy (nats)",
            Metric::Kl { .. } => "KL divergence (nats)",
        }
    }
}

/// Output format, from the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Svg,
}

impl ImageFormat {
    /// `.png` or `.svg` (case-insensitive); anything else is an input error.
    pub fn from_path(path: &Path) -> Result<ImageFormat> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("png") => Ok(ImageFormat::Png),
            Some("svg") => Ok(ImageFormat::Svg),
            _ => Err(Error::input(format!(
                "--plot '{}': the file must end in .png or .svg",
                path.display()
            ))),
        }
    }
}

/// Everything a plot shows.
pub struct PlotInput<'a> {
    pub family: &'static dyn Family,
    pub grid: &'a Grid,
    pub partials: &'a Partials,
    pub metric: Metric,
    /// Best grid point, if any point is finite.
    pub best: Option<usize>,
    /// Closed-form or numeric MLE, in the family's parameter order.
    pub mle: Option<&'a [f64]>,
    /// The title (no implementation details: the family and n by default).
    pub title: String,
    /// Pixel size (width, height).
    pub size: (u32, u32),
    /// With more than two free axes: draw the 2-D profile surface of these two grid axes.
    pub pair: Option<(usize, usize)>,
    /// The reported intervals (every level), drawn as bands.
    pub intervals: &'a [Interval],
    /// The reported joint regions, drawn as contours.
    pub regions: &'a [Region],
    /// Optimised profile curves (f64), drawn as lines over the grid's profile.
    pub curves: &'a [ProfileCurve],
    /// m̂: the largest mean log-likelihood (S(θ̂)/n by the exact likelihood where known, else the
    /// grid's), the zero of the deviance.
    pub peak: f64,
    /// Axis labels by parameter name (`--label NAME=TEXT`).
    pub labels: &'a [(String, String)],
}

impl PlotInput<'_> {
    /// The metric at mean log-likelihood `m`.
    pub fn value(&self, m: f64) -> f64 {
        self.metric.of(m, self.peak, self.partials.n as f64)
    }
}

/// Parses `--label NAME=TEXT` options against the grid's parameter names.
pub fn parse_labels(labels: &[String], grid: &Grid) -> Result<Vec<(String, String)>> {
    labels
        .iter()
        .map(|l| {
            let (name, text) = l.split_once('=').ok_or_else(|| {
                Error::input(format!(
                    "--label '{l}': expected NAME=TEXT, e.g. 'mu=μ (GeV)'"
                ))
            })?;
            let name = name.trim();
            if !grid.axes().iter().any(|a| a.name == name) {
                let names: Vec<&str> = grid.axes().iter().map(|a| a.name.as_str()).collect();
                return Err(Error::input(format!(
                    "--label '{l}': no parameter '{name}' (parameters: {})",
                    names.join(", ")
                )));
            }
            Ok((name.to_string(), text.to_string()))
        })
        .collect()
}

/// Where one panel's data went on the picture: its axis (or axes), the data range of the
/// plotting area in plot coordinates (θ, or log10 θ on log axes), and its pixel range.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelPixels {
    pub axes: Vec<usize>,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    pub px_x: (i32, i32),
    pub px_y: (i32, i32),
}

/// A shaded interval band of a curve panel, in θ (open ends at the panel's edge).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub level: f64,
    pub low: f64,
    pub high: f64,
}

/// The bands of parameter `param`: one per reported interval of it, from exactly its ends
/// (an open end runs to `edge`, the plotted range in θ).
pub fn bands(intervals: &[Interval], param: usize, edge: (f64, f64)) -> Vec<Band> {
    intervals
        .iter()
        .filter(|iv| iv.param == param)
        .map(|iv| Band {
            level: iv.level,
            low: iv.span.low.unwrap_or(edge.0),
            high: iv.span.high.unwrap_or(edge.1),
        })
        .collect()
}

/// Parses `--plot-size WxH` (each between 200 and 10,000 pixels).
pub fn parse_size(s: &str) -> Result<(u32, u32)> {
    let bad = || Error::input(format!("--plot-size '{s}': expected WxH, e.g. 1200x800"));
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h): (u32, u32) = (
        w.trim().parse().map_err(|_| bad())?,
        h.trim().parse().map_err(|_| bad())?,
    );
    if !(200..=10_000).contains(&w) || !(200..=10_000).contains(&h) {
        return Err(Error::input(format!(
            "--plot-size '{s}': each side must be 200 to 10000 pixels"
        )));
    }
    Ok((w, h))
}

/// Parses `--plot-pair A,B` into grid axis indices.
pub fn parse_pair(s: &str, grid: &Grid) -> Result<(usize, usize)> {
    let names: Vec<&str> = grid.axes().iter().map(|a| a.name.as_str()).collect();
    let find = |n: &str| {
        names.iter().position(|&a| a == n.trim()).ok_or_else(|| {
            Error::input(format!(
                "--plot-pair: no grid axis '{}' (axes: {})",
                n.trim(),
                names.join(", ")
            ))
        })
    };
    let (a, b) = s
        .split_once(',')
        .ok_or_else(|| Error::input("--plot-pair: expected A,B"))?;
    let (a, b) = (find(a)?, find(b)?);
    if a == b {
        return Err(Error::input("--plot-pair: the two axes must differ"));
    }
    Ok((a, b))
}

/// The per-axis value indices of grid point `i` (row-major, last axis fastest).
fn axis_indices(grid: &Grid, mut i: usize, out: &mut [usize]) {
    for (k, a) in grid.axes().iter().enumerate().rev() {
        let n = a.values.len();
        out[k] = i % n;
        i /= n;
    }
}

/// Profile of S over the given grid axes: for each combination of their values, the largest
/// S(θ) over the other axes (−∞ where every such point is −∞). Row-major over `axes`.
pub fn profile(grid: &Grid, partials: &Partials, axes: &[usize]) -> Vec<f64> {
    let dims: Vec<usize> = axes.iter().map(|&a| grid.axes()[a].values.len()).collect();
    let mut out = vec![f64::NEG_INFINITY; dims.iter().product()];
    let mut idx = vec![0; grid.axes().len()];
    for i in 0..grid.len() {
        axis_indices(grid, i, &mut idx);
        let mut cell = 0;
        for (&a, &d) in axes.iter().zip(&dims) {
            cell = cell * d + idx[a];
        }
        let s = partials.loglik(i);
        if s > out[cell] {
            out[cell] = s;
        }
    }
    out
}

/// Where a coordinate is drawn: its value, or log10 of it on log-spaced axes.
fn coord(grid: &Grid, axis: usize, v: f64) -> f64 {
    if grid.axes()[axis].spacing == Spacing::Log {
        v.log10()
    } else {
        v
    }
}

/// The intervals of `xs` where `inside(x)` holds along a sampled curve, with the ends placed by
/// linear interpolation of `f` between grid points (`f` and the threshold in the same units).
pub fn crossings(xs: &[f64], f: &[f64], threshold: f64) -> Vec<(f64, f64)> {
    let inside = |v: f64| v.is_finite() && v <= threshold;
    let cross = |i: usize| {
        // Between xs[i] and xs[i+1], where f crosses the threshold.
        let (a, b) = (f[i], f[i + 1]);
        if a.is_finite() && b.is_finite() && a != b {
            xs[i] + (threshold - a) / (b - a) * (xs[i + 1] - xs[i])
        } else if inside(a) {
            xs[i]
        } else {
            xs[i + 1]
        }
    };
    let mut out = Vec::new();
    let mut start: Option<f64> = None;
    for (i, &fi) in f.iter().enumerate().take(xs.len()) {
        let now = inside(fi);
        match (start, now) {
            (None, true) => start = Some(if i == 0 { xs[0] } else { cross(i - 1) }),
            (Some(s), false) => {
                out.push((s, cross(i - 1)));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, xs[xs.len() - 1]));
    }
    out
}

/// Draws the plot to `path` (PNG or SVG by extension); returns where each panel went.
pub fn render(input: &PlotInput<'_>, path: &Path) -> Result<Vec<PanelPixels>> {
    let format = ImageFormat::from_path(path)?;
    draw::register_font();
    // Axes with more than one value and at least one finite profile value (no empty panels).
    let free: Vec<usize> = (0..input.grid.axes().len())
        .filter(|&a| input.grid.axes()[a].values.len() > 1)
        .filter(|&a| {
            profile(input.grid, input.partials, &[a])
                .iter()
                .any(|v| v.is_finite())
        })
        .collect();
    let kind = match (free.len(), input.pair) {
        (_, Some((a, b))) => draw::Kind::Surface(a, b),
        (0, _) if input.grid.axes().iter().any(|a| a.values.len() > 1) => {
            return Err(Error::input(
                "--plot: nothing to draw: every grid point has likelihood 0",
            ))
        }
        (0, _) => {
            return Err(Error::input(
                "--plot: the grid has no axis with more than one value",
            ))
        }
        (1, _) => draw::Kind::Curve(free[0]),
        (2, _) => draw::Kind::Surface(free[0], free[1]),
        _ => draw::Kind::Profiles(free),
    };
    let fail =
        |e: Box<dyn std::error::Error>| Error::Output(format!("--plot '{}': {e}", path.display()));
    match format {
        ImageFormat::Png => {
            let backend = plotters::prelude::BitMapBackend::new(path, input.size);
            draw::draw(input, kind, backend).map_err(fail)
        }
        ImageFormat::Svg => {
            let mut text = String::new();
            let panels = {
                let backend = plotters::prelude::SVGBackend::with_string(&mut text, input.size);
                draw::draw(input, kind, backend).map_err(fail)?
            };
            // plotters-svg labels its embedded PNG "data:png"; the standard media type is
            // image/png.
            let text = text.replace("data:png;base64,", "data:image/png;base64,");
            std::fs::write(path, text)
                .map_err(|e| Error::Output(format!("--plot '{}': {e}", path.display())))?;
            Ok(panels)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossings_interpolate_between_grid_points() {
        let xs = [0.0, 1.0, 2.0, 3.0, 4.0];
        let f = [8.0, 2.0, 0.0, 2.0, 8.0];
        let c = crossings(&xs, &f, 3.0);
        assert_eq!(c.len(), 1);
        assert!((c[0].0 - (1.0 - 1.0 / 6.0)).abs() < 1e-12);
        assert!((c[0].1 - (3.0 + 1.0 / 6.0)).abs() < 1e-12);
        // Open at the edge: the region runs to the last grid point.
        let c = crossings(&xs, &[8.0, 4.0, 2.0, 1.0, 0.0], 3.0);
        assert_eq!(c[0].1, 4.0);
    }

    #[test]
    fn sizes_and_extensions_are_validated() {
        assert_eq!(parse_size("1200x800").unwrap(), (1200, 800));
        assert!(parse_size("12x8").is_err() && parse_size("wide").is_err());
        assert!(ImageFormat::from_path(Path::new("a.jpg")).is_err());
        assert_eq!(
            ImageFormat::from_path(Path::new("a.SVG")).unwrap(),
            ImageFormat::Svg
        );
    }
}
