//! [`JsonLineDecoder`]: arrow-json fed whole lines, with this crate's checks of the values.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_json::reader::{Decoder as ArrowJsonDecoder, ReaderBuilder};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};

use crate::lines::{LineDecoder, LineError};
use crate::values::{
    TimestampColumn, TimestampUnit, check_int, float_out_of_range, infinite_rows,
    is_non_finite_literal,
};

/// An arrow-json decoder of `schema` that allocates for `batch_size` rows.
pub(super) fn build_arrow_decoder(
    schema: &SchemaRef,
    batch_size: usize,
) -> std::result::Result<ArrowJsonDecoder, ArrowError> {
    ReaderBuilder::new(schema.clone())
        .with_batch_size(batch_size)
        // A number or boolean in a text column is kept as its text.
        .with_coerce_primitive(true)
        .build_decoder()
}

/// What arrow-json decodes for `schema`: timestamp columns as text (a number kept as its
/// text), converted by [`TimestampColumn`].
pub(super) fn decode_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| match field.data_type() {
            DataType::Timestamp(..) => Field::new(field.name(), DataType::Utf8, true),
            _ => field.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// arrow-json's decoder for a fixed schema, fed whole lines.
///
/// Timestamps are read as text and converted by [`TimestampColumn`] (one rule with CSV);
/// float columns are checked for overflow (`1e400` is not infinity).
pub(super) struct JsonLineDecoder {
    schema: SchemaRef,
    decode_schema: SchemaRef,
    timestamps: Vec<(usize, TimestampColumn)>,
    floats: Vec<usize>,
    integers: Vec<usize>,
    /// The decoder and the rows it was built for: built for the lines at hand, never for a
    /// configured size, because arrow-json preallocates by it.
    decoder: Option<(ArrowJsonDecoder, usize)>,
}

impl std::fmt::Debug for JsonLineDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLineDecoder")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl JsonLineDecoder {
    /// A decoder of `schema`, or arrow-json's error when it cannot decode that schema.
    pub(super) fn new(
        schema: SchemaRef,
        timestamp_unit: TimestampUnit,
    ) -> std::result::Result<Self, ArrowError> {
        let decode_schema = decode_schema(&schema);
        // Fails now, not at the first line, when arrow-json cannot decode the schema.
        let decoder = build_arrow_decoder(&decode_schema, 1)?;
        let timestamps = schema
            .fields()
            .iter()
            .enumerate()
            .filter_map(|(index, field)| {
                TimestampColumn::for_field(field, timestamp_unit).map(|column| (index, column))
            })
            .collect();
        let floats = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, field)| field.data_type() == &DataType::Float64)
            .map(|(index, _)| index)
            .collect();
        let integers = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, field)| field.data_type() == &DataType::Int64)
            .map(|(index, _)| index)
            .collect();
        Ok(Self {
            schema,
            decode_schema,
            timestamps,
            floats,
            integers,
            decoder: Some((decoder, 1)),
        })
    }

    /// Converts the timestamps of what arrow-json read from `bytes` and checks the floats.
    fn finish_batch(
        &self,
        raw: RecordBatch,
        bytes: &[u8],
    ) -> std::result::Result<RecordBatch, LineError> {
        let mut columns = raw.columns().to_vec();
        for (index, column) in &self.timestamps {
            columns[*index] = column.convert(&columns[*index]).map_err(LineError::Row)?;
        }
        for &index in &self.floats {
            let Some(rows) = infinite_rows(&columns[index]) else {
                continue;
            };
            let name = self.schema.field(index).name();
            for row in rows {
                let line = bytes.split(|&b| b == b'\n').nth(row).unwrap_or_default();
                if !holds_non_finite_literal(line, name) {
                    return Err(LineError::Row(format!(
                        "{} (the number is too large)",
                        float_out_of_range(name, &value_text(line, name))
                    )));
                }
            }
        }
        for &index in &self.integers {
            // arrow-json reads an integer it cannot parse as a float and casts it: a number
            // just below the range rounds to i64::MIN. Only those rows need a second look.
            let Some(ints) = columns[index].as_primitive_opt::<Int64Type>() else {
                continue;
            };
            if !ints.values().contains(&i64::MIN) {
                continue;
            }
            let name = self.schema.field(index).name();
            for (row, value) in ints.iter().enumerate() {
                if value != Some(i64::MIN) {
                    continue;
                }
                let line = bytes.split(|&b| b == b'\n').nth(row).unwrap_or_default();
                let text = value_text(line, name);
                if text.parse::<i64>() != Ok(i64::MIN) {
                    return Err(LineError::Row(format!(
                        "column {name:?}: {text:?} is out of range for a 64-bit integer"
                    )));
                }
            }
        }
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

/// Whether key `name` of the object on `line` is a string such as `"inf"` (an infinity the
/// line asked for, not an overflow).
fn holds_non_finite_literal(line: &[u8], name: &str) -> bool {
    match serde_json::from_slice::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(object)) => matches!(
            object.get(name),
            Some(serde_json::Value::String(text)) if is_non_finite_literal(text)
        ),
        _ => false,
    }
}

