//! The byte stream under the text-like readers (text, CSV, TSV), after decompression:
//!
//! * a UTF-8 byte-order mark (EF BB BF) at the start is dropped, so that the first value is not
//!   taken for a header or rejected;
//! * no line is longer than [`MAX_LINE`] bytes — an endless line (`/dev/zero` read as text, a
//!   stream without line breaks) is an error naming the line and quoting its start, after at
//!   most [`MAX_LINE`] bytes, never an ever-growing buffer;
//! * for CSV/TSV, no record is longer than [`MAX_LINE`] bytes either (a quoted field can span
//!   lines: an unclosed quote would otherwise swallow the rest of the input into one field). The
//!   reader marks where its last record ended ([`Bounded::record_mark`]); more than
//!   [`MAX_LINE`] + `slack` bytes past that mark is an error.
//!
//! The errors are [`std::io::Error`]s carrying a [`TooLong`], so that they pass through the
//! `csv` crate and `BufRead`; [`super::source::read_error`] turns them into input errors.

use crate::guard::{fmt_bytes, quote_start};
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Longest line (and CSV record) accepted, in bytes: 1 MiB.
pub(crate) const MAX_LINE: usize = 1 << 20;

/// Bytes of a line kept to quote its start in an error.
const HEAD: usize = 256;

/// UTF-8 byte-order mark.
const BOM: [u8; 3] = [0xef, 0xbb, 0xbf];

/// A line or record longer than [`MAX_LINE`].
#[derive(Debug)]
pub(crate) struct TooLong {
    /// 1-based line where the long line starts, or where the reader was inside a long record.
    pub line: u64,
    /// The first bytes of the long line.
    pub head: Vec<u8>,
    /// A CSV record (spanning lines) rather than one line.
    pub record: bool,
}

impl std::fmt::Display for TooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.record {
            write!(
                f,
                "a record longer than {} is still open here: an unclosed quote?",
                fmt_bytes(MAX_LINE as u64)
            )
        } else {
            write!(
                f,
                "line longer than {} (it starts '{}'): not text data, or data without line breaks",
                fmt_bytes(MAX_LINE as u64),
                quote_start(&self.head)
            )
        }
    }
}

impl std::error::Error for TooLong {}

/// The [`TooLong`] inside an I/O error, if that is what it is.
pub(crate) fn too_long(e: &io::Error) -> Option<&TooLong> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<TooLong>())
}

/// A reader that drops a leading BOM and bounds line (and record) lengths; see the module
/// documentation.
pub(crate) struct Bounded {
    inner: Box<dyn Read + Send>,
    /// The first bytes, read to look for a BOM, not yet handed out.
    start: Vec<u8>,
    started: bool,
    /// Bytes since the last `\n` or `\r`.
    since_break: usize,
    /// `\n` seen so far.
    newlines: u64,
    /// The first bytes of the current line.
    head: Vec<u8>,
    /// Bytes handed out.
    passed: u64,
    /// Where the consumer's last record ended, and how far past it the input may run.
    record: Option<(Arc<AtomicU64>, u64)>,
}

impl Bounded {
    /// Bounds lines only (text).
    pub fn lines(inner: Box<dyn Read + Send>) -> Bounded {
        Bounded {
            inner,
            start: Vec::new(),
            started: false,
            since_break: 0,
            newlines: 0,
            head: Vec::new(),
            passed: 0,
            record: None,
        }
    }

    /// Bounds lines and records (CSV/TSV): the consumer stores the byte offset where its last
    /// record ended in the returned mark; `slack` is how far it may read ahead of what it has
    /// parsed (its buffer size).
    pub fn records(inner: Box<dyn Read + Send>, slack: u64) -> (Bounded, Arc<AtomicU64>) {
        let mark = Arc::new(AtomicU64::new(0));
        let mut b = Bounded::lines(inner);
        b.record = Some((mark.clone(), MAX_LINE as u64 + slack));
        (b, mark)
    }

