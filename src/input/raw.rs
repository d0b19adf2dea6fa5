//! Raw binary: little-endian IEEE-754 `f32` or `f64` values one after another, no header; and
//! the decoding of fixed-size numeric elements shared with the NPY reader.

use super::check::Checker;
use super::source::{read_full, Opened, Tracker};
use super::{InputInfo, Position, SampleReader};
use crate::error::{Error, Result};
use std::io::Read;

/// A numeric element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    F16,
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
}

impl Kind {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Kind::Bool | Kind::I8 | Kind::U8 => 1,
            Kind::F16 | Kind::I16 | Kind::U16 => 2,
            Kind::F32 | Kind::I32 | Kind::U32 => 4,
            Kind::F64 | Kind::I64 | Kind::U64 => 8,
        }
    }
}

/// IEEE-754 half precision to f64 (exact).
fn f16_to_f64(h: u16) -> f64 {
    let sign = if h >> 15 == 1 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let man = (h & 0x3ff) as f64;
    sign * match exp {
        0 => man * 2f64.powi(-24),
        31 if man == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1024.0 + man) * 2f64.powi(e - 25),
    }
}

/// Appends the elements in `bytes` (whole elements of `kind`, big- or little-endian) to `out`
/// as f64 (exact for floats and for integers up to 2⁵³).
pub(crate) fn decode(kind: Kind, big: bool, bytes: &[u8], out: &mut Vec<f64>) {
    macro_rules! conv {
        ($t:ty, $n:expr) => {
            out.extend(bytes.chunks_exact($n).map(|c| {
                let mut a = [0u8; $n];
                a.copy_from_slice(c);
                (if big {
                    <$t>::from_be_bytes(a)
                } else {
                    <$t>::from_le_bytes(a)
                }) as f64
            }))
        };
    }
    match kind {
        Kind::Bool => out.extend(bytes.iter().map(|&b| if b != 0 { 1.0 } else { 0.0 })),
        Kind::F16 => out.extend(bytes.chunks_exact(2).map(|c| {
            let a = [c[0], c[1]];
            f16_to_f64(if big {
                u16::from_be_bytes(a)
            } else {
                u16::from_le_bytes(a)
            })
        })),
        Kind::F32 => conv!(f32, 4),
        Kind::F64 => conv!(f64, 8),
        Kind::I8 => conv!(i8, 1),
        Kind::I16 => conv!(i16, 2),
        Kind::I32 => conv!(i32, 4),
        Kind::I64 => conv!(i64, 8),
        Kind::U8 => conv!(u8, 1),
        Kind::U16 => conv!(u16, 2),
        Kind::U32 => conv!(u32, 4),
        Kind::U64 => conv!(u64, 8),
    }
}

/// Elements decoded per block.
const BLOCK: usize = 1 << 16;

/// Reader of raw little-endian floats. Errors name the element by its 0-based index.
pub(crate) struct RawReader {
    r: Box<dyn Read + Send>,
    tracker: Tracker,
    info: InputInfo,
    check: Checker,
    kind: Kind,
    buf: Vec<u8>,
    /// Elements consumed so far (kept or dropped).
    index: u64,
    done: bool,
}

impl RawReader {
    /// `size` is 4 (f32) or 8 (f64). A regular file whose length is not a whole number of
    /// elements is refused before anything is read.
    pub fn new(opened: Opened, info: InputInfo, check: Checker, size: usize) -> Result<RawReader> {
        let kind = if size == 4 { Kind::F32 } else { Kind::F64 };
        if let Some(len) = opened.tracker.data_len {
            if len % size as u64 != 0 {
                return Err(truncated(&info, len, size));
            }
        }
        Ok(RawReader {
            r: opened.reader,
            tracker: opened.tracker,
            info,
            check,
            kind,
            buf: Vec::new(),
            index: 0,
            done: false,
        })
    }
}

