//! Writes the seed inputs of every fuzz target into `fuzz/seeds/TARGET/` (committed; the
//! fuzzers start from them and from the minimized corpus in `fuzz/corpus/TARGET/`):
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example make_seeds
//! ```
//!
//! The seeds are small valid inputs taken from `examples/` and the decoders' documented
//! cases, malformed rows included. A decoder seed is `[config, chunking, data…]` (see
//! `collectors_fuzz::split_input`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// `csv_options`/`jsonl_options` bits (see `collectors_fuzz::options`).
const HEADER: u8 = 0b1;
const INFER_FROM_TWO: u8 = 0b01 << 1;
const SENSOR_SCHEMA: u8 = 0b10 << 1;
const TYPED_SCHEMA: u8 = 0b11 << 1;
const SMALL_BATCHES: u8 = 0b1000;
const SHORT_LINES: u8 = 0b1_0000;
const TAB: u8 = 0b10 << 5;
const MILLIS: u8 = 0b1000_0000;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn write(target: &str, name: &str, bytes: &[u8]) -> Result<()> {
    let dir = repo().join("fuzz/seeds").join(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name), bytes)?;
    Ok(())
}

fn decoder_seed(target: &str, name: &str, config: u8, chunking: u8, data: &[u8]) -> Result<()> {
    let mut bytes = vec![config, chunking];
    bytes.extend_from_slice(data);
    write(target, name, &bytes)
}

/// The first `lines` lines of a file of `examples/` and the lines `around` the line numbers
/// it holds malformed rows at, as bytes (a malformed row may not be UTF-8).
fn excerpt(path: &str, lines: usize, around: &[usize]) -> Result<Vec<u8>> {
    let bytes = std::fs::read(repo().join(path))?;
    let all: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let mut out: Vec<&[u8]> = all.iter().take(lines).copied().collect();
    for &at in around {
        out.extend(all.iter().skip(at.saturating_sub(2)).take(3));
    }
    let mut text = out.join(&b'\n');
    text.push(b'\n');
    Ok(text)
}

fn csv_seeds() -> Result<()> {
    // Lines 115, 394, 861 and 959 of this file are malformed (see its manifest.json).
    let sensors = excerpt(
        "examples/sensors/data/sensors-000.csv",
        12,
        &[115, 394, 861, 959],
    )?;
    let t = "csv_decoder";
    decoder_seed(t, "sensors-schema", HEADER | SENSOR_SCHEMA, 0, &sensors)?;
    decoder_seed(
        t,
        "sensors-schema-chunks",
        HEADER | SENSOR_SCHEMA | SMALL_BATCHES,
        7,
        &sensors,
    )?;
    decoder_seed(t, "sensors-inferred", HEADER, 3, &sensors)?;
    decoder_seed(
        t,
        "sensors-short-lines",
        HEADER | INFER_FROM_TWO | SHORT_LINES,
        5,
        &sensors,
    )?;
    let crlf = "\u{feff}ts,sensor_id,value,status\r\n\r\n2024-05-01 12:00:00,s1,20.0,ok\r\n\
                1714564860,s2,NaN,ok\r\n2024-05-01T12:02:00+02:00,\"s,3\",-inf,\"o\"\"k\"\r\n\
                2024-05-01 12:03:00,s4,1e400,ok\r\n2024-05-01 23:59:60,s5,1,ok\r\n,,,\r\n";
    decoder_seed(
        t,
        "bom-crlf-quotes",
        HEADER | SENSOR_SCHEMA | MILLIS,
        2,
        crlf.as_bytes(),
    )?;
    let typed = "id,flag,name\n1,true,a\n-9223372036854775808,false,\"b \"\"q\"\"\"\n\
                 9223372036854775808,maybe,c\n4,,\n5,TRUE,\"open\n";
    decoder_seed(
        t,
        "typed",
        HEADER | TYPED_SCHEMA | SMALL_BATCHES,
        4,
        typed.as_bytes(),
    )?;
    decoder_seed(
        t,
        "typed-no-header",
        TYPED_SCHEMA,
        1,
        b"1\ttrue\tx\n2\tfalse\ty\t\n\t\t\n",
    )?;
    decoder_seed(
        t,
        "tabs",
        HEADER | TAB,
        6,
        b"a\tb\n1\t2\n\t\n3\t4\t5\n\xff\t1\n",
    )?;
    Ok(())
}

