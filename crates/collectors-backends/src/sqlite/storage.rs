//! [`SqliteStorage`]: records in a SQLite file, tables written as rows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow_schema::{Schema, SchemaRef};
use chrono::{DateTime, SecondsFormat, Utc};
use collectors_core::{
    Error, ItemCheckpoint, Metadata, Payload, QueryCriteria, Record, Result, StorageBackend,
    StorageLocation, StoredRecord, TransactionalCheckpoints, async_trait,
};
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{QueryBuilder, Row, Sqlite};

use super::builder::SqliteStorageBuilder;
use super::checkpoint::{create_checkpoint_tables, write_checkpoints};
use super::connection::Database;
use super::error::from_sqlx;
use super::rows::{TableRows, insert_rows, read_batch};
use super::schema::{
    KEY_COLUMN, ROW_COLUMN, check_schema, create_table_sql, quote_ident, same_fields,
    schema_from_json, schema_to_json,
};

/// The table every record has a row in.
const RECORDS_TABLE: &str = "_collectors_records";
/// Keys per `DELETE … IN (…)` and records per multi-row upsert.
const KEYS_PER_STATEMENT: usize = 500;

const SCHEMA_SQL: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS _collectors_records (
        key TEXT PRIMARY KEY NOT NULL,
        kind TEXT NOT NULL,
        metadata TEXT NOT NULL,
        created_at TEXT NOT NULL,
        payload BLOB,
        data_table TEXT,
        row_count INTEGER
    )",
    "CREATE INDEX IF NOT EXISTS _collectors_records_created_at
        ON _collectors_records (created_at)",
    "CREATE TABLE IF NOT EXISTS _collectors_tables (
        name TEXT PRIMARY KEY NOT NULL,
        schema TEXT NOT NULL
    )",
];

/// A [`StorageBackend`] in a SQLite database file.
///
/// # Layout
///
/// - Records whose payload is a [`Payload::Table`] are written **as rows** of one data table
///   (see [`SqliteStorageBuilder::table`]), created from the first batch's Arrow schema:
///   one column per field (integers and booleans `INTEGER`, floats `REAL`, `Utf8`/`LargeUtf8`
///   `TEXT`, timestamps `TEXT` in RFC 3339 UTC with the unit's fraction digits, `Date32`
///   `TEXT` `YYYY-MM-DD`), plus `_key TEXT` (the record key) and `_row INTEGER` (the row's
///   index in its record), the primary key. Other Arrow types are an [`Error::Validation`];
///   so is a `UInt64` value above `i64::MAX`, and a later batch whose fields differ from
///   the table's.
/// - Every record has a row in `_collectors_records` (key, kind, metadata JSON, created_at,
///   the payload for non-table records: JSON as text, bytes as a blob; the data table and
///   row count for table records).
/// - `_collectors_tables` keeps each data table's Arrow schema (as JSON), so a query rebuilds
///   batches with their exact types.
///
/// # Behaviour
///
/// - Storing a key again **replaces** the record: its old rows are deleted and the new ones
///   inserted. A `store_batch` is one `BEGIN IMMEDIATE` transaction: all of it is stored or
///   none. Rows are inserted with multi-row `INSERT`s that span records, bound straight from
///   the Arrow arrays.
/// - `query` filters in SQL (key, key prefix, created_at range, metadata equality through
///   `json_each`), ordered by key and paged, and reads table rows back in `_row` order.
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
#[derive(Debug)]
pub struct SqliteStorage {
    backend_id: String,
    table: String,
    database: Database,
    pool: tokio::sync::RwLock<Option<SqlitePool>>,
    /// The data table's stored schema, once known to exist (set only after a commit).
    schema: Mutex<Option<SchemaRef>>,
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
            pool: tokio::sync::RwLock::new(None),
            schema: Mutex::new(None),
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

    async fn pool(&self, operation: &str) -> Result<SqlitePool> {
        self.pool.read().await.clone().ok_or_else(|| {
            self.tag(
                Error::connection(format!(
                    "not connected to SQLite database {}",
                    self.database.display
                )),
                operation,
            )
        })
    }

