use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use collectors_core::{Decoded, Decoder, ErrorType, ItemDecoder, SourceItem};
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

/// Good rows, each kind of bad row, a blank line, quotes, CRLF and no final newline.
fn messy_input() -> Vec<u8> {
    let mut input = Vec::new();
    input.extend_from_slice(b"ts,sensor_id,value,status\n"); // 1 header
    input.extend_from_slice(b"2024-01-01 00:00:00,s1,1.5,ok\n"); // 2
    input.extend_from_slice(b"2024-01-01 00:00:01,s2,2.5,ok\n"); // 3
    input.extend_from_slice(b"2024-01-01 00:00:02,s1,3.5\n"); // 4 too few fields
    input.extend_from_slice(b"2024-01-01 00:00:03,s2,abc,ok\n"); // 5 not a number
    input.extend_from_slice(b"\n"); // 6 blank
    input.extend_from_slice(b"2024-01-01 00:00:04,s1,\xff\xfe,ok\n"); // 7 invalid UTF-8
    input.extend_from_slice(b"2024-01-01T00:00:05Z,\"s,3\",4.5,\"say \"\"hi\"\"\"\n"); // 8
    input.extend_from_slice(&[b'9'; 300]); // 9 over the 100-byte limit
    input.push(b'\n');
    input.extend_from_slice(b"2024-01-01 00:00:06,s2,5.5,ok\r\n"); // 10 CRLF
    input.extend_from_slice(b"2024-01-01 00:00:07,s1,,ok\n"); // 11 null value
    input.extend_from_slice(b"not-a-time,s1,1.0,ok\n"); // 12 bad timestamp
    input.extend_from_slice(b"2024-01-01 00:00:08,s1,\"7.5\",late,extra\n"); // 13 too many fields
    input.extend_from_slice(b"2024-01-01 00:00:09,s1,\"7.5\",late"); // 14, no newline
    input
}

const GOOD_LINES: usize = 6;
const REJECTED_LINES: [u64; 6] = [4, 5, 7, 9, 12, 13];

fn messy_decoder(batch_size: usize) -> CsvDecoder {
    CsvDecoder::new(
        CsvOptions::default()
            .with_schema(sensor_schema())
            .with_batch_size(batch_size)
            .with_max_line_bytes(100),
    )
    .unwrap()
}

/// The good rows of `messy_input`, checked value by value.
fn assert_good_rows(batch: &RecordBatch) {
    assert_eq!(batch.num_rows(), GOOD_LINES);
    let second = 1_000_000i64;
    let start = 1_704_067_200 * second; // 2024-01-01T00:00:00Z
    let ts = batch.column(0).as_primitive::<TimestampMicrosecondType>();
    assert_eq!(
        ts.values().as_ref(),
        &[
            start,
            start + second,
            start + 5 * second,
            start + 6 * second,
            start + 7 * second,
            start + 9 * second
        ]
    );
    let sensors: Vec<&str> = batch
        .column(1)
        .as_string::<i32>()
        .iter()
        .flatten()
        .collect();
    assert_eq!(sensors, ["s1", "s2", "s,3", "s2", "s1", "s1"]);
    let values: Vec<Option<f64>> = batch
        .column(2)
        .as_primitive::<Float64Type>()
        .iter()
        .collect();
    assert_eq!(
        values,
        [Some(1.5), Some(2.5), Some(4.5), Some(5.5), None, Some(7.5)]
    );
    let status: Vec<&str> = batch
        .column(3)
        .as_string::<i32>()
        .iter()
        .flatten()
        .collect();
    assert_eq!(status, ["ok", "ok", "say \"hi\"", "ok", "ok", "late"]);
}

fn rejected_lines(out: &Decoded) -> Vec<u64> {
    out.rejects.iter().map(|r| r.line).collect()
}

#[test]
fn random_small_chunks_keep_good_rows_and_reject_bad_lines_by_number() {
    let input = messy_input();
    for seed in 0..40 {
        for batch_size in [1, 2, 3, 1000] {
            let decoder = messy_decoder(batch_size);
            let mut item = decoder.item_decoder();
            let out = decode_in_chunks(&mut item, &input, seed, 7).unwrap();
            assert_eq!(
                rejected_lines(&out),
                REJECTED_LINES,
                "seed {seed} batch {batch_size}"
            );
            assert!(out.batches.iter().all(|b| b.num_rows() <= batch_size));
            assert!(out.batches.iter().all(|b| b.num_rows() > 0));
            assert_good_rows(&concat(&out.batches));
            assert_eq!(out.rows(), (GOOD_LINES + REJECTED_LINES.len()) as u64);
        }
    }
}

