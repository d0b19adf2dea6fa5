//! Reading a chunk-aligned range of a data set on its own (data shards, `--shard I/K`).
//!
//! A data set of N samples is cut into chunks of `chunk` samples (chunk k holds samples
//! [k·chunk, (k+1)·chunk)), the same cut as a single process makes, so a shard that evaluates
//! chunks c₀..c₁ evaluates exactly the chunks the single process does. [`DataPlan::of`] finds N
//! and where the chunks start, and [`DataPlan::open_range`] opens a reader on samples
//! [start, end) that applies the same checks as the reader of the whole file, with errors naming
//! the file's own lines and elements:
//!
//! * **seek** — uncompressed `.f32`/`.f64` and `.npy` files without `--skip-nonfinite`: sample s
//!   lies at a byte offset computed from the header, so a range is one seek;
//! * **scan** — uncompressed text, CSV and TSV: one pass over the bytes finds the line (record)
//!   starts of the chunk boundaries with the readers' own rules (blank lines, `#` comments, the
//!   header row, CSV quoting through the `csv` crate, and with `--skip-nonfinite` the values that
//!   are dropped), without converting the other fields; a range is then a seek to its first line;
//! * **sequential** — everything else (compressed data, `--skip-nonfinite` on binary data): a
//!   counting pass with the reader finds N, and a range is read from the start of the data with
//!   the samples before it dropped.
//!
//! Non-finite values dropped by `--skip-nonfinite` are counted by the shard whose byte range holds
//! them, so the shards' counts add up to the whole file's.

use super::check::Checker;
use super::delimited::DelimitedReader;
use super::npy::NpyReader;
use super::raw::RawReader;
use super::source::{self, open_file_range};
use super::text::TextReader;
use super::{Compression, Format, InputInfo, InputSpec, Position, SampleReader, Source};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A position in a line-based file: byte offset and the number of lines before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LinePos {
    byte: u64,
    lines: u64,
}

/// How the samples of a file are reached.
#[derive(Debug, Clone)]
enum How {
    /// Raw binary: sample s at byte s·size.
    Raw { size: usize },
    /// NPY: sample s at [`NpyReader::byte_of`].
    Npy,
    /// Text, CSV or TSV: `starts[k]` is where chunk k begins (k = 0: after the header), `end`
    /// the end of the file.
    Lines {
        delimiter: Option<u8>,
        layout: (usize, usize),
        detail: Option<String>,
        starts: Vec<LinePos>,
        end: LinePos,
    },
    /// Read from the start, dropping the samples before the range.
    Sequential,
}

/// Where the samples of a data file lie (see the module documentation).
#[derive(Debug, Clone)]
pub struct DataPlan {
    spec: InputSpec,
    path: PathBuf,
    format: Format,
    chunk: u64,
    /// Number of samples (after dropping non-finite values with `--skip-nonfinite`).
    pub total: u64,
    /// Size of the file in bytes.
    pub file_bytes: u64,
    /// What the reader of the whole file reports (format, compression, details).
    pub info: InputInfo,
    how: How,
}