    fn tag(&self, error: Error, operation: &str) -> Error {
        error
            .with_component(self.backend_id.clone())
            .with_operation(operation)
    }

    fn sqlx(&self, e: sqlx::Error, operation: &str, what: &str) -> Error {
        self.tag(from_sqlx(e, what), operation)
    }

    fn cached_schema(&self) -> Option<SchemaRef> {
        self.schema
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn cache_schema(&self, schema: Option<SchemaRef>) {
        *self.schema.lock().unwrap_or_else(|e| e.into_inner()) = schema;
    }

    /// One `BEGIN IMMEDIATE` transaction: the records and, when given, the checkpoints they
    /// complete.
    async fn store_in_transaction(
        &self,
        records: Vec<Record>,
        checkpoints: Option<(&str, &[ItemCheckpoint])>,
    ) -> Result<Vec<StorageLocation>> {
        let pool = self.pool("store_batch").await?;
        if records.is_empty() && checkpoints.is_none_or(|(_, c)| c.is_empty()) {
            return Ok(Vec::new());
        }
        let mut tx = pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.sqlx(e, "store_batch", "starting a transaction"))?;
        let (locations, schema) = self.write(&mut tx, &records).await?;
        if let Some((pipeline, checkpoints)) = checkpoints.filter(|(_, c)| !c.is_empty()) {
            create_checkpoint_tables(&mut tx).await?;
            write_checkpoints(&mut tx, pipeline, checkpoints).await?;
        }
        tx.commit()
            .await
            .map_err(|e| self.sqlx(e, "store_batch", "committing"))?;
        if schema.is_some() {
            self.cache_schema(schema);
        }
        tracing::trace!(backend = %self.backend_id, records = records.len(), "stored batch");
        Ok(locations)
    }

    fn location(&self, key: &str, kind: &str, rows: Option<u64>) -> StorageLocation {
        let mut location = StorageLocation::new(
            self.backend_id.clone(),
            key,
            match rows {
                Some(_) => format!("{}/{key}", self.table),
                None => format!("{RECORDS_TABLE}/{key}"),
            },
        );
        location.metadata.insert("kind".into(), kind.into());
        if let Some(rows) = rows {
            location
                .metadata
                .insert("table".into(), self.table.clone().into());
            location.metadata.insert("rows".into(), rows.into());
        }
        location
    }

    /// Writes `records` in the open transaction; returns one location per record.
    async fn write(
        &self,
        conn: &mut SqliteConnection,
        records: &[Record],
    ) -> Result<(Vec<StorageLocation>, Option<SchemaRef>)> {
        let op = "store_batch";
        // Check the tables before writing anything: one schema per batch, supported types.
        let mut batch_schema: Option<SchemaRef> = None;
        for record in records {
            if let Payload::Table(batch) = &record.payload {
                match &batch_schema {
                    None => {
                        check_schema(batch.schema_ref()).map_err(|e| self.tag(e, op))?;
                        batch_schema = Some(batch.schema());
                    }
                    Some(first) if !same_fields(first, batch.schema_ref()) => {
                        return Err(self.tag(
                            Error::validation(format!(
                                "record {:?} has schema {} but an earlier record of the batch has {}",
                                record.key,
                                batch.schema(),
                                first
                            )),
                            op,
                        ));
                    }
                    Some(_) => {}
                }
            }
        }

        // The last record of each key wins; earlier ones are replaced within the batch.
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(records.len());
        for (i, record) in records.iter().enumerate() {
            last.insert(record.key.as_str(), i);
        }
        let kept: Vec<&Record> = records
            .iter()
            .enumerate()
            .filter(|(i, r)| last.get(r.key.as_str()) == Some(i))
            .map(|(_, r)| r)
            .collect();

        let stored = match self.cached_schema() {
            Some(schema) => Some(schema),
            None => self.load_schema(conn, &self.table, op).await?,
        };
        let (table_schema, created) = match (stored, batch_schema) {
            (Some(stored), Some(batch)) => {
                if !same_fields(&stored, &batch) {
                    return Err(self.tag(
                        Error::validation(format!(
                            "table {:?} has schema {stored} but the batch has {batch}",
                            self.table
                        )),
                        op,
                    ));
                }
                (Some(stored), false)
            }
            (None, Some(batch)) => {
                self.create_table(conn, &batch).await?;
                (Some(batch), true)
            }
            (stored, None) => (stored, false),
        };

        // Replace: drop every kept key's old rows (a fresh table has none).
        if table_schema.is_some() && !created {
            let delete = format!(
                "DELETE FROM {} WHERE {KEY_COLUMN} IN ",
                quote_ident(&self.table)
            );
            for chunk in kept.chunks(KEYS_PER_STATEMENT) {
                let mut q = QueryBuilder::<Sqlite>::new(&delete);
                q.push_tuples(chunk, |mut b, r| {
                    b.push_bind(r.key.as_str());
                });
                q.build()
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| self.sqlx(e, op, "deleting replaced rows"))?;
            }
        }

