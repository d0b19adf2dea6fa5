//! NumPy `.npy` (format versions 1.0, 2.0 and 3.0): the header is parsed by the `npyz` crate;
//! the data are read in blocks and decoded here. Element types: `f2`, `f4`, `f8`, `i1`…`i8`,
//! `u1`…`u8` and `b1`, either byte order; C or Fortran order. A 1-D array (or a 0-D scalar) is
//! the data; of a 2-D array, one column (`--column INDEX`, 0-based; optional when there is one
//! column). Errors name the element by its 0-based index (`element i`, or `row i, column j`).

use super::check::Checker;
use super::raw::{decode, Kind};
use super::source::{read_error, read_full, Opened, Tracker};
use super::{Column, InputInfo, Position, SampleReader};
use crate::error::{Error, Result};
use npyz::{DType, Endianness, NpyHeader, Order, TypeChar};
use std::io::{self, Read};

/// Largest header accepted (NumPy writes a few hundred bytes; it refuses more than 10,000 by
/// default when loading).
const MAX_HEADER: usize = 1 << 20;

/// Deepest bracket nesting accepted in the header (a dict of a tuple: 2).
const MAX_DEPTH: usize = 8;

/// Bytes read per block.
const BLOCK_BYTES: usize = 1 << 20;

/// How the selected values lie in the data.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// One after another (1-D; or one column of a Fortran-order 2-D array, after skipping the
    /// columns before it).
    Flat,
    /// Column `col` of C-order rows of `cols` elements.
    Rows { cols: u64, col: u64 },
}

/// Reader of `.npy` data.
pub(crate) struct NpyReader {
    r: Box<dyn Read + Send>,
    tracker: Tracker,
    info: InputInfo,
    check: Checker,
    kind: Kind,
    big: bool,
    layout: Layout,
    /// The column read from a 2-D array (for messages).
    column: Option<u64>,
    /// Values of the selected column still to read, and read so far.
    remaining: u64,
    index: u64,
    /// Values the header promises.
    expected: u64,
    /// Byte offset in the file of the first selected value (after the header, and the columns
    /// skipped in a Fortran-order array).
    data_offset: u64,
    buf: Vec<u8>,
    picked: Vec<u8>,
}

/// A header error, on one line (the parser's messages span several).
fn malformed(name: &str, what: impl std::fmt::Display) -> Error {
    let what = what.to_string();
    let parts: Vec<&str> = what
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "|")
        .collect();
    let mut text = parts.join(" ");
    // The parser may quote the header (up to MAX_HEADER bytes): keep the message short.
    if let Some((cut, _)) = text.char_indices().nth(200) {
        text.truncate(cut);
        text.push('…');
    }
    Error::input(format!("{name}: malformed NPY header: {text}"))
}

/// Checks the header text before it reaches the parser: bounded nesting, and integers that
/// cannot overflow a shape product (no radix prefixes or digit separators, and the product of
/// every run of digits fits in 64 bits).
fn precheck(text: &str) -> std::result::Result<(), String> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[' | '{') => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err("nested too deeply".into());
                }
            }
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let bytes = text.as_bytes();
    let mut product: u64 = 1;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let next = bytes.get(i).copied().unwrap_or(b' ');
        if next == b'_' || (start > 0 && bytes[start - 1] == b'_') {
            return Err("digit separators in numbers".into());
        }
        if &text[start..i] == "0" && matches!(next, b'x' | b'X' | b'o' | b'O' | b'b' | b'B') {
            return Err("non-decimal integers".into());
        }
        let v: u64 = text[start..i]
            .parse()
            .map_err(|_| "a number too large for a shape".to_string())?;
        product = product
            .checked_mul(v.max(1))
            .ok_or_else(|| "shape too large".to_string())?;
    }
    Ok(())
}

