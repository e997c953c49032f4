//! [`MeteredStorage`]: any store, with its writes counted and timed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::models::{QueryCriteria, Record, SourceItem, StorageLocation, StoredRecord};
use crate::storage_backend::StorageBackend;

/// What a [`MeteredStorage`] counted. Shared: read it while the store is in use.
#[derive(Debug, Default)]
pub struct StorageMetrics {
    /// `store_batch` calls that succeeded.
    pub batches: AtomicU64,
    /// Records in them.
    pub records: AtomicU64,
    /// Table rows in them.
    pub rows: AtomicU64,
    /// Calls that failed (any method).
    pub failures: AtomicU64,
    /// Time spent in `store_batch`, in microseconds.
    pub write_micros: AtomicU64,
}

/// A copy of [`StorageMetrics`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageMetricsSnapshot {
    /// `store_batch` calls that succeeded.
    pub batches: u64,
    /// Records in them.
    pub records: u64,
    /// Table rows in them.
    pub rows: u64,
    /// Calls that failed.
    pub failures: u64,
    /// Time spent in `store_batch`, in microseconds.
    pub write_micros: u64,
}

impl StorageMetrics {
    /// The counts now.
    pub fn snapshot(&self) -> StorageMetricsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StorageMetricsSnapshot {
            batches: get(&self.batches),
            records: get(&self.records),
            rows: get(&self.rows),
            failures: get(&self.failures),
            write_micros: get(&self.write_micros),
        }
    }
}

/// Wraps a [`StorageBackend`] and counts what goes through it ([`StorageMetrics`]): batches,
/// records, rows, failures, write time. Compose it with [`RetryingStorage`](crate::RetryingStorage)
/// inside (counts each attempt) or outside (counts each call).
///
/// ```
/// use std::sync::Arc;
/// use collectors_core::{MeteredStorage, StorageBackend};
/// # fn demo(store: Arc<dyn StorageBackend>) {
/// let metered = MeteredStorage::new(store);
/// let metrics = metered.metrics();
/// let store: Arc<dyn StorageBackend> = Arc::new(metered);
/// // … later: metrics.snapshot().rows
/// # }
/// ```
pub struct MeteredStorage<S: ?Sized> {
    inner: Arc<S>,
    metrics: Arc<StorageMetrics>,
}

impl<S: StorageBackend + ?Sized> MeteredStorage<S> {
    /// `inner`, counted.
    pub fn new(inner: Arc<S>) -> Self {
        Self {
            inner,
            metrics: Arc::default(),
        }
    }

    /// The shared counters.
    pub fn metrics(&self) -> Arc<StorageMetrics> {
        self.metrics.clone()
    }

    fn counted<T>(&self, result: Result<T>) -> Result<T> {
        if result.is_err() {
            self.metrics.failures.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

#[async_trait]
impl<S: StorageBackend + ?Sized> StorageBackend for MeteredStorage<S> {
    fn backend_id(&self) -> &str {
        self.inner.backend_id()
    }

    async fn connect(&self) -> Result<()> {
        self.counted(self.inner.connect().await)
    }

    async fn disconnect(&self) -> Result<()> {
        self.counted(self.inner.disconnect().await)
    }

    async fn store_batch(&self, records: &[Record]) -> Result<()> {
        let started = Instant::now();
        let result = self.inner.store_batch(records).await;
        let m = &self.metrics;
        m.write_micros.fetch_add(
            u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        if result.is_ok() {
            let rows: usize = records.iter().filter_map(|r| r.payload.num_rows()).sum();
            m.batches.fetch_add(1, Ordering::Relaxed);
            m.records.fetch_add(records.len() as u64, Ordering::Relaxed);
            m.rows.fetch_add(rows as u64, Ordering::Relaxed);
        }
        self.counted(result)
    }

    fn location_of(&self, record: &Record) -> StorageLocation {
        self.inner.location_of(record)
    }

    async fn finish_item(&self, item: &SourceItem) -> Result<()> {
        self.counted(self.inner.finish_item(item).await)
    }

    async fn abandon_item(&self, item: &SourceItem) {
        self.inner.abandon_item(item).await;
    }

    async fn query(&self, criteria: &QueryCriteria) -> Result<Vec<StoredRecord>> {
        self.counted(self.inner.query(criteria).await)
    }

    async fn delete(&self, location_id: &str) -> Result<bool> {
        self.counted(self.inner.delete(location_id).await)
    }

    fn ledger(&self) -> Option<crate::StoreLedger> {
        self.inner.ledger()
    }
}
