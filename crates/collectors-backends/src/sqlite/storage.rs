//! [`SqliteStorage`]: the type, its accessors and the [`StorageBackend`] glue; writing is in
//! `write.rs`, reading in `query.rs`, the bookkeeping tables in `catalog.rs`.

use std::sync::{Arc, Mutex};

use arrow_schema::SchemaRef;
use collectors_core::{
    Error, ItemCheckpoint, QueryCriteria, Record, Result, StorageBackend, StorageLocation,
    StoreLedger, StoredRecord, TransactionalCheckpoints, async_trait,
};
use sqlx::sqlite::SqlitePool;

use super::builder::SqliteStorageBuilder;
use super::catalog::{CATALOG_SQL, check_layout, kind_name};
use super::checkpoint::{SqliteCheckpointStore, create_checkpoint_tables};
use super::connection::{Database, PoolSlot};
use super::dead_letters::{SqliteDeadLetterStore, create_dead_letter_table};
use super::error::from_sqlx;
use super::schema::quote_ident;
use super::writer::WriterSlot;
use crate::sql_table::record_location;

/// A [`StorageBackend`] in a SQLite database file.
///
/// # Layout
///
/// - Records whose payload is a [`Payload::Table`](collectors_core::Payload::Table) are written **as rows** of one data table
///   (see [`SqliteStorageBuilder::table`]), created from the first batch's Arrow schema:
///   one column per field (integers and booleans `INTEGER`, floats `REAL`, `Utf8`/`LargeUtf8`
///   `TEXT`, timestamps `TEXT` in RFC 3339 UTC with the unit's fraction digits, `Date32`
///   `TEXT` `YYYY-MM-DD`), plus `_id INTEGER PRIMARY KEY`: the record's id times 2^32 plus
///   the row's index in its record. A record's rows are one range of the table's own
///   b-tree, appended in order and replaced by one range delete; no text key is stored or
///   compared per row. The record key of a row is
///   `SELECT r.key, t._id & 4294967295 AS row, t.* FROM t JOIN _collectors_records r ON r.id = t._id >> 32`.
///   Other Arrow types are an [`Error::Validation`]; so is a `UInt64` value above
///   `i64::MAX`, and a later batch whose fields differ from the table's.
/// - Every record has a row in `_collectors_records` (id, key, kind, metadata JSON,
///   created_at, the payload for non-table records: JSON as text, bytes as a blob; the data
///   table and row count for table records).
/// - A database written by an earlier version (rows keyed by `_key TEXT, _row INTEGER`) is
///   refused at `connect` with an [`Error::InvalidState`] that says to store into a new file.
/// - `_collectors_tables` keeps each data table's Arrow schema (as JSON), so a query rebuilds
///   batches with their exact types.
///
/// # NaN and infinities
///
/// SQLite's `REAL` holds +inf and -inf but has no NaN: binding a NaN stores `NULL`.
///
/// - **+inf and -inf** in `Float32`/`Float64` columns are stored as `REAL` infinities (SQL
///   sees them: `value > 1e308` holds for +inf) and read back as infinities.
/// - **NaN** is stored as `NULL` and reads back as a null: the one lossy case. It is not an
///   error, so a batch is never refused for a NaN, and SQL aggregates skip it as they skip
///   missing values (`AVG`, `SUM`); a NaN stored as text or a sentinel would instead be
///   summed as 0. Nothing is added per row to detect it. Keep NaN apart from nulls upstream
///   if the difference matters, or use the file sink's Parquet format, which keeps NaN.
///
/// # Behaviour
///
/// - Storing a key again **replaces** the record: its old rows are deleted and it is added
///   anew, under a new id, so that new rows always go at the end of the data table. A
///   `store_batch` is one `BEGIN IMMEDIATE` transaction on the store's write connection
///   (see [Two drivers, one SQLite](super#two-drivers-one-sqlite)): all of it is stored or
///   none, also when the caller stops waiting for it. Rows are inserted with multi-row
///   `INSERT`s that span records, prepared once and bound straight from the Arrow arrays.
/// - `query` filters in SQL (key, key prefix, created_at range, metadata equality through
///   `json_each`), ordered by key and paged, and reads table rows back in `_row` order.
/// - A batch that fails — a validation error, a busy database, a full disk — keeps nothing
///   and leaves the store usable: the next batch works as soon as the cause is gone (see
///   [Failed transactions](super#failed-transactions)).
/// - `delete` takes the key (the [`StorageLocation::location_id`]).
/// - Calls before `connect` or after `disconnect` are an [`Error::Connection`]; see the
///   [module docs](super) for how database failures are classified.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch, StringArray};
/// use collectors_backends::SqliteStorage;
/// use collectors_core::{Payload, QueryCriteria, Record, StorageBackend};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let store = SqliteStorage::builder("warehouse", dir.path().join("readings.db").to_str().unwrap())
///     .table("readings")
///     .build()?;
/// store.connect().await?;
///
/// let batch = RecordBatch::try_from_iter([
///     ("sensor", Arc::new(StringArray::from(vec!["s-1", "s-2"])) as _),
///     ("value", Arc::new(Float64Array::from(vec![21.5, 19.0])) as _),
/// ])
/// .unwrap();
/// let record = Record::keyed("day-1.csv#0", Payload::Table(batch.clone()))?;
/// store.store(record.clone()).await?;
/// store.store(record).await?; // a replay replaces, it does not duplicate
/// assert_eq!(store.row_count().await?, 2);
///
/// let found = store.query(&QueryCriteria::new().key("day-1.csv#0")).await?;
/// assert_eq!(found[0].record.payload, Payload::Table(batch));
/// store.disconnect().await?;
/// # Ok::<(), collectors_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStorage {
    pub(super) backend_id: String,
    pub(super) table: String,
    pub(super) database: Database,
    /// Shared by the clones the ledger hands out.
    pool: PoolSlot,
    /// The write connection (rusqlite) of `store_batch`, shared the same way.
    writer: WriterSlot,
    /// The data table's stored schema, once known to exist (set only after a commit).
    schema: Arc<Mutex<Option<SchemaRef>>>,
}

