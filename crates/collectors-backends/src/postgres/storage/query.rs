//! Reading: `query` filters in SQL with bound parameters and rebuilds records, table rows
//! included, from one `REPEATABLE READ` snapshot.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Float32Array, Float64Array, Int8Array,
    Int16Array, Int32Array, Int64Array, LargeBinaryArray, LargeStringArray, RecordBatch,
    RecordBatchOptions, StringArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray, UInt8Array, UInt16Array, UInt32Array,
    UInt64Array,
};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use chrono::{DateTime, SecondsFormat, Utc};
use collectors_core::{Error, Metadata, Payload, QueryCriteria, Record, Result, StoredRecord};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use super::schema::{ID_COLUMN, ROW_BITS, quote_ident};
use super::store::PostgresStorage;

impl PostgresStorage {
    /// The records matching `criteria`, ordered by key and paged.
    pub(super) async fn query_records(
        &self,
        criteria: &QueryCriteria,
    ) -> Result<Vec<StoredRecord>> {
        let op = "query";
        let pool = self.pool(op).await?;
        let mut q = QueryBuilder::<Postgres>::new(
            "SELECT id, key, kind, metadata::TEXT AS metadata, \
             (EXTRACT(EPOCH FROM created_at) * 1000000)::BIGINT AS created_us, payload, \
             data_table FROM _collectors_records WHERE scope = ",
        );
        q.push_bind(self.table.clone());
        if let Some(key) = &criteria.key {
            q.push(" AND key = ").push_bind(key.clone());
        }
        if let Some(prefix) = &criteria.key_prefix {
            // `key >=` lets the key index bound the scan; `starts_with` decides.
            q.push(" AND key >= ")
                .push_bind(prefix.clone())
                .push(" AND starts_with(key, ")
                .push_bind(prefix.clone())
                .push(")");
        }
        if let Some(after) = criteria.created_after {
            q.push(" AND created_at >= ")
                .push_bind(after.to_rfc3339_opts(SecondsFormat::Micros, true))
                .push("::TIMESTAMPTZ");
        }
        if let Some(before) = criteria.created_before {
            q.push(" AND created_at < ")
                .push_bind(before.to_rfc3339_opts(SecondsFormat::Micros, true))
                .push("::TIMESTAMPTZ");
        }
        for (key, value) in &criteria.metadata {
            q.push(" AND metadata -> ")
                .push_bind(key.clone())
                .push(" = ")
                .push_bind(value.to_string())
                .push("::JSONB");
        }
        let limit = criteria.limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let offset = i64::try_from(criteria.offset).unwrap_or(i64::MAX);
        q.push(" ORDER BY key LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(offset);

        let mut tx = pool
            .begin()
            .await
            .map_err(|e| self.sqlx(e, op, "starting a transaction"))?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(|e| self.sqlx(e, op, "starting a snapshot"))?;
        let rows = q
            .build()
            .persistent(false)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.sqlx(e, op, "selecting records"))?;
        let mut schemas = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.read_record(&mut tx, row, &mut schemas).await?);
        }
        tx.commit()
            .await
            .map_err(|e| self.sqlx(e, op, "ending the snapshot"))?;
        Ok(out)
    }

    /// Rebuilds one stored record from its `_collectors_records` row.
    async fn read_record(
        &self,
        conn: &mut PgConnection,
        row: &PgRow,
        schemas: &mut HashMap<String, SchemaRef>,
    ) -> Result<StoredRecord> {
        let op = "query";
        let decode = |e: sqlx::Error| self.sqlx(e, op, "reading records");
        let key: String = row.try_get("key").map_err(decode)?;
        let kind: &str = row.try_get("kind").map_err(decode)?;
        let metadata: &str = row.try_get("metadata").map_err(decode)?;
        let created_us: i64 = row.try_get("created_us").map_err(decode)?;
        let corrupt =
            |what: String| self.tag(Error::invalid_state(format!("record {key:?}: {what}")), op);
        let metadata: Metadata = serde_json::from_str(metadata)
            .map_err(|e| corrupt(format!("unreadable metadata: {e}")))?;
        let created_at = DateTime::<Utc>::from_timestamp_micros(created_us)
            .ok_or_else(|| corrupt(format!("created_at {created_us} µs is out of range")))?;
        let payload_bytes = || -> Result<Vec<u8>> {
            let bytes: Option<Vec<u8>> = row.try_get("payload").map_err(decode)?;
            Ok(bytes.unwrap_or_default())
        };
        let (payload, rows) = match kind {
            "empty" => (Payload::Empty, None),
            "bytes" => (Payload::Bytes(payload_bytes()?.into()), None),
            "json" => {
                let value = serde_json::from_slice(&payload_bytes()?)
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
                let id: i64 = row.try_get("id").map_err(decode)?;
                let batch = self.read_rows(conn, &table, id, schema).await?;
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

    /// The rows of record `id` in `table`, in row order, as a batch of `schema`.
    async fn read_rows(
        &self,
        conn: &mut PgConnection,
        table: &str,
        id: i64,
        schema: SchemaRef,
    ) -> Result<RecordBatch> {
        let op = "query";
        let mut sql = format!("SELECT {ID_COLUMN}");
        for field in schema.fields() {
            let c = quote_ident(field.name());
            sql.push_str(", ");
            match field.data_type() {
                // Exact: EXTRACT gives a numeric (PostgreSQL 14 and later).
                DataType::Timestamp(_, _) => {
                    sql.push_str(&format!("(EXTRACT(EPOCH FROM {c}) * 1000000)::BIGINT"));
                }
                DataType::Date32 => sql.push_str(&format!("({c} - DATE '1970-01-01')")),
                _ => sql.push_str(&c),
            }
        }
        sql.push_str(&format!(
            " FROM {} WHERE {ID_COLUMN} BETWEEN $1 AND $2 ORDER BY {ID_COLUMN}",
            quote_ident(table)
        ));
        let first = id << ROW_BITS;
        let rows = sqlx::query(&sql)
            .bind(first)
            .bind(first + i64::from(u32::MAX))
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| self.sqlx(e, op, &format!("reading rows of {table}")))?;
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for (i, field) in schema.fields().iter().enumerate() {
            arrays.push(column(&rows, i + 1, field.data_type()).map_err(|e| {
                self.tag(
                    Error::invalid_state(format!("table {table:?} column {:?}: {e}", field.name())),
                    op,
                )
            })?);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(rows.len()));
        RecordBatch::try_new_with_options(schema, arrays, &options).map_err(|e| {
            self.tag(
                Error::invalid_state(format!("table {table:?}: rows do not fit the schema: {e}")),
                op,
            )
        })
    }
}

/// Column `i` of `rows` as an Arrow array of `data_type` (the stored schema's).
fn column(rows: &[PgRow], i: usize, data_type: &DataType) -> std::result::Result<ArrayRef, String> {
    Ok(match data_type {
        DataType::Int8 => Arc::new(Int8Array::from(narrow::<i16, i8>(rows, i)?)),
        DataType::Int16 => Arc::new(Int16Array::from(get::<i16>(rows, i)?)),
        DataType::UInt8 => Arc::new(UInt8Array::from(narrow::<i16, u8>(rows, i)?)),
        DataType::Int32 => Arc::new(Int32Array::from(get::<i32>(rows, i)?)),
        DataType::UInt16 => Arc::new(UInt16Array::from(narrow::<i32, u16>(rows, i)?)),
        DataType::Int64 => Arc::new(Int64Array::from(get::<i64>(rows, i)?)),
        DataType::UInt32 => Arc::new(UInt32Array::from(narrow::<i64, u32>(rows, i)?)),
        DataType::UInt64 => Arc::new(UInt64Array::from(narrow::<i64, u64>(rows, i)?)),
        DataType::Float32 => Arc::new(Float32Array::from(get::<f32>(rows, i)?)),
        DataType::Float64 => Arc::new(Float64Array::from(get::<f64>(rows, i)?)),
        DataType::Boolean => Arc::new(BooleanArray::from(get::<bool>(rows, i)?)),
        DataType::Utf8 => Arc::new(StringArray::from(get::<String>(rows, i)?)),
        DataType::LargeUtf8 => Arc::new(LargeStringArray::from(get::<String>(rows, i)?)),
        DataType::Binary => {
            let values = get::<Vec<u8>>(rows, i)?;
            Arc::new(BinaryArray::from_iter(values))
        }
        DataType::LargeBinary => {
            let values = get::<Vec<u8>>(rows, i)?;
            Arc::new(LargeBinaryArray::from_iter(values))
        }
        DataType::Timestamp(unit, tz) => {
            let micros = get::<i64>(rows, i)?;
            let tz = tz.clone();
            match unit {
                TimeUnit::Second => Arc::new(
                    TimestampSecondArray::from(scaled(micros, |v| v / 1_000_000))
                        .with_timezone_opt(tz),
                ),
                TimeUnit::Millisecond => Arc::new(
                    TimestampMillisecondArray::from(scaled(micros, |v| v / 1_000))
                        .with_timezone_opt(tz),
                ),
                TimeUnit::Microsecond => {
                    Arc::new(TimestampMicrosecondArray::from(micros).with_timezone_opt(tz))
                }
                TimeUnit::Nanosecond => Arc::new(
                    TimestampNanosecondArray::from(scaled(micros, |v| v.saturating_mul(1_000)))
                        .with_timezone_opt(tz),
                ),
            }
        }
        DataType::Date32 => Arc::new(Date32Array::from(get::<i32>(rows, i)?)),
        other => return Err(format!("type {other} cannot be read back")),
    })
}

fn get<T>(rows: &[PgRow], i: usize) -> std::result::Result<Vec<Option<T>>, String>
where
    T: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    rows.iter()
        .map(|row| row.try_get::<Option<T>, _>(i).map_err(|e| e.to_string()))
        .collect()
}

/// A column read as the wider PostgreSQL type and narrowed to the Arrow one.
fn narrow<S, T>(rows: &[PgRow], i: usize) -> std::result::Result<Vec<Option<T>>, String>
where
    S: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres> + Copy + std::fmt::Display,
    T: TryFrom<S>,
{
    get::<S>(rows, i)?
        .into_iter()
        .map(|v| match v {
            None => Ok(None),
            Some(v) => T::try_from(v)
                .map(Some)
                .map_err(|_| format!("{v} is out of the column's range")),
        })
        .collect()
}

fn scaled(values: Vec<Option<i64>>, f: impl Fn(i64) -> i64) -> Vec<Option<i64>> {
    values.into_iter().map(|v| v.map(&f)).collect()
}