/// The element kind of a plain dtype, or a description of why it is not supported.
fn kind_of(dtype: &DType) -> std::result::Result<(Kind, bool), String> {
    let ts = match dtype {
        DType::Plain(ts) => ts,
        DType::Record(_) => return Err("a structured (record) dtype".into()),
        DType::Array(..) => return Err("a sub-array dtype".into()),
    };
    let size = ts.size_field();
    let kind = match (ts.type_char(), size) {
        (TypeChar::Bool, 1) => Kind::Bool,
        (TypeChar::Float, 2) => Kind::F16,
        (TypeChar::Float, 4) => Kind::F32,
        (TypeChar::Float, 8) => Kind::F64,
        (TypeChar::Int, 1) => Kind::I8,
        (TypeChar::Int, 2) => Kind::I16,
        (TypeChar::Int, 4) => Kind::I32,
        (TypeChar::Int, 8) => Kind::I64,
        (TypeChar::Uint, 1) => Kind::U8,
        (TypeChar::Uint, 2) => Kind::U16,
        (TypeChar::Uint, 4) => Kind::U32,
        (TypeChar::Uint, 8) => Kind::U64,
        (TypeChar::Float, _) => return Err(format!("{size}-byte floats")),
        (TypeChar::Complex, _) => return Err("complex numbers".into()),
        (TypeChar::ByteStr | TypeChar::UnicodeStr, _) => return Err("strings".into()),
        (TypeChar::Object, _) => return Err("Python objects".into()),
        (TypeChar::TimeDelta | TypeChar::DateTime, _) => return Err("dates or time deltas".into()),
        (TypeChar::RawData, _) => return Err("raw bytes (void)".into()),
        _ => return Err("an unknown kind".into()),
    };
    Ok((kind, ts.endianness() == Endianness::Big))
}

