//! [`CheckpointStore`]: which items a pipeline has fully handled.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::models::SourceItem;
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
    /// The processors' source state after this item (see
    /// [`StateScope::Source`](crate::StateScope::Source)): a rerun resumes the next item with
    /// it.
    #[serde(default)]
    pub state: Option<serde_json::Value>,
}

/// The answer to [`CheckpointStore::claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Claim {
    /// The item is leased to the caller until the lease expires (or is renewed).
    Granted,
    /// Another run holds an unexpired lease on the item.
    Held,
    /// The item is already done at this version.
    Done,
}

/// Durable checkpoints of a pipeline's items, so a rerun skips what is done, and leases, so
/// concurrent runs of one pipeline (on one machine or many, sharing the store) share the work.
///
/// # Contract
///
/// - `mark_done` is durable when it returns; marking an item again replaces its checkpoint
///   and ends any lease on it.
/// - `claim` is atomic: of two runs claiming one item, one gets [`Claim::Granted`], the
///   other [`Claim::Held`] — until the lease expires, when the item can be taken over. An
///   item done at the claimed version answers [`Claim::Done`].
/// - `renew` extends every lease of `owner`; `release` ends them.
/// - A store without leases may keep the provided methods: every claim is granted, which is
///   correct (keys are idempotent) but lets concurrent runs do the same work twice.
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

    /// Leases `item` (at its version) to `owner` for `ttl`, unless another owner holds an
    /// unexpired lease or the item is done at that version.
    async fn claim(
        &self,
        pipeline: &str,
        item: &SourceItem,
        owner: &str,
        ttl: Duration,
    ) -> Result<Claim> {
        let _ = (pipeline, item, owner, ttl);
        Ok(Claim::Granted)
    }

    /// Who holds the lease on `item`, if anyone (expired or not). The engine uses it to take
    /// over at once the leases of a process of its own machine that is gone.
    async fn lease_holder(&self, pipeline: &str, item: &SourceItem) -> Result<Option<String>> {
        let _ = (pipeline, item);
        Ok(None)
    }

    /// Extends every lease `owner` holds in `pipeline` to `ttl` from now.
    async fn renew(&self, pipeline: &str, owner: &str, ttl: Duration) -> Result<()> {
        let _ = (pipeline, owner, ttl);
        Ok(())
    }

    /// Ends every lease `owner` holds in `pipeline`.
    async fn release(&self, pipeline: &str, owner: &str) -> Result<()> {
        let _ = (pipeline, owner);
        Ok(())
    }
}

/// A store that writes records and the checkpoints they complete in one transaction, so a
/// crash can never leave stored data without its acknowledgement (or the reverse).
///
/// The checkpoints must land where the [`CheckpointStore`] of the same
/// [`StoreLedger`](crate::StoreLedger) reads them (for SQLite: the same database). The
/// engine uses it by itself for a lone store whose
/// [`ledger`](crate::StorageBackend::ledger) returns one.
#[async_trait]
pub trait TransactionalCheckpoints: Send + Sync {
    /// Stores `records` and marks `checkpoints` done for `pipeline`, all or nothing.
    async fn store_batch_with_checkpoints(
        &self,
        records: &[crate::models::Record],
        pipeline: &str,
        checkpoints: &[ItemCheckpoint],
    ) -> Result<()>;
}

type Checkpoints = HashMap<String, HashMap<(String, String), ItemCheckpoint>>;
/// `(pipeline, source, item)` → `(owner, expiry)`.
type Leases = HashMap<(String, String, String), (String, Instant)>;

/// A [`CheckpointStore`] in memory: for tests, for runs that need no resume, and for
/// concurrent engines of one process (leases included).
#[derive(Debug, Default)]
pub struct InMemoryCheckpointStore {
    checkpoints: Mutex<Checkpoints>,
    fingerprints: Mutex<HashMap<String, String>>,
    leases: Mutex<Leases>,
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
        let mut leases = lock(&self.leases);
        for item in items {
            done.insert((item.source_id.clone(), item.item_id.clone()), item.clone());
            leases.remove(&(
                pipeline.to_owned(),
                item.source_id.clone(),
                item.item_id.clone(),
            ));
        }
        Ok(())
    }

    async fn claim(
        &self,
        pipeline: &str,
        item: &SourceItem,
        owner: &str,
        ttl: Duration,
    ) -> Result<Claim> {
        // Checkpoints before leases, as in `mark_done`: one lock order.
        let all = lock(&self.checkpoints);
        let done = all
            .get(pipeline)
            .and_then(|d| d.get(&(item.source_id.clone(), item.item_id.clone())))
            .is_some_and(|c| c.version == item.version);
        if done {
            return Ok(Claim::Done);
        }
        let mut leases = lock(&self.leases);
        let key = (
            pipeline.to_owned(),
            item.source_id.clone(),
            item.item_id.clone(),
        );
        let now = Instant::now();
        match leases.get(&key) {
            Some((holder, expires)) if holder != owner && *expires > now => Ok(Claim::Held),
            _ => {
                leases.insert(key, (owner.to_owned(), now + ttl));
                Ok(Claim::Granted)
            }
        }
    }

    async fn lease_holder(&self, pipeline: &str, item: &SourceItem) -> Result<Option<String>> {
        let key = (
            pipeline.to_owned(),
            item.source_id.clone(),
            item.item_id.clone(),
        );
        Ok(lock(&self.leases).get(&key).map(|(owner, _)| owner.clone()))
    }

    async fn renew(&self, pipeline: &str, owner: &str, ttl: Duration) -> Result<()> {
        let until = Instant::now() + ttl;
        for ((p, _, _), (holder, expires)) in lock(&self.leases).iter_mut() {
            if p == pipeline && holder == owner {
                *expires = until;
            }
        }
        Ok(())
    }

    async fn release(&self, pipeline: &str, owner: &str) -> Result<()> {
        lock(&self.leases).retain(|(p, _, _), (holder, _)| !(p == pipeline && holder == owner));
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