impl DataPlan {
    /// Plans the reading of `spec` in chunks of `chunk` samples. Standard input cannot be split;
    /// an empty data set is an error, as for a whole run.
    pub fn of(spec: &InputSpec, chunk: usize) -> Result<DataPlan> {
        let path = match &spec.source {
            Source::File(p) => p.clone(),
            Source::Stdin => {
                return Err(Error::input(
                    "--shard needs a data file: standard input cannot be split into shards",
                ))
            }
        };
        let name = spec.source.name();
        let file_bytes = std::fs::metadata(&path)
            .map_err(|source| Error::Io {
                path: name.clone(),
                source,
            })?
            .len();
        // The reader of the whole file: its header checks, format and compression.
        let mut head = super::open(spec)?;
        let info = head.info();
        let format = info.format;
        let chunk = chunk.max(1) as u64;
        let plain = info.compression == Compression::None;
        let mut plan = DataPlan {
            spec: spec.clone(),
            path,
            format,
            chunk,
            total: 0,
            file_bytes,
            info,
            how: How::Sequential,
        };
        match format {
            Format::F32 | Format::F64 if plain && !spec.skip_nonfinite => {
                let size = if format == Format::F32 { 4 } else { 8 };
                plan.total = file_bytes / size as u64;
                plan.how = How::Raw { size };
            }
            Format::Npy if plain && !spec.skip_nonfinite => {
                let npy = npy_reader(spec, &plan.info.name)?;
                plan.total = npy.len();
                plan.how = How::Npy;
            }
            Format::Text | Format::Csv | Format::Tsv if plain => {
                // The reader's first sample fixes the layout (header, columns) and its errors.
                let mut first = Vec::new();
                head.read(&mut first, 1)?;
                plan.info = head.info();
                drop(head);
                let delimiter = match format {
                    Format::Csv => Some(b','),
                    Format::Tsv => Some(b'\t'),
                    _ => None,
                };
                let (layout, header) = first_layout(spec, delimiter, &plan.info.name)?;
                let scan = match delimiter {
                    None => scan_text(&plan.path, &plan.info.name, spec, layout, header, chunk)?,
                    Some(d) => scan_delimited(&plan.path, &plan.info.name, spec, d, layout, chunk)?,
                };
                plan.total = scan.total;
                plan.how = How::Lines {
                    delimiter,
                    layout,
                    detail: plan.info.detail.clone(),
                    starts: scan.starts,
                    end: scan.end,
                };
            }
            _ => {
                let mut n = 0u64;
                let mut buf = Vec::with_capacity(1 << 16);
                loop {
                    buf.clear();
                    let got = head.read(&mut buf, 1 << 16)?;
                    if got == 0 {
                        break;
                    }
                    n += got as u64;
                }
                plan.info = head.info();
                plan.total = n;
            }
        }
        if plan.total == 0 {
            return Err(super::empty_error(&plan.info.name, 0));
        }
        Ok(plan)
    }

