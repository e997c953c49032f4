//! [`Retry`]: the one retry loop. An operation is attempted, each failure goes to the
//! [`ErrorHandler`] (only if it [`can_handle`](ErrorHandler::can_handle) the error's type),
//! and the handler's decision is followed: wait and try again, or give up with a decision.

use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::error_handler::{ErrorDecision, ErrorHandler};
use crate::models::ErrorInfo;

/// Watches a [`Retry`] loop: told of every failure and decision, and asked before each retry.
#[async_trait::async_trait]
pub trait RetryObserver: Send + Sync {
    /// A failed attempt and the handler's decision about it.
    async fn failed(&self, _error: &ErrorInfo, _decision: &ErrorDecision) {}

    /// Whether a retry may still happen (`false`: the run is stopping; the failure gives up
    /// with [`ErrorDecision::Abort`]).
    fn may_retry(&self) -> bool {
        true
    }
}

/// Why a [`Retry`] loop stopped without a result.
#[derive(Debug)]
pub struct GaveUp {
    /// The final decision: [`ErrorDecision::Skip`], [`ErrorDecision::DeadLetter`] or
    /// [`ErrorDecision::Abort`] (never `Retry`).
    pub decision: ErrorDecision,
    /// The last failure, with its component and attempt.
    pub info: ErrorInfo,
    /// The last error itself.
    pub error: Error,
    /// Attempts made.
    pub attempts: u32,
}

/// The retry loop, configured once and run around any async operation.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use collectors_core::{Error, ErrorPolicy, Retry, RetryingErrorHandler};
///
/// # tokio_test_block(async {
/// let handler = RetryingErrorHandler::new(ErrorPolicy::default());
/// let calls = AtomicU32::new(0);
/// // What an attempt borrows travels in the state, lent to each attempt in turn.
/// let value = Retry::new(&handler, "flaky")
///     .run(&mut &calls, |calls, attempt| {
///         let calls: &AtomicU32 = calls;
///         Box::pin(async move {
///             calls.fetch_add(1, Ordering::SeqCst);
///             if attempt < 3 { Err(Error::timeout("slow")) } else { Ok(attempt) }
///         })
///     })
///     .await
///     .unwrap();
/// assert_eq!(value, 3);
/// assert_eq!(calls.load(Ordering::SeqCst), 3);
/// # });
/// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
/// # }
/// ```
#[must_use]
pub struct Retry<'a> {
    handler: &'a dyn ErrorHandler,
    component: &'a str,
    observer: Option<&'a dyn RetryObserver>,
    cancel: Option<&'a CancellationToken>,
}

impl<'a> Retry<'a> {
    /// Failures of `component` go to `handler`.
    pub fn new(handler: &'a dyn ErrorHandler, component: &'a str) -> Self {
        Self {
            handler,
            component,
            observer: None,
            cancel: None,
        }
    }

    /// Reports failures and decisions to `observer`.
    pub fn observed_by(mut self, observer: &'a dyn RetryObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Stops waiting for a retry when `cancel` is cancelled (the loop gives up with
    /// [`ErrorDecision::Abort`]).
    pub fn cancelled_by(mut self, cancel: &'a CancellationToken) -> Self {
        self.cancel = Some(cancel);
        self
    }

    /// Runs `op(state, attempt)` until it succeeds or the handler gives up. `state` is lent
    /// to each attempt (so an attempt can update what the caller keeps).
    ///
    /// # Errors
    ///
    /// [`GaveUp`] with the handler's final decision.
    pub async fn run<S, T, F>(&self, state: &mut S, op: F) -> std::result::Result<T, GaveUp>
    where
        S: ?Sized + Send,
        F: for<'s> FnMut(&'s mut S, u32) -> BoxFuture<'s, Result<T>>,
    {
        self.run_while(state, |_| true, op).await
    }

    /// [`run`](Self::run), retrying only while `retryable(state)` holds; a retry it refuses
    /// becomes [`ErrorDecision::DeadLetter`] (an item that already handed records on cannot
    /// be read again without counting them twice).
    ///
    /// # Errors
    ///
    /// [`GaveUp`] with the handler's final decision.
    pub async fn run_while<S, T, F>(
        &self,
        state: &mut S,
        retryable: impl Fn(&S) -> bool,
        mut op: F,
    ) -> std::result::Result<T, GaveUp>
    where
        S: ?Sized + Send,
        F: for<'s> FnMut(&'s mut S, u32) -> BoxFuture<'s, Result<T>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match op(state, attempt).await {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            let (decision, info) = self.decide(&error, attempt).await;
            let decision = match decision {
                ErrorDecision::Retry { .. } if !retryable(state) => ErrorDecision::DeadLetter,
                other => other,
            };
            match decision {
                ErrorDecision::Retry { after } => {
                    tracing::debug!(?after, attempt, component = self.component, error = %info.message, "retrying");
                    match self.cancel {
                        Some(cancel) => tokio::select! {
                            biased;
                            () = cancel.cancelled() => return Err(GaveUp { decision: ErrorDecision::Abort, info, error, attempts: attempt }),
                            () = tokio::time::sleep(after) => {}
                        },
                        None => tokio::time::sleep(after).await,
                    }
                }
                decision => {
                    return Err(GaveUp {
                        decision,
                        info,
                        error,
                        attempts: attempt,
                    });
                }
            }
        }
    }

    /// The handler's decision about one failure: [`ErrorDecision::Abort`] when it cannot
    /// handle the error's type or the observer refuses further retries.
    pub async fn decide(&self, error: &Error, attempt: u32) -> (ErrorDecision, ErrorInfo) {
        let mut info = ErrorInfo::from(error);
        if info.component.is_none() {
            info.component = Some(self.component.to_owned());
        }
        info = info.with_detail("attempt", attempt);
        let mut decision = if self.handler.can_handle(info.error_type) {
            self.handler.handle(&info, attempt).await
        } else {
            ErrorDecision::Abort
        };
        if matches!(decision, ErrorDecision::Retry { .. })
            && self.observer.is_some_and(|o| !o.may_retry())
        {
            decision = ErrorDecision::Abort;
        }
        if let Some(observer) = self.observer {
            observer.failed(&info, &decision).await;
        }
        (decision, info)
    }
}
