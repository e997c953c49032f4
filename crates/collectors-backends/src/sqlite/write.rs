//! Writing: `store_batch` (with or without checkpoints) as one `BEGIN IMMEDIATE`
//! transaction, and `delete`.

use std::collections::HashMap;

use arrow_schema::{Schema, SchemaRef};
use collectors_core::{Error, ItemCheckpoint, Payload, Record, Result};
use sqlx::sqlite::SqliteConnection;
use sqlx::{QueryBuilder, Sqlite};

use super::catalog::{kind_name, timestamp_text};
use super::checkpoint::{create_checkpoint_tables, write_checkpoints};
use super::rows::{TableRows, insert_rows};
use super::schema::{
    ID_COLUMN, check_schema, create_table_sql, id_range, quote_ident, same_fields,
};
use super::storage::SqliteStorage;
use super::transaction::{BEGIN_WRITE, Transaction};
use crate::sql_table::schema_to_json;

/// Keys per `DELETE … IN (…)` and records per multi-row upsert.
const KEYS_PER_STATEMENT: usize = 500;

impl SqliteStorage {
    /// One `BEGIN IMMEDIATE` transaction: the records and, when given, the checkpoints they
    /// complete.
    pub(super) async fn store_in_transaction(
        &self,
        records: &[Record],
        checkpoints: Option<(&str, &[ItemCheckpoint])>,
    ) -> Result<()> {
        let pool = self.pool("store_batch").await?;
        if records.is_empty() && checkpoints.is_none_or(|(_, c)| c.is_empty()) {
            return Ok(());
        }
        let mut tx = Transaction::begin(&pool, BEGIN_WRITE)
            .await
            .map_err(|e| self.sqlx(e, "store_batch", "starting a transaction"))?;
        let written = async {
            let conn = tx.conn();
            let written = self.write(conn, records).await?;
            if let Some((pipeline, checkpoints)) = checkpoints.filter(|(_, c)| !c.is_empty()) {
                create_checkpoint_tables(conn).await?;
                write_checkpoints(conn, pipeline, checkpoints).await?;
            }
            Ok(written)
        }
        .await;
        let schema = tx
            .finish(written, |e| self.sqlx(e, "store_batch", "committing"))
            .await?;
        if schema.is_some() {
            self.cache_schema(schema);
        }
        tracing::trace!(backend = %self.backend_id, records = records.len(), "stored batch");
        Ok(())
    }

    /// Writes `records` in the open transaction; returns the table schema it created, if any.
    async fn write(
        &self,
        conn: &mut SqliteConnection,
        records: &[Record],
    ) -> Result<Option<SchemaRef>> {
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

        // The records first: their ids place their rows.
        let encoded: Vec<EncodedRecord<'_>> = kept
            .iter()
            .map(|r| EncodedRecord::of(r, &self.table))
            .collect::<Result<_>>()
            .map_err(|e| self.tag(e, op))?;
        let mut ids: HashMap<String, i64> = HashMap::with_capacity(encoded.len());
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
                 row_count = excluded.row_count RETURNING key, id",
            );
            let returned: Vec<(String, i64)> = q
                .build_query_as()
                .persistent(chunk.len() == KEYS_PER_STATEMENT)
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| self.sqlx(e, op, "writing records"))?;
            ids.extend(returned);
        }

        // Replace: drop every kept key's old rows (a fresh table has none): one range of
        // the table's row ids per record.
        if table_schema.is_some() && !created {
            let delete = format!(
                "DELETE FROM {} WHERE {ID_COLUMN} BETWEEN ? AND ?",
                quote_ident(&self.table)
            );
            for id in ids.values() {
                let (first, last) = id_range(*id);
                sqlx::query(&delete)
                    .bind(first)
                    .bind(last)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| self.sqlx(e, op, "deleting replaced rows"))?;
            }
        }

        let mut tables: Vec<TableRows<'_>> = Vec::new();
        for r in &kept {
            if let Payload::Table(batch) = &r.payload {
                let id = ids.get(r.key.as_str()).copied().ok_or_else(|| {
                    self.tag(
                        Error::invalid_state(format!("record {:?} got no id", r.key)),
                        op,
                    )
                })?;
                tables.push(TableRows { id, batch });
            }
        }
        insert_rows(conn, &self.table, &tables)
            .await
            .map_err(|e| self.tag(e, op))?;

        Ok(table_schema)
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
