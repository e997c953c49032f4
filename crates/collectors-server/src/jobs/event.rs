//! [`JobEvent`]: one status or progress change, as subscribers see it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::JobStatus;

/// A job's status or progress changed (enqueued, claimed, progress, completed, failed,
/// retried, cancelled, reaped). What the WebSocket pushes as `etl_update`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobEvent {
    /// The job.
    pub id: Uuid,
    /// Its status after the change.
    pub status: JobStatus,
    /// Its progress after the change.
    pub progress: f64,
    /// Its message after the change.
    pub message: Option<String>,
}
