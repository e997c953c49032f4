//! The CSV layout: a plain CSV file (one header row, then the rows of every record, in
//! order), readable as it is by DuckDB, pandas, pyarrow or Spark, and beside it a **sidecar
//! index** `.{name}.index.json` holding what CSV has no room for:
//!
//! ```text
//! out/sensor-files/part-00.csv.csv                      ts,sensor,value
//!                                                       2026-01-01T00:00:00Z,s-1,1.5
//! out/sensor-files/.part-00.csv.csv.index.json          {"version":1,"data_bytes":…,"item":{…},
//!                                                        "schema":{…},"records":[{"key":…,"rows":…},…]}
//! ```
//!
//! - The index holds the exact Arrow schema (the rows are read back with it, so types, time
//!   zones and precision return as they were), the item stamp, and one entry per record (key,
//!   metadata, created_at, rows) in file order; `data_bytes` is the size of the CSV file it
//!   describes, so a data file replaced without its index (an interrupted write, redone by
//!   the next run) is not read with the wrong index.
//! - Its name starts with a dot, which no data name does (the layout escapes a leading dot),
//!   and ends in `.json`: a `*.csv` glob, pyarrow and Spark skip it.
//! - The data file is published first, then its index; a delete removes the data first.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Schema, SchemaRef, TimeUnit};
use collectors_core::{Error, Payload, Record, Result};
use serde::{Deserialize, Serialize};

use super::codec::{corrupt, kind_name};
use super::item_file::{IndexEntry, ItemStamp};

/// The version of the index layout.
const VERSION: u32 = 1;
/// How the name of an index ends.
const SIDECAR_SUFFIX: &str = ".index.json";

/// The sidecar index of a CSV file.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Sidecar {
    version: u32,
    /// The size of the CSV file this index describes.
    data_bytes: u64,
    /// The item an item file holds; absent for a record stored on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) item: Option<ItemStamp>,
    schema: Schema,
    pub(crate) records: Vec<IndexEntry>,
}

impl Sidecar {
    pub(crate) fn new(
        data_bytes: u64,
        item: Option<ItemStamp>,
        schema: &Schema,
        records: Vec<IndexEntry>,
    ) -> Self {
        Self {
            version: VERSION,
            data_bytes,
            item,
            schema: schema.clone(),
            records,
        }
    }

    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| {
            Error::validation(format!("the CSV index cannot be written as JSON: {e}"))
                .with_source(e)
        })
    }

    /// Reads an index; `data_bytes` (when known) must be the size it describes.
    pub(crate) fn from_bytes(bytes: &[u8], path: &Path, data_bytes: Option<u64>) -> Result<Self> {
        let sidecar: Sidecar = serde_json::from_slice(bytes)
            .map_err(|e| corrupt(path, format!("unreadable CSV index: {e}")).with_source(e))?;
        if sidecar.version != VERSION {
            return Err(corrupt(
                path,
                format!("CSV index version {} (expected {VERSION})", sidecar.version),
            ));
        }
        if let Some(actual) = data_bytes.filter(|n| *n != sidecar.data_bytes) {
            return Err(corrupt(
                path,
                format!(
                    "the CSV file has {actual} bytes, its index describes {}: they were not \
                     written together (an interrupted write, redone by the next run)",
                    sidecar.data_bytes
                ),
            ));
        }
        Ok(sidecar)
    }
}

/// The name of the index of the object `name` (`a/b.csv` → `a/.b.csv.index.json`).
#[cfg(feature = "object-store")]
pub(crate) fn sidecar_name(name: &str) -> String {
    match name.rsplit_once('/') {
        Some((folder, file)) => format!("{folder}/.{file}{SIDECAR_SUFFIX}"),
        None => format!(".{name}{SIDECAR_SUFFIX}"),
    }
}

/// The index file of the CSV file at `path`.
pub(crate) fn sidecar_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}{SIDECAR_SUFFIX}"))
}

