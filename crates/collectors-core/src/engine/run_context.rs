//! What every stage of one run shares: the parts, the counters, and how to stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::engine::counters::{EngineCounters, add};
use crate::engine::dead_letter::{DeadLetter, DeadLetterSink};
use crate::engine::item_key::ItemKey;
use crate::error_handler::{ErrorDecision, ErrorHandler};
use crate::event_emitter::EventEmitter;
use crate::models::{ErrorInfo, EventType, SystemEvent};
use crate::pipeline::Pipeline;
use crate::runtime::{GaveUp, Retry, RetryObserver};
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

    /// The retry loop for failures of `component` in this run: events, the retry counter,
    /// no retry once the run is aborting.
    pub(crate) fn retry<'a>(&'a self, component: &'a str) -> Retry<'a> {
        Retry::new(self.errors.as_ref(), component).observed_by(self)
    }

    /// Follows a final decision of the retry loop that is not a dead letter: `Skip` or
    /// `Abort`. An abort while the run is merely stopping (cancelled) does not abort it.
    pub(crate) fn gave_up_aborts(&self, gave_up: &GaveUp) -> bool {
        if gave_up.decision == ErrorDecision::Abort {
            if !self.stop.is_cancelled() {
                self.abort(&gave_up.info);
            }
            return true;
        }
        false
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

#[async_trait::async_trait]
impl RetryObserver for RunContext {
    async fn failed(&self, info: &ErrorInfo, decision: &ErrorDecision) {
        self.emit(
            EventType::ErrorOccurred,
            serde_json::to_value(info).unwrap_or_default(),
        )
        .await;
        if matches!(decision, ErrorDecision::Retry { .. }) {
            add(&self.counters.retried, 1);
        }
    }

    fn may_retry(&self) -> bool {
        !self.is_aborted()
    }
}
