//! The store's ledger: its pool (opened by `connect`, closed by `disconnect`) shared with a
//! view of the [`PostgresCheckpointStore`] tables in the same database, so checkpoints
//! written by `store_batch_with_checkpoints` are the ones `done` reads.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use collectors_core::{
    CheckpointStore, Claim, Error, ItemCheckpoint, Result, SourceItem, async_trait,
};
use sqlx::PgPool;

use crate::postgres::checkpoint::PostgresCheckpointStore;

/// A pool that opens on `connect` and closes on `disconnect`, shared by a store and the
/// views of its ledger.
#[derive(Debug, Clone, Default)]
pub(crate) struct PoolSlot(Arc<tokio::sync::RwLock<Option<PgPool>>>);

impl PoolSlot {
    /// The lock around the pool (`None` while closed).
    pub(crate) fn lock(&self) -> &tokio::sync::RwLock<Option<PgPool>> {
        &self.0
    }

    /// The open pool, or a connection error naming `database` (shown without password).
    pub(crate) async fn get(&self, database: &str) -> Result<PgPool> {
        self.0.read().await.clone().ok_or_else(|| {
            Error::connection(format!("not connected to PostgreSQL database {database}"))
        })
    }
}

/// The checkpoint tables of a store's database, on the store's pool: usable while the
/// store is connected.
#[derive(Debug, Clone)]
pub(crate) struct StoreCheckpoints {
    pool: PoolSlot,
    shown: String,
}

impl StoreCheckpoints {
    pub(crate) fn new(pool: PoolSlot, shown: String) -> Self {
        Self { pool, shown }
    }

    async fn store(&self, operation: &str) -> Result<PostgresCheckpointStore> {
        let pool = self.pool.get(&self.shown).await.map_err(|e| {
            e.with_component("postgres-checkpoints")
                .with_operation(operation)
        })?;
        Ok(PostgresCheckpointStore::on_pool(pool, self.shown.clone()))
    }
}

#[async_trait]
impl CheckpointStore for StoreCheckpoints {
    async fn done(&self, pipeline: &str) -> Result<HashMap<(String, String), ItemCheckpoint>> {
        self.store("done").await?.done(pipeline).await
    }

    async fn mark_done(&self, pipeline: &str, items: &[ItemCheckpoint]) -> Result<()> {
        self.store("mark_done")
            .await?
            .mark_done(pipeline, items)
            .await
    }

    async fn reset(&self, pipeline: &str) -> Result<()> {
        self.store("reset").await?.reset(pipeline).await
    }

    async fn fingerprint(&self, pipeline: &str) -> Result<Option<String>> {
        self.store("fingerprint").await?.fingerprint(pipeline).await
    }

    async fn set_fingerprint(&self, pipeline: &str, fingerprint: &str) -> Result<()> {
        self.store("set_fingerprint")
            .await?
            .set_fingerprint(pipeline, fingerprint)
            .await
    }

    async fn claim(
        &self,
        pipeline: &str,
        item: &SourceItem,
        owner: &str,
        ttl: Duration,
    ) -> Result<Claim> {
        self.store("claim")
            .await?
            .claim(pipeline, item, owner, ttl)
            .await
    }

    async fn lease_holder(&self, pipeline: &str, item: &SourceItem) -> Result<Option<String>> {
        self.store("lease_holder")
            .await?
            .lease_holder(pipeline, item)
            .await
    }

    async fn renew(&self, pipeline: &str, owner: &str, ttl: Duration) -> Result<()> {
        self.store("renew").await?.renew(pipeline, owner, ttl).await
    }

    async fn release(&self, pipeline: &str, owner: &str) -> Result<()> {
        self.store("release").await?.release(pipeline, owner).await
    }
}
