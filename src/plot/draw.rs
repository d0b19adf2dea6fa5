//! Drawing with plotters, for any backend (PNG bitmap or SVG).

use super::{bands, chi2_2, contour, coord, profile, PanelPixels, PlotInput};
use crate::analysis::intervals::Region;
use crate::model::grid::Spacing;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift as AreaShift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use std::sync::Once;

/// The embedded font (DejaVu Sans; licence in assets/fonts/DejaVuSans-LICENSE.txt).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Colour of grid points with likelihood 0 (a sample outside the support): a neutral grey,
/// outside the colour map.
pub const OUTSIDE_SUPPORT: RGBColor = RGBColor(170, 170, 170);
/// Colour of the lowest-level joint region's contour.
pub const CONTOUR_68: RGBColor = RGBColor(255, 255, 255);
/// Colour of the highest-level region's contour (and of the interval bands, lightened).
pub const CONTOUR_95: RGBColor = RGBColor(230, 30, 30);
/// Colour of the best grid point's marker.
pub const BEST: RGBColor = RGBColor(255, 140, 0);
/// Colour of the optimised profile curve.
pub const CURVE: RGBColor = RGBColor(0, 0, 255);
/// Colour of the grid's profile markers.
pub const GRID_POINTS: RGBColor = RGBColor(40, 40, 40);
/// Colour of the level lines.
pub const LEVEL_LINE: RGBColor = RGBColor(110, 110, 110);
/// Opacity of one interval band (nested bands darken).
pub const BAND_OPACITY: f64 = 0.15;

pub enum Kind {
    Curve(usize),
    Surface(usize, usize),
    Profiles(Vec<usize>),
}

type DrawResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// A linear f64 axis whose tick marks are given (1-2-5 values, also on log10 axes).
#[derive(Clone)]
pub struct TickAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl TickAxis {
    fn new(lo: f64, hi: f64, ticks: Vec<f64>) -> TickAxis {
        TickAxis { lo, hi, ticks }
    }
}

impl Ranged for TickAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    /// Pixel of v: limit₀ + ⌊(limit₁ − limit₀)·(v − lo)/(hi − lo)⌋ (as plotters' f64 axes).
    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        if self.hi == self.lo {
            return (limit.0 + limit.1) / 2;
        }
        let t = (v - self.lo) / (self.hi - self.lo);
        let len = (limit.1 - limit.0) as f64;
        if !t.is_finite() {
            return if t > 0.0 { limit.1 } else { limit.0 };
        }
        limit.0 + (len * t + 1e-3).floor() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<TickAxis, TickAxis>>;

/// Registers the embedded font once, as plotters' "sans-serif".
pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

fn font(size: f64) -> TextStyle<'static> {
    ("sans-serif", size).into_font().into()
}

fn axis_label(input: &PlotInput<'_>, axis: usize) -> String {
    let a = &input.grid.axes()[axis];
    let name = input
        .labels
        .iter()
        .find(|(n, _)| *n == a.name)
        .map_or(a.name.clone(), |(_, t)| t.clone());
    if a.spacing == Spacing::Log {
        format!("{name} (log scale)")
    } else {
        name
    }
}

fn is_log(input: &PlotInput<'_>, axis: usize) -> bool {
    input.grid.axes()[axis].spacing == Spacing::Log
}

fn tick(input: &PlotInput<'_>, axis: usize, v: f64, span: f64) -> String {
    if is_log(input, axis) {
        // Three significant digits: 1-2-5 ticks are round values of θ.
        let x = 10f64.powf(v);
        let digits = 2 - x.abs().log10().floor() as i32;
        let m = 10f64.powi(digits);
        return crate::report::fmt_num((x * m).round() / m);
    }
    plain_tick(v, span)
}

/// A tick label; rounding noise around 0 shown as 0.
fn plain_tick(v: f64, span: f64) -> String {
    crate::report::fmt_num(if v.abs() < 1e-9 * span.abs().max(f64::MIN_POSITIVE) {
        0.0
    } else {
        v
    })
}

/// About `target` ticks at multiples of 1, 2 or 5 × 10ᵏ inside [lo, hi].
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if hi.is_nan() || lo.is_nan() || hi <= lo || !lo.is_finite() || !hi.is_finite() {
        return vec![lo];
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let p = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * p);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// Ticks of a log axis at 1, 2 and 5 × 10ᵏ (positions in log10 θ inside [lo, hi]); 1–9 × 10ᵏ
/// when that gives fewer than three, and plain ticks of θ within a narrow decade.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let pick = |mantissas: &[f64]| {
        let mut out = Vec::new();
        let (k0, k1) = (lo.floor() as i32 - 1, hi.ceil() as i32 + 1);
        for k in k0..=k1 {
            for &m in mantissas {
                let v = (m * 10f64.powi(k)).log10();
                if v >= lo - 1e-12 && v <= hi + 1e-12 {
                    out.push(v);
                }
            }
        }
        out
    };
    let t = pick(&[1.0, 2.0, 5.0]);
    if t.len() >= 3 {
        return t;
    }
    let t = pick(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    if t.len() >= 3 {
        return t;
    }
    nice_ticks(10f64.powf(lo), 10f64.powf(hi), 5)
        .into_iter()
        .filter(|&v| v > 0.0)
        .map(f64::log10)
        .collect()
}

