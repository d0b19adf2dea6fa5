//! Partial files (`--partials-out FILE`): the exact partials of one shard of a sweep, with a
//! header that says which sweep and which part of it they are, so that `klgrid merge` can check
//! that a set of files is one whole sweep and merge them into its exact result.
//!
//! Layout (all integers little-endian):
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `KLGRIDP\0` |
//! | 4 | format version (u32), [`FORMAT_VERSION`] |
//! | 8 | header length H in bytes (u64) |
//! | 4 | CRC-32 of the header bytes (u32) |
//! | H | header: UTF-8 JSON ([`PartialHeader`]; every f64 as its IEEE-754 bits, a u64) |
//! | … | body: per grid point of the shard's range, in grid order, a tag byte — 0: the sum is a compact fixed-point i128 (16 bytes follow: Σ round(vⱼ·2⁶⁴)); 1: the general form (u32 limb count L = 2 or 18, L u64 limbs of the 2⁶⁴-scaled two's-complement integer, then three u64 counts of +∞, −∞ and NaN partials) — then the count of samples outside the support (u64) |
//! | 4 | CRC-32 (IEEE, as zlib's `crc32`) of every byte before it |
//!
//! A reader refuses a file whose version is newer than its own before reading anything else,
//! and a file whose header or body checksum does not match.

use crate::engine::config::{EvalPath, Strategy};
use crate::engine::partials::PartialSums;
use crate::engine::prepare::Centre;
use crate::error::{Error, Result};
use crate::model::grid::Grid;
use crate::model::moments::Moments;
use crate::model::Family;
use crate::numeric::exact::ExactSum;
use serde::{Deserialize, Serialize};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

/// The magic bytes a partial file starts with.
pub const MAGIC: [u8; 8] = *b"KLGRIDP\0";

/// The version of the layout this klgrid writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// Bytes before the header: magic, version, header length, header CRC.
const PREAMBLE: usize = 8 + 4 + 8 + 4;

/// Largest header accepted (a grid of millions of axis values stays far below).
const MAX_HEADER: u64 = 1 << 32;

/// One axis of the grid, its values exact (f64 bits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AxisRecord {
    pub name: String,
    pub spacing: String,
    pub values: Vec<u64>,
}

/// The whole grid of the sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridRecord {
    pub points: u64,
    pub axes: Vec<AxisRecord>,
}

impl GridRecord {
    /// The record of a (whole) grid.
    pub fn of(grid: &Grid) -> GridRecord {
        GridRecord {
            points: grid.whole_len() as u64,
            axes: grid
                .axes()
                .iter()
                .map(|a| AxisRecord {
                    name: a.name.clone(),
                    spacing: a.spacing.name().to_string(),
                    values: a.values.iter().map(|v| v.to_bits()).collect(),
                })
                .collect(),
        }
    }

    /// The grid again, bound to `family`.
    pub fn grid(&self, family: &dyn Family) -> Result<Grid> {
        use crate::model::grid::{AxisSpec, Spacing};
        let specs = self
            .axes
            .iter()
            .map(|a| {
                let spacing = match a.spacing.as_str() {
                    "linear" => Spacing::Linear,
                    "log" => Spacing::Log,
                    "list" => Spacing::List,
                    _ => Spacing::Fixed,
                };
                AxisSpec {
                    name: a.name.clone(),
                    values: a.values.iter().map(|&b| f64::from_bits(b)).collect(),
                    spacing,
                }
            })
            .collect();
        Grid::new(family, specs)
    }

