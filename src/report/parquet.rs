//! Parquet report (pandas, polars, DuckDB, Arrow): one row per listed grid point in grid order,
//! the CSV's columns with the same names — `index` and `outside_support` as required INT64, the
//! rest as required DOUBLE (−∞, +∞ and NaN as IEEE values, as CSV writes them) — in row groups
//! of 2²⁰ rows, uncompressed, dictionary-encoded for the parameter columns, the integer columns
//! DELTA_BINARY_PACKED (an index 0, 1, 2, … and counts that are mostly 0 take a few bytes a page,
//! and encode faster than PLAIN's 8 B a value), the rest PLAIN. The key-value
//! metadata `klgrid` holds the JSON document without `points` (`--points none`):
//! `json.loads(pyarrow.parquet.read_metadata(path).metadata[b"klgrid"])`.
//!
//! Written with the `parquet` crate's column writers: a row group's columns are encoded in
//! parallel, each into memory (≤ 8 B a row), and appended in order; the file is written front to
//! back, so it streams to a pipe as well as to a file.

use super::columns::{Columns, Kind};
use super::{json, Points, Report};
use bytes::Bytes;
use parquet::basic::{Encoding, Repetition, Type as PhysicalType};
use parquet::column::writer::{ColumnCloseResult, ColumnWriterImpl};
use parquet::data_type::{DataType, DoubleType, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesPtr};
use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};
use parquet::schema::types::{ColumnDescPtr, ColumnPath, Type};
use rayon::prelude::*;
use std::io::{self, Write};
use std::ops::Range;
use std::sync::{mpsc, Arc};

/// Rows per row group.
pub const ROW_GROUP: usize = 1 << 20;

/// The key of the key-value metadata entry holding the JSON summary.
pub const METADATA_KEY: &str = "klgrid";

fn pq_err(e: ParquetError) -> io::Error {
    match e {
        ParquetError::External(e) => match e.downcast::<io::Error>() {
            Ok(e) => *e,
            Err(e) => io::Error::other(e),
        },
        e => io::Error::other(e),
    }
}