fn ticks(log: bool, lo: f64, hi: f64) -> Vec<f64> {
    if log {
        log_ticks(lo, hi)
    } else {
        nice_ticks(lo, hi, 7)
    }
}

/// Extent of finite values, padded by 5% (or ±1 when flat).
fn extent(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for x in v.filter(|x| x.is_finite()) {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 1.0 };
    (lo - pad, hi + pad)
}

/// Draws the whole picture: title, then the curve, surface or profile panels.
pub fn draw<DB: DrawingBackend>(
    input: &PlotInput<'_>,
    kind: Kind,
    backend: DB,
) -> DrawResult<Vec<PanelPixels>>
where
    DB::ErrorType: 'static,
{
    let root = backend.into_drawing_area();
    root.fill(&WHITE)?;
    let body = root.titled(&input.title, font(22.0))?;
    let mut panels = Vec::new();
    match kind {
        Kind::Curve(a) => panels.push(curve(&body, input, a, 1.0, None)?),
        Kind::Surface(a, b) => panels.push(surface(&body, input, a, b)?),
        Kind::Profiles(axes) => {
            let (legend_area, grid_area) = body.split_vertically(34);
            let cols = (axes.len() as f64).sqrt().ceil() as usize;
            let rows = axes.len().div_ceil(cols);
            let mut legend = Vec::new();
            for (panel, &a) in grid_area.split_evenly((rows, cols)).iter().zip(&axes) {
                panels.push(curve(panel, input, a, 0.8, Some(&mut legend))?);
            }
            legend_row(&legend_area, &legend)?;
        }
    }
    root.present()?;
    Ok(panels)
}

/// What a legend entry's swatch looks like.
#[derive(Clone, Copy)]
enum Swatch {
    Line(RGBColor, u32),
    Dashed(RGBColor),
    Band(RGBColor, f64),
    Dot(RGBColor),
    Cross(RGBColor),
    Ring(RGBColor),
}

/// The legend box's size in pixels for `entries` at font size `fs`.
fn legend_size<DB: DrawingBackend>(
    area: &DrawingArea<DB, AreaShift>,
    entries: &[(String, Swatch)],
    fs: f64,
) -> (i32, i32) {
    let w = entries
        .iter()
        .map(|(t, _)| {
            area.estimate_text_size(t, &font(fs))
                .map_or(0, |s| s.0 as i32)
        })
        .max()
        .unwrap_or(0);
    let line = (fs * 1.45) as i32;
    (w + 40, line * entries.len() as i32 + 10)
}

/// Draws a legend with its top-left corner at `(x, y)` (pixels relative to `area`).
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, AreaShift>,
    entries: &[(String, Swatch)],
    (x, y): (i32, i32),
    fs: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (w, h) = legend_size(area, entries, fs);
    area.draw(&Rectangle::new(
        [(x, y), (x + w, y + h)],
        WHITE.mix(0.88).filled(),
    ))?;
    area.draw(&Rectangle::new([(x, y), (x + w, y + h)], BLACK))?;
    let line = (fs * 1.45) as i32;
    for (k, (text, sw)) in entries.iter().enumerate() {
        let cy = y + 5 + line * k as i32 + line / 2;
        let (sx0, sx1) = (x + 6, x + 26);
        match *sw {
            Swatch::Line(c, wd) => {
                if c == WHITE {
                    area.draw(&Rectangle::new(
                        [(sx0 - 2, cy - 5), (sx1 + 2, cy + 5)],
                        RGBColor(90, 90, 90).filled(),
                    ))?;
                }
                area.draw(&PathElement::new(
                    vec![(sx0, cy), (sx1, cy)],
                    c.stroke_width(wd),
                ))?
            }
            Swatch::Dashed(c) => {
                for s in [(sx0, sx0 + 6), (sx0 + 10, sx1)] {
                    area.draw(&PathElement::new(
                        vec![(s.0, cy), (s.1, cy)],
                        c.stroke_width(2),
                    ))?;
                }
            }
            Swatch::Band(c, a) => area.draw(&Rectangle::new(
                [(sx0, cy - 6), (sx1, cy + 6)],
                c.mix(a).filled(),
            ))?,
            Swatch::Dot(c) => area.draw(&Circle::new((sx0 + 10, cy), 5, c.filled()))?,
            Swatch::Ring(c) => area.draw(&Circle::new((sx0 + 10, cy), 4, c.stroke_width(2)))?,
            Swatch::Cross(c) => area.draw(&Cross::new((sx0 + 10, cy), 5, c.stroke_width(2)))?,
        }
        area.draw(&Text::new(
            text.clone(),
            (x + 32, cy - (fs * 0.55) as i32),
            font(fs),
        ))?;
    }
    Ok(())
}

