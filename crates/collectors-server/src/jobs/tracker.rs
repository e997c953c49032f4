//! [`JobTracker`]: the persistent [`TaskTracker`] over the job queue's table.

use async_trait::async_trait;
use collectors_core::{
    Error, ErrorInfo, ErrorType, Layer, Metadata, Result, TaskFilter, TaskInfo, TaskStatus,
    TaskTracker,
};
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::queue::check_progress;
use super::{Job, JobQueue, JobStatus, NewJob, row};

/// The [`TaskTracker`] of a host app, kept in the job queue's table: a task is a job, so it
/// survives restarts and is seen by every process sharing the database.
///
/// - `create` enqueues a job of kind `task_type` with the metadata as its payload.
/// - `update_progress`, `complete`, `fail` and `cancel` change the job row by id, not fenced
///   by a lease (the tracker is the host app's own handle on its tasks); `cancel` ends a task
///   at once, a worker holding it then finds its lease lost.
/// - Statuses map one to one, `PROCESSING` ↔ [`TaskStatus::Running`].
/// - `watch` follows [`JobQueue::subscribe`] (on PostgreSQL other processes' changes too).
///
/// ```
/// use collectors_backends::any_db::AnyLocation;
/// use collectors_core::{TaskStatus, TaskTracker};
/// use collectors_server::jobs::{JobQueue, JobTracker, QueueConfig};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let queue = JobQueue::open(&AnyLocation::File(dir.path().join("jobs.db")), QueueConfig::default()).await?;
/// let tracker = JobTracker::new(queue);
/// let task = tracker.create("nightly import", "ingest", Default::default()).await?;
/// tracker.update_progress(task.task_id, 50.0, Some("half way".into())).await?;
/// let done = tracker.complete(task.task_id, serde_json::json!({"rows": 3})).await?;
/// assert_eq!(done.status, TaskStatus::Completed);
/// // Terminal states are final.
/// assert!(tracker.cancel(task.task_id).await.is_err());
/// # Ok::<(), collectors_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct JobTracker {
    queue: JobQueue,
}

impl JobTracker {
    /// A tracker over `queue`'s table.
    pub fn new(queue: JobQueue) -> Self {
        Self { queue }
    }

    /// The queue it keeps its tasks in.
    pub fn queue(&self) -> &JobQueue {
        &self.queue
    }

    /// Ends a live task as `status`, or says why it cannot.
    async fn finish(
        &self,
        task_id: Uuid,
        status: JobStatus,
        result: Option<serde_json::Value>,
        error: Option<serde_json::Value>,
        message: Option<String>,
        op: &str,
    ) -> Result<TaskInfo> {
        let found = sqlx::query(&self.queue.statements().finish)
            .bind(task_id.to_string())
            .bind(status.as_str())
            .bind(result.map(|r| r.to_string()))
            .bind(error.map(|e| e.to_string()))
            .bind(message)
            .fetch_optional(self.queue.pool())
            .await
            .map_err(|e| self.queue.db_error(op, "updating a task", e))?;
        self.changed(found, task_id, op).await
    }

    async fn changed(
        &self,
        found: Option<sqlx::any::AnyRow>,
        task_id: Uuid,
        op: &str,
    ) -> Result<TaskInfo> {
        match found {
            Some(found) => {
                let job = row::job(&found)?;
                self.queue.publish(vec![row::event_of(&job)]).await;
                Ok(task_of(job))
            }
            None => Err(self.queue.not_live(task_id, op).await),
        }
    }
}

/// The task a job is.
pub(super) fn task_of(job: Job) -> TaskInfo {
    let status = match job.status {
        JobStatus::Pending => TaskStatus::Pending,
        JobStatus::Processing => TaskStatus::Running,
        JobStatus::Completed => TaskStatus::Completed,
        JobStatus::Failed => TaskStatus::Failed,
        JobStatus::Cancelled => TaskStatus::Cancelled,
    };
    let error = job.error.map(|value| {
        serde_json::from_value::<ErrorInfo>(value.clone()).unwrap_or_else(|_| {
            // A worker's own error document: keep it whole as the message.
            let message = match value.get("message") {
                Some(serde_json::Value::String(text)) => text.clone(),
                _ => value.to_string(),
            };
            ErrorInfo::new(ErrorType::Unknown, Layer::Runtime, "job", message)
        })
    });
    let metadata = match job.payload {
        serde_json::Value::Object(map) => map,
        serde_json::Value::Null => Metadata::new(),
        other => Metadata::from_iter([("payload".to_owned(), other)]),
    };
    TaskInfo {
        task_id: job.id,
        name: job.name,
        task_type: job.kind,
        status,
        progress: job.progress,
        message: job.message,
        created_at: job.created_at,
        updated_at: job.updated_at,
        started_at: job.started_at,
        completed_at: job.finished_at,
        result: job.result_data,
        error,
        metadata,
    }
}

