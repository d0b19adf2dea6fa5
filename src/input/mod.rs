//! Reading samples: text, CSV/TSV, NumPy `.npy` and raw little-endian binary, from a file or
//! standard input, optionally gzip- or zstd-compressed, behind one interface,
//! [`SampleReader`], that hands out samples in pieces so that data larger than memory can be
//! streamed (see [`crate::engine::pipeline::run_stream`]).
//!
//! Every reader applies the same checks ([`check::Checker`]): NaN and ±∞ are errors naming the
//! file and the line (text) or element (binary) — or, with `skip_nonfinite`, are dropped and
//! counted — and, for discrete families, every value must be an integer. Nothing here panics on
//! bad input: every problem is an [`Error::Input`] or [`Error::Io`] of one line.
//!
//! Formats ([`Format`]) are detected from the file extension — `.csv`, `.tsv`/`.tab`, `.npy`,
//! `.f32`, `.f64`, anything else text — after stripping `.gz` or `.zst`/`.zstd`, which select
//! the decompressor. Standard input (`-`) is text unless a format is given; for text, CSV/TSV and
//! NPY a gzip or zstd stream is also recognised by its magic bytes.
//!
//! Samples drawn from a distribution come through the same interface
//! ([`crate::model::sample_spec::DrawReader`], in the layer above), so that `--sample` data too
//! large for memory are evaluated like a file.
//!
//! Memory is bounded whatever the input: text lines and CSV records are at most 1 MiB
//! (`bounded.rs`), [`read_all`] refuses data that do not fit in memory, and every message quotes
//! at most a short prefix of the input ([`crate::guard::quote`]).

mod bounded;
pub(crate) mod check;
mod delimited;
mod header;
mod npy;
pub mod range;
mod raw;
mod source;
mod text;

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A data format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Text: one number per line, or whitespace-separated columns; `#` comments.
    #[value(alias = "txt")]
    Text,
    /// Comma-separated values (header detected, quoted fields, `#` comment lines).
    Csv,
    /// Tab-separated values, as CSV.
    Tsv,
    /// NumPy `.npy`.
    Npy,
    /// Raw little-endian IEEE-754 single precision, no header.
    F32,
    /// Raw little-endian IEEE-754 double precision, no header.
    F64,
    /// Drawn from a distribution (`--sample`); not a file format.
    #[value(skip)]
    Sample,
}

impl Format {
    /// The name used by `--format-in` and in the output.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Npy => "npy",
            Format::F32 => "f32",
            Format::F64 => "f64",
            Format::Sample => "sample",
        }
    }

    /// The format for a file extension (lower-case, without the dot); `None` for unknown ones.
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext {
            "csv" => Some(Format::Csv),
            "tsv" | "tab" => Some(Format::Tsv),
            "npy" => Some(Format::Npy),
            "f32" => Some(Format::F32),
            "f64" => Some(Format::F64),
            "txt" | "text" | "dat" => Some(Format::Text),
            _ => None,
        }
    }

    /// Whether the format is raw binary (no header, no magic bytes).
    fn is_raw(self) -> bool {
        matches!(self, Format::F32 | Format::F64)
    }
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format> {
        match s {
            "text" | "txt" => Ok(Format::Text),
            "csv" => Ok(Format::Csv),
            "tsv" => Ok(Format::Tsv),
            "npy" => Ok(Format::Npy),
            "f32" => Ok(Format::F32),
            "f64" => Ok(Format::F64),
            _ => Err(Error::input(format!(
                "unknown input format '{s}' (expected text, csv, tsv, npy, f32 or f64)"
            ))),
        }
    }
}

/// A compression wrapped around the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// `gzip`, `zstd`, or `None` for uncompressed data.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
        }
    }
}

/// Where the data come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file.
    File(PathBuf),
    /// Standard input (`--data -`).
    Stdin,
}

impl Source {
    /// `-` means standard input, anything else a file.
    pub fn from_arg(path: &Path) -> Source {
        if path.as_os_str() == "-" {
            Source::Stdin
        } else {
            Source::File(path.to_path_buf())
        }
    }

    /// The name used in messages: the path, or `<stdin>`.
    pub fn name(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Stdin => "<stdin>".to_string(),
        }
    }
}

/// Which column of a table (CSV/TSV/text) or 2-D array (NPY) holds the samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// A header name, or an index when no column has that name.
    Named(String),
    /// A 0-based index.
    Index(usize),
}

impl Column {
    /// Parses `--column NAME|INDEX`: a string of digits is an index unless a header has that
    /// name (resolved by the reader); anything else is a name.
    pub fn parse(s: &str) -> Column {
        match s.trim().parse::<usize>() {
            Ok(i) if !s.trim().starts_with('+') => Column::Index(i),
            _ => Column::Named(s.trim().to_string()),
        }
    }

