//! [`LazyPool`]: a PostgreSQL pool opened on first use, closed by `disconnect` and opened
//! again by the next use: what a connector or a source built before any I/O needs. Its
//! limits are a [`PoolConfig`], and it counts what sqlx does not (created, recycled, failed
//! health checks) for [`PoolStats`].

use std::sync::Arc;
use std::time::Duration;

use collectors_core::{Error, Result};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio::sync::Mutex;

use super::error::from_sqlx;
use super::url::redacted;
use crate::pool::{PoolConfig, PoolCounters, PoolStats};

/// The limits of a connector's pool unless it is given others: 4 connections, 10 s to
/// acquire.
pub(crate) fn default_pool_config() -> PoolConfig {
    PoolConfig::new()
        .max_size(4)
        .acquire_timeout(Duration::from_secs(10))
}

/// sqlx's pool options from a [`PoolConfig`]: the health check is a ping in
/// `before_acquire` (sqlx's own `test_before_acquire` does not say when it fails), so that
/// failures are counted in `counters`; `shown` is the database without its password.
pub(crate) fn pg_pool_options(
    config: &PoolConfig,
    counters: &Arc<PoolCounters>,
    shown: &str,
) -> PgPoolOptions {
    let created = counters.clone();
    let recycled = counters.clone();
    let health_check = config.health_check;
    let shown = shown.to_owned();
    PgPoolOptions::new()
        .max_connections(u32::try_from(config.max_size).unwrap_or(u32::MAX))
        .min_connections(u32::try_from(config.kept_open()).unwrap_or(u32::MAX))
        .acquire_timeout(config.acquire_timeout_duration())
        .idle_timeout(config.idle_timeout_duration())
        .max_lifetime(config.max_lifetime_duration())
        .test_before_acquire(false)
        .after_connect(move |_, _| {
            created.created();
            Box::pin(async { Ok(()) })
        })
        .before_acquire(move |conn, _| {
            let counters = recycled.clone();
            let shown = shown.clone();
            Box::pin(async move {
                if health_check && let Err(e) = conn.ping().await {
                    counters.failed_health_check();
                    tracing::info!(database = %shown, error = %e, "a pooled connection failed its health check; replacing it");
                    return Ok(false);
                }
                counters.recycled();
                Ok(true)
            })
        })
}

/// The [`PoolStats`] of a sqlx pool (`None` or closed: zeros) with our `counters`. sqlx does
/// not count the tasks waiting for a connection: `waiters` is `None`.
pub(crate) fn pg_pool_stats(
    pool: Option<&PgPool>,
    config: &PoolConfig,
    counters: &PoolCounters,
) -> PoolStats {
    let open = pool.filter(|p| !p.is_closed());
    let (total, idle) = open.map_or((0, 0), |p| (p.size() as usize, p.num_idle()));
    counters.fill(PoolStats {
        max_size: config.max_size,
        total,
        in_use: total.saturating_sub(idle),
        idle,
        waiters: None,
        ..PoolStats::default()
    })
}

/// The options of a URL and the pool made from them, once used.
pub(crate) struct LazyPool {
    options: PgConnectOptions,
    /// The URL without its password, for errors and `Debug`.
    shown: String,
    config: PoolConfig,
    counters: Arc<PoolCounters>,
    pool: Mutex<Option<PgPool>>,
    /// The open pool, readable without waiting (for `stats`).
    open: std::sync::RwLock<Option<PgPool>>,
}

impl LazyPool {
    /// Parses `url`; nothing is connected yet.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for a URL that is not a PostgreSQL one (the message shows
    /// it without its password).
    pub(crate) fn new(url: &str) -> Result<Self> {
        let shown = redacted(url);
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::configuration(format!(
                "{shown} is not a PostgreSQL connection URL (postgres://user@host:port/db)"
            )));
        }
        let options: PgConnectOptions = url.parse().map_err(|_| {
            Error::configuration(format!("{shown} is not a PostgreSQL connection URL"))
        })?;
        Ok(Self {
            options,
            shown,
            config: default_pool_config(),
            counters: Arc::new(PoolCounters::default()),
            pool: Mutex::new(None),
            open: std::sync::RwLock::new(None),
        })
    }

    /// Uses `config` for the pool (from the next connection on).
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] when [`PoolConfig::validate`] refuses it, or `max_size`
    /// exceeds what sqlx takes (`u32`).
    pub(crate) fn with_config(mut self, config: PoolConfig) -> Result<Self> {
        config.validate()?;
        if u32::try_from(config.max_size).is_err() {
            return Err(Error::configuration("max_size is too large for sqlx"));
        }
        self.config = config;
        Ok(self)
    }

    /// The pool's limits.
    pub(crate) fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// The sqlx pool now (zeros when it is not open) and the counters. sqlx does not count
    /// the tasks waiting for a connection: `waiters` is `None`.
    pub(crate) fn stats(&self) -> PoolStats {
        let open = self.open.read().unwrap_or_else(|e| e.into_inner()).clone();
        pg_pool_stats(open.as_ref(), &self.config, &self.counters)
    }

    fn pool_options(&self) -> PgPoolOptions {
        pg_pool_options(&self.config, &self.counters, &self.shown)
    }

    /// The URL without its password.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// The pool, connecting first when it is not open.
    ///
    /// # Errors
    ///
    /// [`Error::Connection`] when the server cannot be reached, [`Error::Authentication`]
    /// for wrong credentials; the password is never in the message.
    pub(crate) async fn get(&self) -> Result<PgPool> {
        let mut slot = self.pool.lock().await;
        if let Some(pool) = slot.as_ref().filter(|p| !p.is_closed()) {
            return Ok(pool.clone());
        }
        let pool = self
            .pool_options()
            .connect_with(self.options.clone())
            .await
            .map_err(|e| from_sqlx(e, &format!("connecting to {}", self.shown)))?;
        *slot = Some(pool.clone());
        *self.open.write().unwrap_or_else(|e| e.into_inner()) = Some(pool.clone());
        Ok(pool)
    }

    /// Closes the pool, if open. The next [`get`](Self::get) opens a new one.
    pub(crate) async fn close(&self) {
        let pool = self.pool.lock().await.take();
        self.open.write().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(pool) = pool {
            pool.close().await;
        }
    }
}
