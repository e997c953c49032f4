//! [`StorageBackend`]: where records end up.

use async_trait::async_trait;

use crate::engine::StoreLedger;
use crate::error::Result;
use crate::models::{QueryCriteria, Record, SourceItem, StorageLocation, StoredRecord};

/// A place records are written to and read back from: a database, a file tree, a bucket.
///
/// # Contract
///
/// - `connect`/`disconnect` are idempotent; any other call on a disconnected backend is an
///   [`Error::Connection`](crate::Error::Connection).
/// - `store_batch` is the write every backend implements: it borrows the records (a retry
///   clones nothing), stores all of them or, on error, leaves each one either fully stored
///   or not stored (re-running the batch is always safe), and builds no
///   [`StorageLocation`]s, which the hot path never reads.
/// - Writes are idempotent by [`Record::key`]: storing a key again replaces the earlier
///   record, so replays never duplicate.
/// - `store` (one record, with its location) is provided in terms of `store_batch` and
///   [`location_of`](Self::location_of).
/// - `query` returns the records matching the criteria, ordered by key, paged by
///   `offset`/`limit`.
/// - `delete` takes a [`StorageLocation::location_id`] and returns whether something was
///   deleted; deleting a missing location is `Ok(false)`.
/// - A database that can commit checkpoints and dead letters in its own transactions says
///   so through [`ledger`](Self::ledger); an engine with that store alone then uses it by
///   itself. Wrappers that add behaviour (retry, metrics) hand the inner store's ledger on.
/// - **Items.** The engine stores the records of a source item keyed
///   `{source_id}/{item_id}#{batch}`, with the metadata `source_id`, `item_id` (strings) and
///   `batch` (an integer), in batch order. Once every record of an item that ended complete
///   (listed or live) is stored, it calls [`finish_item`](Self::finish_item), and only after
///   that returns `Ok` does it checkpoint the item (or, for a live item, tell its source).
///   An item that ended incomplete or failed gets [`abandon_item`](Self::abandon_item)
///   instead, and is redone by a later run. A store that writes one file or object per item
///   holds an item's records until `finish_item` and publishes them there; a store that
///   writes as it goes keeps the default no-op hooks. A store with a [`ledger`](Self::ledger)
///   commits an item's checkpoint with its last records, before `finish_item`: it keeps the
///   no-op hooks. Wrappers hand both hooks on.
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

    /// Stores every record of `records` (see the contract above).
    async fn store_batch(&self, records: &[Record]) -> Result<()>;

    /// Stores one record and says where it went.
    async fn store(&self, record: Record) -> Result<StorageLocation> {
        self.store_batch(std::slice::from_ref(&record)).await?;
        Ok(self.location_of(&record))
    }

    /// Where a stored record lives. The default: the backend and the record's key.
    fn location_of(&self, record: &Record) -> StorageLocation {
        StorageLocation::new(self.backend_id(), &record.key, &record.key)
    }

    /// The stored records matching `criteria`.
    async fn query(&self, criteria: &QueryCriteria) -> Result<Vec<StoredRecord>>;

    /// Deletes one stored record; `Ok(false)` when it did not exist.
    async fn delete(&self, location_id: &str) -> Result<bool>;

    /// The checkpoints and dead letters this store keeps in its own database, committed with
    /// its records (see [`StoreLedger`]). The default: none, the engine is given a
    /// checkpoint store and a dead-letter sink of its own.
    fn ledger(&self) -> Option<StoreLedger> {
        None
    }

    /// Every record of `item` is stored: make them durable and visible (close and publish
    /// what the store holds for the item). Called once per item that ended complete, before
    /// its checkpoint; an `Err` is retried as the error handler decides, and an item whose
    /// hook gives up is not checkpointed (its stored rows count as failed). The default:
    /// nothing to do, the records were written by `store_batch`.
    ///
    /// ```
    /// # use collectors_core::{SourceItem, StorageBackend};
    /// # async fn finish(store: &dyn StorageBackend) -> collectors_core::Result<()> {
    /// let item = SourceItem::listed("files", "2024/a.csv", "v1");
    /// store.finish_item(&item).await?; // publishes `files/2024/a.csv.parquet` in a file sink
    /// # Ok(()) }
    /// ```
    async fn finish_item(&self, item: &SourceItem) -> Result<()> {
        let _ = item;
        Ok(())
    }

    /// `item` ended without being complete (stopped, failed): drop what the store holds for
    /// it, publishing nothing. Best effort, so it returns nothing; the item is redone by a
    /// later run. The default: nothing to do.
    async fn abandon_item(&self, item: &SourceItem) {
        let _ = item;
    }
}