/// Writes the file: the columns of the points `points` selects, and the summary.
pub fn write(r: &Report<'_>, points: Points, w: &mut (dyn Write + Send)) -> io::Result<()> {
    let cols = Columns::new(r);
    let fields = cols
        .list
        .iter()
        .map(|c| {
            let physical = if c.kind.is_integer() {
                PhysicalType::INT64
            } else {
                PhysicalType::DOUBLE
            };
            Type::primitive_type_builder(&c.name, physical)
                .with_repetition(Repetition::REQUIRED)
                .build()
                .map(Arc::new)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(pq_err)?;
    let schema = Type::group_type_builder("klgrid")
        .with_fields(fields)
        .build()
        .map_err(pq_err)?;
    let mut props = WriterProperties::builder()
        .set_created_by(format!("klgrid {}", env!("CARGO_PKG_VERSION")))
        .set_dictionary_enabled(false)
        // Values handed to the encoder at a time: the default 1,024 spends a fifth of a
        // 10⁶-row file's writing time on per-batch bookkeeping (pages stay ≈ 1 MiB).
        .set_write_batch_size(BLOCK)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_key_value_metadata(Some(vec![KeyValue::new(
            METADATA_KEY.to_string(),
            json::summary(r),
        )]));
    for c in &cols.list {
        let path = ColumnPath::from(c.name.as_str());
        if matches!(c.kind, Kind::Param(_)) {
            props = props.set_column_dictionary_enabled(path, true);
        } else if c.kind.is_integer() {
            props = props.set_column_encoding(path, Encoding::DELTA_BINARY_PACKED);
        }
    }
    let props = Arc::new(props.build());
    let mut writer =
        SerializedFileWriter::new(w, Arc::new(schema), props.clone()).map_err(pq_err)?;
    let descrs: Vec<ColumnDescPtr> = (0..cols.list.len())
        .map(|c| writer.schema_descr().column(c))
        .collect();
    let p = &r.outcome.primary.partials;
    let indices: Vec<usize> = match points {
        Points::All => Vec::new(),
        _ => points.indices(p.len(), r.outcome.best).collect(),
    };
    let len = points.count(p.len(), r.outcome.best);
    let at = |k: usize| if points == Points::All { k } else { indices[k] };
    let mut start = 0;
    // A file with no rows still has its schema and metadata (and no row group).
    while start < len {
        let rows = start..(start + ROW_GROUP).min(len);
        // The row group's column chunks are encoded in parallel on the pool, each into memory,
        // and appended in column order as each is ready: the same pages, statistics and offsets
        // as writing the columns one after the other.
        let encode_column = |c: usize| {
            let (kind, rows) = (cols.list[c].kind, rows.clone());
            if kind.is_integer() {
                encode::<Int64Type>(&descrs[c], &props, rows, |b, v| {
                    v.extend(b.map(|k| cols.int(kind, at(k))))
                })
            } else {
                encode::<DoubleType>(&descrs[c], &props, rows, |b, v| {
                    v.extend(b.map(|k| cols.f64(kind, at(k))))
                })
            }
        };
        let mut group = writer.next_row_group().map_err(pq_err)?;
        if rayon::current_thread_index().is_some() {
            // On a pool thread (which must not block on the pool's work): encode, then append.
            let chunks: Vec<io::Result<Chunk>> = (0..cols.list.len())
                .into_par_iter()
                .map(encode_column)
                .collect();
            for chunk in chunks {
                let (bytes, close) = chunk?;
                group.append_column(&bytes, close).map_err(pq_err)?;
            }
        } else {
            // The first columns are appended while the pool encodes the next ones.
            let (senders, receivers): (Vec<_>, Vec<_>) =
                (0..cols.list.len()).map(|_| mpsc::sync_channel(1)).unzip();
            rayon::in_place_scope(|s| {
                for (c, tx) in senders.into_iter().enumerate() {
                    let encode_column = &encode_column;
                    s.spawn(move |_| {
                        // The receiver is gone only after an error, which is returned below.
                        let _ = tx.send(encode_column(c));
                    });
                }
                for rx in receivers {
                    let (bytes, close) = rx.recv().map_err(io::Error::other)??;
                    group.append_column(&bytes, close).map_err(pq_err)?;
                }
                io::Result::Ok(())
            })?;
        }
        group.close().map_err(pq_err)?;
        start = rows.end;
    }
    writer.close().map_err(pq_err)?;
    Ok(())
}

/// Values handed to a column writer at a time: few enough to stay in cache between being
/// computed and being encoded.
const BLOCK: usize = 1 << 16;

/// One column chunk encoded in memory, and what `SerializedRowGroupWriter::append_column`
/// needs to place it in the file.
type Chunk = (Bytes, ColumnCloseResult);

/// Encodes the rows `rows` of one column as a column chunk in memory; `fill` appends the values
/// of a block of at most `BLOCK` rows to an empty vector.
fn encode<T: DataType>(
    descr: &ColumnDescPtr,
    props: &WriterPropertiesPtr,
    rows: Range<usize>,
    fill: impl Fn(Range<usize>, &mut Vec<T::T>),
) -> io::Result<Chunk> {
    // 8 B a value bounds the PLAIN and the smaller encodings; the rest is page headers.
    let mut sink = TrackedWrite::new(Vec::with_capacity(8 * rows.len() + (1 << 12)));
    let close = {
        let pages = Box::new(SerializedPageWriter::new(&mut sink));
        let mut cw = ColumnWriterImpl::<T>::new(descr.clone(), props.clone(), pages);
        let mut values = Vec::with_capacity(BLOCK.min(rows.len()));
        let mut k = rows.start;
        while k < rows.end {
            let e = (k + BLOCK).min(rows.end);
            values.clear();
            fill(k..e, &mut values);
            cw.write_batch(&values, None, None).map_err(pq_err)?;
            k = e;
        }
        cw.close().map_err(pq_err)?
    };
    Ok((Bytes::from(sink.into_inner().map_err(pq_err)?), close))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    /// The column chunks appended as they are encoded (the caller off the pool) and appended
    /// after all are encoded (the caller on a pool thread) make the same file, byte for byte.
    #[test]
    fn a_writer_on_a_pool_thread_writes_the_same_bytes() {
        for case in fixture::cases() {
            let r = case.report();
            for points in [Points::All, Points::Best, Points::None] {
                let mut off_pool = Vec::new();
                write(&r, points, &mut off_pool).unwrap();
                let on_pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .build()
                    .unwrap()
                    .install(|| {
                        assert!(rayon::current_thread_index().is_some());
                        let mut v = Vec::new();
                        write(&r, points, &mut v).map(|_| v)
                    })
                    .unwrap();
                assert_eq!(off_pool, on_pool, "{points:?}");
                assert!(off_pool.len() > 100);
            }
        }
    }
}
