//! Reading: `query` filters in SQL and rebuilds records, table rows included, from one read
//! transaction.

use std::collections::HashMap;

use arrow_schema::SchemaRef;
use chrono::{DateTime, Utc};
use collectors_core::{Error, Metadata, Payload, QueryCriteria, Record, Result, StoredRecord};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{QueryBuilder, Row, Sqlite};

use super::catalog::timestamp_text;
use super::rows::read_batch;
use super::schema::{ID_COLUMN, id_range, quote_ident};
use super::storage::SqliteStorage;
use super::transaction::{BEGIN_READ, Transaction};

impl SqliteStorage {
    /// The records matching `criteria`, ordered by key and paged.
    pub(super) async fn query_records(
        &self,
        criteria: &QueryCriteria,
    ) -> Result<Vec<StoredRecord>> {
        let pool = self.pool("query").await?;
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT id, key, kind, metadata, created_at, payload, data_table, row_count \
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
        let mut tx = Transaction::begin(&pool, BEGIN_READ)
            .await
            .map_err(|e| self.sqlx(e, "query", "starting a transaction"))?;
        let read = async {
            let conn = tx.conn();
            let rows = q
                .build()
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| self.sqlx(e, "query", "selecting records"))?;
            let mut schemas = HashMap::new();
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(self.read_record(conn, row, &mut schemas).await?);
            }
            Ok(out)
        }
        .await;
        tx.finish(read, |e| {
            self.sqlx(e, "query", "ending the read transaction")
        })
        .await
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

    async fn read_rows(
        &self,
        conn: &mut SqliteConnection,
        table: &str,
        id: i64,
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
            sql.push_str(ID_COLUMN);
        }
        sql.push_str(&format!(
            " FROM {} WHERE {ID_COLUMN} BETWEEN ? AND ? ORDER BY {ID_COLUMN}",
            quote_ident(table)
        ));
        let (first, last) = id_range(id);
        let rows = sqlx::query(&sql)
            .bind(first)
            .bind(last)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| self.sqlx(e, "query", &format!("reading rows of {table}")))?;
        read_batch(schema, &rows, table).map_err(|e| self.tag(e, "query"))
    }
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
