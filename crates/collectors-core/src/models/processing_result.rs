//! [`ProcessingResult`]: what running a processor or pipeline on one item produced.

use std::time::Duration;

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
        }
    }
}