#[test]
fn one_chunk_gives_the_same_result_as_small_chunks() {
    let input = messy_input();
    let decoder = messy_decoder(4);
    let whole = decode_in_chunks(&mut decoder.item_decoder(), &input, 0, 0).unwrap();
    let chunked = decode_in_chunks(&mut decoder.item_decoder(), &input, 99, 3).unwrap();
    assert_eq!(whole.rejects, chunked.rejects);
    assert_eq!(concat(&whole.batches), concat(&chunked.batches));
    assert_eq!(
        whole
            .batches
            .iter()
            .map(RecordBatch::num_rows)
            .collect::<Vec<_>>(),
        chunked
            .batches
            .iter()
            .map(RecordBatch::num_rows)
            .collect::<Vec<_>>()
    );
}

#[test]
fn rejections_say_why_and_keep_the_raw_line() {
    let input = messy_input();
    let out = decode_in_chunks(&mut messy_decoder(1000).item_decoder(), &input, 0, 0).unwrap();
    let reason = |line: u64| {
        out.rejects
            .iter()
            .find(|r| r.line == line)
            .map(|r| r.reason.clone())
            .unwrap()
    };
    assert!(reason(4).contains("expected 4, found 3"), "{}", reason(4));
    assert!(
        reason(5).contains("\"value\"") && reason(5).contains("abc"),
        "{}",
        reason(5)
    );
    assert!(reason(7).contains("UTF-8"), "{}", reason(7));
    assert!(reason(9).contains("300 bytes"), "{}", reason(9));
    assert!(reason(12).contains("\"ts\""), "{}", reason(12));
    assert!(reason(13).contains("expected 4, found 5"), "{}", reason(13));
    let line5 = out.rejects.iter().find(|r| r.line == 5).unwrap();
    assert_eq!(line5.raw.as_ref(), b"2024-01-01 00:00:03,s2,abc,ok");
    assert!(line5.complete);
    // Invalid UTF-8 is kept byte for byte, not replaced.
    let line7 = out.rejects.iter().find(|r| r.line == 7).unwrap();
    assert_eq!(line7.raw.as_ref(), b"2024-01-01 00:00:04,s1,\xff\xfe,ok");
    assert!(line7.complete);
    // A line over the limit but under the raw bound is kept whole.
    let line9 = out.rejects.iter().find(|r| r.line == 9).unwrap();
    assert_eq!(line9.raw.as_ref(), &[b'9'; 300][..]);
    assert!(line9.complete);
}

#[test]
fn batches_are_full_except_the_last_when_every_row_is_good() {
    let mut input = b"n,label\n".to_vec();
    for i in 0..25 {
        input.extend_from_slice(format!("{i},row {i}\r\n").as_bytes());
    }
    let decoder = CsvDecoder::new(CsvOptions::default().with_batch_size(10).with_schema(vec![
        ColumnSpec::new("n", ColumnType::Int64),
        ColumnSpec::new("label", ColumnType::Utf8),
    ]))
    .unwrap();
    let out = decode_in_chunks(&mut decoder.item_decoder(), &input, 5, 6).unwrap();
    let sizes: Vec<usize> = out.batches.iter().map(RecordBatch::num_rows).collect();
    assert_eq!(sizes, [10, 10, 5]);
    assert!(out.rejects.is_empty());
    let all = concat(&out.batches);
    let n: Vec<i64> = all.column(0).as_primitive::<Int64Type>().values().to_vec();
    assert_eq!(n, (0..25).collect::<Vec<_>>());
    // `\r\n` endings leave no `\r` in the last column.
    assert_eq!(all.column(1).as_string::<i32>().value(24), "row 24");
}

