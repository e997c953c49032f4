//! What every stage of one run shares: the parts, the counters, and how to stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::engine::counters::{EngineCounters, add};
use crate::engine::dead_letter::{DeadLetter, DeadLetterSink};
use crate::engine::store_stage::ItemKey;
use crate::error::Error;
use crate::error_handler::{ErrorDecision, ErrorHandler};
use crate::event_emitter::EventEmitter;
use crate::models::{ErrorInfo, EventType, SystemEvent};
use crate::pipeline::Pipeline;
use crate::storage_backend::StorageBackend;
use crate::sync::lock;

/// The parts and state of one run, shared by its tasks.
pub(crate) struct RunContext {
    pub(crate) pipeline_name: String,
    pub(crate) pipeline: Option<Arc<dyn Pipeline>>,
    pub(crate) store: Arc<dyn StorageBackend>,
    pub(crate) dead_letters: Arc<dyn DeadLetterSink>,
    pub(crate) errors: Arc<dyn ErrorHandler>,
    pub(crate) events: Arc<dyn EventEmitter>,
    pub(crate) counters: Arc<EngineCounters>,
    /// Cancelled on a stop request or an abort: stop reading, drain, flush.
    pub(crate) stop: CancellationToken,
    pub(crate) run_id: Uuid,
    aborted: AtomicBool,
    abort_reason: Mutex<Option<String>>,
}

/// What to do after a failure, once the handler has decided (and any retry delay has passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    Retry,
    Skip,
    DeadLetter,
    Abort,
}

impl RunContext {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        pipeline_name: String,
        pipeline: Option<Arc<dyn Pipeline>>,
        store: Arc<dyn StorageBackend>,
        dead_letters: Arc<dyn DeadLetterSink>,
        errors: Arc<dyn ErrorHandler>,
        events: Arc<dyn EventEmitter>,
        counters: Arc<EngineCounters>,
        stop: CancellationToken,
    ) -> Self {
        Self {
            pipeline_name,
            pipeline,
            store,
            dead_letters,
            errors,
            events,
            counters,
            stop,
            run_id: Uuid::new_v4(),
            aborted: AtomicBool::new(false),
            abort_reason: Mutex::new(None),
        }
    }

    /// Stops the run because of `reason`; the first reason is kept.
    pub(crate) fn abort(&self, reason: &ErrorInfo) {
        if !self.aborted.swap(true, Ordering::SeqCst) {
            tracing::error!(error = %reason.message, operation = %reason.operation, "run aborted");
            *lock(&self.abort_reason) = Some(format!(
                "{} ({}{})",
                reason.message,
                reason.operation,
                reason
                    .component
                    .as_deref()
                    .map(|c| format!(" on {c}"))
                    .unwrap_or_default()
            ));
        }
        self.stop.cancel();
    }

    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }

    pub(crate) fn abort_reason(&self) -> Option<String> {
        lock(&self.abort_reason).clone()
    }

    pub(crate) async fn emit(&self, event_type: EventType, data: serde_json::Value) {
        let event = SystemEvent::new(event_type, &self.pipeline_name)
            .with_data(data)
            .with_correlation_id(self.run_id);
        if let Err(e) = self.events.emit(event).await {
            tracing::warn!(error = %e, "engine event not emitted");
        }
    }

    /// Hands a failure to the error handler and waits out a retry delay. A retry is refused
    /// once the run is aborted (the failure then counts as an abort).
    pub(crate) async fn decide(
        &self,
        error: &Error,
        component: &str,
        attempt: u32,
    ) -> (Next, ErrorInfo) {
        let mut info = ErrorInfo::from(error);
        if info.component.is_none() {
            info.component = Some(component.to_owned());
        }
        info = info.with_detail("attempt", attempt);
        self.emit(
            EventType::ErrorOccurred,
            serde_json::to_value(&info).unwrap_or_default(),
        )
        .await;
        let decision = if self.errors.can_handle(info.error_type) {
            self.errors.handle(&info, attempt).await
        } else {
            ErrorDecision::Abort
        };
        let next = match decision {
            ErrorDecision::Retry { .. } if self.is_aborted() => Next::Abort,
            ErrorDecision::Retry { after } => {
                add(&self.counters.retried, 1);
                tracing::debug!(?after, attempt, error = %info.message, "retrying");
                tokio::time::sleep(after).await;
                Next::Retry
            }
            ErrorDecision::Skip => Next::Skip,
            ErrorDecision::DeadLetter => Next::DeadLetter,
            ErrorDecision::Abort => Next::Abort,
        };
        (next, info)
    }

    /// Writes dead letters durably and counts their records as dead-lettered. A failed write
    /// aborts the run and returns `false`: the caller counts the records as failed.
    pub(crate) async fn dead_letter(&self, letters: &[DeadLetter]) -> bool {
        if letters.is_empty() {
            return true;
        }
        let records: u64 = letters.iter().map(|l| l.records).sum();
        match self.dead_letters.write(letters).await {
            Ok(()) => {
                add(&self.counters.dead_lettered, records);
                self.emit(
                    EventType::DeadLettered,
                    serde_json::json!({ "letters": letters.len(), "records": records }),
                )
                .await;
                true
            }
            Err(e) => {
                let info = ErrorInfo::from(&e.with_operation("dead_letter"));
                self.abort(&info);
                false
            }
        }
    }

    /// A dead letter about an item (add the row or batch with the `with_*` methods).
    pub(crate) fn letter(&self, item: &ItemKey, error: ErrorInfo) -> DeadLetter {
        DeadLetter::new(&self.pipeline_name, &item.source_id, &item.item_id, error)
            .with_version(item.version.as_str())
    }
}
