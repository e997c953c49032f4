//! [`ErrorHandler`]: decides what happens after a failure.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::models::{ErrorInfo, ErrorType};

/// What to do with the item or operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorDecision {
    /// Try again after this delay.
    Retry {
        /// How long to wait first.
        after: Duration,
    },
    /// Drop the item, counted as skipped.
    Skip,
    /// Send the item with its error to the dead-letter store.
    DeadLetter,
    /// Stop the whole run.
    Abort,
}

/// Turns failures into decisions.
///
/// # Contract
///
/// - `handle` is called with the failure and the number of attempts made so far (1 after
///   the first failure). A handler that retries must eventually stop retrying: after its
///   maximum number of attempts it returns a non-retry decision.
/// - `can_handle` says whether the handler has a policy for the type; callers treat an
///   unhandled type as [`ErrorDecision::Abort`].
#[doc(alias = "IErrorHandler")]
#[async_trait]
pub trait ErrorHandler: Send + Sync {
    /// Whether this handler has a policy for this type of error.
    fn can_handle(&self, error_type: ErrorType) -> bool;

    /// Decides what to do after `attempt` failed attempts.
    async fn handle(&self, error: &ErrorInfo, attempt: u32) -> ErrorDecision;
}
