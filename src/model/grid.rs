//! Parameter grids: parsing `--grid` specifications and enumerating the Cartesian product.
//!
//! Specification forms (`COUNT ≥ 1`, ranges inclusive):
//! * `NAME=START:STOP:COUNT` — linear: θₖ = START + (STOP − START)·k/(COUNT − 1);
//! * `NAME=log:START:STOP:COUNT` — log-spaced: ln θₖ linear between ln START and ln STOP;
//! * `NAME=V1,V2,...` — an explicit list;
//! * `NAME=V` — a fixed value.
//!
//! The grid is the Cartesian product of the axes, row-major in the order the axes were given
//! (the last axis varies fastest).
//!
//! A grid whose results cannot fit in memory ([`RESULT_BYTES_PER_POINT`] per point, against
//! [`crate::guard::memory_budget`]) is refused before anything is allocated, with the figure it
//! would need; so is a single axis that long. Messages quote at most a short prefix of a spec.

use super::param::HasParams;
use crate::error::{Error, Result};
use crate::guard::{check_memory, did_you_mean, quote};

/// Largest number of grid points klgrid accepts.
pub const MAX_GRID_POINTS: u64 = 1 << 31;

/// Memory a sweep needs per grid point for its results, in bytes, as budgeted before a grid is
/// built: the sums and counts of the evaluated path and of a reference path (16 + 16), the
/// chunk's partials (16), and the cross-entropy, KL and exact-KL columns of the analysis (24),
/// rounded up. Measured peaks are 35–50 bytes per point (10⁶-point normal grid, cpu and both).
pub const RESULT_BYTES_PER_POINT: u64 = 80;

/// Refuses `points` grid points whose results would not fit in memory.
fn check_grid_memory(points: u64, what: impl FnOnce() -> String) -> Result<()> {
    check_memory(points.saturating_mul(RESULT_BYTES_PER_POINT), || {
        format!(
            "{}: the results ({RESULT_BYTES_PER_POINT} bytes per grid point)",
            what()
        )
    })
}

/// How an axis was specified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spacing {
    Linear,
    Log,
    List,
    Fixed,
}

impl Spacing {
    /// Lower-case name, as in the JSON report.
    pub fn name(self) -> &'static str {
        match self {
            Spacing::Linear => "linear",
            Spacing::Log => "log",
            Spacing::List => "list",
            Spacing::Fixed => "fixed",
        }
    }
}

/// One parsed `--grid` option.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisSpec {
    pub name: String,
    pub values: Vec<f64>,
    pub spacing: Spacing,
}

fn parse_number(s: &str, what: &str, spec: &str) -> Result<f64> {
    let t = s.trim();
    let v: f64 = t.parse().map_err(|_| {
        Error::input(format!(
            "--grid '{spec}': {what} '{}' is not a number",
            quote(t)
        ))
    })?;
    if !v.is_finite() {
        return Err(Error::input(format!(
            "--grid '{spec}': {what} must be finite (got '{}')",
            quote(t)
        )));
    }
    Ok(v)
}

fn parse_count(s: &str, spec: &str) -> Result<usize> {
    let t = s.trim();
    let c: u64 = t.parse().map_err(|_| {
        Error::input(format!(
            "--grid '{spec}': COUNT '{}' is not a positive integer",
            quote(t)
        ))
    })?;
    if c == 0 {
        return Err(Error::input(format!(
            "--grid '{spec}': COUNT must be at least 1"
        )));
    }
    if c > MAX_GRID_POINTS {
        return Err(Error::input(format!(
            "--grid '{spec}': COUNT {c} is too large (at most {MAX_GRID_POINTS} grid points)"
        )));
    }
    // Before the axis' values are allocated: the grid has at least `c` points.
    check_grid_memory(c, || format!("--grid '{spec}' has {c} values"))?;
    let c = usize::try_from(c)
        .map_err(|_| Error::input(format!("--grid '{spec}': COUNT {c} is too large")))?;
    Ok(c)
}

