//! One byte of the input picks a decoder's options, so that the fuzzer explores small
//! batches, short line limits, explicit and inferred schemas and every delimiter.

use collectors_processors::{
    ColumnSpec, ColumnType, CsvOptions, JsonLinesOptions, ParquetOptions, TimestampUnit,
};

/// The schema of the sensor files (`examples/sensors`).
fn sensor_schema() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::new("ts", ColumnType::Timestamp),
        ColumnSpec::new("sensor_id", ColumnType::Utf8),
        ColumnSpec::new("value", ColumnType::Float64),
        ColumnSpec::new("status", ColumnType::Utf8),
    ]
}

/// A schema with the other column types.
fn typed_schema() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::new("id", ColumnType::Int64),
        ColumnSpec::new("flag", ColumnType::Boolean),
        ColumnSpec::new("name", ColumnType::Utf8),
    ]
}

fn schema(bits: u8) -> (Option<Vec<ColumnSpec>>, usize) {
    match bits & 0b11 {
        0 => (None, 1000),
        1 => (None, 2), // the schema is fixed after two lines: later lines may not fit it
        2 => (Some(sensor_schema()), 1000),
        _ => (Some(typed_schema()), 1000),
    }
}

fn unit(bit: u8) -> TimestampUnit {
    if bit & 1 == 0 {
        TimestampUnit::Seconds
    } else {
        TimestampUnit::Milliseconds
    }
}

/// CSV options from `config`: bit 0 header, bits 1–2 schema (inferred from 1000 lines,
/// inferred from 2, the sensor schema, an int/bool/text schema), bit 3 batches of 3 rows,
/// bit 4 lines of at most 32 bytes, bits 5–6 the delimiter (`,` `;` tab `|`), bit 7
/// millisecond epochs.
pub fn csv_options(config: u8) -> CsvOptions {
    let (schema, infer_rows) = schema(config >> 1);
    let mut options = CsvOptions::default()
        .with_header(config & 1 == 1)
        .with_batch_size(if config & 0b1000 == 0 { 8192 } else { 3 })
        .with_infer_rows(infer_rows)
        .with_delimiter([',', ';', '\t', '|'][usize::from((config >> 5) & 0b11)])
        .with_timestamp_unit(unit(config >> 7));
    if config & 0b1_0000 != 0 {
        options = options.with_max_line_bytes(32);
    }
    if let Some(schema) = schema {
        options = options.with_schema(schema);
    }
    options
}

/// JSON-lines options from `config`: bits 1–2 schema, bit 3 batches of 3 rows, bit 4 lines
/// of at most 32 bytes, bit 7 millisecond epochs (as [`csv_options`]; bits 0, 5 and 6 are
/// unused).
pub fn jsonl_options(config: u8) -> JsonLinesOptions {
    let (schema, infer_rows) = schema(config >> 1);
    let mut options = JsonLinesOptions::default()
        .with_batch_size(if config & 0b1000 == 0 { 8192 } else { 3 })
        .with_infer_rows(infer_rows)
        .with_timestamp_unit(unit(config >> 7));
    if config & 0b1_0000 != 0 {
        options = options.with_max_line_bytes(32);
    }
    if let Some(schema) = schema {
        options = options.with_schema(schema);
    }
    options
}

/// Parquet options from `config`: bits 0–1 the batch size (8192, 1, 2, 7), bit 2 reads only
/// the columns `value` and `ts`.
pub fn parquet_options(config: u8) -> ParquetOptions {
    ParquetOptions {
        batch_size: [8192, 1, 2, 7][usize::from(config & 0b11)],
        columns: (config & 0b100 != 0).then(|| vec!["value".to_owned(), "ts".to_owned()]),
        ..ParquetOptions::default()
    }
}