    /// As written.
    pub fn text(&self) -> String {
        match self {
            Column::Named(s) => s.clone(),
            Column::Index(i) => i.to_string(),
        }
    }
}

/// What to read and how.
#[derive(Debug, Clone)]
pub struct InputSpec {
    pub source: Source,
    /// The format; `None`: from the extension (files) or text (stdin).
    pub format: Option<Format>,
    /// `--column`.
    pub column: Option<Column>,
    /// Every value must be an integer (discrete families).
    pub integers: bool,
    /// Drop NaN and ±∞ instead of failing (`--skip-nonfinite`); they are counted.
    pub skip_nonfinite: bool,
}

impl InputSpec {
    /// A file (or `-` for stdin) with the format from its extension and the default checks.
    pub fn new(path: &Path) -> InputSpec {
        InputSpec {
            source: Source::from_arg(path),
            format: None,
            column: None,
            integers: false,
            skip_nonfinite: false,
        }
    }
}

/// What was opened: the format in use and how to describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputInfo {
    /// The path, or `<stdin>`.
    pub name: String,
    pub format: Format,
    pub compression: Compression,
    /// Format details for people, e.g. `<f4, column 1` for NPY or the column name for CSV;
    /// filled in once the header is read.
    pub detail: Option<String>,
}

impl InputInfo {
    /// `npy <f4, column 1, gzip`: the format with its details and compression.
    pub fn describe(&self) -> String {
        let mut s = self.format.name().to_string();
        let mut extra: Vec<String> = Vec::new();
        if let Some(d) = &self.detail {
            extra.push(d.clone());
        }
        if let Some(c) = self.compression.name() {
            extra.push(c.to_string());
        }
        if !extra.is_empty() {
            s.push(' ');
            s.push_str(&extra.join(", "));
        }
        s
    }
}

/// How far a reader has got through its input, for progress display.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// Bytes of the input (compressed, where it is) consumed so far.
    pub bytes: u64,
    /// Size of the input in bytes, where known (regular files).
    pub total: Option<u64>,
}

/// A source of samples, read in pieces. Implementations check every value (see the module
/// documentation) and never panic on bad input.
pub trait SampleReader: Send {
    /// Appends up to `max` samples to `out` and returns how many; 0 only at the end of the data.
    fn read(&mut self, out: &mut Vec<f64>, max: usize) -> Result<usize>;

    /// Number of non-finite values dropped so far (with `skip_nonfinite`).
    fn skipped_nonfinite(&self) -> u64;

    /// How far the reader has got.
    fn position(&self) -> Position;

    /// The format in use, with details known after the header.
    fn info(&self) -> InputInfo;

    /// The number of values the source holds, where known before reading them (an NPY header,
    /// an uncompressed raw file's size, a draw); `None` otherwise.
    fn len_hint(&self) -> Option<u64> {
        None
    }
}

/// A source that can be read again from its start, for analysis steps that need another pass
/// over data too many to keep in memory (`--refine`): a regular file, or the seeded draws of
/// `--sample`. Standard input, a FIFO or a process substitution is never one.
#[derive(Clone)]
pub struct Replay(std::sync::Arc<dyn Fn() -> Result<Box<dyn SampleReader>> + Send + Sync>);

impl Replay {
    /// A replay that calls `open` for every pass.
    pub fn new(open: impl Fn() -> Result<Box<dyn SampleReader>> + Send + Sync + 'static) -> Self {
        Replay(std::sync::Arc::new(open))
    }

    /// `spec` read again, when its source is a regular file (`None` for stdin, FIFOs, devices
    /// and process substitutions, which a second open would not read from the start).
    pub fn of_input(spec: &InputSpec) -> Option<Replay> {
        match &spec.source {
            Source::File(p) if std::fs::metadata(p).is_ok_and(|m| m.is_file()) => {
                let spec = spec.clone();
                Some(Replay::new(move || open(&spec)))
            }
            _ => None,
        }
    }

    /// A new reader from the start of the data.
    pub fn open(&self) -> Result<Box<dyn SampleReader>> {
        (self.0)()
    }
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Replay")
    }
}

/// Opens `spec`: the file or stdin, the decompressor, and the format's reader (which reads
/// the header, if the format has one, so that header errors come before any evaluation).
pub fn open(spec: &InputSpec) -> Result<Box<dyn SampleReader>> {
    let name = spec.source.name();
    let (ext_format, ext_compression) = match &spec.source {
        Source::File(p) => from_path(p),
        Source::Stdin => (None, Compression::None),
    };
    if spec.format == Some(Format::Sample) {
        return Err(Error::input(format!(
            "{name}: 'sample' is not a file format (expected text, csv, tsv, npy, f32 or f64)"
        )));
    }
    if spec.format.is_none() && ext_format.is_none() {
        if let Source::File(p) = &spec.source {
            if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("npz")) {
                return Err(Error::input(format!(
                    "{name}: .npz archives are not supported; save one array with numpy.save \
                     (.npy)"
                )));
            }
        }
    }
    let format = spec.format.or(ext_format).unwrap_or(Format::Text);
    if spec.column.is_some() && format.is_raw() {
        return Err(Error::input(format!(
            "{name}: --column does not apply to raw {} data (one value after another)",
            format.name()
        )));
    }
    let opened = source::open(&spec.source, ext_compression, !format.is_raw())?;
    reader_for(opened, name, format, spec)
}