    /// `mu: 64 linear values in [0, 3], sigma: ...`, for messages.
    pub fn describe(&self) -> String {
        self.axes
            .iter()
            .map(|a| {
                let v: Vec<f64> = a.values.iter().map(|&b| f64::from_bits(b)).collect();
                let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                format!(
                    "{} = {} {} value(s) in [{lo}, {hi}]",
                    a.name,
                    v.len(),
                    a.spacing
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The data set a sweep ran over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DataRecord {
    /// A data file.
    File {
        /// The path as given to `--data`.
        name: String,
        format: String,
        compression: Option<String>,
        column: Option<String>,
        /// The reader's description of the layout (`<f4 (1000000,)`, `column 'x'`).
        detail: Option<String>,
        skip_nonfinite: bool,
        /// Size of the file in bytes.
        file_bytes: u64,
        /// Number of samples in the whole file.
        samples: u64,
        /// CRC-32 of the first chunk's samples (f64 little-endian): every shard reads that chunk
        /// for the centring, so shards of different files are told apart.
        first_chunk_crc: u32,
    },
    /// `--sample SPEC -n N --seed S`.
    Sample {
        spec: String,
        seed: u64,
        samples: u64,
    },
}

impl DataRecord {
    /// Number of samples of the whole data set.
    pub fn samples(&self) -> u64 {
        match self {
            DataRecord::File { samples, .. } | DataRecord::Sample { samples, .. } => *samples,
        }
    }

    /// How `sweep` names the data (`data` in the JSON report).
    pub fn source(&self) -> String {
        match self {
            DataRecord::File { name, .. } => name.clone(),
            DataRecord::Sample { spec, seed, .. } => format!("{spec}, seed {seed}"),
        }
    }

    /// `data.f64: f64, 10000000 samples, 80000000 bytes, first chunk CRC 1a2b3c4d`, for messages.
    pub fn describe(&self) -> String {
        match self {
            DataRecord::File {
                name,
                format,
                compression,
                column,
                skip_nonfinite,
                file_bytes,
                samples,
                first_chunk_crc,
                ..
            } => format!(
                "{name}: {format}{}{}{}, {samples} samples, {file_bytes} bytes, first chunk CRC {first_chunk_crc:08x}",
                compression.as_deref().map(|c| format!(" {c}")).unwrap_or_default(),
                column.as_deref().map(|c| format!(" column {c}")).unwrap_or_default(),
                if *skip_nonfinite { " --skip-nonfinite" } else { "" },
            ),
            DataRecord::Sample { spec, seed, samples } => {
                format!("{spec}, seed {seed}, {samples} samples")
            }
        }
    }

    /// The data without the path (shards of one file may name it differently).
    fn identity(&self) -> DataRecord {
        match self {
            DataRecord::File { .. } => {
                let mut d = self.clone();
                if let DataRecord::File { name, .. } = &mut d {
                    name.clear();
                }
                d
            }
            s => s.clone(),
        }
    }
}

/// Which part of a split a file holds: part `index` of `count` (1-based), covering `range`
/// (chunks of the data, or points of the grid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRecord {
    pub index: u32,
    pub count: u32,
    /// [start, end) of the chunks (data shard) or grid points (grid shard).
    pub range: [u64; 2],
}

/// A data shard: its part, and the samples (and, where known, the bytes of the file) it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataShardRecord {
    pub part: PartRecord,
    /// [start, end) of the samples.
    pub samples: [u64; 2],
    /// [start, end) of the bytes of the file read for them (raw, NPY, text, CSV), if known.
    pub bytes: Option<[u64; 2]>,
    /// How the shard reached them: `seek`, `scan`, `sequential` (files) or `draw` (`--sample`).
    pub method: String,
}

/// A data summary ([`Moments`]) with every f64 as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MomentsRecord {
    pub n: u64,
    pub mean: u64,
    pub m2: u64,
    pub min: u64,
    pub max: u64,
    pub log: Option<[u64; 2]>,
}

impl From<&Moments> for MomentsRecord {
    fn from(m: &Moments) -> MomentsRecord {
        MomentsRecord {
            n: m.n,
            mean: m.mean.to_bits(),
            m2: m.m2.to_bits(),
            min: m.min.to_bits(),
            max: m.max.to_bits(),
            log: m.log.map(|(a, b)| [a.to_bits(), b.to_bits()]),
        }
    }
}

impl From<&MomentsRecord> for Moments {
    fn from(m: &MomentsRecord) -> Moments {
        Moments {
            n: m.n,
            mean: f64::from_bits(m.mean),
            m2: f64::from_bits(m.m2),
            min: f64::from_bits(m.min),
            max: f64::from_bits(m.max),
            log: m.log.map(|[a, b]| (f64::from_bits(a), f64::from_bits(b))),
        }
    }
}

/// The centring of the whole data set ([`Centre`]), as bits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CentreRecord {
    pub location: u64,
    pub linear_shift: Vec<u64>,
}

impl From<&Centre> for CentreRecord {
    fn from(c: &Centre) -> CentreRecord {
        CentreRecord {
            location: c.location.to_bits(),
            linear_shift: c.linear_shift.iter().map(|v| v.to_bits()).collect(),
        }
    }
}

impl CentreRecord {
    /// `location 1.5, shift [0]`, for messages.
    fn describe(&self) -> String {
        let shift: Vec<f64> = self
            .linear_shift
            .iter()
            .map(|&b| f64::from_bits(b))
            .collect();
        format!(
            "location {}, shifts {:?}",
            f64::from_bits(self.location),
            shift
        )
    }
}

/// The device of the gpu path (as `klgrid adapters` names it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdapterRecord {
    pub name: String,
    pub backend: String,
    pub device_type: String,
}

