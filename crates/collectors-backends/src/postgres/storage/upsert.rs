//! Writing: `store_batch` (with or without checkpoints) as one transaction — the record rows
//! upserted on their key, the table rows loaded by `COPY` (through a staging table and
//! `INSERT … ON CONFLICT` for replaced records) — and `delete`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{Schema, SchemaRef};
use chrono::SecondsFormat;
use collectors_core::{Error, ItemCheckpoint, Payload, Record, Result};
use sqlx::PgConnection;

use super::catalog::kind_name;
use super::copy::{RecordRows, copy_rows};
use super::schema::{
    ID_COLUMN, ROW_BITS, check_schema, column_list, create_table_sql, quote_ident, same_fields,
};
use super::store::PostgresStorage;
use crate::postgres::checkpoint::write_checkpoints;
use crate::sql_table::{schema_from_json, schema_to_json};

/// The temporary table replaced records' rows are copied into.
const STAGING: &str = "_collectors_staging";
/// The largest record id whose rows' ids fit `_id` (`id << 32` must stay positive).
const MAX_RECORD_ID: i64 = (1 << (63 - ROW_BITS)) - 1;

impl PostgresStorage {
    /// One transaction: the records and, when given, the checkpoints they complete.
    pub(super) async fn store_in_transaction(
        &self,
        records: &[Record],
        checkpoints: Option<(&str, &[ItemCheckpoint])>,
    ) -> Result<()> {
        let op = "store_batch";
        let pool = self.pool(op).await?;
        if records.is_empty() && checkpoints.is_none_or(|(_, c)| c.is_empty()) {
            return Ok(());
        }
        // Everything that can be checked without the database is, before it is touched.
        let batch_schema = self.batch_schema(records).map_err(|e| self.tag(e, op))?;
        let kept = last_of_each_key(records);
        let encoded: Vec<EncodedRecord<'_>> = kept
            .iter()
            .map(|r| EncodedRecord::of(r, &self.table))
            .collect::<Result<_>>()
            .map_err(|e| self.tag(e, op))?;

        let mut tx = pool
            .begin()
            .await
            .map_err(|e| self.sqlx(e, op, "starting a transaction"))?;
        let written = async {
            let schema = self.write(&mut tx, &kept, &encoded, batch_schema).await?;
            if let Some((pipeline, checkpoints)) = checkpoints.filter(|(_, c)| !c.is_empty()) {
                write_checkpoints(&mut tx, pipeline, checkpoints).await?;
            }
            Ok::<_, Error>(schema)
        }
        .await;
        match written {
            Ok(schema) => {
                tx.commit()
                    .await
                    .map_err(|e| self.sqlx(e, op, "committing"))?;
                if schema.is_some() {
                    self.cache_schema(schema);
                }
                tracing::trace!(backend = %self.backend_id, records = records.len(), "stored batch");
                Ok(())
            }
            Err(e) => {
                // A broken connection cannot roll back; the server drops its transaction.
                if let Err(rollback) = tx.rollback().await {
                    tracing::debug!(backend = %self.backend_id, error = %rollback, "rollback failed");
                }
                Err(e)
            }
        }
    }