#[test]
fn empty_blank_and_header_only_items_give_nothing() {
    let decoder = CsvDecoder::new(CsvOptions::default().with_schema(sensor_schema())).unwrap();
    for input in [
        &b""[..],
        b"\n\n  \r\n",
        b"ts,sensor_id,value,status",
        b"ts,sensor_id,value,status\r\n\n",
    ] {
        let out = decode_in_chunks(&mut decoder.item_decoder(), input, 1, 2).unwrap();
        assert!(out.batches.is_empty(), "{input:?}");
        assert!(out.rejects.is_empty(), "{input:?}");
    }
    let inferring = CsvDecoder::new(CsvOptions::default()).unwrap();
    let out = decode_in_chunks(&mut inferring.item_decoder(), b"a,b\n", 0, 0).unwrap();
    assert!(out.batches.is_empty() && out.rejects.is_empty());
}

#[test]
fn an_unreadable_header_fails_the_item() {
    let decoder = CsvDecoder::new(CsvOptions::default()).unwrap();
    let mut garbage = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00];
    garbage.extend((0..2000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("binary", garbage),
        ("invalid UTF-8", b"a,\xff\xfeb\n1,2\n".to_vec()),
        ("NUL bytes", b"a\0b,c\n1,2\n".to_vec()),
        ("unclosed quote", b"\"a,b\n1,2\n".to_vec()),
        ("duplicate names", b"a,a\n1,2\n".to_vec()),
    ];
    for (what, input) in cases {
        for max_chunk in [0, 3] {
            let err = decode_in_chunks(&mut decoder.item_decoder(), &input, 7, max_chunk)
                .expect_err(what);
            assert_eq!(err.error_type(), ErrorType::Validation, "{what}: {err}");
            assert!(err.message().contains("not CSV"), "{what}: {err}");
        }
    }

    // An over-long header is not read either, and the item stays failed.
    let decoder = CsvDecoder::new(CsvOptions::default().with_max_line_bytes(8)).unwrap();
    let mut item = decoder.item_decoder();
    let mut out = Decoded::default();
    let err = item
        .feed(b"a_long_name,b\n1,2\n", &mut out)
        .expect_err("over-long header");
    assert_eq!(err.error_type(), ErrorType::Validation);
    assert!(item.finish(&mut out).is_err());
}

#[test]
fn header_must_match_the_explicit_schema() {
    let decoder = CsvDecoder::new(CsvOptions::default().with_schema(sensor_schema())).unwrap();
    let err = decode_in_chunks(
        &mut decoder.item_decoder(),
        b"ts,sensor,value,status\n2024-01-01 00:00:00,s1,1.5,ok\n",
        0,
        0,
    )
    .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation);
    assert!(
        err.message().contains(
            "header column 2 `sensor` does not match any schema column; \
             expected: ts, sensor_id, value, status"
        ),
        "{err}"
    );
    let err = decode_in_chunks(&mut decoder.item_decoder(), b"ts,sensor_id\n", 0, 0).unwrap_err();
    assert!(
        err.message()
            .contains("the header has no column `value`, `status`"),
        "{err}"
    );
}

#[test]
fn without_header_line_one_is_data() {
    let decoder = CsvDecoder::new(
        CsvOptions::default()
            .with_header(false)
            .with_delimiter(';')
            .with_schema(vec![
                ColumnSpec::new("k", ColumnType::Utf8),
                ColumnSpec::new("ok", ColumnType::Boolean),
            ]),
    )
    .unwrap();
    let out = decode_in_chunks(
        &mut decoder.item_decoder(),
        b"a;true\nb;maybe\nc;false\n",
        3,
        2,
    )
    .unwrap();
    assert_eq!(out.rejects.len(), 1);
    assert_eq!(out.rejects[0].line, 2);
    let all = concat(&out.batches);
    let flags: Vec<Option<bool>> = all.column(1).as_boolean().iter().collect();
    assert_eq!(flags, [Some(true), Some(false)]);
}

