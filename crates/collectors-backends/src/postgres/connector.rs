//! [`PostgresConnector`]: browse the tables and views of a PostgreSQL database, describe
//! them, and export a table or a query into a Parquet or CSV file.

use std::fmt;
use std::path::{Path, PathBuf};

use collectors_core::{
    Connector, DataItem, Error, ListOptions, Metadata, Result, async_trait, resolve_in_workspace,
};
use globset::{GlobBuilder, GlobMatcher};
use serde_json::json;

use super::catalog::{self, Relation};
use super::export::{
    self, ByteSink, DEFAULT_BATCH_ROWS, ExportFormat, Target, begin_read_only, is_query, query_text,
};
use super::lazy_pool::LazyPool;
use crate::fs_util::AtomicFile;
use crate::pool::{PoolConfig, PoolStats};

const COMPONENT: &str = "postgres-connector";

/// A [`Connector`] over one PostgreSQL database (`postgres://user:password@host:port/db`).
///
/// Items are the tables and views outside the system schemas, identified as `schema.name`
/// (a bare `name` is looked up in the search path).
///
/// # The `Connector` contract here
///
/// - `connect` opens the pool and runs `SELECT 1`; `test_connection` does the same; a wrong
///   password is an [`Error::Authentication`], an unreachable server an
///   [`Error::Connection`]. The password never appears in an error or in `Debug`.
///   `disconnect` closes the pool; a later call opens it again.
/// - `list_items` lists tables and views sorted by `schema.name`: the name is the
///   relation's, the path `schema.name`, the size `pg_total_relation_size` (data, indexes,
///   TOAST), and the metadata has `schema`, `kind`, `estimated_rows` (`pg_class.reltuples`,
///   null until analyzed), `size_bytes` and `file_name` (what `fetch_data` writes). `options.path` keeps one schema;
///   `options.pattern` is a glob on the name (`read*`), or on `schema.name` when it holds a
///   `.` (`sales.*`).
/// - `get_metadata(table)` gives `columns` (name, type, nullable), `primary_key`,
///   `estimated_rows`, `size_bytes`, `kind`; `get_metadata(SELECT …)` the result's columns.
/// - `fetch_data(identifier, workspace)` exports a table or a query (an identifier starting
///   with `SELECT`, `WITH`, `VALUES` or `TABLE`) into `workspace`, as
///   `<schema>.<name>.<ext>` or `query-<md5 of the text>.<ext>`, in the connector's
///   [`ExportFormat`] (Parquet unless set): see [`fetch_to`](Self::fetch_to). A table that
///   does not exist is an [`Error::NotFound`].
///
/// # Exports
///
/// Rows are streamed from the server (`fetch`), gathered into Arrow batches of
/// [`batch_rows`](Self::with_batch_rows) rows, encoded (Parquet row groups of 64 Ki rows)
/// and written to a hidden temp file beside the target, renamed into place at the end:
/// memory stays bounded for any table, and the file appears whole or not at all (a query
/// that fails half-way leaves nothing). Every export runs in a read-only transaction
/// (`SET TRANSACTION READ ONLY`), so a query cannot write. Table names are looked up in
/// the catalog (a bound parameter) and quoted, so a name like `x"; DROP TABLE t; --` is a
/// name, never SQL.
///
/// Column types: booleans, integers, floats, `bytea` (Parquet), `timestamptz` (UTC),
/// `timestamp` and `date` keep their types; every other type (`numeric`, `json`, `uuid`,
/// `interval`, arrays, enums …) is exported as its exact text form.
///
/// ```no_run
/// use collectors_backends::postgres::PostgresConnector;
/// use collectors_core::{Connector, ListOptions};
///
/// # async fn demo() -> collectors_core::Result<()> {
/// let db = PostgresConnector::new("postgres://reader:secret@db.internal/sensors")?;
/// db.test_connection().await?;
/// for table in db.list_items(&ListOptions::new().under("public")).await? {
///     println!("{} ({} bytes)", table.path, table.size);
/// }
/// let file = db.fetch_data("public.readings", std::path::Path::new("/tmp/work")).await?;
/// let csv = db
///     .fetch_to("SELECT * FROM readings WHERE value > 10", "/tmp/work".as_ref(), "hot.csv")
///     .await?;
/// # let _ = (file, csv);
/// # Ok(()) }
/// ```
pub struct PostgresConnector {
    pool: LazyPool,
    format: ExportFormat,
    batch_rows: usize,
}