/// The corner (or edge middle) of the plotting area whose legend box holds the fewest of
/// `points` (pixels relative to `area`); ties go to the upper right, then upper left, upper
/// middle, lower right, lower left, lower middle.
fn legend_spot(
    plot: ((i32, i32), (i32, i32)),
    size: (i32, i32),
    points: &[(i32, i32)],
) -> (i32, i32) {
    let ((x0, x1), (y0, y1)) = plot;
    let (w, h) = size;
    let m = 8;
    let xs = [x1 - w - m, x0 + m, (x0 + x1 - w) / 2];
    let (top, bottom) = (y0 + m, y1 - h - m);
    let candidates = [
        (xs[0], top),
        (xs[1], top),
        (xs[2], top),
        (xs[0], bottom),
        (xs[1], bottom),
        (xs[2], bottom),
    ];
    let inside = |&(cx, cy): &(i32, i32)| {
        points
            .iter()
            .filter(|&&(px, py)| {
                px >= cx - 3 && px <= cx + w + 3 && py >= cy - 3 && py <= cy + h + 3
            })
            .count()
    };
    *candidates
        .iter()
        .min_by_key(|c| inside(c))
        .expect("candidates")
}

/// Splits a polyline into runs inside y ∈ [y0, y1], cut where it crosses the bounds.
fn clip(points: &[(f64, f64)], y0: f64, y1: f64) -> Vec<Vec<(f64, f64)>> {
    let mut runs = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    let inside = |y: f64| y.is_finite() && y >= y0 && y <= y1;
    let cut = |a: (f64, f64), b: (f64, f64)| {
        let yb = if b.1 > y1 || (b.1.is_infinite() && b.1 > 0.0) {
            y1
        } else {
            y0
        };
        if !b.1.is_finite() {
            return (a.0, yb);
        }
        let t = (yb - a.1) / (b.1 - a.1);
        (a.0 + t * (b.0 - a.0), yb)
    };
    for (k, &p) in points.iter().enumerate() {
        let prev = (k > 0).then(|| points[k - 1]);
        match (prev, inside(p.1)) {
            (Some(q), true) if !inside(q.1) && q.1.is_finite() => {
                run.push(cut(p, q));
                run.push(p);
            }
            (_, true) => run.push(p),
            (Some(q), false) if inside(q.1) => {
                if p.1.is_finite() {
                    run.push(cut(q, p));
                }
                runs.push(std::mem::take(&mut run));
            }
            _ => {}
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs.retain(|r| !r.is_empty());
    runs
}

/// The curve panel of one axis: the metric along it — the optimised profile where the analysis
/// computed it (line) over the grid's profile (markers) — with the reported intervals shaded,
/// a line at each level's threshold, the MLE and the best grid point, and −∞ stretches in grey.
fn curve<DB: DrawingBackend>(
    area: &DrawingArea<DB, AreaShift>,
    input: &PlotInput<'_>,
    axis: usize,
    scale: f64,
    legend_out: Option<&mut Vec<(String, Swatch)>>,
) -> DrawResult<PanelPixels>
where
    DB::ErrorType: 'static,
{
    let grid = input.grid;
    let ax = &grid.axes()[axis];
    let param = ax.param;
    let n = input.partials.n as f64;
    let log = is_log(input, axis);
    let c = |v: f64| coord(grid, axis, v);
    let gx: Vec<f64> = ax.values.iter().map(|&v| c(v)).collect();
    let s = profile(grid, input.partials, &[axis]);
    let gy: Vec<f64> = s.iter().map(|&v| input.value(v / n)).collect();
    let mut grid_pts: Vec<(f64, f64)> = gx.iter().copied().zip(gy.iter().copied()).collect();
    grid_pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let exact: Option<Vec<(f64, f64)>> =
        input.curves.iter().find(|cv| cv.param == param).map(|cv| {
            cv.points
                .iter()
                .map(|&(v, p)| (c(v), input.value(p / n)))
                .collect()
        });
    let ivs: Vec<_> = input
        .intervals
        .iter()
        .filter(|iv| iv.param == param)
        .collect();
    let delta = matches!(
        input.metric,
        super::Metric::Deviance | super::Metric::DeltaLoglik
    );
    // x: for Δ metrics the part around the intervals (and the best grid point's neighbours);
    // else the grid's range; every interval end either way.
    let mut xv: Vec<f64> = if delta {
        let best = input.best.map(|b| grid.theta(b)[param]);
        let (a, b) = crate::analysis::profile::focus_range(grid, param, input.intervals, best);
        let dom = input.family.params()[param].domain;
        [a, b]
            .into_iter()
            .filter(|&v| dom.contains(v))
            .map(c)
            .collect()
    } else {
        gx.clone()
    };
    for iv in &ivs {
        xv.extend(iv.span.low.map(c));
        xv.extend(iv.span.high.map(c));
    }
    if xv.len() < 2 {
        xv.extend(gx.iter().copied());
    }
    let (x0, x1) = extent(xv.into_iter());
    // y: the whole profile for the sweep's own metrics; for Δ metrics the part that matters (a
    // margin above the highest level line, and the grid points next to the best one).
    let mut levels: Vec<f64> = ivs.iter().map(|iv| iv.level).collect();
    levels.sort_by(f64::total_cmp);
    levels.dedup();
    let level_y = |l: f64| {
        input.value(input.peak - crate::analysis::intervals::chi2_quantile(1, l) / (2.0 * n))
    };
    let in_x = |p: &&(f64, f64)| p.0 >= x0 && p.0 <= x1;
    let (y0, y1) = match input.metric {
        super::Metric::Deviance | super::Metric::DeltaLoglik => {
            let sign = if input.metric.lower_is_better() {
                1.0
            } else {
                -1.0
            };
            let top_level = levels
                .last()
                .map_or(input.value(input.peak - 2.0 / n), |&l| level_y(l));
            let mut far = sign * top_level * 1.6;
            // The grid's best point and its two neighbours stay visible.
            if let Some(b) = (0..grid_pts.len())
                .min_by(|&i, &j| (sign * grid_pts[i].1).total_cmp(&(sign * grid_pts[j].1)))
            {
                for p in &grid_pts[b.saturating_sub(1)..(b + 2).min(grid_pts.len())] {
                    let v = sign * p.1;
                    if v.is_finite() {
                        far = far.max(v * 1.08);
                    }
                }
            }
            let far = far.min(
                grid_pts
                    .iter()
                    .chain(exact.iter().flatten())
                    .filter(in_x)
                    .map(|p| sign * p.1)
                    .filter(|v| v.is_finite())
                    .fold(f64::NEG_INFINITY, f64::max)
                    .max(sign * top_level * 1.6),
            );
            let near = -0.04 * far;
            if sign > 0.0 {
                (near, far)
            } else {
                (-far, -near)
            }
        }
        _ => extent(
            grid_pts
                .iter()
                .chain(exact.iter().flatten())
                .map(|p| p.1)
                .chain(levels.iter().map(|&l| level_y(l))),
        ),
    };
    let xt = ticks(log, x0, x1);
    let yt = nice_ticks(y0, y1, 6);
    let (xspan, yspan) = (x1 - x0, y1 - y0);
    let mut chart: Chart<'_, DB> = ChartBuilder::on(area)
        .margin((10.0 * scale) as i32)
        .x_label_area_size((45.0 * scale) as i32)
        .y_label_area_size((80.0 * scale) as i32)
        .build_cartesian_2d(TickAxis::new(x0, x1, xt), TickAxis::new(y0, y1, yt))?;
    chart
        .configure_mesh()
        .x_desc(axis_label(input, axis))
        .y_desc(input.metric.label())
        .x_label_formatter(&|v| tick(input, axis, *v, xspan))
        .y_label_formatter(&|v| plain_tick(*v, yspan))
        .label_style(font(14.0 * scale))
        .axis_desc_style(font(16.0 * scale))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    let mut legend: Vec<(String, Swatch)> = Vec::new();
    // −∞ stretches of the grid: grey bands half-way to the neighbours.
    let mut any_outside = false;
    for i in (0..grid_pts.len()).filter(|&i| !grid_pts[i].1.is_finite()) {
        let lo = if i > 0 {
            0.5 * (grid_pts[i - 1].0 + grid_pts[i].0)
        } else {
            x0
        };
        let hi = if i + 1 < grid_pts.len() {
            0.5 * (grid_pts[i].0 + grid_pts[i + 1].0)
        } else {
            x1
        };
        chart.draw_series(std::iter::once(Rectangle::new(
            [(lo.max(x0), y0), (hi.min(x1), y1)],
            OUTSIDE_SUPPORT.filled(),
        )))?;
        any_outside = true;
    }
    if any_outside {
        legend.push(("likelihood 0".into(), Swatch::Band(OUTSIDE_SUPPORT, 1.0)));
    }
    // The reported intervals, from exactly their ends.
    let edge = (
        if log { 10f64.powf(x0) } else { x0 },
        if log { 10f64.powf(x1) } else { x1 },
    );
    let method = ivs.first().map_or("", |iv| iv.method.name());
    for b in bands(input.intervals, param, edge) {
        let (lo, hi) = (c(b.low).max(x0), c(b.high).min(x1));
        chart.draw_series(std::iter::once(Rectangle::new(
            [(lo, y0), (hi, y1)],
            CONTOUR_95.mix(BAND_OPACITY).filled(),
        )))?;
    }
    if !ivs.is_empty() {
        let names: Vec<String> = levels
            .iter()
            .map(|l| format!("{}%", crate::report::fmt_num(100.0 * l)))
            .collect();
        legend.push((
            format!("{} intervals ({method})", names.join(", ")),
            Swatch::Band(CONTOUR_95, 2.0 * BAND_OPACITY),
        ));
    }
    // A line at each level's threshold.
    for &l in &levels {
        let y = level_y(l);
        if y >= y0 && y <= y1 {
            let mut x = x0;
            let dash = (x1 - x0) / 80.0;
            while x < x1 {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(x, y), ((x + 0.6 * dash).min(x1), y)],
                    LEVEL_LINE.stroke_width(1),
                )))?;
                x += dash;
            }
        }
    }
    if !levels.is_empty() {
        let qs: Vec<String> = levels
            .iter()
            .map(|&l| format!("{:.2}", crate::analysis::intervals::chi2_quantile(1, l)))
            .collect();
        legend.push((
            format!("2·ΔlnL = {}", qs.join(", ")),
            Swatch::Dashed(LEVEL_LINE),
        ));
    }
    // Pixels of the data, for the legend's placement.
    let mut data_px: Vec<(i32, i32)> = Vec::new();
    let base = area.get_base_pixel();
    let mut px = |chart: &Chart<'_, DB>, p: (f64, f64)| {
        if p.0 >= x0 && p.0 <= x1 && p.1 >= y0 && p.1 <= y1 {
            let b = chart.backend_coord(&p);
            data_px.push((b.0 - base.0, b.1 - base.1));
        }
    };
    // The curve: the optimised profile where known, else the grid's profile joined.
    let line: Vec<(f64, f64)> = exact.clone().unwrap_or_else(|| grid_pts.clone());
    let mut dense = Vec::new();
    for w in line.windows(2) {
        for k in 0..8 {
            let t = k as f64 / 8.0;
            dense.push((
                w[0].0 + t * (w[1].0 - w[0].0),
                w[0].1 + t * (w[1].1 - w[0].1),
            ));
        }
    }
    dense.extend(line.last());
    for &p in &dense {
        px(&chart, p);
    }
    for run in clip(&line, y0, y1) {
        chart.draw_series(LineSeries::new(run, CURVE.stroke_width(2)))?;
    }
    legend.push((
        if exact.is_some() {
            "profile (f64, others optimised)".to_string()
        } else {
            "grid profile".to_string()
        },
        Swatch::Line(CURVE, 2),
    ));
    if exact.is_some() {
        let pts: Vec<(f64, f64)> = grid_pts
            .iter()
            .copied()
            .filter(|p| p.1.is_finite() && p.1 >= y0 && p.1 <= y1)
            .collect();
        for &p in &pts {
            px(&chart, p);
        }
        chart.draw_series(
            pts.iter()
                .map(|&p| Circle::new(p, 4, GRID_POINTS.stroke_width(2))),
        )?;
        legend.push((
            "grid profile (max over grid)".into(),
            Swatch::Ring(GRID_POINTS),
        ));
    }
    // MLE and best point.
    if let Some(m) = input.mle {
        let x = c(m[param]);
        if x.is_finite() && (x0..=x1).contains(&x) {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, y0), (x, y1)],
                BLACK.stroke_width(1),
            )))?;
            legend.push(("MLE".into(), Swatch::Line(BLACK, 1)));
        }
    }
    if let Some(b) = input.best {
        let x = c(grid.theta(b)[param]);
        let y = input.value(input.partials.mean_loglik(b));
        if y >= y0 && y <= y1 {
            px(&chart, (x, y));
            chart.draw_series(std::iter::once(Circle::new((x, y), 6, BEST.filled())))?;
            legend.push(("best grid point".into(), Swatch::Dot(BEST)));
        }
    }
    let (rx, ry) = chart.plotting_area().get_pixel_range();
    let plot_px = (
        (rx.start - base.0, rx.end - base.0),
        (ry.start - base.1, ry.end - base.1),
    );
    match legend_out {
        // Several panels share one legend row.
        Some(out) => {
            if out.len() < legend.len() {
                *out = legend;
            }
        }
        None => {
            let fs = 13.0 * scale;
            let size = legend_size(area, &legend, fs);
            let spot = legend_spot(plot_px, size, &data_px);
            draw_legend(area, &legend, spot, fs)?;
        }
    }
    Ok(PanelPixels {
        axes: vec![axis],
        x_range: (x0, x1),
        y_range: (y0, y1),
        px_x: (rx.start, rx.end),
        px_y: (ry.start, ry.end),
    })
}

