//! Estimation properties for every family: on data drawn with known parameters the best grid
//! point lies within 3 standard errors of the truth, and the closed-form MLE is a maximum of the
//! likelihood.

use klgrid::engine::evaluate_cpu;
use klgrid::model::grid::{AxisSpec, Grid, Spacing};
use klgrid::model::sample_spec::SampleSpec;
use klgrid::model::{Domain, Family, REGISTRY};

/// S(θ) by the f64 full density.
fn loglik(fam: &dyn Family, xs: &[f64], theta: &[f64]) -> f64 {
    let (s, outside) = fam.ln_pdf_sum(xs, theta);
    if outside > 0 {
        f64::NEG_INFINITY
    } else {
        s
    }
}

/// Parameters that are estimated (integer parameters such as `trials` are held fixed).
fn free(fam: &dyn Family) -> Vec<usize> {
    (0..fam.params().len())
        .filter(|&j| fam.params()[j].domain != Domain::PositiveInteger)
        .collect()
}

/// Inverse of a small symmetric positive-definite matrix by Gauss–Jordan elimination.
fn invert(mut a: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let m = a.len();
    let mut inv: Vec<Vec<f64>> = (0..m)
        .map(|i| (0..m).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    for c in 0..m {
        let p = (c..m)
            .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
            .unwrap();
        a.swap(c, p);
        inv.swap(c, p);
        let d = a[c][c];
        for j in 0..m {
            a[c][j] /= d;
            inv[c][j] /= d;
        }
        for r in 0..m {
            if r != c {
                let f = a[r][c];
                for j in 0..m {
                    a[r][j] -= f * a[c][j];
                    inv[r][j] -= f * inv[c][j];
                }
            }
        }
    }
    inv
}

/// Standard errors at θ from the observed information −∇²S(θ) (central differences in f64).
/// The uniform family's likelihood is not differentiable at its maximum (the MLE sits on the
/// sample extremes); its estimates err on the scale (high − low)/n instead.
fn standard_errors(fam: &dyn Family, xs: &[f64], theta: &[f64]) -> Vec<f64> {
    let fr = free(fam);
    if fam.name() == "uniform" {
        let w = theta[1] - theta[0];
        return vec![w / xs.len() as f64; 2];
    }
    let h: Vec<f64> = fr.iter().map(|&j| 1e-3 * theta[j].abs().max(0.1)).collect();
    let s = |d: &[(usize, f64)]| {
        let mut t = theta.to_vec();
        for &(j, v) in d {
            t[j] += v;
        }
        loglik(fam, xs, &t)
    };
    let m = fr.len();
    let mut info = vec![vec![0.0; m]; m];
    for a in 0..m {
        for b in 0..m {
            let (ja, jb, ha, hb) = (fr[a], fr[b], h[a], h[b]);
            let v = if a == b {
                (s(&[(ja, ha)]) - 2.0 * s(&[]) + s(&[(ja, -ha)])) / (ha * ha)
            } else {
                (s(&[(ja, ha), (jb, hb)]) - s(&[(ja, ha), (jb, -hb)]) - s(&[(ja, -ha), (jb, hb)])
                    + s(&[(ja, -ha), (jb, -hb)]))
                    / (4.0 * ha * hb)
            };
            info[a][b] = -v;
        }
    }
    let cov = invert(info);
    (0..m).map(|a| cov[a][a].sqrt()).collect()
}

#[test]
fn best_grid_point_is_within_three_standard_errors_of_the_truth_for_every_family() {
    for fam in REGISTRY {
        let truth = fam.example_theta();
        let xs = SampleSpec {
            family: *fam,
            theta: truth.clone(),
        }
        .draw(20_000, 5)
        .unwrap();
        let fr = free(*fam);
        let se = standard_errors(*fam, &xs, &truth);
        assert!(
            se.iter().all(|s| s.is_finite() && *s > 0.0),
            "{}: se {se:?}",
            fam.name()
        );
        // Axes truth ± 4 SE: 9 points one SE apart for up to two free parameters, 5 points two
        // SE apart beyond (keeping the grid small), clipped into the domain.
        let (k, step) = if fr.len() <= 2 { (9, 1.0) } else { (5, 2.0) };
        let specs = fam
            .params()
            .iter()
            .enumerate()
            .map(|(j, p)| {
                let values = match fr.iter().position(|&f| f == j) {
                    None => vec![truth[j]],
                    Some(a) => (0..k)
                        .map(|i| truth[j] + (i as f64 - (k / 2) as f64) * step * se[a])
                        .map(|v| match p.domain {
                            Domain::Positive => v.max(truth[j] * 0.5),
                            Domain::OpenUnit => v.clamp(0.01, 0.99),
                            _ => v,
                        })
                        .collect(),
                };
                AxisSpec {
                    name: p.name.to_string(),
                    values,
                    spacing: Spacing::List,
                }
            })
            .collect();
        let grid = Grid::new(*fam, specs).unwrap();
        let best = evaluate_cpu(*fam, &grid, &xs)
            .partials
            .argmax()
            .expect("a finite point");
        let theta = grid.theta(best);
        for (a, &j) in fr.iter().enumerate() {
            assert!(
                (theta[j] - truth[j]).abs() <= 3.0 * se[a] * (1.0 + 1e-9),
                "{}: {} best {} truth {} se {}",
                fam.name(),
                fam.params()[j].name,
                theta[j],
                truth[j],
                se[a]
            );
        }
    }
}

#[test]
fn closed_form_mle_is_a_maximum_of_the_likelihood() {
    let mut checked = 0;
    for fam in REGISTRY {
        let truth = fam.example_theta();
        let xs = SampleSpec {
            family: *fam,
            theta: truth.clone(),
        }
        .draw(20_000, 6)
        .unwrap();
        let fixed: Vec<Option<f64>> = fam
            .params()
            .iter()
            .zip(&truth)
            .map(|(p, &v)| (p.domain == Domain::PositiveInteger).then_some(v))
            .collect();
        let Some(mle) = fam.mle(&xs, &fixed) else {
            continue;
        };
        checked += 1;
        let best = loglik(*fam, &xs, &mle);
        assert!(best.is_finite(), "{}", fam.name());
        for j in free(*fam) {
            for sign in [-1.0, 1.0] {
                let mut t = mle.clone();
                t[j] += sign * 1e-4 * mle[j].abs().max(0.1);
                if fam.validate(&t).is_err() {
                    continue;
                }
                let other = loglik(*fam, &xs, &t);
                assert!(
                    other <= best,
                    "{}: moving {} by {} raises S from {best} to {other}",
                    fam.name(),
                    fam.params()[j].name,
                    t[j] - mle[j]
                );
            }
        }
    }
    assert!(checked >= 9, "closed forms checked: {checked}");
}