impl SqliteStorage {
    /// Starts building a backend with id `backend_id` over the database at `path_or_url`: a
    /// file path (`out/readings.db`) or a `sqlite:` URL (`sqlite://out/readings.db`,
    /// `sqlite::memory:`).
    pub fn builder(
        backend_id: impl Into<String>,
        path_or_url: impl Into<String>,
    ) -> SqliteStorageBuilder {
        SqliteStorageBuilder::new(backend_id.into(), path_or_url.into())
    }

    pub(crate) fn new(backend_id: String, table: String, database: Database) -> Self {
        Self {
            backend_id,
            table,
            database,
            pool: PoolSlot::default(),
            writer: WriterSlot::default(),
            schema: Arc::new(Mutex::new(None)),
        }
    }

    /// The data table rows of table records are written to.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The database, as given to the builder (a path or a URL).
    pub fn database(&self) -> &str {
        &self.database.display
    }

    /// The number of rows in the data table (0 before the first table record).
    ///
    /// # Errors
    ///
    /// [`Error::Connection`] when not connected; a database failure otherwise.
    pub async fn row_count(&self) -> Result<u64> {
        let pool = self.pool("row_count").await?;
        let exists: Option<String> =
            sqlx::query_scalar("SELECT name FROM _collectors_tables WHERE name = ?")
                .bind(&self.table)
                .fetch_optional(&pool)
                .await
                .map_err(|e| self.sqlx(e, "row_count", "reading the table list"))?;
        if exists.is_none() {
            return Ok(0);
        }
        let count: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {}",
            quote_ident(&self.table)
        ))
        .fetch_one(&pool)
        .await
        .map_err(|e| self.sqlx(e, "row_count", "counting rows"))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    pub(super) async fn pool(&self, operation: &str) -> Result<SqlitePool> {
        self.pool
            .get(&self.database.display)
            .await
            .map_err(|e| self.tag(e, operation))
    }

    pub(super) fn writer(&self) -> &WriterSlot {
        &self.writer
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
impl StorageBackend for SqliteStorage {
    fn backend_id(&self) -> &str {
        &self.backend_id
    }

    async fn connect(&self) -> Result<()> {
        let mut pool = self.pool.lock().write().await;
        if pool.is_some() {
            return Ok(());
        }
        let opened = self
            .database
            .connect()
            .await
            .map_err(|e| self.tag(e, "connect"))?;
        if let Err(e) = create_tables(&opened, &self.database.display).await {
            opened.close().await;
            return Err(self.tag(e, "connect"));
        }
        // After the pool: an in-memory database exists while the pool's connection does.
        if let Err(e) = self.writer.open(&self.database).await {
            opened.close().await;
            return Err(self.tag(e, "connect"));
        }
        self.cache_schema(None);
        *pool = Some(opened);
        tracing::debug!(backend = %self.backend_id, database = %self.database.display, "connected");
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        let pool = self.pool.lock().write().await.take();
        self.writer.close().await;
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

    /// The checkpoints (tables `_collectors_checkpoints`, `_collectors_fingerprints`,
    /// `_collectors_leases`) and dead letters (`_collectors_dead_letters`) in this database,
    /// on this store's connections: usable while it is connected.
    fn ledger(&self) -> Option<StoreLedger> {
        let database = self.database.display.clone();
        Some(StoreLedger::new(
            Arc::new(self.clone()),
            Arc::new(SqliteCheckpointStore::in_store(
                self.pool.clone(),
                database.clone(),
            )),
            Arc::new(SqliteDeadLetterStore::in_store(self.pool.clone(), database)),
        ))
    }
}

/// The record tables, and the ledger's: checkpoints, leases, dead letters.
async fn create_tables(pool: &SqlitePool, database: &str) -> Result<()> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| from_sqlx(e, "creating the record tables"))?;
    for sql in CATALOG_SQL {
        sqlx::query(sql)
            .execute(&mut *conn)
            .await
            .map_err(|e| from_sqlx(e, "creating the record tables"))?;
    }
    check_layout(&mut conn, database).await?;
    create_checkpoint_tables(&mut conn).await?;
    create_dead_letter_table(&mut conn).await
}

/// Records and the checkpoints they complete commit in one transaction, in the same database
/// a [`SqliteCheckpointStore`](super::SqliteCheckpointStore) on this file reads.
#[async_trait]
impl TransactionalCheckpoints for SqliteStorage {
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