impl AxisSpec {
    /// Parses one `--grid` value. `NAME=START:STOP:1` is an error unless START = STOP (one
    /// value cannot span a range: write `NAME=V`).
    pub fn parse(text: &str) -> Result<AxisSpec> {
        let spec = &quote(text);
        let (name, rhs) = text.split_once('=').ok_or_else(|| {
            Error::input(format!(
                "--grid '{spec}': expected NAME=START:STOP:COUNT, NAME=log:START:STOP:COUNT, NAME=V1,V2,... or NAME=V"
            ))
        })?;
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::input(format!(
                "--grid '{spec}': missing parameter name"
            )));
        }
        let rhs = rhs.trim();
        let parts: Vec<&str> = rhs.split(':').collect();
        let (spacing, values) = match parts.as_slice() {
            ["log", a, b, c] => {
                let (a, b) = (
                    parse_number(a, "START", spec)?,
                    parse_number(b, "STOP", spec)?,
                );
                let c = parse_count(c, spec)?;
                one_value_range(a, b, c, name, spec)?;
                if a <= 0.0 || b <= 0.0 {
                    return Err(Error::input(format!(
                        "--grid '{spec}': log spacing needs START > 0 and STOP > 0"
                    )));
                }
                let (la, lb) = (a.ln(), b.ln());
                let vals = linspace(la, lb, c)
                    .into_iter()
                    .map(f64::exp)
                    .collect::<Vec<_>>();
                // Exact endpoints.
                let mut vals = vals;
                vals[0] = a;
                if c > 1 {
                    vals[c - 1] = b;
                }
                (Spacing::Log, vals)
            }
            [a, b, c] => {
                let (a, b) = (
                    parse_number(a, "START", spec)?,
                    parse_number(b, "STOP", spec)?,
                );
                let c = parse_count(c, spec)?;
                one_value_range(a, b, c, name, spec)?;
                (Spacing::Linear, linspace(a, b, c))
            }
            [single] if single.contains(',') => {
                let count = single.split(',').count() as u64;
                check_grid_memory(count, || format!("--grid '{spec}' has {count} values"))?;
                let vals = single
                    .split(',')
                    .map(|v| parse_number(v, "value", spec))
                    .collect::<Result<Vec<_>>>()?;
                (Spacing::List, vals)
            }
            [single] => (Spacing::Fixed, vec![parse_number(single, "value", spec)?]),
            _ => {
                return Err(Error::input(format!(
                    "--grid '{spec}': expected START:STOP:COUNT or log:START:STOP:COUNT after '='"
                )))
            }
        };
        Ok(AxisSpec {
            name: name.to_string(),
            values,
            spacing,
        })
    }
}

/// `NAME=START:STOP:1` with START ≠ STOP would silently ignore STOP.
fn one_value_range(a: f64, b: f64, count: usize, name: &str, spec: &str) -> Result<()> {
    if count == 1 && a != b {
        return Err(Error::input(format!(
            "--grid '{spec}': COUNT 1 with START {a} ≠ STOP {b}: one value cannot span a range \
             (for a fixed value write {}={a}; for a range give COUNT ≥ 2)",
            quote(name)
        )));
    }
    Ok(())
}

/// `count` points from `a` to `b` inclusive, with exact endpoints: aₖ = a + (b − a)·k/(count − 1).
pub fn linspace(a: f64, b: f64, count: usize) -> Vec<f64> {
    if count == 1 {
        return vec![a];
    }
    let d = (count - 1) as f64;
    (0..count)
        .map(|k| {
            if k + 1 == count {
                b
            } else {
                a + (b - a) * (k as f64 / d)
            }
        })
        .collect()
}

/// One axis of a grid, bound to a family parameter.
#[derive(Debug, Clone)]
pub struct Axis {
    pub name: String,
    /// Index of the parameter in the family's canonical order.
    pub param: usize,
    pub values: Vec<f64>,
    pub spacing: Spacing,
    /// Smallest and largest value.
    pub min: f64,
    pub max: f64,
}

/// A validated grid over every parameter of a model (a family, or anything with named
/// parameters: [`HasParams`]) — or, from [`Grid::range`], a contiguous range of the points of
/// one (a grid shard): point i of a range is point `offset + i` of the whole grid, so every
/// evaluator works on a range unchanged.
#[derive(Debug, Clone)]
pub struct Grid {
    axes: Vec<Axis>,
    n_params: usize,
    len: usize,
    /// Index in the whole grid of this grid's point 0 (0 for a whole grid).
    offset: usize,
}

