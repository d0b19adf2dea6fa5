//! CSV and TSV through the `csv` crate: quoted fields, `#` comment lines, blank lines skipped.
//! The first row is a header (column names) when it looks like one (see [`super::header`]).
//! `--column NAME|INDEX` picks the column (required when there are several). Rows with another
//! number of fields than the first are errors; an empty field is a missing value (dropped with
//! `--skip-nonfinite`, like NaN). Errors name the line (1-based) and quote at most a short
//! prefix of a field; lines and records are at most [`super::bounded::MAX_LINE`] bytes and a
//! leading byte-order mark is dropped ([`super::bounded`]).

use super::bounded::Bounded;
use super::check::Checker;
use super::header::{is_header, number_like, NOT_A_HEADER};
use super::source::{read_error, Opened, Tracker};
use super::text::resolve_column;
use super::{Column, InputInfo, Position, SampleReader};
use crate::error::{Error, Result};
use crate::guard::quote;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The `csv` reader's buffer, and so how far it may read ahead of the record it parses.
const BUFFER: usize = 1 << 20;

/// Reader of delimited text.
pub(crate) struct DelimitedReader {
    r: csv::Reader<Box<dyn Read + Send>>,
    tracker: Tracker,
    info: InputInfo,
    check: Checker,
    column: Option<Column>,
    /// (fields per row, the column used), once the first row is seen.
    layout: Option<(usize, usize)>,
    rec: csv::ByteRecord,
    /// Where the last record ended, for the record-length bound of [`Bounded`].
    mark: Arc<AtomicU64>,
    /// The line of the first row, once seen.
    first_row: u64,
    /// Lines of the file before the stream (a data shard resuming the file in the middle).
    line_offset: u64,
}

impl DelimitedReader {
    pub fn new(
        opened: Opened,
        info: InputInfo,
        check: Checker,
        column: Option<Column>,
        delimiter: u8,
    ) -> DelimitedReader {
        let (bounded, mark) = Bounded::records(opened.reader, BUFFER as u64);
        let r = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .comment(Some(b'#'))
            .flexible(true)
            .buffer_capacity(BUFFER)
            .from_reader(Box::new(bounded) as Box<dyn Read + Send>);
        DelimitedReader {
            r,
            tracker: opened.tracker,
            info,
            check,
            column,
            layout: None,
            rec: csv::ByteRecord::new(),
            mark,
            first_row: 0,
            line_offset: 0,
        }
    }

    /// A reader that resumes a file in the middle (a data shard): `opened` starts at a record
    /// start, `layout` is (fields per row, the column used) as found on the file's first row,
    /// and `line_offset` the number of lines before `opened`, so that errors name the file's
    /// lines.
    pub(crate) fn resume(
        opened: Opened,
        info: InputInfo,
        check: Checker,
        delimiter: u8,
        layout: (usize, usize),
        line_offset: u64,
    ) -> DelimitedReader {
        DelimitedReader {
            layout: Some(layout),
            line_offset,
            ..DelimitedReader::new(opened, info, check, None, delimiter)
        }
    }

    /// (fields per row, the column used), once the first row has been read.
    pub(crate) fn layout(&self) -> Option<(usize, usize)> {
        self.layout
    }

    fn csv_error(&self, e: csv::Error) -> Error {
        let line = e
            .position()
            .map(|p| format!(":{}", p.line() + self.line_offset));
        match e.into_kind() {
            csv::ErrorKind::Io(io) => read_error(&self.info.name, io),
            kind => Error::input(format!(
                "{}{}: malformed {}: {}",
                self.info.name,
                line.unwrap_or_default(),
                self.info.format.name(),
                quote(&format!("{kind:?}"))
            )),
        }
    }

    /// The first row: header or data; fixes the layout. Returns whether it is a header.
    fn first_row(&mut self, line: u64) -> Result<bool> {
        let fields: Vec<String> = self
            .rec
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_string())
            .collect();
        let header = is_header(fields.iter().map(String::as_str));
        self.first_row = line;
        let col = resolve_column(
            &self.info.name,
            self.column.as_ref(),
            header.then_some(&fields[..]),
            fields.len(),
        )
        .map_err(|e| {
            if header {
                e
            } else {
                Error::input(format!("{} (first row, line {line})", e))
            }
        })?;
        self.layout = Some((fields.len(), col));
        self.info.detail = if header {
            Some(format!("column '{}'", quote(&fields[col])))
        } else if fields.len() > 1 {
            Some(format!("column {col}"))
        } else {
            None
        };
        Ok(header)
    }
}

