//! [`SqliteCheckpointStore`]: the engine's checkpoints in a SQLite file.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use collectors_core::{
    CheckpointStore, Claim, Error, ItemCheckpoint, Result, SourceItem, async_trait,
};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::builder::MIN_DATABASE_SIZE;
use super::connection::{Database, PoolSlot};
use super::error::{from_rusqlite, from_sqlx};
use super::transaction::{BEGIN_WRITE, Transaction};
use crate::checkpoint_row::{CheckpointRow, signed};

const SCHEMA_SQL: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS _collectors_checkpoints (
        pipeline TEXT NOT NULL,
        source_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        version TEXT NOT NULL,
        stored INTEGER NOT NULL,
        skipped INTEGER NOT NULL,
        dead_lettered INTEGER NOT NULL,
        completed_at TEXT NOT NULL,
        state TEXT,
        PRIMARY KEY (pipeline, source_id, item_id)
    )",
    "CREATE TABLE IF NOT EXISTS _collectors_fingerprints (
        pipeline TEXT PRIMARY KEY NOT NULL,
        fingerprint TEXT NOT NULL
    )",
    // Who is working on an item, until when (milliseconds since the Unix epoch).
    "CREATE TABLE IF NOT EXISTS _collectors_leases (
        pipeline TEXT NOT NULL,
        source_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        owner TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (pipeline, source_id, item_id)
    )",
];

/// Databases written before processor state was checkpointed lack the `state` column.
async fn add_state_column(conn: &mut SqliteConnection) -> sqlx::Result<()> {
    let columns: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info('_collectors_checkpoints')")
            .fetch_all(&mut *conn)
            .await?;
    if !columns.iter().any(|c| c == "state") {
        sqlx::query("ALTER TABLE _collectors_checkpoints ADD COLUMN state TEXT")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

fn millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

const COMPONENT: &str = "sqlite-checkpoints";

/// A [`CheckpointStore`] in a SQLite file: which items each pipeline has fully handled, and
/// the fingerprint of the settings its storage keys depend on.
///
/// Tables `_collectors_checkpoints` (one row per pipeline, source and item) and
/// `_collectors_fingerprints` (one per pipeline). It may share the database file of a
/// [`SqliteStorage`](super::SqliteStorage): WAL mode lets both pools work side by side.
///
/// `mark_done` writes all its items in one transaction, durable when it returns.
///
/// ```
/// use collectors_backends::SqliteCheckpointStore;
/// use collectors_core::{CheckpointStore, ItemCheckpoint};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let store = SqliteCheckpointStore::open(dir.path().join("state.db")).await?;
/// store
///     .mark_done("sensors", &[ItemCheckpoint {
///         source_id: "incoming".into(),
///         item_id: "2024/a.csv".into(),
///         version: "1024-2026-03-01T10:00:00Z".into(),
///         stored: 99,
///         skipped: 0,
///         dead_lettered: 1,
///         completed_at: chrono::Utc::now(),
///         state: None,
///     }])
///     .await?;
/// let done = store.done("sensors").await?;
/// assert_eq!(done[&("incoming".to_string(), "2024/a.csv".to_string())].stored, 99);
/// store.close().await;
/// # Ok::<(), collectors_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SqliteCheckpointStore {
    pool: PoolSlot,
    database: String,
}

impl SqliteCheckpointStore {
    /// Opens (creating if missing) the database file at `path` and its checkpoint tables.
    ///
    /// # Errors
    ///
    /// [`Error::Connection`] when the file cannot be opened; a database failure when the
    /// tables cannot be created.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_database(path.as_ref(), None).await
    }

    /// Like [`open`](Self::open), with the database capped at `max_bytes` (at least 64 KiB;
    /// see [`SqliteStorageBuilder::max_database_size`](super::SqliteStorageBuilder::max_database_size)):
    /// a write past the cap fails like a full disk, with a retryable [`Error::Storage`] and
    /// nothing of it kept.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] when `max_bytes` is below 64 KiB; otherwise as
    /// [`open`](Self::open).
    pub async fn open_with_max_size(path: impl AsRef<Path>, max_bytes: u64) -> Result<Self> {
        if max_bytes < MIN_DATABASE_SIZE {
            return Err(tag(
                Error::configuration(format!(
                    "the size cap must be at least {MIN_DATABASE_SIZE} bytes, not {max_bytes}"
                )),
                "open",
            ));
        }
        Self::open_database(path.as_ref(), Some(max_bytes)).await
    }

    async fn open_database(path: &Path, max_size: Option<u64>) -> Result<Self> {
        if path.as_os_str().is_empty() {
            return Err(tag(
                Error::configuration("the database path must not be empty"),
                "open",
            ));
        }
        let database =
            Database::file(path, Duration::from_secs(5), true, 2).with_max_size(max_size);
        let pool = database.connect().await.map_err(|e| tag(e, "open"))?;
        let created = match pool.acquire().await {
            Ok(mut conn) => create_checkpoint_tables(&mut conn).await,
            Err(e) => Err(tag(from_sqlx(e, "creating the checkpoint tables"), "open")),
        };
        if let Err(e) = created {
            pool.close().await;
            return Err(e);
        }
        Ok(Self {
            pool: PoolSlot::open(pool),
            database: database.display,
        })
    }

    /// The checkpoints in a store's database, on the store's own pool (open while the store
    /// is connected).
    pub(crate) fn in_store(pool: PoolSlot, database: String) -> Self {
        Self { pool, database }
    }

    /// Closes the connections; later calls fail with a connection error.
    pub async fn close(&self) {
        if let Some(pool) = self.pool.lock().write().await.take() {
            pool.close().await;
        }
    }

    async fn pool(&self, operation: &str) -> Result<SqlitePool> {
        self.pool
            .get(&self.database)
            .await
            .map_err(|e| tag(e, operation))
    }
}

