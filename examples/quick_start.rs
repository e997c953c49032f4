//! Quick start: the three layers and the three services wired together.
//!
//! A collection manager polls two sources into a bounded channel; each item runs through a
//! pipeline (validate → parse); results are routed to storage; every stage emits events, errors
//! go to a retry policy, and the whole run is one tracked task.
//!
//! Run: `cargo run --example quick_start`

use std::sync::Arc;

use collectors::{
    CollectionManager, DefaultCollectionManager, DefaultStorageManager, Error, ErrorHandler,
    EventBus, EventEmitter, EventFilter, EventType, InMemoryTaskTracker, Payload, PayloadKind,
    Pipeline, QueryCriteria, Record, Result, RetryingErrorHandler, RouteCondition,
    SequentialPipeline, StorageBackend, StorageManager, StorageRoute, SystemEvent, TaskTracker,
};
use collectors_mocks::{MockDataSource, MockProcessor, MockStorageBackend};
use futures::StreamExt;

const READINGS: [&str; 6] = ["21.5", "22.0", "oops", "23.25", "22.75", "24.0"];

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt().with_env_filter("warn").init();

    // Cross-cutting services.
    let events = Arc::new(EventBus::new());
    let errors = Arc::new(RetryingErrorHandler::default());
    let tasks = InMemoryTaskTracker::new().with_events(events.clone());
    let mut watch_events = events
        .subscribe(EventFilter::all().event_type(EventType::TaskCompleted))
        .await?;

    // Collection: two sources into one bounded channel.
    let (collection, mut items) = DefaultCollectionManager::with_channel(16)?;
    let collection = collection
        .with_events(events.clone())
        .with_error_handler(errors.clone());
    collection
        .register_source(Arc::new(MockDataSource::scripted("kitchen", READINGS)))
        .await?;
    collection
        .register_source(Arc::new(MockDataSource::scripted("garage", READINGS)))
        .await?;

    // Processing: text bytes → a JSON reading.
    let parse = MockProcessor::new("parse-celsius")
        .accepting(&[PayloadKind::Bytes])
        .with_transform(|input| {
            let text = std::str::from_utf8(input.as_bytes()?)
                .map_err(|e| Error::validation("not UTF-8").with_source(e))?;
            let celsius: f64 = text
                .trim()
                .parse()
                .map_err(|e| Error::validation(format!("not a number: {text:?}")).with_source(e))?;
            Ok(Payload::Json(serde_json::json!({ "celsius": celsius })))
        });
    let pipeline = SequentialPipeline::builder("readings")
        .processor(Arc::new(parse))
        .build()?;

    // Storage: warm readings to one backend, the rest to the default.
    let warm = Arc::new(MockStorageBackend::new("warm"));
    let archive = Arc::new(MockStorageBackend::new("archive"));
    let storage = DefaultStorageManager::new();
    for backend in [&warm, &archive] {
        backend.connect().await?;
        storage
            .register_backend(backend.clone() as Arc<dyn StorageBackend>)
            .await?;
    }
    storage
        .add_route(StorageRoute {
            when: RouteCondition::MetadataEquals {
                key: "band".into(),
                value: "warm".into(),
            },
            backend_id: "warm".into(),
        })
        .await?;
    storage.set_default_backend("archive").await?;

    // Run.
    let task = tasks
        .create("quick start", "ingest", Default::default())
        .await?;
    collection.start_collection("kitchen").await?;
    collection.start_collection("garage").await?;
    let expected = 2 * READINGS.len();
    let (mut stored, mut dead_lettered) = (0, 0);
    let mut offsets = std::collections::HashMap::new();
    for n in 0..expected {
        let Some(item) = items.recv().await else {
            break;
        };
        // The item's position in its source names it: a replay stores under the same key.
        let offset = *offsets
            .entry(item.source_id.clone())
            .and_modify(|o| *o += 1)
            .or_insert(0usize);
        let result = pipeline
            .execute(Payload::Bytes(item.raw_data.clone()))
            .await;
        match (result.success, result.processed_data, result.error) {
            (true, Some(output), _) => {
                let celsius = output.as_json()?["celsius"].as_f64().unwrap_or_default();
                let band = if celsius >= 23.0 { "warm" } else { "normal" };
                let record = Record::keyed(format!("{}/{offset}", item.source_id), output)?
                    .with_metadata("band", band);
                storage.store(record).await?;
                stored += 1;
            }
            (_, _, Some(error)) => {
                let decision = errors.handle(&error, 1).await;
                println!(
                    "item {offset} of {}: {} -> {decision:?}",
                    item.source_id, error.message
                );
                dead_lettered += 1;
            }
            _ => unreachable!("a failed result always carries its error"),
        }
        tasks
            .update_progress(task.task_id, (n + 1) as f64 * 100.0 / expected as f64, None)
            .await?;
    }
    let summary = serde_json::json!({ "collected": expected, "stored": stored, "dead_lettered": dead_lettered });
    tasks.complete(task.task_id, summary.clone()).await?;
    events
        .emit(SystemEvent::new(EventType::Custom, "quick-start").with_data(summary))
        .await?;

    if let Some(done) = watch_events.next().await {
        println!(
            "Task {} completed: {}",
            done.data["name"], done.data["result"]
        );
    }
    let warm_count = warm.query(&QueryCriteria::new()).await?.len();
    let archive_count = archive.query(&QueryCriteria::new()).await?.len();
    println!(
        "Stored {warm_count} warm readings and {archive_count} others; {dead_lettered} dead-lettered"
    );
    // Both sources are exhausted; stopping waits for their tasks to finish.
    collection.stop_collection("kitchen").await?;
    collection.stop_collection("garage").await?;
    for status in collection.list_sources().await {
        println!(
            "source {:<8} {:?}, {} items",
            status.source_id, status.status, status.items_collected
        );
    }
    Ok(())
}
