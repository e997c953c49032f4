//! A host application's own code, written against the contracts only, unit-tested with the
//! hand-written mocks injected as `Arc<dyn Trait>` — every contract is exercised this way.

use std::path::Path;
use std::sync::Arc;

use collectors::{
    CollectionManager, CollectionStatus, Connector, DataSource, ErrorDecision, ErrorHandler,
    ErrorInfo, ErrorType, EventEmitter, EventFilter, EventType, ListOptions, MetadataParser,
    Payload, Pipeline, ProcessingManager, QueryCriteria, Record, Result, SequentialPipeline,
    StorageBackend, StorageManager, SystemEvent, TaskStatus, TaskTracker,
};
use collectors_mocks::{
    MockCollectionManager, MockConnector, MockDataSource, MockErrorHandler, MockEventEmitter,
    MockMetadataParser, MockPipeline, MockProcessingManager, MockProcessor, MockStorageBackend,
    MockStorageManager, MockTaskTracker,
};

/// The host app's ingestion loop: everything it touches is a trait object.
struct Ingestor {
    source: Arc<dyn DataSource>,
    parser: Arc<dyn MetadataParser>,
    pipeline: Arc<dyn Pipeline>,
    store: Arc<dyn StorageBackend>,
    errors: Arc<dyn ErrorHandler>,
    events: Arc<dyn EventEmitter>,
    tasks: Arc<dyn TaskTracker>,
}

#[derive(Debug, Default, PartialEq)]
struct Summary {
    stored: usize,
    skipped: usize,
    dead_lettered: usize,
}

impl Ingestor {
    async fn run(&self, max_items: usize) -> Result<Summary> {
        let task = self
            .tasks
            .create("ingest", "ingest", Default::default())
            .await?;
        self.source.connect().await?;
        self.store.connect().await?;
        let mut summary = Summary::default();
        for n in 0..max_items {
            let Some(item) = self.source.collect().await? else {
                break;
            };
            let metadata = self.parser.parse(&item).await?;
            if let Err(e) = self.parser.validate(&metadata).await {
                match self.errors.handle(&ErrorInfo::from(&e), 1).await {
                    ErrorDecision::DeadLetter => summary.dead_lettered += 1,
                    _ => summary.skipped += 1,
                }
                continue;
            }
            let result = self
                .pipeline
                .execute(Payload::Bytes(item.raw_data.clone()))
                .await;
            let Some(output) = result.processed_data.filter(|_| result.success) else {
                summary.skipped += 1;
                continue;
            };
            let record = Record::keyed(format!("{}/{n}", item.source_id), output)?;
            let location = self.store.store(record).await?;
            self.events
                .emit(
                    SystemEvent::new(EventType::StorageComplete, "ingestor")
                        .with_data(location.path.into()),
                )
                .await?;
            summary.stored += 1;
            self.tasks
                .update_progress(
                    task.task_id,
                    (n + 1) as f64 * 100.0 / max_items as f64,
                    None,
                )
                .await?;
        }
        self.source.disconnect().await?;
        self.tasks
            .complete(
                task.task_id,
                serde_json::json!({ "stored": summary.stored }),
            )
            .await?;
        Ok(summary)
    }
}

#[tokio::test]
async fn the_host_loop_is_testable_with_injected_mocks() {
    let source = MockDataSource::scripted("sensor", ["21.5", "22.0", "bad"]);
    let source_control = source.control();
    let store = Arc::new(MockStorageBackend::new("db"));
    let events = Arc::new(MockEventEmitter::new());
    let tasks = Arc::new(MockTaskTracker::new());
    let pipeline = SequentialPipeline::builder("normalize")
        .processor(Arc::new(MockProcessor::new("normalizer")))
        .build()
        .unwrap();
    let mut stored_events = events
        .subscribe(EventFilter::all().event_type(EventType::StorageComplete))
        .await
        .unwrap();

    let ingestor = Ingestor {
        source: Arc::new(source),
        parser: Arc::new(MockMetadataParser::new()),
        pipeline: Arc::new(pipeline),
        store: store.clone(),
        errors: Arc::new(MockErrorHandler::new()),
        events: events.clone(),
        tasks: tasks.clone(),
    };
    let summary = ingestor.run(10).await.unwrap();

    assert_eq!(
        summary,
        Summary {
            stored: 3,
            skipped: 0,
            dead_lettered: 0
        }
    );
    assert_eq!(
        store
            .records()
            .iter()
            .map(|r| r.key.as_str())
            .collect::<Vec<_>>(),
        vec!["sensor/0", "sensor/1", "sensor/2"]
    );
    assert_eq!(
        source_control.call_count("collect"),
        4,
        "three items, then the end of the source"
    );
    assert_eq!(
        stored_events.recv().await.unwrap().data,
        "mock://db/sensor/0"
    );
    let task = tasks.list(&Default::default()).await.remove(0);
    assert_eq!(
        (task.status, task.result.unwrap()["stored"].as_u64()),
        (TaskStatus::Completed, Some(3))
    );
}

