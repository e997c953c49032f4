//! [`MockDeadLetterSink`].

use async_trait::async_trait;
use collectors_core::{DeadLetter, DeadLetterSink, InMemoryDeadLetterSink, Result};

use crate::control::MockControl;

/// A [`DeadLetterSink`] in memory ([`InMemoryDeadLetterSink`]) whose writes can fail, be
/// slowed down and are recorded; it passes the dead-letter conformance suite.
///
/// `write` is the one fallible call (`"write"` for [`MockControl::fail_method`]); a failed
/// write keeps none of its letters. The recorded detail is the number of letters.
///
/// ```
/// use collectors_core::{DeadLetter, DeadLetterSink, Error, ErrorInfo, ErrorType};
/// use collectors_mocks::MockDeadLetterSink;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let sink = MockDeadLetterSink::new();
/// sink.control().fail_next(1, ErrorType::Storage);
///
/// let error = ErrorInfo::from(&Error::validation("3 columns, expected 4"));
/// let letters = vec![DeadLetter::new("p", "files", "a.csv", error).with_row(2, "x,y,z", true)];
/// assert!(sink.write(&letters).await.is_err());
/// assert!(sink.letters().is_empty(), "a failed write keeps nothing");
/// sink.write(&letters).await.unwrap();
/// assert_eq!(sink.letters().len(), letters.len());
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MockDeadLetterSink {
    inner: InMemoryDeadLetterSink,
    control: MockControl,
}

impl MockDeadLetterSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// The handle that injects failures and latency and records calls.
    pub fn control(&self) -> MockControl {
        self.control.clone()
    }

    /// Every letter written, in order (repeats included, as a durable sink would hold them
    /// before readers collapse them by [`DeadLetter::key`]).
    pub fn letters(&self) -> Vec<DeadLetter> {
        self.inner.letters()
    }
}

#[async_trait]
impl DeadLetterSink for MockDeadLetterSink {
    async fn write(&self, letters: &[DeadLetter]) -> Result<()> {
        self.control
            .enter("write", letters.len().to_string())
            .await
            .map_err(|e| e.with_component("mock-dead-letters"))?;
        self.inner.write(letters).await
    }
}