/// Creates the checkpoint tables if missing (on the caller's connection or transaction).
pub(crate) async fn create_checkpoint_tables(conn: &mut SqliteConnection) -> Result<()> {
    let fail = |e| {
        tag(
            from_sqlx(e, "creating the checkpoint tables"),
            "create_tables",
        )
    };
    for sql in SCHEMA_SQL {
        sqlx::query(sql).execute(&mut *conn).await.map_err(fail)?;
    }
    add_state_column(conn).await.map_err(fail)
}

/// Upserts one checkpoint (`?1` the pipeline).
const UPSERT_CHECKPOINT_SQL: &str = "INSERT INTO _collectors_checkpoints (pipeline, source_id, \
     item_id, version, stored, skipped, dead_lettered, completed_at, state) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
     ON CONFLICT (pipeline, source_id, item_id) DO UPDATE SET \
     version = excluded.version, stored = excluded.stored, \
     skipped = excluded.skipped, dead_lettered = excluded.dead_lettered, \
     completed_at = excluded.completed_at, state = excluded.state";
/// A done item needs no lease any more.
const END_LEASE_SQL: &str =
    "DELETE FROM _collectors_leases WHERE pipeline = ?1 AND source_id = ?2 AND item_id = ?3";

/// A checkpoint's column values, checked and encoded once for either driver.
struct EncodedCheckpoint<'a> {
    item: &'a ItemCheckpoint,
    stored: i64,
    skipped: i64,
    dead_lettered: i64,
    completed_at: String,
    state: Option<String>,
}

fn encode(items: &[ItemCheckpoint]) -> Result<Vec<EncodedCheckpoint<'_>>> {
    let op = "mark_done";
    items
        .iter()
        .map(|item| {
            Ok(EncodedCheckpoint {
                item,
                stored: signed(item.stored, "stored", item).map_err(|e| tag(e, op))?,
                skipped: signed(item.skipped, "skipped", item).map_err(|e| tag(e, op))?,
                dead_lettered: signed(item.dead_lettered, "dead_lettered", item)
                    .map_err(|e| tag(e, op))?,
                completed_at: item
                    .completed_at
                    .to_rfc3339_opts(SecondsFormat::Nanos, true),
                state: item.state.as_ref().map(serde_json::Value::to_string),
            })
        })
        .collect()
}

/// Upserts checkpoints (and ends their leases) in a transaction of the pool.
async fn write_checkpoints(
    conn: &mut SqliteConnection,
    pipeline: &str,
    items: &[ItemCheckpoint],
) -> Result<()> {
    let op = "mark_done";
    for c in encode(items)? {
        sqlx::query(UPSERT_CHECKPOINT_SQL)
            .bind(pipeline)
            .bind(c.item.source_id.as_str())
            .bind(c.item.item_id.as_str())
            .bind(c.item.version.as_str())
            .bind(c.stored)
            .bind(c.skipped)
            .bind(c.dead_lettered)
            .bind(c.completed_at.as_str())
            .bind(c.state.as_deref())
            .execute(&mut *conn)
            .await
            .map_err(|e| sqlx_error(e, op, "writing checkpoints"))?;
        sqlx::query(END_LEASE_SQL)
            .bind(pipeline)
            .bind(c.item.source_id.as_str())
            .bind(c.item.item_id.as_str())
            .execute(&mut *conn)
            .await
            .map_err(|e| sqlx_error(e, op, "ending leases"))?;
    }
    Ok(())
}

