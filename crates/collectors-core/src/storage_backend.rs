//! [`StorageBackend`]: where records end up.

use async_trait::async_trait;

use crate::error::Result;
use crate::models::{QueryCriteria, Record, StorageLocation, StoredRecord};

/// A place records are written to and read back from: a database, a file tree, a bucket.
///
/// # Contract
///
/// - `connect`/`disconnect` are idempotent; any other call on a disconnected backend is an
///   [`Error::Connection`](crate::Error::Connection).
/// - `store` is idempotent by [`Record::key`]: storing a key again replaces the earlier record,
///   so replays never duplicate.
/// - `store_batch` stores all records or, on error, leaves each one either fully stored or not
///   stored (re-running the batch is always safe); it returns one location per record, in order.
/// - `query` returns the records matching the criteria, ordered by key, paged by
///   `offset`/`limit`.
/// - `delete` takes a [`StorageLocation::location_id`] and returns whether something was
///   deleted; deleting a missing location is `Ok(false)`.
///
/// The shared behaviour suite is
/// `collectors_core::conformance::storage_backend` (feature `conformance`).
#[doc(alias = "IStorageBackend")]
#[async_trait]
pub trait StorageBackend: Send + Sync {
    /// The unique id of this backend.
    fn backend_id(&self) -> &str;

    /// Opens the connection.
    async fn connect(&self) -> Result<()>;

    /// Closes the connection.
    async fn disconnect(&self) -> Result<()>;

    /// Stores one record.
    async fn store(&self, record: Record) -> Result<StorageLocation>;

    /// Stores several records; the default stores them one by one.
    async fn store_batch(&self, records: Vec<Record>) -> Result<Vec<StorageLocation>> {
        let mut out = Vec::with_capacity(records.len());
        for record in records {
            out.push(self.store(record).await?);
        }
        Ok(out)
    }

    /// The stored records matching `criteria`.
    async fn query(&self, criteria: &QueryCriteria) -> Result<Vec<StoredRecord>>;

    /// Deletes one stored record; `Ok(false)` when it did not exist.
    async fn delete(&self, location_id: &str) -> Result<bool>;
}
