//! [`InMemoryTaskTracker`]: the in-process [`TaskTracker`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::watch;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::event_emitter::EventEmitter;
use crate::models::{
    ErrorInfo, EventType, Metadata, SystemEvent, TaskFilter, TaskInfo, TaskStatus,
};
use crate::sync::lock;
use crate::task_tracker::TaskTracker;

/// A [`TaskTracker`] that keeps tasks in memory, for one process.
///
/// Every change is published to the task's watchers and, when an emitter is attached with
/// [`with_events`](Self::with_events), as a `Task*` [`SystemEvent`] whose data is the task.
/// Finished tasks stay until [`prune_finished_before`](Self::prune_finished_before) removes
/// them.
///
/// ```
/// use collectors_core::{InMemoryTaskTracker, TaskStatus, TaskTracker};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let tracker = InMemoryTaskTracker::new();
/// let task = tracker.create("nightly import", "ingest", Default::default()).await?;
/// tracker.update_progress(task.task_id, 50.0, Some("half way".into())).await?;
/// tracker.cancel(task.task_id).await?;
/// // A cancelled task cannot complete.
/// assert!(tracker.complete(task.task_id, serde_json::json!({})).await.is_err());
/// assert_eq!(tracker.get(task.task_id).await?.status, TaskStatus::Cancelled);
/// # Ok::<(), collectors_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Default)]
pub struct InMemoryTaskTracker {
    tasks: Mutex<HashMap<Uuid, watch::Sender<TaskInfo>>>,
    events: Option<Arc<dyn EventEmitter>>,
}

impl std::fmt::Debug for InMemoryTaskTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryTaskTracker")
            .field("tasks", &self.lock().len())
            .finish()
    }
}

impl InMemoryTaskTracker {
    /// An empty tracker that emits no events.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also publishes every change on `events`.
    #[must_use]
    pub fn with_events(mut self, events: Arc<dyn EventEmitter>) -> Self {
        self.events = Some(events);
        self
    }

    /// Removes finished tasks that ended before `cutoff`; returns how many were removed.
    pub fn prune_finished_before(&self, cutoff: DateTime<Utc>) -> usize {
        let mut tasks = self.lock();
        let before = tasks.len();
        tasks.retain(|_, sender| {
            let task = sender.borrow();
            !(task.status.is_terminal() && task.completed_at.is_some_and(|t| t < cutoff))
        });
        before - tasks.len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, watch::Sender<TaskInfo>>> {
        lock(&self.tasks)
    }

    /// Applies `change` to a live task and publishes the result.
    async fn transition(
        &self,
        task_id: Uuid,
        operation: &str,
        event_type: EventType,
        change: impl FnOnce(&mut TaskInfo) -> Result<()>,
    ) -> Result<TaskInfo> {
        let updated = {
            let tasks = self.lock();
            let sender = tasks
                .get(&task_id)
                .ok_or_else(|| not_found(task_id, operation))?;
            let mut task = sender.borrow().clone();
            if task.status.is_terminal() {
                return Err(Error::invalid_state(format!(
                    "task {task_id} is already {:?}; cannot {operation}",
                    task.status
                ))
                .with_component("task-tracker")
                .with_operation(operation));
            }
            change(&mut task)?;
            task.updated_at = Utc::now();
            sender.send_replace(task.clone());
            task
        };
        self.publish(event_type, &updated).await;
        Ok(updated)
    }

    async fn publish(&self, event_type: EventType, task: &TaskInfo) {
        if let Some(events) = &self.events {
            let data = serde_json::to_value(task).unwrap_or_default();
            let event = SystemEvent::new(event_type, "task-tracker")
                .with_data(data)
                .with_correlation_id(task.task_id);
            if let Err(e) = events.emit(event).await {
                tracing::warn!(error = %e, "task event not emitted");
            }
        }
    }
}

fn not_found(task_id: Uuid, operation: &str) -> Error {
    Error::not_found(format!("no task {task_id}"))
        .with_component("task-tracker")
        .with_operation(operation)
}

fn finish(task: &mut TaskInfo, status: TaskStatus) {
    task.status = status;
    task.completed_at = Some(Utc::now());
}

#[async_trait]
impl TaskTracker for InMemoryTaskTracker {
    async fn create(&self, name: &str, task_type: &str, metadata: Metadata) -> Result<TaskInfo> {
        if name.trim().is_empty() {
            return Err(Error::validation("a task name must not be empty").with_operation("create"));
        }
        let mut task = TaskInfo::new(name, task_type);
        task.metadata = metadata;
        let (sender, _) = watch::channel(task.clone());
        self.lock().insert(task.task_id, sender);
        self.publish(EventType::TaskCreated, &task).await;
        Ok(task)
    }

