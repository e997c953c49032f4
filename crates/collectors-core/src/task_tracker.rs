//! [`TaskTracker`]: the life of asynchronous operations.

use async_trait::async_trait;
use futures::stream::BoxStream;
use uuid::Uuid;

use crate::error::Result;
use crate::models::{ErrorInfo, Metadata, TaskFilter, TaskInfo};

/// Tracks asynchronous operations: creation, progress, and how they ended.
///
/// # Contract
///
/// - `create` returns a [`TaskStatus::Pending`](crate::TaskStatus::Pending) task; the first
///   `update_progress` makes it `Running`.
/// - `progress` must be within `0.0..=100.0` (else [`Error::Validation`](crate::Error::Validation)).
/// - Terminal states (completed, failed, cancelled) are final: any further transition is an
///   [`Error::InvalidState`](crate::Error::InvalidState). An unknown id is an
///   [`Error::NotFound`](crate::Error::NotFound).
/// - `watch` yields the task's current state, then every change, and ends after a terminal
///   state. A watcher that falls behind sees the latest state, not every intermediate one.
#[doc(alias = "ITaskTracker")]
#[async_trait]
pub trait TaskTracker: Send + Sync {
    /// Creates a pending task.
    async fn create(&self, name: &str, task_type: &str, metadata: Metadata) -> Result<TaskInfo>;

    /// Records progress (percent done and an optional message).
    async fn update_progress(
        &self,
        task_id: Uuid,
        progress: f64,
        message: Option<String>,
    ) -> Result<TaskInfo>;

    /// Marks the task completed with a result.
    async fn complete(&self, task_id: Uuid, result: serde_json::Value) -> Result<TaskInfo>;

    /// Marks the task failed.
    async fn fail(&self, task_id: Uuid, error: ErrorInfo) -> Result<TaskInfo>;

    /// Marks the task cancelled.
    async fn cancel(&self, task_id: Uuid) -> Result<TaskInfo>;

    /// The task's current state.
    async fn get(&self, task_id: Uuid) -> Result<TaskInfo>;

    /// The tasks passing `filter`, newest first.
    async fn list(&self, filter: &TaskFilter) -> Vec<TaskInfo>;

    /// The task's state now and at every change, until it ends.
    async fn watch(&self, task_id: Uuid) -> Result<BoxStream<'static, TaskInfo>>;
}