impl Grid {
    /// Binds parsed axes to a family: every parameter exactly once, every value in its domain.
    pub fn new<M: HasParams + ?Sized>(model: &M, specs: Vec<AxisSpec>) -> Result<Grid> {
        let params = model.param_specs();
        let mut seen = vec![false; params.len()];
        let mut axes = Vec::with_capacity(specs.len());
        for s in specs {
            let Some(j) = params.iter().position(|p| p.name == s.name) else {
                let names: Vec<&str> = params.iter().map(|p| p.name).collect();
                return Err(Error::input(format!(
                    "{}: unknown parameter '{}' in --grid ({}parameters: {})",
                    model.model_name(),
                    quote(&s.name),
                    did_you_mean(&s.name, names.iter().copied()),
                    names.join(", ")
                )));
            };
            if seen[j] {
                return Err(Error::input(format!(
                    "--grid: parameter '{}' is given more than once",
                    quote(&s.name)
                )));
            }
            seen[j] = true;
            for &v in &s.values {
                if !params[j].domain.contains(v) {
                    return Err(Error::input(format!(
                        "{}: parameter '{}' must be {} (grid value {v})",
                        model.model_name(),
                        s.name,
                        params[j].domain.describe()
                    )));
                }
            }
            let min = s.values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = s.values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            axes.push(Axis {
                name: s.name,
                param: j,
                values: s.values,
                spacing: s.spacing,
                min,
                max,
            });
        }
        let missing: Vec<&str> = params
            .iter()
            .zip(&seen)
            .filter(|(_, &s)| !s)
            .map(|(p, _)| p.name)
            .collect();
        if !missing.is_empty() {
            return Err(Error::input(format!(
                "{}: missing --grid for parameter(s) {} (every parameter needs one, e.g. --grid {}=V)",
                model.model_name(),
                missing.join(", "),
                missing[0]
            )));
        }
        let mut len: u64 = 1;
        for a in &axes {
            len = len.saturating_mul(a.values.len() as u64);
        }
        if len > MAX_GRID_POINTS {
            return Err(Error::input(format!(
                "the grid has {len} points, more than the supported {MAX_GRID_POINTS} (its \
                 results would need {} of memory)",
                crate::guard::fmt_bytes(len.saturating_mul(RESULT_BYTES_PER_POINT))
            )));
        }
        check_grid_memory(len, || format!("the grid has {len} points"))?;
        Ok(Grid {
            axes,
            n_params: params.len(),
            len: len as usize,
            offset: 0,
        })
    }

    /// The one-point grid at θ (every parameter a fixed axis at its value), e.g. for the
    /// host-coupled sums of one θ.
    pub fn point<M: HasParams + ?Sized>(model: &M, theta: &[f64]) -> Result<Grid> {
        let specs = model.param_specs().iter().zip(theta);
        Grid::new(
            model,
            specs
                .map(|(p, &v)| AxisSpec {
                    name: p.name.to_string(),
                    values: vec![v],
                    spacing: Spacing::Fixed,
                })
                .collect(),
        )
    }

    /// Points `start..end` of this grid as a grid of `end − start` points (a grid shard): point i
    /// of the range is point `start + i` of `self`. `None` unless `start ≤ end ≤ len`.
    pub fn range(&self, start: usize, end: usize) -> Option<Grid> {
        (start <= end && end <= self.len).then(|| Grid {
            axes: self.axes.clone(),
            n_params: self.n_params,
            len: end - start,
            offset: self.offset + start,
        })
    }

    /// Index in the whole grid of this grid's point 0: 0 for a whole grid, the start of the
    /// range for [`Grid::range`].
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Number of points of the whole grid this one is a range of (the product of the axes).
    pub fn whole_len(&self) -> usize {
        self.axes.iter().map(|a| a.values.len()).product()
    }

    /// Number of grid points.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the grid is empty (never, for a validated grid).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The axes in the order they were given.
    pub fn axes(&self) -> &[Axis] {
        &self.axes
    }

    /// Number of family parameters (length of θ).
    pub fn n_params(&self) -> usize {
        self.n_params
    }

    /// θ of point `index` (in the family's parameter order) written to `out`.
    pub fn theta_into(&self, index: usize, out: &mut [f64]) {
        let mut index = index + self.offset;
        for a in self.axes.iter().rev() {
            let n = a.values.len();
            out[a.param] = a.values[index % n];
            index /= n;
        }
    }

