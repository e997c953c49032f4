//! `mockall` mocks of every contract (feature `mockall`), for expectation-style tests.
//!
//! Each `MockX` here implements the trait `X` of `collectors-core`; set expectations with
//! `expect_<method>()`. Default methods (`DataSource::collect_stream`,
//! `Processor::process_batch`) keep their default implementation, driven by the mocked
//! required methods. The exceptions, mocked so a test can script them (an engine run calls
//! them: expect them):
//!
//! - [`MockDataSource`]: `connect`, `disconnect`, `collect`, `list`, `open`, `is_live` and
//!   `commit` are all mocked, so one mock scripts a live source (`collect`, or `list` pages
//!   of [`SourceItem::live`] items) or a listed one (`list` + `open`, `is_live` → `false`);
//!   only `collect_stream` keeps its default, over the mocked `collect`.
//! - [`MockCheckpointStore`]: the lease methods (`claim`, `lease_holder`, `renew`,
//!   `release`) are mocked too, so a test can script a held or done item.
//!
//! ```
//! use std::sync::Arc;
//! use collectors_core::{CollectedData, DataSource};
//! use collectors_mocks::auto::MockDataSource;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let mut source = MockDataSource::new();
//! source.expect_source_id().return_const("sensor".to_owned());
//! source.expect_collect().times(1).returning(|| Ok(Some(CollectedData::new("sensor", "text", "poll", "1"))));
//! let source: Arc<dyn DataSource> = Arc::new(source);
//! assert!(source.collect().await.unwrap().is_some());
//! # });
//! ```

#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use collectors_core::{
    CollectedData, DataItem, DeadLetter, ErrorDecision, ErrorInfo, ErrorType, EventFilter,
    ItemCheckpoint, ListOptions, Metadata, ParsedMetadata, Payload, ProcessingResult,
    QueryCriteria, Record, Result, SourceItem, SourceStatus, StorageLocation, StorageRoute,
    StoredRecord, Subscription, SubscriptionId, SystemEvent, TaskFilter, TaskInfo,
};
use futures::stream::BoxStream;
use mockall::mock;
use uuid::Uuid;

mock! {
    pub DataSource {}
    #[async_trait]
    impl collectors_core::DataSource for DataSource {
        fn source_id(&self) -> &str;
        async fn connect(&self) -> Result<()>;
        async fn disconnect(&self) -> Result<()>;
        async fn collect(&self) -> Result<Option<CollectedData>>;
        fn list(&self) -> BoxStream<'_, Result<Vec<SourceItem>>>;
        async fn open(&self, item: &SourceItem) -> Result<BoxStream<'static, Result<bytes::Bytes>>>;
        fn is_live(&self) -> bool;
        async fn commit(&self, items: &[SourceItem]) -> Result<()>;
    }
}

mock! {
    pub MetadataParser {}
    #[async_trait]
    impl collectors_core::MetadataParser for MetadataParser {
        async fn parse(&self, data: &CollectedData) -> Result<ParsedMetadata>;
        async fn validate(&self, metadata: &ParsedMetadata) -> Result<()>;
    }
}

mock! {
    pub Connector {}
    #[async_trait]
    impl collectors_core::Connector for Connector {
        async fn connect(&self) -> Result<()>;
        async fn disconnect(&self) -> Result<()>;
        async fn test_connection(&self) -> Result<()>;
        async fn list_items(&self, options: &ListOptions) -> Result<Vec<DataItem>>;
        async fn fetch_data(&self, identifier: &str, workspace: &Path) -> Result<PathBuf>;
        async fn get_metadata(&self, identifier: &str) -> Result<Metadata>;
    }
}

mock! {
    pub CollectionManager {}
    #[async_trait]
    impl collectors_core::CollectionManager for CollectionManager {
        async fn register_source(&self, source: Arc<dyn collectors_core::DataSource>) -> Result<()>;
        async fn unregister_source(&self, source_id: &str) -> Result<()>;
        async fn start_collection(&self, source_id: &str) -> Result<()>;
        async fn pause_collection(&self, source_id: &str) -> Result<()>;
        async fn resume_collection(&self, source_id: &str) -> Result<()>;
        async fn stop_collection(&self, source_id: &str) -> Result<()>;
        async fn status(&self, source_id: &str) -> Result<SourceStatus>;
        async fn list_sources(&self) -> Vec<SourceStatus>;
    }
}

mock! {
    pub Processor {}
    #[async_trait]
    impl collectors_core::Processor for Processor {
        fn name(&self) -> &str;
        fn validate_input(&self, input: &Payload) -> Result<()>;
        async fn process(&self, input: Payload) -> Result<Payload>;
    }
}

mock! {
    pub Pipeline {}
    #[async_trait]
    impl collectors_core::Pipeline for Pipeline {
        fn name(&self) -> &str;
        fn steps(&self) -> Vec<String>;
        async fn execute(&self, input: Payload) -> ProcessingResult;
    }
}

