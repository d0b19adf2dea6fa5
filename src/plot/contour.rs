//! Contour lines of a function sampled on a rectangular grid, by marching squares.

/// Line segments ((x0, y0), (x1, y1)) where the bilinear interpolant of `z` (row-major,
/// `z[i * ys.len() + j]` at (xs[i], ys[j])) crosses `level`. Cells with a non-finite corner are
/// skipped. Saddle cells are resolved by the cell's mean value.
pub fn segments(xs: &[f64], ys: &[f64], z: &[f64], level: f64) -> Vec<((f64, f64), (f64, f64))> {
    let ny = ys.len();
    let mut out = Vec::new();
    if xs.len() < 2 || ny < 2 {
        return out;
    }
    let at = |i: usize, j: usize| z[i * ny + j];
    for i in 0..xs.len() - 1 {
        for j in 0..ny - 1 {
            // Corners counter-clockwise: (i,j), (i+1,j), (i+1,j+1), (i,j+1).
            let c = [at(i, j), at(i + 1, j), at(i + 1, j + 1), at(i, j + 1)];
            if c.iter().any(|v| !v.is_finite()) {
                continue;
            }
            let p = [
                (xs[i], ys[j]),
                (xs[i + 1], ys[j]),
                (xs[i + 1], ys[j + 1]),
                (xs[i], ys[j + 1]),
            ];
            let above: Vec<bool> = c.iter().map(|&v| v > level).collect();
            // Crossing point on edge k (between corner k and k+1).
            let edge = |k: usize| {
                let (a, b) = (k, (k + 1) % 4);
                let t = (level - c[a]) / (c[b] - c[a]);
                (
                    p[a].0 + t * (p[b].0 - p[a].0),
                    p[a].1 + t * (p[b].1 - p[a].1),
                )
            };
            let crossing: Vec<usize> = (0..4).filter(|&k| above[k] != above[(k + 1) % 4]).collect();
            match crossing.len() {
                2 => out.push((edge(crossing[0]), edge(crossing[1]))),
                4 => {
                    // Saddle: pair the edges so that the centre's side is respected.
                    let centre_above = c.iter().sum::<f64>() / 4.0 > level;
                    if centre_above == above[0] {
                        out.push((edge(0), edge(1)));
                        out.push((edge(2), edge(3)));
                    } else {
                        out.push((edge(3), edge(0)));
                        out.push((edge(1), edge(2)));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circle_contour_points_lie_near_the_circle() {
        let xs: Vec<f64> = (0..41).map(|i| -2.0 + i as f64 * 0.1).collect();
        let ys = xs.clone();
        let z: Vec<f64> = xs
            .iter()
            .flat_map(|&x| ys.iter().map(move |&y| x * x + y * y))
            .collect();
        let segs = segments(&xs, &ys, &z, 1.0);
        assert!(segs.len() > 40);
        for (a, b) in segs {
            for (x, y) in [a, b] {
                assert!(((x * x + y * y).sqrt() - 1.0).abs() < 0.01, "({x}, {y})");
            }
        }
    }
}