/// Upserts checkpoints (and ends their leases) in the open transaction of a store's write
/// connection, so they commit together with the records they acknowledge.
pub(crate) fn write_checkpoints_with_records(
    conn: &rusqlite::Connection,
    pipeline: &str,
    items: &[ItemCheckpoint],
) -> Result<()> {
    let op = "mark_done";
    let fail = |what: &'static str| move |e| tag(from_rusqlite(e, what), op);
    let mut upsert = conn
        .prepare_cached(UPSERT_CHECKPOINT_SQL)
        .map_err(fail("writing checkpoints"))?;
    let mut end_lease = conn
        .prepare_cached(END_LEASE_SQL)
        .map_err(fail("ending leases"))?;
    for c in encode(items)? {
        upsert
            .execute(rusqlite::params![
                pipeline,
                c.item.source_id,
                c.item.item_id,
                c.item.version,
                c.stored,
                c.skipped,
                c.dead_lettered,
                c.completed_at,
                c.state,
            ])
            .map_err(fail("writing checkpoints"))?;
        end_lease
            .execute(rusqlite::params![
                pipeline,
                c.item.source_id,
                c.item.item_id
            ])
            .map_err(fail("ending leases"))?;
    }
    Ok(())
}

fn tag(error: Error, operation: &str) -> Error {
    error.with_component(COMPONENT).with_operation(operation)
}

fn sqlx_error(e: sqlx::Error, operation: &str, what: &str) -> Error {
    tag(from_sqlx(e, what), operation)
}

#[async_trait]
impl CheckpointStore for SqliteCheckpointStore {
    async fn done(&self, pipeline: &str) -> Result<HashMap<(String, String), ItemCheckpoint>> {
        let op = "done";
        let rows = sqlx::query(
            "SELECT source_id, item_id, version, stored, skipped, dead_lettered, completed_at, \
             state FROM _collectors_checkpoints WHERE pipeline = ?",
        )
        .bind(pipeline)
        .fetch_all(&self.pool(op).await?)
        .await
        .map_err(|e| sqlx_error(e, op, "reading checkpoints"))?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in rows {
            let decode = |e: sqlx::Error| sqlx_error(e, op, "reading checkpoints");
            let source_id: String = row.try_get("source_id").map_err(decode)?;
            let item_id: String = row.try_get("item_id").map_err(decode)?;
            let completed_at: &str = row.try_get("completed_at").map_err(decode)?;
            let completed_at = DateTime::parse_from_rfc3339(completed_at)
                .map_err(|e| {
                    tag(
                        Error::invalid_state(format!(
                            "checkpoint {source_id}/{item_id}: unreadable completed_at \
                             {completed_at:?}: {e}"
                        )),
                        op,
                    )
                })?
                .with_timezone(&Utc);
            let checkpoint = CheckpointRow {
                version: row.try_get("version").map_err(decode)?,
                stored: row.try_get("stored").map_err(decode)?,
                skipped: row.try_get("skipped").map_err(decode)?,
                dead_lettered: row.try_get("dead_lettered").map_err(decode)?,
                state: row.try_get("state").map_err(decode)?,
                completed_at,
                source_id: source_id.clone(),
                item_id: item_id.clone(),
            }
            .check()
            .map_err(|e| tag(e, op))?;
            out.insert((source_id, item_id), checkpoint);
        }
        Ok(out)
    }

    async fn mark_done(&self, pipeline: &str, items: &[ItemCheckpoint]) -> Result<()> {
        let op = "mark_done";
        if items.is_empty() {
            return Ok(());
        }
        let mut tx = Transaction::begin(&self.pool(op).await?, BEGIN_WRITE)
            .await
            .map_err(|e| sqlx_error(e, op, "starting a transaction"))?;
        let written = write_checkpoints(tx.conn(), pipeline, items).await;
        tx.finish(written, |e| sqlx_error(e, op, "committing checkpoints"))
            .await?;
        tracing::debug!(pipeline, items = items.len(), "checkpoints written");
        Ok(())
    }

