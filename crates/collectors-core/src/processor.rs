//! [`Processor`]: one step that transforms, validates or enriches data.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::models::{Payload, RejectedRows};

/// Where a payload comes from when the engine processes a source item batch by batch.
///
/// Stateful processors (a rolling mean over consecutive rows) keep their state per
/// `source_id` when it spans the source's items ([`StateScope::Source`]), or per `item_id`
/// and drop it in [`Processor::finish_item`] ([`StateScope::Item`]); the engine runs the
/// batches of one item in order, and with source state the items of a source in order too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemContext {
    /// The source the item belongs to.
    pub source_id: String,
    /// The item's stable id (a file path, an object key).
    pub item_id: String,
    /// The position of this batch within the item, from 0.
    pub batch_index: u64,
}

/// Where a processor keeps state between the batches it is given (see
/// [`Processor::state_scope`]).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum StateScope {
    /// No state: every batch stands alone; items run in parallel.
    #[default]
    None,
    /// State per item, dropped when the item ends; items run in parallel.
    Item,
    /// State per source, carried across the source's items in their listing order (a series
    /// split into `part-00 … part-NN` gives the same result as one file). The engine reads
    /// such a source's items one after another and checkpoints the state with each item, so
    /// a rerun after a crash resumes with the state the last acknowledged item left.
    Source,
}

/// One processing step: validation, transformation, enrichment, analysis.
///
/// # Contract
///
/// - `validate_input` is cheap and side-effect free; `Err` (an
///   [`Error::Validation`](crate::Error::Validation)) means `process` would reject the input.
/// - `process` returns the output payload or an error; it never panics on bad input (a panic
///   is caught by the pipeline and fails the item, but it is still a bug).
/// - `process_batch` returns one result per input, in order. The default calls `process` for
///   each; processors with a cheaper bulk path (Arrow kernels over several batches) override it.
///
/// ```
/// use async_trait::async_trait;
/// use collectors_core::{Payload, Processor, Result};
///
/// struct Uppercase;
///
/// #[async_trait]
/// impl Processor for Uppercase {
///     fn name(&self) -> &str { "uppercase" }
///     fn validate_input(&self, input: &Payload) -> Result<()> {
///         input.as_json().map(|_| ())
///     }
///     async fn process(&self, input: Payload) -> Result<Payload> {
///         let text = input.as_json()?.as_str().unwrap_or_default().to_uppercase();
///         Ok(Payload::Json(text.into()))
///     }
/// }
/// ```
#[doc(alias = "IProcessor")]
#[async_trait]
pub trait Processor: Send + Sync {
    /// The processor's unique name.
    fn name(&self) -> &str;

    /// Checks whether `process` can accept this input.
    fn validate_input(&self, input: &Payload) -> Result<()>;

    /// Processes one input.
    async fn process(&self, input: Payload) -> Result<Payload>;

    /// Processes one batch of a source item. The default ignores the context and calls
    /// [`process`](Self::process); processors whose output depends on earlier batches of the
    /// same item (windows, running totals) override it.
    async fn process_in(&self, context: &ItemContext, input: Payload) -> Result<Payload> {
        let _ = context;
        self.process(input).await
    }

    /// Processes one batch of a source item and may refuse some of its rows: returns the
    /// output (the rows that go on) and the refused rows with a reason each. The engine
    /// dead-letters the refused rows (counted dead-lettered, not skipped) and passes the
    /// output to the next step. The default refuses nothing: it returns
    /// [`process_in`](Self::process_in)'s output. A processor that validates rows (and so
    /// must not fail a whole batch for one bad row) overrides this one, and its
    /// `process_in` then returns only the output.
    async fn process_rows(
        &self,
        context: &ItemContext,
        input: Payload,
    ) -> Result<(Payload, Option<RejectedRows>)> {
        Ok((self.process_in(context, input).await?, None))
    }

    /// Called once, after the last batch of an item went through (and before
    /// [`finish_item`](Self::finish_item)): returns the rows this step still holds back for
    /// the item, as if no row followed (a peak waiting for its right side), or `None`. The
    /// engine runs them through the later steps and stores them with the item, before its
    /// checkpoint. Rows held back were counted skipped when their batch went through; the
    /// rows returned here move from skipped to processed. The default holds nothing.
    ///
    /// Only state that ends with the item can be flushed: with [`StateScope::Source`] the
    /// series goes on in the source's next item, or the next run, and the rows stay held in
    /// the checkpointed state until later rows decide them.
    async fn flush_item(&self, context: &ItemContext) -> Result<Option<Payload>> {
        let _ = context;
        Ok(None)
    }

    /// Called once every batch of an item went through: drop per-item state here.
    fn finish_item(&self, item_id: &str) {
        let _ = item_id;
    }

    /// Where this processor keeps state (default [`StateScope::None`]).
    fn state_scope(&self) -> StateScope {
        StateScope::None
    }

    /// With [`StateScope::Source`]: the state kept for `source_id`, as JSON the engine
    /// checkpoints with each item (`None`: nothing yet). Must be exact: a float is kept
    /// bit for bit.
    fn save_state(&self, source_id: &str) -> Result<Option<serde_json::Value>> {
        let _ = source_id;
        Ok(None)
    }

    /// With [`StateScope::Source`]: replaces the state of `source_id` with one
    /// [`save_state`](Self::save_state) returned, or clears it (`None`).
    fn restore_state(&self, source_id: &str, state: Option<serde_json::Value>) -> Result<()> {
        let _ = (source_id, state);
        Ok(())
    }

    /// Processes several inputs; one result per input, in order.
    async fn process_batch(&self, inputs: Vec<Payload>) -> Vec<Result<Payload>> {
        let mut out = Vec::with_capacity(inputs.len());
        for input in inputs {
            out.push(self.process(input).await);
        }
        out
    }
}
