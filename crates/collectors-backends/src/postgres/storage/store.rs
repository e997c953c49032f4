//! [`PostgresStorage`]: the type, its accessors and the [`StorageBackend`] glue; writing is in
//! `upsert.rs`, reading in `query.rs`, the bookkeeping tables in `catalog.rs`.

use std::sync::{Arc, Mutex};

use arrow_schema::SchemaRef;
use collectors_core::{
    Error, ItemCheckpoint, QueryCriteria, Record, Result, StorageBackend, StorageLocation,
    StoreLedger, StoredRecord, TransactionalCheckpoints, async_trait,
};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

use super::builder::PostgresStorageBuilder;
use super::catalog::{create_catalog, kind_name};
use super::copy::CopyFormat;
use super::dead_letters::PostgresDeadLetterStore;
use super::ledger::{PoolSlot, StoreCheckpoints};
use super::schema::quote_ident;
use crate::pool::{PoolConfig, PoolCounters, PoolStats};
use crate::postgres::checkpoint::create_checkpoint_tables;
use crate::postgres::error::from_sqlx;
use crate::postgres::lazy_pool::{pg_pool_options, pg_pool_stats};
use crate::sql_table::record_location;

/// A [`StorageBackend`] in a PostgreSQL database, loading rows with `COPY`.
///
/// # Layout
///
/// - Records whose payload is a [`Payload::Table`](collectors_core::Payload::Table) are
///   written **as rows** of one data table (see [`PostgresStorageBuilder::table`]), created
///   from the first batch's Arrow schema: one column per field (`Int8`/`Int16`/`UInt8`
///   `SMALLINT`, `Int32`/`UInt16` `INTEGER`, `Int64`/`UInt32`/`UInt64` `BIGINT`, `Float32`
///   `REAL`, `Float64` `DOUBLE PRECISION`, `Boolean` `BOOLEAN`, `Utf8`/`LargeUtf8` `TEXT`,
///   `Binary`/`LargeBinary` `BYTEA`, `Timestamp` `TIMESTAMP`, or `TIMESTAMPTZ` when it has a
///   time zone, `Date32` `DATE`), plus `_id BIGINT PRIMARY KEY`: the record's id times 2^32
///   plus the row's index in its record, as in [`SqliteStorage`](crate::SqliteStorage). The
///   record key of a row is
///   `SELECT r.key, t._id & 4294967295 AS row, t.* FROM t JOIN _collectors_records r ON r.id = t._id >> 32`.
/// - Refused with an [`Error::Validation`], before anything is written: any other Arrow
///   type (decimals, lists, structs, dictionaries, times, durations, views…), a `UInt64`
///   above `i64::MAX`, a nanosecond timestamp that is not a whole number of microseconds
///   (PostgreSQL keeps microseconds), a column name that is empty, holds a NUL, is longer
///   than 63 bytes or is `_id`, and a later batch whose fields differ from the table's.
///   Text with a NUL character is refused by the server, also as an
///   [`Error::Validation`].
/// - Column names are always quoted: any text is one identifier, never SQL. Table names are
///   plain identifiers, checked by the builder.
/// - Every record has a row in `_collectors_records` (id, scope = the data table's name, key
///   unique per scope, kind, metadata as JSONB,
///   created_at, the payload of non-table records as bytes, the data table and row count of
///   table records); `_collectors_tables` keeps each data table's Arrow schema, so `query`
///   rebuilds batches with their exact types. `created_at` is kept to the microsecond.
/// - Checkpoints, fingerprints and leases are the tables of
///   [`PostgresCheckpointStore`](crate::PostgresCheckpointStore); dead letters go to
///   `_collectors_dead_letters`. All of them are created by `connect` if missing.
///
/// # Behaviour
///
/// - A `store_batch` is one transaction: all of it is stored or none. Its record rows are
///   upserted in one statement (`INSERT … SELECT FROM UNNEST(…) ON CONFLICT (scope, key) DO UPDATE`),
///   then every table row of the batch is sent with one `COPY … FROM STDIN`
///   ([`CopyFormat::Binary`] by default, or CSV).
/// - Storing a key again **replaces** the record: its rows are copied into a temporary
///   staging table (`ON COMMIT DROP`) and moved with
///   `INSERT … SELECT … ON CONFLICT (_id) DO UPDATE`, and its rows past the new row count
///   are deleted. A redone item never duplicates a row. The rows of keys new to the store go
///   straight into the table unless [`PostgresStorageBuilder::stage_new_records`] is set
///   (see there why that is safe).
/// - Stores with different tables share one database without sharing keys: each sees the
///   records of its own table (`scope`) only.
/// - `query` filters in SQL with bound parameters only (key, key prefix, created_at range,
///   metadata equality on JSONB), ordered by key byte by byte, paged, from one
///   `REPEATABLE READ` snapshot; `delete` takes the key (the
///   [`StorageLocation::location_id`]).
/// - [`ledger`](StorageBackend::ledger): checkpoints commit in the same transaction as the
///   records of the batch that completes them; dead letters are in the same database.
/// - Calls before `connect` or after `disconnect` are an [`Error::Connection`]; see the
///   [module docs](crate::postgres) for how database failures are classified. The URL's password is
///   never shown: `Debug`, logs and errors carry `user:***@host`.
///
/// ```no_run
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch, StringArray};
/// use collectors_backends::postgres::PostgresStorage;
/// use collectors_core::{Payload, QueryCriteria, Record, StorageBackend};
///
/// # async fn demo() -> collectors_core::Result<()> {
/// // The password comes from PGPASSWORD or ~/.pgpass, as for psql.
/// let store = PostgresStorage::builder("warehouse", "postgres://loader@db.internal/sensors")
///     .table("readings")
///     .build()?;
/// store.connect().await?;
/// let batch = RecordBatch::try_from_iter([
///     ("sensor", Arc::new(StringArray::from(vec!["s-1", "s-2"])) as _),
///     ("value", Arc::new(Float64Array::from(vec![21.5, 19.0])) as _),
/// ])
/// .unwrap();
/// let record = Record::keyed("day-1.csv#0", Payload::Table(batch.clone()))?;
/// store.store(record.clone()).await?;
/// store.store(record).await?; // a replay replaces, it does not duplicate
/// assert_eq!(store.row_count().await?, 2);
/// let found = store.query(&QueryCriteria::new().key("day-1.csv#0")).await?;
/// assert_eq!(found[0].record.payload, Payload::Table(batch));
/// store.disconnect().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresStorage {
    pub(super) backend_id: String,
    pub(super) table: String,
    /// The URL without its password, for errors and `Debug`.
    pub(super) shown: String,
    /// Holds the password: never shown.
    options: PgConnectOptions,
    pub(super) copy_format: CopyFormat,
    pub(super) stage_new_records: bool,
    pool_config: PoolConfig,
    /// What sqlx does not count: connections made, reused, failing their health check.
    pool_counters: Arc<PoolCounters>,
    /// Shared by the clones the ledger hands out.
    pool: PoolSlot,
    /// The data table's stored schema, once known to exist (set only after a commit).
    schema: Arc<Mutex<Option<SchemaRef>>>,
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorage")
            .field("backend_id", &self.backend_id)
            .field("database", &self.shown)
            .field("table", &self.table)
            .field("copy_format", &self.copy_format)
            .finish_non_exhaustive()
    }
}

