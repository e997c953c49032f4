//! [`CsvLineDecoder`]: arrow-csv fed whole lines, with this crate's checks of the values.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::types::Date32Type;
use arrow_cast::parse::Parser;
use arrow_csv::reader::{Decoder as ArrowCsvDecoder, ReaderBuilder};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};

use super::fields::{split_fields, visit_fields};
use crate::lines::{LineDecoder, LineError};
use crate::values::{
    TimestampColumn, TimestampUnit, check_float, check_int, float_out_of_range, infinite_rows,
    is_non_finite_literal,
};

/// How [`CsvLineDecoder::screen`] checks the values of one column.
#[derive(Debug)]
enum Check {
    /// Nothing to check (text).
    None,
    Boolean,
    Int64,
    Float64,
    Date32,
    Timestamp(TimestampColumn),
}

/// arrow-csv's decoder for a fixed schema, fed whole lines.
///
/// arrow-csv reads timestamp columns as text, converted by [`TimestampColumn`] (one rule
/// with JSON lines); float columns are checked for overflow (`1e400` is not infinity).
pub(super) struct CsvLineDecoder {
    /// The schema of the batches (the explicit schema's order).
    schema: SchemaRef,
    /// The columns in file order, with their real types.
    file_schema: SchemaRef,
    /// What arrow-csv decodes: the file's columns, timestamps as text.
    decode_schema: SchemaRef,
    /// For each column of `schema`, its index in the file; `None`: the same order.
    output_order: Option<Vec<usize>>,
    /// The check of each file column.
    checks: Vec<Check>,
    delimiter: u8,
    /// The decoder and the rows it was built for: built for the lines at hand, never for a
    /// configured size, because arrow preallocates by it.
    decoder: Option<(ArrowCsvDecoder, usize)>,
    /// Reused for the field values of screened lines.
    scratch: Vec<u8>,
}

impl std::fmt::Debug for CsvLineDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvLineDecoder")
            .field("schema", &self.schema)
            .field("output_order", &self.output_order)
            .finish_non_exhaustive()
    }
}

impl CsvLineDecoder {
    /// A decoder of `schema`; `positions[i]` is the schema column of file column `i` (a
    /// header in another order), `None` when the file has the schema's order.
    pub(super) fn new(
        schema: SchemaRef,
        positions: Option<&[usize]>,
        delimiter: u8,
        timestamp_unit: TimestampUnit,
    ) -> Self {
        let file_fields: Vec<Arc<Field>> = match positions {
            Some(positions) => positions
                .iter()
                .map(|&p| schema.fields()[p].clone())
                .collect(),
            None => schema.fields().iter().cloned().collect(),
        };
        let output_order = positions.and_then(|positions| {
            let in_order = positions.iter().enumerate().all(|(i, &p)| i == p);
            (!in_order).then(|| {
                let mut order = vec![0; positions.len()];
                for (file_index, &position) in positions.iter().enumerate() {
                    order[position] = file_index;
                }
                order
            })
        });
        let checks = file_fields
            .iter()
            .map(|field| match field.data_type() {
                DataType::Boolean => Check::Boolean,
                DataType::Int64 => Check::Int64,
                DataType::Float64 => Check::Float64,
                DataType::Date32 => Check::Date32,
                DataType::Timestamp(..) => TimestampColumn::for_field(field, timestamp_unit)
                    .map_or(Check::None, Check::Timestamp),
                _ => Check::None,
            })
            .collect::<Vec<_>>();
        let decode_fields: Vec<Field> = file_fields
            .iter()
            .zip(&checks)
            .map(|(field, check)| match check {
                Check::Timestamp(_) => Field::new(field.name(), DataType::Utf8, true),
                _ => field.as_ref().clone(),
            })
            .collect();
        Self {
            schema,
            file_schema: Arc::new(Schema::new(file_fields)),
            decode_schema: Arc::new(Schema::new(decode_fields)),
            output_order,
            checks,
            delimiter,
            decoder: None,
            scratch: Vec::new(),
        }
    }

