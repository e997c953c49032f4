//! Example 1 of the seed: basic data collection.
//!
//! Run: `cargo run --example basic_collection`

use collectors::{DataSource, Result};
use collectors_mocks::MockDataSource;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let source = MockDataSource::new("sensor_001", "temperature:25.5");
    source.connect().await?;

    if let Some(data) = source.collect().await? {
        println!("Source:    {}", data.source_id);
        println!("Data:      {}", String::from_utf8_lossy(&data.raw_data));
        println!("Timestamp: {}", data.timestamp.to_rfc3339());
        println!(
            "Format:    {} (collected by {})",
            data.data_format, data.collection_method
        );
    }

    source.disconnect().await?;
    Ok(())
}
