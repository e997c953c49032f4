//! [`ConnectionPoolManager`]: one [`ConnectionPool`] per data source, opened on first use.

use std::collections::BTreeMap;
use std::sync::Arc;

use collectors_core::{Connector, Result};

use super::{ConnectionPool, PoolConfig, PoolStats, PooledConnector};

/// The pools of many data sources, keyed by the source's id: a pool is opened the first
/// time its id is asked for, with the manager's [`PoolConfig`] (or the one set for that id)
/// and the builder the caller gives then; later calls reuse it.
///
/// The [`DataSourceRegistry`](crate::registry::DataSourceRegistry) keeps one, so that
/// `get_pooled_connector(id)` builds connectors with the registered source's factory.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use collectors_backends::pool::{ConnectionPoolManager, PoolConfig};
/// use collectors_core::Connector;
/// use collectors_mocks::MockConnector;
///
/// let pools = ConnectionPoolManager::new(PoolConfig::new().max_size(4)).unwrap();
/// let build = || Ok(Arc::new(MockConnector::new("inbox")) as Arc<dyn Connector>);
/// let a = pools.get("inbox", build).await.unwrap();
/// let b = pools.get("inbox", build).await.unwrap();
/// assert_eq!(pools.stats()["inbox"].in_use, 2);
/// drop((a, b));
/// assert!(pools.close("inbox").await);
/// assert!(pools.stats().is_empty());
/// # });
/// ```
#[derive(Debug)]
pub struct ConnectionPoolManager {
    config: PoolConfig,
    overrides: std::sync::RwLock<BTreeMap<String, PoolConfig>>,
    /// An async lock: concurrent first uses of one id open one pool.
    pools: tokio::sync::Mutex<BTreeMap<String, ConnectionPool>>,
    /// The same pools, readable without waiting (for `stats`).
    snapshot: std::sync::RwLock<BTreeMap<String, ConnectionPool>>,
}

impl Default for ConnectionPoolManager {
    /// Pools opened with [`PoolConfig::default`].
    fn default() -> Self {
        Self {
            config: PoolConfig::default(),
            overrides: std::sync::RwLock::new(BTreeMap::new()),
            pools: tokio::sync::Mutex::new(BTreeMap::new()),
            snapshot: std::sync::RwLock::new(BTreeMap::new()),
        }
    }
}

impl ConnectionPoolManager {
    /// Pools opened with `config` unless [`set_config`](Self::set_config) says otherwise.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`](collectors_core::Error::Configuration) when `config` is
    /// invalid.
    pub fn new(config: PoolConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            ..Self::default()
        })
    }

    /// The configuration pools get by default.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Uses `config` for the pool of `id` when it is next opened.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`](collectors_core::Error::Configuration) when `config` is
    /// invalid.
    pub fn set_config(&self, id: &str, config: PoolConfig) -> Result<()> {
        config.validate().map_err(|e| e.with_component(id))?;
        self.overrides
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_owned(), config);
        Ok(())
    }

    /// The pool of `id`, opened with `build` when there is none (`build` is dropped
    /// otherwise).
    ///
    /// # Errors
    ///
    /// As [`ConnectionPool::open`].
    pub async fn pool<F>(&self, id: &str, build: F) -> Result<ConnectionPool>
    where
        F: Fn() -> Result<Arc<dyn Connector>> + Send + Sync + 'static,
    {
        let mut pools = self.pools.lock().await;
        if let Some(pool) = pools.get(id).filter(|p| !p.is_closed()) {
            return Ok(pool.clone());
        }
        let config = self
            .overrides
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .unwrap_or_else(|| self.config.clone());
        let pool = ConnectionPool::open(id, config, build).await?;
        pools.insert(id.to_owned(), pool.clone());
        self.snapshot
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_owned(), pool.clone());
        Ok(pool)
    }

    /// The pool of `id` if one is open.
    pub fn open_pool(&self, id: &str) -> Option<ConnectionPool> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .filter(|p| !p.is_closed())
            .cloned()
    }

    /// A connector from the pool of `id` (opened with `build` on first use).
    ///
    /// # Errors
    ///
    /// As [`ConnectionPool::open`] and [`ConnectionPool::get`].
    pub async fn get<F>(&self, id: &str, build: F) -> Result<PooledConnector>
    where
        F: Fn() -> Result<Arc<dyn Connector>> + Send + Sync + 'static,
    {
        self.pool(id, build).await?.get().await
    }

    /// The stats of every open pool, by id.
    pub fn stats(&self) -> BTreeMap<String, PoolStats> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(id, pool)| (id.clone(), pool.stats()))
            .collect()
    }

    /// Closes and forgets the pool of `id`; whether there was one. The next use opens a new
    /// one.
    pub async fn close(&self, id: &str) -> bool {
        let pool = self.pools.lock().await.remove(id);
        self.snapshot
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        match pool {
            Some(pool) => {
                pool.close().await;
                true
            }
            None => false,
        }
    }

    /// Closes and forgets every pool.
    pub async fn close_all(&self) {
        let pools = std::mem::take(&mut *self.pools.lock().await);
        self.snapshot
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        for pool in pools.values() {
            pool.close().await;
        }
    }
}
