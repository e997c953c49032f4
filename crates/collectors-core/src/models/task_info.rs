//! [`TaskInfo`] and [`TaskStatus`]: an asynchronous operation as the tracker sees it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::models::{ErrorInfo, Metadata};

/// Where a task is in its life.
///
/// `Pending → Running → {Completed, Failed, Cancelled}`; the last three are terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Created, not started.
    Pending,
    /// Reporting progress.
    Running,
    /// Finished with a result.
    Completed,
    /// Finished with an error.
    Failed,
    /// Stopped on request.
    Cancelled,
}

impl TaskStatus {
    /// Whether no further transition is allowed.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }
}

/// An asynchronous operation tracked by a [`TaskTracker`](crate::TaskTracker).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    /// Unique id.
    pub task_id: Uuid,
    /// Human-readable name.
    pub name: String,
    /// Kind of task (`"pipeline_run"`, `"ingest"` …), for filtering.
    pub task_type: String,
    /// Where it is.
    pub status: TaskStatus,
    /// Percent done, `0.0..=100.0`.
    pub progress: f64,
    /// The last progress message.
    #[serde(default)]
    pub message: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it started running.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a terminal status.
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    /// The result of a completed task.
    #[serde(default)]
    pub result: Option<serde_json::Value>,
    /// The error of a failed task.
    #[serde(default)]
    pub error: Option<ErrorInfo>,
    /// Caller-supplied metadata.
    #[serde(default)]
    pub metadata: Metadata,
}

impl TaskInfo {
    /// A pending task stamped now.
    pub fn new(name: impl Into<String>, task_type: impl Into<String>) -> Self {
        let now = Utc::now();
        Self {
            task_id: Uuid::new_v4(),
            name: name.into(),
            task_type: task_type.into(),
            status: TaskStatus::Pending,
            progress: 0.0,
            message: None,
            created_at: now,
            updated_at: now,
            started_at: None,
            completed_at: None,
            result: None,
            error: None,
            metadata: Metadata::new(),
        }
    }
}

/// Which tasks [`TaskTracker::list`](crate::TaskTracker::list) returns; unset fields match all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskFilter {
    /// Only tasks in one of these statuses.
    #[serde(default)]
    pub statuses: Option<Vec<TaskStatus>>,
    /// Only tasks of this type.
    #[serde(default)]
    pub task_type: Option<String>,
    /// At most this many, newest first.
    #[serde(default)]
    pub limit: Option<usize>,
}

impl TaskFilter {
    /// Matches every task.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only tasks in this status (may be called several times).
    #[must_use]
    pub fn status(mut self, status: TaskStatus) -> Self {
        self.statuses.get_or_insert_with(Vec::new).push(status);
        self
    }

    /// Only tasks of this type.
    #[must_use]
    pub fn task_type(mut self, task_type: impl Into<String>) -> Self {
        self.task_type = Some(task_type.into());
        self
    }

    /// At most `n` tasks.
    #[must_use]
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Whether a task matches (paging aside).
    pub fn matches(&self, task: &TaskInfo) -> bool {
        self.statuses
            .as_ref()
            .is_none_or(|s| s.contains(&task.status))
            && self.task_type.as_ref().is_none_or(|t| &task.task_type == t)
    }
}