impl fmt::Debug for PostgresConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConnector")
            .field("database", &self.pool.shown())
            .field("format", &self.format)
            .field("batch_rows", &self.batch_rows)
            .finish()
    }
}

/// A temp file being written, as a [`ByteSink`].
struct FileSink(AtomicFile);

impl ByteSink for FileSink {
    async fn put(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.0.write_all(&bytes).await
    }
}

impl PostgresConnector {
    /// A connector for the database at `url`; nothing is connected until first use.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for a URL that is not `postgres://…` or `postgresql://…`.
    pub fn new(url: &str) -> Result<Self> {
        Ok(Self {
            pool: LazyPool::new(url).map_err(|e| tag(e, "new"))?,
            format: ExportFormat::default(),
            batch_rows: DEFAULT_BATCH_ROWS,
        })
    }

    /// The format [`fetch_data`](Connector::fetch_data) writes (default Parquet).
    #[must_use]
    pub fn with_format(mut self, format: ExportFormat) -> Self {
        self.format = format;
        self
    }

    /// Rows per Arrow batch while exporting (default 8192, at least 1): with the row group
    /// of the Parquet writer, what bounds the memory of an export.
    #[must_use]
    pub fn with_batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows.max(1);
        self
    }

    /// Uses `config` for the connector's sqlx pool (instead of 4 connections, 10 s to
    /// acquire, the other [`PoolConfig`] defaults): `max_size`, `min_size` (kept open by
    /// sqlx), `acquire_timeout_ms`, `idle_timeout_ms`, `max_lifetime_ms`, and with
    /// `health_check` a ping of every idle connection before use (one that fails is closed
    /// and counted). Takes effect from the next `connect`.
    ///
    /// ```
    /// use collectors_backends::pool::PoolConfig;
    /// use collectors_backends::postgres::PostgresConnector;
    ///
    /// let db = PostgresConnector::new("postgres://reader@db.internal/sensors")?
    ///     .with_pool_config(PoolConfig::new().max_size(8).min_size(2))?;
    /// assert_eq!(db.pool_stats().max_size, 8);
    /// assert_eq!(db.pool_stats().total, 0); // nothing connected yet
    /// # Ok::<(), collectors_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for a config [`PoolConfig::validate`] refuses.
    pub fn with_pool_config(mut self, config: PoolConfig) -> Result<Self> {
        self.pool = self.pool.with_config(config).map_err(|e| tag(e, "new"))?;
        Ok(self)
    }

    /// The pool's limits.
    pub fn pool_config(&self) -> &PoolConfig {
        self.pool.config()
    }

    /// The connections of the sqlx pool now (all zero before the first use or after
    /// `disconnect`) and the counters since the connector was built: `created`, `recycled`
    /// (idle connections handed out again), `failed_health_checks`. `expired` and `waiters`
    /// are not counted here: sqlx closes expired connections itself without saying so, and
    /// does not expose its waiters (`waiters` is `None`).
    pub fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }

    /// The database URL, without its password.
    pub fn url(&self) -> &str {
        self.pool.shown()
    }

    /// Exports the table or query `identifier` into `workspace/file_name`, in the format
    /// of `file_name`'s extension (`.parquet`, `.csv`); returns the file's path.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for a file name that leaves the workspace or has no known
    /// extension, a query the server refuses (or that tries to write), or a result with two
    /// columns of one name; [`Error::NotFound`] for a table that does not exist; the
    /// connection's errors; [`Error::DataFetch`] when the file cannot be written. Nothing is
    /// left in the workspace on failure.
    pub async fn fetch_to(
        &self,
        identifier: &str,
        workspace: &Path,
        file_name: &str,
    ) -> Result<PathBuf> {
        let op = "fetch_data";
        let format = ExportFormat::from_name(file_name).ok_or_else(|| {
            tag(
                Error::validation(format!(
                    "{file_name:?} has no known extension (.parquet, .csv)"
                )),
                op,
            )
        })?;
        let target_path = resolve_in_workspace(workspace, file_name).map_err(|e| tag(e, op))?;
        let pool = self.pool.get().await.map_err(|e| tag(e, op))?;
        let target = self.target(&pool, identifier).await?;
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| tag(super::error::from_sqlx(e, "connecting"), op))?;
        let mut tx = begin_read_only(&mut conn).await.map_err(|e| tag(e, op))?;
        let columns = export::describe(&mut tx, &target, format)
            .await
            .map_err(|e| tag(e, op))?;
        let sql = export::select_sql(&columns, &target, "");
        let mut file = FileSink(
            AtomicFile::create(&target_path, Error::data_fetch)
                .await
                .map_err(|e| tag(e, op))?,
        );
        let what = format!("reading {}", target.shown());
        let done = export::export(
            &mut tx,
            sqlx::query(&sql),
            &columns,
            format,
            self.batch_rows,
            &mut file,
            &what,
        )
        .await
        .map_err(|e| tag(e, op))?;
        // Read-only: nothing to keep, so the transaction's end cannot lose anything.
        drop(tx);
        let path = file.0.commit().await.map_err(|e| tag(e, op))?;
        tracing::debug!(
            source = %target.shown(),
            rows = done.rows,
            bytes = done.bytes,
            to = %path.display(),
            "exported"
        );
        Ok(path)
    }

    /// The relation or query an identifier names.
    async fn target(&self, pool: &sqlx::PgPool, identifier: &str) -> Result<Target> {
        if is_query(identifier) {
            return Ok(Target::Query(
                query_text(identifier).map_err(|e| tag(e, "fetch_data"))?,
            ));
        }
        let relation = catalog::require(pool, identifier)
            .await
            .map_err(|e| tag(e, "fetch_data"))?;
        Ok(Target::Relation {
            schema: relation.schema,
            name: relation.name,
        })
    }

    /// The default file name of an export of `identifier`.
    async fn file_name(&self, pool: &sqlx::PgPool, identifier: &str) -> Result<String> {
        let ext = self.format.extension();
        if is_query(identifier) {
            let text = query_text(identifier).map_err(|e| tag(e, "fetch_data"))?;
            let digest: String = sqlx::query_scalar("SELECT md5($1)")
                .bind(&text)
                .fetch_one(pool)
                .await
                .map_err(|e| {
                    tag(
                        super::error::from_sqlx(e, "naming the export"),
                        "fetch_data",
                    )
                })?;
            return Ok(format!("query-{digest}.{ext}"));
        }
        let relation = catalog::require(pool, identifier)
            .await
            .map_err(|e| tag(e, "fetch_data"))?;
        Ok(format!("{}.{ext}", file_safe(&relation.qualified())))
    }
}

