//! [`CheckpointStore`]: which items a pipeline has fully handled.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::sync::lock;

/// The acknowledgement of one item: every record from it reached a terminal state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemCheckpoint {
    /// The source of the item.
    pub source_id: String,
    /// The item's stable id.
    pub item_id: String,
    /// The version that was processed.
    pub version: String,
    /// Records stored from it.
    pub stored: u64,
    /// Records skipped (filtered).
    pub skipped: u64,
    /// Records dead-lettered.
    pub dead_lettered: u64,
    /// When it was acknowledged.
    pub completed_at: DateTime<Utc>,
}

/// Durable checkpoints of a pipeline's items, so a rerun skips what is done.
///
/// # Contract
///
/// - `mark_done` is durable when it returns; marking an item again replaces its checkpoint.
/// - `done` returns the checkpoints of one pipeline, keyed by `(source_id, item_id)`.
/// - `fingerprint` stores, per pipeline, a digest of the settings that shape storage keys;
///   the engine refuses to resume when it changed.
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    /// The checkpoints of `pipeline`.
    async fn done(&self, pipeline: &str) -> Result<HashMap<(String, String), ItemCheckpoint>>;

    /// Records that items are done.
    async fn mark_done(&self, pipeline: &str, items: &[ItemCheckpoint]) -> Result<()>;

    /// Forgets every checkpoint of `pipeline` (a `--restart`).
    async fn reset(&self, pipeline: &str) -> Result<()>;

    /// The stored fingerprint of `pipeline`, if any.
    async fn fingerprint(&self, pipeline: &str) -> Result<Option<String>>;

    /// Stores the fingerprint of `pipeline`.
    async fn set_fingerprint(&self, pipeline: &str, fingerprint: &str) -> Result<()>;
}

/// A store that writes records and the checkpoints they complete in one transaction, so a
/// crash can never leave stored data without its acknowledgement (or the reverse).
///
/// The checkpoints must land where the run's [`CheckpointStore`] reads them (for SQLite: the
/// same database file). The engine uses this when built with
/// [`EngineBuilder::transactional_store`](crate::EngineBuilder::transactional_store).
#[async_trait]
pub trait TransactionalCheckpoints: Send + Sync {
    /// Stores `records` and marks `checkpoints` done for `pipeline`, all or nothing.
    async fn store_batch_with_checkpoints(
        &self,
        records: Vec<crate::models::Record>,
        pipeline: &str,
        checkpoints: &[ItemCheckpoint],
    ) -> Result<Vec<crate::models::StorageLocation>>;
}

type Checkpoints = HashMap<String, HashMap<(String, String), ItemCheckpoint>>;

/// A [`CheckpointStore`] in memory: for tests, and for runs that need no resume.
#[derive(Debug, Default)]
pub struct InMemoryCheckpointStore {
    checkpoints: Mutex<Checkpoints>,
    fingerprints: Mutex<HashMap<String, String>>,
}

impl InMemoryCheckpointStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl CheckpointStore for InMemoryCheckpointStore {
    async fn done(&self, pipeline: &str) -> Result<HashMap<(String, String), ItemCheckpoint>> {
        Ok(lock(&self.checkpoints)
            .get(pipeline)
            .cloned()
            .unwrap_or_default())
    }

    async fn mark_done(&self, pipeline: &str, items: &[ItemCheckpoint]) -> Result<()> {
        let mut all = lock(&self.checkpoints);
        let done = all.entry(pipeline.to_owned()).or_default();
        for item in items {
            done.insert((item.source_id.clone(), item.item_id.clone()), item.clone());
        }
        Ok(())
    }

    async fn reset(&self, pipeline: &str) -> Result<()> {
        lock(&self.checkpoints).remove(pipeline);
        lock(&self.fingerprints).remove(pipeline);
        Ok(())
    }

    async fn fingerprint(&self, pipeline: &str) -> Result<Option<String>> {
        Ok(lock(&self.fingerprints).get(pipeline).cloned())
    }

    async fn set_fingerprint(&self, pipeline: &str, fingerprint: &str) -> Result<()> {
        lock(&self.fingerprints).insert(pipeline.to_owned(), fingerprint.to_owned());
        Ok(())
    }
}
