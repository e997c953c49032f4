//! [`DefaultCollectionManager`]: one tokio task per running source.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::collection_manager::{CollectionManager, SourceStatus};
use crate::data_source::DataSource;
use crate::error::{Error, Result};
use crate::error_handler::{ErrorDecision, ErrorHandler};
use crate::event_emitter::EventEmitter;
use crate::models::{CollectedData, CollectionStatus, ErrorInfo, EventType, SystemEvent};
use crate::runtime::{GaveUp, Retry, RetryObserver};
use crate::sync::lock;

/// What the manager asks a source's task to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    Run,
    Pause,
    Stop,
}

/// State shared between the manager and a source's task.
struct Shared {
    status: Mutex<CollectionStatus>,
    items: AtomicU64,
    errors: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Shared {
    fn status(&self) -> CollectionStatus {
        *lock(&self.status)
    }

    fn set_status(&self, status: CollectionStatus) {
        *lock(&self.status) = status;
    }
}

struct Entry {
    source: Arc<dyn DataSource>,
    shared: Arc<Shared>,
    control: Option<watch::Sender<Control>>,
    task: Option<JoinHandle<()>>,
}

/// A [`CollectionManager`] that runs each started source in its own tokio task and sends
/// every collected item into one bounded channel.
///
/// - **Backpressure**: when the channel is full the source's task waits; nothing is buffered
///   beyond the channel's capacity.
/// - **Control**: `pause` lets the in-flight `collect` finish, then waits; `stop` cancels the
///   in-flight `collect` or send, ends the task and disconnects the source before returning.
/// - **Errors**: a failing `collect` is counted and, with an [`ErrorHandler`] attached, retried
///   after the handler's delay, skipped, or ends the source in
///   [`CollectionStatus::Error`]; without one the source ends in `Error` at once.
/// - **Events** (with an emitter attached): `CollectionStart`, `DataCollected`,
///   `CollectionPaused`, `CollectionResumed`, `CollectionStopped`, `CollectionComplete`,
///   `CollectionError`, each with the source id as the event source.
///
/// Must be used inside a tokio runtime.
pub struct DefaultCollectionManager {
    sources: Mutex<BTreeMap<String, Entry>>,
    output: mpsc::Sender<CollectedData>,
    events: Option<Arc<dyn EventEmitter>>,
    error_handler: Option<Arc<dyn ErrorHandler>>,
}

impl std::fmt::Debug for DefaultCollectionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultCollectionManager")
            .field("sources", &lock(&self.sources).keys().collect::<Vec<_>>())
            .finish()
    }
}

impl DefaultCollectionManager {
    /// A manager that sends collected items into `output`.
    pub fn new(output: mpsc::Sender<CollectedData>) -> Self {
        Self {
            sources: Mutex::new(BTreeMap::new()),
            output,
            events: None,
            error_handler: None,
        }
    }

    /// A manager and the receiving end of a new channel of `capacity` items.
    ///
    /// A zero capacity is a configuration error.
    pub fn with_channel(capacity: usize) -> Result<(Self, mpsc::Receiver<CollectedData>)> {
        if capacity == 0 {
            return Err(Error::configuration(
                "the collection channel capacity must be at least 1",
            ));
        }
        let (sender, receiver) = mpsc::channel(capacity);
        Ok((Self::new(sender), receiver))
    }

    /// Publishes collection events on `events`.
    #[must_use]
    pub fn with_events(mut self, events: Arc<dyn EventEmitter>) -> Self {
        self.events = Some(events);
        self
    }

    /// Lets `handler` decide about collection failures.
    #[must_use]
    pub fn with_error_handler(mut self, handler: Arc<dyn ErrorHandler>) -> Self {
        self.error_handler = Some(handler);
        self
    }

    fn with_entry<T>(&self, source_id: &str, f: impl FnOnce(&mut Entry) -> Result<T>) -> Result<T> {
        let mut sources = lock(&self.sources);
        let entry = sources.get_mut(source_id).ok_or_else(|| {
            Error::not_found(format!("no source `{source_id}`")).with_component(source_id)
        })?;
        f(entry)
    }

    async fn emit(&self, event_type: EventType, source_id: &str) {
        emit(
            self.events.as_deref(),
            event_type,
            source_id,
            serde_json::Value::Null,
        )
        .await;
    }

    /// Sends `control` to a running or paused source, after checking its state.
    async fn control(
        &self,
        source_id: &str,
        operation: &str,
        allowed_from: CollectionStatus,
        control: Control,
        new_status: CollectionStatus,
        event: EventType,
    ) -> Result<()> {
        self.with_entry(source_id, |entry| {
            let status = entry.shared.status();
            if status != allowed_from {
                return Err(illegal(source_id, operation, status));
            }
            if let Some(sender) = &entry.control {
                sender.send_replace(control);
            }
            entry.shared.set_status(new_status);
            Ok(())
        })?;
        self.emit(event, source_id).await;
        Ok(())
    }
}