    /// Reads the first three bytes and drops them if they are a BOM.
    fn start(&mut self) -> io::Result<()> {
        let mut first = [0u8; 3];
        let mut got = 0;
        while got < 3 {
            match self.inner.read(&mut first[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.started = true;
        if first[..got] != BOM {
            self.start = first[..got].to_vec();
        }
        Ok(())
    }

    /// Accounts for `chunk`, about to be handed out.
    fn scan(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.newlines += memchr::memchr_iter(b'\n', chunk).count() as u64;
        match memchr::memrchr2(b'\n', b'\r', chunk) {
            Some(p) => {
                let rest = &chunk[p + 1..];
                self.since_break = rest.len();
                self.head.clear();
                self.head.extend_from_slice(&rest[..rest.len().min(HEAD)]);
            }
            None => {
                self.since_break += chunk.len();
                let room = HEAD.saturating_sub(self.head.len()).min(chunk.len());
                self.head.extend_from_slice(&chunk[..room]);
            }
        }
        if self.since_break > MAX_LINE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                TooLong {
                    line: self.newlines + 1,
                    head: std::mem::take(&mut self.head),
                    record: false,
                },
            ));
        }
        self.passed += chunk.len() as u64;
        if let Some((mark, limit)) = &self.record {
            if self.passed.saturating_sub(mark.load(Ordering::Relaxed)) > *limit {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    TooLong {
                        line: self.newlines + 1,
                        head: Vec::new(),
                        record: true,
                    },
                ));
            }
        }
        Ok(())
    }
}

impl Read for Bounded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.started {
            self.start()?;
        }
        let n = if !self.start.is_empty() {
            let n = self.start.len().min(buf.len());
            buf[..n].copy_from_slice(&self.start[..n]);
            self.start.drain(..n);
            n
        } else {
            self.inner.read(buf)?
        };
        self.scan(&buf[..n])?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(r: &mut dyn Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn a_leading_bom_is_dropped_and_nothing_else() {
        let mut b = Bounded::lines(Box::new(io::Cursor::new(b"\xef\xbb\xbf1\n2\n".to_vec())));
        assert_eq!(read_all(&mut b).unwrap(), b"1\n2\n");
        for s in [&b"12"[..], b"", b"\xef\xbb", b"1\xef\xbb\xbf"] {
            let mut b = Bounded::lines(Box::new(io::Cursor::new(s.to_vec())));
            assert_eq!(read_all(&mut b).unwrap(), s);
        }
    }

    #[test]
    fn an_endless_line_fails_after_max_line_bytes_naming_it() {
        let mut data = b"1\n2\n".to_vec();
        data.extend(std::iter::repeat_n(b'7', MAX_LINE + 10));
        let mut b = Bounded::lines(Box::new(io::Cursor::new(data)));
        let e = read_all(&mut b).unwrap_err();
        let t = too_long(&e).expect("a TooLong");
        assert_eq!(t.line, 3);
        let msg = t.to_string();
        assert!(
            msg.starts_with("line longer than 1.0 MiB (it starts '7777"),
            "{msg}"
        );
        assert!(msg.len() < 300, "{msg}");
        // Lines up to the limit pass, with any line ending.
        let mut ok = vec![b'1'; MAX_LINE];
        ok.extend_from_slice(b"\r\n");
        ok.extend(vec![b'2'; MAX_LINE]);
        let mut b = Bounded::lines(Box::new(io::Cursor::new(ok.clone())));
        assert_eq!(read_all(&mut b).unwrap(), ok);
    }

    #[test]
    fn a_record_that_never_ends_fails_even_with_short_lines() {
        let data: Vec<u8> = b"\""
            .iter()
            .chain(b"a\n".repeat(2 * MAX_LINE).iter())
            .copied()
            .collect();
        let (mut b, _mark) = Bounded::records(Box::new(io::Cursor::new(data)), 1 << 16);
        let e = read_all(&mut b).unwrap_err();
        assert!(too_long(&e).is_some_and(|t| t.record), "{e}");
    }
}
