//! A model's definition: name, parameters with domains, support, log-density, normalisation —
//! from a TOML file (`--model FILE`) or the inline options (`--logpdf`, `--params`,
//! `--support`, `--discrete`).

use super::interval::Range;
use crate::error::{Error, Result};
use crate::model::Domain;
use serde::Deserialize;

/// A parameter's domain as written in a model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamDomain {
    /// `real`: any finite number.
    Real,
    /// `positive`: > 0.
    Positive,
    /// `unit`: in (0, 1).
    Unit,
    /// `integer>=1`.
    PositiveInteger,
    /// `[a,b]`, `(a,b)`, `[a,b)`, `(a,b]` (ends may be ±inf).
    Interval(Range),
}

impl ParamDomain {
    /// Parses `real`, `positive`, `unit`, `integer>=1` or an interval.
    pub fn parse(s: &str) -> Result<ParamDomain> {
        let t = s.trim();
        match t {
            "real" => return Ok(ParamDomain::Real),
            "positive" => return Ok(ParamDomain::Positive),
            "unit" => return Ok(ParamDomain::Unit),
            "integer>=1" | "integer >= 1" => return Ok(ParamDomain::PositiveInteger),
            _ => {}
        }
        let r = parse_interval(t).ok_or_else(|| {
            Error::input(format!(
                "unknown domain '{t}' (expected real, positive, unit, integer>=1, or an interval such as [0,1] or (0,inf))"
            ))
        })?;
        if r.is_empty() {
            return Err(Error::input(format!("the domain '{t}' is empty")));
        }
        Ok(ParamDomain::Interval(r))
    }

    /// The engine's nearest domain (intervals are checked by the model's `validate`).
    pub fn domain(self) -> Domain {
        match self {
            ParamDomain::Real => Domain::Real,
            ParamDomain::Positive => Domain::Positive,
            ParamDomain::Unit => Domain::OpenUnit,
            ParamDomain::PositiveInteger => Domain::PositiveInteger,
            ParamDomain::Interval(r) if r.lo == 0.0 && r.lo_open && r.hi == f64::INFINITY => {
                Domain::Positive
            }
            ParamDomain::Interval(r) if r.lo == 0.0 && r.lo_open && r.hi == 1.0 && r.hi_open => {
                Domain::OpenUnit
            }
            ParamDomain::Interval(_) => Domain::Real,
        }
    }

    /// The interval of values.
    pub fn range(self) -> Range {
        match self {
            ParamDomain::Real => Range::ALL,
            ParamDomain::Positive => Range::new(0.0, f64::INFINITY, true, true),
            ParamDomain::Unit => Range::new(0.0, 1.0, true, true),
            ParamDomain::PositiveInteger => Range::new(1.0, f64::INFINITY, false, true),
            ParamDomain::Interval(r) => r,
        }
    }

    /// Whether `v` lies in the domain.
    pub fn contains(self, v: f64) -> bool {
        let r = self.range();
        self.domain().contains(v)
            && (v > r.lo || (v == r.lo && !r.lo_open))
            && (v < r.hi || (v == r.hi && !r.hi_open))
    }

    /// As written back (`models check`, JSON).
    pub fn describe(self) -> String {
        match self {
            ParamDomain::Real => "real".into(),
            ParamDomain::Positive => "positive".into(),
            ParamDomain::Unit => "unit".into(),
            ParamDomain::PositiveInteger => "integer>=1".into(),
            ParamDomain::Interval(r) => interval_text(r),
        }
    }
}

/// `[a, b)` etc.
pub fn interval_text(r: Range) -> String {
    let num = |v: f64| {
        if v == f64::INFINITY {
            "inf".to_string()
        } else if v == f64::NEG_INFINITY {
            "-inf".to_string()
        } else {
            format!("{v}")
        }
    };
    format!(
        "{}{}, {}{}",
        if r.lo_open { '(' } else { '[' },
        num(r.lo),
        num(r.hi),
        if r.hi_open { ')' } else { ']' }
    )
}

fn parse_num(s: &str) -> Option<f64> {
    match s.trim() {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        t => t.parse::<f64>().ok().filter(|v| v.is_finite()),
    }
}

/// `[a,b]`, `(a,b)`, `[a,b)`, `(a,b]`.
fn parse_interval(t: &str) -> Option<Range> {
    let lo_open = match t.chars().next()? {
        '(' => true,
        '[' => false,
        _ => return None,
    };
    let hi_open = match t.chars().last()? {
        ')' => true,
        ']' => false,
        _ => return None,
    };
    let inner = &t[1..t.len() - 1];
    let (a, b) = inner.split_once(',')?;
    Some(Range::new(parse_num(a)?, parse_num(b)?, lo_open, hi_open))
}

