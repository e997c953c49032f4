//! Example 3 of the seed: collect, process and store one item, always disconnecting.
//!
//! Run: `cargo run --example complete_pipeline`

use collectors::{DataSource, Payload, Processor, Record, Result, StorageBackend};
use collectors_mocks::{MockDataSource, MockProcessor, MockStorageBackend};

async fn run(
    source: &MockDataSource,
    processor: &MockProcessor,
    storage: &MockStorageBackend,
) -> Result<()> {
    let Some(data) = source.collect().await? else {
        println!("The source had nothing to collect");
        return Ok(());
    };
    let input = Payload::Json(serde_json::json!({
        "raw": String::from_utf8_lossy(&data.raw_data),
        "timestamp": data.timestamp.to_rfc3339(),
    }));
    processor.validate_input(&input)?;
    let processed = processor.process(input).await?;
    // The key names the item, so storing it again replaces instead of duplicating.
    let record = Record::keyed(
        format!("{}/{}", data.source_id, data.timestamp.timestamp_millis()),
        processed,
    )?;
    let location = storage.store(record).await?;
    println!("Success! Stored at: {}", location.path);
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let source = MockDataSource::new("sensor", "temp:25.5");
    let processor = MockProcessor::new("normalizer");
    let storage = MockStorageBackend::new("db");

    source.connect().await?;
    storage.connect().await?;
    let outcome = run(&source, &processor, &storage).await;
    // Disconnect whatever happened, then report the run's own error first.
    let source_closed = source.disconnect().await;
    let storage_closed = storage.disconnect().await;
    outcome.and(source_closed).and(storage_closed)?;
    println!("Records in storage: {}", storage.len());
    Ok(())
}