/// Cell edges: half-way between neighbouring coordinates, extended at the ends.
fn edges(c: &[f64]) -> Vec<f64> {
    let n = c.len();
    let mut e = Vec::with_capacity(n + 1);
    e.push(c[0] - 0.5 * (c[1] - c[0]));
    for i in 0..n - 1 {
        e.push(0.5 * (c[i] + c[i + 1]));
    }
    e.push(c[n - 1] + 0.5 * (c[n - 1] - c[n - 2]));
    e
}

/// Cell edges for ≥ 2 coordinates; a single coordinate gets a unit-wide cell.
fn edges_or_single(c: &[f64]) -> Vec<f64> {
    if c.len() >= 2 {
        edges(c)
    } else {
        vec![c[0] - 0.5, c[0] + 0.5]
    }
}

/// For each of `pixels` pixels spanning [e₀, e_last] (`flip`: the first pixel at the high end),
/// the range of cells (between consecutive `e`, ascending) the pixel overlaps.
fn pixel_cells(e: &[f64], pixels: usize, flip: bool) -> Vec<(usize, usize)> {
    let (lo, hi) = (e[0], e[e.len() - 1]);
    let cells = e.len() - 1;
    let find = |v: f64| {
        e.partition_point(|&x| x <= v)
            .saturating_sub(1)
            .min(cells - 1)
    };
    (0..pixels)
        .map(|p| {
            let (a, b) = (p as f64 / pixels as f64, (p + 1) as f64 / pixels as f64);
            let (a, b) = if flip { (1.0 - b, 1.0 - a) } else { (a, b) };
            let (va, vb) = (lo + a * (hi - lo), lo + b * (hi - lo));
            let (i0, i1) = (find(va), find(vb - 1e-12 * (hi - lo)));
            (i0, i1.max(i0))
        })
        .collect()
}

