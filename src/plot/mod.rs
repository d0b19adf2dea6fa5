//! Pictures of a sweep (`--plot PATH`): the likelihood curve of a 1-parameter grid, the heatmap of
//! a 2-parameter grid with likelihood-ratio contours, and profile curves for more parameters.
//! PNG or SVG by the file's extension, drawn with plotters and an embedded font (DejaVu Sans), so
//! it works on a machine without system fonts.
//!
//! Likelihood-ratio regions (Wilks), with the levels and thresholds of [`crate::analysis::intervals`]: with
//! S(θ) = Σᵢ log Q(xᵢ | θ) and Ŝ its maximum over the grid, a 1-parameter (or profile) region at
//! level 95% is {θ : 2(Ŝ − S(θ)) ≤ χ²₁(0.95) = 3.841}; the 2-parameter joint regions at 68% and
//! 95% use χ²₂ = −2 ln(1 − level): 2.279 and 5.991.

mod contour;
mod draw;

use crate::engine::partials::Partials;
use crate::error::{Error, Result};
use crate::model::grid::{Grid, Spacing};
use crate::model::Family;
use std::path::Path;

pub use crate::analysis::intervals::{chi2_2, CHI2_1_95, REGION_LEVELS};

/// `--plot-metric`: what the plot shows, as chosen on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MetricChoice {
    /// The mean log-likelihood.
    Loglik,
    /// The cross-entropy.
    #[value(name = "cross_entropy")]
    CrossEntropy,
    /// The KL divergence (needs H(P)).
    Kl,
}

/// What the plot shows per grid point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// Mean log-likelihood S/n (higher is better).
    Loglik,
    /// Cross-entropy −S/n (lower is better).
    CrossEntropy,
    /// KL divergence −S/n − H(P), given H(P) (lower is better).
    Kl { entropy: f64 },
}

impl Metric {
    /// The metric from the mean log-likelihood.
    pub fn of(self, mean_loglik: f64) -> f64 {
        match self {
            Metric::Loglik => mean_loglik,
            Metric::CrossEntropy => -mean_loglik,
            Metric::Kl { entropy } => -mean_loglik - entropy,
        }
    }

    /// Axis label.
    pub fn label(self) -> &'static str {
        match self {
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
    /// Title: family, n, backend, units.
    pub title: String,
    /// Pixel size (width, height).
    pub size: (u32, u32),
    /// With more than two free axes: draw the 2-D profile surface of these two grid axes.
    pub pair: Option<(usize, usize)>,
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

/// Draws the plot to `path` (PNG or SVG by extension).
pub fn render(input: &PlotInput<'_>, path: &Path) -> Result<()> {
    let format = ImageFormat::from_path(path)?;
    draw::register_font();
    let free: Vec<usize> = (0..input.grid.axes().len())
        .filter(|&a| input.grid.axes()[a].values.len() > 1)
        .collect();
    let kind = match (free.len(), input.pair) {
        (_, Some((a, b))) => draw::Kind::Surface(a, b),
        (0, _) => {
            return Err(Error::input(
                "--plot: the grid has no axis with more than one value",
            ))
        }
        (1, _) => draw::Kind::Curve(free[0]),
        (2, _) => draw::Kind::Surface(free[0], free[1]),
        _ => draw::Kind::Profiles(free),
    };
    let res = match format {
        ImageFormat::Png => {
            let backend = plotters::prelude::BitMapBackend::new(path, input.size);
            draw::draw(input, kind, backend)
        }
        ImageFormat::Svg => {
            let backend = plotters::prelude::SVGBackend::new(path, input.size);
            draw::draw(input, kind, backend)
        }
    };
    res.map_err(|e| Error::Output(format!("--plot '{}': {e}", path.display())))
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