impl NpyReader {
    /// Reads and checks the header; positions the reader at the first selected value.
    pub fn new(
        opened: Opened,
        mut info: InputInfo,
        check: Checker,
        column: Option<Column>,
    ) -> Result<NpyReader> {
        let name = info.name.clone();
        let mut r = opened.reader;
        let mut pre = [0u8; 8];
        let got = read_full(&mut r, &mut pre, &name)?;
        if got < 8 || &pre[..6] != b"\x93NUMPY" {
            return Err(Error::input(format!(
                "{name}: not an NPY file (no \\x93NUMPY magic at the start{})",
                if got < 8 { "; too short" } else { "" }
            )));
        }
        let len_bytes = match (pre[6], pre[7]) {
            (1, 0) => 2,
            (2, 0) | (3, 0) => 4,
            (a, b) => {
                return Err(malformed(
                    &name,
                    format!("unsupported format version {a}.{b}"),
                ))
            }
        };
        let mut lb = [0u8; 4];
        if read_full(&mut r, &mut lb[..len_bytes], &name)? < len_bytes {
            return Err(malformed(&name, "truncated before the header length"));
        }
        let header_len = u32::from_le_bytes(lb) as usize;
        if header_len > MAX_HEADER {
            return Err(malformed(
                &name,
                format!("header length {header_len} bytes is implausible"),
            ));
        }
        let mut text = vec![0u8; header_len];
        let got = read_full(&mut r, &mut text, &name)?;
        if got < header_len {
            return Err(malformed(
                &name,
                format!(
                    "truncated: the header should be {header_len} bytes, the file ends after {got}"
                ),
            ));
        }
        let s = std::str::from_utf8(&text).map_err(|_| malformed(&name, "not UTF-8 text"))?;
        precheck(s).map_err(|e| malformed(&name, e))?;
        let mut whole = pre.to_vec();
        whole.extend_from_slice(&lb[..len_bytes]);
        whole.extend_from_slice(&text);
        let header =
            NpyHeader::from_reader(io::Cursor::new(whole)).map_err(|e| malformed(&name, e))?;
        let dtype = header.dtype();
        let (kind, big) = kind_of(&dtype).map_err(|what| {
            Error::input(format!(
                "{name}: unsupported NPY dtype {} ({what}); klgrid reads floats, integers and \
                 booleans",
                crate::guard::quote(&dtype.descr())
            ))
        })?;
        let shape = header.shape().to_vec();
        let total = shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .ok_or_else(|| malformed(&name, "shape too large"))?;
        let data_bytes = total
            .checked_mul(kind.size() as u64)
            .ok_or_else(|| malformed(&name, "shape too large"))?;
        let offset = (8 + len_bytes + header_len) as u64;
        let shape_text = format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Some(len) = opened.tracker.data_len {
            let avail = len.saturating_sub(offset);
            if avail < data_bytes {
                return Err(Error::input(format!(
                    "{name}: truncated NPY data: shape {shape_text} of {} needs {data_bytes} \
                     bytes, the file holds {avail}",
                    dtype.descr()
                )));
            }
        }
        let mut data_offset = offset;
        let (layout, count, col) = match (shape.len(), &column) {
            (0, None) | (1, None) => (Layout::Flat, total, None),
            (0 | 1, Some(c)) => {
                return Err(Error::input(format!(
                    "{name}: --column {} given, but the array is 1-D (shape {shape_text})",
                    crate::guard::quote(&c.text())
                )))
            }
            (2, c) => {
                let (rows, cols) = (shape[0], shape[1]);
                let j = match c {
                    None if cols == 1 => 0,
                    None => {
                        return Err(Error::input(format!(
                            "{name}: 2-D array of shape {shape_text}: pick a column with \
                             --column INDEX (0..{})",
                            cols.saturating_sub(1)
                        )))
                    }
                    Some(Column::Index(j)) if (*j as u64) < cols => *j as u64,
                    Some(c) => {
                        return Err(Error::input(format!(
                            "{name}: column '{}' not found: a 2-D array of shape {shape_text} \
                             has columns 0..{} (by index; NPY columns have no names)",
                            crate::guard::quote(&c.text()),
                            cols.saturating_sub(1)
                        )))
                    }
                };
                if header.order() == Order::Fortran || cols == 1 {
                    // Column j is contiguous: skip the columns before it.
                    let skip = j * rows * kind.size() as u64;
                    let skipped = io::copy(&mut (&mut r).take(skip), &mut io::sink())
                        .map_err(|e| read_error(&name, e))?;
                    if skipped < skip {
                        return Err(Error::input(format!(
                            "{name}: truncated NPY data: the file ends before column {j}"
                        )));
                    }
                    data_offset += skip;
                    (Layout::Flat, rows, Some(j))
                } else {
                    (Layout::Rows { cols, col: j }, rows, Some(j))
                }
            }
            (d, _) => {
                return Err(Error::input(format!(
                    "{name}: {d}-D array (shape {}); klgrid reads a 1-D array or one column of \
                     a 2-D array",
                    crate::guard::quote(&shape_text)
                )))
            }
        };
        let order = if header.order() == Order::Fortran {
            ", Fortran order"
        } else {
            ""
        };
        info.detail = Some(match col {
            Some(j) => format!("{} {shape_text}{order}, column {j}", dtype.descr()),
            None => format!("{} {shape_text}", dtype.descr()),
        });
        Ok(NpyReader {
            r,
            tracker: opened.tracker,
            info,
            check,
            kind,
            big,
            layout,
            column: col,
            remaining: count,
            index: 0,
            expected: count,
            data_offset,
            buf: Vec::new(),
            picked: Vec::new(),
        })
    }

    /// Number of values selected (the data set's size).
    pub(crate) fn len(&self) -> u64 {
        self.expected
    }

    /// Byte offset in the file of the bytes holding value `s` (its row, for C-order columns).
    pub(crate) fn byte_of(&self, s: u64) -> u64 {
        let size = self.kind.size() as u64;
        match self.layout {
            Layout::Flat => self.data_offset + s * size,
            Layout::Rows { cols, .. } => self.data_offset + s * cols * size,
        }
    }

    /// Restricts the reader to values `start..end` (a data shard), reading them from `r`, which
    /// starts at byte [`NpyReader::byte_of`]`(start)` of the file; errors keep naming elements
    /// by their index in the whole array.
    pub(crate) fn restrict(
        &mut self,
        r: Box<dyn Read + Send>,
        tracker: Tracker,
        start: u64,
        end: u64,
    ) {
        self.r = r;
        self.tracker = tracker;
        self.index = start;
        self.remaining = end.saturating_sub(start);
    }

