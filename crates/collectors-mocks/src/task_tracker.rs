//! [`MockTaskTracker`].

use async_trait::async_trait;
use collectors_core::{
    ErrorInfo, InMemoryTaskTracker, Metadata, Result, TaskFilter, TaskInfo, TaskTracker,
};
use futures::stream::BoxStream;
use uuid::Uuid;

use crate::control::MockControl;

/// A [`TaskTracker`] with the real in-memory behaviour (transitions, validation, watch)
/// plus injected failures, latency and recorded calls.
///
/// ```
/// use collectors_core::{ErrorType, TaskTracker};
/// use collectors_mocks::MockTaskTracker;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let tracker = MockTaskTracker::new();
/// tracker.control().fail_next(1, ErrorType::Storage);
/// assert!(tracker.create("t", "ingest", Default::default()).await.is_err());
/// assert!(tracker.create("t", "ingest", Default::default()).await.is_ok());
/// assert_eq!(tracker.control().call_count("create"), 2);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MockTaskTracker {
    inner: InMemoryTaskTracker,
    control: MockControl,
}

impl MockTaskTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// The handle that injects failures and latency and records calls.
    pub fn control(&self) -> MockControl {
        self.control.clone()
    }
}

#[async_trait]
impl TaskTracker for MockTaskTracker {
    async fn create(&self, name: &str, task_type: &str, metadata: Metadata) -> Result<TaskInfo> {
        self.control.enter("create", name).await?;
        self.inner.create(name, task_type, metadata).await
    }

    async fn update_progress(
        &self,
        task_id: Uuid,
        progress: f64,
        message: Option<String>,
    ) -> Result<TaskInfo> {
        self.control
            .enter("update_progress", format!("{task_id} {progress}"))
            .await?;
        self.inner.update_progress(task_id, progress, message).await
    }

    async fn complete(&self, task_id: Uuid, result: serde_json::Value) -> Result<TaskInfo> {
        self.control.enter("complete", task_id.to_string()).await?;
        self.inner.complete(task_id, result).await
    }

    async fn fail(&self, task_id: Uuid, error: ErrorInfo) -> Result<TaskInfo> {
        self.control.enter("fail", task_id.to_string()).await?;
        self.inner.fail(task_id, error).await
    }

    async fn cancel(&self, task_id: Uuid) -> Result<TaskInfo> {
        self.control.enter("cancel", task_id.to_string()).await?;
        self.inner.cancel(task_id).await
    }

    async fn get(&self, task_id: Uuid) -> Result<TaskInfo> {
        self.control.enter("get", task_id.to_string()).await?;
        self.inner.get(task_id).await
    }

    async fn list(&self, filter: &TaskFilter) -> Vec<TaskInfo> {
        self.control.record("list", "");
        self.inner.list(filter).await
    }

    async fn watch(&self, task_id: Uuid) -> Result<BoxStream<'static, TaskInfo>> {
        self.control.enter("watch", task_id.to_string()).await?;
        self.inner.watch(task_id).await
    }
}