/// One parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDef {
    pub name: String,
    pub domain: ParamDomain,
}

/// Parses `NAME:DOMAIN,...` (commas inside intervals belong to the interval).
pub fn parse_params(s: &str) -> Result<Vec<ParamDef>> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&s[start..]);
    items
        .into_iter()
        .filter(|i| !i.trim().is_empty())
        .map(parse_param)
        .collect()
}

/// Parses `NAME:DOMAIN`.
pub fn parse_param(s: &str) -> Result<ParamDef> {
    let (n, d) = s.split_once(':').ok_or_else(|| {
        Error::input(format!(
            "parameter '{}': expected NAME:DOMAIN, e.g. sigma:positive",
            s.trim()
        ))
    })?;
    let name = n.trim().to_string();
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(Error::input(format!(
            "parameter name '{name}' is not a name"
        )));
    }
    if super::resolve::is_reserved(&name) {
        return Err(Error::input(format!(
            "parameter name '{name}' is reserved (x, a constant or a function of the language)"
        )));
    }
    let domain =
        ParamDomain::parse(d).map_err(|e| Error::input(format!("parameter '{name}': {e}")))?;
    Ok(ParamDef { name, domain })
}

/// The support of x.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Support {
    pub range: Range,
    /// Integers only (discrete models).
    pub integer: bool,
}

impl Support {
    /// Parses `LOW:HIGH` (both ends included; ±inf allowed) or an interval `(a, b]`; the
    /// default is all reals, or the integers ≥ 0 for a discrete model.
    pub fn parse(s: Option<&str>, discrete: bool) -> Result<Support> {
        let range = match s.map(str::trim) {
            None if discrete => Range::new(0.0, f64::INFINITY, false, true),
            None => Range::ALL,
            Some(t) => {
                let r = if let Some(r) = parse_interval(t) {
                    r
                } else {
                    let (a, b) = t.split_once(':').ok_or_else(|| {
                        Error::input(format!("support '{t}': expected LOW:HIGH, e.g. 0:inf"))
                    })?;
                    let (a, b) = (parse_num(a), parse_num(b));
                    let (Some(a), Some(b)) = (a, b) else {
                        return Err(Error::input(format!(
                            "support '{t}': LOW and HIGH must be numbers or ±inf"
                        )));
                    };
                    Range::new(a, b, false, false)
                };
                if r.is_empty() {
                    return Err(Error::input(format!("support '{t}' is empty")));
                }
                r
            }
        };
        if discrete && !range.lo.is_finite() {
            return Err(Error::input(
                "a discrete model's support needs a finite lower end, e.g. 0:inf",
            ));
        }
        Ok(Support {
            range,
            integer: discrete,
        })
    }

    /// Whether x lies in the support.
    pub fn contains(&self, x: f64) -> bool {
        let r = self.range;
        x.is_finite()
            && (x > r.lo || (x == r.lo && !r.lo_open))
            && (x < r.hi || (x == r.hi && !r.hi_open))
            && (!self.integer || x.fract() == 0.0)
    }

    /// In words.
    pub fn describe(&self) -> String {
        let r = self.range;
        if self.integer {
            let lo = if r.lo_open {
                r.lo.floor() + 1.0
            } else {
                r.lo.ceil()
            };
            if r.hi.is_finite() {
                let hi = if r.hi_open {
                    r.hi.ceil() - 1.0
                } else {
                    r.hi.floor()
                };
                format!("integers {lo}, ..., {hi}")
            } else {
                format!("integers {lo}, {}, ...", lo + 1.0)
            }
        } else if r == Range::ALL {
            "all reals".into()
        } else {
            format!("x in {}", interval_text(r))
        }
    }

    /// The integer range [lo, hi] of a discrete support.
    pub fn integer_bounds(&self) -> (f64, f64) {
        let r = self.range;
        let lo = if r.lo_open {
            r.lo.floor() + 1.0
        } else {
            r.lo.ceil()
        };
        let hi = if r.hi_open {
            r.hi.ceil() - 1.0
        } else {
            r.hi.floor()
        };
        (lo, hi)
    }
}