fn illegal(source_id: &str, operation: &str, status: CollectionStatus) -> Error {
    Error::invalid_state(format!(
        "cannot {operation} source `{source_id}` while it is {status:?}"
    ))
    .with_component(source_id)
    .with_operation(operation)
}

async fn emit(
    events: Option<&dyn EventEmitter>,
    event_type: EventType,
    source_id: &str,
    data: serde_json::Value,
) {
    if let Some(events) = events
        && let Err(e) = events
            .emit(SystemEvent::new(event_type, source_id).with_data(data))
            .await
    {
        tracing::warn!(error = %e, source_id, "collection event not emitted");
    }
}

/// Resolves once the control says stop (or the manager is gone).
async fn stopped(control: &mut watch::Receiver<Control>) {
    while *control.borrow_and_update() != Control::Stop {
        if control.changed().await.is_err() {
            return;
        }
    }
}

/// The body of one source's task.
struct Collector {
    source: Arc<dyn DataSource>,
    shared: Arc<Shared>,
    control: watch::Receiver<Control>,
    output: mpsc::Sender<CollectedData>,
    events: Option<Arc<dyn EventEmitter>>,
    error_handler: Option<Arc<dyn ErrorHandler>>,
}

impl Collector {
    async fn run(mut self) {
        let source_id = self.source.source_id().to_owned();
        loop {
            let control = *self.control.borrow_and_update();
            match control {
                Control::Stop => break,
                Control::Pause => {
                    if self.control.changed().await.is_err() {
                        break;
                    }
                    continue;
                }
                Control::Run => {}
            }
            let observer = CollectObserver {
                shared: &self.shared,
                events: self.events.as_deref(),
                source_id: &source_id,
            };
            let collect = collect_with_retries(
                self.source.as_ref(),
                self.error_handler.as_deref(),
                &observer,
                &source_id,
            );
            let collected = tokio::select! {
                biased;
                () = stopped(&mut self.control) => break,
                collected = collect => collected,
            };
            match collected {
                Ok(Some(item)) => {
                    let data =
                        serde_json::json!({ "item_id": item.id, "bytes": item.raw_data.len() });
                    tokio::select! {
                        biased;
                        () = stopped(&mut self.control) => break,
                        sent = self.output.send(item) => if sent.is_err() {
                            tracing::warn!(source_id, "collection output closed; stopping the source");
                            self.shared.set_status(CollectionStatus::Stopped);
                            break;
                        },
                    }
                    self.shared.items.fetch_add(1, Ordering::Relaxed);
                    emit(
                        self.events.as_deref(),
                        EventType::DataCollected,
                        &source_id,
                        data,
                    )
                    .await;
                }
                Ok(None) => {
                    self.shared.set_status(CollectionStatus::Completed);
                    emit(
                        self.events.as_deref(),
                        EventType::CollectionComplete,
                        &source_id,
                        serde_json::Value::Null,
                    )
                    .await;
                    break;
                }
                // A failed collect has no item to dead-letter: it is skipped, counted.
                Err(gave_up) if gave_up.decision != ErrorDecision::Abort => {}
                Err(gave_up) => {
                    tracing::error!(source_id, error = %gave_up.info.message, "source failed");
                    self.shared.set_status(CollectionStatus::Error);
                    break;
                }
            }
        }
        if let Err(e) = self.source.disconnect().await {
            tracing::warn!(source_id, error = %e, "disconnect failed");
        }
    }
}

#[async_trait]
impl CollectionManager for DefaultCollectionManager {
    async fn register_source(&self, source: Arc<dyn DataSource>) -> Result<()> {
        let id = source.source_id().to_owned();
        if id.trim().is_empty() {
            return Err(Error::configuration("a source id must not be empty")
                .with_operation("register_source"));
        }
        let mut sources = lock(&self.sources);
        if sources.contains_key(&id) {
            return Err(
                Error::invalid_state(format!("source `{id}` is already registered"))
                    .with_component(&id)
                    .with_operation("register_source"),
            );
        }
        let shared = Arc::new(Shared {
            status: Mutex::new(CollectionStatus::Idle),
            items: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            last_error: Mutex::new(None),
        });
        sources.insert(
            id,
            Entry {
                source,
                shared,
                control: None,
                task: None,
            },
        );
        Ok(())
    }

    async fn unregister_source(&self, source_id: &str) -> Result<()> {
        let status = self.with_entry(source_id, |entry| Ok(entry.shared.status()))?;
        if matches!(status, CollectionStatus::Running | CollectionStatus::Paused) {
            self.stop_collection(source_id).await?;
        }
        lock(&self.sources).remove(source_id);
        Ok(())
    }

