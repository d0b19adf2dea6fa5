//! The byte stream under a reader: a file or stdin, counted for progress, decompressed.

use super::{Compression, Position, Source};
use crate::error::{Error, Result};
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// gzip's magic bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// zstd's frame magic, little-endian 0xFD2FB528.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// An opened input: the (decompressed) bytes, and what is known about them.
pub(crate) struct Opened {
    pub reader: Box<dyn Read + Send>,
    pub tracker: Tracker,
}

/// The compression in use and a counter of the raw bytes consumed, for progress.
pub(crate) struct Tracker {
    pub compression: Compression,
    counter: Arc<AtomicU64>,
    total: Option<u64>,
    /// The size of the decompressed data, where known (uncompressed regular files).
    pub data_len: Option<u64>,
}

impl Tracker {
    /// Bytes consumed so far, of the total where known.
    pub fn position(&self) -> Position {
        Position {
            bytes: self.counter.load(Ordering::Relaxed),
            total: self.total,
        }
    }
}

impl Opened {
    /// An in-memory input (tests).
    #[cfg(test)]
    pub fn from_bytes(bytes: Vec<u8>) -> Opened {
        let len = bytes.len() as u64;
        Opened {
            reader: Box::new(io::Cursor::new(bytes)),
            tracker: Tracker {
                compression: Compression::None,
                counter: Arc::new(AtomicU64::new(len)),
                total: Some(len),
                data_len: Some(len),
            },
        }
    }
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens the source. `compression` comes from the file name; with `sniff` (formats that cannot
/// start with a compressor's magic bytes: text, CSV/TSV, NPY) gzip and zstd streams are also
/// recognised by their first bytes.
pub(crate) fn open(source: &Source, compression: Compression, sniff: bool) -> Result<Opened> {
    let name = source.name();
    let counter = Arc::new(AtomicU64::new(0));
    let (raw, total): (Box<dyn Read + Send>, Option<u64>) = match source {
        Source::File(path) => {
            let io_err = |source| Error::Io {
                path: name.clone(),
                source,
            };
            let file = std::fs::File::open(path).map_err(io_err)?;
            let meta = file.metadata().map_err(io_err)?;
            if meta.is_dir() {
                return Err(io_err(io::Error::other("it is a directory")));
            }
            let total = meta.is_file().then_some(meta.len());
            (Box::new(file), total)
        }
        Source::Stdin => (Box::new(io::stdin()), None),
    };
    let counted = Counting {
        inner: raw,
        count: counter.clone(),
    };
    let mut buffered = io::BufReader::with_capacity(1 << 20, counted);
    let compression = match compression {
        Compression::None if sniff => {
            let head = peek(&mut buffered, &name)?;
            if head.starts_with(&GZIP_MAGIC) {
                Compression::Gzip
            } else if head.starts_with(&ZSTD_MAGIC) {
                Compression::Zstd
            } else {
                Compression::None
            }
        }
        c => c,
    };
    let reader: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(io::BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(buffered),
        )),
        Compression::Zstd => {
            let dec = ruzstd::decoding::StreamingDecoder::new(buffered)
                .map_err(|e| Error::input(format!("{name}: not a valid zstd stream: {e}")))?;
            Box::new(io::BufReader::with_capacity(1 << 20, dec))
        }
    };
    Ok(Opened {
        reader,
        tracker: Tracker {
            compression,
            counter,
            total,
            data_len: if compression == Compression::None {
                total
            } else {
                None
            },
        },
    })
}

/// Bytes `offset..offset + len` of an uncompressed file, counted for progress (a data shard's
/// part of the file; [`super::range`]).
pub(crate) fn open_file_range(
    path: &std::path::Path,
    name: &str,
    offset: u64,
    len: u64,
) -> Result<Opened> {
    use std::io::{Seek, SeekFrom};
    let io_err = |source| Error::Io {
        path: name.to_string(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io_err)?;
    file.seek(SeekFrom::Start(offset)).map_err(io_err)?;
    let counter = Arc::new(AtomicU64::new(0));
    let counted = Counting {
        inner: file.take(len),
        count: counter.clone(),
    };
    Ok(Opened {
        reader: Box::new(io::BufReader::with_capacity(1 << 20, counted)),
        tracker: Tracker {
            compression: Compression::None,
            counter,
            total: Some(len),
            data_len: Some(len),
        },
    })
}

/// The first bytes (up to 4) of a buffered reader, without consuming them.
fn peek<R: Read>(r: &mut io::BufReader<R>, name: &str) -> Result<Vec<u8>> {
    use io::BufRead;
    let buf = r.fill_buf().map_err(|source| Error::Io {
        path: name.to_string(),
        source,
    })?;
    Ok(buf[..buf.len().min(4)].to_vec())
}

/// Maps an I/O error while reading data to one line naming the input; corrupt compressed data
/// is the user's input.
pub(crate) fn read_error(name: &str, e: io::Error) -> Error {
    if let Some(t) = super::bounded::too_long(&e) {
        return Error::input(format!("{name}:{}: {t}", t.line));
    }
    Error::Io {
        path: name.to_string(),
        source: e,
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
pub(crate) fn read_full(r: &mut dyn Read, buf: &mut [u8], name: &str) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_error(name, e)),
        }
    }
    Ok(got)
}
