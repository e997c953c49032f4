use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use collectors_core::{Decoded, Decoder, ErrorType, ItemDecoder};
use collectors_processors::{ColumnSpec, ColumnType, JsonLinesDecoder, JsonLinesOptions};

use crate::{concat, decode_in_chunks};

fn schema() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::new("ts", ColumnType::Timestamp),
        ColumnSpec::new("sensor", ColumnType::Utf8),
        ColumnSpec::new("value", ColumnType::Float64),
        ColumnSpec::new("ok", ColumnType::Boolean),
    ]
}

fn messy_input() -> Vec<u8> {
    let mut input = Vec::new();
    input.extend_from_slice(
        b"{\"ts\":\"2024-01-01T00:00:00Z\",\"sensor\":\"s1\",\"value\":1.5,\"ok\":true}\n",
    ); // 1
    input.extend_from_slice(
        b"{\"ts\":\"2024-01-01 00:00:01\",\"sensor\":\"s2\",\"value\":2,\"ok\":false}\r\n",
    ); // 2
    input.extend_from_slice(b"{\"sensor\":\"s1\",\"value\":\n"); // 3 truncated
    input.extend_from_slice(b"{\"sensor\":\"s1\",\"value\":\"high\"}\n"); // 4 wrong type
    input.extend_from_slice(b"   \n"); // 5 blank
    input.extend_from_slice(b"[1,2,3]\n"); // 6 not an object
    input.extend_from_slice(b"{\"sensor\":\"s3\"}{\"sensor\":\"s4\"}\n"); // 7 two objects
    input.extend_from_slice(b"{\"sensor\":\"\xff\"}\n"); // 8 invalid UTF-8
    input.extend_from_slice(b"{\"sensor\":\"s5\",\"value\":null,\"extra\":[1]}\n"); // 9 good
    input.extend_from_slice(format!("{{\"sensor\":\"{}\"}}\n", "x".repeat(500)).as_bytes()); // 10 too long
    input.extend_from_slice(b"{\"ts\":\"yesterday\",\"sensor\":\"s6\"}\n"); // 11 bad timestamp
    input.extend_from_slice(b"{\"sensor\":\"s7\",\"value\":-0.25}"); // 12 good, no newline
    input
}

const REJECTED: [u64; 7] = [3, 4, 6, 7, 8, 10, 11];

fn assert_good(batch: &RecordBatch) {
    assert_eq!(batch.num_rows(), 4);
    let sensors: Vec<&str> = batch
        .column(1)
        .as_string::<i32>()
        .iter()
        .flatten()
        .collect();
    assert_eq!(sensors, ["s1", "s2", "s5", "s7"]);
    let values: Vec<Option<f64>> = batch
        .column(2)
        .as_primitive::<Float64Type>()
        .iter()
        .collect();
    assert_eq!(values, [Some(1.5), Some(2.0), None, Some(-0.25)]);
    let ts = batch.column(0).as_primitive::<TimestampMicrosecondType>();
    assert_eq!(ts.value(0), 1_704_067_200_000_000);
    assert_eq!(ts.value(1), 1_704_067_201_000_000);
    assert!(ts.is_null(2));
    let ok: Vec<Option<bool>> = batch.column(3).as_boolean().iter().collect();
    assert_eq!(ok, [Some(true), Some(false), None, None]);
}

#[test]
fn random_chunks_keep_good_lines_and_reject_bad_ones_by_number() {
    let input = messy_input();
    for seed in 0..30 {
        for batch_size in [1, 3, 1000] {
            let decoder = JsonLinesDecoder::new(
                JsonLinesOptions::default()
                    .with_schema(schema())
                    .with_batch_size(batch_size)
                    .with_max_line_bytes(200),
            )
            .unwrap();
            let max_chunk = if seed == 0 { 0 } else { 7 };
            let out =
                decode_in_chunks(&mut decoder.item_decoder(), &input, seed, max_chunk).unwrap();
            let lines: Vec<u64> = out.rejects.iter().map(|r| r.line).collect();
            assert_eq!(lines, REJECTED, "seed {seed} batch {batch_size}");
            assert!(out.batches.iter().all(|b| b.num_rows() <= batch_size));
            assert_good(&concat(&out.batches));
        }
    }
}

