//! [`MockEventEmitter`].

use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use collectors_core::{
    EventBus, EventEmitter, EventFilter, EventType, Result, Subscription, SubscriptionId,
    SystemEvent,
};

use crate::control::MockControl;

/// An [`EventEmitter`] that records every emitted event and delivers them to subscribers
/// like the real [`EventBus`] does.
///
/// ```
/// use collectors_core::{EventEmitter, EventType, SystemEvent};
/// use collectors_mocks::MockEventEmitter;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let emitter = MockEventEmitter::new();
/// emitter.emit(SystemEvent::new(EventType::CollectionComplete, "collector")).await.unwrap();
/// assert_eq!(emitter.emitted_of(EventType::CollectionComplete).len(), 1);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MockEventEmitter {
    bus: EventBus,
    emitted: Mutex<Vec<SystemEvent>>,
    control: MockControl,
}

impl MockEventEmitter {
    /// An emitter with no subscribers and nothing recorded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event emitted so far.
    pub fn emitted(&self) -> Vec<SystemEvent> {
        self.lock().clone()
    }

    /// The emitted events of one type.
    pub fn emitted_of(&self, event_type: EventType) -> Vec<SystemEvent> {
        self.lock()
            .iter()
            .filter(|e| e.event_type == event_type)
            .cloned()
            .collect()
    }

    /// The handle that injects failures and latency and records calls.
    pub fn control(&self) -> MockControl {
        self.control.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<SystemEvent>> {
        self.emitted.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl EventEmitter for MockEventEmitter {
    async fn emit(&self, event: SystemEvent) -> Result<()> {
        self.control
            .enter("emit", format!("{:?}", event.event_type))
            .await?;
        self.lock().push(event.clone());
        self.bus.emit(event).await
    }

    async fn subscribe(&self, filter: EventFilter) -> Result<Subscription> {
        self.control.enter("subscribe", "").await?;
        self.bus.subscribe(filter).await
    }

    async fn unsubscribe(&self, id: SubscriptionId) -> Result<bool> {
        self.control.enter("unsubscribe", id.0.to_string()).await?;
        self.bus.unsubscribe(id).await
    }
}