    async fn start_collection(&self, source_id: &str) -> Result<()> {
        let (source, shared) = self.with_entry(source_id, |entry| {
            let status = entry.shared.status();
            if matches!(status, CollectionStatus::Running | CollectionStatus::Paused) {
                return Err(illegal(source_id, "start", status));
            }
            // Claim the source before the await below, so a concurrent start fails.
            entry.shared.set_status(CollectionStatus::Running);
            Ok((entry.source.clone(), entry.shared.clone()))
        })?;
        if let Err(e) = source.connect().await {
            shared.set_status(CollectionStatus::Error);
            *lock(&shared.last_error) = Some(e.to_string());
            return Err(e);
        }
        let (control, receiver) = watch::channel(Control::Run);
        let collector = Collector {
            source,
            shared,
            control: receiver,
            output: self.output.clone(),
            events: self.events.clone(),
            error_handler: self.error_handler.clone(),
        };
        let task = tokio::spawn(collector.run());
        self.with_entry(source_id, |entry| {
            entry.control = Some(control);
            entry.task = Some(task);
            Ok(())
        })?;
        self.emit(EventType::CollectionStart, source_id).await;
        Ok(())
    }

    async fn pause_collection(&self, source_id: &str) -> Result<()> {
        self.control(
            source_id,
            "pause",
            CollectionStatus::Running,
            Control::Pause,
            CollectionStatus::Paused,
            EventType::CollectionPaused,
        )
        .await
    }

    async fn resume_collection(&self, source_id: &str) -> Result<()> {
        self.control(
            source_id,
            "resume",
            CollectionStatus::Paused,
            Control::Run,
            CollectionStatus::Running,
            EventType::CollectionResumed,
        )
        .await
    }

    async fn stop_collection(&self, source_id: &str) -> Result<()> {
        let task = self.with_entry(source_id, |entry| {
            let status = entry.shared.status();
            if !matches!(status, CollectionStatus::Running | CollectionStatus::Paused)
                && entry.task.is_none()
            {
                return Err(illegal(source_id, "stop", status));
            }
            if let Some(control) = &entry.control {
                control.send_replace(Control::Stop);
            }
            Ok(entry.task.take())
        })?;
        if let Some(task) = task
            && let Err(e) = task.await
        {
            tracing::error!(source_id, error = %e, "collection task panicked");
        }
        self.with_entry(source_id, |entry| {
            entry.control = None;
            if !matches!(
                entry.shared.status(),
                CollectionStatus::Completed | CollectionStatus::Error
            ) {
                entry.shared.set_status(CollectionStatus::Stopped);
            }
            Ok(())
        })?;
        self.emit(EventType::CollectionStopped, source_id).await;
        Ok(())
    }

    async fn status(&self, source_id: &str) -> Result<SourceStatus> {
        self.with_entry(source_id, |entry| {
            Ok(source_status(source_id, &entry.shared))
        })
    }

    async fn list_sources(&self) -> Vec<SourceStatus> {
        lock(&self.sources)
            .iter()
            .map(|(id, entry)| source_status(id, &entry.shared))
            .collect()
    }
}

fn source_status(source_id: &str, shared: &Shared) -> SourceStatus {
    SourceStatus {
        source_id: source_id.to_owned(),
        status: shared.status(),
        items_collected: shared.items.load(Ordering::Relaxed),
        errors: shared.errors.load(Ordering::Relaxed),
        last_error: lock(&shared.last_error).clone(),
    }
}

/// One `collect`, retried as the handler decides (no handler: the first failure aborts).
async fn collect_with_retries(
    source: &dyn DataSource,
    handler: Option<&dyn ErrorHandler>,
    observer: &CollectObserver<'_>,
    source_id: &str,
) -> std::result::Result<Option<CollectedData>, GaveUp> {
    let handler = handler.unwrap_or(&AbortOnError);
    Retry::new(handler, source_id)
        .observed_by(observer)
        .run(&mut (source,), |state, _| {
            Box::pin(async move {
                let (source,) = *state;
                source
                    .collect()
                    .await
                    .map_err(|e| e.with_component(source.source_id()))
            })
        })
        .await
}

/// Counts and reports every failed collect.
struct CollectObserver<'a> {
    shared: &'a Shared,
    events: Option<&'a dyn EventEmitter>,
    source_id: &'a str,
}

#[async_trait]
impl RetryObserver for CollectObserver<'_> {
    async fn failed(&self, info: &ErrorInfo, _decision: &ErrorDecision) {
        self.shared.errors.fetch_add(1, Ordering::Relaxed);
        *lock(&self.shared.last_error) = Some(info.message.clone());
        let data = serde_json::to_value(info).unwrap_or_default();
        emit(
            self.events,
            EventType::CollectionError,
            self.source_id,
            data,
        )
        .await;
    }
}

/// The handler of a manager without one: every failure stops the source.
struct AbortOnError;

#[async_trait]
impl ErrorHandler for AbortOnError {
    fn can_handle(&self, _error_type: crate::models::ErrorType) -> bool {
        true
    }

    async fn handle(&self, _error: &ErrorInfo, _attempt: u32) -> ErrorDecision {
        ErrorDecision::Abort
    }
}
