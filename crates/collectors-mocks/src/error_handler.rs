//! [`MockErrorHandler`].

use collectors_core::sync::lock;
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use collectors_core::{ErrorDecision, ErrorHandler, ErrorInfo, ErrorType};

use crate::control::MockControl;

/// An [`ErrorHandler`] that returns scripted decisions and records every error it saw.
///
/// Decisions queued with [`then`](Self::then) are returned in order; after that, the fallback
/// ([`ErrorDecision::Skip`] unless set with [`otherwise`](Self::otherwise)).
///
/// ```
/// use collectors_core::{ErrorDecision, ErrorHandler, ErrorInfo, ErrorType, Layer};
/// use collectors_mocks::MockErrorHandler;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let handler = MockErrorHandler::new().then(ErrorDecision::DeadLetter);
/// let error = ErrorInfo::new(ErrorType::Validation, Layer::Processing, "validate", "bad");
/// assert!(handler.can_handle(error.error_type));
/// assert_eq!(handler.handle(&error, 1).await, ErrorDecision::DeadLetter);
/// assert_eq!(handler.handle(&error, 1).await, ErrorDecision::Skip);
/// assert_eq!(handler.handled().len(), 2);
/// # });
/// ```
#[derive(Debug)]
pub struct MockErrorHandler {
    script: Mutex<VecDeque<ErrorDecision>>,
    fallback: ErrorDecision,
    handles: Option<HashSet<ErrorType>>,
    handled: Mutex<Vec<(ErrorInfo, u32)>>,
    control: MockControl,
}

impl Default for MockErrorHandler {
    fn default() -> Self {
        Self::new()
    }
}

impl MockErrorHandler {
    /// A handler that handles every type and skips.
    pub fn new() -> Self {
        Self {
            script: Mutex::new(VecDeque::new()),
            fallback: ErrorDecision::Skip,
            handles: None,
            handled: Mutex::new(Vec::new()),
            control: MockControl::new(),
        }
    }

    /// Queues a decision.
    #[must_use]
    pub fn then(self, decision: ErrorDecision) -> Self {
        lock(&self.script).push_back(decision);
        self
    }

    /// The decision once the queue is empty.
    #[must_use]
    pub fn otherwise(mut self, decision: ErrorDecision) -> Self {
        self.fallback = decision;
        self
    }

    /// Handles only these types (`can_handle` is false for the others).
    #[must_use]
    pub fn handling(mut self, types: &[ErrorType]) -> Self {
        self.handles = Some(types.iter().copied().collect());
        self
    }

    /// Every `(error, attempt)` handled so far.
    pub fn handled(&self) -> Vec<(ErrorInfo, u32)> {
        lock(&self.handled).clone()
    }

    /// The handle that adds latency and records calls.
    pub fn control(&self) -> MockControl {
        self.control.clone()
    }
}

#[async_trait]
impl ErrorHandler for MockErrorHandler {
    fn can_handle(&self, error_type: ErrorType) -> bool {
        self.handles
            .as_ref()
            .is_none_or(|h| h.contains(&error_type))
    }

    async fn handle(&self, error: &ErrorInfo, attempt: u32) -> ErrorDecision {
        // The contract has no failure path: an injected failure aborts.
        if self
            .control
            .enter("handle", format!("{:?}#{attempt}", error.error_type))
            .await
            .is_err()
        {
            return ErrorDecision::Abort;
        }
        lock(&self.handled).push((error.clone(), attempt));
        lock(&self.script).pop_front().unwrap_or(self.fallback)
    }
}
