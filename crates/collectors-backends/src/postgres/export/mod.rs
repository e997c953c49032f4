//! Reading a table or a query as Arrow batches and writing them as Parquet or CSV, streamed:
//! rows come from the server as they are consumed, a batch of rows at a time is held, and
//! the encoded bytes are handed on as they are made.

mod batches;
mod columns;
mod encode;
mod format;
mod sql;

use collectors_core::{Error, Result};
use futures::TryStreamExt;
use sqlx::postgres::{PgArguments, PgConnection};
use sqlx::query::Query;
use sqlx::{Column, Executor, Postgres, Statement, TypeInfo};

pub(crate) use batches::BatchBuilder;
pub(crate) use columns::{ExportColumn, arrow_schema, check_names};
pub(crate) use encode::TableEncoder;
pub use format::ExportFormat;
pub(crate) use sql::{Target, is_query, query_text, quote_ident};

use super::error::from_sqlx;

/// Rows per Arrow batch by default.
pub(crate) const DEFAULT_BATCH_ROWS: usize = 8192;

/// Where encoded bytes go: a file being written, a buffer.
pub(crate) trait ByteSink: Send {
    /// Appends `bytes`.
    fn put(&mut self, bytes: Vec<u8>) -> impl Future<Output = Result<()>> + Send;
}

impl ByteSink for Vec<u8> {
    async fn put(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.extend_from_slice(&bytes);
        Ok(())
    }
}

/// A failure of the server while reading `what`: a missing relation is
/// [`Error::NotFound`], a query the server refuses (syntax, unknown column, a write in the
/// read-only transaction) [`Error::Validation`], a permission denied
/// [`Error::Authentication`], the rest as [`from_sqlx`] says.
pub(crate) fn read_error(e: sqlx::Error, what: &str) -> Error {
    let code = match &e {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    };
    let message = match &e {
        sqlx::Error::Database(db) => format!("{what}: {}", db.message()),
        other => format!("{what}: {other}"),
    };
    match code.as_deref() {
        Some("42P01") => Error::not_found(message).with_source(e),
        Some("42501") => Error::authentication(message).with_source(e),
        Some("25006") => {
            Error::validation(format!("{message} (reads run read-only)")).with_source(e)
        }
        // Syntax and access rules; features refused (a write nested in a subquery).
        Some(code) if code.starts_with("42") || code == "0A000" => {
            Error::validation(message).with_source(e)
        }
        _ => from_sqlx(e, what),
    }
}

/// The columns `target` yields, read for `format`, checked (distinct names, at least one).
pub(crate) async fn describe(
    conn: &mut PgConnection,
    target: &Target,
    format: ExportFormat,
) -> Result<Vec<ExportColumn>> {
    let what = format!("describing {}", target.shown());
    let sql = format!("SELECT * FROM {} AS q", target.sql_from());
    let statement = conn.prepare(&sql).await.map_err(|e| read_error(e, &what))?;
    let columns: Vec<ExportColumn> = statement
        .columns()
        .iter()
        .map(|c| {
            let info = c.type_info();
            ExportColumn::new(c.name(), info.oid().map(|o| o.0), info.name(), format)
        })
        .collect();
    check_names(&columns, &target.shown())?;
    Ok(columns)
}

/// `SELECT <columns, converted> FROM <target> AS q <tail>`: `tail` is bound-parameter SQL
/// (`WHERE …`, `ORDER BY …`) or empty.
pub(crate) fn select_sql(columns: &[ExportColumn], target: &Target, tail: &str) -> String {
    let list: Vec<String> = columns.iter().map(ExportColumn::select_expr).collect();
    format!(
        "SELECT {} FROM {} AS q {tail}",
        list.join(", "),
        target.sql_from()
    )
}

/// Starts a read-only transaction on `conn` (`SET TRANSACTION READ ONLY`): a query that
/// tries to write fails instead.
pub(crate) async fn begin_read_only(
    conn: &mut PgConnection,
) -> Result<sqlx::Transaction<'_, Postgres>> {
    let mut tx = sqlx::Connection::begin(conn)
        .await
        .map_err(|e| from_sqlx(e, "starting a read-only transaction"))?;
    tx.execute("SET TRANSACTION READ ONLY")
        .await
        .map_err(|e| from_sqlx(e, "starting a read-only transaction"))?;
    Ok(tx)
}

/// What [`export`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Exported {
    pub(crate) rows: u64,
    pub(crate) bytes: u64,
}

/// Runs `query` (the SQL of [`select_sql`] over `columns`, parameters bound) on `conn` and
/// writes its rows to `sink` in `format`, `batch_rows` rows at a time.
pub(crate) async fn export(
    conn: &mut PgConnection,
    query: Query<'_, Postgres, PgArguments>,
    columns: &[ExportColumn],
    format: ExportFormat,
    batch_rows: usize,
    sink: &mut impl ByteSink,
    what: &str,
) -> Result<Exported> {
    let schema = arrow_schema(columns);
    let mut batches = BatchBuilder::new(columns, schema.clone(), batch_rows);
    let mut encoder = TableEncoder::new(format, schema)?;
    let mut done = Exported::default();
    let mut rows = query.fetch(&mut *conn);
    while let Some(row) = rows.try_next().await.map_err(|e| read_error(e, what))? {
        done.rows += 1;
        if let Some(batch) = batches.push(&row)? {
            put(sink, encoder.push(&batch)?, &mut done).await?;
        }
    }
    drop(rows);
    if batches.rows() > 0 {
        let batch = batches.finish()?;
        put(sink, encoder.push(&batch)?, &mut done).await?;
    }
    put(sink, encoder.finish()?, &mut done).await?;
    Ok(done)
}

async fn put(sink: &mut impl ByteSink, bytes: Vec<u8>, done: &mut Exported) -> Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    done.bytes += bytes.len() as u64;
    sink.put(bytes).await
}
