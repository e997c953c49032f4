//! The same contracts, mocked with `mockall` expectations (`collectors_mocks::auto`).

use std::sync::Arc;

use collectors::{
    CollectedData, CollectionManager, Connector, DataItem, DataSource, Error, ErrorDecision,
    ErrorHandler, ErrorInfo, ErrorType, EventEmitter, EventType, Layer, ListOptions,
    MetadataParser, ParsedMetadata, Payload, Pipeline, ProcessingManager, ProcessingResult,
    Processor, Record, SequentialPipeline, StorageBackend, StorageLocation, StorageManager,
    SystemEvent, TaskInfo, TaskTracker,
};
use collectors_mocks::auto::{
    MockCollectionManager, MockConnector, MockDataSource, MockErrorHandler, MockEventEmitter,
    MockMetadataParser, MockPipeline, MockProcessingManager, MockProcessor, MockStorageBackend,
    MockStorageManager, MockTaskTracker,
};
use futures::StreamExt;
use mockall::predicate::eq;

#[tokio::test]
async fn data_source_and_its_default_stream() {
    let mut source = MockDataSource::new();
    source.expect_source_id().return_const("s".to_owned());
    let mut n = 0;
    source.expect_collect().times(3).returning(move || {
        n += 1;
        Ok((n <= 2).then(|| CollectedData::new("s", "text", "poll", format!("item {n}"))))
    });
    let source: Arc<dyn DataSource> = Arc::new(source);
    let items: Vec<_> = source.collect_stream().collect().await;
    assert_eq!(items.len(), 2, "the default stream ends at the first None");
}

#[tokio::test]
async fn a_failing_collect_ends_the_default_stream_after_the_error() {
    let mut source = MockDataSource::new();
    source
        .expect_collect()
        .times(1)
        .returning(|| Err(Error::connection("lost")));
    let items: Vec<_> = source.collect_stream().collect().await;
    assert_eq!(items.len(), 1);
    assert!(items[0].is_err());
}

#[tokio::test]
async fn parser_connector_and_collection_manager() {
    let mut parser = MockMetadataParser::new();
    parser
        .expect_parse()
        .returning(|d| Ok(ParsedMetadata::new(&d.source_id, "csv")));
    parser
        .expect_validate()
        .returning(|_| Err(Error::validation("no schema")));
    let parser: Arc<dyn MetadataParser> = Arc::new(parser);
    let parsed = parser
        .parse(&CollectedData::new("s", "csv", "poll", ""))
        .await
        .unwrap();
    assert_eq!(
        parser.validate(&parsed).await.unwrap_err().error_type(),
        ErrorType::Validation
    );

    let mut connector = MockConnector::new();
    connector
        .expect_list_items()
        .withf(|o| o.pattern.as_deref() == Some("*.csv"))
        .returning(|_| Ok(vec![DataItem::new("a.csv", "in/a.csv", 3)]));
    let connector: Arc<dyn Connector> = Arc::new(connector);
    let items = connector
        .list_items(&ListOptions::new().matching("*.csv"))
        .await
        .unwrap();
    assert_eq!(items[0].path, "in/a.csv");

    let mut manager = MockCollectionManager::new();
    manager
        .expect_start_collection()
        .with(eq("s"))
        .times(1)
        .returning(|_| Ok(()));
    manager
        .expect_stop_collection()
        .returning(|id| Err(Error::not_found(format!("no source `{id}`"))));
    let manager: Arc<dyn CollectionManager> = Arc::new(manager);
    manager.start_collection("s").await.unwrap();
    assert_eq!(
        manager.stop_collection("x").await.unwrap_err().error_type(),
        ErrorType::NotFound
    );
}

#[tokio::test]
async fn a_mockall_processor_inside_the_real_pipeline() {
    let mut processor = MockProcessor::new();
    processor.expect_name().return_const("strict".to_owned());
    processor
        .expect_validate_input()
        .returning(|p| p.as_json().map(|_| ()));
    processor.expect_process().times(1).returning(Ok);
    let pipeline = SequentialPipeline::builder("p")
        .processor(Arc::new(processor) as Arc<dyn Processor>)
        .build()
        .unwrap();
    assert!(pipeline.execute(Payload::Json(1.into())).await.success);
    // Rejected by validate_input: process is not called a second time (times(1) checks it on drop).
    let rejected = pipeline.execute(Payload::Bytes("x".into())).await;
    assert_eq!(rejected.error.unwrap().component.as_deref(), Some("strict"));
}