#[test]
fn inference_reads_the_first_lines_then_rejects_what_does_not_fit() {
    let decoder =
        CsvDecoder::new(CsvOptions::default().with_infer_rows(3).with_batch_size(2)).unwrap();
    let input = b"id,temp,name,when\n\
        1,20.5,alpha,2024-01-01T00:00:00\n\
        2,21,beta,2024-01-01T00:01:00\n\
        oops,x\n\
        3,22.25,,2024-01-01T00:02:00\n\
        four,23.0,delta,2024-01-01T00:03:00\n\
        5,24.0,epsilon,2024-01-01T00:04:00\n";
    let out = decode_in_chunks(&mut decoder.item_decoder(), input, 11, 5).unwrap();
    assert_eq!(rejected_lines(&out), [4, 6]);
    let all = concat(&out.batches);
    let schema = all.schema();
    let types: Vec<(&str, &DataType)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    assert_eq!(types[0], ("id", &DataType::Int64));
    assert_eq!(types[1], ("temp", &DataType::Float64));
    assert_eq!(types[2], ("name", &DataType::Utf8));
    assert!(matches!(types[3].1, DataType::Timestamp(..)), "{types:?}");
    assert!(schema.fields().iter().all(|f| f.is_nullable()));
    let ids: Vec<i64> = all.column(0).as_primitive::<Int64Type>().values().to_vec();
    assert_eq!(ids, [1, 2, 3, 5]);
    assert!(all.column(2).is_null(2));
}

#[test]
fn a_50_mb_line_is_rejected_in_bounded_memory() {
    const MIB: usize = 1024 * 1024;
    let decoder = CsvDecoder::new(CsvOptions::default().with_max_line_bytes(MIB).with_schema(
        vec![
            ColumnSpec::new("a", ColumnType::Utf8),
            ColumnSpec::new("b", ColumnType::Int64),
        ],
    ))
    .unwrap();
    let mut item = decoder.item_decoder();
    let mut out = Decoded::default();
    item.feed(b"a,b\nfirst,1\nhuge,", &mut out).unwrap();
    let block = vec![b'7'; 64 * 1024];
    for _ in 0..800 {
        item.feed(&block, &mut out).unwrap();
    }
    item.feed(b"\nlast,2\n", &mut out).unwrap();
    item.finish(&mut out).unwrap();

    assert_eq!(rejected_lines(&out), [3]);
    assert!(out.rejects[0].reason.contains("over the limit"));
    assert!(out.rejects[0].raw.len() <= 1100, "raw is bounded");
    assert!(!out.rejects[0].complete, "only a prefix is kept");
    assert!(out.rejects[0].raw.starts_with(b"huge,777"));
    assert!(
        item.peak_buffered_bytes() <= MIB + 1,
        "held {} bytes of one line",
        item.peak_buffered_bytes()
    );
    let all = concat(&out.batches);
    let b: Vec<i64> = all.column(1).as_primitive::<Int64Type>().values().to_vec();
    assert_eq!(b, [1, 2]);

    // The same line in one chunk is rejected without copying it.
    let mut whole = b"a,b\n".to_vec();
    whole.extend(std::iter::repeat_n(b'x', 3 * MIB));
    whole.extend_from_slice(b"\nok,3\n");
    let mut item = decoder.item_decoder();
    let out = decode_in_chunks(&mut item, &whole, 0, 0).unwrap();
    assert_eq!(rejected_lines(&out), [2]);
    assert_eq!(concat(&out.batches).num_rows(), 1);
    assert!(item.peak_buffered_bytes() <= MIB + 1);
}

#[test]
fn a_quoted_line_break_rejects_both_halves() {
    let decoder = CsvDecoder::new(CsvOptions::default().with_schema(vec![
        ColumnSpec::new("id", ColumnType::Int64),
        ColumnSpec::new("note", ColumnType::Utf8),
    ]))
    .unwrap();
    let out = decode_in_chunks(
        &mut decoder.item_decoder(),
        b"id,note\n1,\"two\nlines\"\n2,fine\n",
        0,
        0,
    )
    .unwrap();
    assert_eq!(rejected_lines(&out), [2, 3]);
    assert!(out.rejects[0].reason.contains("wrong number of fields"));
    assert_eq!(concat(&out.batches).num_rows(), 1);
}