#[test]
fn rejections_say_why() {
    let decoder = JsonLinesDecoder::new(
        JsonLinesOptions::default()
            .with_schema(schema())
            .with_max_line_bytes(200),
    )
    .unwrap();
    let out = decode_in_chunks(&mut decoder.item_decoder(), &messy_input(), 0, 0).unwrap();
    let reason = |line: u64| {
        out.rejects
            .iter()
            .find(|r| r.line == line)
            .map(|r| r.reason.clone())
            .unwrap_or_default()
    };
    assert!(reason(4).contains("high"), "{}", reason(4));
    assert!(reason(7).contains("one object"), "{}", reason(7));
    assert!(reason(8).contains("UTF-8"), "{}", reason(8));
    assert!(reason(10).contains("over the limit"), "{}", reason(10));
    assert!(reason(11).contains("yesterday"), "{}", reason(11));
}

#[test]
fn inference_types_the_first_objects_and_rejects_conflicts() {
    let decoder = JsonLinesDecoder::new(
        JsonLinesOptions::default()
            .with_infer_rows(4)
            .with_batch_size(2),
    )
    .unwrap();
    let input = b"{\"id\":1,\"v\":1.5,\"tag\":\"a\"}\n\
        {\"id\":2,\"v\":2,\"tag\":null}\n\
        not json\n\
        {\"id\":{\"nested\":true},\"v\":3.0}\n\
        {\"id\":4,\"v\":4.5,\"tag\":\"d\"}\n\
        {\"id\":\"five\",\"v\":5.5}\n\
        {\"id\":6,\"v\":6.5}\n";
    let out = decode_in_chunks(&mut decoder.item_decoder(), input, 4, 5).unwrap();
    let lines: Vec<u64> = out.rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, [3, 4, 6], "{:?}", out.rejects);
    let all = concat(&out.batches);
    let schema = all.schema();
    assert_eq!(
        schema.field_with_name("id").unwrap().data_type(),
        &DataType::Int64
    );
    assert_eq!(
        schema.field_with_name("v").unwrap().data_type(),
        &DataType::Float64
    );
    let ids: Vec<i64> = all
        .column_by_name("id")
        .unwrap()
        .as_primitive::<Int64Type>()
        .values()
        .to_vec();
    assert_eq!(ids, [1, 2, 4, 6]);
}

#[test]
fn empty_and_blank_items_give_nothing() {
    let decoder = JsonLinesDecoder::new(JsonLinesOptions::default()).unwrap();
    for input in [&b""[..], b"\n \r\n\t\n"] {
        let out = decode_in_chunks(&mut decoder.item_decoder(), input, 0, 2).unwrap();
        assert!(out.batches.is_empty() && out.rejects.is_empty());
    }
    assert_eq!(Decoder::name(&decoder), "jsonl");
}

#[test]
fn a_long_line_is_skipped_in_bounded_memory() {
    let decoder = JsonLinesDecoder::new(
        JsonLinesOptions::default()
            .with_schema(vec![ColumnSpec::new("a", ColumnType::Int64)])
            .with_max_line_bytes(1024),
    )
    .unwrap();
    let mut item = decoder.item_decoder();
    let mut out = Decoded::default();
    item.feed(b"{\"a\":1}\n{\"a\":\"", &mut out).unwrap();
    for _ in 0..1000 {
        item.feed(&[b'z'; 4096], &mut out).unwrap();
    }
    item.feed(b"\"}\n{\"a\":3}", &mut out).unwrap();
    item.finish(&mut out).unwrap();
    assert_eq!(out.rejects.len(), 1);
    assert_eq!(out.rejects[0].line, 2);
    assert!(item.peak_buffered_bytes() <= 1025);
    let all = concat(&out.batches);
    assert_eq!(
        all.column(0).as_primitive::<Int64Type>().values().as_ref(),
        &[1, 3]
    );
}

