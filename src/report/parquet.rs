//! Parquet report (pandas, polars, DuckDB, Arrow): one row per listed grid point in grid order,
//! the CSV's columns with the same names — `index` and `outside_support` as required INT64, the
//! rest as required DOUBLE (−∞, +∞ and NaN as IEEE values, as CSV writes them) — in row groups
//! of 2²⁰ rows, uncompressed, dictionary-encoded for the parameter columns only. The key-value
//! metadata `klgrid` holds the JSON document without `points` (`--points none`):
//! `json.loads(pyarrow.parquet.read_metadata(path).metadata[b"klgrid"])`.
//!
//! Written with the `parquet` crate's column writers; the file is written front to back, so it
//! streams to a pipe as well as to a file.

use super::columns::{Columns, Kind};
use super::{json, Points, Report};
use parquet::basic::{Repetition, Type as PhysicalType};
use parquet::data_type::{DoubleType, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnPath, Type};
use rayon::prelude::*;
use std::io::{self, Write};
use std::sync::Arc;

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
        .set_write_batch_size(1 << 16)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_key_value_metadata(Some(vec![KeyValue::new(
            METADATA_KEY.to_string(),
            json::summary(r),
        )]));
    for c in &cols.list {
        if matches!(c.kind, Kind::Param(_)) {
            props = props.set_column_dictionary_enabled(ColumnPath::from(c.name.as_str()), true);
        }
    }
    let mut writer =
        SerializedFileWriter::new(w, Arc::new(schema), Arc::new(props.build())).map_err(pq_err)?;
    let p = &r.outcome.primary.partials;
    let indices: Vec<usize> = match points {
        Points::All => Vec::new(),
        _ => points.indices(p.len(), r.outcome.best).collect(),
    };
    let len = points.count(p.len(), r.outcome.best);
    let at = |k: usize| if points == Points::All { k } else { indices[k] };
    let mut doubles = Vec::with_capacity(ROW_GROUP.min(len));
    let mut ints = Vec::with_capacity(ROW_GROUP.min(len));
    let mut start = 0;
    // A file with no rows still has its schema and metadata (and no row group).
    while start < len {
        let end = (start + ROW_GROUP).min(len);
        let mut group = writer.next_row_group().map_err(pq_err)?;
        for col in &cols.list {
            let Some(mut cw) = group.next_column().map_err(pq_err)? else {
                break;
            };
            if col.kind.is_integer() {
                ints.clear();
                ints.par_extend(
                    (start..end)
                        .into_par_iter()
                        .map(|k| cols.int(col.kind, at(k))),
                );
                cw.typed::<Int64Type>()
                    .write_batch(&ints, None, None)
                    .map_err(pq_err)?;
            } else {
                doubles.clear();
                doubles.par_extend(
                    (start..end)
                        .into_par_iter()
                        .map(|k| cols.f64(col.kind, at(k))),
                );
                cw.typed::<DoubleType>()
                    .write_batch(&doubles, None, None)
                    .map_err(pq_err)?;
            }
            cw.close().map_err(pq_err)?;
        }
        group.close().map_err(pq_err)?;
        start = end;
    }
    writer.close().map_err(pq_err)?;
    Ok(())
}
