//! Writing: `store_batch` (with or without checkpoints) as one `BEGIN IMMEDIATE`
//! transaction on the store's write connection (rusqlite, see `writer.rs`), and `delete`.

use std::collections::HashMap;

use arrow_schema::{Schema, SchemaRef};
use collectors_core::{Error, ItemCheckpoint, Payload, Record, Result};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension};

use super::catalog::{kind_name, timestamp_text};
use super::checkpoint::write_checkpoints_with_records;
use super::error::from_rusqlite;
use super::rows::{TableRows, insert_rows};
use super::schema::{
    ID_COLUMN, check_schema, create_table_sql, id_range, quote_ident, same_fields,
};
use super::storage::SqliteStorage;
use super::transaction::{BEGIN_WRITE, Transaction};
use crate::sql_table::{schema_from_json, schema_to_json};

/// Removes a record that is stored again, answering its id and data table: its rows go
/// with it, and the new record gets a new id.
const REMOVE_RECORD_SQL: &str =
    "DELETE FROM _collectors_records WHERE key = ?1 RETURNING id, data_table";
/// Adds a record and answers its id: one above the largest, so its rows are appended at the
/// end of the data table (see `rows::insert_rows`).
const INSERT_RECORD_SQL: &str = "INSERT INTO _collectors_records \
     (key, kind, metadata, created_at, payload, data_table, row_count) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id";

impl SqliteStorage {
    /// One `BEGIN IMMEDIATE` transaction on the write connection: the records and, when
    /// given, the checkpoints they complete.
    pub(super) async fn store_in_transaction(
        &self,
        records: &[Record],
        checkpoints: Option<(&str, &[ItemCheckpoint])>,
    ) -> Result<()> {
        let op = "store_batch";
        self.pool(op).await?;
        let checkpoints = checkpoints.filter(|(_, c)| !c.is_empty());
        if records.is_empty() && checkpoints.is_none() {
            return Ok(());
        }
        // Owned, for the blocking thread: the arrays are shared, not copied.
        let job = WriteJob {
            table: self.table.clone(),
            cached_schema: self.cached_schema(),
            records: records.to_vec(),
            checkpoints: checkpoints.map(|(pipeline, c)| (pipeline.to_owned(), c.to_vec())),
        };
        let schema = self
            .writer()
            .transaction(move |conn| job.run(conn))
            .await
            .map_err(|e| self.tag(e, op))?;
        if schema.is_some() {
            self.cache_schema(schema);
        }
        tracing::trace!(backend = %self.backend_id, records = records.len(), "stored batch");
        Ok(())
    }

    /// Deletes the record with key `location_id` and its rows; `false` when there is none.
    pub(super) async fn delete_record(&self, location_id: &str) -> Result<bool> {
        let pool = self.pool("delete").await?;
        let mut tx = Transaction::begin(&pool, BEGIN_WRITE)
            .await
            .map_err(|e| self.sqlx(e, "delete", "starting a transaction"))?;
        let deleted = async {
            let conn = tx.conn();
            let found: Option<(i64, Option<String>)> =
                sqlx::query_as("SELECT id, data_table FROM _collectors_records WHERE key = ?")
                    .bind(location_id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(|e| self.sqlx(e, "delete", "finding the record"))?;
            let Some((id, data_table)) = found else {
                return Ok(false);
            };
            if let Some(table) = data_table {
                let (first, last) = id_range(id);
                sqlx::query(&format!(
                    "DELETE FROM {} WHERE {ID_COLUMN} BETWEEN ? AND ?",
                    quote_ident(&table)
                ))
                .bind(first)
                .bind(last)
                .execute(&mut *conn)
                .await
                .map_err(|e| self.sqlx(e, "delete", &format!("deleting rows from {table}")))?;
            }
            sqlx::query("DELETE FROM _collectors_records WHERE key = ?")
                .bind(location_id)
                .execute(&mut *conn)
                .await
                .map_err(|e| self.sqlx(e, "delete", "deleting the record"))?;
            Ok(true)
        }
        .await;
        tx.finish(deleted, |e| self.sqlx(e, "delete", "committing"))
            .await
    }
}

/// What one `store_batch` writes, owned so that it can run on the blocking thread.
struct WriteJob {
    table: String,
    /// The data table's schema, when the store knows it exists.
    cached_schema: Option<SchemaRef>,
    records: Vec<Record>,
    checkpoints: Option<(String, Vec<ItemCheckpoint>)>,
}

impl WriteJob {
    /// Writes everything in the open transaction of `conn`; returns the data table's
    /// schema when there is one.
    fn run(self, conn: &Connection) -> Result<Option<SchemaRef>> {
        let schema = self.write_records(conn)?;
        if let Some((pipeline, checkpoints)) = &self.checkpoints {
            write_checkpoints_with_records(conn, pipeline, checkpoints)?;
        }
        Ok(schema)
    }