    fn truncated(&self, got: u64) -> Error {
        Error::input(format!(
            "{}: truncated NPY data: expected {} values, the file ends after {got}",
            self.info.name, self.expected
        ))
    }

    /// Reads the next (up to) `n` selected values' bytes into `self.picked`.
    fn next_bytes(&mut self, n: u64) -> Result<()> {
        let size = self.kind.size();
        let name = self.info.name.clone();
        self.picked.clear();
        match self.layout {
            Layout::Flat => {
                self.picked.resize(n as usize * size, 0);
                let got = read_full(&mut self.r, &mut self.picked, &name)?;
                if got < self.picked.len() {
                    return Err(self.truncated(self.index + (got / size) as u64));
                }
            }
            Layout::Rows { cols, col } => {
                let row_bytes = cols as usize * size;
                let off = col as usize * size;
                if row_bytes <= BLOCK_BYTES {
                    self.buf.resize(n as usize * row_bytes, 0);
                    let got = read_full(&mut self.r, &mut self.buf, &name)?;
                    if got < self.buf.len() {
                        return Err(self.truncated(self.index + (got / row_bytes) as u64));
                    }
                    for row in self.buf.chunks_exact(row_bytes) {
                        self.picked.extend_from_slice(&row[off..off + size]);
                    }
                } else {
                    // Wide rows: skip to the value, read it, skip the rest of the row.
                    for k in 0..n {
                        let before = off as u64;
                        let after = (row_bytes - off - size) as u64;
                        let mut v = [0u8; 8];
                        let skipped = io::copy(&mut (&mut self.r).take(before), &mut io::sink())
                            .map_err(|e| read_error(&name, e))?;
                        let got = read_full(&mut self.r, &mut v[..size], &name)?;
                        let rest = if k + 1 < self.remaining {
                            io::copy(&mut (&mut self.r).take(after), &mut io::sink())
                                .map_err(|e| read_error(&name, e))?
                        } else {
                            after
                        };
                        if skipped < before || got < size || rest < after {
                            return Err(self.truncated(self.index + k));
                        }
                        self.picked.extend_from_slice(&v[..size]);
                    }
                }
            }
        }
        Ok(())
    }
}

