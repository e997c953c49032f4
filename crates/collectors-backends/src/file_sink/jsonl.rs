//! The JSON-lines layout: a header line, then one line per table row.
//!
//! ```text
//! {"version":1,"key":"a.csv#0","kind":"table","metadata":{…},"created_at":"…","schema":{…},"rows":2}
//! {"ts":"2026-01-01T00:00:00+00:00","sensor":"s-1","value":1.5}
//! {"ts":"2026-01-01T00:00:01+00:00","value":-2.25}
//! ```
//!
//! Rows are written by `arrow-json` (null values are left out) and read back with the Arrow
//! schema of the header, so the batch comes back with its exact types. Any other payload is
//! the header's `payload` field, as the payload's serde JSON.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float16Type, Float32Type, Float64Type};
use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Schema};
use chrono::{DateTime, Utc};
use collectors_core::{Error, Metadata, Payload, PayloadKind, Record, Result};
use serde::{Deserialize, Serialize};

use super::codec::{Header, corrupt, kind_name};
use super::item_file::IndexEntry;
use crate::fs_util::io_error;

/// The version of the layout, in every header.
const VERSION: u32 = 1;

#[derive(Serialize)]
struct HeaderOut<'a> {
    version: u32,
    key: &'a str,
    kind: PayloadKind,
    metadata: &'a Metadata,
    created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<&'a Schema>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rows: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a Payload>,
}

/// The header without the payload (serde skips the fields it does not name).
#[derive(Deserialize)]
struct HeaderIn {
    version: u32,
    key: String,
    kind: PayloadKind,
    #[serde(default)]
    metadata: Metadata,
    created_at: DateTime<Utc>,
}

/// The whole header.
#[derive(Deserialize)]
struct FullHeaderIn {
    #[serde(flatten)]
    header: HeaderIn,
    #[serde(default)]
    schema: Option<Schema>,
    #[serde(default)]
    rows: Option<usize>,
    #[serde(default)]
    payload: Option<Payload>,
}

/// What JSON lines cannot hold: NaN and infinities in float columns. Run on every record
/// of a batch before any file is written.
pub(crate) fn check(record: &Record) -> Result<()> {
    match &record.payload {
        Payload::Table(batch) => check_finite(batch)
            .map_err(|what| Error::validation(format!("record {:?}: {what}", record.key))),
        _ => Ok(()),
    }
}

/// The file of `record`, which [`check`] accepted.
pub(crate) fn encode(record: &Record) -> Result<Vec<u8>> {
    let invalid = |what: String| Error::validation(format!("record {:?}: {what}", record.key));
    let table = match &record.payload {
        Payload::Table(batch) => Some(batch),
        _ => None,
    };
    let header = HeaderOut {
        version: VERSION,
        key: &record.key,
        kind: record.payload.kind(),
        metadata: &record.metadata,
        created_at: record.created_at,
        schema: table.map(|batch| batch.schema_ref().as_ref()),
        rows: table.map(RecordBatch::num_rows),
        payload: table.is_none().then_some(&record.payload),
    };
    let mut out = serde_json::to_vec(&header)
        .map_err(|e| invalid(format!("cannot be written as JSON: {e}")).with_source(e))?;
    out.push(b'\n');
    if let Some(batch) = table.filter(|b| b.num_columns() > 0) {
        let mut writer = arrow_json::LineDelimitedWriter::new(out);
        writer
            .write(batch)
            .and_then(|()| writer.finish())
            .map_err(|e| invalid(format!("rows cannot be written as JSON: {e}")).with_source(e))?;
        out = writer.into_inner();
    }
    Ok(out)
}

/// The index of every section of a file, and the records decoded (with their positions).
pub(crate) type Sections = (Vec<IndexEntry>, Vec<(usize, Record)>);

