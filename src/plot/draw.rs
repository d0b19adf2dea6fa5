//! Drawing with plotters, for any backend (PNG bitmap or SVG).

use super::{chi2_2, contour, coord, crossings, profile, PlotInput, CHI2_1_95, REGION_LEVELS};
use crate::model::grid::Spacing;
use plotters::coord::Shift as AreaShift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use std::sync::Once;

/// The embedded font (DejaVu Sans; licence in assets/fonts/DejaVuSans-LICENSE.txt).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Colour of grid points with likelihood 0 (a sample outside the support): a neutral grey,
/// outside the colour map.
pub const OUTSIDE_SUPPORT: RGBColor = RGBColor(170, 170, 170);
/// Colour of the 68% joint region's contour.
pub const CONTOUR_68: RGBColor = RGBColor(255, 255, 255);
/// Colour of the 95% region's contour (and of the 95% interval's shading, lightened).
pub const CONTOUR_95: RGBColor = RGBColor(230, 30, 30);
/// Colour of the best grid point's marker.
pub const BEST: RGBColor = RGBColor(255, 140, 0);

/// Largest number of heatmap cells per side; larger grids are shown by block maxima.
const MAX_CELLS_PER_SIDE: usize = 600;

pub enum Kind {
    Curve(usize),
    Surface(usize, usize),
    Profiles(Vec<usize>),
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

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
    if a.spacing == Spacing::Log {
        format!("{} (log scale)", a.name)
    } else {
        a.name.clone()
    }
}