    /// How the ranges are reached, in one word: `seek`, `scan` or `sequential`.
    pub fn method(&self) -> &'static str {
        match self.how {
            How::Raw { .. } | How::Npy => "seek",
            How::Lines { .. } => "scan",
            How::Sequential => "sequential",
        }
    }

    /// Number of chunks.
    pub fn chunks(&self) -> u64 {
        self.total.div_ceil(self.chunk)
    }

    /// The bytes of the file holding chunks `c0..c1` (what a shard reads), where the format
    /// allows telling; `None` for the sequential method.
    pub fn byte_range(&self, c0: u64, c1: u64) -> Option<(u64, u64)> {
        let (s, e) = (self.sample_of(c0), self.sample_of(c1));
        match &self.how {
            How::Raw { size } => Some((s * *size as u64, e * *size as u64)),
            How::Npy => {
                let npy = npy_reader(&self.spec, &self.info.name).ok()?;
                Some((npy.byte_of(s), npy.byte_of(e)))
            }
            How::Lines { .. } => {
                let (a, b) = self.line_range(c0, c1);
                Some((a.byte, b.byte))
            }
            How::Sequential => None,
        }
    }

    fn sample_of(&self, c: u64) -> u64 {
        (c * self.chunk).min(self.total)
    }

    fn line_range(&self, c0: u64, c1: u64) -> (LinePos, LinePos) {
        let How::Lines { starts, end, .. } = &self.how else {
            unreachable!("line_range of a line-based plan")
        };
        let at = |c: u64| starts.get(c as usize).copied().unwrap_or(*end);
        (at(c0), at(c1))
    }

    /// A reader of chunks `c0..c1` (samples [c0·chunk, min(c1·chunk, N))), with the checks and
    /// messages of the whole file's reader.
    pub fn open_range(&self, c0: u64, c1: u64) -> Result<Box<dyn SampleReader>> {
        let c1 = c1.min(self.chunks());
        let c0 = c0.min(c1);
        let (start, end) = (self.sample_of(c0), self.sample_of(c1));
        let name = self.info.name.clone();
        let checker = Checker::new(self.spec.integers, self.spec.skip_nonfinite);
        let info = InputInfo {
            detail: self.info.detail.clone(),
            ..self.info.clone()
        };
        Ok(match &self.how {
            How::Raw { size } => {
                let (a, b) = (start * *size as u64, end * *size as u64);
                let opened = open_file_range(&self.path, &name, a, b - a)?;
                Box::new(RawReader::new(opened, info, checker, *size)?.starting_at(start))
            }
            How::Npy => {
                let mut npy = npy_reader(&self.spec, &name)?;
                let (a, b) = (npy.byte_of(start), npy.byte_of(end));
                let opened = open_file_range(&self.path, &name, a, b - a)?;
                npy.restrict(opened.reader, opened.tracker, start, end);
                Box::new(npy)
            }
            How::Lines {
                delimiter,
                layout,
                detail,
                ..
            } => {
                let (a, b) = self.line_range(c0, c1);
                let opened = open_file_range(&self.path, &name, a.byte, b.byte - a.byte)?;
                let info = InputInfo {
                    detail: detail.clone(),
                    ..info
                };
                match delimiter {
                    None => Box::new(TextReader::resume(
                        opened,
                        info,
                        checker,
                        *layout,
                        a.lines as usize,
                    )),
                    Some(d) => Box::new(DelimitedReader::resume(
                        opened, info, checker, *d, *layout, a.lines,
                    )),
                }
            }
            How::Sequential => Box::new(Skipping {
                inner: super::open(&self.spec)?,
                skip: start,
                remaining: end - start,
                last: end == self.total,
                skipped_before: None,
            }),
        })
    }

    /// The format of the data.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The NPY reader of the whole file (header read).
fn npy_reader(spec: &InputSpec, name: &str) -> Result<NpyReader> {
    let opened = source::open(&spec.source, Compression::None, false)?;
    let info = InputInfo {
        name: name.to_string(),
        format: Format::Npy,
        compression: Compression::None,
        detail: None,
    };
    NpyReader::new(
        opened,
        info,
        Checker::new(spec.integers, spec.skip_nonfinite),
        spec.column.clone(),
    )
}

/// The layout (fields per row, column) the reader finds on the first row, and whether that row
/// is a header.
fn first_layout(
    spec: &InputSpec,
    delimiter: Option<u8>,
    name: &str,
) -> Result<((usize, usize), bool)> {
    let opened = source::open(&spec.source, Compression::None, false)?;
    let info = InputInfo {
        name: name.to_string(),
        format: Format::Text,
        compression: Compression::None,
        detail: None,
    };
    let checker = Checker::new(spec.integers, spec.skip_nonfinite);
    let mut out = Vec::new();
    // Read rows until the layout is known: the first row fixes it, header or not (a first row
    // whose value is dropped leaves no sample, so read on until one is kept or the data end).
    let layout = match delimiter {
        None => {
            let mut r = TextReader::new(opened, info, checker, spec.column.clone());
            while r.layout().is_none() && r.read(&mut out, 1)? > 0 {}
            r.layout()
        }
        Some(d) => {
            let mut r = DelimitedReader::new(opened, info, checker, spec.column.clone(), d);
            while r.layout().is_none() && r.read(&mut out, 1)? > 0 {}
            r.layout()
        }
    };
    let layout = layout.ok_or_else(|| super::empty_error(name, 0))?;
    // The header rule of the readers: the first row is a header when one of its fields is not
    // a number (CSV: neither empty nor a number).
    let header = first_row_is_header(spec, delimiter, name)?;
    Ok((layout, header))
}

