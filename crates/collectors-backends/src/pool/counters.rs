//! The counters a pool keeps beside what its underlying pool reports.

use std::sync::atomic::{AtomicU64, Ordering};

use super::PoolStats;

/// Created, recycled, failed health checks and expired connections, shared by a pool and the
/// hooks that see those events.
#[derive(Debug, Default)]
pub(crate) struct PoolCounters {
    created: AtomicU64,
    recycled: AtomicU64,
    failed_health_checks: AtomicU64,
    expired: AtomicU64,
}

impl PoolCounters {
    pub(crate) fn created(&self) {
        self.created.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn recycled(&self) {
        self.recycled.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn failed_health_check(&self) {
        self.failed_health_checks.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn expired(&self, n: u64) {
        self.expired.fetch_add(n, Ordering::Relaxed);
    }

    /// `stats` with these counters filled in.
    pub(crate) fn fill(&self, mut stats: PoolStats) -> PoolStats {
        stats.created = self.created.load(Ordering::Relaxed);
        stats.recycled = self.recycled.load(Ordering::Relaxed);
        stats.failed_health_checks = self.failed_health_checks.load(Ordering::Relaxed);
        stats.expired = self.expired.load(Ordering::Relaxed);
        stats
    }
}