/// The text of key `name` on `line`, as far as it can be told, for a message.
fn value_text(line: &[u8], name: &str) -> String {
    match serde_json::from_slice::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(object)) => match object.get(name) {
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        },
        // serde_json refuses a number out of range: find the text after the key.
        _ => {
            let text = String::from_utf8_lossy(line);
            let key = format!("\"{name}\"");
            text.find(&key)
                .map(|at| &text[at + key.len()..])
                .and_then(|rest| rest.trim_start().strip_prefix(':'))
                .map(|rest| {
                    rest.trim_start()
                        .split([',', '}', ' '])
                        .next()
                        .unwrap_or_default()
                        .trim_matches('"')
                        .to_owned()
                })
                .unwrap_or_default()
        }
    }
}

/// Feeds `bytes` (whole lines) to `decoder` and flushes one batch of exactly `count` rows.
fn decode_exact(
    decoder: &mut ArrowJsonDecoder,
    bytes: &[u8],
    count: usize,
) -> std::result::Result<RecordBatch, ArrowError> {
    let mut offset = 0;
    while offset < bytes.len() {
        let read = decoder.decode(&bytes[offset..])?;
        if read == 0 {
            return Err(ArrowError::JsonError(
                "more JSON values than lines: each line must hold one object".to_owned(),
            ));
        }
        offset += read;
    }
    if decoder.has_partial_record() {
        return Err(ArrowError::JsonError(
            "the JSON value is not complete at the end of the line".to_owned(),
        ));
    }
    match decoder.flush()? {
        Some(batch) if batch.num_rows() == count => Ok(batch),
        other => Err(ArrowError::JsonError(format!(
            "{} JSON values on {count} line(s): each line must hold one object",
            other.map_or(0, |b| b.num_rows())
        ))),
    }
}

impl LineDecoder for JsonLineDecoder {
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
            // Building worked for this schema in `new`, so it works again.
            _ => (build_arrow_decoder(&self.decode_schema, count)?, count),
        };
        // After an error the decoder may hold part of the failed input: it is dropped, and
        // the next call builds a fresh one.
        let raw = decode_exact(&mut decoder, bytes, count)?;
        self.decoder = Some((decoder, rows));
        self.finish_batch(raw, bytes)
    }

    /// arrow-json's message, or a clearer one for an integer out of range.
    fn explain(&mut self, line: &[u8], error: &ArrowError) -> String {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        for &index in &self.integers {
            let name = self.schema.field(index).name();
            let text = value_text(content, name);
            if let Some(reason) = check_int(name, &text)
                && reason.contains("out of range")
            {
                return reason;
            }
        }
        error.to_string()
    }
}