mock! {
    pub ProcessingManager {}
    #[async_trait]
    impl collectors_core::ProcessingManager for ProcessingManager {
        async fn register_processor(&self, processor: Arc<dyn collectors_core::Processor>) -> Result<()>;
        async fn register_pipeline(&self, pipeline: Arc<dyn collectors_core::Pipeline>) -> Result<()>;
        async fn unregister_processor(&self, name: &str) -> Result<()>;
        async fn unregister_pipeline(&self, name: &str) -> Result<()>;
        async fn processors(&self) -> Vec<String>;
        async fn pipelines(&self) -> Vec<String>;
        async fn run_processor(&self, name: &str, input: Payload) -> Result<ProcessingResult>;
        async fn run_pipeline(&self, name: &str, input: Payload) -> Result<ProcessingResult>;
    }
}

mock! {
    pub StorageBackend {}
    #[async_trait]
    impl collectors_core::StorageBackend for StorageBackend {
        fn backend_id(&self) -> &str;
        async fn connect(&self) -> Result<()>;
        async fn disconnect(&self) -> Result<()>;
        async fn store(&self, record: Record) -> Result<StorageLocation>;
        async fn store_batch(&self, records: &[Record]) -> Result<()>;
        fn location_of(&self, record: &Record) -> StorageLocation;
        async fn query(&self, criteria: &QueryCriteria) -> Result<Vec<StoredRecord>>;
        async fn delete(&self, location_id: &str) -> Result<bool>;
    }
}

mock! {
    pub StorageManager {}
    #[async_trait]
    impl collectors_core::StorageManager for StorageManager {
        async fn register_backend(&self, backend: Arc<dyn collectors_core::StorageBackend>) -> Result<()>;
        async fn unregister_backend(&self, backend_id: &str) -> Result<()>;
        async fn backend(&self, backend_id: &str) -> Result<Arc<dyn collectors_core::StorageBackend>>;
        async fn backends(&self) -> Vec<String>;
        async fn set_default_backend(&self, backend_id: &str) -> Result<()>;
        async fn add_route(&self, route: StorageRoute) -> Result<()>;
        async fn route(&self, record: &Record) -> Result<String>;
        async fn store(&self, record: Record) -> Result<StorageLocation>;
        async fn store_to(&self, backend_id: &str, record: Record) -> Result<StorageLocation>;
        async fn replicate(&self, record: Record, backend_ids: &[String]) -> Result<Vec<StorageLocation>>;
    }
}

mock! {
    pub ErrorHandler {}
    #[async_trait]
    impl collectors_core::ErrorHandler for ErrorHandler {
        fn can_handle(&self, error_type: ErrorType) -> bool;
        async fn handle(&self, error: &ErrorInfo, attempt: u32) -> ErrorDecision;
    }
}

mock! {
    pub EventEmitter {}
    #[async_trait]
    impl collectors_core::EventEmitter for EventEmitter {
        async fn emit(&self, event: SystemEvent) -> Result<()>;
        async fn subscribe(&self, filter: EventFilter) -> Result<Subscription>;
        async fn unsubscribe(&self, id: SubscriptionId) -> Result<bool>;
    }
}

mock! {
    pub Decoder {}
    impl collectors_core::Decoder for Decoder {
        fn name(&self) -> &str;
        fn decoder_for(&self, item: &SourceItem) -> Result<Box<dyn collectors_core::ItemDecoder>>;
    }
}

mock! {
    pub CheckpointStore {}
    #[async_trait]
    impl collectors_core::CheckpointStore for CheckpointStore {
        async fn done(&self, pipeline: &str) -> Result<std::collections::HashMap<(String, String), ItemCheckpoint>>;
        async fn mark_done(&self, pipeline: &str, items: &[ItemCheckpoint]) -> Result<()>;
        async fn reset(&self, pipeline: &str) -> Result<()>;
        async fn fingerprint(&self, pipeline: &str) -> Result<Option<String>>;
        async fn set_fingerprint(&self, pipeline: &str, fingerprint: &str) -> Result<()>;
        async fn claim(&self, pipeline: &str, item: &SourceItem, owner: &str, ttl: std::time::Duration) -> Result<collectors_core::Claim>;
        async fn lease_holder(&self, pipeline: &str, item: &SourceItem) -> Result<Option<String>>;
        async fn renew(&self, pipeline: &str, owner: &str, ttl: std::time::Duration) -> Result<()>;
        async fn release(&self, pipeline: &str, owner: &str) -> Result<()>;
    }
}

mock! {
    pub DeadLetterSink {}
    #[async_trait]
    impl collectors_core::DeadLetterSink for DeadLetterSink {
        async fn write(&self, letters: &[DeadLetter]) -> Result<()>;
    }
}

mock! {
    pub TaskTracker {}
    #[async_trait]
    impl collectors_core::TaskTracker for TaskTracker {
        async fn create(&self, name: &str, task_type: &str, metadata: Metadata) -> Result<TaskInfo>;
        async fn update_progress(&self, task_id: Uuid, progress: f64, message: Option<String>) -> Result<TaskInfo>;
        async fn complete(&self, task_id: Uuid, result: serde_json::Value) -> Result<TaskInfo>;
        async fn fail(&self, task_id: Uuid, error: ErrorInfo) -> Result<TaskInfo>;
        async fn cancel(&self, task_id: Uuid) -> Result<TaskInfo>;
        async fn get(&self, task_id: Uuid) -> Result<TaskInfo>;
        async fn list(&self, filter: &TaskFilter) -> Vec<TaskInfo>;
        async fn watch(&self, task_id: Uuid) -> Result<BoxStream<'static, TaskInfo>>;
    }
}