/// Reads the sections of a JSON-lines file of records (one section: a single-record file;
/// several: an item file) in order: the index of every section, and the records at
/// `wanted` (positions, ascending) decoded.
pub(crate) fn read_sections<R: Read>(file: R, path: &Path, wanted: &[usize]) -> Result<Sections> {
    let mut reader = BufReader::new(file);
    let (mut index, mut records) = (Vec::new(), Vec::new());
    loop {
        let mut line = Vec::new();
        reader
            .read_until(b'\n', &mut line)
            .map_err(|e| io_error(Error::storage, "reading", path, e))?;
        if line.is_empty() {
            break;
        }
        let position = index.len();
        let full: FullHeaderIn = serde_json::from_slice(&line)
            .map_err(|e| corrupt(path, format!("unreadable header: {e}")).with_source(e))?;
        let header = into_header(full.header, path)?;
        let decode = wanted.binary_search(&position).is_ok();
        let (payload, rows) = match header.kind {
            PayloadKind::Table => {
                let (Some(schema), Some(rows)) = (full.schema, full.rows) else {
                    return Err(corrupt(path, "a table header without schema or rows"));
                };
                let lines = if schema.fields().is_empty() { 0 } else { rows };
                let mut body = Vec::new();
                for _ in 0..lines {
                    let before = body.len();
                    reader
                        .read_until(b'\n', &mut body)
                        .map_err(|e| io_error(Error::storage, "reading", path, e))?;
                    if body.len() == before {
                        return Err(corrupt(
                            path,
                            format!("a section of {rows} rows ends early"),
                        ));
                    }
                    if !decode {
                        body.clear();
                    }
                }
                let payload = if decode {
                    let len = body.len() as u64;
                    Some(Payload::Table(read_rows(
                        BufReader::new(&body[..]),
                        Arc::new(schema),
                        rows,
                        len.max(2 * rows as u64),
                        path,
                    )?))
                } else {
                    None
                };
                (payload, rows as u64)
            }
            kind => match full.payload {
                Some(payload) if payload.kind() == kind => (decode.then_some(payload), 1),
                _ => {
                    return Err(corrupt(
                        path,
                        format!("the header holds no {} payload", kind_name(kind)),
                    ));
                }
            },
        };
        if let Some(payload) = payload {
            records.push((
                position,
                Record {
                    key: header.key.clone(),
                    payload,
                    metadata: header.metadata.clone(),
                    created_at: header.created_at,
                },
            ));
        }
        index.push(IndexEntry {
            key: header.key,
            metadata: header.metadata,
            created_at: header.created_at,
            rows,
            row_groups: 0,
        });
    }
    if index.is_empty() {
        return Err(corrupt(path, "empty file"));
    }
    Ok((index, records))
}

fn into_header(header: HeaderIn, path: &Path) -> Result<Header> {
    if header.version != VERSION {
        return Err(corrupt(
            path,
            format!(
                "layout version {} (this build reads {VERSION})",
                header.version
            ),
        ));
    }
    Ok(Header {
        key: header.key,
        kind: header.kind,
        metadata: header.metadata,
        created_at: header.created_at,
    })
}

