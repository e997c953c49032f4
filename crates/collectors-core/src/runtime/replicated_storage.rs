//! [`ReplicatedStorage`]: one [`StorageBackend`] that writes to several.

use std::sync::Arc;

use async_trait::async_trait;
use futures::future::join_all;

use crate::error::{Error, Result};
use crate::models::{QueryCriteria, Record, SourceItem, StorageLocation, StoredRecord};
use crate::storage_backend::StorageBackend;

/// Writes every record to all of its backends at once; reads from the first (the primary).
///
/// A write succeeds when every backend took it; when one fails, the error names each failed
/// backend and the writes that succeeded stay (keys are idempotent, so retrying the whole
/// write is safe). This is how the engine stores into more than one backend.
///
/// ```
/// use std::sync::Arc;
/// use collectors_core::{ReplicatedStorage, StorageBackend};
///
/// assert!(ReplicatedStorage::new("both", Vec::new()).is_err());
/// ```
pub struct ReplicatedStorage {
    id: String,
    backends: Vec<Arc<dyn StorageBackend>>,
}

impl std::fmt::Debug for ReplicatedStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.backends.iter().map(|b| b.backend_id()).collect();
        f.debug_struct("ReplicatedStorage")
            .field("id", &self.id)
            .field("backends", &ids)
            .finish()
    }
}

impl ReplicatedStorage {
    /// Replicates to `backends`, the first being the one queries read; none is a configuration
    /// error.
    pub fn new(id: impl Into<String>, backends: Vec<Arc<dyn StorageBackend>>) -> Result<Self> {
        let id = id.into();
        if backends.is_empty() {
            return Err(
                Error::configuration("replicated storage needs at least one backend")
                    .with_component(id),
            );
        }
        Ok(Self { id, backends })
    }

    async fn on_all<T, F, Fut>(&self, operation: &str, call: F) -> Result<Vec<T>>
    where
        F: Fn(Arc<dyn StorageBackend>) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let results = join_all(self.backends.iter().map(|b| call(b.clone()))).await;
        let mut ok = Vec::with_capacity(results.len());
        let mut failed: Vec<Error> = Vec::new();
        for result in results {
            match result {
                Ok(value) => ok.push(value),
                Err(e) => failed.push(e),
            }
        }
        match failed.len() {
            0 => Ok(ok),
            // One failure keeps its own type (a retryable timeout stays retryable).
            1 => Err(failed.remove(0).with_component(&self.id)),
            n => Err(Error::storage(format!(
                "{operation} failed on {n} of {} backends: {}",
                self.backends.len(),
                failed
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
            .with_component(&self.id)
            .with_operation(operation)),
        }
    }
}

#[async_trait]
impl StorageBackend for ReplicatedStorage {
    fn backend_id(&self) -> &str {
        &self.id
    }

    async fn connect(&self) -> Result<()> {
        self.on_all("connect", |b| async move { b.connect().await })
            .await
            .map(|_| ())
    }

    async fn disconnect(&self) -> Result<()> {
        self.on_all("disconnect", |b| async move { b.disconnect().await })
            .await
            .map(|_| ())
    }

    async fn store_batch(&self, records: &[Record]) -> Result<()> {
        self.on_all(
            "store_batch",
            |b| async move { b.store_batch(records).await },
        )
        .await
        .map(drop)
    }

    fn location_of(&self, record: &Record) -> StorageLocation {
        self.backends[0].location_of(record)
    }

    async fn finish_item(&self, item: &SourceItem) -> Result<()> {
        self.on_all("finish_item", |b| async move { b.finish_item(item).await })
            .await
            .map(drop)
    }

    async fn abandon_item(&self, item: &SourceItem) {
        for backend in &self.backends {
            backend.abandon_item(item).await;
        }
    }

    async fn query(&self, criteria: &QueryCriteria) -> Result<Vec<StoredRecord>> {
        self.backends[0].query(criteria).await
    }

    async fn delete(&self, location_id: &str) -> Result<bool> {
        let deleted = self
            .on_all("delete", |b| {
                let id = location_id.to_owned();
                async move { b.delete(&id).await }
            })
            .await?;
        Ok(deleted.into_iter().any(|d| d))
    }
}