impl SampleReader for NpyReader {
    fn read(&mut self, out: &mut Vec<f64>, max: usize) -> Result<usize> {
        let start = out.len();
        let size = self.kind.size();
        let per_block = match self.layout {
            Layout::Flat => BLOCK_BYTES / size,
            Layout::Rows { cols, .. } => (BLOCK_BYTES / (cols as usize * size)).max(1),
        } as u64;
        while self.remaining > 0 && out.len() == start && max > 0 {
            let n = self.remaining.min(per_block).min(max as u64);
            self.next_bytes(n)?;
            let from = out.len();
            decode(self.kind, self.big, &self.picked, out);
            let (base, name, column) = (self.index, &self.info.name, self.column);
            self.check.keep_slice(out, from, |i| match column {
                Some(j) => format!("{name}: row {}, column {j}", base + i as u64),
                None => format!("{name}: element {}", base + i as u64),
            })?;
            self.index += n;
            self.remaining -= n;
        }
        Ok(out.len() - start)
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

    fn len_hint(&self) -> Option<u64> {
        Some(self.expected)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::{Compression, Format};
    use super::*;

    /// An NPY file (version 1.0) with this header dict and data.
    pub fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let dict = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        let mut h = dict.into_bytes();
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(b' ');
        }
        h.push(b'\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out
    }

    fn read(bytes: Vec<u8>, column: Option<&str>, skip: bool) -> Result<Vec<f64>> {
        let info = InputInfo {
            name: "t.npy".into(),
            format: Format::Npy,
            compression: Compression::None,
            detail: None,
        };
        let mut r = NpyReader::new(
            Opened::from_bytes(bytes),
            info,
            Checker::new(false, skip),
            column.map(Column::parse),
        )?;
        let mut xs = Vec::new();
        while r.read(&mut xs, 2)? > 0 {}
        Ok(xs)
    }

    fn le<T: Copy>(v: &[T], f: impl Fn(T) -> Vec<u8>) -> Vec<u8> {
        v.iter().flat_map(|&x| f(x)).collect()
    }

    #[test]
    fn dtypes_byte_orders_and_orders() {
        let d = le(&[1.5f64, -2.0, 3.25], |x| x.to_le_bytes().to_vec());
        assert_eq!(
            read(npy("<f8", false, "(3,)", &d), None, false).unwrap(),
            vec![1.5, -2.0, 3.25]
        );
        let d = le(&[1.5f32, -2.0], |x| x.to_be_bytes().to_vec());
        assert_eq!(
            read(npy(">f4", false, "(2,)", &d), None, false).unwrap(),
            vec![1.5, -2.0]
        );
        let d = le(&[-7i64, 9], |x| x.to_be_bytes().to_vec());
        assert_eq!(
            read(npy(">i8", false, "(2,)", &d), None, false).unwrap(),
            vec![-7.0, 9.0]
        );
        assert_eq!(
            read(npy("|u1", false, "(3,)", &[0, 7, 255]), None, false).unwrap(),
            vec![0.0, 7.0, 255.0]
        );
        // 3 rows × 2 columns: C order row by row, Fortran order column by column.
        let c = le(&[1i32, 10, 2, 20, 3, 30], |x| x.to_le_bytes().to_vec());
        let f = le(&[1i32, 2, 3, 10, 20, 30], |x| x.to_le_bytes().to_vec());
        for (bytes, fortran) in [(c, false), (f, true)] {
            let file = npy("<i4", fortran, "(3, 2)", &bytes);
            assert_eq!(
                read(file.clone(), Some("1"), false).unwrap(),
                vec![10.0, 20.0, 30.0]
            );
            assert_eq!(
                read(file.clone(), Some("0"), false).unwrap(),
                vec![1.0, 2.0, 3.0]
            );
            let e = read(file.clone(), None, false).unwrap_err().to_string();
            assert!(e.contains("--column INDEX (0..1)"), "{e}");
            let e = read(file, Some("2"), false).unwrap_err().to_string();
            assert!(e.contains("column '2' not found"), "{e}");
        }
        // A 0-D array is one value.
        assert_eq!(
            read(npy("<f8", false, "()", &2.5f64.to_le_bytes()), None, false).unwrap(),
            vec![2.5]
        );
    }

    #[test]
    fn bad_files_are_one_line_errors() {
        let d = le(&[1.0f64, 2.0], |x| x.to_le_bytes().to_vec());
        let full = npy("<f8", false, "(3,)", &d);
        let e = read(full, None, false).unwrap_err().to_string();
        assert!(e.contains("truncated NPY data"), "{e}");
        let e = read(b"hello".to_vec(), None, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an NPY file"), "{e}");
        let f = npy("<f8", false, "(2,)", &d);
        let e = read(f[..20].to_vec(), None, false).unwrap_err().to_string();
        assert!(
            e.contains("malformed NPY header") && e.contains("truncated"),
            "{e}"
        );
        for (descr, what) in [
            ("<c16", "complex"),
            ("<U3", "strings"),
            ("|S3", "strings"),
            ("|O", "objects"),
            ("<M8[s]", "dates"),
        ] {
            let e = read(npy(descr, false, "(1,)", &[0; 16]), None, false)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("unsupported NPY dtype") && e.contains(what),
                "{e}"
            );
        }
        let e = read(npy("<f8", false, "(1, 1, 1)", &[0; 8]), None, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("3-D array"), "{e}");
        let e = read(
            npy("<f8", false, "(99999999999, 99999999999)", &[]),
            None,
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("shape too large"), "{e}");
        let e = read(npy("<f8", false, "(0x10,)", &[]), None, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("malformed"), "{e}");
        let nan = le(&[1.0f64, f64::NAN], |x| x.to_le_bytes().to_vec());
        let e = read(npy("<f8", false, "(2,)", &nan), None, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.npy: element 1: non-finite"), "{e}");
        assert_eq!(
            read(npy("<f8", false, "(2,)", &nan), None, true).unwrap(),
            vec![1.0]
        );
    }
}