/// What CSV holds: tables with at least one column of flat types, and no empty string (it
/// reads back as null). Run on every record of a batch before any file is written.
pub(crate) fn check(record: &Record) -> Result<()> {
    let invalid = |what: String| Error::validation(format!("record {:?}: {what}", record.key));
    let Payload::Table(batch) = &record.payload else {
        return Err(invalid(format!(
            "the CSV format holds table payloads only, not {}",
            kind_name(record.payload.kind())
        )));
    };
    if batch.num_columns() == 0 {
        return Err(invalid("a table without columns has no CSV form".into()));
    }
    for (field, column) in batch.schema_ref().fields().iter().zip(batch.columns()) {
        if !supported(field.data_type()) {
            return Err(invalid(format!(
                "column {:?} is {}, which CSV does not hold (flat types only: booleans, \
                 numbers, decimals, strings, dates, times, timestamps); use Parquet",
                field.name(),
                field.data_type()
            )));
        }
        if holds_empty_string(column.as_ref()) {
            return Err(invalid(format!(
                "column {:?} holds an empty string, which CSV cannot tell from a null; use \
                 Parquet, or map empty strings to nulls upstream",
                field.name()
            )));
        }
    }
    Ok(())
}

/// The types `arrow-csv` writes and reads back unchanged (`LargeUtf8` is read as `Utf8`, then
/// cast: see [`read_schema`]).
fn supported(data_type: &DataType) -> bool {
    use DataType::*;
    match data_type {
        Null | Boolean | Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64
        | Float16 | Float32 | Float64 | Decimal32(..) | Decimal64(..) | Decimal128(..)
        | Decimal256(..) | Date32 | Timestamp(..) | Utf8 | LargeUtf8 | Utf8View => true,
        Time32(unit) => matches!(unit, TimeUnit::Second | TimeUnit::Millisecond),
        Time64(unit) => matches!(unit, TimeUnit::Microsecond | TimeUnit::Nanosecond),
        Dictionary(key, value) => key.is_dictionary_key_type() && **value == Utf8,
        _ => false,
    }
}

/// Whether a string column holds a valid empty string.
fn holds_empty_string(column: &dyn Array) -> bool {
    let empty_at = |i: usize, len: usize| len == 0 && column.is_valid(i);
    match column.data_type() {
        DataType::Utf8 => any_empty(column.as_string::<i32>().offsets(), empty_at),
        DataType::LargeUtf8 => any_empty(column.as_string::<i64>().offsets(), empty_at),
        DataType::Utf8View => {
            let strings = column.as_string_view();
            strings
                .views()
                .iter()
                .enumerate()
                .any(|(i, view)| empty_at(i, *view as u32 as usize))
        }
        DataType::Dictionary(..) => {
            let Some(dictionary) = column.as_any_dictionary_opt() else {
                return false;
            };
            let values = dictionary.values().as_string::<i32>();
            let keys = dictionary.keys();
            dictionary
                .normalized_keys()
                .into_iter()
                .enumerate()
                .any(|(i, key)| {
                    keys.is_valid(i) && values.is_valid(key) && values.value(key).is_empty()
                })
        }
        _ => false,
    }
}

/// Whether `empty_at(i, len)` holds for a string of the `offsets` of a string column.
fn any_empty<O: arrow_array::OffsetSizeTrait>(
    offsets: &[O],
    empty_at: impl Fn(usize, usize) -> bool,
) -> bool {
    offsets
        .windows(2)
        .enumerate()
        .any(|(i, w)| empty_at(i, (w[1] - w[0]).as_usize()))
}

