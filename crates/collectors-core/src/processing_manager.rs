//! [`ProcessingManager`]: processors and pipelines by name.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;
use crate::models::{Payload, ProcessingResult};
use crate::pipeline::Pipeline;
use crate::processor::Processor;

/// A registry of processors and pipelines that runs them by name.
///
/// # Contract
///
/// - Names are unique per kind: a duplicate is an
///   [`Error::InvalidState`](crate::Error::InvalidState); an unknown name is an
///   [`Error::NotFound`](crate::Error::NotFound).
/// - `run_processor`/`run_pipeline` return `Err` only when the name is unknown; processing
///   failures are reported inside the [`ProcessingResult`].
#[doc(alias = "IProcessingManager")]
#[async_trait]
pub trait ProcessingManager: Send + Sync {
    /// Registers a processor under its name.
    async fn register_processor(&self, processor: Arc<dyn Processor>) -> Result<()>;

    /// Registers a pipeline under its name.
    async fn register_pipeline(&self, pipeline: Arc<dyn Pipeline>) -> Result<()>;

    /// Removes a processor.
    async fn unregister_processor(&self, name: &str) -> Result<()>;

    /// Removes a pipeline.
    async fn unregister_pipeline(&self, name: &str) -> Result<()>;

    /// The names of the registered processors, sorted.
    async fn processors(&self) -> Vec<String>;

    /// The names of the registered pipelines, sorted.
    async fn pipelines(&self) -> Vec<String>;

    /// Runs one processor on one input.
    async fn run_processor(&self, name: &str, input: Payload) -> Result<ProcessingResult>;

    /// Runs one pipeline on one input.
    async fn run_pipeline(&self, name: &str, input: Payload) -> Result<ProcessingResult>;
}
