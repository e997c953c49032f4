//! A CSV header against an explicit schema: matched by name, exactly; every mismatch is an
//! item error that says what differs.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType};
use collectors_core::{ErrorType, ItemDecoder};
use collectors_processors::{ColumnSpec, ColumnType, CsvDecoder, CsvOptions};

use crate::{concat, decode_in_chunks};

fn sensor_schema() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::new("ts", ColumnType::Timestamp),
        ColumnSpec::new("sensor_id", ColumnType::Utf8),
        ColumnSpec::new("value", ColumnType::Float64),
        ColumnSpec::new("status", ColumnType::Utf8),
    ]
}

fn decoder() -> CsvDecoder {
    CsvDecoder::new(CsvOptions::default().with_schema(sensor_schema())).unwrap()
}

/// The item error for `input`, checked to be a validation error in every chunking.
fn item_error(decoder: &CsvDecoder, input: &[u8]) -> String {
    let mut messages = Vec::new();
    for max_chunk in [0, 5] {
        let err = decode_in_chunks(&mut decoder.item_decoder(), input, 1, max_chunk)
            .expect_err("the header does not match");
        assert_eq!(err.error_type(), ErrorType::Validation, "{err}");
        messages.push(err.message().to_owned());
    }
    assert_eq!(messages[0], messages[1]);
    messages.remove(0)
}

#[test]
fn a_reordered_header_gives_the_schemas_order_with_the_right_values() {
    let input = b"status,value,ts,sensor_id\n\
                  ok,1.5,2026-01-01T00:00:00Z,s1\n\
                  late,oops,2026-01-01T00:00:01Z,s2\n\
                  bad,2.5,2026-01-01T00:00:02Z,s3\n";
    for (max_chunk, batch_size) in [(0, 1000), (3, 1), (7, 2)] {
        let decoder = CsvDecoder::new(
            CsvOptions::default()
                .with_schema(sensor_schema())
                .with_batch_size(batch_size),
        )
        .unwrap();
        let out = decode_in_chunks(&mut decoder.item_decoder(), input, 2, max_chunk).unwrap();
        assert_eq!(out.rejects.len(), 1);
        assert_eq!(out.rejects[0].line, 3);
        assert!(
            out.rejects[0].reason.contains("\"value\""),
            "{:?}",
            out.rejects
        );
        let all = concat(&out.batches);
        let names: Vec<&str> = all
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["ts", "sensor_id", "value", "status"]);
        let ts = all.column(0).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(ts.value(1) - ts.value(0), 2_000_000);
        let sensors: Vec<&str> = all.column(1).as_string::<i32>().iter().flatten().collect();
        assert_eq!(sensors, ["s1", "s3"]);
        let values = all.column(2).as_primitive::<Float64Type>();
        assert_eq!(values.values().as_ref(), &[1.5, 2.5]);
        let status: Vec<&str> = all.column(3).as_string::<i32>().iter().flatten().collect();
        assert_eq!(status, ["ok", "bad"]);
    }
}

#[test]
fn a_renamed_column_is_named_with_its_position_and_the_expected_columns() {
    let message = item_error(&decoder(), b"ts,sensor_id,reading,status\n");
    assert_eq!(
        message,
        "header column 3 `reading` does not match any schema column; \
         expected: ts, sensor_id, value, status"
    );
}

#[test]
fn matching_is_exact_case_and_spaces_count() {
    let message = item_error(&decoder(), b"ts,sensor_id, value,status\n");
    assert!(
        message.starts_with("header column 3 ` value` does not match any schema column"),
        "{message}"
    );
    assert!(message.contains("spaces"), "{message}");
    assert!(
        message.contains("expected: ts, sensor_id, value, status"),
        "{message}"
    );

    let message = item_error(&decoder(), b"TS,sensor_id,value,status\n");
    assert!(
        message.starts_with("header column 1 `TS` does not match any schema column"),
        "{message}"
    );
    assert!(message.contains("case"), "{message}");

    let message = item_error(&decoder(), b"ts,sensor_id,value,status \n");
    assert!(message.contains("header column 4 `status `"), "{message}");
}