impl AdapterRecord {
    /// `name (backend, device type)`, as in the report.
    pub fn label(&self) -> String {
        format!("{} ({}, {})", self.name, self.backend, self.device_type)
    }
}

/// Seconds a shard spent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TimingsRecord {
    pub data_s: f64,
    pub compile_s: f64,
    pub eval_s: f64,
    pub device_s: Option<f64>,
}

/// Most distinct values a partial file counts (discrete data, for H(P̂)); beyond, the counts are
/// left out and the merged report has no empirical entropy.
pub const MAX_VALUE_COUNTS: usize = 1 << 20;

/// The header of a partial file (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialHeader {
    pub format_version: u32,
    pub klgrid_version: String,
    pub family: String,
    pub params: Vec<String>,
    /// The whole grid of the sweep.
    pub grid: GridRecord,
    pub data: DataRecord,
    /// The chunks of the data this file holds.
    pub data_shard: DataShardRecord,
    /// The grid points this file holds (its body has one entry per point of this range).
    pub grid_shard: PartRecord,
    /// Samples per chunk (2²²).
    pub chunk: u64,
    /// The evaluation path (`gpu`, `cpu`, `cpu-ref`) and the strategy (`direct`, `suffstats`).
    pub path: String,
    pub strategy: String,
    /// The devices (adapter labels) and kernel shape (points per invocation, workgroup size,
    /// chunk length) of the gpu path.
    pub adapter: Option<AdapterRecord>,
    pub kernel: Option<[u32; 3]>,
    /// The centring of the whole data set.
    pub centre: CentreRecord,
    /// Samples in this shard, and non-finite values it dropped.
    pub n: u64,
    pub skipped_nonfinite: u64,
    /// The summary of every chunk of the shard, in chunk order (the merged report's closed-form
    /// MLE merges them in the order of the whole data set).
    pub chunk_moments: Vec<MomentsRecord>,
    /// Discrete data: (value as f64 bits, count) of every distinct value of the shard, by value
    /// bits; `None` for continuous data or more than [`MAX_VALUE_COUNTS`] distinct values.
    pub value_counts: Option<Vec<[u64; 2]>>,
    /// The distribution P declared by `--true` or `--sample`.
    pub truth: Option<String>,
    pub timings: TimingsRecord,
    /// One-line notes of the run (the backend `auto` chose, how the data were reached).
    pub notes: Vec<String>,
}

impl PartialHeader {
    /// The evaluation path.
    pub fn eval_path(&self) -> Result<EvalPath> {
        self.path.parse()
    }

