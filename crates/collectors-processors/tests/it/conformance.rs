//! Both decoders meet the shared decoder contract (`collectors_core::conformance::decoder`):
//! chunking, line numbers, rejects, batch size, line limit, header, with every column type
//! and with `\r\n` endings.

use collectors_core::conformance::{self, DecoderFixture};
use collectors_processors::{
    ColumnSpec, ColumnType, CsvDecoder, CsvOptions, JsonLinesDecoder, JsonLinesOptions,
};

const BATCH: usize = 2;
const LIMIT: usize = 96;
/// What the decoders keep of an over-long row, whatever the limit.
const KEPT: usize = 1024;

fn schema() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::new("ts", ColumnType::Timestamp),
        ColumnSpec::new("sensor", ColumnType::Utf8),
        ColumnSpec::new("value", ColumnType::Float64),
        ColumnSpec::new("count", ColumnType::Int64),
        ColumnSpec::new("ok", ColumnType::Boolean),
    ]
}

fn csv_decoder(has_header: bool) -> CsvDecoder {
    CsvDecoder::new(
        CsvOptions::default()
            .with_header(has_header)
            .with_schema(schema())
            .with_batch_size(BATCH)
            .with_max_line_bytes(LIMIT),
    )
    .expect("valid options")
}

fn json_decoder() -> JsonLinesDecoder {
    JsonLinesDecoder::new(
        JsonLinesOptions::default()
            .with_schema(schema())
            .with_batch_size(BATCH)
            .with_max_line_bytes(LIMIT),
    )
    .expect("valid options")
}

const CSV_ROWS: &str = "2024-05-01 12:00:00,s1,20.5,1,true\n\
                        2024-05-01T12:01:00Z,\"s,2\",-3,2,false\n\
                        \n\
                        1714564920,s3,,3,\n\
                        2024-05-01 12:03:00,sé,NaN,-4,true\n\
                        2024-05-01 12:04:00,s5,1e3,5,false\n";

fn csv_fixture(has_header: bool) -> DecoderFixture {
    let fixture = DecoderFixture::new(CSV_ROWS, 5, "2024-05-01 12:05:00,s6,high,6,true", BATCH)
        .with_line_limit(LIMIT)
        .with_max_kept_bytes(KEPT);
    if has_header {
        fixture.with_header("ts,sensor,value,count,ok\n", 1)
    } else {
        fixture
    }
}

#[test]
fn csv_decoder_with_a_header_meets_the_decoder_contract() {
    conformance::decoder(&csv_decoder(true), &csv_fixture(true));
}

#[test]
fn csv_decoder_without_a_header_meets_the_decoder_contract() {
    conformance::decoder(&csv_decoder(false), &csv_fixture(false));
}

#[test]
fn csv_decoder_with_crlf_endings_meets_the_decoder_contract() {
    let rows = CSV_ROWS.replace('\n', "\r\n");
    let fixture = DecoderFixture::new(rows, 5, "2024-05-01 12:05:00,s6,1.0,6", BATCH)
        .with_header("ts,sensor,value,count,ok\r\n", 1)
        .with_line_limit(LIMIT)
        .with_max_kept_bytes(KEPT);
    conformance::decoder(&csv_decoder(true), &fixture);
}

#[test]
fn csv_decoder_with_a_bad_utf8_row_meets_the_decoder_contract() {
    let fixture = DecoderFixture::new(
        CSV_ROWS,
        5,
        &b"2024-05-01 12:05:00,s\xff,1.0,6,true"[..],
        BATCH,
    )
    .with_header("ts,sensor,value,count,ok\n", 1);
    conformance::decoder(&csv_decoder(true), &fixture);
}

const JSON_ROWS: &str = concat!(
    r#"{"ts":"2024-05-01 12:00:00","sensor":"s1","value":20.5,"count":1,"ok":true}"#,
    "\n",
    r#"{"ts":"2024-05-01T12:01:00Z","sensor":"s,2","value":-3,"count":2,"ok":false}"#,
    "\n\n",
    r#"{"ts":1714564920,"sensor":"s3","count":3}"#,
    "\n",
    r#"{"ts":"2024-05-01 12:03:00","sensor":"sé","value":"NaN","count":-4,"ok":true}"#,
    "\n",
    r#"{"sensor":"s5","value":1e3,"count":5,"ok":false,"extra":[1]}"#,
    "\n",
);

#[test]
fn json_lines_decoder_meets_the_decoder_contract() {
    let fixture = DecoderFixture::new(
        JSON_ROWS,
        5,
        r#"{"ts":"2024-05-01 12:05:00","sensor":"s6","value":"high"}"#,
        BATCH,
    )
    .with_line_limit(LIMIT)
    .with_max_kept_bytes(KEPT);
    conformance::decoder(&json_decoder(), &fixture);
}

#[test]
fn json_lines_decoder_with_crlf_endings_meets_the_decoder_contract() {
    let fixture = DecoderFixture::new(JSON_ROWS.replace('\n', "\r\n"), 5, "not json", BATCH)
        .with_line_limit(LIMIT)
        .with_max_kept_bytes(KEPT);
    conformance::decoder(&json_decoder(), &fixture);
}

#[test]
fn csv_decoder_with_an_inferred_schema_meets_the_decoder_contract() {
    let decoder = CsvDecoder::new(
        CsvOptions::default()
            .with_batch_size(BATCH)
            .with_max_line_bytes(LIMIT)
            .with_infer_rows(3),
    )
    .expect("valid options");
    let fixture = DecoderFixture::new(
        "s1,1.5,1\ns2,2.5,2\ns3,-3.5,3\ns4,4.25,4\ns5,5.0,5\n",
        5,
        "s6,7",
        BATCH,
    )
    .with_header("sensor,value,count\n", 1)
    .with_line_limit(LIMIT)
    .with_max_kept_bytes(KEPT);
    conformance::decoder(&decoder, &fixture);
}

#[test]
fn json_lines_decoder_with_an_inferred_schema_meets_the_decoder_contract() {
    let decoder = JsonLinesDecoder::new(
        JsonLinesOptions::default()
            .with_batch_size(BATCH)
            .with_max_line_bytes(LIMIT)
            .with_infer_rows(3),
    )
    .expect("valid options");
    let rows: String = (1..=5)
        .map(|i| format!("{{\"sensor\":\"s{i}\",\"value\":{i}.5,\"count\":{i}}}\n"))
        .collect();
    let fixture = DecoderFixture::new(rows, 5, r#"{"sensor":"s6","value":"#, BATCH)
        .with_line_limit(LIMIT)
        .with_max_kept_bytes(KEPT);
    conformance::decoder(&decoder, &fixture);
}

#[test]
fn both_decoders_meet_the_contract_behind_a_byte_order_mark() {
    let csv = DecoderFixture::new(CSV_ROWS, 5, "2024-05-01 12:05:00,s6,1.0", BATCH)
        .with_header("\u{feff}ts,sensor,value,count,ok\n", 1);
    conformance::decoder(&csv_decoder(true), &csv);
    let json = DecoderFixture::new(JSON_ROWS, 5, "[1,2]", BATCH).with_header("\u{feff}", 0);
    conformance::decoder(&json_decoder(), &json);
}