fn first_row_is_header(spec: &InputSpec, delimiter: Option<u8>, name: &str) -> Result<bool> {
    let mut opened = source::open(&spec.source, Compression::None, false)?;
    match delimiter {
        None => {
            let mut text = Vec::new();
            let mut r = std::io::BufReader::new(&mut opened.reader);
            loop {
                text.clear();
                let n = std::io::BufRead::read_until(&mut r, b'\n', &mut text)
                    .map_err(|e| source::read_error(name, e))?;
                if n == 0 {
                    return Ok(false);
                }
                let s = String::from_utf8_lossy(&text);
                let content = s.split('#').next().unwrap_or("").trim();
                if !content.is_empty() {
                    return Ok(content
                        .split_whitespace()
                        .any(|f| f.parse::<f64>().is_err()));
                }
            }
        }
        Some(d) => {
            let mut r = csv_builder(d).from_reader(opened.reader);
            let mut rec = csv::ByteRecord::new();
            match r.read_byte_record(&mut rec) {
                Ok(true) => Ok(rec.iter().any(|f| {
                    let f = String::from_utf8_lossy(f);
                    let f = f.trim();
                    !f.is_empty() && f.parse::<f64>().is_err()
                })),
                _ => Ok(false),
            }
        }
    }
}

/// The `csv` reader settings of [`DelimitedReader`].
fn csv_builder(delimiter: u8) -> csv::ReaderBuilder {
    let mut b = csv::ReaderBuilder::new();
    b.delimiter(delimiter)
        .has_headers(false)
        .comment(Some(b'#'))
        .flexible(true)
        .buffer_capacity(1 << 20);
    b
}

/// What a scan found: the number of samples and where each chunk starts.
struct Scan {
    total: u64,
    starts: Vec<LinePos>,
    end: LinePos,
}

/// Whether the value `tok` of a row is dropped by `--skip-nonfinite` (a value that is not a
/// number is kept here: the shard's reader reports it).
fn dropped(tok: &[u8]) -> bool {
    let t = String::from_utf8_lossy(tok);
    let t = t.trim();
    t.is_empty() || t.parse::<f64>().is_ok_and(|x| !x.is_finite())
}

/// Records sample number `total` (about to be counted) as a chunk start when it is one.
fn mark(scan: &mut Scan, chunk: u64, at: LinePos) {
    if scan.total.is_multiple_of(chunk) && scan.total > 0 {
        scan.starts.push(at);
    }
}

/// Scans whitespace-separated text: a line holds a sample when its content before `#` is not
/// blank, it is not the header, and (with `--skip-nonfinite`) its value is finite.
fn scan_text(
    path: &Path,
    name: &str,
    spec: &InputSpec,
    (_, col): (usize, usize),
    header: bool,
    chunk: u64,
) -> Result<Scan> {
    let mut f = std::fs::File::open(path).map_err(|source| Error::Io {
        path: name.to_string(),
        source,
    })?;
    let mut scan = Scan {
        total: 0,
        starts: Vec::new(),
        end: LinePos { byte: 0, lines: 0 },
    };
    let mut seen_row = false;
    let mut buf = vec![0u8; 1 << 22];
    let mut carry: Vec<u8> = Vec::new();
    let (mut byte, mut lines) = (0u64, 0u64);
    let mut line_of = |line: &[u8], at: LinePos, scan: &mut Scan| {
        let content = match memchr::memchr(b'#', line) {
            Some(i) => &line[..i],
            None => line,
        };
        if content.iter().all(|b| b.is_ascii_whitespace()) {
            return;
        }
        if !seen_row {
            seen_row = true;
            if header {
                scan.starts.push(LinePos {
                    byte: at.byte + line.len() as u64,
                    lines: at.lines + 1,
                });
                return;
            }
            scan.starts.push(LinePos { byte: 0, lines: 0 });
        }
        if spec.skip_nonfinite {
            let tok = content
                .split(|b| b.is_ascii_whitespace())
                .filter(|t| !t.is_empty())
                .nth(col)
                .unwrap_or(b"0");
            if dropped(tok) {
                return;
            }
        }
        mark(scan, chunk, at);
        scan.total += 1;
    };
    loop {
        let n = f.read(&mut buf).map_err(|e| source::read_error(name, e))?;
        if n == 0 {
            break;
        }
        let mut rest = &buf[..n];
        while let Some(i) = memchr::memchr(b'\n', rest) {
            let at = LinePos {
                byte: byte - carry.len() as u64,
                lines,
            };
            if carry.is_empty() {
                line_of(&rest[..=i], at, &mut scan);
            } else {
                carry.extend_from_slice(&rest[..=i]);
                let l = std::mem::take(&mut carry);
                line_of(&l, at, &mut scan);
            }
            byte += i as u64 + 1;
            lines += 1;
            rest = &rest[i + 1..];
        }
        carry.extend_from_slice(rest);
        byte += rest.len() as u64;
    }
    if !carry.is_empty() {
        let at = LinePos {
            byte: byte - carry.len() as u64,
            lines,
        };
        let l = std::mem::take(&mut carry);
        line_of(&l, at, &mut scan);
    }
    if scan.starts.is_empty() {
        scan.starts.push(LinePos { byte: 0, lines: 0 });
    }
    scan.end = LinePos { byte, lines };
    Ok(scan)
}

