//! [`PoolStats`]: what a connection pool holds and has done.

use serde::Serialize;

/// A snapshot of a pool: its connections now, and counters since it was built.
///
/// The same shape for a [`ConnectionPool`](super::ConnectionPool) and for the sqlx pool
/// under a SQL connector. sqlx does not say how many tasks wait for a connection, so
/// `waiters` is `None` there.
///
/// ```
/// use collectors_backends::pool::PoolStats;
///
/// let stats = PoolStats::default();
/// assert_eq!(stats.total, stats.in_use + stats.idle);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PoolStats {
    /// The most connections the pool may hold.
    pub max_size: usize,
    /// Connections open now (in use + idle).
    pub total: usize,
    /// Connections handed out now.
    pub in_use: usize,
    /// Connections open and free now.
    pub idle: usize,
    /// Tasks waiting for a connection now (`None` where the pool does not say).
    pub waiters: Option<usize>,
    /// Connections opened since the pool was built.
    pub created: u64,
    /// Times an idle connection was handed out again (after passing its health check).
    pub recycled: u64,
    /// Idle connections that failed their health check on acquire (and were closed).
    pub failed_health_checks: u64,
    /// Connections closed for being idle too long or older than the maximum lifetime.
    pub expired: u64,
}