    /// A [`ThetaCursor`] over this grid.
    pub fn cursor(&self) -> ThetaCursor<'_> {
        ThetaCursor {
            grid: self,
            at: None,
            pos: vec![0; self.axes.len()],
            theta: vec![0.0; self.n_params],
        }
    }

    /// The position along axis `axis` (an index into `axes()[axis].values`) of point `index`:
    /// ⌊(index + offset) / Π_{b > axis} n_b⌋ mod n_axis, the last axis varying fastest.
    pub fn axis_index(&self, index: usize, axis: usize) -> usize {
        let stride: usize = self.axes[axis + 1..]
            .iter()
            .map(|a| a.values.len())
            .product();
        (index + self.offset) / stride % self.axes[axis].values.len()
    }

    /// θ of point `index`, in the family's parameter order.
    pub fn theta(&self, index: usize) -> Vec<f64> {
        let mut t = vec![0.0; self.n_params];
        self.theta_into(index, &mut t);
        t
    }

    /// Per parameter: `Some(v)` when the grid holds it fixed at one value.
    pub fn fixed_values(&self) -> Vec<Option<f64>> {
        let mut f = vec![None; self.n_params];
        for a in &self.axes {
            if a.values.len() == 1 {
                f[a.param] = Some(a.values[0]);
            }
        }
        f
    }
}

/// θ of grid points visited mostly in order, as [`Grid::theta_into`] writes them: from one
/// point to the next the positions along the axes advance like an odometer (the last axis
/// fastest), without the division per axis that locating an arbitrary point takes.
pub struct ThetaCursor<'g> {
    grid: &'g Grid,
    /// The point whose θ and axis positions are held.
    at: Option<usize>,
    pos: Vec<usize>,
    theta: Vec<f64>,
}