fn jsonl_seeds() -> Result<()> {
    let t = "jsonl_decoder";
    let sensors = concat!(
        r#"{"ts":"2026-01-01T00:00:00Z","sensor_id":"s-07","value":19.987,"status":"ok"}"#,
        "\n",
        r#"{"ts":"2026-01-01 00:00:01","sensor_id":"s-05","value":"NaN","status":"ok"}"#,
        "\n\n",
        r#"{"ts":1767225602,"sensor_id":"s-07","value":"not-a-number","status":"ok"}"#,
        "\r\n",
        r#"{"ts":"2026-01-01T00:00:03Z","sensor_id":5,"value":1e400}"#,
        "\n",
        r#"{"ts":"2026-01-01T00:00:04Z","sensor_id":"s-01","value":-0.0,"status":null,"extra":[1,{"a":2}]}"#,
        "\n",
        "not json\n[1,2]\n{\"a\":{\"b\":{\"c\":[[[[1]]]]}}}\n",
        r#"{"ts":"2026-01-01T00:00:05Z","sensor_id":"s-0\u00e9","value":20}"#,
    );
    decoder_seed(t, "sensors-schema", SENSOR_SCHEMA, 0, sensors.as_bytes())?;
    decoder_seed(
        t,
        "sensors-schema-chunks",
        SENSOR_SCHEMA | SMALL_BATCHES | MILLIS,
        9,
        sensors.as_bytes(),
    )?;
    decoder_seed(t, "sensors-inferred", 0, 3, sensors.as_bytes())?;
    decoder_seed(
        t,
        "sensors-infer-two",
        INFER_FROM_TWO | SHORT_LINES,
        11,
        sensors.as_bytes(),
    )?;
    let typed = concat!(
        "\u{feff}",
        r#"{"id":1,"flag":true,"name":"a"}"#,
        "\n",
        r#"{"id":9223372036854775808,"flag":"yes","name":1.5}"#,
        "\n",
        r#"{"id":-3,"flag":false}"#,
        "\n",
        r#"{"id":2.5,"flag":null,"name":"x\ny"}"#,
        "\n",
        r#"{"id":4,"name":"trailing"} x"#,
        "\n"
    );
    decoder_seed(
        t,
        "typed",
        TYPED_SCHEMA | SMALL_BATCHES,
        2,
        typed.as_bytes(),
    )?;
    Ok(())
}

fn sensor_batch(rows: usize) -> Result<RecordBatch> {
    let ts: TimestampMicrosecondArray = (0..rows as i64)
        .map(|i| Some(1_767_225_600_000_000 + i * 1_000_000))
        .collect::<TimestampMicrosecondArray>()
        .with_timezone("+00:00");
    let sensor: StringArray = (0..rows).map(|i| Some(format!("s-{:02}", i % 3))).collect();
    let value: Float64Array = (0..rows)
        .map(|i| (i % 5 != 3).then_some(20.0 + i as f64 / 8.0))
        .collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("ts", Arc::new(ts)),
        ("sensor_id", Arc::new(sensor)),
        ("value", Arc::new(value)),
    ];
    Ok(RecordBatch::try_from_iter(columns)?)
}

fn parquet_file(compression: Compression, row_group: usize, rows: usize) -> Result<Vec<u8>> {
    let batch = sensor_batch(rows)?;
    let properties = WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(row_group))
        .build();
    let mut file = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut file, batch.schema(), Some(properties))?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(file)
}

