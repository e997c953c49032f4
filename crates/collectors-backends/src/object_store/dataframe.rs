//! Encoding and decoding Arrow record batches as CSV, JSON lines and Parquet objects.
//!
//! These run on a blocking thread; the bytes are in memory (a dataframe is).

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::RecordBatch;
use bytes::Bytes;
use collectors_core::{Error, Result};
use collectors_processors::{EncodeFormat, ParquetCompression, encode_batches};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::format::DataFrameFormat;

/// The rows of one batch read from CSV or JSON lines.
const READ_BATCH_ROWS: usize = 8192;

/// Decodes `bytes` (the object `name`) as `format`.
///
/// An empty object, a CSV without a header line and bytes that do not parse are an
/// [`Error::Validation`] naming the object.
pub(crate) fn decode(
    format: DataFrameFormat,
    bytes: Bytes,
    name: &str,
) -> Result<Vec<RecordBatch>> {
    let invalid = |e: &dyn std::fmt::Display| {
        Error::validation(format!("{name} is not valid {}: {e}", label(format)))
    };
    if bytes.is_empty() {
        return Err(Error::validation(format!(
            "{name} is empty: no {} table to read",
            label(format)
        )));
    }
    match format {
        DataFrameFormat::Csv => {
            let csv_format = arrow_csv::reader::Format::default().with_header(true);
            let (schema, _) = csv_format
                .infer_schema(Cursor::new(&bytes), None)
                .map_err(|e| invalid(&e))?;
            let reader = arrow_csv::ReaderBuilder::new(Arc::new(schema))
                .with_format(csv_format)
                .with_batch_size(READ_BATCH_ROWS)
                .build(Cursor::new(bytes))
                .map_err(|e| invalid(&e))?;
            reader
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| invalid(&e))
        }
        DataFrameFormat::JsonLines => {
            let (schema, _) = arrow_json::reader::infer_json_schema(Cursor::new(&bytes), None)
                .map_err(|e| invalid(&e))?;
            let schema = in_first_line_order(schema, &bytes);
            let reader = arrow_json::ReaderBuilder::new(Arc::new(schema))
                .with_batch_size(READ_BATCH_ROWS)
                .build(Cursor::new(bytes))
                .map_err(|e| invalid(&e))?;
            reader
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| invalid(&e))
        }
        DataFrameFormat::Parquet => {
            let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
                .map_err(|e| invalid(&e))?
                .with_batch_size(READ_BATCH_ROWS)
                .build()
                .map_err(|e| invalid(&e))?;
            reader
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| invalid(&e))
        }
    }
}

/// Encodes `batches` (all of one schema) as `format`, with the `encode` processor's
/// encoders. Each batch is one Parquet row group, Snappy-compressed.
///
/// No batch, or batches of different schemas, are an [`Error::Validation`] naming `name`.
pub(crate) fn encode(
    format: DataFrameFormat,
    batches: &[RecordBatch],
    name: &str,
) -> Result<Vec<u8>> {
    let format = match format {
        DataFrameFormat::Csv => EncodeFormat::Csv,
        DataFrameFormat::JsonLines => EncodeFormat::Jsonl,
        DataFrameFormat::Parquet => EncodeFormat::Parquet,
    };
    encode_batches(format, batches, ParquetCompression::Snappy)
        .map_err(|e| Error::validation(format!("writing {name}: {}", e.message())))
}

/// `schema` with its fields in the order the first object of `bytes` has its keys (inference
/// sorts them by name); keys first seen later follow, in inferred order.
fn in_first_line_order(schema: arrow_schema::Schema, bytes: &[u8]) -> arrow_schema::Schema {
    let first = bytes
        .split(|b| *b == b'\n')
        .find(|line| line.iter().any(|b| !b.is_ascii_whitespace()));
    let Some(KeyOrder(keys)) = first.and_then(|line| serde_json::from_slice(line).ok()) else {
        return schema;
    };
    let mut fields: Vec<_> = keys
        .iter()
        .filter_map(|k| schema.field_with_name(k).ok().cloned())
        .collect();
    for field in schema.fields() {
        if !keys.iter().any(|k| k == field.name()) {
            fields.push(field.as_ref().clone());
        }
    }
    arrow_schema::Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// The keys of a JSON object, in the order they are written.
struct KeyOrder(Vec<String>);

impl<'de> serde::Deserialize<'de> for KeyOrder {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = KeyOrder;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<KeyOrder, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
                Ok(KeyOrder(keys))
            }
        }
        deserializer.deserialize_map(Keys)
    }
}

fn label(format: DataFrameFormat) -> &'static str {
    match format {
        DataFrameFormat::Csv => "CSV",
        DataFrameFormat::JsonLines => "JSON lines",
        DataFrameFormat::Parquet => "Parquet",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float64Array, Int64Array, StringArray};

    fn sample() -> RecordBatch {
        // Nullable, as CSV and JSON inference makes every column.
        RecordBatch::try_from_iter_with_nullable([
            (
                "region",
                Arc::new(StringArray::from(vec!["north", "south"])) as _,
                true,
            ),
            (
                "amount",
                Arc::new(Int64Array::from(vec![10, 20])) as _,
                true,
            ),
            (
                "share",
                Arc::new(Float64Array::from(vec![0.25, 0.75])) as _,
                true,
            ),
        ])
        .unwrap()
    }

    #[test]
    fn each_format_round_trips() {
        for format in [
            DataFrameFormat::Csv,
            DataFrameFormat::JsonLines,
            DataFrameFormat::Parquet,
        ] {
            let bytes = encode(format, &[sample(), sample()], "t").unwrap();
            let back = decode(format, Bytes::from(bytes), "t").unwrap();
            let rows: usize = back.iter().map(RecordBatch::num_rows).sum();
            assert_eq!(rows, 4, "{format}");
            assert_eq!(back[0].schema(), sample().schema(), "{format}");
            assert_eq!(back[0].slice(0, 2), sample(), "{format}");
        }
    }

    #[test]
    fn empty_and_garbage_are_validation_errors() {
        for format in [
            DataFrameFormat::Csv,
            DataFrameFormat::JsonLines,
            DataFrameFormat::Parquet,
        ] {
            let err = decode(format, Bytes::new(), "e.bin").unwrap_err();
            assert_eq!(err.error_type(), collectors_core::ErrorType::Validation);
            assert!(err.to_string().contains("e.bin"), "{err}");
        }
        let err = decode(
            DataFrameFormat::Parquet,
            Bytes::from_static(b"not parquet"),
            "x",
        )
        .unwrap_err();
        assert_eq!(err.error_type(), collectors_core::ErrorType::Validation);
        assert!(encode(DataFrameFormat::Csv, &[], "none").is_err());
    }
}
