//! [`PostgresCheckpointStore`]: checkpoints, fingerprints and item leases in PostgreSQL.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use collectors_core::{
    CheckpointStore, Claim, Error, ItemCheckpoint, Result, SourceItem, async_trait,
};
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::{Postgres, QueryBuilder, Row};

use super::error::from_sqlx;
use super::lazy_pool::{default_pool_config, pg_pool_options};
use super::url::redacted;
use crate::checkpoint_row::{CheckpointRow, signed};
use crate::pool::{PoolConfig, PoolCounters};

const COMPONENT: &str = "postgres-checkpoints";

const SCHEMA_SQL: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS _collectors_checkpoints (
        pipeline TEXT NOT NULL,
        source_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        version TEXT NOT NULL,
        stored BIGINT NOT NULL,
        skipped BIGINT NOT NULL,
        dead_lettered BIGINT NOT NULL,
        completed_at TIMESTAMPTZ NOT NULL,
        state JSONB,
        PRIMARY KEY (pipeline, source_id, item_id)
    )",
    "CREATE TABLE IF NOT EXISTS _collectors_fingerprints (
        pipeline TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL
    )",
    // Who is working on an item, until when (the server's clock).
    "CREATE TABLE IF NOT EXISTS _collectors_leases (
        pipeline TEXT NOT NULL,
        source_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        owner TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (pipeline, source_id, item_id)
    )",
];

/// Checkpoints per upsert statement (9 parameters each; PostgreSQL allows 65 535).
const CHECKPOINTS_PER_STATEMENT: usize = 1_000;

/// A [`CheckpointStore`] in PostgreSQL: which items each pipeline has fully handled, the
/// fingerprint of its settings, and leases on the items runs are working on.
///
/// Tables `_collectors_checkpoints`, `_collectors_fingerprints` and `_collectors_leases`,
/// created if missing. Several runs, on several machines, share one pipeline's items through
/// it: a run claims an item before reading it, a second run takes the items the first has
/// not claimed, and an expired lease (its run died) is taken over. Expiry is decided by the
/// server's clock.
///
/// ```no_run
/// use collectors_backends::PostgresCheckpointStore;
/// use collectors_core::CheckpointStore;
///
/// # async fn demo() -> collectors_core::Result<()> {
/// let store = PostgresCheckpointStore::connect("postgres://collectors@db.internal/ledger").await?;
/// let done = store.done("sensors").await?;
/// println!("{} items done", done.len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresCheckpointStore {
    pool: PgPool,
    /// The URL without its password, for errors and `Debug`.
    shown: String,
}

impl std::fmt::Debug for PostgresCheckpointStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresCheckpointStore")
            .field("database", &self.shown)
            .finish_non_exhaustive()
    }
}

