//! [`Processor`]: one step that transforms, validates or enriches data.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::models::Payload;

/// Where a payload comes from when the engine processes a source item batch by batch.
///
/// Stateful processors (a rolling mean over consecutive rows) keep their state per
/// `item_id` and drop it in [`Processor::finish_item`]; the engine runs the batches of one item
/// in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemContext {
    /// The source the item belongs to.
    pub source_id: String,
    /// The item's stable id (a file path, an object key).
    pub item_id: String,
    /// The position of this batch within the item, from 0.
    pub batch_index: u64,
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

    /// Called once every batch of an item went through: drop per-item state here.
    fn finish_item(&self, item_id: &str) {
        let _ = item_id;
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
