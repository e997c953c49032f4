//! [`MockProcessor`] and [`MockPipeline`].

use std::sync::Arc;

use async_trait::async_trait;
use collectors_core::{Error, Payload, PayloadKind, Pipeline, ProcessingResult, Processor, Result};

use crate::control::MockControl;

type Transform = Arc<dyn Fn(Payload) -> Result<Payload> + Send + Sync>;

/// A [`Processor`] that applies a closure (identity by default), optionally accepts only some
/// payload kinds, and can be made to panic.
///
/// ```
/// use collectors_core::{Payload, Processor};
/// use collectors_mocks::MockProcessor;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let double = MockProcessor::new("double").with_transform(|p| {
///     let n = p.as_json()?.as_i64().unwrap_or_default();
///     Ok(Payload::Json((n * 2).into()))
/// });
/// assert_eq!(double.process(Payload::Json(21.into())).await.unwrap(), Payload::Json(42.into()));
/// # });
/// ```
#[derive(Clone)]
pub struct MockProcessor {
    name: String,
    transform: Transform,
    accepts: Option<Vec<PayloadKind>>,
    panic_message: Option<String>,
    control: MockControl,
}

impl std::fmt::Debug for MockProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockProcessor")
            .field("name", &self.name)
            .field("accepts", &self.accepts)
            .finish()
    }
}

impl MockProcessor {
    /// An identity processor that accepts everything.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            transform: Arc::new(Ok),
            accepts: None,
            panic_message: None,
            control: MockControl::new(),
        }
    }

    /// Applies `transform` to each input.
    #[must_use]
    pub fn with_transform(
        mut self,
        transform: impl Fn(Payload) -> Result<Payload> + Send + Sync + 'static,
    ) -> Self {
        self.transform = Arc::new(transform);
        self
    }

    /// Accepts only these payload kinds (others fail `validate_input`).
    #[must_use]
    pub fn accepting(mut self, kinds: &[PayloadKind]) -> Self {
        self.accepts = Some(kinds.to_vec());
        self
    }

    /// Panics with `message` in `process` (to test that pipelines contain panics).
    #[must_use]
    pub fn panicking(mut self, message: impl Into<String>) -> Self {
        self.panic_message = Some(message.into());
        self
    }

    /// The handle that injects failures and latency and records calls.
    pub fn control(&self) -> MockControl {
        self.control.clone()
    }
}

#[async_trait]
impl Processor for MockProcessor {
    fn name(&self) -> &str {
        &self.name
    }

    fn validate_input(&self, input: &Payload) -> Result<()> {
        self.control
            .record("validate_input", format!("{:?}", input.kind()));
        match &self.accepts {
            Some(kinds) if !kinds.contains(&input.kind()) => Err(Error::validation(format!(
                "{} accepts {kinds:?}, got {:?}",
                self.name,
                input.kind()
            ))
            .with_component(&self.name)
            .with_operation("validate_input")),
            _ => Ok(()),
        }
    }

    async fn process(&self, input: Payload) -> Result<Payload> {
        self.control
            .enter("process", format!("{:?}", input.kind()))
            .await
            .map_err(|e| e.with_component(&self.name))?;
        if let Some(message) = &self.panic_message {
            panic!("{message}");
        }
        self.validate_input(&input)?;
        (self.transform)(input)
    }
}

/// A [`Pipeline`] that returns a scripted result, or echoes its input as a success.
#[derive(Debug)]
pub struct MockPipeline {
    name: String,
    steps: Vec<String>,
    result: Option<ProcessingResult>,
    control: MockControl,
}

impl MockPipeline {
    /// A pipeline that echoes its input as a success.
    pub fn new(name: impl Into<String>, steps: &[&str]) -> Self {
        Self {
            name: name.into(),
            steps: steps.iter().map(|s| (*s).to_owned()).collect(),
            result: None,
            control: MockControl::new(),
        }
    }

    /// Returns `result` from every `execute`.
    #[must_use]
    pub fn returning(mut self, result: ProcessingResult) -> Self {
        self.result = Some(result);
        self
    }

    /// The handle that adds latency and records calls (a pipeline cannot fail as a call:
    /// injected failures become failed results).
    pub fn control(&self) -> MockControl {
        self.control.clone()
    }
}

#[async_trait]
impl Pipeline for MockPipeline {
    fn name(&self) -> &str {
        &self.name
    }

    fn steps(&self) -> Vec<String> {
        self.steps.clone()
    }

    async fn execute(&self, input: Payload) -> ProcessingResult {
        let started = tokio::time::Instant::now();
        if let Err(e) = self
            .control
            .enter("execute", format!("{:?}", input.kind()))
            .await
        {
            return ProcessingResult::failed(
                (&e.with_component(&self.name)).into(),
                started.elapsed(),
            );
        }
        self.result
            .clone()
            .unwrap_or_else(|| ProcessingResult::succeeded(input, started.elapsed()))
    }
}
