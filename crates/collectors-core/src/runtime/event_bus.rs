//! [`EventBus`]: the in-process [`EventEmitter`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::error::{Error, Result};
use crate::event_emitter::{EventEmitter, EventFilter, Subscription, SubscriptionId};
use crate::models::SystemEvent;
use crate::sync::{read, write};

/// Events buffered per subscriber before new ones are dropped for it.
pub const DEFAULT_SUBSCRIBER_CAPACITY: usize = 1024;

struct Subscriber {
    filter: EventFilter,
    sender: mpsc::Sender<SystemEvent>,
    dropped: Arc<AtomicU64>,
}

/// Counters of an [`EventBus`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventBusStats {
    /// Events emitted.
    pub emitted: u64,
    /// Deliveries made (one event to one subscriber).
    pub delivered: u64,
    /// Deliveries dropped because a subscriber's buffer was full.
    pub dropped: u64,
    /// Live subscriptions.
    pub subscribers: usize,
}

/// An in-process publish/subscribe bus.
///
/// Each subscriber has its own bounded buffer ([`DEFAULT_SUBSCRIBER_CAPACITY`] by default).
/// `emit` only tries to enqueue: when a subscriber's buffer is full, that subscriber loses the
/// event, the loss is counted (on its [`Subscription::dropped`] and in [`EventBus::stats`]),
/// and the emitter carries on. Slow subscribers lose the newest events, never block the run.
/// Subscriptions whose stream was dropped are removed at the next emit.
///
/// ```
/// use collectors_core::{EventBus, EventEmitter, EventFilter, EventType, SystemEvent};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let bus = EventBus::new();
/// let mut done = bus.subscribe(EventFilter::all().event_type(EventType::CollectionComplete)).await?;
///
/// bus.emit(SystemEvent::new(EventType::DataCollected, "s1")).await?;
/// bus.emit(SystemEvent::new(EventType::CollectionComplete, "s1")).await?;
///
/// let event = done.recv().await.unwrap();
/// assert_eq!(event.event_type, EventType::CollectionComplete);
/// # Ok::<(), collectors_core::Error>(())
/// # }).unwrap();
/// ```
pub struct EventBus {
    subscribers: RwLock<HashMap<SubscriptionId, Subscriber>>,
    capacity: usize,
    emitted: AtomicU64,
    delivered: AtomicU64,
    dropped: AtomicU64,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("capacity", &self.capacity)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// A bus whose subscribers buffer [`DEFAULT_SUBSCRIBER_CAPACITY`] events each.
    pub fn new() -> Self {
        Self::build(DEFAULT_SUBSCRIBER_CAPACITY)
    }

    /// A bus whose subscribers buffer `capacity` events each; zero is a configuration error.
    pub fn with_capacity(capacity: usize) -> Result<Self> {
        if capacity == 0 {
            return Err(
                Error::configuration("event bus subscriber capacity must be at least 1")
                    .with_component("event-bus"),
            );
        }
        Ok(Self::build(capacity))
    }

