//! [`PooledConnector`]: a connector borrowed from a pool, returned when dropped.

use std::fmt;
use std::ops::Deref;

use collectors_core::Connector;
use deadpool::managed::Object;
use tokio::time::Instant;

use super::connector_manager::ConnectorManager;

/// A connected connector borrowed from a [`ConnectionPool`](super::ConnectionPool): it
/// dereferences to [`dyn Connector`](Connector), and goes back to the pool when dropped.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use collectors_backends::pool::{ConnectionPool, PoolConfig};
/// use collectors_core::Connector;
/// use collectors_mocks::MockConnector;
///
/// let pool = ConnectionPool::open("m", PoolConfig::new(), || {
///     Ok(Arc::new(MockConnector::new("m")) as Arc<dyn Connector>)
/// })
/// .await
/// .unwrap();
/// let connector = pool.get().await.unwrap();
/// connector.test_connection().await.unwrap();
/// let as_trait_object: &dyn Connector = &*connector;
/// # let _ = as_trait_object;
/// # });
/// ```
pub struct PooledConnector {
    object: Object<ConnectorManager>,
    pool: String,
}

impl PooledConnector {
    pub(crate) fn new(object: Object<ConnectorManager>, pool: &str) -> Self {
        Self {
            object,
            pool: pool.to_owned(),
        }
    }

    /// The pool it came from.
    pub fn pool_id(&self) -> &str {
        &self.pool
    }
}

impl Deref for PooledConnector {
    type Target = dyn Connector;

    fn deref(&self) -> &Self::Target {
        &*self.object.connector
    }
}

impl Drop for PooledConnector {
    fn drop(&mut self) {
        // The idle timeout counts from here; the object itself goes back to the pool next.
        self.object.returned = Instant::now();
    }
}

impl fmt::Debug for PooledConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledConnector")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}