#[test]
fn bad_options_are_configuration_errors() {
    for options in [
        JsonLinesOptions::default().with_batch_size(0),
        JsonLinesOptions::default().with_max_line_bytes(0),
        JsonLinesOptions::default().with_infer_rows(0),
        JsonLinesOptions::default().with_schema(vec![
            ColumnSpec::new("a", ColumnType::Utf8),
            ColumnSpec::new("a", ColumnType::Utf8),
        ]),
    ] {
        let err = JsonLinesDecoder::new(options).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration);
    }
    assert!(serde_json::from_str::<JsonLinesOptions>(r#"{"has_header": true}"#).is_err());
}

#[test]
fn numbers_in_a_text_column_are_kept_as_text() {
    // Inference makes `id` text (it holds a string once); the numbers stay, as text.
    let decoder = JsonLinesDecoder::new(JsonLinesOptions::default()).unwrap();
    let input = b"{\"id\":1}\n{\"id\":\"five\"}\n{\"id\":2.5}\n{\"id\":true}\n";
    let out = decode_in_chunks(&mut decoder.item_decoder(), input, 0, 0).unwrap();
    assert!(out.rejects.is_empty(), "{:?}", out.rejects);
    let all = concat(&out.batches);
    let ids: Vec<&str> = all.column(0).as_string::<i32>().iter().flatten().collect();
    assert_eq!(ids, ["1", "five", "2.5", "true"]);
}

#[test]
fn deep_nesting_is_a_row_error_not_a_stack_overflow() {
    let deep_arrays = "[".repeat(100_000);
    let deep_objects = "{\"a\":".repeat(100_000);
    let bare_braces = "{".repeat(100_000);
    let mut input = b"{\"a\":1}\n".to_vec();
    for line in [&deep_arrays, &deep_objects, &bare_braces] {
        input.extend_from_slice(line.as_bytes());
        input.push(b'\n');
    }
    // Brackets inside a string do not nest.
    input.extend_from_slice(format!("{{\"a\":2,\"s\":\"{}\"}}\n", "[{".repeat(5_000)).as_bytes());
    input.extend_from_slice(b"{\"a\":3}\n");
    let schema = vec![
        ColumnSpec::new("a", ColumnType::Int64),
        ColumnSpec::new("s", ColumnType::Utf8),
    ];
    let explicit = JsonLinesDecoder::new(JsonLinesOptions::default().with_schema(schema)).unwrap();
    let inferring = JsonLinesDecoder::new(JsonLinesOptions::default()).unwrap();
    for decoder in [explicit, inferring] {
        for max_chunk in [0, 4096] {
            let out = decode_in_chunks(&mut decoder.item_decoder(), &input, 1, max_chunk).unwrap();
            let lines: Vec<u64> = out.rejects.iter().map(|r| r.line).collect();
            assert_eq!(lines, [2, 3, 4]);
            for reject in &out.rejects {
                assert!(
                    reject.reason.contains("nested deeper than 128"),
                    "{}",
                    reject.reason
                );
                assert!(reject.complete);
            }
            let all = concat(&out.batches);
            let a: Vec<i64> = all
                .column_by_name("a")
                .unwrap()
                .as_primitive::<Int64Type>()
                .values()
                .to_vec();
            assert_eq!(a, [1, 2, 3]);
        }
    }
    assert_eq!(collectors_processors::MAX_JSON_DEPTH, 128);
}

#[test]
fn nesting_up_to_the_limit_is_accepted() {
    // 127 arrays inside the object: 128 levels.
    let line = format!("{{\"a\":1,\"x\":{}{}}}\n", "[".repeat(127), "]".repeat(127));
    let decoder = JsonLinesDecoder::new(
        JsonLinesOptions::default().with_schema(vec![ColumnSpec::new("a", ColumnType::Int64)]),
    )
    .unwrap();
    let out = decode_in_chunks(&mut decoder.item_decoder(), line.as_bytes(), 0, 0).unwrap();
    assert!(out.rejects.is_empty(), "{:?}", out.rejects);
    let line = format!("{{\"a\":1,\"x\":{}{}}}\n", "[".repeat(128), "]".repeat(128));
    let out = decode_in_chunks(&mut decoder.item_decoder(), line.as_bytes(), 0, 0).unwrap();
    assert_eq!(out.rejects.len(), 1);
}
