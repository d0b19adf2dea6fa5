//! The JSON report (schema documented in README.md). The head (everything but `points`) is a
//! small serde_json document; the points are streamed straight into bytes — keys in the order
//! serde_json's map gives them, numbers formatted by the same crates serde_json uses — so grids
//! of millions of points build no document tree and the output is byte for byte what
//! serde_json would write. Non-finite numbers are written as `null`.

use super::num::{push_int, push_json};
use super::{DataOrigin, Points, Report};
use crate::analysis::Analysis;
use crate::engine::{Agreement, Evaluation};
use crate::model::Family;
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

/// What the f32 path did to stay exact: `rescaled_by` (per feature, or null), `f64_points`,
/// `f64_samples`.
fn conditioning(e: &Evaluation) -> Value {
    let c = &e.conditioning;
    json!({
        "rescaled_by": c.rescaled_by,
        "f64_points": c.f64_points,
        "f64_samples": c.f64_samples,
    })
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
    let per_param = |v: &[Option<f64>]| {
        let mut m = Map::new();
        for (p, s) in fam.params().iter().zip(v) {
            m.insert(p.name.to_string(), s.map_or(Value::Null, num));
        }
        Value::Object(m)
    };
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
        "step": per_param(&r.step),
        "resolution": per_param(&r.resolution),
        "uncertainty": per_param(&r.uncertainty),
        "stopped": r.stopped.name(),
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

/// The head of the document: every field but `points`.
fn head(r: &Report<'_>) -> Map<String, Value> {
    let fam = r.family;
    let out = r.outcome;
    let p = &out.primary.partials;
    let mut head = Map::new();
    head.insert("family".into(), json!(fam.name()));
    head.insert(
        "params".into(),
        json!(fam.params().iter().map(|p| p.name).collect::<Vec<_>>()),
    );
    if let Some(m) = crate::model::expr::model_of(fam) {
        head.insert("model".into(), m.json(r.grid));
    }
    head.insert("n".into(), json!(p.n));
    head.insert("data".into(), json!(r.data_source));
    let info = r.origin.info();
    head.insert(
        "data_format".into(),
        json!(match r.origin {
            DataOrigin::Drawn => "sample",
            DataOrigin::Read(i) => i.format.name(),
        }),
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
    head.insert("conditioning".into(), conditioning(&out.primary));
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
    let a = r.analysis;
    let kl = a.kl.as_deref();
    let kl_exact = a.kl_exact.as_deref();
    head.insert("units".into(), json!(units.name()));
    head.insert(
        "truth".into(),
        a.truth
            .as_ref()
            .map_or(Value::Null, |t| json!(t.to_string())),
    );
    entropy(a, &mut head);
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
    // Why there is no MLE, or that it lies on the boundary (then next to it).
    if let Some(note) = &a.mle_note {
        head.insert("mle_note".into(), json!(note));
    }
    head.insert("refined".into(), refined(fam, a));
    head.insert("intervals".into(), intervals(a));
    head.insert("regions".into(), regions(a));
    errors(a, &mut head);
    head.insert("profile".into(), profile(a));
    head.insert("warnings".into(), json!(a.uncertainty.warnings));
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
    head
}

/// The JSON document without `points` (what `--points none` writes), as one string: the
/// summary stored in NPZ and Parquet outputs.
pub fn summary(r: &Report<'_>) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write(r, Points::None, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes the JSON document, with the grid points `points` selects in `points` (left out with
/// [`Points::None`]).
pub fn write(r: &Report<'_>, points: Points, w: &mut dyn Write) -> std::io::Result<()> {
    let head =
        serde_json::to_string_pretty(&Value::Object(head(r))).map_err(std::io::Error::other)?;
    if points == Points::None {
        w.write_all(head.as_bytes())?;
        return w.write_all(b"\n");
    }
    // The head fields, then the streamed points array.
    let head = head
        .trim_end()
        .strip_suffix('}')
        .unwrap_or(&head)
        .trim_end();
    w.write_all(head.as_bytes())?;
    w.write_all(b",\n  \"points\": [")?;
    let pw = PointWriter::new(r);
    let p = &r.outcome.primary.partials;
    let mut buf = Vec::with_capacity(FLUSH_AT + 4096);
    let mut first = true;
    for i in points.indices(p.len(), r.outcome.best) {
        buf.extend_from_slice(if first { b"\n    " } else { b",\n    " });
        first = false;
        pw.point(i, &mut buf);
        if buf.len() >= FLUSH_AT {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)?;
    w.write_all(if first { b"]\n}\n" } else { b"\n  ]\n}\n" })?;
    Ok(())
}

/// Bytes gathered before each write to the output.
const FLUSH_AT: usize = 1 << 16;

/// A field of a point object.
#[derive(Clone, Copy)]
enum Field {
    Theta,
    Loglik,
    MeanLoglik,
    CrossEntropy,
    OutsideSupport,
    Kl,
    KlExact,
}

/// Writes point objects `{"cross_entropy":…,…,"theta":{…}}` as serde_json's compact writer
/// would: fields in the order of serde_json's `Map` (sorted, unless serde_json is built with
/// `preserve_order`; then the order below), θ values formatted once per axis value.
struct PointWriter<'a> {
    /// Fields in output order, each with its `"name":` prefix (`,` before all but the first).
    fields: Vec<(Field, Vec<u8>)>,
    /// θ's fields in output order: (`"name":` prefix, parameter index).
    theta: Vec<(Vec<u8>, usize)>,
    /// Per parameter, its axis values as JSON numbers.
    axis_text: Vec<Vec<Vec<u8>>>,
    partials: &'a crate::engine::partials::Partials,
    units: crate::analysis::identity::Units,
    kl: Option<&'a [f64]>,
    kl_exact: Option<&'a [f64]>,
    /// Per parameter: (stride, count) of its axis in grid order.
    axes: Vec<(usize, usize)>,
}

impl<'a> PointWriter<'a> {
    fn new(r: &'a Report<'a>) -> PointWriter<'a> {
        let an = r.analysis;
        let kl = an.kl.as_deref();
        let kl_exact = an.kl_exact.as_deref();
        // The order serde_json's map puts the keys in, read off a template object.
        let mut template = Map::new();
        let mut by_name = vec![
            ("theta", Field::Theta),
            ("loglik", Field::Loglik),
            ("mean_loglik", Field::MeanLoglik),
            ("cross_entropy", Field::CrossEntropy),
            ("outside_support", Field::OutsideSupport),
        ];
        if kl.is_some() {
            by_name.push(("kl", Field::Kl));
        }
        if kl_exact.is_some() {
            by_name.push(("kl_exact", Field::KlExact));
        }
        for (name, _) in &by_name {
            template.insert((*name).to_string(), Value::Null);
        }
        let key = |name: &str, comma: bool| {
            let mut k = Vec::new();
            if comma {
                k.push(b',');
            }
            // serde_json's escaping of the name.
            k.extend_from_slice(json!(name).to_string().as_bytes());
            k.push(b':');
            k
        };
        let fields = template
            .keys()
            .enumerate()
            .filter_map(|(n, name)| {
                by_name
                    .iter()
                    .find(|(b, _)| b == name)
                    .map(|&(_, f)| (f, key(name, n > 0)))
            })
            .collect();
        let params = r.family.params();
        let mut theta_template = Map::new();
        for p in params {
            theta_template.insert(p.name.to_string(), Value::Null);
        }
        let theta = theta_template
            .keys()
            .enumerate()
            .filter_map(|(n, name)| {
                params
                    .iter()
                    .position(|p| p.name == name)
                    .map(|j| (key(name, n > 0), j))
            })
            .collect();
        let mut axes = vec![(1usize, 1usize); r.grid.n_params()];
        let mut axis_text = vec![Vec::new(); r.grid.n_params()];
        let mut stride = 1;
        for a in r.grid.axes().iter().rev() {
            axes[a.param] = (stride, a.values.len());
            stride *= a.values.len();
            axis_text[a.param] = a
                .values
                .iter()
                .map(|&v| {
                    let mut t = Vec::new();
                    push_json(&mut t, v);
                    t
                })
                .collect();
        }
        PointWriter {
            fields,
            theta,
            axis_text,
            partials: &r.outcome.primary.partials,
            units: r.units(),
            kl,
            kl_exact,
            axes,
        }
    }

    /// Appends point `i`'s object.
    fn point(&self, i: usize, out: &mut Vec<u8>) {
        let p = self.partials;
        let m = p.mean_loglik(i);
        out.push(b'{');
        for (field, key) in &self.fields {
            out.extend_from_slice(key);
            match field {
                Field::Theta => {
                    out.push(b'{');
                    for (key, j) in &self.theta {
                        out.extend_from_slice(key);
                        let (stride, count) = self.axes[*j];
                        out.extend_from_slice(&self.axis_text[*j][(i / stride) % count]);
                    }
                    out.push(b'}');
                }
                Field::Loglik => push_json(out, p.loglik(i)),
                Field::MeanLoglik => push_json(out, m),
                Field::CrossEntropy => push_json(out, self.units.of(-m)),
                Field::OutsideSupport => push_int(out, p.outside[i]),
                Field::Kl => push_json(out, self.kl.map_or(f64::NAN, |k| self.units.of(k[i]))),
                Field::KlExact => {
                    push_json(out, self.kl_exact.map_or(f64::NAN, |k| self.units.of(k[i])))
                }
            }
        }
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    /// The point objects as serde_json wrote them before the points were streamed by hand.
    fn reference_points(r: &Report<'_>) -> Vec<u8> {
        let fam = r.family;
        let p = &r.outcome.primary.partials;
        let units = r.units();
        let kl = r.analysis.kl.as_deref();
        let kl_exact = r.analysis.kl_exact.as_deref();
        let mut out = Vec::new();
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
            out.extend_from_slice(if i == 0 { b"\n    " } else { b",\n    " });
            serde_json::to_writer(&mut out, &point).unwrap();
        }
        out
    }

    #[test]
    fn streamed_points_are_byte_identical_to_serde_json_objects() {
        for case in fixture::cases() {
            let r = case.report();
            let mut doc = Vec::new();
            write(&r, Points::All, &mut doc).unwrap();
            let text = String::from_utf8(doc).unwrap();
            let start = text.find("\"points\": [").unwrap() + "\"points\": [".len();
            let end = text.rfind("\n  ]\n}\n").unwrap();
            assert_eq!(
                &text[start..end],
                String::from_utf8(reference_points(&r)).unwrap(),
                "{}",
                r.family.name()
            );
            // And the document is the one serde_json parses, with every point.
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["points"].as_array().unwrap().len(), r.grid.len());
        }
    }

    #[test]
    fn points_best_lists_the_best_point_and_none_leaves_the_list_out() {
        let case = &fixture::cases()[0];
        let r = case.report();
        let mut all = Vec::new();
        write(&r, Points::All, &mut all).unwrap();
        let all: Value = serde_json::from_slice(&all).unwrap();
        let mut best = Vec::new();
        write(&r, Points::Best, &mut best).unwrap();
        let best: Value = serde_json::from_slice(&best).unwrap();
        let i = r.outcome.best.unwrap();
        assert_eq!(best["points"], json!([all["points"][i].clone()]));
        let none: Value = serde_json::from_str(&summary(&r)).unwrap();
        assert!(none.get("points").is_none());
        // Everything but the points is the same document.
        let mut head = all.as_object().unwrap().clone();
        head.remove("points");
        assert_eq!(Value::Object(head), none);
    }

    #[test]
    fn data_format_is_the_origin_the_caller_states_for_data_swept_in_memory() {
        use crate::input::{Compression, Format, InputInfo};
        let case = &fixture::cases()[0];
        let mut r = case.report();
        let head = |r: &Report<'_>| -> Value { serde_json::from_str(&summary(r)).unwrap() };
        assert_eq!(head(&r)["data_format"], "sample");
        assert!(head(&r)["data_compression"].is_null());
        // Data read from a file into memory and swept with sweep::run (no streamed input info
        // in the outcome): the report says what was read, not "sample".
        let info = InputInfo {
            name: "x.csv.gz".into(),
            format: Format::Csv,
            compression: Compression::Gzip,
            detail: None,
        };
        r.origin = DataOrigin::Read(&info);
        assert!(r.outcome.input.is_none());
        assert_eq!(head(&r)["data_format"], "csv");
        assert_eq!(head(&r)["data_compression"], "gzip");
    }
}