impl PostgresStorage {
    /// Starts building a backend with id `backend_id` over the database at `url`
    /// (`postgres://user@host:5432/db`; a password missing from the URL comes from
    /// `PGPASSWORD` or `~/.pgpass`).
    pub fn builder(
        backend_id: impl Into<String>,
        url: impl Into<String>,
    ) -> PostgresStorageBuilder {
        PostgresStorageBuilder::new(backend_id.into(), url.into())
    }

    pub(super) fn new(
        backend_id: String,
        table: String,
        shown: String,
        options: PgConnectOptions,
        copy_format: CopyFormat,
        stage_new_records: bool,
        pool_config: PoolConfig,
    ) -> Self {
        Self {
            backend_id,
            table,
            shown,
            options,
            copy_format,
            stage_new_records,
            pool_config,
            pool_counters: Arc::new(PoolCounters::default()),
            pool: PoolSlot::default(),
            schema: Arc::new(Mutex::new(None)),
        }
    }

    /// The data table rows of table records are written to.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The database URL, without its password.
    pub fn database(&self) -> &str {
        &self.shown
    }

    /// The limits of the store's connection pool.
    pub fn pool_config(&self) -> &PoolConfig {
        &self.pool_config
    }

    /// The store's pool now: connections open, in use and idle (zeros before `connect` or
    /// while another task holds the pool's lock), and the connections made, reused and
    /// failing their health check since the store was built.
    pub fn pool_stats(&self) -> PoolStats {
        let open = self
            .pool
            .lock()
            .try_read()
            .ok()
            .and_then(|slot| slot.clone());
        pg_pool_stats(open.as_ref(), &self.pool_config, &self.pool_counters)
    }

    /// The `COPY` format rows are loaded with.
    pub fn copy_format(&self) -> CopyFormat {
        self.copy_format
    }