impl PostgresCheckpointStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`) and
    /// creates the tables if missing.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for a malformed URL; [`Error::Connection`] when the server
    /// cannot be reached; [`Error::Authentication`] for wrong credentials. The password never
    /// appears in the error.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with_pool(url, default_pool_config()).await
    }

    /// [`connect`](Self::connect) with the limits of `config` for the store's pool (its
    /// size, acquire, idle and lifetime limits, the health check before a connection is
    /// handed out). `connect` uses 4 connections and 10 s to acquire.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect); also [`Error::Configuration`] when
    /// [`PoolConfig::validate`] refuses `config`.
    pub async fn connect_with_pool(url: &str, config: PoolConfig) -> Result<Self> {
        config.validate().map_err(|e| tag(e, "connect"))?;
        let shown = redacted(url);
        let options: PgConnectOptions = url.parse().map_err(|_| {
            tag(
                Error::configuration(format!("{shown} is not a PostgreSQL connection URL")),
                "connect",
            )
        })?;
        let counters = Arc::new(PoolCounters::default());
        let pool = pg_pool_options(&config, &counters, &shown)
            .connect_with(options)
            .await
            .map_err(|e| sqlx_error(e, "connect", &format!("connecting to {shown}")))?;
        let created = create_checkpoint_tables(&pool).await;
        if let Err(e) = created {
            pool.close().await;
            return Err(sqlx_error(e, "connect", "creating the checkpoint tables"));
        }
        tracing::debug!(database = %shown, "connected to the PostgreSQL checkpoint store");
        Ok(Self { pool, shown })
    }

    /// Closes the connections; later calls fail with a connection error.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A view on an open pool whose database has the tables (a store's ledger).
    pub(super) fn on_pool(pool: PgPool, shown: String) -> Self {
        Self { pool, shown }
    }
}

/// Creates the checkpoint tables if missing, one creator at a time (two runs starting
/// together would otherwise race on the catalog).
pub(super) async fn create_checkpoint_tables(pool: &PgPool) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('_collectors_checkpoints'))")
        .execute(&mut *tx)
        .await?;
    for sql in SCHEMA_SQL {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// Upserts `items` as done for `pipeline` and ends their leases, in the caller's
/// transaction.
pub(super) async fn write_checkpoints(
    conn: &mut sqlx::PgConnection,
    pipeline: &str,
    items: &[ItemCheckpoint],
) -> Result<()> {
    let op = "mark_done";
    let mut encoded = Vec::with_capacity(items.len());
    for item in items {
        encoded.push((
            item,
            signed(item.stored, "stored", item).map_err(|e| tag(e, op))?,
            signed(item.skipped, "skipped", item).map_err(|e| tag(e, op))?,
            signed(item.dead_lettered, "dead_lettered", item).map_err(|e| tag(e, op))?,
            item.state.as_ref().map(serde_json::Value::to_string),
        ));
    }
    for chunk in encoded.chunks(CHECKPOINTS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Postgres>::new(
            "INSERT INTO _collectors_checkpoints (pipeline, source_id, item_id, version, \
             stored, skipped, dead_lettered, completed_at, state) ",
        );
        q.push_values(
            chunk,
            |mut b, (item, stored, skipped, dead_lettered, state)| {
                b.push_bind(pipeline)
                    .push_bind(item.source_id.as_str())
                    .push_bind(item.item_id.as_str())
                    .push_bind(item.version.as_str())
                    .push_bind(*stored)
                    .push_bind(*skipped)
                    .push_bind(*dead_lettered)
                    .push_bind(item.completed_at.to_rfc3339())
                    .push_unseparated("::TIMESTAMPTZ")
                    .push_bind(state.as_deref())
                    .push_unseparated("::JSONB");
            },
        );
        q.push(
            " ON CONFLICT (pipeline, source_id, item_id) DO UPDATE SET \
             version = excluded.version, stored = excluded.stored, \
             skipped = excluded.skipped, dead_lettered = excluded.dead_lettered, \
             completed_at = excluded.completed_at, state = excluded.state",
        );
        q.build()
            .persistent(false)
            .execute(&mut *conn)
            .await
            .map_err(|e| sqlx_error(e, op, "writing checkpoints"))?;
    }
    // A done item needs no lease any more.
    let sources: Vec<&str> = items.iter().map(|i| i.source_id.as_str()).collect();
    let ids: Vec<&str> = items.iter().map(|i| i.item_id.as_str()).collect();
    sqlx::query(
        "DELETE FROM _collectors_leases l USING UNNEST($2::TEXT[], $3::TEXT[]) AS d(s, i) \
         WHERE l.pipeline = $1 AND l.source_id = d.s AND l.item_id = d.i",
    )
    .bind(pipeline)
    .bind(&sources)
    .bind(&ids)
    .execute(&mut *conn)
    .await
    .map_err(|e| sqlx_error(e, op, "ending leases"))?;
    Ok(())
}

fn tag(error: Error, operation: &str) -> Error {
    error.with_component(COMPONENT).with_operation(operation)
}

fn sqlx_error(e: sqlx::Error, operation: &str, what: &str) -> Error {
    tag(from_sqlx(e, what), operation)
}

fn millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl CheckpointStore for PostgresCheckpointStore {
    async fn done(&self, pipeline: &str) -> Result<HashMap<(String, String), ItemCheckpoint>> {
        let op = "done";
        let rows = sqlx::query(
            "SELECT source_id, item_id, version, stored, skipped, dead_lettered, \
             (EXTRACT(EPOCH FROM completed_at) * 1000000)::BIGINT AS completed_us, \
             state::TEXT AS state \
             FROM _collectors_checkpoints WHERE pipeline = $1",
        )
        .bind(pipeline)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| sqlx_error(e, op, "reading checkpoints"))?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in rows {
            let decode = |e: sqlx::Error| sqlx_error(e, op, "reading checkpoints");
            let source_id: String = row.try_get("source_id").map_err(decode)?;
            let item_id: String = row.try_get("item_id").map_err(decode)?;
            let micros: i64 = row.try_get("completed_us").map_err(decode)?;
            let completed_at = DateTime::<Utc>::from_timestamp_micros(micros).ok_or_else(|| {
                tag(
                    Error::invalid_state(format!(
                        "checkpoint {source_id}/{item_id}: completed_at {micros} µs is out of range"
                    )),
                    op,
                )
            })?;
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
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| sqlx_error(e, op, "starting a transaction"))?;
        write_checkpoints(&mut tx, pipeline, items).await?;
        tx.commit()
            .await
            .map_err(|e| sqlx_error(e, op, "committing checkpoints"))?;
        tracing::debug!(pipeline, items = items.len(), "checkpoints written");
        Ok(())
    }

    async fn reset(&self, pipeline: &str) -> Result<()> {
        let op = "reset";
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| sqlx_error(e, op, "starting a transaction"))?;
        for sql in [
            "DELETE FROM _collectors_checkpoints WHERE pipeline = $1",
            "DELETE FROM _collectors_fingerprints WHERE pipeline = $1",
            "DELETE FROM _collectors_leases WHERE pipeline = $1",
        ] {
            sqlx::query(sql)
                .bind(pipeline)
                .execute(&mut *tx)
                .await
                .map_err(|e| sqlx_error(e, op, "deleting checkpoints"))?;
        }
        tx.commit()
            .await
            .map_err(|e| sqlx_error(e, op, "committing"))
    }

    async fn fingerprint(&self, pipeline: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT fingerprint FROM _collectors_fingerprints WHERE pipeline = $1")
            .bind(pipeline)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| sqlx_error(e, "fingerprint", "reading the fingerprint"))
    }

    async fn set_fingerprint(&self, pipeline: &str, fingerprint: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO _collectors_fingerprints (pipeline, fingerprint) VALUES ($1, $2) \
             ON CONFLICT (pipeline) DO UPDATE SET fingerprint = excluded.fingerprint",
        )
        .bind(pipeline)
        .bind(fingerprint)
        .execute(&self.pool)
        .await
        .map_err(|e| sqlx_error(e, "set_fingerprint", "writing the fingerprint"))?;
        Ok(())
    }

    /// One statement decides: the item is done at this version, or the lease is taken (free,
    /// expired, or already this owner's), or it is held by another run. Two runs claiming one
    /// item at once are serialized by the lease row's lock: exactly one is granted. A granted
    /// lease is checked once more against the checkpoints, for a holder that finished the
    /// item while this claim waited for its row.
    async fn claim(
        &self,
        pipeline: &str,
        item: &SourceItem,
        owner: &str,
        ttl: Duration,
    ) -> Result<Claim> {
        let op = "claim";
        let row = sqlx::query(
            "WITH done AS ( \
                SELECT 1 FROM _collectors_checkpoints \
                WHERE pipeline = $1 AND source_id = $2 AND item_id = $3 AND version = $4 \
             ), taken AS ( \
                INSERT INTO _collectors_leases (pipeline, source_id, item_id, owner, expires_at) \
                SELECT $1, $2, $3, $5, now() + $6 * INTERVAL '1 millisecond' \
                WHERE NOT EXISTS (SELECT 1 FROM done) \
                ON CONFLICT (pipeline, source_id, item_id) DO UPDATE \
                SET owner = excluded.owner, expires_at = excluded.expires_at \
                WHERE _collectors_leases.owner = excluded.owner \
                   OR _collectors_leases.expires_at <= now() \
                RETURNING 1 \
             ) \
             SELECT EXISTS (SELECT 1 FROM done) AS done, EXISTS (SELECT 1 FROM taken) AS taken",
        )
        .bind(pipeline)
        .bind(&item.source_id)
        .bind(&item.item_id)
        .bind(&item.version)
        .bind(owner)
        .bind(millis(ttl))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| sqlx_error(e, op, "taking the lease"))?;
        let decode = |e: sqlx::Error| sqlx_error(e, op, "reading the claim");
        let done: bool = row.try_get("done").map_err(decode)?;
        let taken: bool = row.try_get("taken").map_err(decode)?;
        if done {
            return Ok(Claim::Done);
        }
        if !taken {
            return Ok(Claim::Held);
        }
        // The statement read the checkpoints from its snapshot. If the run that held the
        // item finished it meanwhile, the insert waited for that run's commit (which deleted
        // its lease) and then took the lease: the checkpoint is visible to a new statement.
        let finished: Option<bool> = sqlx::query_scalar(
            "SELECT TRUE FROM _collectors_checkpoints \
             WHERE pipeline = $1 AND source_id = $2 AND item_id = $3 AND version = $4",
        )
        .bind(pipeline)
        .bind(&item.source_id)
        .bind(&item.item_id)
        .bind(&item.version)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| sqlx_error(e, op, "reading the checkpoint"))?;
        if finished.is_none() {
            return Ok(Claim::Granted);
        }
        sqlx::query(
            "DELETE FROM _collectors_leases \
             WHERE pipeline = $1 AND source_id = $2 AND item_id = $3 AND owner = $4",
        )
        .bind(pipeline)
        .bind(&item.source_id)
        .bind(&item.item_id)
        .bind(owner)
        .execute(&self.pool)
        .await
        .map_err(|e| sqlx_error(e, op, "giving the lease back"))?;
        Ok(Claim::Done)
    }

    async fn lease_holder(&self, pipeline: &str, item: &SourceItem) -> Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT owner FROM _collectors_leases \
             WHERE pipeline = $1 AND source_id = $2 AND item_id = $3",
        )
        .bind(pipeline)
        .bind(&item.source_id)
        .bind(&item.item_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| sqlx_error(e, "lease_holder", "reading the lease"))
    }

    async fn renew(&self, pipeline: &str, owner: &str, ttl: Duration) -> Result<()> {
        sqlx::query(
            "UPDATE _collectors_leases SET expires_at = now() + $3 * INTERVAL '1 millisecond' \
             WHERE pipeline = $1 AND owner = $2",
        )
        .bind(pipeline)
        .bind(owner)
        .bind(millis(ttl))
        .execute(&self.pool)
        .await
        .map_err(|e| sqlx_error(e, "renew", "renewing leases"))?;
        Ok(())
    }

    async fn release(&self, pipeline: &str, owner: &str) -> Result<()> {
        sqlx::query("DELETE FROM _collectors_leases WHERE pipeline = $1 AND owner = $2")
            .bind(pipeline)
            .bind(owner)
            .execute(&self.pool)
            .await
            .map_err(|e| sqlx_error(e, "release", "releasing leases"))?;
        Ok(())
    }
}
