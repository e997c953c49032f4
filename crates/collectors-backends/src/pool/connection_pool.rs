//! [`ConnectionPool`]: a deadpool pool of connectors of one data source.

use std::fmt;
use std::sync::{Arc, Weak};

use collectors_core::{Connector, Error, Result};
use deadpool::Runtime;
use deadpool::managed::{Object, Pool, PoolError, TimeoutType, Timeouts};

use super::connector_manager::{ConnectorBuilder, ConnectorManager};
use super::counters::PoolCounters;
use super::{PoolConfig, PoolStats, PooledConnector};

/// A pool of connectors of one data source, on [`deadpool`]'s managed pool: each pooled
/// object is its own connector (its own connection), built by the pool's builder function and
/// connected when created.
///
/// # Limits ([`PoolConfig`])
///
/// - **Size.** At most `max_size` connectors exist at once; [`get`](Self::get) waits for one
///   to be returned for at most `acquire_timeout_ms`, then fails with an
///   [`Error::Timeout`]. `min_size` are created by [`open`](Self::open) and created again
///   after expired ones are closed.
/// - **Idle timeout, maximum lifetime.** A connector idle longer than `idle_timeout_ms`
///   (counted from when it was returned) or older than `max_lifetime_ms` is disconnected
///   and dropped, by the reaper (every `reap_interval_ms`, or [`reap`](Self::reap)) or when
///   `get` would hand it out.
/// - **Health check.** With `health_check`, `get` runs [`Connector::test_connection`] on an
///   idle connector before handing it out; one that fails is disconnected, counted
///   (`failed_health_checks`) and replaced by another or a new one.
///
/// Cloning shares the pool. The reaper task stops when the last clone is dropped or the pool
/// is [closed](Self::close).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use collectors_backends::pool::{ConnectionPool, PoolConfig};
/// use collectors_core::{Connector, ErrorType, ListOptions};
/// use collectors_mocks::MockConnector;
///
/// let config = PoolConfig::new()
///     .max_size(1)
///     .min_size(1)
///     .acquire_timeout(Duration::from_millis(50));
/// let pool = ConnectionPool::open("files", config, || {
///     Ok(Arc::new(MockConnector::new("files").with_file("a.csv", "x\n1\n")) as Arc<dyn Connector>)
/// })
/// .await
/// .unwrap();
/// assert_eq!((pool.stats().created, pool.stats().idle), (1, 1)); // min_size, opened now
///
/// let connector = pool.get().await.unwrap(); // the idle one, health-checked
/// assert_eq!(connector.list_items(&ListOptions::new()).await.unwrap().len(), 1);
/// assert_eq!((pool.stats().recycled, pool.stats().in_use), (1, 1));
/// // The only connector is in use: the next get times out.
/// assert_eq!(pool.get().await.unwrap_err().error_type(), ErrorType::Timeout);
/// drop(connector); // back to the pool
/// assert_eq!(pool.stats().idle, 1);
/// # });
/// ```
#[derive(Clone)]
pub struct ConnectionPool {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool<ConnectorManager>,
    reaper: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(reaper) = self.reaper.lock().unwrap_or_else(|e| e.into_inner()).take() {
            reaper.abort();
        }
    }
}

impl fmt::Debug for ConnectionPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionPool")
            .field("id", &self.id())
            .field("config", self.config())
            .field("stats", &self.stats())
            .finish()
    }
}

impl ConnectionPool {
    /// A pool named `id` whose connectors `build` makes (each connected when created); the
    /// `min_size` first ones are opened now, and the reaper is started.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for a `config` that [`PoolConfig::validate`] refuses; the
    /// builder's or the connection's error when `min_size` connectors cannot be opened.
    pub async fn open<F>(id: impl Into<String>, config: PoolConfig, build: F) -> Result<Self>
    where
        F: Fn() -> Result<Arc<dyn Connector>> + Send + Sync + 'static,
    {
        Self::open_with(id.into(), config, Arc::new(build)).await
    }