/// The rows after the header, as one batch of `schema`.
///
/// `rows` comes from the file, so it is checked against the file's length (`len`) before it
/// sizes anything: the decoder allocates for a whole batch up front, and a header changed to
/// claim 10¹² rows must be an error, not an abort.
fn read_rows<R: Read>(
    reader: BufReader<R>,
    schema: Arc<Schema>,
    rows: usize,
    len: u64,
    path: &Path,
) -> Result<RecordBatch> {
    let unreadable =
        |e: arrow_schema::ArrowError| corrupt(path, format!("unreadable rows: {e}")).with_source(e);
    if schema.fields().is_empty() {
        // No columns, no row lines: only the count was written.
        return RecordBatch::try_new_with_options(
            schema,
            Vec::new(),
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(unreadable);
    }
    // Every row line is at least `{}`.
    if u64::try_from(rows).unwrap_or(u64::MAX) > len / 2 {
        return Err(corrupt(
            path,
            format!("the header says {rows} rows, more than a {len}-byte file can hold"),
        ));
    }
    let decoder = arrow_json::ReaderBuilder::new(schema.clone())
        .with_batch_size(rows.max(1))
        .build(reader)
        .map_err(unreadable)?;
    let mut batches = Vec::with_capacity(1);
    for batch in decoder {
        batches.push(batch.map_err(unreadable)?);
    }
    let batch = match batches.len() {
        0 => RecordBatch::new_empty(schema),
        1 => batches.remove(0),
        n => return Err(corrupt(path, format!("{n} batches of rows, expected one"))),
    };
    if batch.num_rows() != rows {
        return Err(corrupt(
            path,
            format!("{} rows, the header says {rows}", batch.num_rows()),
        ));
    }
    Ok(batch)
}

/// JSON has no NaN or infinity: `arrow-json` would write them as `null`, losing them (see
/// the test `arrow_json_writes_non_finite_floats_as_null`).
fn check_finite(batch: &RecordBatch) -> std::result::Result<(), String> {
    for (field, column) in batch.schema_ref().fields().iter().zip(batch.columns()) {
        let finite = match field.data_type() {
            DataType::Float16 => {
                all_finite(column.as_primitive::<Float16Type>(), |v| v.is_finite())
            }
            DataType::Float32 => {
                all_finite(column.as_primitive::<Float32Type>(), |v| v.is_finite())
            }
            DataType::Float64 => {
                all_finite(column.as_primitive::<Float64Type>(), |v| v.is_finite())
            }
            _ => true,
        };
        if !finite {
            return Err(format!(
                "column {:?} holds NaN or an infinity, which JSON cannot hold (Parquet can)",
                field.name()
            ));
        }
    }
    Ok(())
}

fn all_finite<T: arrow_array::ArrowPrimitiveType>(
    array: &arrow_array::PrimitiveArray<T>,
    finite: impl Fn(T::Native) -> bool,
) -> bool {
    array.iter().flatten().all(finite)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float32Array, Float64Array};

    use super::*;

    /// Why `check_finite` exists: if `arrow-json` ever writes these faithfully, it can go.
    #[test]
    fn arrow_json_writes_non_finite_floats_as_null() {
        let batch = RecordBatch::try_from_iter([
            (
                "f64",
                Arc::new(Float64Array::from(vec![
                    f64::NAN,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                ])) as ArrayRef,
            ),
            (
                "f32",
                Arc::new(Float32Array::from(vec![
                    f32::NAN,
                    f32::INFINITY,
                    f32::NEG_INFINITY,
                ])) as ArrayRef,
            ),
        ])
        .unwrap();
        let mut writer = arrow_json::LineDelimitedWriter::new(Vec::new());
        writer.write(&batch).unwrap();
        writer.finish().unwrap();
        let text = String::from_utf8(writer.into_inner()).unwrap();
        // Not left out like real nulls: written as the literal `null`, which reads back as
        // a null.
        assert_eq!(text, "{\"f64\":null,\"f32\":null}\n".repeat(3));
    }

    #[test]
    fn every_float_type_is_checked_for_nan_and_infinities() {
        for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let batch = RecordBatch::try_from_iter([
                (
                    "ok",
                    Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef,
                ),
                (
                    "bad",
                    Arc::new(Float32Array::from(vec![1.0, value as f32])) as ArrayRef,
                ),
            ])
            .unwrap();
            let err = check_finite(&batch).unwrap_err();
            assert!(err.contains("\"bad\""), "{err}");
        }
        let nulls = RecordBatch::try_from_iter([(
            "v",
            Arc::new(Float64Array::from(vec![None, Some(1.0)])) as ArrayRef,
        )])
        .unwrap();
        check_finite(&nulls).unwrap();
    }
}
