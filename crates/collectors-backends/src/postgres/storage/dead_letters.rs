//! A PostgreSQL store's dead letters: table `_collectors_dead_letters`, in the store's
//! database, on its pool.

use collectors_core::{DeadLetter, DeadLetterSink, DeadLetterStore, Error, Result, async_trait};

use super::ledger::PoolSlot;
use crate::postgres::error::from_sqlx;

const COMPONENT: &str = "postgres-dead-letters";

/// The dead letters of a [`PostgresStorage`](super::PostgresStorage)'s database, as its
/// [`ledger`](collectors_core::StorageBackend::ledger) hands them out: usable while it is
/// connected. Each letter is its serde JSON, keyed by [`DeadLetter::key`]; writing a key
/// again replaces the letter and keeps its place in the order.
#[derive(Debug, Clone)]
pub(crate) struct PostgresDeadLetterStore {
    pool: PoolSlot,
    shown: String,
}

impl PostgresDeadLetterStore {
    pub(crate) fn new(pool: PoolSlot, shown: String) -> Self {
        Self { pool, shown }
    }

    /// Removes `remove` (of `pipeline`) and upserts `add` in one transaction.
    async fn apply(
        &self,
        operation: &str,
        pipeline: &str,
        remove: &[String],
        add: &[DeadLetter],
    ) -> Result<()> {
        let (mut pipelines, mut keys, mut sources, mut items, mut letters) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for letter in add {
            let json = serde_json::to_string(letter).map_err(|e| {
                tag(
                    Error::validation(format!(
                        "dead letter {} cannot be encoded: {e}",
                        letter.key()
                    ))
                    .with_source(e),
                    operation,
                )
            })?;
            pipelines.push(letter.pipeline.as_str());
            keys.push(letter.key());
            sources.push(letter.source_id.as_str());
            items.push(letter.item_id.as_str());
            letters.push(json);
        }
        let pool = self
            .pool
            .get(&self.shown)
            .await
            .map_err(|e| tag(e, operation))?;
        let mut tx = pool
            .begin()
            .await
            .map_err(|e| sqlx_error(e, operation, "starting a transaction"))?;
        if !remove.is_empty() {
            sqlx::query(
                "DELETE FROM _collectors_dead_letters WHERE pipeline = $1 AND key = ANY($2)",
            )
            .bind(pipeline)
            .bind(remove)
            .execute(&mut *tx)
            .await
            .map_err(|e| sqlx_error(e, operation, "removing dead letters"))?;
        }
        if !add.is_empty() {
            // A batch may carry a key twice: the last letter wins, as one at a time would,
            // in the place of the first (rows get their `seq` in insertion order).
            sqlx::query(
                "INSERT INTO _collectors_dead_letters (pipeline, key, source_id, item_id, letter) \
                 SELECT p, k, s, i, l FROM ( \
                    SELECT DISTINCT ON (p, k) p, k, s, i, l, \
                    min(n) OVER (PARTITION BY p, k) AS first \
                    FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[]) \
                    WITH ORDINALITY AS u(p, k, s, i, l, n) ORDER BY p, k, n DESC \
                 ) d ORDER BY first \
                 ON CONFLICT (pipeline, key) DO UPDATE SET letter = excluded.letter, \
                 source_id = excluded.source_id, item_id = excluded.item_id",
            )
            .bind(&pipelines)
            .bind(&keys)
            .bind(&sources)
            .bind(&items)
            .bind(&letters)
            .execute(&mut *tx)
            .await
            .map_err(|e| sqlx_error(e, operation, "writing dead letters"))?;
        }
        tx.commit()
            .await
            .map_err(|e| sqlx_error(e, operation, "committing dead letters"))?;
        tracing::debug!(
            pipeline,
            removed = remove.len(),
            written = add.len(),
            "dead letters written"
        );
        Ok(())
    }
}

/// Durable when it returns: one committed transaction.
#[async_trait]
impl DeadLetterSink for PostgresDeadLetterStore {
    async fn write(&self, letters: &[DeadLetter]) -> Result<()> {
        if letters.is_empty() {
            return Ok(());
        }
        // Letters of several pipelines may share a batch; each row carries its own.
        self.apply("write", "", &[], letters).await
    }
}

#[async_trait]
impl DeadLetterStore for PostgresDeadLetterStore {
    async fn letters(&self, pipeline: &str) -> Result<Vec<DeadLetter>> {
        let op = "letters";
        let pool = self.pool.get(&self.shown).await.map_err(|e| tag(e, op))?;
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT key, letter FROM _collectors_dead_letters WHERE pipeline = $1 ORDER BY seq",
        )
        .bind(pipeline)
        .fetch_all(&pool)
        .await
        .map_err(|e| sqlx_error(e, op, "reading dead letters"))?;
        rows.into_iter()
            .map(|(key, json)| {
                serde_json::from_str(&json).map_err(|e| {
                    tag(
                        Error::invalid_state(format!(
                            "dead letter {key} in {} is unreadable: {e}",
                            self.shown
                        ))
                        .with_source(e),
                        op,
                    )
                })
            })
            .collect()
    }

    async fn replace(&self, pipeline: &str, remove: &[String], add: &[DeadLetter]) -> Result<()> {
        if remove.is_empty() && add.is_empty() {
            return Ok(());
        }
        self.apply("replace", pipeline, remove, add).await
    }
}

fn tag(error: Error, operation: &str) -> Error {
    error.with_component(COMPONENT).with_operation(operation)
}

fn sqlx_error(e: sqlx::Error, operation: &str, what: &str) -> Error {
    tag(from_sqlx(e, what), operation)
}