        let tables: Vec<TableRows<'_>> = kept
            .iter()
            .filter_map(|r| match &r.payload {
                Payload::Table(batch) => Some(TableRows { key: &r.key, batch }),
                _ => None,
            })
            .collect();
        insert_rows(conn, &self.table, &tables)
            .await
            .map_err(|e| self.tag(e, op))?;

        let encoded: Vec<EncodedRecord<'_>> = kept
            .iter()
            .map(|r| EncodedRecord::of(r, &self.table))
            .collect::<Result<_>>()
            .map_err(|e| self.tag(e, op))?;
        for chunk in encoded.chunks(KEYS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO _collectors_records \
                 (key, kind, metadata, created_at, payload, data_table, row_count) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(r.key)
                    .push_bind(r.kind)
                    .push_bind(r.metadata.as_str())
                    .push_bind(r.created_at.as_str());
                match &r.payload {
                    EncodedPayload::Null => b.push_bind(None::<&[u8]>),
                    EncodedPayload::Text(text) => b.push_bind(text.as_str()),
                    EncodedPayload::Blob(bytes) => b.push_bind(*bytes),
                };
                b.push_bind(r.data_table).push_bind(r.row_count);
            });
            q.push(
                " ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, \
                 metadata = excluded.metadata, created_at = excluded.created_at, \
                 payload = excluded.payload, data_table = excluded.data_table, \
                 row_count = excluded.row_count",
            );
            q.build()
                .execute(&mut *conn)
                .await
                .map_err(|e| self.sqlx(e, op, "writing records"))?;
        }

        let locations = records
            .iter()
            .map(|r| {
                let rows = r.payload.num_rows().map(|n| n as u64);
                self.location(&r.key, kind_name(&r.payload), rows)
            })
            .collect();
        Ok((locations, table_schema))
    }

    async fn create_table(&self, conn: &mut SqliteConnection, schema: &Schema) -> Result<()> {
        let op = "store_batch";
        let json = schema_to_json(schema).map_err(|e| self.tag(e, op))?;
        sqlx::query(&create_table_sql(&self.table, schema))
            .execute(&mut *conn)
            .await
            .map_err(|e| self.sqlx(e, op, &format!("creating table {}", self.table)))?;
        sqlx::query("INSERT INTO _collectors_tables (name, schema) VALUES (?, ?)")
            .bind(&self.table)
            .bind(json)
            .execute(&mut *conn)
            .await
            .map_err(|e| self.sqlx(e, op, "recording the table schema"))?;
        tracing::info!(backend = %self.backend_id, table = %self.table, %schema, "created data table");
        Ok(())
    }

    async fn load_schema(
        &self,
        conn: &mut SqliteConnection,
        table: &str,
        op: &str,
    ) -> Result<Option<SchemaRef>> {
        let json: Option<String> =
            sqlx::query_scalar("SELECT schema FROM _collectors_tables WHERE name = ?")
                .bind(table)
                .fetch_optional(&mut *conn)
                .await
                .map_err(|e| self.sqlx(e, op, "reading the table schema"))?;
        json.map(|json| schema_from_json(table, &json).map(Arc::new))
            .transpose()
            .map_err(|e| self.tag(e, op))
    }

    /// Rebuilds one stored record from its `_collectors_records` row.
    async fn read_record(
        &self,
        conn: &mut SqliteConnection,
        row: &SqliteRow,
        schemas: &mut HashMap<String, SchemaRef>,
    ) -> Result<StoredRecord> {
        let op = "query";
        let decode = |e: sqlx::Error| self.sqlx(e, op, "reading records");
        let key: String = row.try_get("key").map_err(decode)?;
        let kind: &str = row.try_get("kind").map_err(decode)?;
        let metadata: &str = row.try_get("metadata").map_err(decode)?;
        let created_at: &str = row.try_get("created_at").map_err(decode)?;
        let corrupt =
            |what: String| self.tag(Error::invalid_state(format!("record {key:?}: {what}")), op);
        let metadata: Metadata = serde_json::from_str(metadata)
            .map_err(|e| corrupt(format!("unreadable metadata: {e}")))?;
        let created_at = DateTime::parse_from_rfc3339(created_at)
            .map_err(|e| corrupt(format!("unreadable created_at {created_at:?}: {e}")))?
            .with_timezone(&Utc);
        let (payload, rows) = match kind {
            "empty" => (Payload::Empty, None),
            "bytes" => {
                let bytes: Option<Vec<u8>> = row.try_get("payload").map_err(decode)?;
                (Payload::Bytes(bytes.unwrap_or_default().into()), None)
            }
            "json" => {
                let text: Option<&str> = row.try_get("payload").map_err(decode)?;
                let value = serde_json::from_str(text.unwrap_or("null"))
                    .map_err(|e| corrupt(format!("unreadable JSON payload: {e}")))?;
                (Payload::Json(value), None)
            }
            "table" => {
                let table: Option<String> = row.try_get("data_table").map_err(decode)?;
                let table = table.unwrap_or_else(|| self.table.clone());
                let schema = match schemas.get(&table) {
                    Some(schema) => schema.clone(),
                    None => {
                        let schema = self
                            .load_schema(conn, &table, op)
                            .await?
                            .ok_or_else(|| corrupt(format!("data table {table:?} is unknown")))?;
                        schemas.insert(table.clone(), schema.clone());
                        schema
                    }
                };
                let batch = self.read_rows(conn, &table, &key, schema).await?;
                let rows = batch.num_rows() as u64;
                (Payload::Table(batch), Some(rows))
            }
            other => return Err(corrupt(format!("unknown kind {other:?}"))),
        };
        let mut location = self.location(&key, kind, rows);
        location.created_at = created_at;
        Ok(StoredRecord {
            location,
            record: Record {
                key,
                payload,
                metadata,
                created_at,
            },
        })
    }

    async fn read_rows(
        &self,
        conn: &mut SqliteConnection,
        table: &str,
        key: &str,
        schema: SchemaRef,
    ) -> Result<arrow_array::RecordBatch> {
        let mut sql = String::from("SELECT ");
        for (i, field) in schema.fields().iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&quote_ident(field.name()));
        }
        if schema.fields().is_empty() {
            sql.push_str(ROW_COLUMN);
        }
        sql.push_str(&format!(
            " FROM {} WHERE {KEY_COLUMN} = ? ORDER BY {ROW_COLUMN}",
            quote_ident(table)
        ));
        let rows = sqlx::query(&sql)
            .bind(key)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| self.sqlx(e, "query", &format!("reading rows of {table}")))?;
        read_batch(schema, &rows, table).map_err(|e| self.tag(e, "query"))
    }
}