    async fn update_progress(
        &self,
        task_id: Uuid,
        progress: f64,
        message: Option<String>,
    ) -> Result<TaskInfo> {
        self.transition(
            task_id,
            "update_progress",
            EventType::TaskProgress,
            |task| {
                if !(0.0..=100.0).contains(&progress) {
                    return Err(Error::validation(format!(
                        "progress must be within 0..=100, got {progress}"
                    ))
                    .with_component("task-tracker")
                    .with_operation("update_progress"));
                }
                if task.status == TaskStatus::Pending {
                    task.status = TaskStatus::Running;
                    task.started_at = Some(Utc::now());
                }
                task.progress = progress;
                if message.is_some() {
                    task.message = message;
                }
                Ok(())
            },
        )
        .await
    }

    async fn complete(&self, task_id: Uuid, result: serde_json::Value) -> Result<TaskInfo> {
        self.transition(task_id, "complete", EventType::TaskCompleted, |task| {
            finish(task, TaskStatus::Completed);
            task.progress = 100.0;
            task.result = Some(result);
            Ok(())
        })
        .await
    }

    async fn fail(&self, task_id: Uuid, error: ErrorInfo) -> Result<TaskInfo> {
        self.transition(task_id, "fail", EventType::TaskFailed, |task| {
            finish(task, TaskStatus::Failed);
            task.message = Some(error.message.clone());
            task.error = Some(error);
            Ok(())
        })
        .await
    }

    async fn cancel(&self, task_id: Uuid) -> Result<TaskInfo> {
        self.transition(task_id, "cancel", EventType::TaskCancelled, |task| {
            finish(task, TaskStatus::Cancelled);
            Ok(())
        })
        .await
    }

    async fn get(&self, task_id: Uuid) -> Result<TaskInfo> {
        let tasks = self.lock();
        let sender = tasks
            .get(&task_id)
            .ok_or_else(|| not_found(task_id, "get"))?;
        Ok(sender.borrow().clone())
    }

    async fn list(&self, filter: &TaskFilter) -> Vec<TaskInfo> {
        let mut tasks: Vec<TaskInfo> = self
            .lock()
            .values()
            .map(|s| s.borrow().clone())
            .filter(|t| filter.matches(t))
            .collect();
        tasks.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then(a.task_id.cmp(&b.task_id))
        });
        tasks.truncate(filter.limit.unwrap_or(usize::MAX));
        tasks
    }

    async fn watch(&self, task_id: Uuid) -> Result<BoxStream<'static, TaskInfo>> {
        let receiver = self
            .lock()
            .get(&task_id)
            .ok_or_else(|| not_found(task_id, "watch"))?
            .subscribe();
        Ok(watch_until_terminal(receiver))
    }
}