impl RawReader {
    /// The reader of a part of the data that starts at element `index` (a data shard, reading
    /// a byte range of the file): errors name elements by their index in the whole file.
    pub(crate) fn starting_at(mut self, index: u64) -> RawReader {
        self.index = index;
        self
    }
}

fn truncated(info: &InputInfo, len: u64, size: usize) -> Error {
    Error::input(format!(
        "{}: {len} bytes is not a whole number of {} values ({size} bytes each): truncated, or \
         not raw little-endian {}",
        info.name,
        info.format.name(),
        info.format.name()
    ))
}

impl SampleReader for RawReader {
    fn read(&mut self, out: &mut Vec<f64>, max: usize) -> Result<usize> {
        let size = self.kind.size();
        let start = out.len();
        while !self.done && out.len() == start && max > 0 {
            let want = max.min(BLOCK);
            self.buf.resize(want * size, 0);
            let got = read_full(&mut self.r, &mut self.buf, &self.info.name)?;
            if got < self.buf.len() {
                self.done = true;
                if got % size != 0 {
                    let len = self.index * size as u64 + got as u64;
                    return Err(truncated(&self.info, len, size));
                }
            }
            let from = out.len();
            decode(self.kind, false, &self.buf[..got], out);
            let base = self.index;
            let name = &self.info.name;
            self.check.keep_slice(out, from, |i| {
                format!("{name}: element {}", base + i as u64)
            })?;
            self.index += (got / size) as u64;
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
        self.tracker
            .data_len
            .map(|len| len / self.kind.size() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Compression, Format};
    use super::*;

    #[test]
    fn decodes_every_kind_in_both_byte_orders() {
        let mut out = Vec::new();
        decode(Kind::I16, true, &[0xff, 0xfe, 0x01, 0x00], &mut out);
        decode(Kind::U16, false, &[0xff, 0xfe], &mut out);
        decode(Kind::F32, false, &1.5f32.to_le_bytes(), &mut out);
        decode(Kind::F64, true, &(-2.25f64).to_be_bytes(), &mut out);
        decode(Kind::Bool, false, &[0, 1, 2], &mut out);
        // Half precision: 1.0, -2.0, 65504 (max), 2⁻²⁴ (smallest subnormal).
        for (h, v) in [
            (0x3c00u16, 1.0),
            (0xc000, -2.0),
            (0x7bff, 65504.0),
            (0x0001, 2f64.powi(-24)),
        ] {
            assert_eq!(f16_to_f64(h), v);
        }
        assert!(f16_to_f64(0x7e00).is_nan() && f16_to_f64(0x7c00) == f64::INFINITY);
        assert_eq!(out, vec![-2.0, 256.0, 65279.0, 1.5, -2.25, 0.0, 1.0, 1.0]);
    }

    fn reader(bytes: Vec<u8>, skip: bool) -> Result<RawReader> {
        let info = InputInfo {
            name: "t.f32".into(),
            format: Format::F32,
            compression: Compression::None,
            detail: None,
        };
        RawReader::new(
            Opened::from_bytes(bytes),
            info,
            Checker::new(false, skip),
            4,
        )
    }

    #[test]
    fn raw_values_non_finite_elements_and_truncation() {
        let vals = [1.0f32, f32::NAN, 3.0];
        let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let e = reader(bytes[..11].to_vec(), false)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("11 bytes is not a whole number of f32"), "{e}");
        let mut r = reader(bytes.clone(), false).unwrap();
        let e = r.read(&mut Vec::new(), 10).unwrap_err().to_string();
        assert!(
            e.contains("t.f32: element 1: non-finite value 'NaN'"),
            "{e}"
        );
        let mut r = reader(bytes, true).unwrap();
        let mut xs = Vec::new();
        while r.read(&mut xs, 2).unwrap() > 0 {}
        assert_eq!((xs, r.skipped_nonfinite()), (vec![1.0, 3.0], 1));
    }
}