/// The name stored in the `kind` column.
fn kind_name(payload: &Payload) -> &'static str {
    match payload {
        Payload::Empty => "empty",
        Payload::Bytes(_) => "bytes",
        Payload::Json(_) => "json",
        Payload::Table(_) => "table",
    }
}

/// A record's `_collectors_records` row, encoded before binding.
struct EncodedRecord<'a> {
    key: &'a str,
    kind: &'static str,
    metadata: String,
    created_at: String,
    payload: EncodedPayload<'a>,
    data_table: Option<&'a str>,
    row_count: Option<i64>,
}

enum EncodedPayload<'a> {
    Null,
    Text(String),
    Blob(&'a [u8]),
}

impl<'a> EncodedRecord<'a> {
    fn of(record: &'a Record, table: &'a str) -> Result<Self> {
        let metadata = serde_json::to_string(&record.metadata).map_err(|e| {
            Error::validation(format!("record {:?}: metadata: {e}", record.key)).with_source(e)
        })?;
        let (payload, data_table, row_count) = match &record.payload {
            Payload::Empty => (EncodedPayload::Null, None, None),
            Payload::Bytes(bytes) => (EncodedPayload::Blob(bytes), None, None),
            Payload::Json(value) => {
                let text = serde_json::to_string(value).map_err(|e| {
                    Error::validation(format!("record {:?}: payload: {e}", record.key))
                        .with_source(e)
                })?;
                (EncodedPayload::Text(text), None, None)
            }
            Payload::Table(batch) => (
                EncodedPayload::Null,
                Some(table),
                Some(i64::try_from(batch.num_rows()).unwrap_or(i64::MAX)),
            ),
        };
        Ok(Self {
            key: &record.key,
            kind: kind_name(&record.payload),
            metadata,
            created_at: timestamp_text(record.created_at),
            payload,
            data_table,
            row_count,
        })
    }
}