/// Colour of the region contour at `rank` of `count` levels (lowest white, highest red).
fn region_colour(rank: usize, count: usize) -> RGBColor {
    if rank + 1 == count {
        CONTOUR_95
    } else if rank == 0 {
        CONTOUR_68
    } else {
        RGBColor(255, 170, 0)
    }
}

/// Heatmap of the metric over two axes (profiled over the others) as one raster image, colour
/// bar, best point, MLE, and the reported joint regions (or, for a pair without regions, the
/// grid profile's χ²₂ contours); −∞ cells grey; the legend above the plotting area.
fn surface<DB: DrawingBackend>(
    area: &DrawingArea<DB, AreaShift>,
    input: &PlotInput<'_>,
    a: usize,
    b: usize,
) -> DrawResult<PanelPixels>
where
    DB::ErrorType: 'static,
{
    let grid = input.grid;
    let n = input.partials.n as f64;
    let xa: Vec<f64> = grid.axes()[a]
        .values
        .iter()
        .map(|&v| coord(grid, a, v))
        .collect();
    let yb: Vec<f64> = grid.axes()[b]
        .values
        .iter()
        .map(|&v| coord(grid, b, v))
        .collect();
    // Sort both axes (lists may be unordered), keeping the profile aligned.
    let mut ox: Vec<usize> = (0..xa.len()).collect();
    ox.sort_by(|&i, &j| xa[i].total_cmp(&xa[j]));
    let mut oy: Vec<usize> = (0..yb.len()).collect();
    oy.sort_by(|&i, &j| yb[i].total_cmp(&yb[j]));
    let raw = profile(grid, input.partials, &[a, b]);
    let (na, nb) = (xa.len(), yb.len());
    let raw = &raw;
    let s: Vec<f64> = ox
        .iter()
        .flat_map(|&i| oy.iter().map(move |&j| raw[i * nb + j]))
        .collect();
    let xa: Vec<f64> = ox.iter().map(|&i| xa[i]).collect();
    let yb: Vec<f64> = oy.iter().map(|&j| yb[j]).collect();
    let m: Vec<f64> = s.iter().map(|&v| input.value(v / n)).collect();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in m.iter().filter(|v| v.is_finite()) {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let span = if hi > lo { hi - lo } else { 1.0 };
    let reverse = input.metric == super::Metric::Deviance;
    let colour = |v: f64| {
        if v.is_finite() {
            let t = if reverse { lo + span - (v - lo) } else { v };
            ViridisRGB.get_color_normalized(t as f32, lo as f32, (lo + span) as f32)
        } else {
            OUTSIDE_SUPPORT
        }
    };
    let (main, bar) = area.split_horizontally(area.dim_in_pixel().0.saturating_sub(110));
    let (legend_area, main) = main.split_vertically(34);
    let (ex, ey) = (edges_or_single(&xa), edges_or_single(&yb));
    let (xl, yl) = (is_log(input, a), is_log(input, b));
    let (x0, x1, y0, y1) = (ex[0], ex[na], ey[0], ey[nb]);
    let mut chart: Chart<'_, DB> = ChartBuilder::on(&main)
        .margin(10)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(
            TickAxis::new(x0, x1, ticks(xl, x0, x1)),
            TickAxis::new(y0, y1, ticks(yl, y0, y1)),
        )?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(axis_label(input, a))
        .y_desc(axis_label(input, b))
        .x_label_formatter(&|v| tick(input, a, *v, x1 - x0))
        .y_label_formatter(&|v| tick(input, b, *v, y1 - y0))
        .label_style(font(14.0))
        .axis_desc_style(font(16.0))
        .draw()?;
    // One raster image at the plotting area's pixel size; a pixel covering several cells shows
    // their best value.
    let (rx, ry) = chart.plotting_area().get_pixel_range();
    let (w, h) = (
        (rx.end - rx.start).max(1) as usize,
        (ry.end - ry.start).max(1) as usize,
    );
    let (cx, cy) = (pixel_cells(&ex, w, false), pixel_cells(&ey, h, true));
    let mut img = vec![0u8; w * h * 3];
    let sign = if input.metric.lower_is_better() {
        -1.0
    } else {
        1.0
    };
    for (py, &(j0, j1)) in cy.iter().enumerate() {
        for (pxl, &(i0, i1)) in cx.iter().enumerate() {
            let mut best = f64::NEG_INFINITY;
            let mut val = f64::NAN;
            for i in i0..=i1 {
                for j in j0..=j1 {
                    let v = m[i * nb + j];
                    if v.is_finite() && sign * v > best {
                        best = sign * v;
                        val = v;
                    }
                }
            }
            let col = colour(if val.is_nan() { f64::NEG_INFINITY } else { val });
            let o = (py * w + pxl) * 3;
            img[o..o + 3].copy_from_slice(&[col.0, col.1, col.2]);
        }
    }
    if let Some(el) = BitMapElement::with_owned_buffer((x0, y1), (w as u32, h as u32), img) {
        chart.draw_series(std::iter::once(el))?;
    }
    let mut legend: Vec<(String, Swatch)> = Vec::new();
    // Contours: the reported regions' polygons, else (a pair of many) the grid's χ²₂ contours.
    let (pa, pb) = (grid.axes()[a].param, grid.axes()[b].param);
    let names = input.family.params();
    let regions: Vec<&Region> = input
        .regions
        .iter()
        .filter(|r| r.x == names[pa].name && r.y == names[pb].name && !r.polygon.is_empty())
        .collect();
    let mut levels: Vec<f64> = regions.iter().map(|r| r.level).collect();
    levels.sort_by(f64::total_cmp);
    if !regions.is_empty() {
        for r in &regions {
            let rank = levels.iter().position(|&l| l == r.level).unwrap_or(0);
            let col = region_colour(rank, levels.len());
            let mut pts: Vec<(f64, f64)> = r
                .polygon
                .iter()
                .map(|q| (coord(grid, a, q[0]), coord(grid, b, q[1])))
                .collect();
            pts.push(pts[0]);
            let pts: Vec<(f64, f64)> = pts
                .into_iter()
                .map(|(x, y)| (x.clamp(x0, x1), y.clamp(y0, y1)))
                .collect();
            chart.draw_series(std::iter::once(PathElement::new(pts, col.stroke_width(2))))?;
            legend.push((
                format!("{}% joint region", crate::report::fmt_num(100.0 * r.level)),
                Swatch::Line(col, 3),
            ));
        }
    } else {
        let s_max = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lr: Vec<f64> = s.iter().map(|&v| 2.0 * (s_max - v)).collect();
        let count = crate::analysis::intervals::REGION_LEVELS.len();
        for (rank, &level) in crate::analysis::intervals::REGION_LEVELS.iter().enumerate() {
            let col = region_colour(rank, count);
            let segs = contour::segments(&xa, &yb, &lr, chi2_2(level));
            if segs.is_empty() {
                continue;
            }
            chart.draw_series(
                segs.into_iter()
                    .map(|(p, q)| PathElement::new(vec![p, q], col.stroke_width(2))),
            )?;
            legend.push((
                format!(
                    "{}% joint region (grid profile)",
                    crate::report::fmt_num(100.0 * level)
                ),
                Swatch::Line(col, 3),
            ));
        }
    }
    if let Some(mle) = input.mle {
        let p = (coord(grid, a, mle[pa]), coord(grid, b, mle[pb]));
        if p.0.is_finite() && p.1.is_finite() && p.0 >= x0 && p.0 <= x1 && p.1 >= y0 && p.1 <= y1 {
            chart.draw_series(std::iter::once(Cross::new(p, 8, BLACK.stroke_width(2))))?;
            legend.push(("MLE".into(), Swatch::Cross(BLACK)));
        }
    }
    if let Some(bi) = input.best {
        let t = grid.theta(bi);
        let p = (coord(grid, a, t[pa]), coord(grid, b, t[pb]));
        chart.draw_series(std::iter::once(Circle::new(p, 6, BEST.filled())))?;
        legend.push(("best grid point".into(), Swatch::Dot(BEST)));
    }
    // The legend in one row above the plotting area, where it covers no cell.
    legend_row(&legend_area, &legend)?;

    // Colour bar.
    let mut bar_chart = ChartBuilder::on(&bar)
        .margin_top(44)
        .margin_bottom(55)
        .margin_right(10)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..1.0, lo..lo + span)?;
    bar_chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc(input.metric.label())
        .y_label_formatter(&|v| plain_tick(*v, span))
        .label_style(font(12.0))
        .axis_desc_style(font(13.0))
        .draw()?;
    let steps = 200;
    bar_chart.draw_series((0..steps).map(|k| {
        let v0 = lo + span * k as f64 / steps as f64;
        let v1 = lo + span * (k + 1) as f64 / steps as f64;
        Rectangle::new([(0.0, v0), (1.0, v1)], colour(0.5 * (v0 + v1)).filled())
    }))?;
    Ok(PanelPixels {
        axes: vec![a, b],
        x_range: (x0, x1),
        y_range: (y0, y1),
        px_x: (rx.start, rx.end),
        px_y: (ry.start, ry.end),
    })
}

