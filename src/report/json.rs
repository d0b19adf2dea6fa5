//! The JSON report (schema documented in README.md). Points are streamed, so grids of millions of
//! points do not build a document tree in memory. Non-finite numbers are written as `null`.

use super::Report;
use crate::analysis::Analysis;
use crate::family::Family;
use crate::sweep::{Agreement, Evaluation};
use serde_json::{json, Map, Value};
use std::io::Write;

fn num(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

fn theta_obj(family: &dyn Family, theta: &[f64]) -> Value {
    let mut m = Map::new();
    for (p, v) in family.params().iter().zip(theta) {
        m.insert(p.name.to_string(), num(*v));
    }
    Value::Object(m)
}

fn agreement(a: &Agreement) -> Value {
    json!({
        "max_abs_diff": num(a.max_abs_diff),
        "max_rel_diff": num(a.max_rel_diff),
        "argmax_agrees": a.argmax_agrees,
        "support_mismatches": a.support_mismatches,
        "tolerance": a.tolerance,
        "within_tolerance": a.within_tolerance,
    })
}

fn kernel(e: &Evaluation) -> Value {
    match e.shape {
        Some(s) => json!({
            "points_per_invocation": s.points_per_invocation(),
            "workgroup_size": s.workgroup_size,
            "chunk_len": s.chunk_len,
        }),
        None => Value::Null,
    }
}

/// `entropy`, `entropy_source`, `entropy_method`, `entropy_error` and `entropy_note`.
fn entropy(a: &Analysis, head: &mut Map<String, Value>) {
    let u = a.units;
    let h = a.entropy.as_ref();
    head.insert(
        "entropy".into(),
        h.map_or(Value::Null, |h| num(u.of(h.value))),
    );
    head.insert(
        "entropy_source".into(),
        h.map_or(Value::Null, |h| json!(h.source.name())),
    );
    head.insert(
        "entropy_method".into(),
        h.map_or(Value::Null, |h| json!(h.method.name())),
    );
    head.insert(
        "entropy_error".into(),
        h.and_then(|h| h.error)
            .map_or(Value::Null, |e| num(u.of(e))),
    );
    head.insert(
        "entropy_note".into(),
        a.entropy_note.as_ref().map_or(Value::Null, |n| json!(n)),
    );
}

fn index(i: Option<usize>) -> Value {
    i.map_or(Value::Null, |i| json!(i))
}

fn identity(a: &Analysis) -> Value {
    let id = &a.identity;
    json!({
        "argmax_loglik": index(id.argmax_loglik),
        "argmin_cross_entropy": index(id.argmin_cross_entropy),
        "argmin_kl": index(id.argmin_kl),
        "holds": id.holds,
    })
}

fn refined(fam: &dyn Family, a: &Analysis) -> Value {
    let Some(r) = &a.refined else {
        return Value::Null;
    };
    let mut step = Map::new();
    for (p, s) in fam.params().iter().zip(&r.step) {
        step.insert(p.name.to_string(), s.map_or(Value::Null, num));
    }
    let axes = r.rounds.last().map_or(Value::Null, |last| {
        json!(last
            .grid
            .axes()
            .iter()
            .map(|x| json!({
                "name": x.name,
                "spacing": x.spacing.name(),
                "count": x.values.len(),
                "min": x.min,
                "max": x.max,
            }))
            .collect::<Vec<_>>())
    });
    json!({
        "theta": theta_obj(fam, &r.theta),
        "mean_loglik": num(r.mean_loglik),
        "rounds": r.rounds.len(),
        "step": Value::Object(step),
        "on_edge": r.on_edge,
        "axes": axes,
        "eval_s": r.eval_seconds,
    })
}

fn opt(v: Option<f64>) -> Value {
    v.map_or(Value::Null, num)
}

fn intervals(a: &Analysis) -> Value {
    let u = &a.uncertainty;
    let mut m = Map::new();
    for iv in &a.intervals {
        let levels: Vec<Value> = u
            .intervals
            .iter()
            .filter(|x| x.param == iv.param)
            .map(|x| {
                json!({
                    "level": x.level,
                    "low": opt(x.span.low),
                    "high": opt(x.span.high),
                    "open_low": x.span.open_low,
                    "open_high": x.span.open_high,
                    "threshold": x.threshold,
                })
            })
            .collect();
        m.insert(
            iv.name.clone(),
            json!({
                "low": opt(iv.span.low),
                "high": opt(iv.span.high),
                "level": iv.level,
                "open_low": iv.span.open_low,
                "open_high": iv.span.open_high,
                "round": iv.round,
                "method": iv.method.name(),
                "threshold": iv.threshold,
                "s_error_bound": opt(u.s_error_bound.filter(|_| iv.method.name() == "grid")),
                "levels": levels,
            }),
        );
    }
    Value::Object(m)
}

/// `errors`, `covariance`, `correlation` and `hessian` (errors at the MLE, like HESSE).
fn errors(a: &Analysis, head: &mut Map<String, Value>) {
    let e = a.uncertainty.errors.as_ref();
    let matrix = |m: Option<&Vec<f64>>| {
        e.zip(m).map_or(Value::Null, |(e, m)| {
            let k = e.params.len();
            json!({
                "params": e.names,
                "matrix": (0..k)
                    .map(|r| (0..k).map(|c| num(m[r * k + c])).collect::<Vec<_>>())
                    .collect::<Vec<_>>(),
            })
        })
    };
    head.insert(
        "errors".into(),
        e.and_then(|e| e.errors.as_ref().map(|se| (e, se)))
            .map_or(Value::Null, |(e, se)| {
                let mut m = Map::new();
                for (n, v) in e.names.iter().zip(se) {
                    m.insert(n.clone(), num(*v));
                }
                Value::Object(m)
            }),
    );
    head.insert(
        "covariance".into(),
        matrix(e.and_then(|e| e.covariance.as_ref())),
    );
    head.insert(
        "correlation".into(),
        matrix(e.and_then(|e| e.correlation.as_ref())),
    );
    head.insert(
        "hessian".into(),
        e.map_or(Value::Null, |e| {
            json!({
                "method": e.method.name(),
                "positive_definite": e.positive_definite,
                "note": e.note,
            })
        }),
    );
}

/// `profile`: how the exact likelihood behind the intervals was evaluated, how often, how long.
fn profile(a: &Analysis) -> Value {
    let u = &a.uncertainty;
    u.likelihood.map_or(Value::Null, |l| {
        json!({
            "likelihood": l,
            "evaluations": u.evaluations,
            "seconds": u.seconds,
        })
    })
}

fn regions(a: &Analysis) -> Value {
    json!(a
        .regions
        .iter()
        .map(|r| json!({
            "level": r.level,
            "threshold": r.threshold,
            "x": r.x,
            "y": r.y,
            "round": r.round,
            "method": a.uncertainty.method.map_or("grid", |m| m.name()),
            "open": r.open,
            "rows": r.rows.iter().map(|row| json!([
                num(row.x), opt(row.span.low), opt(row.span.high)
            ])).collect::<Vec<_>>(),
            "polygon": r.polygon.iter().map(|q| json!([num(q[0]), num(q[1])])).collect::<Vec<_>>(),
        }))
        .collect::<Vec<_>>())
}

/// Writes the JSON document.
pub fn write(r: &Report<'_>, w: &mut dyn Write) -> std::io::Result<()> {
    let fam = r.family;
    let out = r.outcome;
    let p = &out.primary.partials;
    let mut head = Map::new();
    head.insert("family".into(), json!(fam.name()));
    head.insert(
        "params".into(),
        json!(fam.params().iter().map(|p| p.name).collect::<Vec<_>>()),
    );
    head.insert("n".into(), json!(p.n));
    head.insert("data".into(), json!(r.data_source));
    let info = out.input.as_ref().map(|(i, _)| i);
    head.insert(
        "data_format".into(),
        json!(info.map_or("sample", |i| i.format.name())),
    );
    head.insert(
        "data_compression".into(),
        json!(info.and_then(|i| i.compression.name())),
    );
    head.insert("skipped_nonfinite".into(), json!(out.skipped_nonfinite));
    head.insert("backend".into(), json!(out.primary.backend));
    head.insert("strategy".into(), json!(out.primary.strategy));
    head.insert(
        "adapter".into(),
        out.primary
            .adapter
            .as_ref()
            .map_or(Value::Null, |a| json!(a.label())),
    );
    head.insert("kernel".into(), kernel(&out.primary));
    head.insert(
        "grid".into(),
        json!({
            "points": r.grid.len(),
            "axes": r.grid.axes().iter().map(|a| json!({
                "name": a.name,
                "spacing": a.spacing.name(),
                "count": a.values.len(),
                "min": a.min,
                "max": a.max,
            })).collect::<Vec<_>>(),
        }),
    );
    head.insert("tolerance".into(), json!(fam.kernel_class().tolerance()));
    let units = r.units();
    let an = r.analysis;
    let kl = an.and_then(|a| a.kl.as_deref());
    let kl_exact = an.and_then(|a| a.kl_exact.as_deref());
    if let Some(a) = an {
        head.insert("units".into(), json!(units.name()));
        head.insert(
            "truth".into(),
            a.truth
                .as_ref()
                .map_or(Value::Null, |t| json!(t.to_string())),
        );
        entropy(a, &mut head);
    }
    let best = out.best.map_or(Value::Null, |i| {
        let mut b = json!({
            "index": i,
            "theta": theta_obj(fam, &r.grid.theta(i)),
            "mean_loglik": num(p.mean_loglik(i)),
            "cross_entropy": num(units.of(-p.mean_loglik(i))),
        });
        if let Some(k) = kl {
            b["kl"] = num(units.of(k[i]));
        }
        if let Some(k) = kl_exact {
            b["kl_exact"] = num(units.of(k[i]));
        }
        b
    });
    head.insert("best".into(), best);
    match an {
        Some(a) => {
            head.insert("identity".into(), identity(a));
            head.insert(
                "mle".into(),
                a.mle.as_ref().map_or(Value::Null, |m| {
                    json!({
                        "theta": theta_obj(fam, &m.theta),
                        "method": m.method.name(),
                        "mean_loglik": num(m.mean_loglik),
                        "on_boundary": m.on_boundary,
                    })
                }),
            );
            if let Some(note) = &a.mle_note {
                head.insert("mle_note".into(), json!(note));
            }
            head.insert("refined".into(), refined(fam, a));
            head.insert("intervals".into(), intervals(a));
            head.insert("regions".into(), regions(a));
            errors(a, &mut head);
            head.insert("profile".into(), profile(a));
            head.insert("warnings".into(), json!(a.uncertainty.warnings));
        }
        None => {
            head.insert(
                "mle".into(),
                out.mle.as_ref().map_or(Value::Null, |m| {
                    json!({
                        "theta": theta_obj(fam, m),
                        "mean_loglik": r.mle_mean_loglik.map_or(Value::Null, num),
                    })
                }),
            );
        }
    }
    if let Some(note) = &out.mle_note {
        if head.get("mle").is_none_or(Value::is_null) && !head.contains_key("mle_note") {
            head.insert("mle_note".into(), json!(note));
        }
    }
    if let (Some(a), Some(re)) = (&out.agreement, &out.reference) {
        let mut v = agreement(a);
        v["reference"] = json!(re.backend);
        head.insert("agreement".into(), v);
    }
    let mut timings = json!({
        "data_s": r.data_seconds,
        "compile_s": out.primary.compile_seconds,
        "eval_s": out.primary.eval_seconds,
    });
    if let Some(d) = out.primary.device_seconds {
        timings["device_s"] = json!(d);
    }
    if let Some(re) = &out.reference {
        timings["reference_eval_s"] = json!(re.eval_seconds);
    }
    head.insert("timings".into(), timings);

    // The head fields, then the streamed points array.
    let head = serde_json::to_string_pretty(&Value::Object(head)).map_err(std::io::Error::other)?;
    let head = head
        .trim_end()
        .strip_suffix('}')
        .unwrap_or(&head)
        .trim_end();
    w.write_all(head.as_bytes())?;
    w.write_all(b",\n  \"points\": [")?;
    let mut theta = vec![0.0; r.grid.n_params()];
    for i in 0..p.len() {
        r.grid.theta_into(i, &mut theta);
        let m = p.mean_loglik(i);
        let mut point = json!({
            "theta": theta_obj(fam, &theta),
            "loglik": num(p.loglik(i)),
            "mean_loglik": num(m),
            "cross_entropy": num(units.of(-m)),
            "outside_support": p.outside[i],
        });
        if let Some(k) = kl {
            point["kl"] = num(units.of(k[i]));
        }
        if let Some(k) = kl_exact {
            point["kl_exact"] = num(units.of(k[i]));
        }
        w.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
        serde_json::to_writer(&mut *w, &point).map_err(std::io::Error::other)?;
    }
    w.write_all(b"\n  ]\n}\n")?;
    Ok(())
}
