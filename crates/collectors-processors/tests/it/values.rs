//! The value rules both line decoders share: a byte order mark, timestamps (text, integer
//! epochs and their unit, leap seconds), non-finite and out-of-range numbers.

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use collectors_core::Decoded;
use collectors_processors::{
    ColumnSpec, ColumnType, CsvDecoder, CsvOptions, JsonLinesDecoder, JsonLinesOptions,
    TimestampUnit,
};

use crate::{concat, decode_in_chunks};

/// 2026-01-01T00:00:00Z in microseconds.
const NEW_YEAR_US: i64 = 1_767_225_600_000_000;

fn csv(schema: Vec<ColumnSpec>, unit: TimestampUnit, input: &[u8], max_chunk: usize) -> Decoded {
    let decoder = CsvDecoder::new(
        CsvOptions::default()
            .with_schema(schema)
            .with_timestamp_unit(unit),
    )
    .unwrap();
    decode_in_chunks(&mut decoder.item_decoder(), input, 3, max_chunk).unwrap()
}

fn jsonl(schema: Vec<ColumnSpec>, unit: TimestampUnit, input: &[u8], max_chunk: usize) -> Decoded {
    let decoder = JsonLinesDecoder::new(
        JsonLinesOptions::default()
            .with_schema(schema)
            .with_timestamp_unit(unit),
    )
    .unwrap();
    decode_in_chunks(&mut decoder.item_decoder(), input, 3, max_chunk).unwrap()
}

fn ts_schema() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::new("ts", ColumnType::Timestamp),
        ColumnSpec::new("v", ColumnType::Float64),
    ]
}

fn timestamps(out: &Decoded) -> Vec<Option<i64>> {
    concat(&out.batches)
        .column(0)
        .as_primitive::<TimestampMicrosecondType>()
        .iter()
        .collect()
}

fn floats(out: &Decoded, column: usize) -> Vec<Option<f64>> {
    concat(&out.batches)
        .column(column)
        .as_primitive::<Float64Type>()
        .iter()
        .collect()
}

fn reasons(out: &Decoded) -> Vec<(u64, String)> {
    out.rejects
        .iter()
        .map(|r| (r.line, r.reason.clone()))
        .collect()
}

#[test]
fn a_utf8_bom_before_the_header_is_skipped_whatever_the_chunking() {
    let input = b"\xEF\xBB\xBFts,v\n2026-01-01T00:00:00Z,1.5\n";
    for max_chunk in [0, 1, 2, 3, 5] {
        let out = csv(ts_schema(), TimestampUnit::Seconds, input, max_chunk);
        assert!(
            out.rejects.is_empty(),
            "chunks {max_chunk}: {:?}",
            out.rejects
        );
        assert_eq!(timestamps(&out), [Some(NEW_YEAR_US)]);
    }
    // Inferred schemas get the clean name too.
    let decoder = CsvDecoder::new(CsvOptions::default()).unwrap();
    let out =
        decode_in_chunks(&mut decoder.item_decoder(), b"\xEF\xBB\xBFa,b\n1,2\n", 0, 1).unwrap();
    assert_eq!(concat(&out.batches).schema().field(0).name(), "a");
    // Without a header, the first data line loses its mark only.
    let decoder = CsvDecoder::new(
        CsvOptions::default()
            .with_header(false)
            .with_schema(vec![ColumnSpec::new("n", ColumnType::Int64)]),
    )
    .unwrap();
    let out = decode_in_chunks(&mut decoder.item_decoder(), b"\xEF\xBB\xBF7\n8\n", 0, 2).unwrap();
    assert!(out.rejects.is_empty(), "{:?}", out.rejects);
    let all = concat(&out.batches);
    assert_eq!(
        all.column(0).as_primitive::<Int64Type>().values().as_ref(),
        &[7, 8]
    );
}

