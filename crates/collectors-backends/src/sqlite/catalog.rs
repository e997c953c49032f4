//! The store's bookkeeping tables: `_collectors_records` (one row per record) and
//! `_collectors_tables` (each data table's Arrow schema), and how values are written there.

use std::sync::Arc;

use arrow_schema::SchemaRef;
use chrono::{DateTime, SecondsFormat, Utc};
use collectors_core::{Payload, Result};
use sqlx::sqlite::SqliteConnection;

use super::storage::SqliteStorage;
use crate::sql_table::schema_from_json;

/// The bookkeeping tables and index, created if missing by `connect`.
pub(super) const CATALOG_SQL: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS _collectors_records (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
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

/// Refuses a database written with the earlier layout (data rows keyed by a text `_key` and
/// `_row`; records without an `id`), which this version cannot read or extend.
pub(super) async fn check_layout(conn: &mut SqliteConnection, database: &str) -> Result<()> {
    let columns: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info('_collectors_records')")
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| super::error::from_sqlx(e, "reading the record table's layout"))?;
    if columns.iter().any(|c| c == "id") {
        return Ok(());
    }
    Err(collectors_core::Error::invalid_state(format!(
        "SQLite database {database} was written by an earlier version of collectors, whose \
         data tables key each row by text (`_key`, `_row`); this version keys rows by record \
         id (`_id`) and cannot extend it. Store into a new database file (or move this one \
         away) and run again"
    )))
}

/// The name stored in the `kind` column.
pub(super) fn kind_name(payload: &Payload) -> &'static str {
    match payload {
        Payload::Empty => "empty",
        Payload::Bytes(_) => "bytes",
        Payload::Json(_) => "json",
        Payload::Table(_) => "table",
    }
}

/// Fixed-width RFC 3339 with nanoseconds, so text order is time order.
pub(super) fn timestamp_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

impl SqliteStorage {
    /// The stored Arrow schema of data table `table`, if it exists.
    pub(super) async fn load_schema(
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
}