fn job_status(status: TaskStatus) -> JobStatus {
    match status {
        TaskStatus::Pending => JobStatus::Pending,
        TaskStatus::Running => JobStatus::Processing,
        TaskStatus::Completed => JobStatus::Completed,
        TaskStatus::Failed => JobStatus::Failed,
        TaskStatus::Cancelled => JobStatus::Cancelled,
    }
}

#[async_trait]
impl TaskTracker for JobTracker {
    async fn create(&self, name: &str, task_type: &str, metadata: Metadata) -> Result<TaskInfo> {
        if name.trim().is_empty() {
            return Err(Error::validation("a task name must not be empty")
                .with_component("job-tracker")
                .with_operation("create"));
        }
        let job = self
            .queue
            .enqueue(NewJob::new(task_type, name).with_payload(serde_json::Value::Object(metadata)))
            .await?;
        Ok(task_of(job))
    }

    async fn update_progress(
        &self,
        task_id: Uuid,
        progress: f64,
        message: Option<String>,
    ) -> Result<TaskInfo> {
        let op = "update_progress";
        check_progress(progress, op)?;
        let found = sqlx::query(&self.queue.statements().set_progress)
            .bind(task_id.to_string())
            .bind(progress)
            .bind(message)
            .fetch_optional(self.queue.pool())
            .await
            .map_err(|e| self.queue.db_error(op, "updating a task", e))?;
        self.changed(found, task_id, op).await
    }

    async fn complete(&self, task_id: Uuid, result: serde_json::Value) -> Result<TaskInfo> {
        self.finish(
            task_id,
            JobStatus::Completed,
            Some(result),
            None,
            None,
            "complete",
        )
        .await
    }

    async fn fail(&self, task_id: Uuid, error: ErrorInfo) -> Result<TaskInfo> {
        let message = error.message.clone();
        let document = serde_json::to_value(&error).map_err(|e| {
            Error::validation(format!("the task error cannot be serialized: {e}"))
                .with_component("job-tracker")
        })?;
        self.finish(
            task_id,
            JobStatus::Failed,
            None,
            Some(document),
            Some(message),
            "fail",
        )
        .await
    }

    async fn cancel(&self, task_id: Uuid) -> Result<TaskInfo> {
        self.finish(
            task_id,
            JobStatus::Cancelled,
            None,
            None,
            Some("cancelled".to_owned()),
            "cancel",
        )
        .await
    }

    async fn get(&self, task_id: Uuid) -> Result<TaskInfo> {
        self.queue.get(task_id).await.map(task_of)
    }

    async fn list(&self, filter: &TaskFilter) -> Vec<TaskInfo> {
        let statuses: Vec<JobStatus> = filter
            .statuses
            .iter()
            .flatten()
            .map(|s| job_status(*s))
            .collect();
        if filter.statuses.as_ref().is_some_and(Vec::is_empty) {
            return Vec::new();
        }
        let limit = filter
            .limit
            .map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX));
        match self
            .queue
            .select(&statuses, filter.task_type.as_deref(), None, limit, 0)
            .await
        {
            Ok(page) => page.jobs.into_iter().map(task_of).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "job tracker: listing tasks failed");
                Vec::new()
            }
        }
    }

    async fn watch(&self, task_id: Uuid) -> Result<BoxStream<'static, TaskInfo>> {
        // Subscribed before reading, so that no change after the first state is missed.
        let events = self.queue.subscribe();
        let first = self.get(task_id).await?;
        let state = Watch {
            tracker: self.clone(),
            events,
            task_id,
            last: None,
            first: Some(first),
        };
        Ok(stream::unfold(state, Watch::next).boxed())
    }
}

/// The state of one `watch` stream.
struct Watch {
    tracker: JobTracker,
    events: broadcast::Receiver<super::JobEvent>,
    task_id: Uuid,
    /// The last state yielded (`None`: ended, or nothing yet).
    last: Option<TaskInfo>,
    first: Option<TaskInfo>,
}

impl Watch {
    async fn next(mut self) -> Option<(TaskInfo, Self)> {
        if let Some(first) = self.first.take() {
            self.last = Some(first.clone());
            return Some((first, self));
        }
        if self.last.as_ref().is_none_or(|t| t.status.is_terminal()) {
            return None;
        }
        loop {
            match self.events.recv().await {
                Ok(event) if event.id != self.task_id => continue,
                // Behind: the latest state is what counts.
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return None,
            }
            // The event says what changed; the row says everything (result, error).
            let task = match self.tracker.get(self.task_id).await {
                Ok(task) => task,
                Err(e) => {
                    tracing::warn!(task = %self.task_id, error = %e, "watch ends: the task cannot be read");
                    return None;
                }
            };
            if self.last.as_ref() == Some(&task) {
                continue;
            }
            self.last = Some(task.clone());
            return Some((task, self));
        }
    }
}