    async fn reset(&self, pipeline: &str) -> Result<()> {
        let op = "reset";
        let mut tx = Transaction::begin(&self.pool(op).await?, BEGIN_WRITE)
            .await
            .map_err(|e| sqlx_error(e, op, "starting a transaction"))?;
        let deleted = async {
            let conn = tx.conn();
            for sql in [
                "DELETE FROM _collectors_checkpoints WHERE pipeline = ?",
                "DELETE FROM _collectors_fingerprints WHERE pipeline = ?",
                "DELETE FROM _collectors_leases WHERE pipeline = ?",
            ] {
                sqlx::query(sql)
                    .bind(pipeline)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| sqlx_error(e, op, "deleting checkpoints"))?;
            }
            Ok(())
        }
        .await;
        tx.finish(deleted, |e| sqlx_error(e, op, "committing"))
            .await
    }

    async fn fingerprint(&self, pipeline: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT fingerprint FROM _collectors_fingerprints WHERE pipeline = ?")
            .bind(pipeline)
            .fetch_optional(&self.pool("fingerprint").await?)
            .await
            .map_err(|e| sqlx_error(e, "fingerprint", "reading the fingerprint"))
    }

    async fn set_fingerprint(&self, pipeline: &str, fingerprint: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO _collectors_fingerprints (pipeline, fingerprint) VALUES (?, ?) \
             ON CONFLICT (pipeline) DO UPDATE SET fingerprint = excluded.fingerprint",
        )
        .bind(pipeline)
        .bind(fingerprint)
        .execute(&self.pool("set_fingerprint").await?)
        .await
        .map_err(|e| sqlx_error(e, "set_fingerprint", "writing the fingerprint"))?;
        Ok(())
    }

    /// One `BEGIN IMMEDIATE` transaction: of two processes claiming one item, the second
    /// waits for the first and then sees its lease.
    async fn claim(
        &self,
        pipeline: &str,
        item: &SourceItem,
        owner: &str,
        ttl: Duration,
    ) -> Result<Claim> {
        let op = "claim";
        let mut tx = Transaction::begin(&self.pool(op).await?, BEGIN_WRITE)
            .await
            .map_err(|e| sqlx_error(e, op, "starting a transaction"))?;
        let claimed = async {
            let conn = tx.conn();
            let done: Option<String> = sqlx::query_scalar(
                "SELECT version FROM _collectors_checkpoints \
                 WHERE pipeline = ? AND source_id = ? AND item_id = ?",
            )
            .bind(pipeline)
            .bind(&item.source_id)
            .bind(&item.item_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| sqlx_error(e, op, "reading the checkpoint"))?;
            if done.as_deref() == Some(item.version.as_str()) {
                return Ok(Claim::Done);
            }
            let now = now_millis();
            let taken = sqlx::query(
                "INSERT INTO _collectors_leases (pipeline, source_id, item_id, owner, expires_at) \
                 VALUES (?, ?, ?, ?, ?) ON CONFLICT (pipeline, source_id, item_id) DO UPDATE \
                 SET owner = excluded.owner, expires_at = excluded.expires_at \
                 WHERE _collectors_leases.owner = excluded.owner \
                 OR _collectors_leases.expires_at <= ?",
            )
            .bind(pipeline)
            .bind(&item.source_id)
            .bind(&item.item_id)
            .bind(owner)
            .bind(now.saturating_add(millis(ttl)))
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(|e| sqlx_error(e, op, "taking the lease"))?;
            Ok(if taken.rows_affected() == 1 {
                Claim::Granted
            } else {
                Claim::Held
            })
        }
        .await;
        tx.finish(claimed, |e| sqlx_error(e, op, "committing the lease"))
            .await
    }

    async fn lease_holder(&self, pipeline: &str, item: &SourceItem) -> Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT owner FROM _collectors_leases \
             WHERE pipeline = ? AND source_id = ? AND item_id = ?",
        )
        .bind(pipeline)
        .bind(&item.source_id)
        .bind(&item.item_id)
        .fetch_optional(&self.pool("lease_holder").await?)
        .await
        .map_err(|e| sqlx_error(e, "lease_holder", "reading the lease"))
    }

    async fn renew(&self, pipeline: &str, owner: &str, ttl: Duration) -> Result<()> {
        sqlx::query(
            "UPDATE _collectors_leases SET expires_at = ? WHERE pipeline = ? AND owner = ?",
        )
        .bind(now_millis().saturating_add(millis(ttl)))
        .bind(pipeline)
        .bind(owner)
        .execute(&self.pool("renew").await?)
        .await
        .map_err(|e| sqlx_error(e, "renew", "renewing leases"))?;
        Ok(())
    }

    async fn release(&self, pipeline: &str, owner: &str) -> Result<()> {
        sqlx::query("DELETE FROM _collectors_leases WHERE pipeline = ? AND owner = ?")
            .bind(pipeline)
            .bind(owner)
            .execute(&self.pool("release").await?)
            .await
            .map_err(|e| sqlx_error(e, "release", "releasing leases"))?;
        Ok(())
    }
}