    /// The one table schema of the batch's table records, checked; `None` without any.
    fn batch_schema(&self, records: &[Record]) -> Result<Option<SchemaRef>> {
        let mut batch_schema: Option<SchemaRef> = None;
        for record in records {
            if let Payload::Table(batch) = &record.payload {
                if batch.num_rows() as u64 > u64::from(u32::MAX) {
                    return Err(Error::validation(format!(
                        "record {:?} has {} rows; a record holds at most 2^32 - 1",
                        record.key,
                        batch.num_rows()
                    )));
                }
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
        Ok(batch_schema)
    }

    /// Writes the records in the open transaction; returns the table's schema when the
    /// batch had table records.
    async fn write(
        &self,
        conn: &mut PgConnection,
        kept: &[&Record],
        encoded: &[EncodedRecord<'_>],
        batch_schema: Option<SchemaRef>,
    ) -> Result<Option<SchemaRef>> {
        let op = "store_batch";
        let table_schema = match batch_schema {
            Some(batch) => Some(self.table_for(conn, batch).await?),
            None => None,
        };
        if encoded.is_empty() {
            return Ok(table_schema);
        }

        // The record rows: one upsert for the whole batch, which says which keys are new.
        let mut columns = RecordColumns::default();
        for r in encoded {
            columns.push(r);
        }
        let returned: Vec<(String, i64, bool)> = sqlx::query_as(
            "INSERT INTO _collectors_records \
             (scope, key, kind, metadata, created_at, payload, data_table, row_count) \
             SELECT $8, * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[]::JSONB[], \
             $4::TEXT[]::TIMESTAMPTZ[], $5::BYTEA[], $6::TEXT[], $7::INT8[]) \
             ON CONFLICT (scope, key) DO UPDATE SET kind = excluded.kind, \
             metadata = excluded.metadata, created_at = excluded.created_at, \
             payload = excluded.payload, data_table = excluded.data_table, \
             row_count = excluded.row_count \
             RETURNING key, id, (xmax = 0) AS inserted",
        )
        .bind(&columns.keys)
        .bind(&columns.kinds)
        .bind(&columns.metadata)
        .bind(&columns.created_at)
        .bind(&columns.payloads)
        .bind(&columns.tables)
        .bind(&columns.row_counts)
        .bind(&self.table)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| self.sqlx(e, op, "writing records"))?;
        let ids: HashMap<String, (i64, bool)> = returned
            .into_iter()
            .map(|(key, id, inserted)| (key, (id, inserted)))
            .collect();
        let id_of = |key: &str| {
            let (id, inserted) = ids.get(key).copied().ok_or_else(|| {
                self.tag(
                    Error::invalid_state(format!("record {key:?} got no id")),
                    op,
                )
            })?;
            if id > MAX_RECORD_ID {
                return Err(self.tag(
                    Error::invalid_state(format!(
                        "record id {id} is past {MAX_RECORD_ID}, the last whose rows fit `_id`"
                    )),
                    op,
                ));
            }
            Ok((id, inserted))
        };

        // Replaced keys lose their rows past the new row count (all of them when the new
        // payload is not a table); the rest are overwritten by the upsert below.
        let (mut trim_ids, mut keep_rows) = (Vec::new(), Vec::new());
        for r in kept {
            let (id, inserted) = id_of(&r.key)?;
            if !inserted {
                trim_ids.push(id);
                keep_rows.push(r.payload.num_rows().unwrap_or(0) as i64);
            }
        }
        self.trim_replaced(conn, &trim_ids, &keep_rows).await?;
        let Some(schema) = table_schema else {
            return Ok(None);
        };
        let (mut fresh, mut replaced) = (Vec::new(), Vec::new());
        for r in kept {
            if let Payload::Table(batch) = &r.payload {
                let (id, inserted) = id_of(&r.key)?;
                let rows = RecordRows { id, batch };
                if inserted && !self.stage_new_records {
                    fresh.push(rows);
                } else {
                    replaced.push(rows);
                }
            }
        }
        if !fresh.is_empty() {
            copy_rows(conn, &self.table, &schema, &fresh, self.copy_format)
                .await
                .map_err(|e| self.tag(e, op))?;
        }
        if !replaced.is_empty() {
            self.upsert_staged(conn, &schema, &replaced).await?;
        }
        Ok(Some(schema))
    }

    /// Deletes the rows of records `ids` from row `keep[i]` on.
    async fn trim_replaced(
        &self,
        conn: &mut PgConnection,
        ids: &[i64],
        keep: &[i64],
    ) -> Result<()> {
        if ids.is_empty() || !self.table_exists(conn).await? {
            return Ok(());
        }
        sqlx::query(&format!(
            "DELETE FROM {t} USING UNNEST($1::INT8[], $2::INT8[]) AS r(id, n) \
             WHERE {t}.{ID_COLUMN} >= (r.id << {ROW_BITS}) + r.n \
             AND {t}.{ID_COLUMN} <= (r.id << {ROW_BITS}) + {last_row}",
            t = quote_ident(&self.table),
            last_row = u32::MAX,
        ))
        .bind(ids)
        .bind(keep)
        .execute(&mut *conn)
        .await
        .map_err(|e| self.sqlx(e, "store_batch", "deleting replaced rows"))?;
        Ok(())
    }

    /// `COPY` into a staging table, then `INSERT … SELECT … ON CONFLICT (_id) DO UPDATE`.
    async fn upsert_staged(
        &self,
        conn: &mut PgConnection,
        schema: &Schema,
        records: &[RecordRows<'_>],
    ) -> Result<()> {
        let op = "store_batch";
        let table = quote_ident(&self.table);
        sqlx::query(&format!(
            "CREATE TEMPORARY TABLE {STAGING} (LIKE {table}) ON COMMIT DROP"
        ))
        .execute(&mut *conn)
        .await
        .map_err(|e| self.sqlx(e, op, "creating the staging table"))?;
        copy_rows(conn, STAGING, schema, records, self.copy_format)
            .await
            .map_err(|e| self.tag(e, op))?;
        let columns = column_list(schema);
        let action = if schema.fields().is_empty() {
            "DO NOTHING".to_owned()
        } else {
            let set: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| {
                    let c = quote_ident(f.name());
                    format!("{c} = excluded.{c}")
                })
                .collect();
            format!("DO UPDATE SET {}", set.join(", "))
        };
        sqlx::query(&format!(
            "INSERT INTO {table} ({columns}) SELECT {columns} FROM {STAGING} \
             ON CONFLICT ({ID_COLUMN}) {action}"
        ))
        .persistent(false)
        .execute(&mut *conn)
        .await
        .map_err(|e| self.sqlx(e, op, "moving staged rows"))?;
        // Dropped at commit; dropped now, a second batch of this transaction could stage.
        sqlx::query(&format!("DROP TABLE {STAGING}"))
            .execute(&mut *conn)
            .await
            .map_err(|e| self.sqlx(e, op, "dropping the staging table"))?;
        Ok(())
    }

    /// Whether the data table is known to `_collectors_tables`.
    async fn table_exists(&self, conn: &mut PgConnection) -> Result<bool> {
        if self.cached_schema().is_some() {
            return Ok(true);
        }
        Ok(self
            .load_schema(conn, &self.table, "store_batch")
            .await?
            .is_some())
    }

    /// The data table's schema, creating the table from `batch` when it does not exist;
    /// a table with other fields is a validation error.
    async fn table_for(&self, conn: &mut PgConnection, batch: SchemaRef) -> Result<SchemaRef> {
        let op = "store_batch";
        let stored = match self.cached_schema() {
            Some(schema) => Some(schema),
            None => self.load_schema(conn, &self.table, op).await?,
        };
        let stored = match stored {
            Some(stored) => stored,
            None => {
                // One creator at a time: a second run waits, then sees the table.
                sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                    .bind(format!("_collectors_tables/{}", self.table))
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| self.sqlx(e, op, "locking the table list"))?;
                match self.load_schema(conn, &self.table, op).await? {
                    Some(stored) => stored,
                    None => {
                        self.create_table(conn, &batch).await?;
                        return Ok(batch);
                    }
                }
            }
        };
        if !same_fields(&stored, &batch) {
            return Err(self.tag(
                Error::validation(format!(
                    "table {:?} has schema {stored} but the batch has {batch}",
                    self.table
                )),
                op,
            ));
        }
        Ok(stored)
    }

    async fn create_table(&self, conn: &mut PgConnection, schema: &Schema) -> Result<()> {
        let op = "store_batch";
        let json = schema_to_json(schema).map_err(|e| self.tag(e, op))?;
        sqlx::query(&create_table_sql(&self.table, schema))
            .execute(&mut *conn)
            .await
            .map_err(|e| {
                let exists = matches!(&e, sqlx::Error::Database(db) if db.code().as_deref() == Some("42P07"));
                if exists {
                    self.tag(
                        Error::invalid_state(format!(
                            "table {:?} exists in {} but was not created by a collectors \
                             store (it is not in _collectors_tables); choose another table",
                            self.table, self.shown
                        ))
                        .with_source(e),
                        op,
                    )
                } else {
                    self.sqlx(e, op, &format!("creating table {}", self.table))
                }
            })?;
        sqlx::query("INSERT INTO _collectors_tables (name, schema) VALUES ($1, $2)")
            .bind(&self.table)
            .bind(json)
            .execute(&mut *conn)
            .await
            .map_err(|e| self.sqlx(e, op, "recording the table schema"))?;
        tracing::info!(backend = %self.backend_id, table = %self.table, %schema, "created data table");
        Ok(())
    }

    /// The stored Arrow schema of data table `table`, if it exists.
    pub(super) async fn load_schema(
        &self,
        conn: &mut PgConnection,
        table: &str,
        op: &str,
    ) -> Result<Option<SchemaRef>> {
        let json: Option<String> =
            sqlx::query_scalar("SELECT schema FROM _collectors_tables WHERE name = $1")
                .bind(table)
                .fetch_optional(&mut *conn)
                .await
                .map_err(|e| self.sqlx(e, op, "reading the table schema"))?;
        json.map(|json| schema_from_json(table, &json).map(Arc::new))
            .transpose()
            .map_err(|e| self.tag(e, op))
    }

    /// Deletes the record with key `location_id` and its rows; `false` when there is none.
    pub(super) async fn delete_record(&self, location_id: &str) -> Result<bool> {
        let op = "delete";
        let pool = self.pool(op).await?;
        let mut tx = pool
            .begin()
            .await
            .map_err(|e| self.sqlx(e, op, "starting a transaction"))?;
        let found: Option<(i64, Option<String>)> = sqlx::query_as(
            "DELETE FROM _collectors_records WHERE scope = $1 AND key = $2 \
             RETURNING id, data_table",
        )
        .bind(&self.table)
        .bind(location_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| self.sqlx(e, op, "deleting the record"))?;
        let Some((id, data_table)) = found else {
            return Ok(false);
        };
        if let Some(table) = data_table {
            let first = id << ROW_BITS;
            sqlx::query(&format!(
                "DELETE FROM {} WHERE {ID_COLUMN} BETWEEN $1 AND $2",
                quote_ident(&table)
            ))
            .bind(first)
            .bind(first + i64::from(u32::MAX))
            .execute(&mut *tx)
            .await
            .map_err(|e| self.sqlx(e, op, &format!("deleting rows from {table}")))?;
        }
        tx.commit()
            .await
            .map_err(|e| self.sqlx(e, op, "committing"))?;
        Ok(true)
    }
}

/// The records of `records`, the last of each key only (an earlier one is replaced within
/// the batch), in their order.
fn last_of_each_key(records: &[Record]) -> Vec<&Record> {
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        last.insert(record.key.as_str(), i);
    }
    records
        .iter()
        .enumerate()
        .filter(|(i, r)| last.get(r.key.as_str()) == Some(i))
        .map(|(_, r)| r)
        .collect()
}

