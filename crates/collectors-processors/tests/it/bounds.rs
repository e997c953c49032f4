//! Size options have documented bounds, checked at construction, with messages that start
//! with the key; and no size a user configures is allocated ahead.

use arrow_array::cast::AsArray;
use collectors_core::ErrorType;
use collectors_processors::{
    ColumnSpec, ColumnType, CsvDecoder, CsvOptions, Filter, FilterConfig, FilterOp,
    JsonLinesDecoder, JsonLinesOptions, MAX_BATCH_SIZE, MAX_INFER_ROWS, MAX_LINE_BYTES,
};

use crate::{concat, decode_in_chunks};

#[test]
fn size_options_out_of_bounds_are_refused_naming_the_key() {
    let huge = 1usize << 60;
    let cases: Vec<(CsvOptions, JsonLinesOptions, String)> = vec![
        (
            CsvOptions::default().with_batch_size(0),
            JsonLinesOptions::default().with_batch_size(0),
            "`batch_size` must be between 1 and 1048576, got 0".to_owned(),
        ),
        (
            CsvOptions::default().with_batch_size(huge),
            JsonLinesOptions::default().with_batch_size(huge),
            format!("`batch_size` must be between 1 and 1048576, got {huge}"),
        ),
        (
            CsvOptions::default().with_batch_size(1_000_000_000),
            JsonLinesOptions::default().with_batch_size(1_000_000_000),
            "`batch_size` must be between 1 and 1048576, got 1000000000".to_owned(),
        ),
        (
            CsvOptions::default().with_max_line_bytes(0),
            JsonLinesOptions::default().with_max_line_bytes(0),
            "`max_line_bytes` must be between 1 and 1073741824, got 0".to_owned(),
        ),
        (
            CsvOptions::default().with_max_line_bytes(MAX_LINE_BYTES + 1),
            JsonLinesOptions::default().with_max_line_bytes(MAX_LINE_BYTES + 1),
            "`max_line_bytes` must be between 1 and 1073741824, got 1073741825".to_owned(),
        ),
        (
            CsvOptions::default().with_infer_rows(0),
            JsonLinesOptions::default().with_infer_rows(0),
            "`infer_rows` must be between 1 and 1048576, got 0".to_owned(),
        ),
        (
            CsvOptions::default().with_infer_rows(huge),
            JsonLinesOptions::default().with_infer_rows(huge),
            format!("`infer_rows` must be between 1 and 1048576, got {huge}"),
        ),
    ];
    for (csv, json, message) in cases {
        let err = CsvDecoder::new(csv).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration);
        assert_eq!(err.message(), message);
        let err = JsonLinesDecoder::new(json).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration);
        assert_eq!(err.message(), message);
    }
    let err = CsvDecoder::new(CsvOptions::default().with_delimiter('"')).unwrap_err();
    assert!(err.message().starts_with("`delimiter`"), "{err}");
}

/// The largest bounds decode a small item with memory for what it holds: arrow's decoders
/// preallocate by their batch size, which is never a configured one here.
#[test]
fn the_largest_sizes_allocate_nothing_ahead() {
    let columns = 2_000;
    let schema: Vec<ColumnSpec> = (0..columns)
        .map(|i| ColumnSpec::new(format!("c{i}"), ColumnType::Utf8))
        .collect();
    let names: Vec<String> = (0..columns).map(|i| format!("c{i}")).collect();
    let row: Vec<String> = (0..columns).map(|i| format!("v{i}")).collect();
    let input = format!(
        "{}\n{}\n{}\n",
        names.join(","),
        row.join(","),
        row.join(",")
    );
    let decoder = CsvDecoder::new(
        CsvOptions::default()
            .with_schema(schema.clone())
            .with_batch_size(MAX_BATCH_SIZE)
            .with_infer_rows(MAX_INFER_ROWS)
            .with_max_line_bytes(MAX_LINE_BYTES),
    )
    .unwrap();
    let out = decode_in_chunks(&mut decoder.item_decoder(), input.as_bytes(), 0, 0).unwrap();
    let all = concat(&out.batches);
    assert_eq!((all.num_rows(), all.num_columns()), (2, columns));
    assert_eq!(all.column(1999).as_string::<i32>().value(1), "v1999");

    let object: Vec<String> = (0..columns).map(|i| format!("\"c{i}\":\"v{i}\"")).collect();
    let line = format!("{{{}}}\n", object.join(","));
    let decoder = JsonLinesDecoder::new(
        JsonLinesOptions::default()
            .with_schema(schema)
            .with_batch_size(MAX_BATCH_SIZE)
            .with_max_line_bytes(MAX_LINE_BYTES),
    )
    .unwrap();
    let input = line.repeat(3);
    let out = decode_in_chunks(&mut decoder.item_decoder(), input.as_bytes(), 0, 0).unwrap();
    assert_eq!(concat(&out.batches).num_rows(), 3);
}

#[test]
fn filter_errors_name_the_key() {
    for (config, start) in [
        (
            FilterConfig::new("", FilterOp::Eq, Some(1.into())),
            "`column` must not be empty",
        ),
        (
            FilterConfig::new("a", FilterOp::Eq, None),
            "`value` is required by op `eq`",
        ),
        (
            FilterConfig::new("a", FilterOp::IsNull, Some(1.into())),
            "`value` must not be given with op `is_null`",
        ),
        (
            FilterConfig::new("a", FilterOp::Gt, Some(serde_json::json!([1]))),
            "`value` must be a number, a string or a boolean",
        ),
    ] {
        let err = Filter::new(config.clone()).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration);
        assert!(err.message().starts_with(start), "{config:?}: {err}");
    }
}
