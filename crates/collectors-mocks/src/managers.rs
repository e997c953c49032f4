//! [`MockCollectionManager`], [`MockProcessingManager`], [`MockStorageManager`]: the real
//! in-process managers plus injected failures, latency and recorded calls.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use collectors_core::{
    CollectedData, CollectionManager, DataSource, DefaultCollectionManager,
    DefaultProcessingManager, DefaultStorageManager, Payload, Pipeline, ProcessingManager,
    ProcessingResult, Processor, Record, Result, SourceStatus, StorageBackend, StorageLocation,
    StorageManager, StorageRoute,
};
use tokio::sync::mpsc;

use crate::control::MockControl;

/// A [`CollectionManager`] backed by the real [`DefaultCollectionManager`]; collected items
/// go into a channel the test reads with [`take_output`](Self::take_output).
///
/// Needs a tokio runtime.
#[derive(Debug)]
pub struct MockCollectionManager {
    inner: DefaultCollectionManager,
    output: Mutex<Option<mpsc::Receiver<CollectedData>>>,
    control: MockControl,
}

impl MockCollectionManager {
    /// A manager whose output channel buffers `capacity` items (at least 1).
    pub fn new(capacity: usize) -> Self {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        Self {
            inner: DefaultCollectionManager::new(sender),
            output: Mutex::new(Some(receiver)),
            control: MockControl::new(),
        }
    }

    /// The receiving end of the output channel (once).
    pub fn take_output(&self) -> Option<mpsc::Receiver<CollectedData>> {
        self.output.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// The handle that injects failures and latency and records calls.
    pub fn control(&self) -> MockControl {
        self.control.clone()
    }
}

#[async_trait]
impl CollectionManager for MockCollectionManager {
    async fn register_source(&self, source: Arc<dyn DataSource>) -> Result<()> {
        self.control
            .enter("register_source", source.source_id())
            .await?;
        self.inner.register_source(source).await
    }

    async fn unregister_source(&self, source_id: &str) -> Result<()> {
        self.control.enter("unregister_source", source_id).await?;
        self.inner.unregister_source(source_id).await
    }

    async fn start_collection(&self, source_id: &str) -> Result<()> {
        self.control.enter("start_collection", source_id).await?;
        self.inner.start_collection(source_id).await
    }

    async fn pause_collection(&self, source_id: &str) -> Result<()> {
        self.control.enter("pause_collection", source_id).await?;
        self.inner.pause_collection(source_id).await
    }

    async fn resume_collection(&self, source_id: &str) -> Result<()> {
        self.control.enter("resume_collection", source_id).await?;
        self.inner.resume_collection(source_id).await
    }

    async fn stop_collection(&self, source_id: &str) -> Result<()> {
        self.control.enter("stop_collection", source_id).await?;
        self.inner.stop_collection(source_id).await
    }

    async fn status(&self, source_id: &str) -> Result<SourceStatus> {
        self.control.enter("status", source_id).await?;
        self.inner.status(source_id).await
    }

    async fn list_sources(&self) -> Vec<SourceStatus> {
        self.control.record("list_sources", "");
        self.inner.list_sources().await
    }
}

/// A [`ProcessingManager`] backed by the real [`DefaultProcessingManager`].
#[derive(Debug, Default)]
pub struct MockProcessingManager {
    inner: DefaultProcessingManager,
    control: MockControl,
}

impl MockProcessingManager {
    /// An empty manager.
    pub fn new() -> Self {
        Self::default()
    }

    /// The handle that injects failures and latency and records calls.
    pub fn control(&self) -> MockControl {
        self.control.clone()
    }
}

#[async_trait]
impl ProcessingManager for MockProcessingManager {
    async fn register_processor(&self, processor: Arc<dyn Processor>) -> Result<()> {
        self.control
            .enter("register_processor", processor.name())
            .await?;
        self.inner.register_processor(processor).await
    }

    async fn register_pipeline(&self, pipeline: Arc<dyn Pipeline>) -> Result<()> {
        self.control
            .enter("register_pipeline", pipeline.name())
            .await?;
        self.inner.register_pipeline(pipeline).await
    }

    async fn unregister_processor(&self, name: &str) -> Result<()> {
        self.control.enter("unregister_processor", name).await?;
        self.inner.unregister_processor(name).await
    }

    async fn unregister_pipeline(&self, name: &str) -> Result<()> {
        self.control.enter("unregister_pipeline", name).await?;
        self.inner.unregister_pipeline(name).await
    }

    async fn processors(&self) -> Vec<String> {
        self.control.record("processors", "");
        self.inner.processors().await
    }

    async fn pipelines(&self) -> Vec<String> {
        self.control.record("pipelines", "");
        self.inner.pipelines().await
    }

    async fn run_processor(&self, name: &str, input: Payload) -> Result<ProcessingResult> {
        self.control.enter("run_processor", name).await?;
        self.inner.run_processor(name, input).await
    }

    async fn run_pipeline(&self, name: &str, input: Payload) -> Result<ProcessingResult> {
        self.control.enter("run_pipeline", name).await?;
        self.inner.run_pipeline(name, input).await
    }
}

/// A [`StorageManager`] backed by the real [`DefaultStorageManager`].
#[derive(Debug, Default)]
pub struct MockStorageManager {
    inner: DefaultStorageManager,
    control: MockControl,
}

impl MockStorageManager {
    /// A manager with no backends.
    pub fn new() -> Self {
        Self::default()
    }

    /// The handle that injects failures and latency and records calls.
    pub fn control(&self) -> MockControl {
        self.control.clone()
    }
}

#[async_trait]
impl StorageManager for MockStorageManager {
    async fn register_backend(&self, backend: Arc<dyn StorageBackend>) -> Result<()> {
        self.control
            .enter("register_backend", backend.backend_id())
            .await?;
        self.inner.register_backend(backend).await
    }

    async fn unregister_backend(&self, backend_id: &str) -> Result<()> {
        self.control.enter("unregister_backend", backend_id).await?;
        self.inner.unregister_backend(backend_id).await
    }

    async fn backend(&self, backend_id: &str) -> Result<Arc<dyn StorageBackend>> {
        self.control.enter("backend", backend_id).await?;
        self.inner.backend(backend_id).await
    }

    async fn backends(&self) -> Vec<String> {
        self.control.record("backends", "");
        self.inner.backends().await
    }

    async fn set_default_backend(&self, backend_id: &str) -> Result<()> {
        self.control
            .enter("set_default_backend", backend_id)
            .await?;
        self.inner.set_default_backend(backend_id).await
    }

    async fn add_route(&self, route: StorageRoute) -> Result<()> {
        self.control.enter("add_route", &route.backend_id).await?;
        self.inner.add_route(route).await
    }

    async fn route(&self, record: &Record) -> Result<String> {
        self.control.enter("route", &record.key).await?;
        self.inner.route(record).await
    }

    async fn store(&self, record: Record) -> Result<StorageLocation> {
        self.control.enter("store", &record.key).await?;
        self.inner.store(record).await
    }

    async fn store_to(&self, backend_id: &str, record: Record) -> Result<StorageLocation> {
        self.control.enter("store_to", backend_id).await?;
        self.inner.store_to(backend_id, record).await
    }

    async fn replicate(
        &self,
        record: Record,
        backend_ids: &[String],
    ) -> Result<Vec<StorageLocation>> {
        self.control
            .enter("replicate", backend_ids.join(","))
            .await?;
        self.inner.replicate(record, backend_ids).await
    }
}
