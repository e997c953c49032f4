//! [`CollectionStatus`]: the state of one source in a collection manager.

use serde::{Deserialize, Serialize};

/// The state of one registered source.
///
/// `Idle → Running ⇄ Paused → Stopped`; `Error` when collection failed and the error handler
/// gave up; `Completed` when a finite source is exhausted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CollectionStatus {
    /// Registered, never started.
    Idle,
    /// Collecting.
    Running,
    /// Paused; resumes where it stopped.
    Paused,
    /// Stopped on request.
    Stopped,
    /// The source has no more data.
    Completed,
    /// Collection failed.
    Error,
}

impl CollectionStatus {
    /// Whether the source's collection task has ended.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            CollectionStatus::Stopped | CollectionStatus::Completed | CollectionStatus::Error
        )
    }
}