#[test]
fn a_utf8_bom_before_the_first_json_line_is_skipped() {
    let input = b"\xEF\xBB\xBF{\"ts\":\"2026-01-01T00:00:00Z\",\"v\":2.5}\n{\"v\":3}\n";
    for max_chunk in [0, 1, 2, 4] {
        let out = jsonl(ts_schema(), TimestampUnit::Seconds, input, max_chunk);
        assert!(
            out.rejects.is_empty(),
            "chunks {max_chunk}: {:?}",
            out.rejects
        );
        assert_eq!(floats(&out, 1), [Some(2.5), Some(3.0)]);
    }
    let inferring = JsonLinesDecoder::new(JsonLinesOptions::default()).unwrap();
    let out = decode_in_chunks(
        &mut inferring.item_decoder(),
        b"\xEF\xBB\xBF{\"a\":1}\n",
        0,
        1,
    )
    .unwrap();
    assert!(out.rejects.is_empty(), "{:?}", out.rejects);
    assert_eq!(concat(&out.batches).num_rows(), 1);
}

#[test]
fn only_a_leading_bom_is_dropped_and_a_partial_one_is_data() {
    let schema = vec![ColumnSpec::new("s", ColumnType::Utf8)];
    // A BOM inside a line is data; so are bytes that only begin like a mark.
    let out = csv(
        schema.clone(),
        TimestampUnit::Seconds,
        b"s\nx\xEF\xBB\xBF\n",
        1,
    );
    assert_eq!(
        concat(&out.batches).column(0).as_string::<i32>().value(0),
        "x\u{feff}"
    );
    let decoder =
        CsvDecoder::new(CsvOptions::default().with_header(false).with_schema(schema)).unwrap();
    for input in [&b"\xEF\xBB"[..], b"\xEF", b"\xEFx\n"] {
        let out = decode_in_chunks(&mut decoder.item_decoder(), input, 0, 1).unwrap();
        assert_eq!(out.rejects.len(), 1, "{input:?}: not UTF-8, kept as a row");
        assert_eq!(
            out.rejects[0].raw.as_ref(),
            input.strip_suffix(b"\n").unwrap_or(input)
        );
    }
}

