//! [`RetryingErrorHandler`]: the policy-driven [`ErrorHandler`].

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use crate::error_handler::{ErrorDecision, ErrorHandler};
use crate::models::{ErrorInfo, ErrorType};
use crate::runtime::retry_policy::{ErrorAction, ErrorPolicy, FinalAction};
use crate::sync::lock;

/// How many decisions of each kind a [`RetryingErrorHandler`] made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErrorHandlerStats {
    /// Retries granted.
    pub retried: u64,
    /// Items skipped.
    pub skipped: u64,
    /// Items dead-lettered.
    pub dead_lettered: u64,
    /// Aborts (unhandled types included).
    pub aborted: u64,
}

/// An [`ErrorHandler`] that follows an [`ErrorPolicy`]: retries with exponential backoff and
/// jitter, then the policy's final action.
///
/// Jitter comes from a random generator; [`with_seed`](Self::with_seed) makes the delays
/// reproducible (tests, simulations). Types the policy does not cover are aborted.
///
/// ```
/// use collectors_core::{
///     ErrorDecision, ErrorHandler, ErrorInfo, ErrorPolicy, ErrorType, Layer, RetryingErrorHandler,
/// };
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let handler = RetryingErrorHandler::with_seed(ErrorPolicy::default(), 7);
/// let timeout = ErrorInfo::new(ErrorType::Timeout, Layer::Storage, "store", "slow disk");
/// assert!(matches!(handler.handle(&timeout, 1).await, ErrorDecision::Retry { .. }));
/// assert_eq!(handler.handle(&timeout, 5).await, ErrorDecision::DeadLetter);
/// # });
/// ```
#[derive(Debug)]
pub struct RetryingErrorHandler {
    policy: ErrorPolicy,
    rng: Mutex<fastrand::Rng>,
    retried: AtomicU64,
    skipped: AtomicU64,
    dead_lettered: AtomicU64,
    aborted: AtomicU64,
}

impl Default for RetryingErrorHandler {
    fn default() -> Self {
        Self::new(ErrorPolicy::default())
    }
}

impl RetryingErrorHandler {
    /// A handler with a randomly seeded jitter generator.
    pub fn new(policy: ErrorPolicy) -> Self {
        Self::from_rng(policy, fastrand::Rng::new())
    }

    /// A handler whose jitter is reproducible from `seed`.
    pub fn with_seed(policy: ErrorPolicy, seed: u64) -> Self {
        Self::from_rng(policy, fastrand::Rng::with_seed(seed))
    }