    /// The strategy.
    pub fn eval_strategy(&self) -> Result<Strategy> {
        match self.strategy.as_str() {
            "direct" => Ok(Strategy::Direct),
            "suffstats" => Ok(Strategy::SuffStats),
            s => Err(Error::input(format!(
                "unknown strategy '{s}' in a partial file"
            ))),
        }
    }

    /// `data shard 2/3 (chunks 2..4), grid shard 1/1`, for messages.
    pub fn describe(&self) -> String {
        let d = &self.data_shard.part;
        let g = &self.grid_shard;
        format!(
            "data shard {}/{} (chunks {}..{}), grid shard {}/{} (points {}..{})",
            d.index, d.count, d.range[0], d.range[1], g.index, g.count, g.range[0], g.range[1]
        )
    }

    /// Number of grid points in the body.
    pub fn body_points(&self) -> u64 {
        self.grid_shard.range[1] - self.grid_shard.range[0]
    }
}

/// A writer that keeps the CRC-32 of what went through it.
struct Crc<W> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Write for Crc<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a partial file's bytes: the header, then the body of `sums` (one entry per point of
/// the shard's grid range).
pub fn encode(
    header: &PartialHeader,
    sums: &PartialSums,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    assert_eq!(
        sums.len() as u64,
        header.body_points(),
        "a body entry per point of the grid range"
    );
    let json = serde_json::to_vec(header).map_err(std::io::Error::other)?;
    let mut w = Crc {
        inner: BufWriter::with_capacity(1 << 20, w),
        crc: crc32fast::Hasher::new(),
    };
    w.write_all(&MAGIC)?;
    w.write_all(&FORMAT_VERSION.to_le_bytes())?;
    w.write_all(&(json.len() as u64).to_le_bytes())?;
    w.write_all(&crc32fast::hash(&json).to_le_bytes())?;
    w.write_all(&json)?;
    for (i, outside) in sums.outside().iter().enumerate() {
        match sums.fixed(i) {
            Some(f) => {
                w.write_all(&[0])?;
                w.write_all(&f.to_le_bytes())?;
            }
            None => {
                let (limbs, counts) = sums.exact(i).to_words();
                w.write_all(&[1])?;
                w.write_all(&(limbs.len() as u32).to_le_bytes())?;
                for l in limbs.iter().chain(&counts) {
                    w.write_all(&l.to_le_bytes())?;
                }
            }
        }
        w.write_all(&outside.to_le_bytes())?;
    }
    let crc = w.crc.clone().finalize();
    w.write_all(&crc.to_le_bytes())?;
    w.flush()
}

/// Writes a partial file to `path` atomically (a temporary file beside it, renamed when
/// complete), so that a failed or interrupted shard leaves no file `merge` could take for whole.
pub fn write(path: &Path, header: &PartialHeader, sums: &PartialSums) -> Result<()> {
    let out = |e: std::io::Error| Error::Output(format!("{}: {e}", path.display()));
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let file_name = path.file_name().ok_or_else(|| {
        Error::input(format!(
            "--partials-out '{}': not a file name",
            path.display()
        ))
    })?;
    let tmp = dir.unwrap_or_else(|| Path::new(".")).join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        encode(header, sums, &mut f)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.map_err(out)
}

/// A reader that keeps the CRC-32 of what came through it.
struct CrcRead<R> {
    inner: R,
    crc: crc32fast::Hasher,
}

impl<R: Read> Read for CrcRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}

/// An open partial file (or message), its header read and checked.
pub struct PartialReader<R: Read> {
    pub header: PartialHeader,
    name: String,
    r: CrcRead<R>,
}

fn corrupt(name: &str, what: &str) -> Error {
    Error::input(format!(
        "{name}: corrupted partial file ({what}); write it again with --partials-out"
    ))
}

