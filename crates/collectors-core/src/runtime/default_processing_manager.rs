//! [`DefaultProcessingManager`]: processors and pipelines by name, in memory.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use tokio::time::Instant;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::models::{ErrorInfo, Payload, ProcessingResult, StepOutcome, StepTiming};
use crate::pipeline::Pipeline;
use crate::processing_manager::ProcessingManager;
use crate::processor::Processor;
use crate::runtime::sequential_pipeline::run_step;
use crate::sync::{read, write};

/// A [`ProcessingManager`] holding processors and pipelines in memory.
///
/// Running a single processor goes through the same step runner as a pipeline: input
/// validation first, panics caught, one [`StepTiming`] in the result.
#[derive(Default)]
pub struct DefaultProcessingManager {
    processors: RwLock<BTreeMap<String, Arc<dyn Processor>>>,
    pipelines: RwLock<BTreeMap<String, Arc<dyn Pipeline>>>,
}

impl std::fmt::Debug for DefaultProcessingManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultProcessingManager")
            .field(
                "processors",
                &read(&self.processors).keys().collect::<Vec<_>>(),
            )
            .field(
                "pipelines",
                &read(&self.pipelines).keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Inserts `value` under a new, non-empty name.
fn insert_unique<T: ?Sized>(
    map: &RwLock<BTreeMap<String, Arc<T>>>,
    kind: &str,
    name: &str,
    value: Arc<T>,
) -> Result<()> {
    if name.trim().is_empty() {
        return Err(
            Error::configuration(format!("a {kind} name must not be empty"))
                .with_operation("register"),
        );
    }
    let mut map = write(map);
    if map.contains_key(name) {
        return Err(
            Error::invalid_state(format!("a {kind} named `{name}` is already registered"))
                .with_component(name)
                .with_operation("register"),
        );
    }
    map.insert(name.to_owned(), value);
    Ok(())
}

fn lookup<T: ?Sized>(
    map: &RwLock<BTreeMap<String, Arc<T>>>,
    kind: &str,
    name: &str,
) -> Result<Arc<T>> {
    read(map)
        .get(name)
        .cloned()
        .ok_or_else(|| Error::not_found(format!("no {kind} named `{name}`")).with_component(name))
}

fn remove<T: ?Sized>(map: &RwLock<BTreeMap<String, Arc<T>>>, kind: &str, name: &str) -> Result<()> {
    write(map)
        .remove(name)
        .map(|_| ())
        .ok_or_else(|| Error::not_found(format!("no {kind} named `{name}`")).with_component(name))
}

impl DefaultProcessingManager {
    /// An empty manager.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registered processor.
    pub fn processor(&self, name: &str) -> Result<Arc<dyn Processor>> {
        lookup(&self.processors, "processor", name)
    }

    /// A registered pipeline.
    pub fn pipeline(&self, name: &str) -> Result<Arc<dyn Pipeline>> {
        lookup(&self.pipelines, "pipeline", name)
    }
}

#[async_trait]
impl ProcessingManager for DefaultProcessingManager {
    async fn register_processor(&self, processor: Arc<dyn Processor>) -> Result<()> {
        let name = processor.name().to_owned();
        insert_unique(&self.processors, "processor", &name, processor)
    }

    async fn register_pipeline(&self, pipeline: Arc<dyn Pipeline>) -> Result<()> {
        let name = pipeline.name().to_owned();
        insert_unique(&self.pipelines, "pipeline", &name, pipeline)
    }

    async fn unregister_processor(&self, name: &str) -> Result<()> {
        remove(&self.processors, "processor", name)
    }

    async fn unregister_pipeline(&self, name: &str) -> Result<()> {
        remove(&self.pipelines, "pipeline", name)
    }

    async fn processors(&self) -> Vec<String> {
        read(&self.processors).keys().cloned().collect()
    }

    async fn pipelines(&self) -> Vec<String> {
        read(&self.pipelines).keys().cloned().collect()
    }

    async fn run_processor(&self, name: &str, input: Payload) -> Result<ProcessingResult> {
        let processor = self.processor(name)?;
        let started = Instant::now();
        let outcome = run_step(processor.as_ref(), None, input).await;
        let elapsed = started.elapsed();
        let (mut result, step_outcome) = match outcome {
            Ok((output, _)) => (
                ProcessingResult::succeeded(output, elapsed),
                StepOutcome::Succeeded,
            ),
            Err(e) => (
                ProcessingResult::failed(ErrorInfo::from(&e), elapsed),
                StepOutcome::Failed,
            ),
        };
        result.step_timings = vec![StepTiming {
            processor: name.to_owned(),
            duration: elapsed,
            outcome: step_outcome,
        }];
        Ok(result)
    }

    async fn run_pipeline(&self, name: &str, input: Payload) -> Result<ProcessingResult> {
        let pipeline = self.pipeline(name)?;
        Ok(pipeline.execute(input).await)
    }
}