/// The current value, then each change, ending after a terminal status.
fn watch_until_terminal(receiver: watch::Receiver<TaskInfo>) -> BoxStream<'static, TaskInfo> {
    stream::unfold(
        (receiver, true, false),
        |(mut receiver, first, done)| async move {
            if done {
                return None;
            }
            if !first && receiver.changed().await.is_err() {
                return None;
            }
            let task = receiver.borrow_and_update().clone();
            let done = task.status.is_terminal();
            Some((task, (receiver, false, done)))
        },
    )
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorType;
    use crate::event_emitter::EventFilter;
    use crate::models::Layer;
    use crate::runtime::EventBus;

    #[tokio::test]
    async fn lifecycle_and_illegal_transitions() {
        let tracker = InMemoryTaskTracker::new();
        let task = tracker
            .create("t", "ingest", Metadata::new())
            .await
            .unwrap();
        assert_eq!(task.status, TaskStatus::Pending);
        let running = tracker
            .update_progress(task.task_id, 10.0, None)
            .await
            .unwrap();
        assert_eq!(running.status, TaskStatus::Running);
        assert!(running.started_at.is_some());

        for bad in [100.5, -1.0, f64::NAN] {
            let err = tracker
                .update_progress(task.task_id, bad, None)
                .await
                .unwrap_err();
            assert_eq!(err.error_type(), ErrorType::Validation);
        }
        let done = tracker
            .complete(task.task_id, serde_json::json!({"rows": 3}))
            .await
            .unwrap();
        assert_eq!((done.status, done.progress), (TaskStatus::Completed, 100.0));

        for err in [
            tracker
                .update_progress(task.task_id, 50.0, None)
                .await
                .unwrap_err(),
            tracker.cancel(task.task_id).await.unwrap_err(),
            tracker
                .fail(
                    task.task_id,
                    ErrorInfo::new(ErrorType::Unknown, Layer::Runtime, "x", "y"),
                )
                .await
                .unwrap_err(),
        ] {
            assert_eq!(err.error_type(), ErrorType::InvalidState);
        }
        assert_eq!(
            tracker.get(Uuid::new_v4()).await.unwrap_err().error_type(),
            ErrorType::NotFound
        );
        assert!(tracker.create(" ", "x", Metadata::new()).await.is_err());
    }

    #[tokio::test]
    async fn a_cancelled_task_cannot_complete() {
        let tracker = InMemoryTaskTracker::new();
        let task = tracker
            .create("t", "ingest", Metadata::new())
            .await
            .unwrap();
        tracker.cancel(task.task_id).await.unwrap();
        let err = tracker
            .complete(task.task_id, serde_json::Value::Null)
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), ErrorType::InvalidState);
        let task = tracker.get(task.task_id).await.unwrap();
        assert_eq!(task.status, TaskStatus::Cancelled);
        assert!(task.result.is_none());
    }

    #[tokio::test]
    async fn watch_yields_changes_and_ends_after_terminal_state() {
        let tracker = Arc::new(InMemoryTaskTracker::new());
        let task = tracker
            .create("t", "ingest", Metadata::new())
            .await
            .unwrap();
        let mut watch = tracker.watch(task.task_id).await.unwrap();
        assert_eq!(watch.next().await.unwrap().status, TaskStatus::Pending);

        tracker
            .update_progress(task.task_id, 40.0, Some("reading".into()))
            .await
            .unwrap();
        let seen = watch.next().await.unwrap();
        assert_eq!(
            (seen.progress, seen.message.as_deref()),
            (40.0, Some("reading"))
        );

        let error = ErrorInfo::new(ErrorType::Storage, Layer::Storage, "store", "disk full");
        tracker.fail(task.task_id, error).await.unwrap();
        let last = watch.next().await.unwrap();
        assert_eq!(last.status, TaskStatus::Failed);
        assert_eq!(last.error.unwrap().message, "disk full");
        assert!(watch.next().await.is_none());
    }

    #[tokio::test]
    async fn list_filters_and_events_are_published() {
        let bus = Arc::new(EventBus::new());
        let mut events = bus
            .subscribe(EventFilter::all().source("task-tracker"))
            .await
            .unwrap();
        let tracker = InMemoryTaskTracker::new().with_events(bus.clone());
        let a = tracker
            .create("a", "ingest", Metadata::new())
            .await
            .unwrap();
        let b = tracker
            .create("b", "export", Metadata::new())
            .await
            .unwrap();
        tracker
            .complete(a.task_id, serde_json::Value::Null)
            .await
            .unwrap();

        let completed = tracker
            .list(&TaskFilter::new().status(TaskStatus::Completed))
            .await;
        assert_eq!(
            completed.iter().map(|t| t.task_id).collect::<Vec<_>>(),
            vec![a.task_id]
        );
        let exports = tracker.list(&TaskFilter::new().task_type("export")).await;
        assert_eq!(
            exports.iter().map(|t| t.task_id).collect::<Vec<_>>(),
            vec![b.task_id]
        );
        assert_eq!(tracker.list(&TaskFilter::new().limit(1)).await.len(), 1);

        let types: Vec<_> = [
            events.recv().await,
            events.recv().await,
            events.recv().await,
        ]
        .into_iter()
        .map(|e| e.unwrap().event_type)
        .collect();
        assert_eq!(
            types,
            vec![
                EventType::TaskCreated,
                EventType::TaskCreated,
                EventType::TaskCompleted
            ]
        );
        assert_eq!(
            tracker.prune_finished_before(Utc::now() + chrono::Duration::seconds(1)),
            1
        );
    }
}