fn parquet_seeds() -> Result<()> {
    let t = "parquet_decoder";
    decoder_seed(
        t,
        "plain",
        0,
        0,
        &parquet_file(Compression::UNCOMPRESSED, 1024, 12)?,
    )?;
    decoder_seed(
        t,
        "snappy-row-groups",
        0b11,
        7,
        &parquet_file(Compression::SNAPPY, 5, 12)?,
    )?;
    decoder_seed(
        t,
        "projected",
        0b101,
        13,
        &parquet_file(Compression::SNAPPY, 4, 9)?,
    )?;
    Ok(())
}

fn spec_seeds() -> Result<()> {
    let t = "pipeline_spec";
    for example in ["sensors", "object_store_pipeline", "postgres_pipeline"] {
        let text = std::fs::read(repo().join("examples").join(example).join("pipeline.toml"))?;
        write(t, &format!("{example}.toml"), &text)?;
    }
    let every_processor = r#"
name = "every-processor"

[[source]]
id = "in"
kind = "local"
path = "data"
pattern = "*.jsonl"
format = "jsonl"

[source.jsonl]
batch_size = 100
schema = [
  { name = "ts", type = "timestamp" },
  { name = "sensor_id", type = "utf8" },
  { name = "value", type = "float64" },
  { name = "status", type = "utf8" },
]

[[processor]]
type = "filter"
expr = "status == 'ok' and value > 0"

[[processor]]
type = "map"
cast = { value = "float64" }
derive = [{ name = "f", expr = "round(coalesce(value, 0) * 1.8 + 32, 1)" }]
rename = { status = "state" }

[[processor]]
type = "validate"
columns = [{ name = "value", type = "float64", min = 0, max = 85 }]
unique = ["ts"]

[[processor]]
type = "rolling_mean"
key = "sensor_id"
value = "f"
duration = "5m"
on = "ts"

[[processor]]
type = "data_quality"
ranges = { value = { min = 0, max = 100 } }

[[processor]]
type = "peak_detection"
key = "sensor_id"
value = "value"
height = 20
distance = 5
prominence = 1

[store]
kind = "file"
path = "out"
format = "jsonl"

[retry]
max_attempts = 3
on_exhausted = "dead_letter"
"#;
    write(t, "every-processor.toml", every_processor.as_bytes())?;
    let json = r#"{"name":"json","source":[{"id":"in","kind":"local","path":"data","format":"csv",
"csv":{"delimiter":";","has_header":false,"schema":[{"name":"v","type":"int64"}]}}],
"processor":[{"type":"infer_schema","policy":"freeze"},{"type":"filter","column":"v","op":"gt","value":1}],
"store":{"kind":"sqlite","path":"out/db.sqlite","table":"t"},
"engine":{"max_items_in_flight":1},"dead_letter":{"path":"out/letters.jsonl"}}"#;
    write(t, "minimal.json", json.as_bytes())?;
    Ok(())
}

fn expression_seeds() -> Result<()> {
    let expressions = [
        "status == 'ok' and value > 0",
        "round(abs(value) * 1.8 + 32, 1)",
        "round(coalesce(value, 0) * 1.8 + 32, -1)",
        "not (count % 2 == 0) or is_null(sensor_id)",
        "is_not_null(ok) and ok",
        "ts >= '2024-05-01T00:00:00Z'",
        "`sensor_id` != \"s-07\" and -small < 2e3",
        "count * 2 - small / 0.5",
        "coalesce(null, count, small)",
        "-count + 9223372036854775807",
        "value / 0 == value",
        "'it''s' == sensor_id",
        "abs(count)",
        "((((value))))",
    ];
    for (i, e) in expressions.iter().enumerate() {
        write("expression", &format!("seed-{i:02}"), e.as_bytes())?;
    }
    Ok(())
}

fn main() -> Result<()> {
    csv_seeds()?;
    jsonl_seeds()?;
    parquet_seeds()?;
    spec_seeds()?;
    expression_seeds()?;
    Ok(())
}
