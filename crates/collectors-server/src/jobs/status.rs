//! [`JobStatus`]: where a job is in its life.

use std::fmt;
use std::str::FromStr;

use collectors_core::Error;
use serde::{Deserialize, Serialize};

/// Where a job is in its life: `PENDING → PROCESSING → COMPLETED | FAILED | CANCELLED`; a
/// retried job goes back from `PROCESSING` to `PENDING`. The last three are terminal.
///
/// Serialized, displayed and stored in upper case (`"PENDING"` …).
///
/// ```
/// use collectors_server::jobs::JobStatus;
///
/// let status: JobStatus = "PROCESSING".parse()?;
/// assert_eq!(status, JobStatus::Processing);
/// assert_eq!(status.to_string(), "PROCESSING");
/// assert!(!status.is_terminal());
/// assert!(JobStatus::Cancelled.is_terminal());
/// # Ok::<(), collectors_core::Error>(())
/// ```
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum JobStatus {
    /// Waiting for a worker (new, or to be retried at `run_at`).
    Pending,
    /// Leased by a worker.
    Processing,
    /// Finished with a result.
    Completed,
    /// Finished with an error, after its last attempt.
    Failed,
    /// Stopped on request.
    Cancelled,
}

impl JobStatus {
    /// Every status, in life order.
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Pending,
        JobStatus::Processing,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    /// Whether no further transition is allowed (completed, failed, cancelled).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled
        )
    }

    /// The stored and displayed name (`"PENDING"` …).
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "PENDING",
            JobStatus::Processing => "PROCESSING",
            JobStatus::Completed => "COMPLETED",
            JobStatus::Failed => "FAILED",
            JobStatus::Cancelled => "CANCELLED",
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = Error;

    /// The upper-case name; lower case is accepted too (`?status=pending`).
    fn from_str(text: &str) -> Result<Self, Error> {
        JobStatus::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                Error::validation(format!(
                    "unknown job status `{text}` (expected one of PENDING, PROCESSING, \
                     COMPLETED, FAILED, CANCELLED)"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_serde() {
        for status in JobStatus::ALL {
            assert_eq!(status.as_str().parse::<JobStatus>().unwrap(), status);
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{status}\""));
            assert_eq!(serde_json::from_str::<JobStatus>(&json).unwrap(), status);
        }
        assert_eq!("pending".parse::<JobStatus>().unwrap(), JobStatus::Pending);
        let err = "RUNNING".parse::<JobStatus>().unwrap_err();
        assert_eq!(err.error_type(), collectors_core::ErrorType::Validation);
    }
}