/// The format's reader over an opened byte stream.
fn reader_for(
    opened: source::Opened,
    name: String,
    format: Format,
    spec: &InputSpec,
) -> Result<Box<dyn SampleReader>> {
    let info = InputInfo {
        name,
        format,
        compression: opened.tracker.compression,
        detail: None,
    };
    let checker = check::Checker::new(spec.integers, spec.skip_nonfinite);
    let column = spec.column.clone();
    Ok(match format {
        Format::Text => Box::new(text::TextReader::new(opened, info, checker, column)),
        Format::Csv => Box::new(delimited::DelimitedReader::new(
            opened, info, checker, column, b',',
        )),
        Format::Tsv => Box::new(delimited::DelimitedReader::new(
            opened, info, checker, column, b'\t',
        )),
        Format::Npy => Box::new(npy::NpyReader::new(opened, info, checker, column)?),
        Format::F32 => Box::new(raw::RawReader::new(opened, info, checker, 4)?),
        Format::F64 => Box::new(raw::RawReader::new(opened, info, checker, 8)?),
        Format::Sample => {
            return Err(Error::input(format!(
                "{}: 'sample' is not a file format",
                info.name
            )))
        }
    })
}

/// Reads everything into memory: the samples, the reader (for [`SampleReader::info`] and
/// [`SampleReader::skipped_nonfinite`]). Fails on an empty result.
/// Memory is checked as it grows (against [`crate::guard::memory_budget`], and with fallible
/// allocation): data that do not fit are an input error, never an aborted allocation.
pub fn read_all(spec: &InputSpec) -> Result<(Vec<f64>, Box<dyn SampleReader>)> {
    read_to_memory(open(spec)?)
}

/// Reads everything `reader` holds into memory (see [`read_all`]).
pub fn read_to_memory(
    mut reader: Box<dyn SampleReader>,
) -> Result<(Vec<f64>, Box<dyn SampleReader>)> {
    const STEP: usize = 1 << 20;
    let name = reader.info().name;
    let too_many = |len: usize, bytes: u64| {
        Error::input(format!(
            "{}: the data do not fit in memory: {len} samples or more would need {} \
             (this command keeps the data in memory; `sweep` streams them)",
            crate::guard::quote(&name),
            crate::guard::fmt_bytes(bytes)
        ))
    };
    let mut xs: Vec<f64> = Vec::new();
    if let Some(n) = reader.len_hint() {
        let bytes = n.saturating_mul(8);
        crate::guard::check_memory(bytes, || format!("{n} samples in memory"))?;
        let n = usize::try_from(n).map_err(|_| too_many(usize::MAX, bytes))?;
        xs.try_reserve_exact(n).map_err(|_| too_many(n, bytes))?;
    }
    let budget = crate::guard::memory_budget();
    loop {
        if xs.capacity() - xs.len() < STEP {
            let extra = xs.len().max(STEP);
            let bytes = ((xs.len() + extra) as u64).saturating_mul(8);
            if budget.is_some_and(|b| bytes > b) || xs.try_reserve(extra).is_err() {
                return Err(too_many(xs.len() + extra, bytes));
            }
        }
        if reader.read(&mut xs, STEP)? == 0 {
            break;
        }
    }
    if xs.is_empty() {
        return Err(empty_error(&reader.info().name, reader.skipped_nonfinite()));
    }
    Ok((xs, reader))
}

/// The error for data with no samples left: empty, or empty after dropping non-finite values.
pub fn empty_error(name: &str, skipped: u64) -> Error {
    if skipped > 0 {
        Error::input(format!(
            "{name}: the data set is empty after dropping {skipped} non-finite value(s)"
        ))
    } else {
        Error::input(format!("{name}: the data set is empty (no numbers found)"))
    }
}