fn read_exact_or(r: &mut impl Read, buf: &mut [u8], name: &str, what: &str) -> Result<()> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            corrupt(name, &format!("truncated in the {what}"))
        } else {
            Error::Io {
                path: name.to_string(),
                source: e,
            }
        }
    })
}

impl PartialReader<BufReader<std::fs::File>> {
    /// Opens a partial file and reads its header.
    pub fn open(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        let f = std::fs::File::open(path).map_err(|source| Error::Io {
            path: name.clone(),
            source,
        })?;
        PartialReader::new(BufReader::with_capacity(1 << 20, f), name)
    }
}

impl<R: Read> PartialReader<R> {
    /// Reads the preamble and header from `r`, named `name` in messages: the magic, the version
    /// (newer than [`FORMAT_VERSION`]: refused), the header checksum.
    pub fn new(r: R, name: String) -> Result<Self> {
        let mut r = CrcRead {
            inner: r,
            crc: crc32fast::Hasher::new(),
        };
        let mut pre = [0u8; PREAMBLE];
        let mut got = 0;
        while got < PREAMBLE {
            match r.read(&mut pre[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(Error::Io {
                        path: name,
                        source: e,
                    })
                }
            }
        }
        if got < 8 || pre[..8] != MAGIC {
            return Err(Error::input(format!(
                "{name}: not a klgrid partial file (no KLGRIDP magic; write one with sweep --partials-out)"
            )));
        }
        if got < PREAMBLE {
            return Err(corrupt(&name, "truncated in the preamble"));
        }
        let version = u32::from_le_bytes(pre[8..12].try_into().expect("4 bytes"));
        if version > FORMAT_VERSION {
            return Err(Error::input(format!(
                "{name}: partial-file format version {version} is newer than this klgrid {} reads (up to {FORMAT_VERSION}); merge with a newer klgrid",
                env!("CARGO_PKG_VERSION")
            )));
        }
        if version == 0 {
            return Err(corrupt(&name, "format version 0"));
        }
        let len = u64::from_le_bytes(pre[12..20].try_into().expect("8 bytes"));
        let crc = u32::from_le_bytes(pre[20..24].try_into().expect("4 bytes"));
        if len > MAX_HEADER {
            return Err(corrupt(&name, "implausible header length"));
        }
        let mut json = vec![0u8; len as usize];
        read_exact_or(&mut r, &mut json, &name, "header")?;
        if crc32fast::hash(&json) != crc {
            return Err(corrupt(&name, "header checksum mismatch"));
        }
        let header: PartialHeader = serde_json::from_slice(&json)
            .map_err(|e| corrupt(&name, &format!("unreadable header: {e}")))?;
        if header.grid_shard.range[0] > header.grid_shard.range[1]
            || header.grid_shard.range[1] > header.grid.points
        {
            return Err(corrupt(&name, "grid range outside the grid"));
        }
        Ok(PartialReader { header, name, r })
    }