/// Fixed-width RFC 3339 with nanoseconds, so text order is time order.
fn timestamp_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// The smallest string greater than every string starting with `prefix`, if there is one:
/// the prefix with its last incrementable character incremented (UTF-8 byte order is
/// code-point order, which is how SQLite compares `TEXT`).
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Adds the SQL condition "metadata has `key` equal to `value`".
fn push_metadata_condition(q: &mut QueryBuilder<'_, Sqlite>, key: &str, value: &serde_json::Value) {
    use serde_json::Value;
    q.push(
        " AND EXISTS (SELECT 1 FROM json_each(_collectors_records.metadata) AS m WHERE m.key = ",
    );
    q.push_bind(key.to_owned());
    match value {
        Value::Null => {
            q.push(" AND m.type = 'null'");
        }
        Value::Bool(true) => {
            q.push(" AND m.type = 'true'");
        }
        Value::Bool(false) => {
            q.push(" AND m.type = 'false'");
        }
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                q.push(" AND m.type = 'integer' AND m.atom = ");
                q.push_bind(i);
            } else {
                // Floats, and integers beyond i64 (SQLite reads those as reals).
                q.push(" AND m.type = 'real' AND m.atom = ");
                q.push_bind(n.as_f64().unwrap_or(f64::NAN));
            }
        }
        Value::String(s) => {
            q.push(" AND m.type = 'text' AND m.atom = ");
            q.push_bind(s.clone());
        }
        Value::Array(_) | Value::Object(_) => {
            q.push(if value.is_array() {
                " AND m.type = 'array' AND m.value = json("
            } else {
                " AND m.type = 'object' AND m.value = json("
            });
            q.push_bind(value.to_string());
            q.push(")");
        }
    }
    q.push(")");
}

#[async_trait]
impl StorageBackend for SqliteStorage {
    fn backend_id(&self) -> &str {
        &self.backend_id
    }

    async fn connect(&self) -> Result<()> {
        let mut pool = self.pool.write().await;
        if pool.is_some() {
            return Ok(());
        }
        let opened = self
            .database
            .connect()
            .await
            .map_err(|e| self.tag(e, "connect"))?;
        for sql in SCHEMA_SQL {
            if let Err(e) = sqlx::query(sql).execute(&opened).await {
                opened.close().await;
                return Err(self.sqlx(e, "connect", "creating the record tables"));
            }
        }
        self.cache_schema(None);
        *pool = Some(opened);
        tracing::debug!(backend = %self.backend_id, database = %self.database.display, "connected");
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        let pool = self.pool.write().await.take();
        if let Some(pool) = pool {
            pool.close().await;
            tracing::debug!(backend = %self.backend_id, "disconnected");
        }
        Ok(())
    }

