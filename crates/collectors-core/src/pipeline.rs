//! [`Pipeline`]: ordered processors run on one item.

use async_trait::async_trait;

use crate::error::Result;
use crate::models::{Payload, ProcessingResult};
use crate::processor::{ItemContext, StateScope};

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

    /// Runs every step on one batch of a source item (see [`ItemContext`]). The default
    /// ignores the context.
    async fn execute_in(&self, context: &ItemContext, input: Payload) -> ProcessingResult {
        let _ = context;
        self.execute(input).await
    }

    /// The item ended: the rows its steps still hold back (see
    /// [`Processor::flush_item`](crate::Processor::flush_item)), each run through the steps
    /// after the one that held it; one result per step that held rows, in step order. The
    /// default holds nothing.
    async fn flush_item(&self, context: &ItemContext) -> Vec<ProcessingResult> {
        let _ = context;
        Vec::new()
    }

    /// Tells every step that an item is finished, so per-item state can be dropped.
    fn finish_item(&self, item_id: &str) {
        let _ = item_id;
    }

    /// The widest [`StateScope`] of its steps (default [`StateScope::None`]).
    fn state_scope(&self) -> StateScope {
        StateScope::None
    }

    /// The source state of every step, as one JSON value (see [`Processor::save_state`](crate::Processor::save_state)).
    fn save_state(&self, source_id: &str) -> Result<Option<serde_json::Value>> {
        let _ = source_id;
        Ok(None)
    }

    /// Restores what [`save_state`](Self::save_state) returned, or clears it (`None`).
    fn restore_state(&self, source_id: &str, state: Option<serde_json::Value>) -> Result<()> {
        let _ = (source_id, state);
        Ok(())
    }
}
