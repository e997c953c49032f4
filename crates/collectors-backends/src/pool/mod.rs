//! Connection pools for any [`Connector`](collectors_core::Connector), on `deadpool`'s
//! managed pool (feature `pool`).
//!
//! - [`PoolConfig`]: maximum and minimum size, acquire timeout, idle timeout, maximum
//!   lifetime, health check on acquire; serde (unknown keys refused) and a JSON Schema.
//! - [`ConnectionPool`]: the pool of one source; [`PooledConnector`] is a connector
//!   borrowed from it.
//! - [`ConnectionPoolManager`]: a pool per data-source id, opened on first use.
//! - [`PoolStats`]: total, in use, idle, waiters, created, recycled, failed health checks,
//!   expired.
//!
//! SQL connectors keep sqlx's own pool under one connector (one connector, many
//! connections) and take the same [`PoolConfig`]:
//! [`PostgresConnector::with_pool_config`](crate::postgres::PostgresConnector::with_pool_config)
//! and `pool_stats()`.

mod config;
mod connection_pool;
mod connector_manager;
mod counters;
mod pool_manager;
mod pooled_connector;
mod stats;

pub use config::{MAX_POOL_SIZE, PoolConfig};
pub use connection_pool::ConnectionPool;
pub use connector_manager::ConnectorBuilder;
#[cfg(feature = "postgres")]
pub(crate) use counters::PoolCounters;
pub use pool_manager::ConnectionPoolManager;
pub use pooled_connector::PooledConnector;
pub use stats::PoolStats;