/// Scans CSV/TSV with the reader's `csv` settings: a record holds a sample unless it is the
/// header or (with `--skip-nonfinite`) its value is empty or not finite.
fn scan_delimited(
    path: &Path,
    name: &str,
    spec: &InputSpec,
    delimiter: u8,
    (_, col): (usize, usize),
    chunk: u64,
) -> Result<Scan> {
    let f = std::fs::File::open(path).map_err(|source| Error::Io {
        path: name.to_string(),
        source,
    })?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut r = csv_builder(delimiter).from_reader(f);
    let mut rec = csv::ByteRecord::new();
    let mut scan = Scan {
        total: 0,
        starts: Vec::new(),
        end: LinePos {
            byte: len,
            lines: 0,
        },
    };
    let header = first_row_is_header(spec, Some(delimiter), name)?;
    let mut first = true;
    loop {
        match r.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                return Err(Error::input(format!(
                    "{name}{}: malformed {}: {:?}",
                    e.position()
                        .map(|p| format!(":{}", p.line()))
                        .unwrap_or_default(),
                    if delimiter == b',' { "csv" } else { "tsv" },
                    e.kind()
                )))
            }
        }
        let p = rec.position().cloned().unwrap_or_else(csv::Position::new);
        let at = LinePos {
            byte: p.byte(),
            lines: p.line().saturating_sub(1),
        };
        if first {
            first = false;
            if header {
                let next = r.position();
                scan.starts.push(LinePos {
                    byte: next.byte(),
                    lines: next.line().saturating_sub(1),
                });
                continue;
            }
            scan.starts.push(LinePos { byte: 0, lines: 0 });
        }
        if spec.skip_nonfinite && rec.get(col).is_some_and(dropped) {
            continue;
        }
        mark(&mut scan, chunk, at);
        scan.total += 1;
    }
    if scan.starts.is_empty() {
        scan.starts.push(LinePos { byte: 0, lines: 0 });
    }
    let end = r.position();
    scan.end = LinePos {
        byte: len.max(end.byte()),
        lines: end.line().saturating_sub(1),
    };
    Ok(scan)
}

/// A range of a stream read from its start: the first `skip` samples are dropped, then
/// `remaining` are handed out; the last range reads on to the end of the data, so that values
/// dropped after the last sample are counted.
struct Skipping {
    inner: Box<dyn SampleReader>,
    skip: u64,
    remaining: u64,
    last: bool,
    /// Non-finite values the reader had dropped when the range began.
    skipped_before: Option<u64>,
}

