//! Text: one number per line, or whitespace-separated columns picked with `--column`. Blank lines
//! and `#` comments (to the end of the line) are skipped. The first non-comment line is a header
//! (column names) when it looks like one (see [`super::header`]). Errors name the line (1-based)
//! and quote at most a short prefix of it; lines are at most [`super::bounded::MAX_LINE`] bytes
//! and a leading byte-order mark is dropped ([`super::bounded`]).

use super::bounded::Bounded;
use super::check::Checker;
use super::header::{is_header, number_like, NOT_A_HEADER};
use super::source::{read_error, Opened, Tracker};
use super::{Column, InputInfo, Position, SampleReader};
use crate::error::{Error, Result};
use crate::guard::quote;
use std::io::{BufRead, BufReader, Read};

/// Columns listed by name in an error about `--column`; the rest are counted.
const LISTED_COLUMNS: usize = 12;

/// Resolves `--column` against an optional header; returns the 0-based index. `ncols` is the
/// number of fields of the first row.
pub(crate) fn resolve_column(
    name: &str,
    column: Option<&Column>,
    header: Option<&[String]>,
    ncols: usize,
) -> Result<usize> {
    let list = || match header {
        Some(h) => {
            let mut l = h
                .iter()
                .take(LISTED_COLUMNS)
                .enumerate()
                .map(|(i, n)| format!("{i}: '{}'", quote(n)))
                .collect::<Vec<_>>()
                .join(", ");
            if h.len() > LISTED_COLUMNS {
                l.push_str(&format!(", … ({} columns in all)", h.len()));
            }
            l
        }
        None => format!("0..{} (no header row)", ncols.saturating_sub(1)),
    };
    let by_name = |s: &str| header.and_then(|h| h.iter().position(|n| n == s));
    match column {
        None if ncols == 1 => Ok(0),
        None => Err(Error::input(format!(
            "{name}: {ncols} columns; pick one with --column NAME|INDEX (columns: {})",
            list()
        ))),
        Some(Column::Named(s)) => by_name(s).ok_or_else(|| {
            Error::input(format!(
                "{name}: column '{}' not found (available columns: {}){}",
                quote(s),
                list(),
                header
                    .and_then(|h| crate::guard::suggest(s, h.iter().map(String::as_str)))
                    .map_or_else(String::new, |n| format!("; did you mean '{}'?", quote(n)))
            ))
        }),
        Some(Column::Index(i)) => match by_name(&i.to_string()) {
            Some(j) => Ok(j),
            None if *i < ncols => Ok(*i),
            None => Err(Error::input(format!(
                "{name}: column index {i} is out of range: there are {ncols} column(s) \
                 (available columns: {})",
                list()
            ))),
        },
    }
}

/// Reader of whitespace-separated text.
pub(crate) struct TextReader {
    r: BufReader<Box<dyn Read + Send>>,
    tracker: Tracker,
    info: InputInfo,
    check: Checker,
    column: Option<Column>,
    /// (number of fields per row, the column used), once the first row is seen.
    layout: Option<(usize, usize)>,
    line: Vec<u8>,
    lineno: usize,
    /// The line of the first row (header or data), once seen.
    first_row: usize,
}

impl TextReader {
    pub fn new(
        opened: Opened,
        info: InputInfo,
        check: Checker,
        column: Option<Column>,
    ) -> TextReader {
        TextReader {
            r: BufReader::with_capacity(1 << 20, Box::new(Bounded::lines(opened.reader))),
            tracker: opened.tracker,
            info,
            check,
            column,
            layout: None,
            line: Vec::new(),
            lineno: 0,
            first_row: 0,
        }
    }

    /// A reader that resumes a file in the middle (a data shard): `opened` starts at a line
    /// start, `layout` is (fields per row, the column used) as found on the file's first row,
    /// and `lineno` the number of lines before `opened`, so that errors name the file's lines.
    pub(crate) fn resume(
        opened: Opened,
        info: InputInfo,
        check: Checker,
        layout: (usize, usize),
        lineno: usize,
    ) -> TextReader {
        TextReader {
            layout: Some(layout),
            lineno,
            ..TextReader::new(opened, info, check, None)
        }
    }

    /// (fields per row, the column used), once the first row has been read.
    pub(crate) fn layout(&self) -> Option<(usize, usize)> {
        self.layout
    }