/// The schema `arrow-csv` decodes the rows of `schema` with: `LargeUtf8` (which it does not
/// read) as `Utf8`, cast back by [`restore`].
fn read_schema(schema: &SchemaRef) -> SchemaRef {
    if !schema
        .fields()
        .iter()
        .any(|f| f.data_type() == &DataType::LargeUtf8)
    {
        return schema.clone();
    }
    let fields: Vec<arrow_schema::Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::LargeUtf8 => f.as_ref().clone().with_data_type(DataType::Utf8),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// A batch decoded with [`read_schema`], in the stored `schema`.
fn restore(
    batch: RecordBatch,
    schema: &SchemaRef,
) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    if batch.schema_ref() == schema {
        return Ok(batch);
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| arrow_cast::cast(column, field.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}

/// A CSV writer of our layout: a header row, RFC 3339 timestamps, nulls as empty fields.
pub(crate) fn writer<W: std::io::Write>(out: W) -> arrow_csv::Writer<W> {
    arrow_csv::WriterBuilder::new().with_header(true).build(out)
}

/// The rows of one record, appended to a CSV writer.
pub(crate) fn write_rows<W: std::io::Write>(
    writer: &mut arrow_csv::Writer<W>,
    record: &Record,
    batch: &RecordBatch,
) -> Result<()> {
    writer.write(batch).map_err(|e| {
        Error::storage(format!("record {:?}: writing CSV: {e}", record.key)).with_source(e)
    })
}

/// The CSV file and index of a record stored on its own, which [`check`] accepted.
pub(crate) fn encode(record: &Record) -> Result<(Vec<u8>, Vec<u8>)> {
    let Payload::Table(batch) = &record.payload else {
        return Err(Error::invalid_state("checked to be a table"));
    };
    let mut out = writer(Vec::new());
    write_rows(&mut out, record, batch)?;
    let data = out.into_inner();
    let index = Sidecar::new(
        data.len() as u64,
        None,
        batch.schema_ref(),
        vec![IndexEntry::of(record, 0)],
    );
    Ok((data, index.to_bytes()?))
}

/// Rows decoded at once: the index's row counts never size an allocation, so an index
/// that claims more rows than its file holds costs nothing.
const READ_CHUNK_ROWS: usize = 8192;

/// The records at `wanted` (index positions, ascending) of the CSV `data` that `index`
/// describes, each with its position. Reads the rows up to the last wanted record.
pub(crate) fn read_records<R: BufRead>(
    mut data: R,
    index: &Sidecar,
    path: &Path,
    wanted: &[usize],
) -> Result<Vec<(usize, Record)>> {
    let schema: SchemaRef = Arc::new(index.schema.clone());
    let Some(&last) = wanted.last() else {
        return Ok(Vec::new());
    };
    let mut rows = RowReader {
        data: &mut data,
        schema: schema.clone(),
        decoded_schema: read_schema(&schema),
        header_pending: true,
        path,
    };
    let mut out = Vec::with_capacity(wanted.len());
    for (position, entry) in index.records.iter().enumerate().take(last + 1) {
        let count = usize::try_from(entry.rows).map_err(|_| corrupt(path, "too many rows"))?;
        let batch = rows.next_record(&entry.key, count)?;
        if wanted.binary_search(&position).is_ok() {
            out.push((position, entry.record(batch)));
        }
    }
    Ok(out)
}

/// Reads a CSV file's rows record by record, in file order.
struct RowReader<'a, R> {
    data: &'a mut R,
    /// The stored schema, and the one `arrow-csv` decodes with.
    schema: SchemaRef,
    decoded_schema: SchemaRef,
    /// Whether the header row is still ahead (it is checked against the schema).
    header_pending: bool,
    path: &'a Path,
}

impl<R: BufRead> RowReader<'_, R> {
    /// The next `rows` rows, as one batch: those of record `key`.
    fn next_record(&mut self, key: &str, rows: usize) -> Result<RecordBatch> {
        let mut parts = Vec::new();
        let mut remaining = rows;
        while remaining > 0 {
            let chunk = remaining.min(READ_CHUNK_ROWS);
            let batch = self.next_rows(chunk)?;
            if batch.num_rows() != chunk {
                return Err(corrupt(
                    self.path,
                    format!(
                        "record {key:?} has {rows} rows in the index, {} in the file",
                        rows - remaining + batch.num_rows()
                    ),
                ));
            }
            parts.push(batch);
            remaining -= chunk;
        }
        match parts.len() {
            0 => Ok(RecordBatch::new_empty(self.schema.clone())),
            1 => Ok(parts.remove(0)),
            _ => arrow_select::concat::concat_batches(&self.schema, &parts)
                .map_err(|e| self.unreadable(e)),
        }
    }

    /// Up to `rows` rows (fewer at the end of the file).
    fn next_rows(&mut self, rows: usize) -> Result<RecordBatch> {
        let mut decoder = arrow_csv::ReaderBuilder::new(self.decoded_schema.clone())
            .with_header(self.header_pending)
            .with_header_validation(self.header_pending)
            .with_batch_size(rows)
            .build_decoder();
        self.header_pending = false;
        loop {
            let buf = self
                .data
                .fill_buf()
                .map_err(|e| corrupt(self.path, format!("reading: {e}")).with_source(e))?;
            let decoded = decoder.decode(buf).map_err(|e| self.unreadable(e))?;
            self.data.consume(decoded);
            if decoded == 0 || decoder.capacity() == 0 {
                break;
            }
        }
        match decoder.flush().map_err(|e| self.unreadable(e))? {
            Some(batch) => restore(batch, &self.schema).map_err(|e| self.unreadable(e)),
            None => Ok(RecordBatch::new_empty(self.schema.clone())),
        }
    }

    fn unreadable(&self, e: arrow_schema::ArrowError) -> Error {
        corrupt(self.path, format!("unreadable CSV rows: {e}")).with_source(e)
    }
}