    pub(crate) async fn open_with(
        id: String,
        config: PoolConfig,
        build: Arc<ConnectorBuilder>,
    ) -> Result<Self> {
        config.validate().map_err(|e| e.with_component(&id))?;
        let timeouts = Timeouts {
            wait: Some(config.acquire_timeout_duration()),
            create: Some(config.acquire_timeout_duration()),
            recycle: Some(config.acquire_timeout_duration()),
        };
        let manager = ConnectorManager {
            id: id.clone(),
            build,
            config: config.clone(),
            counters: Arc::new(PoolCounters::default()),
        };
        let pool = Pool::builder(manager)
            .max_size(config.max_size)
            .timeouts(timeouts)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| {
                Error::configuration(format!("building the pool: {e}")).with_component(&id)
            })?;
        let this = Self {
            inner: Arc::new(Inner {
                pool,
                reaper: std::sync::Mutex::new(None),
            }),
        };
        this.fill_min().await?;
        let reaper = tokio::spawn(reap_every(
            Arc::downgrade(&this.inner),
            config.reap_interval_duration(),
        ));
        *this.inner.reaper.lock().unwrap_or_else(|e| e.into_inner()) = Some(reaper);
        tracing::debug!(pool = %id, max_size = config.max_size, min_size = config.min_size, "opened a connection pool");
        Ok(this)
    }

    fn manager(&self) -> &ConnectorManager {
        self.inner.pool.manager()
    }

    /// The pool's name (the data source's id).
    pub fn id(&self) -> &str {
        &self.manager().id
    }

    /// The pool's limits.
    pub fn config(&self) -> &PoolConfig {
        &self.manager().config
    }

    /// A connected connector, returned to the pool when the handle is dropped.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when none is free within `acquire_timeout_ms` (or connecting takes
    /// longer); the builder's or the connection's error when a new one cannot be opened;
    /// [`Error::InvalidState`] once the pool is closed.
    pub async fn get(&self) -> Result<PooledConnector> {
        let object = self.object().await?;
        Ok(PooledConnector::new(object, self.id()))
    }

    async fn object(&self) -> Result<Object<ConnectorManager>> {
        self.inner.pool.get().await.map_err(|e| self.pool_error(e))
    }

    fn pool_error(&self, e: PoolError<Error>) -> Error {
        let id = self.id();
        let config = self.config();
        let error = match e {
            PoolError::Backend(e) => return e,
            PoolError::Timeout(TimeoutType::Wait) => Error::timeout(format!(
                "no connection was free within {} ms (all {} in use)",
                config.acquire_timeout_ms, config.max_size
            )),
            PoolError::Timeout(TimeoutType::Create) => Error::timeout(format!(
                "connecting took longer than {} ms",
                config.acquire_timeout_ms
            )),
            PoolError::Timeout(TimeoutType::Recycle) => Error::timeout(format!(
                "the health check took longer than {} ms",
                config.acquire_timeout_ms
            )),
            PoolError::Closed => Error::invalid_state("the connection pool is closed"),
            other => Error::invalid_state(format!("connection pool: {other}")),
        };
        error.with_component(id).with_operation("acquire")
    }

    /// The pool now.
    pub fn stats(&self) -> PoolStats {
        let status = self.inner.pool.status();
        let stats = PoolStats {
            max_size: self.config().max_size,
            total: status.size,
            in_use: status.size.saturating_sub(status.available),
            idle: status.available,
            waiters: Some(status.waiting),
            ..PoolStats::default()
        };
        self.manager().counters.fill(stats)
    }

    /// Closes (disconnects) the idle connectors that expired, then opens connectors until
    /// `min_size` are open; returns how many were closed. The reaper calls this every
    /// `reap_interval_ms`.
    pub async fn reap(&self) -> usize {
        let manager = self.manager();
        let removed = self
            .inner
            .pool
            .retain(|slot, _| manager.expired(slot).is_none())
            .removed;
        let n = removed.len();
        manager.counters.expired(n as u64);
        for slot in removed {
            manager.retire(&slot.connector, "expired").await;
        }
        if let Err(e) = self.fill_min().await {
            tracing::warn!(pool = %self.id(), error = %e, "cannot open the pool's minimum connections");
        }
        n
    }

    /// Opens connectors until `min_size` exist (held together, so idle ones are not counted
    /// twice).
    async fn fill_min(&self) -> Result<()> {
        let min = self.config().kept_open();
        let mut held = Vec::with_capacity(min);
        while self.inner.pool.status().size < min && held.len() < min {
            held.push(self.object().await?);
        }
        Ok(())
    }

    /// Closes the pool: idle connectors are disconnected now, those in use when they are
    /// returned are dropped; every later [`get`](Self::get) fails.
    pub async fn close(&self) {
        if let Some(reaper) = self
            .inner
            .reaper
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            reaper.abort();
        }
        let manager = self.manager();
        let idle = self.inner.pool.retain(|_, _| false).removed;
        self.inner.pool.close();
        for slot in idle {
            manager.retire(&slot.connector, "pool closed").await;
        }
        tracing::debug!(pool = %self.id(), "closed a connection pool");
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.pool.is_closed()
    }
}

/// The reaper: every `interval`, while the pool lives.
async fn reap_every(pool: Weak<Inner>, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(inner) = pool.upgrade() else { return };
        let pool = ConnectionPool { inner };
        if pool.is_closed() {
            return;
        }
        pool.reap().await;
    }
}
