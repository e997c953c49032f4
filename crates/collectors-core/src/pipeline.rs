//! [`Pipeline`]: ordered processors run on one item.

use async_trait::async_trait;

use crate::models::{Payload, ProcessingResult};

/// An ordered list of processors run one after the other on each item.
///
/// # Contract
///
/// - `execute` never fails as a call: the outcome, the error (with the failing step's name as
///   its component) and per-step timings are in the [`ProcessingResult`].
/// - With stop-on-failure (the default of [`SequentialPipeline`](crate::SequentialPipeline)),
///   the first failing step ends the run and later steps are reported as
///   [`StepOutcome::NotRun`](crate::StepOutcome::NotRun).
#[doc(alias = "IPipeline")]
#[async_trait]
pub trait Pipeline: Send + Sync {
    /// The pipeline's unique name.
    fn name(&self) -> &str;

    /// The names of its processors, in order.
    fn steps(&self) -> Vec<String>;

    /// Runs every step on one input.
    async fn execute(&self, input: Payload) -> ProcessingResult;
}