/// Format and compression from a file name: `data.csv.gz` → (csv, gzip).
fn from_path(p: &Path) -> (Option<Format>, Compression) {
    let file = p
        .file_name()
        .map(|f| f.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let (stem, compression) = if let Some(s) = file.strip_suffix(".gz") {
        (s, Compression::Gzip)
    } else if let Some(s) = file
        .strip_suffix(".zst")
        .or_else(|| file.strip_suffix(".zstd"))
    {
        (s, Compression::Zstd)
    } else {
        (file.as_str(), Compression::None)
    };
    let format = stem
        .rsplit_once('.')
        .and_then(|(_, ext)| Format::from_extension(ext));
    (format, compression)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_compression_come_from_the_file_name() {
        let f = |s: &str| from_path(Path::new(s));
        assert_eq!(f("a/b.csv"), (Some(Format::Csv), Compression::None));
        assert_eq!(f("b.TSV.gz"), (Some(Format::Tsv), Compression::Gzip));
        assert_eq!(f("b.npy.zst"), (Some(Format::Npy), Compression::Zstd));
        assert_eq!(f("b.f32"), (Some(Format::F32), Compression::None));
        assert_eq!(f("b.f64.zstd"), (Some(Format::F64), Compression::Zstd));
        assert_eq!(f("b.txt"), (Some(Format::Text), Compression::None));
        assert_eq!(f("noext"), (None, Compression::None));
        assert_eq!(f("x.gz"), (None, Compression::Gzip));
    }

    #[test]
    fn columns_are_indices_or_names() {
        assert_eq!(Column::parse("1"), Column::Index(1));
        assert_eq!(Column::parse(" value "), Column::Named("value".into()));
        assert_eq!(Column::parse("+1"), Column::Named("+1".into()));
        assert!("xml".parse::<Format>().is_err());
        assert_eq!("f32".parse::<Format>().unwrap(), Format::F32);
    }

    /// Reads `bytes` as `format` to the end; errors are fine, panics are not.
    fn drain(bytes: &[u8], format: Format, column: Option<&str>, ints: bool, skip: bool) {
        let spec = InputSpec {
            source: Source::Stdin,
            format: Some(format),
            column: column.map(Column::parse),
            integers: ints,
            skip_nonfinite: skip,
        };
        let opened = source::Opened::from_bytes(bytes.to_vec());
        if let Ok(mut r) = reader_for(opened, "fuzz".into(), format, &spec) {
            let mut out = Vec::new();
            while let Ok(k) = r.read(&mut out, 7) {
                if k == 0 {
                    break;
                }
                out.clear();
            }
            let _ = (r.info().describe(), r.position(), r.skipped_nonfinite());
        }
    }

    const FORMATS: [Format; 6] = [
        Format::Text,
        Format::Csv,
        Format::Tsv,
        Format::Npy,
        Format::F32,
        Format::F64,
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Random bytes never make a reader panic, whatever the options.
        #[test]
        fn random_bytes_never_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            col in proptest::option::of("[0-9a-z]{1,3}"),
            ints in proptest::prelude::any::<bool>(),
            skip in proptest::prelude::any::<bool>(),
        ) {
            for f in FORMATS {
                let column = if f == Format::F32 || f == Format::F64 { None } else { col.as_deref() };
                drain(&bytes, f, column, ints, skip);
            }
        }

        /// Text-like random input (digits, separators, quotes, comments) never panics.
        #[test]
        fn random_tables_never_panic(
            text in "[0-9a-z.,;\t \n\"#e+-]{0,300}",
            col in proptest::option::of("[0-9a-c]{1,2}"),
            skip in proptest::prelude::any::<bool>(),
        ) {
            for f in [Format::Text, Format::Csv, Format::Tsv] {
                drain(text.as_bytes(), f, col.as_deref(), false, skip);
            }
        }

        /// A valid NPY preamble with a random header and random data never panics.
        #[test]
        fn random_npy_headers_never_panic(
            header in "[{}()\\[\\]'\":, <>|a-zA-Z0-9_]{0,120}",
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            version in 1u8..4,
        ) {
            let mut b = b"\x93NUMPY".to_vec();
            b.push(version);
            b.push(0);
            if version == 1 {
                b.extend_from_slice(&(header.len() as u16).to_le_bytes());
            } else {
                b.extend_from_slice(&(header.len() as u32).to_le_bytes());
            }
            b.extend_from_slice(header.as_bytes());
            b.extend_from_slice(&data);
            drain(&b, Format::Npy, None, false, false);
            drain(&b, Format::Npy, Some("1"), true, true);
        }

        /// Well-formed NPY headers with random dtypes, shapes and orders never panic.
        #[test]
        fn random_npy_shapes_and_dtypes_never_panic(
            descr in "[<>|=][fiucbUSOMV][0-9]{1,2}",
            shape in proptest::collection::vec(0u64..5, 0..4),
            fortran in proptest::prelude::any::<bool>(),
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            col in proptest::option::of(0usize..4),
        ) {
            let shape = format!(
                "({}{})",
                shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "),
                if shape.len() == 1 { "," } else { "" }
            );
            let b = npy::tests::npy(&descr, fortran, &shape, &data);
            let col = col.map(|c| c.to_string());
            drain(&b, Format::Npy, col.as_deref(), false, true);
        }
    }
}