/// Every unit, both formats: the same instant.
#[test]
fn integer_timestamps_are_epochs_in_the_configured_unit_in_both_formats() {
    let cases = [
        (TimestampUnit::Seconds, "1767225600"),
        (TimestampUnit::Milliseconds, "1767225600000"),
        (TimestampUnit::Microseconds, "1767225600000000"),
        (TimestampUnit::Nanoseconds, "1767225600000000000"),
    ];
    for (unit, epoch) in cases {
        let input = format!("ts,v\n{epoch},1\n2026-01-01T00:00:01Z,2\n");
        let out = csv(ts_schema(), unit, input.as_bytes(), 0);
        assert!(out.rejects.is_empty(), "csv {unit:?}: {:?}", out.rejects);
        assert_eq!(
            timestamps(&out),
            [Some(NEW_YEAR_US), Some(NEW_YEAR_US + 1_000_000)],
            "csv {unit:?}"
        );

        let input = format!(
            "{{\"ts\":{epoch},\"v\":1}}\n{{\"ts\":\"{epoch}\",\"v\":2}}\n{{\"ts\":\"2026-01-01T00:00:01Z\"}}\n"
        );
        let out = jsonl(ts_schema(), unit, input.as_bytes(), 0);
        assert!(out.rejects.is_empty(), "jsonl {unit:?}: {:?}", out.rejects);
        assert_eq!(
            timestamps(&out),
            [
                Some(NEW_YEAR_US),
                Some(NEW_YEAR_US),
                Some(NEW_YEAR_US + 1_000_000)
            ],
            "jsonl {unit:?}"
        );
    }
    // The default is seconds, and the option is spelled as documented.
    assert_eq!(CsvOptions::default().timestamp_unit, TimestampUnit::Seconds);
    assert_eq!(
        JsonLinesOptions::default().timestamp_unit,
        TimestampUnit::Seconds
    );
    for (text, unit) in [
        ("s", TimestampUnit::Seconds),
        ("ms", TimestampUnit::Milliseconds),
        ("us", TimestampUnit::Microseconds),
        ("ns", TimestampUnit::Nanoseconds),
    ] {
        let csv: CsvOptions =
            serde_json::from_str(&format!(r#"{{"timestamp_unit":"{text}"}}"#)).unwrap();
        assert_eq!(csv.timestamp_unit, unit);
        let json: JsonLinesOptions =
            serde_json::from_str(&format!(r#"{{"timestamp_unit":"{text}"}}"#)).unwrap();
        assert_eq!(json.timestamp_unit, unit);
    }
    assert!(serde_json::from_str::<CsvOptions>(r#"{"timestamp_unit":"minutes"}"#).is_err());
    assert!(serde_json::from_str::<JsonLinesOptions>(r#"{"timestamp_units":"s"}"#).is_err());
}

#[test]
fn negative_and_out_of_range_epochs() {
    let out = csv(
        ts_schema(),
        TimestampUnit::Seconds,
        b"ts,v\n-1,1\n99999999999999999,2\n",
        0,
    );
    assert_eq!(timestamps(&out), [Some(-1_000_000)]);
    assert_eq!(out.rejects.len(), 1);
    assert!(
        out.rejects[0].reason.contains("out of range"),
        "{:?}",
        out.rejects
    );
    let out = jsonl(
        ts_schema(),
        TimestampUnit::Seconds,
        b"{\"ts\":99999999999999999}\n{\"ts\":1.5}\n",
        0,
    );
    assert_eq!(out.rejects.len(), 2, "{:?}", out.rejects);
    assert!(out.rejects[0].reason.contains("out of range"));
}

#[test]
fn timestamp_errors_name_the_accepted_formats() {
    let expected = "expected an RFC 3339 timestamp like 2026-01-01T00:00:00Z, \
                    `YYYY-MM-DD HH:MM:SS[.fff]` (UTC), or an integer epoch in seconds";
    let out = csv(
        ts_schema(),
        TimestampUnit::Seconds,
        b"ts,v\nyesterday,1\n2026-13-01,2\n",
        0,
    );
    for (line, reason) in reasons(&out) {
        assert!(reason.contains(expected), "csv line {line}: {reason}");
        assert!(reason.contains("\"ts\""), "{reason}");
        assert!(
            !reason.contains("Timestamp("),
            "no Arrow type name: {reason}"
        );
    }
    assert_eq!(out.rejects.len(), 2);
    let out = jsonl(
        ts_schema(),
        TimestampUnit::Milliseconds,
        b"{\"ts\":\"yesterday\"}\n{\"ts\":true}\n",
        0,
    );
    assert_eq!(out.rejects.len(), 2);
    for (line, reason) in reasons(&out) {
        assert!(
            reason.contains("or an integer epoch in milliseconds"),
            "jsonl line {line}: {reason}"
        );
    }
}

#[test]
fn a_leap_second_is_rejected_not_moved_to_the_next_day() {
    for text in [
        "2026-01-01T23:59:60Z",
        "2026-01-01 23:59:60",
        "2026-06-30T23:59:60.5Z",
        "2026-01-01T23:59:60+02:00",
    ] {
        let input = format!("ts,v\n{text},1\n2026-01-01T00:00:00Z,2\n");
        let out = csv(ts_schema(), TimestampUnit::Seconds, input.as_bytes(), 0);
        assert_eq!(timestamps(&out), [Some(NEW_YEAR_US)], "csv {text}");
        assert_eq!(out.rejects.len(), 1, "csv {text}");
        assert!(
            out.rejects[0].reason.contains("leap second"),
            "{:?}",
            out.rejects
        );

        let input = format!("{{\"ts\":\"{text}\"}}\n{{\"ts\":\"2026-01-01T00:00:00Z\"}}\n");
        let out = jsonl(ts_schema(), TimestampUnit::Seconds, input.as_bytes(), 0);
        assert_eq!(timestamps(&out), [Some(NEW_YEAR_US)], "jsonl {text}");
        assert!(
            out.rejects[0].reason.contains("leap second"),
            "{:?}",
            out.rejects
        );
    }
}

#[test]
fn nan_and_infinity_literals_are_ieee_values_in_csv() {
    let schema = vec![
        ColumnSpec::new("k", ColumnType::Utf8),
        ColumnSpec::new("v", ColumnType::Float64),
    ];
    let input = b"k,v\na,NaN\nb,inf\nc,-inf\nd,infinity\ne,-Infinity\nf,1.5\n";
    for max_chunk in [0, 4] {
        let out = csv(schema.clone(), TimestampUnit::Seconds, input, max_chunk);
        assert!(out.rejects.is_empty(), "{:?}", out.rejects);
        let values = floats(&out, 1);
        assert!(values[0].unwrap().is_nan());
        assert_eq!(
            values[1..],
            [
                Some(f64::INFINITY),
                Some(f64::NEG_INFINITY),
                Some(f64::INFINITY),
                Some(f64::NEG_INFINITY),
                Some(1.5)
            ]
        );
    }
}

#[test]
fn a_float_that_overflows_is_rejected_not_infinity() {
    let schema = vec![
        ColumnSpec::new("k", ColumnType::Utf8),
        ColumnSpec::new("v", ColumnType::Float64),
    ];
    let input = b"k,v\na,1e400\nb,2.5\nc,-1e400\nd,inf\ne,1.8e308\nf,1e308\n";
    for max_chunk in [0, 3] {
        let out = csv(schema.clone(), TimestampUnit::Seconds, input, max_chunk);
        let lines: Vec<u64> = out.rejects.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 4, 6], "{:?}", out.rejects);
        for (_, reason) in reasons(&out) {
            assert!(
                reason.contains("out of range for a 64-bit float"),
                "{reason}"
            );
        }
        assert_eq!(
            floats(&out, 1),
            [Some(2.5), Some(f64::INFINITY), Some(1e308)]
        );
    }

    let input = b"{\"k\":\"a\",\"v\":1e400}\n{\"k\":\"b\",\"v\":2.5}\n{\"k\":\"c\",\"v\":-1e400}\n\
                  {\"k\":\"d\",\"v\":\"inf\"}\n{\"k\":\"e\",\"v\":\"1e400\"}\n{\"k\":\"f\",\"v\":\"NaN\"}\n";
    let out = jsonl(schema, TimestampUnit::Seconds, input, 0);
    let lines: Vec<u64> = out.rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, [1, 3, 5], "{:?}", out.rejects);
    for (_, reason) in reasons(&out) {
        assert!(
            reason.contains("out of range for a 64-bit float"),
            "{reason}"
        );
    }
    let values = floats(&out, 1);
    assert_eq!(values[..2], [Some(2.5), Some(f64::INFINITY)]);
    assert!(values[2].unwrap().is_nan());
}

#[test]
fn integers_outside_the_64_bit_range_are_rejected() {
    let schema = vec![ColumnSpec::new("n", ColumnType::Int64)];
    let input = b"n\n9223372036854775807\n9223372036854775808\n-9223372036854775809\n-9223372036854775808\n";
    let out = csv(schema.clone(), TimestampUnit::Seconds, input, 0);
    let lines: Vec<u64> = out.rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, [3, 4]);
    assert!(
        out.rejects[0]
            .reason
            .contains("out of range for a 64-bit integer")
    );
    let all = concat(&out.batches);
    assert_eq!(
        all.column(0).as_primitive::<Int64Type>().values().as_ref(),
        &[i64::MAX, i64::MIN]
    );

    let input = b"{\"n\":9223372036854775807}\n{\"n\":9223372036854775808}\n{\"n\":1e400}\n{\"n\":-9223372036854775809}\n";
    let out = jsonl(schema, TimestampUnit::Seconds, input, 0);
    let lines: Vec<u64> = out.rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, [2, 3, 4], "{:?}", out.rejects);
    let all = concat(&out.batches);
    assert_eq!(all.num_rows(), 1);
    assert!(!all.column(0).is_null(0));
}