impl SampleReader for Skipping {
    fn read(&mut self, out: &mut Vec<f64>, max: usize) -> Result<usize> {
        let mut scratch = Vec::new();
        while self.skip > 0 {
            scratch.clear();
            let got = self
                .inner
                .read(&mut scratch, self.skip.min(1 << 16) as usize)?;
            if got == 0 {
                break;
            }
            self.skip -= got as u64;
        }
        if self.skipped_before.is_none() {
            self.skipped_before = Some(self.inner.skipped_nonfinite());
        }
        if self.remaining == 0 {
            if self.last {
                // Drain, for the count of values dropped after the last sample.
                while self.inner.read(&mut scratch, 1 << 16)? > 0 {
                    scratch.clear();
                }
            }
            return Ok(0);
        }
        let want = (max as u64).min(self.remaining) as usize;
        let got = self.inner.read(out, want)?;
        self.remaining -= got as u64;
        Ok(got)
    }

    fn skipped_nonfinite(&self) -> u64 {
        self.inner.skipped_nonfinite() - self.skipped_before.unwrap_or(0)
    }

    fn position(&self) -> Position {
        self.inner.position()
    }

    fn info(&self) -> InputInfo {
        self.inner.info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Column;

    fn spec(path: &Path, column: Option<&str>, skip: bool, integers: bool) -> InputSpec {
        InputSpec {
            source: Source::File(path.to_path_buf()),
            format: None,
            column: column.map(Column::parse),
            integers,
            skip_nonfinite: skip,
        }
    }

    fn read_all(mut r: Box<dyn SampleReader>) -> Result<(Vec<f64>, u64)> {
        let mut xs = Vec::new();
        while r.read(&mut xs, 5)? > 0 {}
        Ok((xs, r.skipped_nonfinite()))
    }

    /// Every split of the plan into chunk ranges reads, range after range, exactly what the
    /// reader of the whole file reads, and the dropped values add up.
    fn ranges_tile_the_whole(s: &InputSpec, chunk: usize, method: &str) {
        let (whole, skipped) = read_all(crate::input::open(s).unwrap()).unwrap();
        let plan = DataPlan::of(s, chunk).unwrap();
        assert_eq!(plan.method(), method);
        assert_eq!(plan.total, whole.len() as u64);
        let c = plan.chunks();
        for k in 1..=4u64 {
            let mut xs = Vec::new();
            let mut sk = 0;
            for i in 0..k {
                let (a, b) = (i * c / k, (i + 1) * c / k);
                let (part, s) = read_all(plan.open_range(a, b).unwrap()).unwrap();
                assert_eq!(
                    part.len() as u64,
                    (b * chunk as u64).min(plan.total) - (a * chunk as u64).min(plan.total)
                );
                xs.extend(part);
                sk += s;
            }
            assert_eq!(xs, whole, "{method}, {k} ranges");
            assert_eq!(sk, skipped, "{method}, {k} ranges: dropped values");
        }
    }

    fn temp(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("klgrid-range-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn text_ranges_found_by_scanning_match_the_whole_read() {
        let mut t = String::from("# a comment\n\n  count # header\n");
        for i in 0..997 {
            match i % 11 {
                0 => t.push_str("\n# note\n"),
                3 => t.push_str(&format!("  {}  # trailing\r\n", i)),
                7 => t.push_str("nan\n"),
                _ => t.push_str(&format!("{i}\n")),
            }
        }
        t.push('5'); // no final newline
        let p = temp("a.txt", t.as_bytes());
        ranges_tile_the_whole(&spec(&p, None, true, false), 37, "scan");
        let p = temp("b.txt", t.replace("nan\n", "").as_bytes());
        ranges_tile_the_whole(&spec(&p, None, false, true), 64, "scan");
        // Two columns, no header, the second picked.
        let cols: String = (0..500).map(|i| format!("{i} {}\n", i * 2)).collect();
        let p = temp("c.txt", cols.as_bytes());
        ranges_tile_the_whole(&spec(&p, Some("1"), false, false), 50, "scan");
    }

    #[test]
    fn csv_ranges_found_by_scanning_match_the_whole_read() {
        let mut t = String::from("# c\nid,\"the value\",note\n");
        for i in 0..803 {
            let v = match i % 13 {
                5 => String::new(),
                9 => "inf".to_string(),
                _ => format!("{}.5", i),
            };
            let note = if i % 17 == 0 { "\"a, \nb\"" } else { "x" };
            t.push_str(&format!("{i},{v},{note}\n"));
            if i % 29 == 0 {
                t.push_str("\n# mid comment\n");
            }
        }
        let p = temp("a.csv", t.as_bytes());
        ranges_tile_the_whole(&spec(&p, Some("the value"), true, false), 41, "scan");
        let tsv: String = (0..300)
            .map(|i| format!("{i}\t{}\n", i as f64 / 3.0))
            .collect();
        let p = temp("a.tsv", tsv.as_bytes());
        ranges_tile_the_whole(&spec(&p, Some("1"), false, false), 64, "scan");
    }

    #[test]
    fn binary_ranges_seek_and_compressed_or_skipping_ones_read_through() {
        let vals: Vec<f64> = (0..1000).map(|i| (i as f64).sin()).collect();
        let raw: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let p = temp("a.f64", &raw);
        ranges_tile_the_whole(&spec(&p, None, false, false), 64, "seek");
        let mut with_nan = vals.clone();
        with_nan[100] = f64::NAN;
        with_nan[999] = f64::INFINITY;
        let raw: Vec<u8> = with_nan.iter().flat_map(|v| v.to_le_bytes()).collect();
        let p = temp("b.f64", &raw);
        ranges_tile_the_whole(&spec(&p, None, true, false), 64, "sequential");
        // A 2-D C-order NPY column and a Fortran-order one.
        let data: Vec<u8> = (0..600).flat_map(|i| (i as f32).to_le_bytes()).collect();
        let c = crate::input::npy::tests::npy("<f4", false, "(200, 3)", &data);
        let p = temp("c.npy", &c);
        ranges_tile_the_whole(&spec(&p, Some("2"), false, false), 16, "seek");
        let f = crate::input::npy::tests::npy("<f4", true, "(200, 3)", &data);
        let p = temp("f.npy", &f);
        ranges_tile_the_whole(&spec(&p, Some("1"), false, false), 16, "seek");
        // gzip: read through from the start.
        let text: String = (0..700).map(|i| format!("{i}\n")).collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
        let p = temp("a.txt.gz", &gz.finish().unwrap());
        ranges_tile_the_whole(&spec(&p, None, false, false), 64, "sequential");
    }

    #[test]
    fn errors_in_a_range_name_the_file_line_and_element() {
        let mut t = String::from("v\n");
        for i in 0..200 {
            t.push_str(if i == 150 { "oops\n" } else { "1\n" });
        }
        let p = temp("bad.txt", t.as_bytes());
        let plan = DataPlan::of(&spec(&p, None, false, false), 64).unwrap();
        let e = read_all(plan.open_range(2, 3).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.txt:152: 'oops' is not a number"), "{e}");
        let mut vals = vec![1.0f32; 300];
        vals[250] = f32::NAN;
        let raw: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let p = temp("bad.f32", &raw);
        let plan = DataPlan::of(&spec(&p, None, false, false), 64).unwrap();
        let e = read_all(plan.open_range(3, 5).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("element 250"), "{e}");
        let csv = format!(
            "a,b\n{}",
            (0..100)
                .map(|i| if i == 80 {
                    "1,\n".to_string()
                } else {
                    format!("{i},{i}\n")
                })
                .collect::<String>()
        );
        let p = temp("bad.csv", csv.as_bytes());
        let plan = DataPlan::of(&spec(&p, Some("b"), false, false), 32).unwrap();
        let e = read_all(plan.open_range(2, 4).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.csv:82: missing value"), "{e}");
    }
}