    async fn store(&self, record: Record) -> Result<StorageLocation> {
        let mut locations = self.store_batch(vec![record]).await?;
        locations
            .pop()
            .ok_or_else(|| self.tag(Error::storage("no location returned"), "store"))
    }

    async fn store_batch(&self, records: Vec<Record>) -> Result<Vec<StorageLocation>> {
        self.store_in_transaction(records, None).await
    }

    async fn query(&self, criteria: &QueryCriteria) -> Result<Vec<StoredRecord>> {
        let pool = self.pool("query").await?;
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT key, kind, metadata, created_at, payload, data_table, row_count \
             FROM _collectors_records WHERE 1 = 1",
        );
        if let Some(key) = &criteria.key {
            q.push(" AND key = ").push_bind(key.clone());
        }
        if let Some(prefix) = &criteria.key_prefix {
            q.push(" AND key >= ").push_bind(prefix.clone());
            if let Some(upper) = prefix_upper_bound(prefix) {
                q.push(" AND key < ").push_bind(upper);
            }
        }
        if let Some(after) = criteria.created_after {
            q.push(" AND created_at >= ")
                .push_bind(timestamp_text(after));
        }
        if let Some(before) = criteria.created_before {
            q.push(" AND created_at < ")
                .push_bind(timestamp_text(before));
        }
        for (key, value) in &criteria.metadata {
            push_metadata_condition(&mut q, key, value);
        }
        let limit = criteria
            .limit
            .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let offset = i64::try_from(criteria.offset).unwrap_or(i64::MAX);
        q.push(" ORDER BY key LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);

        // One read transaction: the records and their rows come from the same snapshot.
        let mut tx = pool
            .begin()
            .await
            .map_err(|e| self.sqlx(e, "query", "starting a transaction"))?;
        let rows = q
            .build()
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.sqlx(e, "query", "selecting records"))?;
        let mut schemas = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.read_record(&mut tx, row, &mut schemas).await?);
        }
        tx.commit()
            .await
            .map_err(|e| self.sqlx(e, "query", "ending the read transaction"))?;
        Ok(out)
    }

    async fn delete(&self, location_id: &str) -> Result<bool> {
        let pool = self.pool("delete").await?;
        let mut tx = pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.sqlx(e, "delete", "starting a transaction"))?;
        let found: Option<Option<String>> =
            sqlx::query_scalar("SELECT data_table FROM _collectors_records WHERE key = ?")
                .bind(location_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| self.sqlx(e, "delete", "finding the record"))?;
        let Some(data_table) = found else {
            return Ok(false);
        };
        if let Some(table) = data_table {
            sqlx::query(&format!(
                "DELETE FROM {} WHERE {KEY_COLUMN} = ?",
                quote_ident(&table)
            ))
            .bind(location_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.sqlx(e, "delete", &format!("deleting rows from {table}")))?;
        }
        sqlx::query("DELETE FROM _collectors_records WHERE key = ?")
            .bind(location_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.sqlx(e, "delete", "deleting the record"))?;
        tx.commit()
            .await
            .map_err(|e| self.sqlx(e, "delete", "committing"))?;
        Ok(true)
    }
}

/// Records and the checkpoints they complete commit in one transaction, in the same database
/// a [`SqliteCheckpointStore`](super::SqliteCheckpointStore) on this file reads.
#[async_trait]
impl TransactionalCheckpoints for SqliteStorage {
    async fn store_batch_with_checkpoints(
        &self,
        records: Vec<Record>,
        pipeline: &str,
        checkpoints: &[ItemCheckpoint],
    ) -> Result<Vec<StorageLocation>> {
        self.store_in_transaction(records, Some((pipeline, checkpoints)))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_upper_bounds() {
        assert_eq!(prefix_upper_bound("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_upper_bound("a/").as_deref(), Some("a0"));
        assert_eq!(
            prefix_upper_bound("a\u{10FFFF}").as_deref(),
            Some("b"),
            "a maximal last char carries"
        );
        assert_eq!(prefix_upper_bound(""), None);
        // Skips the surrogate gap.
        assert_eq!(prefix_upper_bound("\u{D7FF}").as_deref(), Some("\u{E000}"));
    }
}
