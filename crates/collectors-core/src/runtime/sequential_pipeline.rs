//! [`SequentialPipeline`]: processors run one after the other.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use async_trait::async_trait;
use futures::FutureExt;

use crate::error::{Error, Result};
use crate::models::{ErrorInfo, Payload, ProcessingResult, RejectedRows, StepOutcome, StepTiming};
use crate::pipeline::Pipeline;
use crate::processor::{ItemContext, Processor, StateScope};

/// A [`Pipeline`] that runs its processors in order, each on the previous one's output.
///
/// Each step first checks [`Processor::validate_input`], then runs
/// [`Processor::process`]; a panic inside a processor is caught and fails the item (as an
/// [`Error::Processing`]), never the caller. With stop-on-failure (the default) the first
/// failure ends the run; without it, a failing step passes its input on unchanged and the
/// result still reports the first failure.
///
/// Timings use tokio's clock, so they follow a paused clock in tests.
///
/// ```
/// use std::sync::Arc;
/// use async_trait::async_trait;
/// use collectors_core::{Payload, Pipeline, Processor, Result, SequentialPipeline, StepOutcome};
///
/// struct AddOne;
/// #[async_trait]
/// impl Processor for AddOne {
///     fn name(&self) -> &str { "add-one" }
///     fn validate_input(&self, input: &Payload) -> Result<()> { input.as_json().map(|_| ()) }
///     async fn process(&self, input: Payload) -> Result<Payload> {
///         let n = input.as_json()?.as_i64().unwrap_or_default();
///         Ok(Payload::Json((n + 1).into()))
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let pipeline = SequentialPipeline::builder("plus-two")
///     .processor(Arc::new(AddOne))
///     .processor(Arc::new(AddOne))
///     .build()
///     .unwrap();
/// let result = pipeline.execute(Payload::Json(40.into())).await;
/// assert!(result.success);
/// assert_eq!(result.processed_data, Some(Payload::Json(42.into())));
/// assert_eq!(result.step_timings.len(), 2);
/// assert!(result.step_timings.iter().all(|s| s.outcome == StepOutcome::Succeeded));
/// # });
/// ```
pub struct SequentialPipeline {
    name: String,
    processors: Vec<Arc<dyn Processor>>,
    stop_on_failure: bool,
}

impl std::fmt::Debug for SequentialPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SequentialPipeline")
            .field("name", &self.name)
            .field("steps", &self.steps())
            .field("stop_on_failure", &self.stop_on_failure)
            .finish()
    }
}

/// Builds a [`SequentialPipeline`].
#[must_use]
pub struct SequentialPipelineBuilder {
    name: String,
    processors: Vec<Arc<dyn Processor>>,
    stop_on_failure: bool,
}

impl SequentialPipelineBuilder {
    /// Appends a step.
    pub fn processor(mut self, processor: Arc<dyn Processor>) -> Self {
        self.processors.push(processor);
        self
    }

    /// Whether the first failure ends the run (default `true`).
    pub fn stop_on_failure(mut self, stop: bool) -> Self {
        self.stop_on_failure = stop;
        self
    }

    /// Checks the pipeline: a non-empty name, at least one step.
    pub fn build(self) -> Result<SequentialPipeline> {
        let invalid =
            |m: &str| Err(Error::configuration(m.to_owned()).with_component(self.name.clone()));
        if self.name.trim().is_empty() {
            return invalid("a pipeline name must not be empty");
        }
        if self.processors.is_empty() {
            return invalid("a pipeline needs at least one processor");
        }
        Ok(SequentialPipeline {
            name: self.name,
            processors: self.processors,
            stop_on_failure: self.stop_on_failure,
        })
    }
}

impl SequentialPipeline {
    /// Starts building a pipeline called `name`.
    pub fn builder(name: impl Into<String>) -> SequentialPipelineBuilder {
        SequentialPipelineBuilder {
            name: name.into(),
            processors: Vec::new(),
            stop_on_failure: true,
        }
    }
}

