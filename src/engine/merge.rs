//! Merging the partials of the shards of one sweep (`klgrid merge`, MPI rank 0) into the exact
//! result of one process.
//!
//! [`check`] takes the shards' headers and refuses, with one line naming the files: shards of
//! another sweep (family, grid, data, path or strategy, centring, declared P), shards of
//! different splits (overlapping), a shard given twice, and a missing shard. The bodies are then
//! added into one exact accumulation of the whole grid ([`PartialSums`]) in any order;
//! [`finish`] rounds it once and assembles what `sweep` would report: the [`SweepOutcome`], the
//! data summary merged in chunk order (so the closed-form MLE is the one a single streamed run
//! computes), the counts of the distinct values of discrete data (for H(P̂)).

use crate::engine::config::{EvalPath, Strategy};
use crate::engine::evaluation::Evaluation;
use crate::engine::gpu::{AdapterSummary, KernelShape};
use crate::engine::partial_file::{AdapterRecord, DataRecord, PartialHeader, PartialReader};
use crate::engine::partials::PartialSums;
use crate::engine::pipeline::SweepOutcome;
use crate::engine::shard::Split;
use crate::error::{Error, Result};
use crate::input::{Compression, Format, InputInfo};
use crate::model::grid::Grid;
use crate::model::moments::Moments;
use crate::model::{lookup, Family};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A merged sweep: everything a report needs.
pub struct Merged {
    pub family: &'static dyn Family,
    pub grid: Grid,
    pub data: DataRecord,
    pub outcome: SweepOutcome,
    /// Discrete data: the counts of the distinct values of all the samples (any order).
    pub value_counts: Option<Vec<u64>>,
    /// The distribution P declared by `--true` or `--sample`.
    pub truth: Option<String>,
    /// Seconds the shards spent reading data, in all.
    pub data_seconds: f64,
    /// Notes for stderr (harmless differences between the shards).
    pub notes: Vec<String>,
    /// Number of shards merged.
    pub shards: usize,
}

/// The shards that cover one range of grid points.
struct Group<'a> {
    part: Split,
    range: [u64; 2],
    /// By data shard index: (file name, header).
    data: BTreeMap<u32, (&'a str, &'a PartialHeader)>,
}

