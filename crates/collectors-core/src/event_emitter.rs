//! [`EventEmitter`]: publish and subscribe to [`SystemEvent`]s.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::error::Result;
use crate::models::{EventType, SystemEvent};

/// Which events a subscription receives: every set field must match; an empty filter receives
/// everything.
///
/// ```
/// use collectors_core::{EventFilter, EventType, SystemEvent};
///
/// let filter = EventFilter::all().event_type(EventType::CollectionComplete).source("sensor-1");
/// assert!(filter.matches(&SystemEvent::new(EventType::CollectionComplete, "sensor-1")));
/// assert!(!filter.matches(&SystemEvent::new(EventType::CollectionComplete, "sensor-2")));
/// assert!(!filter.matches(&SystemEvent::new(EventType::DataCollected, "sensor-1")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventFilter {
    /// Only these event types.
    #[serde(default)]
    pub event_types: Option<HashSet<EventType>>,
    /// Only events from these sources.
    #[serde(default)]
    pub sources: Option<HashSet<String>>,
}

impl EventFilter {
    /// A filter that receives every event.
    pub fn all() -> Self {
        Self::default()
    }

    /// Adds an accepted event type.
    #[must_use]
    pub fn event_type(mut self, event_type: EventType) -> Self {
        self.event_types
            .get_or_insert_with(HashSet::new)
            .insert(event_type);
        self
    }

    /// Adds an accepted source.
    #[must_use]
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.sources
            .get_or_insert_with(HashSet::new)
            .insert(source.into());
        self
    }

    /// Whether an event passes the filter.
    pub fn matches(&self, event: &SystemEvent) -> bool {
        self.event_types
            .as_ref()
            .is_none_or(|t| t.contains(&event.event_type))
            && self
                .sources
                .as_ref()
                .is_none_or(|s| s.contains(&event.source))
    }
}

/// The id of a subscription, for [`EventEmitter::unsubscribe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubscriptionId(pub Uuid);

impl SubscriptionId {
    /// A fresh id.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl Default for SubscriptionId {
    fn default() -> Self {
        Self::new()
    }
}

/// A live subscription: a [`Stream`] of the events that pass its filter.
///
/// The stream ends when the subscription is unsubscribed or the emitter is dropped. Each
/// subscription has a bounded buffer; when it is full because the subscriber is slow, new
/// events for it are dropped (the emitter never waits) and counted in
/// [`dropped`](Self::dropped).
#[derive(Debug)]
pub struct Subscription {
    id: SubscriptionId,
    receiver: mpsc::Receiver<SystemEvent>,
    dropped: Arc<AtomicU64>,
}

impl Subscription {
    /// A subscription reading from `receiver`; `dropped` is the counter the emitter increments
    /// when the buffer is full. Emitter implementations build subscriptions with this.
    pub fn new(
        id: SubscriptionId,
        receiver: mpsc::Receiver<SystemEvent>,
        dropped: Arc<AtomicU64>,
    ) -> Self {
        Self {
            id,
            receiver,
            dropped,
        }
    }

    /// The id to unsubscribe with.
    pub fn id(&self) -> SubscriptionId {
        self.id
    }

    /// How many events this subscriber lost because its buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The next event; `None` once the subscription has ended.
    pub async fn recv(&mut self) -> Option<SystemEvent> {
        self.receiver.recv().await
    }

    /// The next event if one is buffered, without waiting.
    pub fn try_recv(&mut self) -> Option<SystemEvent> {
        self.receiver.try_recv().ok()
    }
}

impl Stream for Subscription {
    type Item = SystemEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SystemEvent>> {
        self.receiver.poll_recv(cx)
    }
}

/// Publishes [`SystemEvent`]s to filtered subscribers.
///
/// # Contract
///
/// - `emit` never waits for a subscriber: a slow subscriber loses events (counted on its
///   [`Subscription`]) instead of slowing the emitter.
/// - A subscriber receives exactly the events emitted after it subscribed that pass its
///   filter, in emission order (minus the ones it dropped).
/// - `unsubscribe` ends the subscription's stream and returns whether the id was live.
#[doc(alias = "IEventEmitter")]
#[async_trait]
pub trait EventEmitter: Send + Sync {
    /// Publishes one event.
    async fn emit(&self, event: SystemEvent) -> Result<()>;

    /// Subscribes to the events that pass `filter`.
    async fn subscribe(&self, filter: EventFilter) -> Result<Subscription>;

    /// Ends a subscription.
    async fn unsubscribe(&self, id: SubscriptionId) -> Result<bool>;
}
