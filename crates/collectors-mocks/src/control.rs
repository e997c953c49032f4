//! [`MockControl`]: the handle a test drives a hand-written mock with.

use collectors_core::sync::lock;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use collectors_core::{Error, ErrorType, Result};

/// One recorded call to a mock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The method called (`"store"`, `"collect"` …).
    pub method: String,
    /// A short description of the arguments (a key, an id), empty when there are none.
    pub detail: String,
}

/// Controls a hand-written mock from the test: fail the next N calls (of any method, or of one
/// method) with a chosen error type, add latency to every call, and read back the calls made.
///
/// Every mock has one; get it with the mock's `control()` before moving the mock into an
/// `Arc<dyn Trait>`. Clones share the same state.
///
/// ```
/// use std::time::Duration;
/// use collectors_core::ErrorType;
/// use collectors_mocks::MockControl;
///
/// let control = MockControl::new();
/// control.fail_next(2, ErrorType::Timeout);
/// control.fail_method("store", 1, ErrorType::Storage);
/// control.set_latency(Duration::from_millis(5));
/// assert_eq!(control.calls().len(), 0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct MockControl {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    failures: Mutex<Vec<Failure>>,
    latency: Mutex<Duration>,
    calls: Mutex<Vec<Call>>,
}

/// Injected failures still due: for one method, or any when `method` is `None`.
#[derive(Debug)]
struct Failure {
    method: Option<String>,
    left: u32,
    error_type: ErrorType,
}

impl MockControl {
    /// A control with no failures, no latency and no calls.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `n` fallible calls, whatever the method, fail with `error_type`.
    pub fn fail_next(&self, n: u32, error_type: ErrorType) {
        lock(&self.inner.failures).push(Failure {
            method: None,
            left: n,
            error_type,
        });
    }

    /// Makes the next `n` calls of `method` fail with `error_type`.
    pub fn fail_method(&self, method: &str, n: u32, error_type: ErrorType) {
        lock(&self.inner.failures).push(Failure {
            method: Some(method.to_owned()),
            left: n,
            error_type,
        });
    }

    /// Adds `latency` to every async call.
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.inner.latency) = latency;
    }

    /// Every call made so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.inner.calls).clone()
    }

    /// How many times `method` was called.
    pub fn call_count(&self, method: &str) -> usize {
        lock(&self.inner.calls)
            .iter()
            .filter(|c| c.method == method)
            .count()
    }

    /// Forgets the recorded calls.
    pub fn clear_calls(&self) {
        lock(&self.inner.calls).clear();
    }

    /// Records a call that cannot fail (a sync getter, a validation).
    pub fn record(&self, method: &str, detail: impl Into<String>) {
        lock(&self.inner.calls).push(Call {
            method: method.to_owned(),
            detail: detail.into(),
        });
    }

    /// Records an async call, waits the configured latency, and returns the injected failure
    /// if one is due. Mocks call this first in every fallible async method.
    pub async fn enter(&self, method: &str, detail: impl Into<String>) -> Result<()> {
        self.record(method, detail);
        let latency = *lock(&self.inner.latency);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let mut failures = lock(&self.inner.failures);
        let due = failures
            .iter_mut()
            .find(|f| f.left > 0 && f.method.as_deref().is_none_or(|m| m == method));
        match due {
            Some(failure) => {
                failure.left -= 1;
                Err(Error::of_type(failure.error_type, "injected failure").with_operation(method))
            }
            None => Ok(()),
        }
    }
}

/// Tracks connect/disconnect for mocks of connectable things.
#[derive(Debug, Default)]
pub(crate) struct Connection(std::sync::atomic::AtomicBool);

impl Connection {
    /// A recorded, possibly failing `connect`.
    pub(crate) async fn connect(&self, control: &MockControl) -> Result<()> {
        control.enter("connect", "").await?;
        self.0.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// A recorded, possibly failing `disconnect`.
    pub(crate) async fn disconnect(&self, control: &MockControl) -> Result<()> {
        control.enter("disconnect", "").await?;
        self.0.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// `Ok` when open, else the connection error the contracts require.
    pub(crate) fn check(&self, component: &str, operation: &str) -> Result<()> {
        if self.0.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(Error::connection("not connected")
                .with_component(component)
                .with_operation(operation))
        }
    }
}