    fn build(capacity: usize) -> Self {
        Self {
            subscribers: RwLock::new(HashMap::new()),
            capacity,
            emitted: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// The bus's counters.
    pub fn stats(&self) -> EventBusStats {
        EventBusStats {
            emitted: self.emitted.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            subscribers: self.read().len(),
        }
    }

    /// Publishes an event without awaiting; what [`EventEmitter::emit`] does.
    pub fn publish(&self, event: SystemEvent) {
        self.emitted.fetch_add(1, Ordering::Relaxed);
        let mut closed = Vec::new();
        for (id, subscriber) in self.read().iter() {
            if subscriber.sender.is_closed() {
                closed.push(*id);
                continue;
            }
            if !subscriber.filter.matches(&event) {
                continue;
            }
            match subscriber.sender.try_send(event.clone()) {
                Ok(()) => {
                    self.delivered.fetch_add(1, Ordering::Relaxed);
                }
                Err(TrySendError::Full(_)) => {
                    subscriber.dropped.fetch_add(1, Ordering::Relaxed);
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
                Err(TrySendError::Closed(_)) => closed.push(*id),
            }
        }
        if !closed.is_empty() {
            let mut subscribers = self.write();
            for id in closed {
                subscribers.remove(&id);
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<SubscriptionId, Subscriber>> {
        read(&self.subscribers)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<SubscriptionId, Subscriber>> {
        write(&self.subscribers)
    }
}

#[async_trait]
impl EventEmitter for EventBus {
    async fn emit(&self, event: SystemEvent) -> Result<()> {
        self.publish(event);
        Ok(())
    }

    async fn subscribe(&self, filter: EventFilter) -> Result<Subscription> {
        let (sender, receiver) = mpsc::channel(self.capacity);
        let id = SubscriptionId::new();
        let dropped = Arc::new(AtomicU64::new(0));
        self.write().insert(
            id,
            Subscriber {
                filter,
                sender,
                dropped: dropped.clone(),
            },
        );
        Ok(Subscription::new(id, receiver, dropped))
    }

    async fn unsubscribe(&self, id: SubscriptionId) -> Result<bool> {
        Ok(self.write().remove(&id).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::EventType;
    use futures::StreamExt;

    #[tokio::test]
    async fn filtered_subscriptions_receive_only_their_events() {
        let bus = EventBus::new();
        let mut completes = bus
            .subscribe(EventFilter::all().event_type(EventType::CollectionComplete))
            .await
            .unwrap();
        let mut from_b = bus.subscribe(EventFilter::all().source("b")).await.unwrap();
        let mut everything = bus.subscribe(EventFilter::all()).await.unwrap();

        for (t, s) in [
            (EventType::DataCollected, "a"),
            (EventType::CollectionComplete, "a"),
            (EventType::DataCollected, "b"),
            (EventType::CollectionComplete, "b"),
        ] {
            bus.emit(SystemEvent::new(t, s)).await.unwrap();
        }
        bus.unsubscribe(completes.id()).await.unwrap();
        bus.unsubscribe(from_b.id()).await.unwrap();
        bus.unsubscribe(everything.id()).await.unwrap();

        let got: Vec<_> = (&mut completes)
            .map(|e| (e.event_type, e.source))
            .collect()
            .await;
        assert_eq!(
            got,
            vec![
                (EventType::CollectionComplete, "a".into()),
                (EventType::CollectionComplete, "b".into())
            ]
        );
        let got: Vec<_> = (&mut from_b).map(|e| e.event_type).collect().await;
        assert_eq!(
            got,
            vec![EventType::DataCollected, EventType::CollectionComplete]
        );
        assert_eq!((&mut everything).count().await, 4);
    }

    #[tokio::test]
    async fn a_slow_subscriber_does_not_stall_the_emitter_and_its_losses_are_counted() {
        let bus = EventBus::with_capacity(4).unwrap();
        // Never read: the slowest possible subscriber.
        let stalled = bus.subscribe(EventFilter::all()).await.unwrap();
        let mut reader = bus.subscribe(EventFilter::all()).await.unwrap();

        // On a current-thread runtime a blocked emit would deadlock this loop: nobody else runs.
        for i in 0..4 {
            bus.emit(SystemEvent::new(EventType::Custom, format!("e{i}")))
                .await
                .unwrap();
            assert_eq!(reader.recv().await.unwrap().source, format!("e{i}"));
        }
        for i in 4..100 {
            bus.emit(SystemEvent::new(EventType::Custom, format!("e{i}")))
                .await
                .unwrap();
            assert_eq!(reader.recv().await.unwrap().source, format!("e{i}"));
        }
        assert_eq!(stalled.dropped(), 96);
        assert_eq!(reader.dropped(), 0);
        let stats = bus.stats();
        assert_eq!(
            (stats.emitted, stats.delivered, stats.dropped),
            (100, 104, 96)
        );
    }

    #[tokio::test]
    async fn dropped_subscriptions_are_removed_and_unsubscribe_reports_liveness() {
        let bus = EventBus::new();
        let sub = bus.subscribe(EventFilter::all()).await.unwrap();
        let id = sub.id();
        drop(sub);
        bus.emit(SystemEvent::new(EventType::Custom, "x"))
            .await
            .unwrap();
        assert_eq!(bus.stats().subscribers, 0);
        assert!(!bus.unsubscribe(id).await.unwrap());
        assert!(EventBus::with_capacity(0).is_err());
    }
}
