//! `--sample 'FAMILY(p=v, ...)'`: a distribution to draw synthetic data from.

use crate::error::{Error, Result};
use crate::model::{lookup, Family};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rayon::prelude::*;

/// Default seed of `--sample` when `--seed` is not given.
pub const DEFAULT_SEED: u64 = 42;

/// Samples drawn per independently seeded block (the draw does not depend on the thread count).
const BLOCK: usize = 1 << 16;

/// A parsed distribution specification.
#[derive(Clone)]
pub struct SampleSpec {
    pub family: &'static dyn Family,
    /// Parameters in the family's canonical order.
    pub theta: Vec<f64>,
}

impl std::fmt::Debug for SampleSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self)
    }
}

impl std::fmt::Display for SampleSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .family
            .params()
            .iter()
            .zip(&self.theta)
            .map(|(p, v)| format!("{}={v}", p.name))
            .collect();
        write!(f, "{}({})", self.family.name(), parts.join(", "))
    }
}

impl SampleSpec {
    /// Parses `name(p1=v1, p2=v2)` (named, any order) or `name(v1, v2)` (positional, in the
    /// family's parameter order).
    pub fn parse(spec: &str) -> Result<SampleSpec> {
        let bad = |why: &str| {
            Error::input(format!(
                "--sample '{spec}': {why} (expected e.g. 'normal(mu=1.5, sigma=2)')"
            ))
        };
        let s = spec.trim();
        let open = s.find('(').ok_or_else(|| bad("missing '('"))?;
        if !s.ends_with(')') {
            return Err(bad("missing closing ')'"));
        }
        let family = lookup(s[..open].trim())?;
        let inner = &s[open + 1..s.len() - 1];
        let params = family.params();
        let mut theta: Vec<Option<f64>> = vec![None; params.len()];
        let items: Vec<&str> = if inner.trim().is_empty() {
            vec![]
        } else {
            inner.split(',').collect()
        };
        for (pos, item) in items.iter().enumerate() {
            let (name, value) = match item.split_once('=') {
                Some((n, v)) => (Some(n.trim()), v.trim()),
                None => (None, item.trim()),
            };
            let j = match name {
                Some(n) => params.iter().position(|p| p.name == n).ok_or_else(|| {
                    let names: Vec<&str> = params.iter().map(|p| p.name).collect();
                    bad(&format!(
                        "unknown parameter '{n}' of {} (parameters: {})",
                        family.name(),
                        names.join(", ")
                    ))
                })?,
                None if pos < params.len() => pos,
                None => return Err(bad("too many values")),
            };
            let v: f64 = value
                .parse()
                .map_err(|_| bad(&format!("'{value}' is not a number")))?;
            if theta[j].replace(v).is_some() {
                return Err(bad(&format!(
                    "parameter '{}' is given more than once",
                    params[j].name
                )));
            }
        }
        let missing: Vec<&str> = params
            .iter()
            .zip(&theta)
            .filter(|(_, v)| v.is_none())
            .map(|(p, _)| p.name)
            .collect();
        if !missing.is_empty() {
            return Err(bad(&format!("missing parameter(s) {}", missing.join(", "))));
        }
        let theta: Vec<f64> = theta.into_iter().map(|v| v.unwrap_or_default()).collect();
        family.validate(&theta).map_err(|e| bad(&e.to_string()))?;
        Ok(SampleSpec { family, theta })
    }

    /// Draws `n` samples, seeded: block k of 65,536 samples uses its own generator seeded from
    /// (seed, k), so the result is the same for any number of threads.
    pub fn draw(&self, n: usize, seed: u64) -> Result<Vec<f64>> {
        let mut out = vec![0.0; n];
        out.par_chunks_mut(BLOCK)
            .enumerate()
            .try_for_each(|(k, block)| {
                let mut rng = StdRng::seed_from_u64(mix(seed, k as u64));
                self.family.sample_into(&self.theta, &mut rng, block)
            })?;
        Ok(out)
    }
}

impl SampleSpec {
    /// Samples per independently seeded block of [`SampleSpec::draw`]: 65,536.
    pub const BLOCK: usize = BLOCK;

    /// Samples `start..end` of `draw(n, seed)`, drawn on their own (a data shard): block k is
    /// drawn from its own generator seeded from (seed, k), exactly as in the whole draw, so the
    /// union of the ranges of a split is the whole draw. `start` must be a multiple of
    /// [`SampleSpec::BLOCK`], and `end` one too or `n`.
    pub fn draw_range(&self, n: usize, seed: u64, start: usize, end: usize) -> Result<Vec<f64>> {
        let end = end.min(n);
        if !start.is_multiple_of(BLOCK) || (!end.is_multiple_of(BLOCK) && end != n) || start > end {
            return Err(Error::input(format!(
                "internal: samples {start}..{end} are not a range of whole {BLOCK}-sample blocks"
            )));
        }
        let mut out = vec![0.0; end - start];
        out.par_chunks_mut(BLOCK)
            .enumerate()
            .try_for_each(|(k, block)| {
                let k = start / BLOCK + k;
                let mut rng = StdRng::seed_from_u64(mix(seed, k as u64));
                self.family.sample_into(&self.theta, &mut rng, block)
            })?;
        Ok(out)
    }
}

/// SplitMix64 finaliser of (seed, block): well-separated seeds for neighbouring blocks.
fn mix(seed: u64, block: u64) -> u64 {
    let mut z = seed ^ block.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_of_whole_blocks_are_the_same_draws_as_the_whole() {
        let spec = SampleSpec::parse("gamma(shape=2, rate=3)").unwrap();
        let n = 3 * BLOCK + 1234;
        let all = spec.draw(n, 7).unwrap();
        let mut parts = spec.draw_range(n, 7, 2 * BLOCK, n).unwrap();
        let mut head = spec.draw_range(n, 7, 0, 2 * BLOCK).unwrap();
        head.append(&mut parts);
        assert_eq!(head, all);
        assert!(spec.draw_range(n, 7, 5, n).is_err());
    }

    #[test]
    fn named_and_positional_specs_agree() {
        let a = SampleSpec::parse("normal(mu=1.5, sigma=2)").unwrap();
        let b = SampleSpec::parse(" normal(1.5,2) ").unwrap();
        let c = SampleSpec::parse("normal(sigma=2,mu=1.5)").unwrap();
        assert_eq!(a.theta, vec![1.5, 2.0]);
        assert_eq!(b.theta, a.theta);
        assert_eq!(c.theta, a.theta);
    }

    #[test]
    fn malformed_specs_are_input_errors() {
        for bad in [
            "normal",
            "normal(mu=1",
            "normal(mu=1)",
            "normal(mu=1,sigma=0)",
            "normal(mu=x,sigma=1)",
            "normal(mu=1,mu=2,sigma=1)",
            "nosuch(a=1)",
            "normal(mu=1,sigma=1,nu=2)",
            "normal(1,2,3)",
        ] {
            assert!(SampleSpec::parse(bad).unwrap_err().is_input(), "{bad}");
        }
    }

    #[test]
    fn draw_is_deterministic_and_seed_dependent() {
        let s = SampleSpec::parse("normal(mu=0, sigma=1)").unwrap();
        let a = s.draw(200_000, 1).unwrap();
        assert_eq!(a, s.draw(200_000, 1).unwrap());
        assert_ne!(a, s.draw(200_000, 2).unwrap());
    }
}