/// Runs one processor on one input: validation, then processing, with panics caught.
pub(crate) async fn run_step(
    processor: &dyn Processor,
    context: Option<&ItemContext>,
    input: Payload,
) -> Result<(Payload, Option<RejectedRows>)> {
    let name = processor.name().to_owned();
    let outcome = AssertUnwindSafe(async {
        processor.validate_input(&input)?;
        match context {
            Some(context) => processor.process_rows(context, input).await,
            None => processor.process(input).await.map(|out| (out, None)),
        }
    })
    .catch_unwind()
    .await;
    match outcome {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(e)) => Err(if e.context().component.is_none() {
            e.with_component(name)
        } else {
            e
        }),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_owned());
            tracing::error!(processor = %name, panic = %what, "processor panicked; the item fails");
            Err(Error::processing(format!("processor panicked: {what}"))
                .with_component(name)
                .with_operation("process"))
        }
    }
}

#[async_trait]
impl Pipeline for SequentialPipeline {
    fn name(&self) -> &str {
        &self.name
    }

    fn steps(&self) -> Vec<String> {
        self.processors
            .iter()
            .map(|p| p.name().to_owned())
            .collect()
    }

    async fn execute(&self, input: Payload) -> ProcessingResult {
        self.run(None, input).await
    }

    async fn execute_in(&self, context: &ItemContext, input: Payload) -> ProcessingResult {
        self.run(Some(context), input).await
    }

    async fn flush_item(&self, context: &ItemContext) -> Vec<ProcessingResult> {
        let mut results = Vec::new();
        for (at, processor) in self.processors.iter().enumerate() {
            let started = Instant::now();
            match processor.flush_item(context).await {
                Ok(None) => {}
                Ok(Some(held)) => results.push(self.run_from(at + 1, Some(context), held).await),
                Err(e) => {
                    let e = if e.context().component.is_none() {
                        e.with_component(processor.name().to_owned())
                    } else {
                        e
                    };
                    results.push(ProcessingResult::failed(
                        ErrorInfo::from(&e.with_operation("flush_item")),
                        started.elapsed(),
                    ));
                    if self.stop_on_failure {
                        break;
                    }
                }
            }
        }
        results
    }

    fn finish_item(&self, item_id: &str) {
        for processor in &self.processors {
            processor.finish_item(item_id);
        }
    }

    fn state_scope(&self) -> StateScope {
        self.processors
            .iter()
            .map(|p| p.state_scope())
            .max()
            .unwrap_or_default()
    }

    /// `{"<step name>": state, …}` for the steps that keep source state.
    fn save_state(&self, source_id: &str) -> Result<Option<serde_json::Value>> {
        let mut states = serde_json::Map::new();
        for processor in &self.processors {
            if let Some(state) = processor.save_state(source_id)? {
                states.insert(processor.name().to_owned(), state);
            }
        }
        Ok((!states.is_empty()).then_some(serde_json::Value::Object(states)))
    }

    fn restore_state(&self, source_id: &str, state: Option<serde_json::Value>) -> Result<()> {
        let mut states = match state {
            Some(serde_json::Value::Object(states)) => states,
            _ => serde_json::Map::new(),
        };
        for processor in &self.processors {
            processor.restore_state(source_id, states.remove(processor.name()))?;
        }
        Ok(())
    }
}

impl SequentialPipeline {
    async fn run(&self, context: Option<&ItemContext>, input: Payload) -> ProcessingResult {
        self.run_from(0, context, input).await
    }

