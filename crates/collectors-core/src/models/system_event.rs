//! [`SystemEvent`] and [`EventType`]: what the event bus carries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What happened. Subscribers filter on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventType {
    /// A source started collecting.
    CollectionStart,
    /// A source was paused.
    CollectionPaused,
    /// A paused source resumed.
    CollectionResumed,
    /// A source was stopped.
    CollectionStopped,
    /// A source finished (exhausted) or a collection round completed.
    CollectionComplete,
    /// A source failed.
    CollectionError,
    /// One item was collected.
    DataCollected,
    /// Processing of an item started.
    ProcessingStart,
    /// Processing of an item completed.
    ProcessingComplete,
    /// Processing of an item failed.
    ProcessingError,
    /// A record was stored.
    StorageComplete,
    /// A store failed.
    StorageError,
    /// A record was dead-lettered.
    DeadLettered,
    /// A task was created.
    TaskCreated,
    /// A task reported progress.
    TaskProgress,
    /// A task completed.
    TaskCompleted,
    /// A task failed.
    TaskFailed,
    /// A task was cancelled.
    TaskCancelled,
    /// An error was handed to the error handler.
    ErrorOccurred,
    /// Anything an application emits itself.
    Custom,
}

/// One event on the [`EventEmitter`](crate::EventEmitter).
///
/// ```
/// use collectors_core::{EventType, SystemEvent};
///
/// let event = SystemEvent::new(EventType::CollectionComplete, "collector")
///     .with_data(serde_json::json!({"items": 100}));
/// assert_eq!(event.data["items"], 100);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemEvent {
    /// Unique id of the event.
    pub id: Uuid,
    /// What happened.
    pub event_type: EventType,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// Who emitted it (a source id, a pipeline name, `"task-tracker"` …).
    pub source: String,
    /// Event-specific data.
    #[serde(default)]
    pub data: serde_json::Value,
    /// Links events that belong to one run or item.
    #[serde(default)]
    pub correlation_id: Option<Uuid>,
}

impl SystemEvent {
    /// A new event stamped now, with no data.
    pub fn new(event_type: EventType, source: impl Into<String>) -> Self {
        Self {
            id: Uuid::new_v4(),
            event_type,
            timestamp: Utc::now(),
            source: source.into(),
            data: serde_json::Value::Null,
            correlation_id: None,
        }
    }

    /// Sets the data.
    #[must_use]
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }

    /// Sets the correlation id.
    #[must_use]
    pub fn with_correlation_id(mut self, id: Uuid) -> Self {
        self.correlation_id = Some(id);
        self
    }
}