#[test]
fn missing_extra_and_duplicate_columns_are_item_errors() {
    let message = item_error(&decoder(), b"ts,sensor_id,value\n2026-01-01,s1,1\n");
    assert!(
        message.contains("the header has no column `status`"),
        "{message}"
    );
    let message = item_error(&decoder(), b"ts,sensor_id,value,status,extra\n");
    assert!(
        message.starts_with("header column 5 `extra` does not match any schema column"),
        "{message}"
    );
    let message = item_error(&decoder(), b"ts,sensor_id,value,value,status\n");
    assert!(
        message.contains("names column `value` twice (columns 3 and 4)"),
        "{message}"
    );
    let message = item_error(&decoder(), b"ts,,value,status\n");
    assert!(
        message.starts_with("header column 2 `` does not match"),
        "{message}"
    );
    assert!(message.contains("empty"), "{message}");
    // The item stays failed.
    let mut item = decoder().item_decoder();
    let mut out = collectors_core::Decoded::default();
    assert!(item.feed(b"ts,x\n", &mut out).is_err());
    assert!(item.feed(b"2026-01-01,1\n", &mut out).is_err());
    assert!(item.finish(&mut out).is_err());
}

#[test]
fn bare_cr_line_endings_say_so() {
    let mut input = b"ts,sensor_id,value,status\r".to_vec();
    for i in 0..50 {
        input.extend_from_slice(format!("2026-01-01 00:00:{i:02},s1,{i},ok\r").as_bytes());
    }
    // Under the line limit: one header line with `\r` in it.
    let message = item_error(&decoder(), &input);
    assert!(message.contains("`\\r`"), "{message}");
    assert!(message.contains("line endings"), "{message}");

    // Over the limit: the same hint, not only "too long".
    let small = CsvDecoder::new(
        CsvOptions::default()
            .with_schema(sensor_schema())
            .with_max_line_bytes(256),
    )
    .unwrap();
    let message = item_error(&small, &input);
    assert!(message.contains("over the limit"), "{message}");
    assert!(message.contains("line endings"), "{message}");

    // An inferring decoder says the same.
    let inferring = CsvDecoder::new(CsvOptions::default()).unwrap();
    let message = item_error(&inferring, &input);
    assert!(message.contains("line endings"), "{message}");
}

#[test]
fn messages_about_huge_headers_are_bounded() {
    let columns: Vec<ColumnSpec> = (0..10_000)
        .map(|i| ColumnSpec::new(format!("column_number_{i}"), ColumnType::Utf8))
        .collect();
    let decoder = CsvDecoder::new(CsvOptions::default().with_schema(columns)).unwrap();

    // Column 10 000 renamed: the expected list is cut.
    let mut header: Vec<String> = (0..9_999).map(|i| format!("column_number_{i}")).collect();
    header.push("renamed".to_owned());
    let message = item_error(&decoder, format!("{}\n", header.join(",")).as_bytes());
    assert!(message.len() <= 1024, "{} bytes", message.len());
    assert!(
        message.starts_with("header column 10000 `renamed`"),
        "{message}"
    );
    assert!(message.contains("more"), "{message}");

    // Half the columns missing: the missing and found lists are cut.
    let header: Vec<String> = (0..5_000).map(|i| format!("column_number_{i}")).collect();
    let message = item_error(&decoder, format!("{}\n", header.join(",")).as_bytes());
    assert!(message.len() <= 1024, "{} bytes", message.len());
    assert!(message.contains("and 49"), "{message}");

    // One enormous name is cut too.
    let name = "x".repeat(100_000);
    let message = item_error(&decoder, format!("{name}\n").as_bytes());
    assert!(message.len() <= 1024, "{} bytes", message.len());
}