/// A relation name as one file name: path separators, control characters and a leading
/// dot become `_`.
fn file_safe(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if out.starts_with('.') {
        out.replace_range(..1, "_");
    }
    out
}

fn tag(error: Error, operation: &str) -> Error {
    error.with_component(COMPONENT).with_operation(operation)
}

/// A glob over relation names (`read*`) or, with a `.`, over `schema.name`.
struct RelationPattern {
    matcher: GlobMatcher,
    qualified: bool,
}

impl RelationPattern {
    fn new(glob: &str) -> Result<Self> {
        let matcher = GlobBuilder::new(glob)
            .literal_separator(false)
            .build()
            .map_err(|e| {
                Error::validation(format!("invalid pattern {glob:?}: {e}")).with_source(e)
            })?
            .compile_matcher();
        Ok(Self {
            matcher,
            qualified: glob.contains('.'),
        })
    }

    fn matches(&self, relation: &Relation) -> bool {
        if self.qualified {
            self.matcher.is_match(relation.qualified())
        } else {
            self.matcher.is_match(&relation.name)
        }
    }
}

fn describe(relation: &Relation) -> Metadata {
    let mut out = Metadata::new();
    out.insert("schema".into(), relation.schema.clone().into());
    out.insert("name".into(), relation.name.clone().into());
    out.insert("path".into(), relation.qualified().into());
    out.insert("kind".into(), relation.kind.into());
    out.insert("estimated_rows".into(), json!(relation.estimated_rows));
    out.insert("size_bytes".into(), relation.size_bytes.into());
    out
}

#[async_trait]
impl Connector for PostgresConnector {
    async fn connect(&self) -> Result<()> {
        self.test_connection().await
    }