impl SampleReader for DelimitedReader {
    fn read(&mut self, out: &mut Vec<f64>, max: usize) -> Result<usize> {
        let mut got = 0;
        while got < max {
            let more = match self.r.read_byte_record(&mut self.rec) {
                Ok(m) => m,
                Err(e) => return Err(self.csv_error(e)),
            };
            if !more {
                break;
            }
            self.mark.store(self.r.position().byte(), Ordering::Relaxed);
            let line = self.rec.position().map_or(0, |p| p.line()) + self.line_offset;
            let (ncols, col) = match self.layout {
                Some(l) => l,
                None => {
                    if self.first_row(line)? {
                        continue;
                    }
                    self.layout.unwrap_or((0, 0))
                }
            };
            let name = &self.info.name;
            if self.rec.len() != ncols {
                return Err(Error::input(format!(
                    "{name}:{line}: ragged row: {} field(s), expected {ncols} as in the first row",
                    self.rec.len()
                )));
            }
            let raw = &self.rec[col];
            let tok = std::str::from_utf8(raw)
                .map_err(|_| Error::input(format!("{name}:{line}: not valid UTF-8 text")))?
                .trim();
            if tok.is_empty() {
                // Dropped (and counted) with --skip-nonfinite, else an error.
                self.check.missing(|| format!("{name}:{line}"))?;
                continue;
            }
            let x: f64 = tok.parse().map_err(|_| {
                let why = if line == self.first_row && number_like(tok) {
                    format!(" {NOT_A_HEADER}")
                } else {
                    String::new()
                };
                Error::input(format!(
                    "{name}:{line}: '{}' is not a number{why}",
                    quote(tok)
                ))
            })?;
            if self
                .check
                .keep(x, || format!("{name}:{line}"), || quote(tok))?
            {
                out.push(x);
                got += 1;
            }
        }
        Ok(got)
    }

    fn skipped_nonfinite(&self) -> u64 {
        self.check.skipped
    }

    fn position(&self) -> Position {
        self.tracker.position()
    }

    fn info(&self) -> InputInfo {
        self.info.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Compression, Format};
    use super::*;

    fn read(s: &str, delim: u8, column: Option<&str>, skip: bool) -> Result<(Vec<f64>, u64)> {
        let info = InputInfo {
            name: "t.csv".into(),
            format: Format::Csv,
            compression: Compression::None,
            detail: None,
        };
        let mut r = DelimitedReader::new(
            Opened::from_bytes(s.as_bytes().to_vec()),
            info,
            Checker::new(false, skip),
            column.map(Column::parse),
            delim,
        );
        let mut xs = Vec::new();
        while r.read(&mut xs, 3)? > 0 {}
        Ok((xs, r.skipped_nonfinite()))
    }

    #[test]
    fn header_quotes_comments_and_columns() {
        let s = "# comment\nid,\"the value\",note\n1,2.5,\"a, b\"\n\n2,\" 3.5 \",c\n";
        let (xs, _) = read(s, b',', Some("the value"), false).unwrap();
        assert_eq!(xs, vec![2.5, 3.5]);
        let (xs, _) = read(s, b',', Some("0"), false).unwrap();
        assert_eq!(xs, vec![1.0, 2.0]);
        let e = read(s, b',', Some("value"), false).unwrap_err().to_string();
        assert!(
            e.contains("column 'value' not found") && e.contains("'the value'"),
            "{e}"
        );
        let e = read(s, b',', None, false).unwrap_err().to_string();
        assert!(e.contains("3 columns") && e.contains("--column"), "{e}");
        let (xs, _) = read("x\n1\n2\n", b',', None, false).unwrap();
        assert_eq!(xs, vec![1.0, 2.0]);
        let (xs, _) = read("a\tb\n1\t2\n", b'\t', Some("b"), false).unwrap();
        assert_eq!(xs, vec![2.0]);
    }

    #[test]
    fn ragged_rows_bad_numbers_and_missing_values_name_their_line() {
        let e = read("a,b\n1,2\n3\n", b',', Some("b"), false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.csv:3: ragged row: 1 field(s), expected 2"),
            "{e}"
        );
        let e = read("a,b\n1,2\n3,x\n", b',', Some("b"), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv:3: 'x' is not a number"), "{e}");
        let e = read("a,b\n1,\n", b',', Some("b"), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv:2: missing value"), "{e}");
        let e = read("a,b\n1,nan\n", b',', Some("b"), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv:2: non-finite"), "{e}");
        let (xs, skipped) = read("a,b\n1,\n2,inf\n3,4\n", b',', Some("b"), true).unwrap();
        assert_eq!((xs, skipped), (vec![4.0], 2));
    }
}