/// A record's `_collectors_records` row, encoded before binding.
struct EncodedRecord<'a> {
    key: &'a str,
    kind: &'static str,
    metadata: String,
    created_at: String,
    payload: Option<Vec<u8>>,
    data_table: Option<&'a str>,
    row_count: Option<i64>,
}

impl<'a> EncodedRecord<'a> {
    fn of(record: &'a Record, table: &'a str) -> Result<Self> {
        let metadata = serde_json::to_string(&record.metadata).map_err(|e| {
            Error::validation(format!("record {:?}: metadata: {e}", record.key)).with_source(e)
        })?;
        let (payload, data_table, row_count) = match &record.payload {
            Payload::Empty => (None, None, None),
            Payload::Bytes(bytes) => (Some(bytes.to_vec()), None, None),
            Payload::Json(value) => {
                let text = serde_json::to_vec(value).map_err(|e| {
                    Error::validation(format!("record {:?}: payload: {e}", record.key))
                        .with_source(e)
                })?;
                (Some(text), None, None)
            }
            Payload::Table(batch) => (
                None,
                Some(table),
                Some(i64::try_from(batch.num_rows()).unwrap_or(i64::MAX)),
            ),
        };
        Ok(Self {
            key: &record.key,
            kind: kind_name(&record.payload),
            metadata,
            created_at: record
                .created_at
                .to_rfc3339_opts(SecondsFormat::Micros, true),
            payload,
            data_table,
            row_count,
        })
    }
}

/// The record rows as the arrays `UNNEST` takes.
#[derive(Default)]
struct RecordColumns<'a> {
    keys: Vec<&'a str>,
    kinds: Vec<&'static str>,
    metadata: Vec<&'a str>,
    created_at: Vec<&'a str>,
    payloads: Vec<Option<&'a [u8]>>,
    tables: Vec<Option<&'a str>>,
    row_counts: Vec<Option<i64>>,
}

impl<'a> RecordColumns<'a> {
    fn push(&mut self, r: &'a EncodedRecord<'a>) {
        self.keys.push(r.key);
        self.kinds.push(r.kind);
        self.metadata.push(&r.metadata);
        self.created_at.push(&r.created_at);
        self.payloads.push(r.payload.as_deref());
        self.tables.push(r.data_table);
        self.row_counts.push(r.row_count);
    }
}
