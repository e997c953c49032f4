//! A host app that wires an engine in Rust, without a pipeline file: local CSV files →
//! rolling mean per sensor → SQLite, with checkpoints and dead letters in the same database
//! (each item's checkpoint commits with its last records).
//!
//! Run: `cargo run --example embedded_engine --features backends,processors`

use std::sync::Arc;

use collectors::backends::{LocalDirectorySource, SqliteStorage};
use collectors::processors::{
    ColumnSpec, ColumnType, CsvDecoder, CsvOptions, RollingMean, RollingMeanConfig,
};
use collectors::{CancellationToken, Engine, SequentialPipeline};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("warn").init();
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("in"))?;
    std::fs::write(
        dir.path().join("in/readings.csv"),
        "ts,sensor_id,value\n\
         2026-01-01T00:00:00Z,a,1.0\n\
         2026-01-01T00:00:01Z,b,10.0\n\
         2026-01-01T00:00:02Z,a,3.0\n\
         2026-01-01T00:00:03Z,b,not-a-number\n\
         2026-01-01T00:00:04Z,a,5.0\n",
    )?;

    let source = LocalDirectorySource::builder("readings", dir.path().join("in"))
        .pattern("*.csv")
        .build()?;
    let decoder = CsvDecoder::new(CsvOptions::default().with_schema(vec![
        ColumnSpec::new("ts", ColumnType::Timestamp),
        ColumnSpec::new("sensor_id", ColumnType::Utf8),
        ColumnSpec::new("value", ColumnType::Float64),
    ]))?;
    let mean = RollingMean::new(RollingMeanConfig::new(Some("sensor_id"), "value", 2))?;
    let pipeline = SequentialPipeline::builder("readings")
        .processor(Arc::new(mean))
        .build()?;
    let db = dir.path().join("out.db");
    let store = Arc::new(
        SqliteStorage::builder("store", db.to_string_lossy())
            .table("readings")
            .build()?,
    );

    let engine = Engine::builder("readings")
        .source(Arc::new(source), Arc::new(decoder))
        .pipeline(Arc::new(pipeline))
        // The SQLite store keeps checkpoints and dead letters in its own database: each
        // item's checkpoint commits with its last records, nothing else to wire.
        .store(store)
        .build()?;
    let summary = engine.run(CancellationToken::new()).await?;
    let c = summary.counts;
    println!(
        "{} collected = {} stored + {} skipped + {} dead-lettered + {} failed",
        c.collected, c.stored, c.skipped, c.dead_lettered, c.failed
    );
    assert_eq!((c.stored, c.dead_lettered), (4, 1));
    Ok(())
}
