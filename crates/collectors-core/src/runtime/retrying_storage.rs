//! [`RetryingStorage`]: any store, with its writes retried as an [`ErrorHandler`] decides.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;
use crate::error_handler::ErrorHandler;
use crate::models::{QueryCriteria, Record, SourceItem, StorageLocation, StoredRecord};
use crate::runtime::retry::Retry;
use crate::storage_backend::StorageBackend;

/// Wraps a [`StorageBackend`] so that `connect`, `store_batch`, `query` and `delete` are
/// retried through [`Retry`] with `handler`'s policy (backoff and jitter for transient
/// errors, no retry for the others). When the handler gives up, the last error is returned.
///
/// A wrapper, like tower's `Retry`: the store knows nothing of it, and a host app composes it
/// with others ([`MeteredStorage`](crate::MeteredStorage)). The engine retries with its own
/// bookkeeping and needs no wrapper.
///
/// ```
/// use std::sync::Arc;
/// use collectors_core::{ErrorPolicy, RetryingErrorHandler, RetryingStorage, StorageBackend};
/// # fn demo(store: Arc<dyn StorageBackend>) {
/// let handler = Arc::new(RetryingErrorHandler::new(ErrorPolicy::default()));
/// let store: Arc<dyn StorageBackend> = Arc::new(RetryingStorage::new(store, handler));
/// # }
/// ```
pub struct RetryingStorage<S: ?Sized> {
    inner: Arc<S>,
    handler: Arc<dyn ErrorHandler>,
}

impl<S: StorageBackend + ?Sized> RetryingStorage<S> {
    /// `inner`, retried as `handler` decides.
    pub fn new(inner: Arc<S>, handler: Arc<dyn ErrorHandler>) -> Self {
        Self { inner, handler }
    }

    fn retry(&self) -> Retry<'_> {
        Retry::new(self.handler.as_ref(), self.inner.backend_id())
    }
}

#[async_trait]
impl<S: StorageBackend + ?Sized> StorageBackend for RetryingStorage<S> {
    fn backend_id(&self) -> &str {
        self.inner.backend_id()
    }

    async fn connect(&self) -> Result<()> {
        self.retry()
            .run(&mut self.inner.as_ref(), |s, _| Box::pin(s.connect()))
            .await
            .map_err(|g| g.error)
    }

    async fn disconnect(&self) -> Result<()> {
        self.inner.disconnect().await
    }

    async fn store_batch(&self, records: &[Record]) -> Result<()> {
        self.retry()
            .run(&mut (self.inner.as_ref(), records), |s, _| {
                let (inner, records) = *s;
                Box::pin(inner.store_batch(records))
            })
            .await
            .map_err(|g| g.error)
    }

    fn location_of(&self, record: &Record) -> StorageLocation {
        self.inner.location_of(record)
    }

    async fn finish_item(&self, item: &SourceItem) -> Result<()> {
        self.retry()
            .run(&mut (self.inner.as_ref(), item), |s, _| {
                let (inner, item) = *s;
                Box::pin(inner.finish_item(item))
            })
            .await
            .map_err(|g| g.error)
    }

    async fn abandon_item(&self, item: &SourceItem) {
        self.inner.abandon_item(item).await;
    }

    async fn query(&self, criteria: &QueryCriteria) -> Result<Vec<StoredRecord>> {
        self.retry()
            .run(&mut (self.inner.as_ref(), criteria), |s, _| {
                let (inner, criteria) = *s;
                Box::pin(inner.query(criteria))
            })
            .await
            .map_err(|g| g.error)
    }

    async fn delete(&self, location_id: &str) -> Result<bool> {
        self.retry()
            .run(&mut (self.inner.as_ref(), location_id), |s, _| {
                let (inner, id) = *s;
                Box::pin(inner.delete(id))
            })
            .await
            .map_err(|g| g.error)
    }

    fn ledger(&self) -> Option<crate::StoreLedger> {
        self.inner.ledger()
    }
}
