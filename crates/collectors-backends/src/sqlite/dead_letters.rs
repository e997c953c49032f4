//! A SQLite store's dead letters: table `_collectors_dead_letters`, in the store's database.

use collectors_core::{DeadLetter, DeadLetterSink, DeadLetterStore, Error, Result, async_trait};
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::{QueryBuilder, Sqlite};

use super::connection::PoolSlot;
use super::error::from_sqlx;
use super::transaction::{BEGIN_WRITE, Transaction};

const COMPONENT: &str = "sqlite-dead-letters";

/// One row per pipeline and letter key: a letter written again (an item redone after a
/// crash, two runs that overlap) replaces itself. `rowid` keeps the order of first writes
/// (an upsert keeps its row).
const TABLE_SQL: &str = "CREATE TABLE IF NOT EXISTS _collectors_dead_letters (
    pipeline TEXT NOT NULL,
    key TEXT NOT NULL,
    source_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    letter TEXT NOT NULL,
    PRIMARY KEY (pipeline, key)
)";

/// Letters per upsert statement (5 variables each).
const LETTERS_PER_STATEMENT: usize = 100;

/// Creates the dead-letter table if missing.
pub(crate) async fn create_dead_letter_table(conn: &mut SqliteConnection) -> Result<()> {
    sqlx::query(TABLE_SQL)
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            tag(
                from_sqlx(e, "creating the dead-letter table"),
                "create_tables",
            )
        })?;
    Ok(())
}

/// The dead letters of a [`SqliteStorage`](super::SqliteStorage)'s database, as its
/// [`ledger`](collectors_core::StorageBackend::ledger) hands them out: on the store's pool,
/// usable while it is connected. Each letter is its serde JSON, keyed by
/// [`DeadLetter::key`].
#[derive(Debug, Clone)]
pub(crate) struct SqliteDeadLetterStore {
    pool: PoolSlot,
    database: String,
}

impl SqliteDeadLetterStore {
    pub(crate) fn in_store(pool: PoolSlot, database: String) -> Self {
        Self { pool, database }
    }

    async fn pool(&self, operation: &str) -> Result<SqlitePool> {
        self.pool
            .get(&self.database)
            .await
            .map_err(|e| tag(e, operation))
    }

    /// Removes `remove` and upserts `add` in one write transaction.
    async fn apply(
        &self,
        operation: &str,
        pipeline: &str,
        remove: &[String],
        add: &[DeadLetter],
    ) -> Result<()> {
        let mut encoded = Vec::with_capacity(add.len());
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
            encoded.push((letter, letter.key(), json));
        }
        let pool = self.pool(operation).await?;
        let mut tx = Transaction::begin(&pool, BEGIN_WRITE)
            .await
            .map_err(|e| sqlx_error(e, operation, "starting a transaction"))?;
        let written = async {
            let conn = tx.conn();
            for key in remove {
                sqlx::query("DELETE FROM _collectors_dead_letters WHERE pipeline = ? AND key = ?")
                    .bind(pipeline)
                    .bind(key)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| sqlx_error(e, operation, "removing dead letters"))?;
            }
            for chunk in encoded.chunks(LETTERS_PER_STATEMENT) {
                let mut q = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO _collectors_dead_letters (pipeline, key, source_id, item_id, letter) ",
                );
                q.push_values(chunk, |mut b, (letter, key, json)| {
                    b.push_bind(letter.pipeline.as_str())
                        .push_bind(key.as_str())
                        .push_bind(letter.source_id.as_str())
                        .push_bind(letter.item_id.as_str())
                        .push_bind(json.as_str());
                });
                q.push(
                    " ON CONFLICT (pipeline, key) DO UPDATE SET letter = excluded.letter, \
                     source_id = excluded.source_id, item_id = excluded.item_id",
                );
                // Not cached: the statement's size follows the number of letters, and
                // caching each size would fill the connection's statement cache.
                q.build()
                    .persistent(false)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| sqlx_error(e, operation, "writing dead letters"))?;
            }
            Ok(())
        }
        .await;
        tx.finish(written, |e| {
            sqlx_error(e, operation, "committing dead letters")
        })
        .await?;
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
impl DeadLetterSink for SqliteDeadLetterStore {
    async fn write(&self, letters: &[DeadLetter]) -> Result<()> {
        if letters.is_empty() {
            return Ok(());
        }
        // Letters of several pipelines may share a batch; each row carries its own.
        self.apply("write", "", &[], letters).await
    }
}

#[async_trait]
impl DeadLetterStore for SqliteDeadLetterStore {
    async fn letters(&self, pipeline: &str) -> Result<Vec<DeadLetter>> {
        let op = "letters";
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT key, letter FROM _collectors_dead_letters WHERE pipeline = ? ORDER BY rowid",
        )
        .bind(pipeline)
        .fetch_all(&self.pool(op).await?)
        .await
        .map_err(|e| sqlx_error(e, op, "reading dead letters"))?;
        rows.into_iter()
            .map(|(key, json)| {
                serde_json::from_str(&json).map_err(|e| {
                    tag(
                        Error::invalid_state(format!(
                            "dead letter {key} in {} is unreadable: {e}",
                            self.database
                        ))
                        .with_source(e),
                        op,
                    )
                })
            })
            .collect()
    }

    async fn replace(&self, pipeline: &str, remove: &[String], add: &[DeadLetter]) -> Result<()> {
        self.apply("replace", pipeline, remove, add).await
    }
}

fn tag(error: Error, operation: &str) -> Error {
    error.with_component(COMPONENT).with_operation(operation)
}

fn sqlx_error(e: sqlx::Error, operation: &str, what: &str) -> Error {
    tag(from_sqlx(e, what), operation)
}