/// A model definition.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub name: String,
    pub logpdf: String,
    pub params: Vec<ParamDef>,
    pub support: Support,
    /// The support as written (`None`: the default).
    pub support_text: Option<String>,
    pub normalise: bool,
}

/// The TOML layout of a model file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    name: String,
    logpdf: String,
    params: ParamsField,
    support: Option<String>,
    #[serde(default)]
    discrete: bool,
    #[serde(default)]
    normalise: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ParamsField {
    One(String),
    List(Vec<String>),
}

impl ModelSpec {
    /// A model from the inline options.
    pub fn inline(
        logpdf: &str,
        params: &str,
        support: Option<&str>,
        discrete: bool,
        normalise: bool,
    ) -> Result<ModelSpec> {
        let spec = ModelSpec {
            name: "logpdf".into(),
            logpdf: logpdf.to_string(),
            params: parse_params(params)?,
            support: Support::parse(support, discrete)?,
            support_text: support.map(str::to_string),
            normalise,
        };
        spec.check_names()?;
        Ok(spec)
    }

    /// A model from the text of a TOML file (`origin` names it in errors).
    pub fn from_toml(text: &str, origin: &str) -> Result<ModelSpec> {
        let f: ModelFile = toml::from_str(text)
            .map_err(|e| Error::input(format!("{origin}: {}", e.message().trim())))?;
        let params = match f.params {
            ParamsField::One(s) => parse_params(&s),
            ParamsField::List(v) => v.iter().map(|s| parse_param(s)).collect(),
        }
        .map_err(|e| Error::input(format!("{origin}: {e}")))?;
        let ok = !f.name.is_empty()
            && f.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return Err(Error::input(format!(
                "{origin}: name '{}' must be letters, digits, '_' or '-'",
                f.name
            )));
        }
        let spec = ModelSpec {
            name: f.name,
            logpdf: f.logpdf,
            params,
            support: Support::parse(f.support.as_deref(), f.discrete)
                .map_err(|e| Error::input(format!("{origin}: {e}")))?,
            support_text: f.support,
            normalise: f.normalise,
        };
        spec.check_names()
            .map_err(|e| Error::input(format!("{origin}: {e}")))?;
        Ok(spec)
    }

    /// Reads a model file.
    pub fn read(path: &std::path::Path) -> Result<ModelSpec> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        ModelSpec::from_toml(&text, &path.display().to_string())
    }

    fn check_names(&self) -> Result<()> {
        if self.params.is_empty() {
            return Err(Error::input("a model needs at least one parameter"));
        }
        for (i, p) in self.params.iter().enumerate() {
            if self.params[..i].iter().any(|q| q.name == p.name) {
                return Err(Error::input(format!(
                    "parameter '{}' is declared twice",
                    p.name
                )));
            }
        }
        Ok(())
    }

    /// The canonical text identifying the model (interning key).
    pub fn key(&self) -> String {
        format!("{self:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_domains_and_supports_parse() {
        let p = parse_params("mu:real, sigma:positive, w:(0,1), k:[1, 5], n:integer>=1").unwrap();
        assert_eq!(p.len(), 5);
        assert_eq!(p[2].domain.domain(), Domain::OpenUnit);
        assert!(p[3].domain.contains(5.0) && !p[3].domain.contains(5.5));
        assert!(ParamDomain::parse("[3, 1]")
            .unwrap_err()
            .to_string()
            .contains("empty"));
        assert!(ParamDomain::parse("(1, 1]").is_err());
        assert!(parse_param("x:real")
            .unwrap_err()
            .to_string()
            .contains("reserved"));
        let s = Support::parse(Some("0:inf"), false).unwrap();
        assert!(s.contains(0.0) && !s.contains(-1.0));
        let d = Support::parse(None, true).unwrap();
        assert!(d.contains(3.0) && !d.contains(2.5) && !d.contains(-1.0));
        assert!(Support::parse(Some("2:1"), false).is_err());
    }

    #[test]
    fn model_files_parse_and_reject_unknown_keys() {
        let m = ModelSpec::from_toml(
            "name = \"n\"\nlogpdf = \"-x^2\"\nparams = [\"mu:real\"]\nsupport = \"-inf:inf\"\n",
            "m.toml",
        )
        .unwrap();
        assert_eq!(m.params[0].name, "mu");
        let e = ModelSpec::from_toml(
            "name = \"n\"\nlogpdf = \"x\"\nparams = \"a:real\"\nsuport = \"0:1\"\n",
            "m.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("m.toml") && e.contains("suport"), "{e}");
    }
}
