//! [`ConnectorManager`]: how deadpool makes, checks and retires the connectors of one pool.

use std::sync::Arc;

use collectors_core::{Connector, Error, Result};
use deadpool::managed::{Manager, Metrics, RecycleError, RecycleResult};

use tokio::time::Instant;

use super::PoolConfig;
use super::counters::PoolCounters;

/// Builds one (not yet connected) connector of a pool.
pub type ConnectorBuilder = dyn Fn() -> Result<Arc<dyn Connector>> + Send + Sync;

/// One pooled connector, when it was made and when it was last given back (tokio's clock,
/// so that tests can drive it; deadpool's own `Metrics::recycled` is when it was last
/// *handed out*, not returned).
pub(crate) struct Slot {
    pub(crate) connector: Arc<dyn Connector>,
    pub(crate) created: Instant,
    /// When it was created or last returned: what the idle timeout counts from.
    pub(crate) returned: Instant,
}

/// The deadpool manager of a [`ConnectionPool`](super::ConnectionPool).
pub(crate) struct ConnectorManager {
    pub(crate) id: String,
    pub(crate) build: Arc<ConnectorBuilder>,
    pub(crate) config: PoolConfig,
    pub(crate) counters: Arc<PoolCounters>,
}

impl ConnectorManager {
    /// Why `slot` must be closed rather than used again, if it must.
    pub(crate) fn expired(&self, slot: &Slot) -> Option<&'static str> {
        if self
            .config
            .max_lifetime_duration()
            .is_some_and(|max| slot.created.elapsed() >= max)
        {
            return Some("older than max_lifetime_ms");
        }
        if self
            .config
            .idle_timeout_duration()
            .is_some_and(|idle| slot.returned.elapsed() >= idle)
        {
            return Some("idle longer than idle_timeout_ms");
        }
        None
    }

    /// Disconnects a connector leaving the pool; a failure is only logged (it is gone).
    pub(crate) async fn retire(&self, connector: &Arc<dyn Connector>, why: &str) {
        tracing::debug!(pool = %self.id, reason = why, "closing a pooled connection");
        if let Err(e) = connector.disconnect().await {
            tracing::debug!(pool = %self.id, error = %e, "disconnect failed while closing a pooled connection");
        }
    }
}

impl Manager for ConnectorManager {
    type Type = Slot;
    type Error = Error;

    async fn create(&self) -> Result<Slot> {
        let connector = (self.build)()?;
        connector.connect().await?;
        self.counters.created();
        tracing::debug!(pool = %self.id, "opened a pooled connection");
        let now = Instant::now();
        Ok(Slot {
            connector,
            created: now,
            returned: now,
        })
    }

    async fn recycle(&self, slot: &mut Slot, _: &Metrics) -> RecycleResult<Error> {
        if let Some(why) = self.expired(slot) {
            self.counters.expired(1);
            self.retire(&slot.connector, why).await;
            return Err(RecycleError::message(why));
        }
        if self.config.health_check
            && let Err(e) = slot.connector.test_connection().await
        {
            self.counters.failed_health_check();
            tracing::info!(pool = %self.id, error = %e, "a pooled connection failed its health check; replacing it");
            self.retire(&slot.connector, "failed its health check")
                .await;
            return Err(RecycleError::Backend(e));
        }
        self.counters.recycled();
        Ok(())
    }
}