    /// Handles one line's content (comment stripped, trimmed, not empty); the sample, if any.
    fn row(&mut self, content: &str) -> Result<Option<f64>> {
        let name = &self.info.name;
        let lineno = self.lineno;
        let (ncols, col) = match self.layout {
            Some(l) => l,
            None => {
                let fields: Vec<&str> = content.split_whitespace().collect();
                let header = is_header(fields.iter().copied());
                self.first_row = lineno;
                let names: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
                let col = resolve_column(
                    name,
                    self.column.as_ref(),
                    header.then_some(&names[..]),
                    fields.len(),
                )
                .map_err(|e| {
                    if fields.len() > 1 && self.column.is_none() && !header {
                        Error::input(format!(
                            "{name}:{lineno}: expected one number per line, got '{}' \
                             (for columns, give --column NAME|INDEX)",
                            quote(content)
                        ))
                    } else {
                        e
                    }
                })?;
                self.layout = Some((fields.len(), col));
                if fields.len() > 1 || header {
                    self.info.detail = Some(if header {
                        format!("column '{}'", names[col])
                    } else {
                        format!("column {col}")
                    });
                }
                if header {
                    return Ok(None);
                }
                (fields.len(), col)
            }
        };
        let mut tok = "";
        let mut count = 0;
        for (i, f) in content.split_whitespace().enumerate() {
            if i == col {
                tok = f;
            }
            count += 1;
        }
        if count != ncols {
            return Err(Error::input(if ncols == 1 {
                format!(
                    "{name}:{lineno}: expected one number per line, got '{}'",
                    quote(content)
                )
            } else {
                format!("{name}:{lineno}: ragged row: {count} fields, expected {ncols}")
            }));
        }
        let x: f64 = tok.parse().map_err(|_| {
            let mut why = String::new();
            if lineno == self.first_row && number_like(tok) {
                why = format!(" {NOT_A_HEADER}");
            }
            if tok.contains(',') {
                why.push_str(" (comma-separated values? give --format-in csv)");
            }
            Error::input(format!(
                "{name}:{lineno}: '{}' is not a number{why}",
                quote(tok)
            ))
        })?;
        let keep = self
            .check
            .keep(x, || format!("{name}:{lineno}"), || quote(tok))?;
        Ok(keep.then_some(x))
    }
}

impl SampleReader for TextReader {
    fn read(&mut self, out: &mut Vec<f64>, max: usize) -> Result<usize> {
        let mut got = 0;
        while got < max {
            self.line.clear();
            let read = self
                .r
                .read_until(b'\n', &mut self.line)
                .map_err(|e| read_error(&self.info.name, e))?;
            if read == 0 {
                break;
            }
            self.lineno += 1;
            let line = std::mem::take(&mut self.line);
            let res = match std::str::from_utf8(&line) {
                Err(_) => Err(Error::input(format!(
                    "{}:{}: not valid UTF-8 text",
                    self.info.name, self.lineno
                ))),
                Ok(s) => {
                    let content = s.split('#').next().unwrap_or("").trim();
                    if content.is_empty() {
                        Ok(None)
                    } else {
                        self.row(content)
                    }
                }
            };
            self.line = line;
            if let Some(x) = res? {
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

    fn read_with(s: &str, ints: bool, skip: bool, column: Option<&str>) -> Result<Vec<f64>> {
        let info = InputInfo {
            name: "t.txt".into(),
            format: Format::Text,
            compression: Compression::None,
            detail: None,
        };
        let mut r = TextReader::new(
            Opened::from_bytes(s.as_bytes().to_vec()),
            info,
            Checker::new(ints, skip),
            column.map(Column::parse),
        );
        let mut xs = Vec::new();
        while r.read(&mut xs, 2)? > 0 {}
        Ok(xs)
    }

    fn read(s: &str, ints: bool) -> Result<Vec<f64>> {
        read_with(s, ints, false, None)
    }

    #[test]
    fn comments_blank_lines_and_whitespace_are_skipped() {
        assert_eq!(
            read("# head\n1.5\n\n  -2 # note\n3e2\n", false).unwrap(),
            vec![1.5, -2.0, 300.0]
        );
    }

    #[test]
    fn bad_tokens_name_their_line() {
        let e = read("1\n2\nabc\n", false).unwrap_err().to_string();
        assert!(
            e.contains("t.txt:3") && e.contains("'abc' is not a number"),
            "{e}"
        );
        let e = read("1\nNaN\n", false).unwrap_err().to_string();
        assert!(e.contains("t.txt:2: non-finite"), "{e}");
        assert!(read("inf\n", false).is_err());
        let e = read("1 2\n", false).unwrap_err().to_string();
        assert!(e.contains("expected one number per line"), "{e}");
        let e = read("1\n1 2\n", false).unwrap_err().to_string();
        assert!(e.contains(":2: expected one number per line"), "{e}");
        let e = read("1\n2.5\n", true).unwrap_err().to_string();
        assert!(e.contains(":2: value 2.5 is not an integer"), "{e}");
        let e = read("1\n\u{ff}\n", false);
        assert!(e.is_ok() || e.unwrap_err().to_string().contains(":2"));
    }

    #[test]
    fn columns_by_header_name_or_index_and_ragged_rows() {
        let s = "# data\nid value\n1 2.5\n2 3.5 # x\n";
        assert_eq!(
            read_with(s, false, false, Some("value")).unwrap(),
            vec![2.5, 3.5]
        );
        assert_eq!(
            read_with(s, false, false, Some("0")).unwrap(),
            vec![1.0, 2.0]
        );
        let e = read_with(s, false, false, Some("nope"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("column 'nope' not found") && e.contains("'value'"),
            "{e}"
        );
        let e = read_with(s, false, false, None).unwrap_err().to_string();
        assert!(e.contains("--column"), "{e}");
        let e = read_with("1 2\n3\n", false, false, Some("1"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(":2: ragged row: 1 fields, expected 2"), "{e}");
        let e = read_with("1 2\n", false, false, Some("2"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("out of range"), "{e}");
    }

    #[test]
    fn skip_nonfinite_drops_and_counts() {
        assert_eq!(
            read_with("1\nnan\ninf\n2\n", false, true, None).unwrap(),
            vec![1.0, 2.0]
        );
        // A lone header is not data.
        assert_eq!(read("value\n", false).unwrap(), Vec::<f64>::new());
    }
}