    /// The number of rows in the data table (0 before the first table record).
    ///
    /// # Errors
    ///
    /// [`Error::Connection`] when not connected; a database failure otherwise.
    pub async fn row_count(&self) -> Result<u64> {
        let op = "row_count";
        let pool = self.pool(op).await?;
        let exists: Option<String> =
            sqlx::query_scalar("SELECT name FROM _collectors_tables WHERE name = $1")
                .bind(&self.table)
                .fetch_optional(&pool)
                .await
                .map_err(|e| self.sqlx(e, op, "reading the table list"))?;
        if exists.is_none() {
            return Ok(0);
        }
        let count: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {}",
            quote_ident(&self.table)
        ))
        .fetch_one(&pool)
        .await
        .map_err(|e| self.sqlx(e, op, "counting rows"))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    pub(super) async fn pool(&self, operation: &str) -> Result<PgPool> {
        self.pool
            .get(&self.shown)
            .await
            .map_err(|e| self.tag(e, operation))
    }

    pub(super) fn tag(&self, error: Error, operation: &str) -> Error {
        error
            .with_component(self.backend_id.clone())
            .with_operation(operation)
    }

    pub(super) fn sqlx(&self, e: sqlx::Error, operation: &str, what: &str) -> Error {
        self.tag(from_sqlx(e, what), operation)
    }

    pub(super) fn cached_schema(&self) -> Option<SchemaRef> {
        self.schema
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) fn cache_schema(&self, schema: Option<SchemaRef>) {
        *self.schema.lock().unwrap_or_else(|e| e.into_inner()) = schema;
    }

    /// The location of a stored record: in the data table (with its row count) or in the
    /// records table.
    pub(super) fn location(&self, key: &str, kind: &str, rows: Option<u64>) -> StorageLocation {
        record_location(&self.backend_id, &self.table, key, kind, rows)
    }
}

#[async_trait]
impl StorageBackend for PostgresStorage {
    fn backend_id(&self) -> &str {
        &self.backend_id
    }

    async fn connect(&self) -> Result<()> {
        let mut slot = self.pool.lock().write().await;
        if slot.is_some() {
            return Ok(());
        }
        let pool = pg_pool_options(&self.pool_config, &self.pool_counters, &self.shown)
            .connect_with(self.options.clone())
            .await
            .map_err(|e| self.sqlx(e, "connect", &format!("connecting to {}", self.shown)))?;
        let created = async {
            create_catalog(&pool).await?;
            create_checkpoint_tables(&pool).await
        }
        .await;
        if let Err(e) = created {
            pool.close().await;
            return Err(self.sqlx(e, "connect", "creating the store's tables"));
        }
        self.cache_schema(None);
        *slot = Some(pool);
        tracing::debug!(backend = %self.backend_id, database = %self.shown, "connected");
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        let pool = self.pool.lock().write().await.take();
        if let Some(pool) = pool {
            pool.close().await;
            tracing::debug!(backend = %self.backend_id, "disconnected");
        }
        Ok(())
    }

    async fn store_batch(&self, records: &[Record]) -> Result<()> {
        self.store_in_transaction(records, None).await
    }

    fn location_of(&self, record: &Record) -> StorageLocation {
        let rows = record.payload.num_rows().map(|n| n as u64);
        self.location(&record.key, kind_name(&record.payload), rows)
    }

    async fn query(&self, criteria: &QueryCriteria) -> Result<Vec<StoredRecord>> {
        self.query_records(criteria).await
    }

    async fn delete(&self, location_id: &str) -> Result<bool> {
        self.delete_record(location_id).await
    }

    /// The checkpoints (the tables of
    /// [`PostgresCheckpointStore`](crate::PostgresCheckpointStore)) and dead letters
    /// (`_collectors_dead_letters`) in this database, on this store's connections: usable
    /// while it is connected.
    fn ledger(&self) -> Option<StoreLedger> {
        Some(StoreLedger::new(
            Arc::new(self.clone()),
            Arc::new(StoreCheckpoints::new(self.pool.clone(), self.shown.clone())),
            Arc::new(PostgresDeadLetterStore::new(
                self.pool.clone(),
                self.shown.clone(),
            )),
        ))
    }
}

/// Records and the checkpoints they complete commit in one transaction, in the tables a
/// [`PostgresCheckpointStore`](crate::PostgresCheckpointStore) on this database reads.
#[async_trait]
impl TransactionalCheckpoints for PostgresStorage {
    async fn store_batch_with_checkpoints(
        &self,
        records: &[Record],
        pipeline: &str,
        checkpoints: &[ItemCheckpoint],
    ) -> Result<()> {
        self.store_in_transaction(records, Some((pipeline, checkpoints)))
            .await
    }
}