#[tokio::test]
async fn the_host_loop_routes_invalid_metadata_to_the_error_handler() {
    let handler = Arc::new(MockErrorHandler::new().then(ErrorDecision::DeadLetter));
    let ingestor = Ingestor {
        source: Arc::new(MockDataSource::scripted("s", ["a", "b"])),
        parser: Arc::new(MockMetadataParser::new().require("unit")),
        pipeline: Arc::new(MockPipeline::new("p", &[])),
        store: Arc::new(MockStorageBackend::new("db")),
        errors: handler.clone(),
        events: Arc::new(MockEventEmitter::new()),
        tasks: Arc::new(MockTaskTracker::new()),
    };
    let summary = ingestor.run(10).await.unwrap();
    assert_eq!(
        summary,
        Summary {
            stored: 0,
            skipped: 1,
            dead_lettered: 1
        }
    );
    let handled = handler.handled();
    assert_eq!(handled[0].0.error_type, ErrorType::Validation);
    assert!(handled[0].0.message.contains("missing field `unit`"));
}

#[tokio::test]
async fn the_host_loop_surfaces_store_failures() {
    let store = MockStorageBackend::new("db");
    store.control().fail_method("store", 1, ErrorType::Storage);
    let ingestor = Ingestor {
        source: Arc::new(MockDataSource::new("s", "x")),
        parser: Arc::new(MockMetadataParser::new()),
        pipeline: Arc::new(MockPipeline::new("p", &[])),
        store: Arc::new(store),
        errors: Arc::new(MockErrorHandler::new()),
        events: Arc::new(MockEventEmitter::new()),
        tasks: Arc::new(MockTaskTracker::new()),
    };
    let err = ingestor.run(3).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Storage);
}

#[tokio::test]
async fn connector_managers_and_tracker_through_trait_objects() {
    let connector: Arc<dyn Connector> =
        Arc::new(MockConnector::new("files").with_file("in/a.csv", "x\n1\n"));
    connector.connect().await.unwrap();
    let workspace = std::env::temp_dir().join(format!("collectors-test-{}", uuid::Uuid::new_v4()));
    let items = connector
        .list_items(&ListOptions::new().matching("*.csv"))
        .await
        .unwrap();
    let local = connector
        .fetch_data(&items[0].path, &workspace)
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&local).unwrap(), "x\n1\n");
    assert!(
        connector
            .fetch_data("../../etc/passwd", Path::new(&workspace))
            .await
            .is_err()
    );
    std::fs::remove_dir_all(&workspace).unwrap();

    let collection = MockCollectionManager::new(4);
    let mut output = collection.take_output().unwrap();
    let collection: Arc<dyn CollectionManager> = Arc::new(collection);
    collection
        .register_source(Arc::new(MockDataSource::scripted("s", ["one"])))
        .await
        .unwrap();
    collection.start_collection("s").await.unwrap();
    assert_eq!(output.recv().await.unwrap().raw_data, "one");
    assert_ne!(
        collection.status("s").await.unwrap().status,
        CollectionStatus::Idle
    );

    let processing: Arc<dyn ProcessingManager> = Arc::new(MockProcessingManager::new());
    processing
        .register_processor(Arc::new(MockProcessor::new("id")))
        .await
        .unwrap();
    assert!(
        processing
            .run_processor("id", Payload::Empty)
            .await
            .unwrap()
            .success
    );

    let storage = MockStorageManager::new();
    storage
        .control()
        .fail_method("store", 1, ErrorType::Timeout);
    let storage: Arc<dyn StorageManager> = Arc::new(storage);
    let backend = Arc::new(MockStorageBackend::new("db"));
    backend.connect().await.unwrap();
    storage.register_backend(backend.clone()).await.unwrap();
    storage.set_default_backend("db").await.unwrap();
    let record = Record::keyed("k", Payload::Json(1.into())).unwrap();
    assert_eq!(
        storage
            .store(record.clone())
            .await
            .unwrap_err()
            .error_type(),
        ErrorType::Timeout
    );
    storage.store(record).await.unwrap();
    assert_eq!(backend.query(&QueryCriteria::new()).await.unwrap().len(), 1);

    let tasks: Arc<dyn TaskTracker> = Arc::new(MockTaskTracker::new());
    let task = tasks.create("t", "x", Default::default()).await.unwrap();
    tasks.cancel(task.task_id).await.unwrap();
    assert_eq!(
        tasks
            .complete(task.task_id, serde_json::Value::Null)
            .await
            .unwrap_err()
            .error_type(),
        ErrorType::InvalidState
    );
}