    /// Reads the body into `acc` (the accumulation of the points of the whole grid; this file's
    /// points start at its grid range's start) and checks the file's checksum. The sample count
    /// of `acc` is not changed.
    pub fn merge_into(mut self, acc: &mut PartialSums, acc_offset: u64) -> Result<()> {
        let name = self.name.clone();
        let start = self.header.grid_shard.range[0] - acc_offset;
        let points = self.header.body_points();
        if start + points > acc.len() as u64 {
            return Err(corrupt(&name, "grid range beyond the grid"));
        }
        let mut b16 = [0u8; 16];
        let mut b8 = [0u8; 8];
        let mut b4 = [0u8; 4];
        let mut tag = [0u8; 1];
        for p in 0..points {
            let i = (start + p) as usize;
            read_exact_or(&mut self.r, &mut tag, &name, "body")?;
            match tag[0] {
                0 => {
                    read_exact_or(&mut self.r, &mut b16, &name, "body")?;
                    read_exact_or(&mut self.r, &mut b8, &name, "body")?;
                    acc.merge_fixed_point(i, i128::from_le_bytes(b16), u64::from_le_bytes(b8));
                }
                1 => {
                    read_exact_or(&mut self.r, &mut b4, &name, "body")?;
                    let l = u32::from_le_bytes(b4) as usize;
                    if l != 2 && l != 18 {
                        return Err(corrupt(&name, "bad limb count"));
                    }
                    let mut words = vec![0u64; l + 3];
                    for w in words.iter_mut() {
                        read_exact_or(&mut self.r, &mut b8, &name, "body")?;
                        *w = u64::from_le_bytes(b8);
                    }
                    let s =
                        ExactSum::from_words(&words[..l], [words[l], words[l + 1], words[l + 2]])
                            .ok_or_else(|| corrupt(&name, "bad exact sum"))?;
                    read_exact_or(&mut self.r, &mut b8, &name, "body")?;
                    acc.merge_point(i, &s, u64::from_le_bytes(b8));
                }
                _ => return Err(corrupt(&name, "bad point tag")),
            }
        }
        let expected = self.r.crc.clone().finalize();
        read_exact_or(&mut self.r.inner, &mut b4, &name, "checksum")?;
        if u32::from_le_bytes(b4) != expected {
            return Err(corrupt(&name, "checksum mismatch"));
        }
        let mut extra = [0u8; 1];
        if self.r.inner.read(&mut extra).map_err(|e| Error::Io {
            path: name.clone(),
            source: e,
        })? > 0
        {
            return Err(corrupt(&name, "bytes after the checksum"));
        }
        Ok(())
    }
}

/// The accumulation of a file (its own grid range) read on its own.
pub fn read_sums<R: Read>(r: PartialReader<R>) -> Result<(PartialHeader, PartialSums)> {
    let header = r.header.clone();
    let mut acc = PartialSums::zeros(header.body_points() as usize);
    acc.add_samples(header.n);
    let offset = header.grid_shard.range[0];
    r.merge_into(&mut acc, offset)?;
    Ok((header, acc))
}