#[test]
fn bad_options_are_configuration_errors() {
    let bad = [
        CsvOptions::default().with_batch_size(0),
        CsvOptions::default().with_max_line_bytes(0),
        CsvOptions::default().with_infer_rows(0),
        CsvOptions::default().with_delimiter('"'),
        CsvOptions::default().with_delimiter('\n'),
        CsvOptions::default().with_delimiter('é'),
        CsvOptions::default().with_schema(vec![]),
    ];
    for options in bad {
        let err = CsvDecoder::new(options.clone()).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration, "{options:?}");
    }
    let parsed: CsvOptions = serde_json::from_str("{}").unwrap();
    assert_eq!(parsed, CsvOptions::default());
    assert!(serde_json::from_str::<CsvOptions>(r#"{"header": true}"#).is_err());
}

#[test]
fn decoder_trait_hands_out_fresh_item_decoders() {
    let decoder = CsvDecoder::new(CsvOptions::default()).unwrap();
    assert_eq!(Decoder::name(&decoder), "csv");
    let item = SourceItem::listed("local", "a.csv", "1");
    let mut first = decoder.decoder_for(&item).unwrap();
    let mut out = Decoded::default();
    first.feed(b"x\n1\n", &mut out).unwrap();
    first.finish(&mut out).unwrap();
    let mut second = decoder.decoder_for(&item).unwrap();
    let mut again = Decoded::default();
    second.feed(b"y\n2\n", &mut again).unwrap();
    second.finish(&mut again).unwrap();
    assert_eq!(again.batches[0].schema().field(0).name(), "y");
}

/// A tab delimiter makes a line of tabs a row of empty fields, not a blank line.
#[test]
fn tab_delimited_empty_fields_are_a_row() {
    let decoder = CsvDecoder::new(CsvOptions::default().with_delimiter('\t').with_schema(vec![
        ColumnSpec::new("a", ColumnType::Utf8),
        ColumnSpec::new("b", ColumnType::Int64),
    ]))
    .unwrap();
    let out = decode_in_chunks(&mut decoder.item_decoder(), b"a\tb\n\t\nx\t1\n", 0, 0).unwrap();
    let all = concat(&out.batches);
    assert_eq!(all.num_rows(), 2);
    assert!(all.column(0).is_null(0) && all.column(1).is_null(0));
}

/// Thousands of generated lines, a random share of them bad in random ways, random chunking
/// and batch sizes: the good values come out in order and every bad line is rejected once,
/// by number, in order.
#[test]
fn generated_files_with_random_bad_lines() {
    for seed in 0..6u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut input = b"id,value,label\n".to_vec();
        let mut good_ids = Vec::new();
        let mut bad_lines = Vec::new();
        let mut line = 1u64;
        for id in 0..3000i64 {
            line += 1;
            let kind = rng.u8(0..20);
            let text = match kind {
                0 => format!("{id},{}\n", rng.f64()), // missing field
                1 => format!("{id},not-a-number,x\n"),
                2 => format!("{id},1.0,x,y\n"), // extra field
                3 => format!("{id},{},\"open\n", rng.f64()), // unclosed quote
                4 => format!("{id},2.0,{}\n", "w".repeat(300)), // over-long
                5 => "\n".to_owned(),           // blank: skipped, not rejected
                _ => format!("{id},{}.5,\"label, {id}\"\r\n", id % 97),
            };
            input.extend_from_slice(text.as_bytes());
            match kind {
                0..=4 => bad_lines.push(line),
                5 => {}
                _ => good_ids.push(id),
            }
            if kind == 6 {
                // An invalid UTF-8 line right after a good one.
                line += 1;
                input.extend_from_slice(b"\xc3\x28,1.0,x\n");
                bad_lines.push(line);
            }
        }
        let batch_size = rng.usize(1..600);
        let decoder = CsvDecoder::new(
            CsvOptions::default()
                .with_batch_size(batch_size)
                .with_max_line_bytes(256)
                .with_schema(vec![
                    ColumnSpec::new("id", ColumnType::Int64),
                    ColumnSpec::new("value", ColumnType::Float64),
                    ColumnSpec::new("label", ColumnType::Utf8),
                ]),
        )
        .unwrap();
        let out = decode_in_chunks(&mut decoder.item_decoder(), &input, seed, 4096).unwrap();
        assert_eq!(rejected_lines(&out), bad_lines, "seed {seed}");
        assert!(out.batches.iter().all(|b| b.num_rows() <= batch_size));
        let all = concat(&out.batches);
        let ids: Vec<i64> = all.column(0).as_primitive::<Int64Type>().values().to_vec();
        assert_eq!(ids, good_ids, "seed {seed}");
        let values = all.column(1).as_primitive::<Float64Type>();
        let labels = all.column(2).as_string::<i32>();
        for (row, id) in good_ids.iter().enumerate() {
            assert_eq!(values.value(row), (id % 97) as f64 + 0.5);
            assert_eq!(labels.value(row), format!("label, {id}"));
        }
    }
}