    /// Turns what arrow-csv read from `bytes` into a batch of the schema: timestamps
    /// converted, floats checked, columns in the schema's order.
    fn finish_batch(
        &mut self,
        raw: RecordBatch,
        bytes: &[u8],
    ) -> std::result::Result<RecordBatch, LineError> {
        let mut columns = raw.columns().to_vec();
        for (index, check) in self.checks.iter().enumerate() {
            match check {
                Check::Timestamp(column) => {
                    columns[index] = column.convert(&columns[index]).map_err(LineError::Row)?;
                }
                Check::Float64 => {
                    let Some(rows) = infinite_rows(&columns[index]) else {
                        continue;
                    };
                    let name = self.file_schema.field(index).name();
                    for row in rows {
                        let text = field_text(bytes, row, index, self.delimiter, &mut self.scratch);
                        if !is_non_finite_literal(&text) {
                            return Err(LineError::Row(float_out_of_range(name, &text)));
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(order) = &self.output_order {
            columns = order.iter().map(|&i| columns[i].clone()).collect();
        }
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }

    /// Why `text` (not empty) does not fit file column `index`, or `None`.
    fn check_value(&self, index: usize, text: &str) -> Option<String> {
        let name = || self.file_schema.field(index).name();
        match self.checks.get(index)? {
            Check::None => None,
            Check::Boolean => (!(text.eq_ignore_ascii_case("true")
                || text.eq_ignore_ascii_case("false")))
            .then(|| cannot_parse(self.file_schema.field(index), text)),
            Check::Int64 => check_int(name(), text),
            Check::Float64 => check_float(name(), text),
            Check::Date32 => Date32Type::parse(text)
                .is_none()
                .then(|| cannot_parse(self.file_schema.field(index), text)),
            Check::Timestamp(column) => column.parse(text).err(),
        }
    }
}

/// The unquoted value of field `index` of line `row` of `bytes` (lines ending in `\n`).
fn field_text(
    bytes: &[u8],
    row: usize,
    index: usize,
    delimiter: u8,
    scratch: &mut Vec<u8>,
) -> String {
    let line = bytes.split(|&b| b == b'\n').nth(row).unwrap_or_default();
    let mut text = String::new();
    // A line here was split by arrow-csv already: its quotes are closed.
    let _ = visit_fields(line, delimiter, scratch, |i, value| {
        if i == index {
            text = String::from_utf8_lossy(value).into_owned();
        }
    });
    text
}

/// An arrow-csv decoder of headerless, `\n`-terminated lines.
fn build_arrow_decoder(
    schema: &SchemaRef,
    delimiter: u8,
    batch_size: usize,
    projection: Option<Vec<usize>>,
) -> ArrowCsvDecoder {
    let mut builder = ReaderBuilder::new(schema.clone())
        .with_header(false)
        .with_delimiter(delimiter)
        // Only `\n` ends a record: a stray `\r` inside a line stays a byte of its field.
        .with_terminator(b'\n')
        .with_batch_size(batch_size);
    if let Some(projection) = projection {
        builder = builder.with_projection(projection);
    }
    builder.build_decoder()
}

/// Feeds `bytes` (whole lines) to `decoder` and flushes one batch of exactly `count` rows.
fn decode_exact(
    decoder: &mut ArrowCsvDecoder,
    bytes: &[u8],
    count: usize,
) -> std::result::Result<RecordBatch, ArrowError> {
    let mut offset = 0;
    while offset < bytes.len() {
        let read = decoder.decode(&bytes[offset..])?;
        if read == 0 {
            return Err(ArrowError::CsvError(format!(
                "decoder stopped after {offset} of {} bytes",
                bytes.len()
            )));
        }
        offset += read;
    }
    match decoder.flush()? {
        Some(batch) if batch.num_rows() == count => Ok(batch),
        other => Err(ArrowError::CsvError(format!(
            "{} rows decoded from {count} lines",
            other.map_or(0, |b| b.num_rows())
        ))),
    }
}

impl LineDecoder for CsvLineDecoder {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn decode_lines(
        &mut self,
        bytes: &[u8],
        count: usize,
    ) -> std::result::Result<RecordBatch, LineError> {
        let (mut decoder, rows) = match self.decoder.take() {
            Some((decoder, rows)) if rows >= count => (decoder, rows),
            _ => (
                build_arrow_decoder(&self.decode_schema, self.delimiter, count, None),
                count,
            ),
        };
        let raw = match decode_exact(&mut decoder, bytes, count) {
            Ok(raw) => raw,
            // The decoder may hold part of the failed input: it is dropped, the next call
            // builds a fresh one.
            Err(error) => return Err(LineError::Arrow(error)),
        };
        self.decoder = Some((decoder, rows));
        self.finish_batch(raw, bytes)
    }

    /// Names the first column whose value does not parse: found by [`screen`](Self::screen)
    /// or, for types it does not check, by decoding each column alone.
    fn explain(&mut self, line: &[u8], error: &ArrowError) -> String {
        if let Some(reason) = self.screen(line) {
            return reason;
        }
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let Ok(values) = split_fields(content, self.delimiter) else {
            return error.to_string();
        };
        for (index, field) in self.file_schema.fields().iter().enumerate() {
            let mut single =
                build_arrow_decoder(&self.decode_schema, self.delimiter, 1, Some(vec![index]));
            if decode_exact(&mut single, line, 1).is_err() {
                let value = values
                    .get(index)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default();
                return cannot_parse(field, &value);
            }
        }
        error.to_string()
    }

    /// Parses each value by the rules of its column's type.
    fn screen(&mut self, line: &[u8]) -> Option<String> {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let mut problem = None;
        let mut scratch = std::mem::take(&mut self.scratch);
        let scanned = visit_fields(content, self.delimiter, &mut scratch, |index, value| {
            if problem.is_some() || value.is_empty() {
                return; // an empty value is a null
            }
            problem = match std::str::from_utf8(value) {
                Ok(text) => self.check_value(index, text),
                Err(_) => self
                    .file_schema
                    .fields()
                    .get(index)
                    .map(|field| cannot_parse(field, &String::from_utf8_lossy(value))),
            };
        });
        self.scratch = scratch;
        match scanned {
            Ok(()) => problem,
            Err(_) => Some("a quoted field is not closed on this line".to_owned()),
        }
    }
}

/// The reason of a value that does not parse as its column's type.
fn cannot_parse(field: &Field, value: &str) -> String {
    format!(
        "column {:?}: cannot parse {value:?} as {}",
        field.name(),
        field.data_type()
    )
}