/// The legend as one row of boxed entries (above a heatmap or a panel grid).
fn legend_row<DB: DrawingBackend>(
    area: &DrawingArea<DB, AreaShift>,
    entries: &[(String, Swatch)],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let mut x = 70;
    for e in entries {
        let (wd, _) = legend_size(area, std::slice::from_ref(e), 13.0);
        draw_legend(area, std::slice::from_ref(e), (x, 4), 13.0)?;
        x += wd + 6;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_sit_at_1_2_5_values() {
        let t: Vec<f64> = log_ticks(0.5f64.log10(), 8f64.log10())
            .into_iter()
            .map(|v| (10f64.powf(v) * 1e9).round() / 1e9)
            .collect();
        assert_eq!(t, vec![0.5, 1.0, 2.0, 5.0]);
        let t: Vec<f64> = log_ticks(1e-3f64.log10(), 1e3f64.log10())
            .into_iter()
            .map(|v| 10f64.powf(v))
            .collect();
        assert_eq!(t.len(), 19);
        // Within a narrow range, more mantissas.
        assert!(log_ticks(2f64.log10(), 6f64.log10()).len() >= 3);
    }

    #[test]
    fn nice_ticks_are_round_multiples() {
        assert_eq!(
            nice_ticks(0.0, 3.0, 7),
            vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
        );
        let t = nice_ticks(1.37, 1.62, 5);
        assert!(
            t.iter()
                .all(|v| ((v * 20.0).round() - v * 20.0).abs() < 1e-9),
            "{t:?}"
        );
    }

    #[test]
    fn clipping_cuts_polylines_at_the_bounds() {
        let runs = clip(
            &[(0.0, 5.0), (1.0, 1.0), (2.0, 0.0), (3.0, 1.0), (4.0, 5.0)],
            0.0,
            3.0,
        );
        assert_eq!(runs.len(), 1);
        let r = &runs[0];
        assert_eq!(r.first().unwrap(), &(0.5, 3.0));
        assert_eq!(r.last().unwrap(), &(3.5, 3.0));
    }

    #[test]
    fn legends_go_where_no_data_are() {
        // Points filling the upper right: the legend goes to the upper left.
        let pts: Vec<(i32, i32)> = (0..50).map(|k| (900 - k, 20 + k)).collect();
        let spot = legend_spot(((0, 1000), (0, 600)), (200, 80), &pts);
        assert_eq!(spot, (8, 8));
    }
}