impl ThetaCursor<'_> {
    /// θ of point `index` of the grid (in the family's parameter order).
    #[inline]
    pub fn theta(&mut self, index: usize) -> &[f64] {
        let axes = &self.grid.axes;
        match self.at {
            Some(at) if at == index => {}
            Some(at) if at + 1 == index && index < self.grid.len => {
                for (a, ax) in axes.iter().enumerate().rev() {
                    let k = self.pos[a] + 1;
                    if k < ax.values.len() {
                        self.pos[a] = k;
                        self.theta[ax.param] = ax.values[k];
                        break;
                    }
                    self.pos[a] = 0;
                    self.theta[ax.param] = ax.values[0];
                }
            }
            _ => {
                let mut i = index + self.grid.offset;
                for (a, ax) in axes.iter().enumerate().rev() {
                    let n = ax.values.len();
                    self.pos[a] = i % n;
                    self.theta[ax.param] = ax.values[self.pos[a]];
                    i /= n;
                }
            }
        }
        self.at = Some(index);
        &self.theta
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cursor's θ is `theta_into`'s, point after point, after jumps and on shards.
    #[test]
    fn cursor_theta_is_theta_into_in_order_and_after_jumps() {
        let fam = crate::model::lookup("normal_mixture").unwrap();
        let specs = [
            "sigma2=1:2:3",
            "w=0.2:0.4:2",
            "mu1=-1:0:4",
            "mu2=2",
            "sigma1=0.5,0.7",
        ];
        let g = Grid::new(
            fam,
            specs.iter().map(|s| AxisSpec::parse(s).unwrap()).collect(),
        )
        .unwrap();
        for (lo, hi) in [(0, g.len()), (5, 41), (47, 48)] {
            let r = g.range(lo, hi).unwrap();
            let mut c = r.cursor();
            let mut want = vec![0.0; r.n_params()];
            let order: Vec<usize> = (0..r.len()).chain([3, 2, 2, 0, r.len() - 1, 1]).collect();
            for i in order.into_iter().filter(|&i| i < r.len()) {
                r.theta_into(i, &mut want);
                assert_eq!(c.theta(i), &want[..], "{lo}..{hi} point {i}");
            }
        }
    }
    use crate::model::lookup;

    #[test]
    fn linear_axis_has_exact_endpoints_and_count() {
        let a = AxisSpec::parse("mu=0:3:7").unwrap();
        assert_eq!(a.values, vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]);
        assert_eq!(a.spacing, Spacing::Linear);
    }

    #[test]
    fn log_list_and_fixed_axes_parse() {
        let a = AxisSpec::parse("sigma=log:0.1:10:3").unwrap();
        assert!((a.values[1] - 1.0).abs() < 1e-15);
        assert_eq!(a.values[2], 10.0);
        assert_eq!(
            AxisSpec::parse("mu=1,2.5,-3").unwrap().values,
            vec![1.0, 2.5, -3.0]
        );
        let f = AxisSpec::parse("mu=4").unwrap();
        assert_eq!((f.values, f.spacing), (vec![4.0], Spacing::Fixed));
    }

    #[test]
    fn malformed_axes_are_input_errors() {
        for bad in [
            "mu",
            "=1",
            "mu=a:b:3",
            "mu=0:1:0",
            "mu=0:1:-2",
            "mu=0:1:2.5",
            "mu=log:0:1:3",
            "mu=1,,2",
            "mu=nan",
            "mu=0:1",
            "mu=1:2:3:4",
        ] {
            let e = AxisSpec::parse(bad).unwrap_err();
            assert!(e.is_input(), "{bad}");
        }
    }

    #[test]
    fn one_value_needs_start_equal_to_stop() {
        let e = AxisSpec::parse("mu=0:3:1").unwrap_err().to_string();
        assert!(
            e.contains("COUNT 1 with START 0 ≠ STOP 3") && e.contains("mu=0"),
            "{e}"
        );
        assert!(AxisSpec::parse("sigma=log:1:2:1").is_err());
        assert_eq!(AxisSpec::parse("mu=2:2:1").unwrap().values, vec![2.0]);
    }

    #[test]
    fn grid_is_row_major_with_last_axis_fastest() {
        let fam = lookup("normal").unwrap();
        let g = Grid::new(
            fam,
            vec![
                AxisSpec::parse("sigma=1,2").unwrap(),
                AxisSpec::parse("mu=0:2:3").unwrap(),
            ],
        )
        .unwrap();
        assert_eq!(g.len(), 6);
        // θ is in family order (mu, sigma); sigma is the slow axis here.
        assert_eq!(g.theta(0), vec![0.0, 1.0]);
        assert_eq!(g.theta(1), vec![1.0, 1.0]);
        assert_eq!(g.theta(3), vec![0.0, 2.0]);
        assert_eq!(g.theta(5), vec![2.0, 2.0]);
    }

    /// `axis_index` names the value `theta` takes on that axis, for whole grids and ranges.
    #[test]
    fn axis_index_is_the_position_of_the_points_value_on_that_axis() {
        let fam = lookup("normal").unwrap();
        let g = Grid::new(
            fam,
            vec![
                AxisSpec::parse("sigma=1,2,3").unwrap(),
                AxisSpec::parse("mu=0:3:4").unwrap(),
            ],
        )
        .unwrap();
        for r in [g.clone(), g.range(5, 11).unwrap()] {
            for i in 0..r.len() {
                let t = r.theta(i);
                for (a, ax) in r.axes().iter().enumerate() {
                    assert_eq!(
                        ax.values[r.axis_index(i, a)],
                        t[ax.param],
                        "point {i} axis {a}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_range_of_a_grid_holds_the_same_points_as_the_whole() {
        let fam = lookup("normal").unwrap();
        let g = Grid::new(
            fam,
            vec![
                AxisSpec::parse("mu=0:2:5").unwrap(),
                AxisSpec::parse("sigma=1,2,3").unwrap(),
            ],
        )
        .unwrap();
        let r = g.range(4, 11).unwrap();
        assert_eq!((r.len(), r.offset(), r.whole_len()), (7, 4, 15));
        for i in 0..r.len() {
            assert_eq!(r.theta(i), g.theta(4 + i));
        }
        let rr = r.range(2, 3).unwrap();
        assert_eq!((rr.offset(), rr.theta(0)), (6, g.theta(6)));
        assert!(g.range(3, 16).is_none() && g.range(5, 4).is_none());
        assert_eq!(g.range(15, 15).unwrap().len(), 0);
    }

    #[test]
    fn grid_rejects_missing_repeated_unknown_and_out_of_domain_parameters() {
        let fam = lookup("normal").unwrap();
        let p = |s: &str| AxisSpec::parse(s).unwrap();
        assert!(Grid::new(fam, vec![p("mu=0")]).is_err());
        assert!(Grid::new(fam, vec![p("mu=0"), p("mu=1"), p("sigma=1")]).is_err());
        assert!(Grid::new(fam, vec![p("mu=0"), p("sigma=1"), p("nu=1")]).is_err());
        assert!(Grid::new(fam, vec![p("mu=0"), p("sigma=0:1:3")]).is_err());
    }
}
