//! [`ProcessingResult`]: what running a processor or pipeline on one item produced.

use std::time::Duration;

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::models::{ErrorInfo, Metadata, Payload};

/// What one step of a pipeline did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    /// The processor returned output.
    Succeeded,
    /// The processor rejected the input or failed (a panic included).
    Failed,
    /// The step did not run because an earlier step failed.
    NotRun,
}

/// The timing and outcome of one pipeline step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTiming {
    /// The processor's name.
    pub processor: String,
    /// Time spent in the step (zero when it did not run).
    pub duration: Duration,
    /// What happened.
    pub outcome: StepOutcome,
}

/// Rows a processor refused, each with the reason, while the others went on (see
/// [`Processor::process_rows`](crate::Processor::process_rows)). The engine dead-letters
/// them: one [`DeadLetter`](crate::DeadLetter) per step and batch, holding the rows as they
/// reached the step and the reasons, in row order, in its error's `reasons` detail.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Int64Array, RecordBatch};
/// use collectors_core::RejectedRows;
///
/// let rows = RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![-1, 900])) as _)])
///     .unwrap();
/// let rejected = RejectedRows::new("validate", rows, vec!["n: -1 < 0".into(), "n: 900 > 100".into()])?;
/// assert_eq!(rejected.len(), 2);
/// assert!(RejectedRows::new("validate", rejected.rows().clone(), vec![]).is_err());
/// # Ok::<(), collectors_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "RejectedRowsRepr", try_from = "RejectedRowsRepr")]
pub struct RejectedRows {
    processor: String,
    rows: RecordBatch,
    reasons: Vec<String>,
}

/// The serialized form of [`RejectedRows`]: the rows as a table payload (Arrow IPC).
#[derive(Serialize, Deserialize)]
struct RejectedRowsRepr {
    processor: String,
    rows: Payload,
    reasons: Vec<String>,
}

impl From<RejectedRows> for RejectedRowsRepr {
    fn from(r: RejectedRows) -> Self {
        Self {
            processor: r.processor,
            rows: Payload::Table(r.rows),
            reasons: r.reasons,
        }
    }
}

impl TryFrom<RejectedRowsRepr> for RejectedRows {
    type Error = crate::Error;

    fn try_from(r: RejectedRowsRepr) -> crate::Result<Self> {
        match r.rows {
            Payload::Table(rows) => RejectedRows::new(r.processor, rows, r.reasons),
            other => Err(crate::Error::processing(format!(
                "rejected rows must be a table, not {:?}",
                other.kind()
            ))),
        }
    }
}

impl RejectedRows {
    /// The `rows` `processor` refused, with one reason per row; an error when the counts
    /// differ.
    pub fn new(
        processor: impl Into<String>,
        rows: RecordBatch,
        reasons: Vec<String>,
    ) -> crate::Result<Self> {
        if rows.num_rows() != reasons.len() {
            return Err(crate::Error::processing(format!(
                "{} rejected rows but {} reasons",
                rows.num_rows(),
                reasons.len()
            )));
        }
        Ok(Self {
            processor: processor.into(),
            rows,
            reasons,
        })
    }

    /// The processor that refused them.
    pub fn processor(&self) -> &str {
        &self.processor
    }

    /// The rows, as they reached the processor.
    pub fn rows(&self) -> &RecordBatch {
        &self.rows
    }

    /// Why each row was refused, in row order.
    pub fn reasons(&self) -> &[String] {
        &self.reasons
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.reasons.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// The result of processing one item: the output, or the failure, with timings.
///
/// ```
/// use std::time::Duration;
/// use collectors_core::{Payload, ProcessingResult};
///
/// let ok = ProcessingResult::succeeded(Payload::Json(serde_json::json!(42)), Duration::from_millis(3));
/// assert!(ok.success);
/// assert_eq!(ok.processed_data, Some(Payload::Json(serde_json::json!(42))));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessingResult {
    /// Whether every step succeeded.
    pub success: bool,
    /// The output of the last step; `None` when processing failed, except in a pipeline
    /// without stop-on-failure, where it is the output of the steps that succeeded.
    pub processed_data: Option<Payload>,
    /// The first failure, when there was one.
    pub error: Option<ErrorInfo>,
    /// Total time spent.
    pub processing_time: Duration,
    /// Per-step timings, in pipeline order (one entry for a single processor).
    #[serde(default)]
    pub step_timings: Vec<StepTiming>,
    /// Anything the processors reported.
    #[serde(default)]
    pub metadata: Metadata,
    /// Rows the steps refused while the rest went on (see [`RejectedRows`]), in step order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<RejectedRows>,
}

impl ProcessingResult {
    /// A success with this output.
    pub fn succeeded(output: Payload, processing_time: Duration) -> Self {
        Self {
            success: true,
            processed_data: Some(output),
            error: None,
            processing_time,
            step_timings: Vec::new(),
            metadata: Metadata::new(),
            rejected: Vec::new(),
        }
    }

    /// A failure with this error.
    pub fn failed(error: ErrorInfo, processing_time: Duration) -> Self {
        Self {
            success: false,
            processed_data: None,
            error: Some(error),
            processing_time,
            step_timings: Vec::new(),
            metadata: Metadata::new(),
            rejected: Vec::new(),
        }
    }
}
