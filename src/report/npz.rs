//! NPZ report (`numpy.load`): a zip of `.npy` arrays, stored uncompressed as `numpy.savez` does.
//!
//! - one 1-D array per column of the CSV, same names (`index`, the parameters, `loglik`,
//!   `mean_loglik`, `cross_entropy`, `outside_support`, `kl`, `kl_exact`), one element per listed
//!   grid point in grid order: `<f8` (−∞, +∞ and NaN as IEEE values, as CSV writes them), `index`
//!   and `outside_support` `<i8`;
//! - `axis_<name>`: the grid values of each parameter's axis (`<f8`), whatever `--points`;
//! - `metadata`: the JSON document without `points` (`--points none`), as a 0-d `<U` string
//!   array: `json.loads(str(f["metadata"]))`.
//!
//! The archive is written front to back (entries with data descriptors), so it streams to a pipe
//! as well as to a file; entries of 4 GiB or more are ZIP64.

use super::columns::Columns;
use super::{json, Points, Report};
use npyz::WriterBuilder;
use rayon::prelude::*;
use std::io::{self, BufWriter, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// Bytes of a `.npy` header, at most (numpy pads it to a multiple of 64).
const NPY_HEADER_MAX: u64 = 4096;

fn zip_err(e: zip::result::ZipError) -> io::Error {
    match e {
        zip::result::ZipError::Io(e) => e,
        e => io::Error::other(e),
    }
}

/// Options of an entry of `bytes` bytes of payload.
fn entry(bytes: u64) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(bytes + NPY_HEADER_MAX >= u64::from(u32::MAX))
}

/// A value of a `.npy` column: its dtype and little-endian bytes.
trait Element: npyz::AutoSerialize + Copy + Send {
    fn le_bytes(self) -> [u8; 8];
}

impl Element for f64 {
    fn le_bytes(self) -> [u8; 8] {
        self.to_le_bytes()
    }
}

impl Element for i64 {
    fn le_bytes(self) -> [u8; 8] {
        self.to_le_bytes()
    }
}

/// Values per block of a column's data: one block is generated (in parallel) while the one
/// before it is written.
const BLOCK_VALUES: usize = 1 << 16;

/// Values per task of a block's generation.
const TASK_VALUES: usize = 1 << 12;

/// Writes a 1-D array of `len` values, value k = `value(k)`, as entry `name`: the header by
/// npyz, the data as little-endian bytes in blocks of [`BLOCK_VALUES`], each generated on the
/// thread pool while the block before it goes to the writer (bytes and order as one value after
/// the other).
fn array<Z: Write + io::Seek, T: Element>(
    zip: &mut ZipWriter<Z>,
    name: &str,
    len: usize,
    value: impl Fn(usize) -> T + Sync,
) -> io::Result<()> {
    zip.start_file(
        npyz::npz::file_name_from_array_name(name),
        entry(8 * len as u64),
    )
    .map_err(zip_err)?;
    npyz::WriteOptions::new_header_only()
        .dtype(T::default_dtype())
        .shape(&[len as u64])
        .writer(&mut *zip)
        .write_header_only()?;
    let fill = |buf: &mut Vec<u8>, start: usize| {
        let end = (start + BLOCK_VALUES).min(len);
        buf.resize(8 * (end - start), 0);
        buf.par_chunks_mut(8 * TASK_VALUES)
            .enumerate()
            .for_each(|(t, out)| {
                let first = start + t * TASK_VALUES;
                for (j, b) in out.chunks_exact_mut(8).enumerate() {
                    b.copy_from_slice(&value(first + j).le_bytes());
                }
            });
    };
    let cap = 8 * BLOCK_VALUES.min(len);
    let (mut cur, mut next) = (Vec::with_capacity(cap), Vec::with_capacity(cap));
    fill(&mut cur, 0);
    let mut start = 0;
    while start < len {
        let after = start + BLOCK_VALUES;
        rayon::in_place_scope(|s| {
            if after < len {
                s.spawn(|_| fill(&mut next, after));
            }
            zip.write_all(&cur)
        })?;
        std::mem::swap(&mut cur, &mut next);
        start = after;
    }
    Ok(())
}

/// Writes the archive: columns of the points `points` selects, axes, metadata.
pub fn write(r: &Report<'_>, points: Points, w: &mut dyn Write) -> io::Result<()> {
    let cols = Columns::new(r);
    let p = &r.outcome.primary.partials;
    let best = r.outcome.best;
    let len = points.count(p.len(), best);
    let mut zip = ZipWriter::new_stream(w);
    let at = |k: usize| points.at(k, best);
    for col in &cols.list {
        if col.kind.is_integer() {
            array(&mut zip, &col.name, len, |k| cols.int(col.kind, at(k)))?;
        } else {
            array(&mut zip, &col.name, len, |k| cols.f64(col.kind, at(k)))?;
        }
    }
    for (j, param) in r.family.params().iter().enumerate() {
        let values = cols.axis_values(j);
        array(
            &mut zip,
            &format!("axis_{}", param.name),
            values.len(),
            |k| values[k],
        )?;
    }
    let summary = json::summary(r);
    let chars = summary.chars().count().max(1);
    zip.start_file(
        npyz::npz::file_name_from_array_name("metadata"),
        entry(4 * chars as u64),
    )
    .map_err(zip_err)?;
    let dtype = npyz::DType::Plain(
        format!("<U{chars}")
            .parse::<npyz::TypeStr>()
            .map_err(io::Error::other)?,
    );
    {
        let mut buf = BufWriter::with_capacity(1 << 16, &mut zip);
        let mut npy = npyz::WriteOptions::<str>::new()
            .dtype(dtype)
            .shape(&[])
            .writer(&mut buf)
            .begin_nd()?;
        npy.push(summary.as_str())?;
        npy.finish()?;
        buf.flush()?;
    }
    zip.finish().map_err(zip_err)?;
    Ok(())
}