    async fn disconnect(&self) -> Result<()> {
        self.pool.close().await;
        Ok(())
    }

    async fn test_connection(&self) -> Result<()> {
        let op = "test_connection";
        let pool = self.pool.get().await.map_err(|e| tag(e, op))?;
        sqlx::query("SELECT 1")
            .execute(&pool)
            .await
            .map_err(|e| tag(super::error::from_sqlx(e, "testing the connection"), op))?;
        Ok(())
    }

    async fn list_items(&self, options: &ListOptions) -> Result<Vec<DataItem>> {
        let op = "list_items";
        let pattern = options
            .pattern
            .as_deref()
            .map(RelationPattern::new)
            .transpose()
            .map_err(|e| tag(e, op))?;
        let schema = options
            .path
            .as_deref()
            .map(|p| p.trim_matches(['/', '.']))
            .filter(|p| !p.is_empty());
        let pool = self.pool.get().await.map_err(|e| tag(e, op))?;
        let relations = catalog::relations(&pool, schema)
            .await
            .map_err(|e| tag(e, op))?;
        let items: Vec<DataItem> = relations
            .iter()
            .filter(|r| pattern.as_ref().is_none_or(|p| p.matches(r)))
            .map(|r| {
                let mut item = DataItem::new(r.name.clone(), r.qualified(), r.size_bytes);
                item.metadata = describe(r);
                item.metadata.insert(
                    "file_name".into(),
                    format!("{}.{}", file_safe(&r.qualified()), self.format.extension()).into(),
                );
                item
            })
            .collect();
        tracing::debug!(database = %self.pool.shown(), items = items.len(), "listed");
        Ok(items)
    }

    async fn fetch_data(&self, identifier: &str, workspace: &Path) -> Result<PathBuf> {
        let pool = self.pool.get().await.map_err(|e| tag(e, "fetch_data"))?;
        let name = self.file_name(&pool, identifier).await?;
        self.fetch_to(identifier, workspace, &name).await
    }

    async fn get_metadata(&self, identifier: &str) -> Result<Metadata> {
        let op = "get_metadata";
        let pool = self.pool.get().await.map_err(|e| tag(e, op))?;
        if is_query(identifier) {
            let target = Target::Query(query_text(identifier).map_err(|e| tag(e, op))?);
            let mut conn = pool
                .acquire()
                .await
                .map_err(|e| tag(super::error::from_sqlx(e, "connecting"), op))?;
            let columns = export::describe(&mut conn, &target, self.format)
                .await
                .map_err(|e| tag(e, op))?;
            let mut out = Metadata::new();
            out.insert("kind".into(), "query".into());
            out.insert(
                "columns".into(),
                columns
                    .iter()
                    .map(|c| json!({ "name": c.name, "type": c.type_name.to_lowercase() }))
                    .collect(),
            );
            return Ok(out);
        }
        let relation = catalog::require(&pool, identifier)
            .await
            .map_err(|e| tag(e, op))?;
        let columns = catalog::columns(&pool, relation.oid)
            .await
            .map_err(|e| tag(e, op))?;
        let key = catalog::primary_key(&pool, relation.oid)
            .await
            .map_err(|e| tag(e, op))?;
        let mut out = describe(&relation);
        out.insert(
            "columns".into(),
            columns
                .iter()
                .map(|c| json!({ "name": c.name, "type": c.data_type, "nullable": c.nullable }))
                .collect(),
        );
        out.insert("primary_key".into(), json!(key));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_stay_one_segment() {
        assert_eq!(file_safe("public.readings"), "public.readings");
        assert_eq!(file_safe("a/../../b"), "a_.._.._b");
        assert_eq!(file_safe(".hidden"), "_hidden");
    }

    #[test]
    fn a_url_that_is_not_postgres_is_refused_without_its_password() {
        let err = PostgresConnector::new("mysql://u:s3cret@h/db").unwrap_err();
        assert_eq!(err.error_type(), collectors_core::ErrorType::Configuration);
        assert!(!err.to_string().contains("s3cret"), "{err}");
        let ok = PostgresConnector::new("postgres://u:s3cret@h/db").unwrap();
        assert!(!format!("{ok:?}").contains("s3cret"));
    }
}