/// Checks that `pieces` (file name, header) are the shards of one sweep, each part once and none
/// missing; returns notes on harmless differences.
pub fn check(pieces: &[(String, PartialHeader)]) -> Result<Vec<String>> {
    let Some((n0, h0)) = pieces.first() else {
        return Err(Error::input("merge: no partial files given"));
    };
    let mut notes = Vec::new();
    for (n, h) in &pieces[1..] {
        for note in crate::engine::partial_file::same_sweep(n0, h0, n, h)? {
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
    }
    let points = h0.grid.points;
    let chunks = h0.data.samples().div_ceil(h0.chunk.max(1));
    // The grid split: one count, each index once (per data shard), nothing missing.
    let mut groups: BTreeMap<u32, Group<'_>> = BTreeMap::new();
    let mut grid_count: Option<(u32, &str)> = None;
    for (n, h) in pieces {
        let g = h.grid_shard;
        match grid_count {
            Some((k, first)) if k != g.count => {
                return Err(Error::input(format!(
                    "{n} is grid shard {}/{} and {first} is grid shard x/{k}: shards of different grid splits overlap; merge the shards of one split",
                    g.index, g.count
                )))
            }
            None => grid_count = Some((g.count, n)),
            _ => {}
        }
        let split = Split {
            index: g.index,
            count: g.count,
        };
        let (a, b) = split.part(points);
        if g.index == 0 || g.index > g.count || g.range != [a, b] {
            return Err(Error::input(format!(
                "{n}: grid shard {}/{} covers points {}..{}, not its part {a}..{b} of the {points}-point grid (inconsistent file)",
                g.index, g.count, g.range[0], g.range[1]
            )));
        }
        let group = groups.entry(g.index).or_insert_with(|| Group {
            part: split,
            range: g.range,
            data: BTreeMap::new(),
        });
        let d = h.data_shard.part;
        if let Some((other, oh)) = group.data.values().next() {
            if oh.data_shard.part.count != d.count {
                return Err(Error::input(format!(
                    "{n} is data shard {}/{} and {other} is data shard {}/{}: shards of different data splits overlap; merge the shards of one split",
                    d.index, d.count, oh.data_shard.part.index, oh.data_shard.part.count
                )));
            }
        }
        let dsplit = Split {
            index: d.index,
            count: d.count,
        };
        let (c0, c1) = dsplit.part(chunks);
        if d.index == 0 || d.index > d.count || d.range != [c0, c1] {
            return Err(Error::input(format!(
                "{n}: data shard {}/{} covers chunks {}..{}, not its part {c0}..{c1} of the {chunks} chunks (inconsistent file)",
                d.index, d.count, d.range[0], d.range[1]
            )));
        }
        if let Some((other, _)) = group.data.insert(d.index, (n, h)) {
            return Err(Error::input(format!(
                "{other} and {n} are both {} (a duplicate): give each shard once",
                h.describe()
            )));
        }
    }
    let (k, _) = grid_count.expect("at least one piece");
    for i in 1..=k {
        let Some(g) = groups.get(&i) else {
            let (a, b) = Split { index: i, count: k }.part(points);
            return Err(Error::input(format!(
                "grid shard {i}/{k} (points {a}..{b}) is missing: no file holds it"
            )));
        };
        let dk = g
            .data
            .values()
            .next()
            .map_or(1, |(_, h)| h.data_shard.part.count);
        for j in 1..=dk {
            if !g.data.contains_key(&j) {
                let (c0, c1) = Split {
                    index: j,
                    count: dk,
                }
                .part(chunks);
                let chunk = h0.chunk;
                let total = h0.data.samples();
                return Err(Error::input(format!(
                    "data shard {j}/{dk} (chunks {c0}..{c1}, samples {}..{}){} is missing: no file holds it",
                    (c0 * chunk).min(total),
                    (c1 * chunk).min(total),
                    if k > 1 {
                        format!(" of grid shard {}/{} (points {}..{})", g.part.index, k, g.range[0], g.range[1])
                    } else {
                        String::new()
                    }
                )));
            }
        }
        let n: u64 = g.data.values().map(|(_, h)| h.n).sum();
        if n != h0.data.samples() {
            return Err(Error::input(format!(
                "the data shards of grid shard {i}/{k} hold {n} samples, the data set {} (inconsistent files)",
                h0.data.samples()
            )));
        }
    }
    Ok(notes)
}

/// The empty accumulation of the whole grid of a sweep whose first shard's header is `h`.
pub fn accumulator(h: &PartialHeader) -> PartialSums {
    PartialSums::zeros(h.grid.points as usize)
}

/// Completes a merge: `acc` holds every shard's body; `pieces` are their headers (already
/// [`check`]ed).
pub fn finish(
    pieces: &[(String, PartialHeader)],
    mut acc: PartialSums,
    notes: Vec<String>,
) -> Result<Merged> {
    let (_, h0) = pieces
        .first()
        .ok_or_else(|| Error::input("merge: no partial files given"))?;
    let family = lookup(&h0.family)?;
    let grid = h0.grid.grid(family)?;
    acc.add_samples(h0.data.samples());
    // The data shards of the first grid range, in data order: the summary, counts and skips.
    let mut first: Vec<&PartialHeader> = pieces
        .iter()
        .map(|(_, h)| h)
        .filter(|h| h.grid_shard.index == 1)
        .collect();
    first.sort_by_key(|h| h.data_shard.part.index);
    let mut moments = Moments::default();
    for h in &first {
        for m in &h.chunk_moments {
            moments.merge(&Moments::from(m));
        }
    }
    let mut counts: Option<BTreeMap<u64, u64>> = Some(BTreeMap::new());
    for h in &first {
        match (&mut counts, &h.value_counts) {
            (Some(c), Some(v)) => {
                for [value, count] in v {
                    *c.entry(*value).or_default() += count;
                }
            }
            _ => counts = None,
        }
    }
    if !family.integer_data() {
        counts = None;
    }
    let skipped: u64 = first.iter().map(|h| h.skipped_nonfinite).sum();
    let all = || pieces.iter().map(|(_, h)| h);
    let sum = |f: &dyn Fn(&PartialHeader) -> f64| all().map(f).sum::<f64>();
    let device: Option<f64> = all()
        .filter_map(|h| h.timings.device_s)
        .reduce(|a, b| a + b);
    let partials = acc.value();
    let best = partials.argmax();
    let adapters: Vec<&AdapterRecord> = {
        let mut v: Vec<&AdapterRecord> = Vec::new();
        for a in all().filter_map(|h| h.adapter.as_ref()) {
            if !v.contains(&a) {
                v.push(a);
            }
        }
        v
    };
    let adapter = (!adapters.is_empty()).then(|| AdapterSummary {
        name: join(adapters.iter().map(|a| a.name.as_str())),
        backend: join(adapters.iter().map(|a| a.backend.as_str())),
        device_type: join(adapters.iter().map(|a| a.device_type.as_str())),
        driver: String::new(),
        is_software: false,
        max_storage_buffer_binding_size: 0,
        max_buffer_size: 0,
        max_compute_workgroups_per_dimension: 0,
        max_compute_invocations_per_workgroup: 0,
        shader_f64: false,
        timestamp_query: false,
    });
    let shape = all().find_map(|h| h.kernel).map(|[p, w, c]| KernelShape {
        accumulators: p / 4,
        workgroup_size: w,
        chunk_len: c,
    });
    let primary = Evaluation {
        conditioning: Default::default(),
        backend: h0.eval_path()?,
        strategy: h0.eval_strategy()?,
        adapter,
        shape,
        partials,
        exact: acc,
        compile_seconds: sum(&|h| h.timings.compile_s),
        device_seconds: device,
        eval_seconds: sum(&|h| h.timings.eval_s),
    };
    let input = match &h0.data {
        DataRecord::File {
            name,
            format,
            compression,
            detail,
            ..
        } => Some((
            InputInfo {
                name: name.clone(),
                format: format.parse::<Format>()?,
                compression: match compression.as_deref() {
                    Some("gzip") => Compression::Gzip,
                    Some("zstd") => Compression::Zstd,
                    _ => Compression::None,
                },
                detail: detail.clone(),
            },
            sum(&|h| h.timings.data_s),
        )),
        DataRecord::Sample { .. } => None,
    };
    let outcome = SweepOutcome {
        primary,
        reference: None,
        agreement: None,
        best,
        skipped_nonfinite: skipped,
        input,
        kept: None,
        moments: Some(moments),
    };
    Ok(Merged {
        family,
        grid,
        data: h0.data.clone(),
        outcome,
        value_counts: counts.map(|c| c.into_values().collect()),
        truth: h0.truth.clone(),
        data_seconds: sum(&|h| h.timings.data_s),
        notes,
        shards: pieces.len(),
    })
}

fn join<'a>(v: impl Iterator<Item = &'a str>) -> String {
    v.collect::<Vec<_>>().join(" + ")
}

/// Merges partial files: reads every header, [`check`]s them, then adds the bodies one file at
/// a time (each file's checksum verified) and [`finish`]es.
pub fn merge_files(paths: &[PathBuf]) -> Result<Merged> {
    let mut pieces = Vec::with_capacity(paths.len());
    for p in paths {
        let r = PartialReader::open(p)?;
        pieces.push((p.display().to_string(), r.header));
    }
    let notes = check(&pieces)?;
    let mut acc = accumulator(&pieces[0].1);
    for p in paths {
        PartialReader::open(Path::new(p))?.merge_into(&mut acc, 0)?;
    }
    // The strategy and path, parsed once more, so that a damaged name is an error here.
    let _: (EvalPath, Strategy) = (pieces[0].1.eval_path()?, pieces[0].1.eval_strategy()?);
    finish(&pieces, acc, notes)
}