    /// Runs the steps from `first` on.
    async fn run_from(
        &self,
        first: usize,
        context: Option<&ItemContext>,
        input: Payload,
    ) -> ProcessingResult {
        let started = Instant::now();
        let steps = self.processors.get(first..).unwrap_or_default();
        let mut timings = Vec::with_capacity(steps.len());
        let mut first_error: Option<ErrorInfo> = None;
        let mut rejected = Vec::new();
        let mut current = input;
        for processor in steps {
            if first_error.is_some() && self.stop_on_failure {
                timings.push(StepTiming {
                    processor: processor.name().to_owned(),
                    duration: Duration::ZERO,
                    outcome: StepOutcome::NotRun,
                });
                continue;
            }
            let step_started = Instant::now();
            // Without stop-on-failure a failing step passes its input on, so keep a copy
            // (payload clones share their buffers).
            let fallback = (!self.stop_on_failure).then(|| current.clone());
            let outcome = run_step(
                processor.as_ref(),
                context,
                std::mem::replace(&mut current, Payload::Empty),
            )
            .await;
            let (step_outcome, next) = match outcome {
                Ok((output, refused)) => {
                    rejected.extend(refused.filter(|r| !r.is_empty()));
                    (StepOutcome::Succeeded, output)
                }
                Err(e) => {
                    tracing::debug!(pipeline = %self.name, processor = processor.name(), error = %e, "step failed");
                    first_error.get_or_insert_with(|| ErrorInfo::from(&e));
                    (StepOutcome::Failed, fallback.unwrap_or(Payload::Empty))
                }
            };
            current = next;
            timings.push(StepTiming {
                processor: processor.name().to_owned(),
                duration: step_started.elapsed(),
                outcome: step_outcome,
            });
        }
        let mut result = match first_error {
            None => ProcessingResult::succeeded(current, started.elapsed()),
            Some(error) => {
                let mut failed = ProcessingResult::failed(error, started.elapsed());
                if !self.stop_on_failure {
                    failed.processed_data = Some(current);
                }
                failed
            }
        };
        result.step_timings = timings;
        // A batch that failed as a whole is dead-lettered whole, its refused rows with it.
        if result.success || !self.stop_on_failure {
            result.rejected = rejected;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Holds back the last number it saw until the item ends (or fails its flush).
    struct HoldLast {
        held: Mutex<Option<i64>>,
        fail_flush: bool,
    }

    #[async_trait]
    impl Processor for HoldLast {
        fn name(&self) -> &str {
            "hold-last"
        }
        fn validate_input(&self, _: &Payload) -> Result<()> {
            Ok(())
        }
        async fn process(&self, input: Payload) -> Result<Payload> {
            let n = input.as_json()?.as_i64().unwrap_or_default();
            let previous = self.held.lock().unwrap().replace(n);
            Ok(previous.map_or(Payload::Empty, |p| Payload::Json(p.into())))
        }
        async fn flush_item(&self, _: &ItemContext) -> Result<Option<Payload>> {
            if self.fail_flush {
                return Err(Error::processing("no end for this series"));
            }
            Ok(self
                .held
                .lock()
                .unwrap()
                .take()
                .map(|n| Payload::Json(n.into())))
        }
    }

    struct Times10;

    #[async_trait]
    impl Processor for Times10 {
        fn name(&self) -> &str {
            "times-10"
        }
        fn validate_input(&self, _: &Payload) -> Result<()> {
            Ok(())
        }
        async fn process(&self, input: Payload) -> Result<Payload> {
            Ok(Payload::Json(
                (input.as_json()?.as_i64().unwrap_or_default() * 10).into(),
            ))
        }
    }

    fn pipeline(fail_flush: bool) -> SequentialPipeline {
        SequentialPipeline::builder("held")
            .processor(Arc::new(HoldLast {
                held: Mutex::new(None),
                fail_flush,
            }))
            .processor(Arc::new(Times10))
            .build()
            .unwrap()
    }

    fn context() -> ItemContext {
        ItemContext {
            source_id: "s".into(),
            item_id: "i".into(),
            batch_index: 1,
        }
    }

    #[tokio::test]
    async fn held_rows_are_flushed_through_the_later_steps() {
        let pipeline = pipeline(false);
        pipeline
            .execute_in(&context(), Payload::Json(4.into()))
            .await;
        let flushed = pipeline.flush_item(&context()).await;
        assert_eq!(flushed.len(), 1);
        assert!(flushed[0].success);
        assert_eq!(flushed[0].processed_data, Some(Payload::Json(40.into())));
        // Nothing is held any more.
        assert!(pipeline.flush_item(&context()).await.is_empty());
    }

    #[tokio::test]
    async fn a_failing_flush_names_its_step() {
        let flushed = pipeline(true).flush_item(&context()).await;
        assert_eq!(flushed.len(), 1);
        let error = flushed[0].error.as_ref().unwrap();
        assert!(!flushed[0].success);
        assert_eq!(error.component.as_deref(), Some("hold-last"));
        assert_eq!(error.operation, "flush_item");
    }
}