/// Checks that `b` (named `nb`) belongs to the same sweep as `a` (named `na`): family, grid,
/// data, path, strategy, centring, declared truth and chunk size. Returns notes on harmless
/// differences (adapters, kernel shapes, the data path as written).
pub fn same_sweep(na: &str, a: &PartialHeader, nb: &str, b: &PartialHeader) -> Result<Vec<String>> {
    let differ = |what: &str, x: String, y: String| {
        Err(Error::input(format!(
            "{nb} is not part of the same sweep as {na}: other {what} ({y} vs {x})"
        )))
    };
    if a.family != b.family {
        return differ("family", a.family.clone(), b.family.clone());
    }
    if a.grid != b.grid {
        return differ("grid", a.grid.describe(), b.grid.describe());
    }
    if a.data.identity() != b.data.identity() {
        return differ("data", a.data.describe(), b.data.describe());
    }
    if a.chunk != b.chunk {
        return differ("chunk size", a.chunk.to_string(), b.chunk.to_string());
    }
    if a.path != b.path || a.strategy != b.strategy {
        return differ(
            "evaluation path",
            format!("{} {}", a.path, a.strategy),
            format!("{} {}", b.path, b.strategy),
        );
    }
    if a.centre != b.centre {
        return differ("centring", a.centre.describe(), b.centre.describe());
    }
    if a.truth != b.truth {
        return differ(
            "declared P (--true/--sample)",
            format!("{:?}", a.truth),
            format!("{:?}", b.truth),
        );
    }
    let mut notes = Vec::new();
    if a.data.source() != b.data.source() {
        notes.push(format!(
            "{nb} names the data '{}', {na} '{}' (same contents)",
            b.data.source(),
            a.data.source()
        ));
    }
    if a.adapter != b.adapter || a.kernel != b.kernel {
        notes.push(format!(
            "{nb} ran on {} (kernel {:?}), {na} on {} (kernel {:?}): each grid point is exact for its device, but the result is one process's only on one kind of device",
            b.adapter.as_ref().map_or("no device".into(), |a| a.label()),
            b.kernel,
            a.adapter.as_ref().map_or("no device".into(), |a| a.label()),
            a.kernel
        ));
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::partials::Partials;

    fn header(points: u64) -> PartialHeader {
        PartialHeader {
            format_version: FORMAT_VERSION,
            klgrid_version: "test".into(),
            family: "normal".into(),
            params: vec!["mu".into(), "sigma".into()],
            grid: GridRecord {
                points,
                axes: vec![],
            },
            data: DataRecord::Sample {
                spec: "normal(mu=0, sigma=1)".into(),
                seed: 1,
                samples: 10,
            },
            data_shard: DataShardRecord {
                part: PartRecord {
                    index: 1,
                    count: 1,
                    range: [0, 1],
                },
                samples: [0, 10],
                bytes: None,
                method: "draw".into(),
            },
            grid_shard: PartRecord {
                index: 1,
                count: 1,
                range: [0, points],
            },
            chunk: 1 << 22,
            path: "cpu".into(),
            strategy: "direct".into(),
            adapter: None,
            kernel: None,
            centre: CentreRecord {
                location: 0,
                linear_shift: vec![0],
            },
            n: 10,
            skipped_nonfinite: 0,
            chunk_moments: vec![],
            value_counts: None,
            truth: None,
            timings: TimingsRecord::default(),
            notes: vec![],
        }
    }

    #[test]
    fn encoded_partials_read_back_to_the_same_exact_state() {
        let mut acc = PartialSums::zeros(4);
        acc.add(&Partials {
            sum: vec![-1.25e6, 3.0e-30, f64::NEG_INFINITY, -1e300],
            outside: vec![0, 2, 0, 1],
            n: 10,
        });
        acc.add(&Partials {
            sum: vec![-7.5, 1.0, 2.0, -1e300],
            outside: vec![0, 0, 0, 0],
            n: 0,
        });
        let h = header(4);
        let mut bytes = Vec::new();
        encode(&h, &acc, &mut bytes).unwrap();
        let r = PartialReader::new(&bytes[..], "t".into()).unwrap();
        assert_eq!(r.header, h);
        let (_, back) = read_sums(r).unwrap();
        assert_eq!(back.value().sum.len(), 4);
        for i in 0..4 {
            assert_eq!(back.exact(i), acc.exact(i));
        }
        assert_eq!(back.value(), acc.value());
    }

    #[test]
    fn corrupted_truncated_and_newer_files_are_refused_with_one_line() {
        let mut acc = PartialSums::zeros(2);
        acc.add(&Partials {
            sum: vec![1.0, 2.0],
            outside: vec![0, 0],
            n: 3,
        });
        let mut bytes = Vec::new();
        encode(&header(2), &acc, &mut bytes).unwrap();
        let read = |b: &[u8]| {
            PartialReader::new(b, "t.klp".to_string()).and_then(|r| read_sums(r).map(|_| ()))
        };
        assert!(read(&bytes).is_ok());
        // A flipped bit in the body, in the header, a truncated file, a newer version.
        let mut body = bytes.clone();
        let k = body.len() - 10;
        body[k] ^= 1;
        let e = read(&body).unwrap_err().to_string();
        assert!(e.contains("checksum mismatch"), "{e}");
        let mut head = bytes.clone();
        head[PREAMBLE + 3] ^= 4;
        let e = read(&head).unwrap_err().to_string();
        assert!(e.contains("header checksum"), "{e}");
        let e = read(&bytes[..bytes.len() - 7]).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        let mut newer = bytes.clone();
        newer[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        let e = read(&newer).unwrap_err().to_string();
        assert!(e.contains("newer") && !e.contains('\n'), "{e}");
        let e = read(b"PK\x03\x04 not ours").unwrap_err().to_string();
        assert!(e.contains("not a klgrid partial file"), "{e}");
    }
}