#[tokio::test]
async fn pipeline_and_processing_manager() {
    let mut pipeline = MockPipeline::new();
    pipeline.expect_name().return_const("p".to_owned());
    pipeline
        .expect_execute()
        .returning(|p| ProcessingResult::succeeded(p, Default::default()));
    let pipeline: Arc<dyn Pipeline> = Arc::new(pipeline);
    assert!(pipeline.execute(Payload::Empty).await.success);

    let mut manager = MockProcessingManager::new();
    manager
        .expect_register_pipeline()
        .times(1)
        .returning(|_| Ok(()));
    manager
        .expect_run_pipeline()
        .with(eq("p"), eq(Payload::Empty))
        .returning(|_, p| Ok(ProcessingResult::succeeded(p, Default::default())));
    let manager: Arc<dyn ProcessingManager> = Arc::new(manager);
    manager.register_pipeline(pipeline).await.unwrap();
    assert!(
        manager
            .run_pipeline("p", Payload::Empty)
            .await
            .unwrap()
            .success
    );
}

#[tokio::test]
async fn storage_backend_and_manager() {
    let mut backend = MockStorageBackend::new();
    backend.expect_backend_id().return_const("db".to_owned());
    backend
        .expect_store()
        .withf(|r| r.key == "k")
        .returning(|r| Ok(StorageLocation::new("db", &r.key, format!("db/{}", r.key))));
    let backend: Arc<dyn StorageBackend> = Arc::new(backend);
    let location = backend
        .store(Record::keyed("k", Payload::Empty).unwrap())
        .await
        .unwrap();
    assert_eq!(location.path, "db/k");

    let mut manager = MockStorageManager::new();
    manager
        .expect_replicate()
        .returning(|_, ids| Err(Error::storage(format!("{} backends down", ids.len()))));
    let manager: Arc<dyn StorageManager> = Arc::new(manager);
    let err = manager
        .replicate(Record::new(Payload::Empty), &["a".into(), "b".into()])
        .await
        .unwrap_err();
    assert_eq!(err.message(), "2 backends down");
}

#[tokio::test]
async fn error_handler_event_emitter_and_task_tracker() {
    let mut handler = MockErrorHandler::new();
    handler
        .expect_can_handle()
        .returning(|t| t == ErrorType::Timeout);
    handler
        .expect_handle()
        .withf(|e, attempt| e.error_type == ErrorType::Timeout && *attempt == 2)
        .returning(|_, _| ErrorDecision::Skip);
    let handler: Arc<dyn ErrorHandler> = Arc::new(handler);
    assert!(!handler.can_handle(ErrorType::Storage));
    let error = ErrorInfo::new(ErrorType::Timeout, Layer::Storage, "store", "slow");
    assert_eq!(handler.handle(&error, 2).await, ErrorDecision::Skip);

    let mut emitter = MockEventEmitter::new();
    emitter
        .expect_emit()
        .withf(|e| e.event_type == EventType::CollectionComplete)
        .times(1)
        .returning(|_| Ok(()));
    let emitter: Arc<dyn EventEmitter> = Arc::new(emitter);
    emitter
        .emit(SystemEvent::new(EventType::CollectionComplete, "c"))
        .await
        .unwrap();

    let mut tracker = MockTaskTracker::new();
    tracker
        .expect_create()
        .returning(|name, kind, _| Ok(TaskInfo::new(name, kind)));
    tracker
        .expect_watch()
        .returning(|_| Ok(futures::stream::empty().boxed()));
    let tracker: Arc<dyn TaskTracker> = Arc::new(tracker);
    let task = tracker
        .create("t", "ingest", Default::default())
        .await
        .unwrap();
    assert_eq!(tracker.watch(task.task_id).await.unwrap().count().await, 0);
}