    fn from_rng(policy: ErrorPolicy, rng: fastrand::Rng) -> Self {
        Self {
            policy,
            rng: Mutex::new(rng),
            retried: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            aborted: AtomicU64::new(0),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &ErrorPolicy {
        &self.policy
    }

    /// The decisions made so far.
    pub fn stats(&self) -> ErrorHandlerStats {
        ErrorHandlerStats {
            retried: self.retried.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            aborted: self.aborted.load(Ordering::Relaxed),
        }
    }

    /// The decision for `attempt` failed attempts, without counting it.
    pub fn decide(&self, error_type: ErrorType, attempt: u32) -> ErrorDecision {
        match self.policy.action(error_type) {
            None => ErrorDecision::Abort,
            Some(ErrorAction::Final(action)) => final_decision(*action),
            Some(ErrorAction::Retry { backoff, exhausted }) => {
                if attempt < backoff.max_attempts() {
                    let unit = lock(&self.rng).f64();
                    ErrorDecision::Retry {
                        after: backoff.delay(attempt.max(1), unit),
                    }
                } else {
                    final_decision(*exhausted)
                }
            }
        }
    }

    fn count(&self, decision: &ErrorDecision) {
        let counter = match decision {
            ErrorDecision::Retry { .. } => &self.retried,
            ErrorDecision::Skip => &self.skipped,
            ErrorDecision::DeadLetter => &self.dead_lettered,
            ErrorDecision::Abort => &self.aborted,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

fn final_decision(action: FinalAction) -> ErrorDecision {
    match action {
        FinalAction::Skip => ErrorDecision::Skip,
        FinalAction::DeadLetter => ErrorDecision::DeadLetter,
        FinalAction::Abort => ErrorDecision::Abort,
    }
}

#[async_trait]
impl ErrorHandler for RetryingErrorHandler {
    fn can_handle(&self, error_type: ErrorType) -> bool {
        self.policy.action(error_type).is_some()
    }

    async fn handle(&self, error: &ErrorInfo, attempt: u32) -> ErrorDecision {
        let decision = self.decide(error.error_type, attempt);
        self.count(&decision);
        tracing::debug!(
            error_type = ?error.error_type,
            operation = %error.operation,
            component = error.component.as_deref().unwrap_or(""),
            attempt,
            ?decision,
            "error handled: {}",
            error.message
        );
        decision
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::models::Layer;
    use crate::runtime::retry_policy::Backoff;

    fn info(t: ErrorType) -> ErrorInfo {
        ErrorInfo::new(t, Layer::Storage, "store", "boom")
    }

    #[tokio::test]
    async fn retry_delays_stay_within_jitter_bounds_then_stop() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2), 6)
            .unwrap()
            .with_jitter(0.3)
            .unwrap();
        let policy = ErrorPolicy::empty().on(
            ErrorType::Connection,
            ErrorAction::Retry {
                backoff,
                exhausted: FinalAction::Skip,
            },
        );
        let handler = RetryingErrorHandler::with_seed(policy, 42);
        let error = info(ErrorType::Connection);
        let mut seen = Vec::new();
        for attempt in 1..6 {
            let ErrorDecision::Retry { after } = handler.handle(&error, attempt).await else {
                panic!("attempt {attempt} should be retried");
            };
            let base = backoff.base_delay(attempt);
            assert!(after <= base, "attempt {attempt}: {after:?} > {base:?}");
            assert!(
                after >= base.mul_f64(0.7),
                "attempt {attempt}: {after:?} < 0.7 × {base:?}"
            );
            seen.push(after);
        }
        // The jitter actually varies the delays (the bounds alone would pass with none).
        assert!(
            seen.iter()
                .zip(1..)
                .any(|(d, a)| *d != backoff.base_delay(a))
        );
        assert_eq!(handler.handle(&error, 6).await, ErrorDecision::Skip);
        assert_eq!(
            handler.stats(),
            ErrorHandlerStats {
                retried: 5,
                skipped: 1,
                ..Default::default()
            }
        );
    }

    #[tokio::test]
    async fn the_same_seed_gives_the_same_delays() {
        let a = RetryingErrorHandler::with_seed(ErrorPolicy::default(), 9);
        let b = RetryingErrorHandler::with_seed(ErrorPolicy::default(), 9);
        let error = info(ErrorType::Timeout);
        for attempt in 1..5 {
            assert_eq!(
                a.handle(&error, attempt).await,
                b.handle(&error, attempt).await
            );
        }
    }

    #[tokio::test]
    async fn default_policy_decisions() {
        let handler = RetryingErrorHandler::default();
        assert_eq!(
            handler.handle(&info(ErrorType::Validation), 1).await,
            ErrorDecision::DeadLetter
        );
        assert_eq!(
            handler.handle(&info(ErrorType::Authentication), 1).await,
            ErrorDecision::Abort
        );
        assert!(matches!(
            handler.handle(&info(ErrorType::Storage), 1).await,
            ErrorDecision::Retry { .. }
        ));
        assert!(handler.can_handle(ErrorType::Unknown));
    }

    #[tokio::test]
    async fn unhandled_types_abort() {
        let handler = RetryingErrorHandler::new(ErrorPolicy::empty());
        assert!(!handler.can_handle(ErrorType::Storage));
        assert_eq!(
            handler.handle(&info(ErrorType::Storage), 1).await,
            ErrorDecision::Abort
        );
    }
}
