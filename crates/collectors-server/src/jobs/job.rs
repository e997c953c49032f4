//! [`Job`], one row of the jobs table, and [`NewJob`], what is enqueued.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::JobStatus;

/// What the API enqueues: a kind of work, a name, and everything the worker needs.
///
/// ```
/// use collectors_server::jobs::NewJob;
///
/// let job = NewJob::new("rolling_mean", "sensor 7, 10-minute window")
///     .with_payload(serde_json::json!({"window": 10, "column": "value"}));
/// assert_eq!(job.max_attempts, None);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    /// The processing type, which picks the handler of the worker: `"rolling_mean"`,
    /// `"custom"`, `"pipeline"`, `"noop"` …; must not be blank.
    pub kind: String,
    /// A human-readable name.
    pub name: String,
    /// The uploaded data file it works on, if any.
    pub data_file_id: Option<Uuid>,
    /// Everything the worker needs (parameters, a pipeline spec …); opaque to the queue.
    pub payload: serde_json::Value,
    /// Attempts before the job fails for good; `None` takes the queue's
    /// [`QueueConfig::max_attempts`](super::QueueConfig::max_attempts).
    pub max_attempts: Option<u32>,
}

impl NewJob {
    /// A job of `kind` named `name`, with a `null` payload, no data file and the queue's
    /// attempts.
    pub fn new(kind: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            name: name.into(),
            data_file_id: None,
            payload: serde_json::Value::Null,
            max_attempts: None,
        }
    }

    /// With this payload.
    #[must_use]
    pub fn with_payload(mut self, payload: serde_json::Value) -> Self {
        self.payload = payload;
        self
    }

    /// On this data file.
    #[must_use]
    pub fn with_data_file(mut self, id: Uuid) -> Self {
        self.data_file_id = Some(id);
        self
    }

    /// With its own number of attempts.
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }
}

/// One job, as the jobs table holds it and the API returns it: what to do, where it is,
/// its progress, and how it ended. Times are the database's clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Job {
    /// Unique id (a time-ordered UUID v7).
    pub id: Uuid,
    /// The processing type.
    pub kind: String,
    /// A human-readable name.
    pub name: String,
    /// The data file it works on.
    pub data_file_id: Option<Uuid>,
    /// What the worker needs.
    pub payload: serde_json::Value,
    /// Where it is.
    pub status: JobStatus,
    /// Percent done, `0.0..=100.0`.
    pub progress: f64,
    /// The last progress or status message.
    pub message: Option<String>,
    /// Claims so far (the running one included).
    pub attempts: u32,
    /// Claims allowed.
    pub max_attempts: u32,
    /// The error of the last failed attempt.
    pub error: Option<serde_json::Value>,
    /// The result of a completed job.
    pub result_data: Option<serde_json::Value>,
    /// A cancel was asked while a worker held the job; the worker's heartbeat learns it.
    pub cancel_requested: bool,
    /// When it may be claimed (now for a new job; later for a retry waiting out its backoff).
    pub run_at: DateTime<Utc>,
    /// Until when its worker's lease holds (while processing).
    pub lease_until: Option<DateTime<Utc>>,
    /// The worker that claimed it last.
    pub worker: Option<String>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was first claimed.
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a terminal status.
    pub finished_at: Option<DateTime<Utc>>,
}