fn tick(input: &PlotInput<'_>, axis: usize, v: f64) -> String {
    let a = &input.grid.axes()[axis];
    if a.spacing == Spacing::Log {
        // Three significant digits: ticks sit at round positions of log10 θ, not of θ.
        let x = 10f64.powf(v);
        let digits = 2 - x.abs().log10().floor() as i32;
        let m = 10f64.powi(digits);
        return crate::report::fmt_num((x * m).round() / m);
    }
    // Tick positions come from a float range: show rounding noise around 0 as 0.
    let span = (a.max - a.min).abs().max(f64::MIN_POSITIVE);
    crate::report::fmt_num(if v.abs() < 1e-9 * span { 0.0 } else { v })
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
pub fn draw<DB: DrawingBackend>(input: &PlotInput<'_>, kind: Kind, backend: DB) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let root = backend.into_drawing_area();
    root.fill(&WHITE)?;
    let body = root.titled(&input.title, font(22.0))?;
    match kind {
        Kind::Curve(a) => curve(&body, input, a, 1.0)?,
        Kind::Surface(a, b) => surface(&body, input, a, b)?,
        Kind::Profiles(axes) => {
            let cols = (axes.len() as f64).sqrt().ceil() as usize;
            let rows = axes.len().div_ceil(cols);
            for (panel, &a) in body.split_evenly((rows, cols)).iter().zip(&axes) {
                curve(panel, input, a, 0.8)?;
            }
        }
    }
    root.present()?;
    Ok(())
}

/// The metric along one axis (profiled over the others), with the best point, the MLE, the 95%
/// likelihood-ratio interval shaded, and −∞ stretches in grey.
fn curve<DB: DrawingBackend>(
    area: &DrawingArea<DB, AreaShift>,
    input: &PlotInput<'_>,
    axis: usize,
    scale: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let grid = input.grid;
    let n = input.partials.n as f64;
    let xs: Vec<f64> = grid.axes()[axis]
        .values
        .iter()
        .map(|&v| coord(grid, axis, v))
        .collect();
    let s = profile(grid, input.partials, &[axis]);
    let ys: Vec<f64> = s.iter().map(|&v| input.metric.of(v / n)).collect();
    let s_max = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let lr: Vec<f64> = s.iter().map(|&v| 2.0 * (s_max - v)).collect();
    let (x0, x1) = extent(xs.iter().copied());
    let (y0, y1) = extent(ys.iter().copied());
    let mut chart = ChartBuilder::on(area)
        .margin((10.0 * scale) as i32)
        .x_label_area_size((45.0 * scale) as i32)
        .y_label_area_size((80.0 * scale) as i32)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc(axis_label(input, axis))
        .y_desc(input.metric.label())
        .x_label_formatter(&|v| tick(input, axis, *v))
        .label_style(font(14.0 * scale))
        .axis_desc_style(font(16.0 * scale))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    // −∞ stretches: grey bands half-way to the neighbours.
    for i in (0..xs.len()).filter(|&i| !ys[i].is_finite()) {
        let lo = if i > 0 { 0.5 * (xs[i - 1] + xs[i]) } else { x0 };
        let hi = if i + 1 < xs.len() {
            0.5 * (xs[i] + xs[i + 1])
        } else {
            x1
        };
        chart.draw_series(std::iter::once(Rectangle::new(
            [(lo, y0), (hi, y1)],
            OUTSIDE_SUPPORT.filled(),
        )))?;
    }
    // The 95% likelihood-ratio interval.
    let mut first = true;
    for (lo, hi) in crossings(&xs, &lr, CHI2_1_95) {
        let band = Rectangle::new([(lo, y0), (hi, y1)], CONTOUR_95.mix(0.15).filled());
        let series = chart.draw_series(std::iter::once(band))?;
        if first {
            series
                .label("95% likelihood-ratio interval")
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 15, y + 5)], CONTOUR_95.mix(0.3).filled())
                });
            first = false;
        }
    }
    // The curve, broken where it is −∞.
    let mut run: Vec<(f64, f64)> = Vec::new();
    let mut labelled = false;
    for i in 0..=xs.len() {
        if i < xs.len() && ys[i].is_finite() {
            run.push((xs[i], ys[i]));
            continue;
        }
        if !run.is_empty() {
            let line = chart.draw_series(LineSeries::new(run.drain(..), BLUE.stroke_width(2)))?;
            if !labelled {
                line.label(input.metric.label()).legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 15, y)], BLUE.stroke_width(2))
                });
                labelled = true;
            }
        }
    }
    // MLE and best point.
    if let Some(m) = input.mle {
        let p = grid.axes()[axis].param;
        let x = coord(grid, axis, m[p]);
        if x.is_finite() && (x0..=x1).contains(&x) {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, y0), (x, y1)],
                    BLACK.stroke_width(1),
                )))?
                .label("MLE")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 15, y)], BLACK.stroke_width(1))
                });
        }
    }
    if let Some(b) = input.best {
        let x = coord(grid, axis, grid.theta(b)[grid.axes()[axis].param]);
        let y = input.metric.of(input.partials.mean_loglik(b));
        chart
            .draw_series(std::iter::once(Circle::new((x, y), 6, BEST.filled())))?
            .label("best grid point")
            .legend(|(x, y)| Circle::new((x + 7, y), 5, BEST.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(font(13.0 * scale))
        .position(SeriesLabelPosition::LowerRight)
        .draw()?;
    Ok(())
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

/// Heatmap of the metric over two axes (profiled over the others), colour bar, best point, MLE,
/// and the 68% and 95% joint likelihood-ratio contours; −∞ cells grey.
fn surface<DB: DrawingBackend>(
    area: &DrawingArea<DB, AreaShift>,
    input: &PlotInput<'_>,
    a: usize,
    b: usize,
) -> DrawResult
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
    let s = profile(grid, input.partials, &[a, b]);
    let (na, nb) = (xa.len(), yb.len());
    let m: Vec<f64> = s.iter().map(|&v| input.metric.of(v / n)).collect();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in m.iter().filter(|v| v.is_finite()) {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    let span = if hi > lo { hi - lo } else { 1.0 };
    let colour = |v: f64| {
        if v.is_finite() {
            ViridisRGB.get_color_normalized(v as f32, lo as f32, (lo + span) as f32)
        } else {
            OUTSIDE_SUPPORT
        }
    };
    let (main, bar) = area.split_horizontally(area.dim_in_pixel().0.saturating_sub(110));
    let (ex, ey) = (edges_or_single(&xa), edges_or_single(&yb));
    let mut chart = ChartBuilder::on(&main)
        .margin(10)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(ex[0]..ex[na], ey[0]..ey[nb])?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(axis_label(input, a))
        .y_desc(axis_label(input, b))
        .x_label_formatter(&|v| tick(input, a, *v))
        .y_label_formatter(&|v| tick(input, b, *v))
        .label_style(font(14.0))
        .axis_desc_style(font(16.0))
        .draw()?;
    // Cells; grids larger than the picture are shown by block maxima of S.
    let (sx, sy) = (
        na.div_ceil(MAX_CELLS_PER_SIDE),
        nb.div_ceil(MAX_CELLS_PER_SIDE),
    );
    let mut cells = Vec::new();
    for i0 in (0..na).step_by(sx) {
        for j0 in (0..nb).step_by(sy) {
            let (i1, j1) = ((i0 + sx).min(na), (j0 + sy).min(nb));
            let mut best = f64::NEG_INFINITY;
            for i in i0..i1 {
                for j in j0..j1 {
                    best = best.max(s[i * nb + j]);
                }
            }
            let v = input.metric.of(best / n);
            cells.push(Rectangle::new(
                [(ex[i0], ey[j0]), (ex[i1], ey[j1])],
                colour(v).filled(),
            ));
        }
    }
    chart.draw_series(cells)?;
    // Joint likelihood-ratio contours: 2(Ŝ − S) = χ²₂ quantiles.
    let s_max = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let lr: Vec<f64> = s.iter().map(|&v| 2.0 * (s_max - v)).collect();
    let [l68, l95] = REGION_LEVELS;
    for (level, col, label) in [
        (l68, CONTOUR_68, "68% region"),
        (l95, CONTOUR_95, "95% region"),
    ] {
        let segs = contour::segments(&xa, &yb, &lr, chi2_2(level));
        if segs.is_empty() {
            continue;
        }
        chart
            .draw_series(
                segs.into_iter()
                    .map(|(p, q)| PathElement::new(vec![p, q], col.stroke_width(2))),
            )?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], col.stroke_width(3)));
    }
    if let Some(mle) = input.mle {
        let (pa, pb) = (grid.axes()[a].param, grid.axes()[b].param);
        let p = (coord(grid, a, mle[pa]), coord(grid, b, mle[pb]));
        if p.0.is_finite() && p.1.is_finite() {
            chart
                .draw_series(std::iter::once(Cross::new(p, 8, BLACK.stroke_width(2))))?
                .label("MLE")
                .legend(|(x, y)| Cross::new((x + 7, y), 5, BLACK.stroke_width(2)));
        }
    }
    if let Some(bi) = input.best {
        let t = grid.theta(bi);
        let p = (
            coord(grid, a, t[grid.axes()[a].param]),
            coord(grid, b, t[grid.axes()[b].param]),
        );
        chart
            .draw_series(std::iter::once(Circle::new(p, 6, BEST.filled())))?
            .label("best grid point")
            .legend(|(x, y)| Circle::new((x + 7, y), 5, BEST.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(font(13.0))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;

    // Colour bar.
    let mut bar_chart = ChartBuilder::on(&bar)
        .margin_top(10)
        .margin_bottom(55)
        .margin_right(10)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..1.0, lo..lo + span)?;
    bar_chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc(input.metric.label())
        .label_style(font(12.0))
        .axis_desc_style(font(13.0))
        .draw()?;
    let steps = 200;
    bar_chart.draw_series((0..steps).map(|k| {
        let v0 = lo + span * k as f64 / steps as f64;
        let v1 = lo + span * (k + 1) as f64 / steps as f64;
        Rectangle::new([(0.0, v0), (1.0, v1)], colour(0.5 * (v0 + v1)).filled())
    }))?;
    Ok(())
}

/// Cell edges for ≥ 2 coordinates; a single coordinate gets a unit-wide cell.
fn edges_or_single(c: &[f64]) -> Vec<f64> {
    if c.len() >= 2 {
        edges(c)
    } else {
        vec![c[0] - 0.5, c[0] + 0.5]
    }
}
