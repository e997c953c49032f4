//! Decode throughput on a generated 1M-row sensor CSV (and the same rows as JSON lines).
//!
//! Run it in release mode; it is ignored otherwise:
//!
//! ```sh
//! cargo test --release -p collectors-processors --test decode_throughput -- --ignored --nocapture
//! ```

use std::time::Instant;

use collectors_core::{Decoded, ItemDecoder};
use collectors_processors::{
    ColumnSpec, ColumnType, CsvDecoder, CsvOptions, JsonLinesDecoder, JsonLinesOptions,
};

const ROWS: usize = 1_000_000;
const CHUNK: usize = 64 * 1024;

fn schema() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::new("ts", ColumnType::Timestamp),
        ColumnSpec::new("sensor_id", ColumnType::Utf8),
        ColumnSpec::new("value", ColumnType::Float64),
        ColumnSpec::new("status", ColumnType::Utf8),
    ]
}

fn csv_input() -> Vec<u8> {
    let mut input = b"ts,sensor_id,value,status\n".to_vec();
    for i in 0..ROWS {
        let (minute, second) = ((i / 60) % 60, i % 60);
        input.extend_from_slice(
            format!(
                "2026-01-01 12:{minute:02}:{second:02},s{},{}.{},ok\n",
                i % 16,
                i % 1000,
                i % 10
            )
            .as_bytes(),
        );
    }
    input
}

fn jsonl_input() -> Vec<u8> {
    let mut input = Vec::new();
    for i in 0..ROWS {
        let (minute, second) = ((i / 60) % 60, i % 60);
        input.extend_from_slice(
            format!(
                "{{\"ts\":\"2026-01-01T12:{minute:02}:{second:02}Z\",\"sensor_id\":\"s{}\",\"value\":{}.{},\"status\":\"ok\"}}\n",
                i % 16,
                i % 1000,
                i % 10
            )
            .as_bytes(),
        );
    }
    input
}

/// The best of three runs: rows per second and MB per second.
fn measure(input: &[u8], mut make: impl FnMut() -> Box<dyn ItemDecoder>) -> (f64, f64) {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let mut item = make();
        let mut out = Decoded::default();
        let start = Instant::now();
        for chunk in input.chunks(CHUNK) {
            item.feed(chunk, &mut out).unwrap();
            out.batches.clear();
        }
        item.finish(&mut out).unwrap();
        best = best.min(start.elapsed().as_secs_f64());
        assert!(out.rejects.is_empty());
    }
    (ROWS as f64 / best, input.len() as f64 / best / 1e6)
}

#[test]
#[ignore = "a benchmark: run in release mode with --ignored --nocapture"]
fn decode_throughput_of_one_million_rows() {
    let csv = csv_input();
    let decoder = CsvDecoder::new(CsvOptions::default().with_schema(schema())).unwrap();
    let (rows, mb) = measure(&csv, || Box::new(decoder.item_decoder()));
    // A benchmark's only output is its figures.
    eprintln!("csv:   {:.2} M rows/s, {mb:.0} MB/s", rows / 1e6);

    let jsonl = jsonl_input();
    let decoder = JsonLinesDecoder::new(JsonLinesOptions::default().with_schema(schema())).unwrap();
    let (rows, mb) = measure(&jsonl, || Box::new(decoder.item_decoder()));
    eprintln!("jsonl: {:.2} M rows/s, {mb:.0} MB/s", rows / 1e6);
}