    fn write_records(&self, conn: &Connection) -> Result<Option<SchemaRef>> {
        let records = &self.records;
        // Check the tables before writing anything: one schema per batch, supported types.
        let mut batch_schema: Option<SchemaRef> = None;
        for record in records {
            if let Payload::Table(batch) = &record.payload {
                match &batch_schema {
                    None => {
                        check_schema(batch.schema_ref())?;
                        batch_schema = Some(batch.schema());
                    }
                    Some(first) if !same_fields(first, batch.schema_ref()) => {
                        return Err(Error::validation(format!(
                            "record {:?} has schema {} but an earlier record of the batch has {}",
                            record.key,
                            batch.schema(),
                            first
                        )));
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

        let stored = match &self.cached_schema {
            Some(schema) => Some(schema.clone()),
            None => self.load_schema(conn)?,
        };
        let table_schema = match (stored, batch_schema) {
            (Some(stored), Some(batch)) => {
                if !same_fields(&stored, &batch) {
                    return Err(Error::validation(format!(
                        "table {:?} has schema {stored} but the batch has {batch}",
                        self.table
                    )));
                }
                Some(stored)
            }
            (None, Some(batch)) => {
                self.create_table(conn, &batch)?;
                Some(batch)
            }
            (stored, None) => stored,
        };

        // The records first: their ids place their rows. A key stored again is removed
        // with its rows, then added anew.
        let mut remove = conn
            .prepare_cached(REMOVE_RECORD_SQL)
            .map_err(|e| from_rusqlite(e, "replacing records"))?;
        let mut insert = conn
            .prepare_cached(INSERT_RECORD_SQL)
            .map_err(|e| from_rusqlite(e, "writing records"))?;
        let delete_rows = format!(
            "DELETE FROM {} WHERE {ID_COLUMN} BETWEEN ?1 AND ?2",
            quote_ident(&self.table)
        );
        let mut ids = Vec::with_capacity(kept.len());
        for record in &kept {
            let removed: Option<(i64, Option<String>)> = remove
                .query_row([&record.key], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
                .map_err(|e| from_rusqlite(e, "replacing records"))?;
            if let Some((old, Some(data_table))) = removed {
                let (first, last) = id_range(old);
                let deleted = if data_table == self.table {
                    conn.prepare_cached(&delete_rows)
                        .and_then(|mut q| q.execute([first, last]))
                } else {
                    conn.execute(
                        &format!(
                            "DELETE FROM {} WHERE {ID_COLUMN} BETWEEN ?1 AND ?2",
                            quote_ident(&data_table)
                        ),
                        [first, last],
                    )
                };
                deleted.map_err(|e| from_rusqlite(e, "deleting replaced rows"))?;
            }
            let r = EncodedRecord::of(record, &self.table)?;
            let payload = match &r.payload {
                EncodedPayload::Null => ToSqlOutput::Borrowed(ValueRef::Null),
                EncodedPayload::Text(text) => {
                    ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes()))
                }
                EncodedPayload::Blob(bytes) => ToSqlOutput::Borrowed(ValueRef::Blob(bytes)),
            };
            let id: i64 = insert
                .query_row(
                    rusqlite::params![
                        r.key,
                        r.kind,
                        r.metadata,
                        r.created_at,
                        payload,
                        r.data_table,
                        r.row_count
                    ],
                    |row| row.get(0),
                )
                .map_err(|e| from_rusqlite(e, "writing records"))?;
            ids.push(id);
        }

        let tables: Vec<TableRows<'_>> = kept
            .iter()
            .zip(&ids)
            .filter_map(|(r, &id)| match &r.payload {
                Payload::Table(batch) => Some(TableRows { id, batch }),
                _ => None,
            })
            .collect();
        insert_rows(conn, &self.table, &tables)?;
        Ok(table_schema)
    }

    /// The stored Arrow schema of the data table, if it exists.
    fn load_schema(&self, conn: &Connection) -> Result<Option<SchemaRef>> {
        let json: Option<String> = conn
            .prepare_cached("SELECT schema FROM _collectors_tables WHERE name = ?1")
            .and_then(|mut q| q.query_row([&self.table], |row| row.get(0)).optional())
            .map_err(|e| from_rusqlite(e, "reading the table schema"))?;
        json.map(|json| schema_from_json(&self.table, &json).map(std::sync::Arc::new))
            .transpose()
    }

    fn create_table(&self, conn: &Connection, schema: &Schema) -> Result<()> {
        let json = schema_to_json(schema)?;
        conn.execute(&create_table_sql(&self.table, schema), [])
            .map_err(|e| from_rusqlite(e, &format!("creating table {}", self.table)))?;
        conn.execute(
            "INSERT INTO _collectors_tables (name, schema) VALUES (?1, ?2)",
            [&self.table, &json],
        )
        .map_err(|e| from_rusqlite(e, "recording the table schema"))?;
        tracing::info!(table = %self.table, %schema, "created data table");
        Ok(())
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
