//! [`PostgresSource`]: a table or a query as a listed [`DataSource`], read in chunks of a
//! cursor column, incrementally.

mod bounds;
mod chunk;

use std::fmt;

use bytes::Bytes;
use collectors_core::{DataSource, Error, Result, SourceItem, async_trait};
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::OnceCell;

use self::bounds::{BoundsKey, Walk};
use self::chunk::Chunk;
use super::catalog;
use super::error::from_sqlx;
use super::export::{
    self, DEFAULT_BATCH_ROWS, ExportColumn, ExportFormat, Target, begin_read_only, query_text,
    quote_ident,
};
use super::lazy_pool::LazyPool;
use crate::pool::{PoolConfig, PoolStats};

pub use self::bounds::BOUNDS_TABLE;

/// Rows per chunk by default.
pub const DEFAULT_CHUNK_ROWS: usize = 10_000;
/// Items per page of the listing.
const PAGE: usize = 1_000;

/// What the source was asked to read, before it is looked up.
#[derive(Debug, Clone)]
enum Wanted {
    Table(String),
    Query(String),
}

/// The target as found on the server: its columns and the cursor's SQL type.
#[derive(Debug)]
struct Resolved {
    target: Target,
    /// `schema.name` or the query text: the key of the chunk bounds.
    key: String,
    /// The prefix of item ids: `schema.name`, or `query`.
    prefix: String,
    columns: Vec<ExportColumn>,
    /// The cursor as the server's type name (`bigint`, `timestamp with time zone`).
    cursor_type: String,
}

/// A listed [`DataSource`] over a PostgreSQL table, view or query, read in chunks along a
/// cursor column (an id, an insertion time), incrementally: a rerun reads the rows added
/// since, not the rows it already read.
///
/// # Items
///
/// Each item is one chunk: the rows whose cursor is after one bound and at most the next,
/// `schema.table@0000000003:(20000,30000]`. The bounds are found by walking the cursor
/// (`WHERE cursor > $1 AND cursor <= $2 ORDER BY cursor OFFSET chunk_rows - 1 LIMIT 1`,
/// bound parameters) and **kept** in the table `_collectors_source_chunks` of the source
/// database ([`BOUNDS_TABLE`]), so a bound never moves once listed:
///
/// - a rerun lists the same chunks with the same ids, which the engine's checkpoints skip,
///   then new chunks after the last bound: only rows with a larger cursor are read;
/// - the last chunk of a run (fewer rows than `chunk_rows`) keeps its bound too, so its
///   rows are not read again when more rows arrive;
/// - runs listing at once (on several machines) take a lock and agree on the chunks;
/// - `--restart` (checkpoints cleared) reads the same chunks again, from the first.
///
/// Rows of equal cursor values never straddle two chunks: a chunk holds every row of its
/// last value (it may then hold more than `chunk_rows` rows). The cursor must only grow as
/// rows are added (a serial or identity column, an insertion timestamp): a row added with
/// a cursor at or below a listed bound falls in a chunk already read and is never read;
/// rows with a NULL cursor are never read. An index on the cursor keeps the walk cheap.
///
/// `open` reads a chunk in a read-only transaction, ordered by the cursor (then by every
/// column, so the bytes are the same each time) and encodes it as one Parquet file
/// (default) or CSV (see [`ExportFormat`]) for the `parquet` or `csv` decoder. An item's
/// `version` is the format: a chunk whose rows are later updated is not read again.
///
/// The source's role needs `CREATE` on the database's default schema once (or the table
/// made beforehand) and `INSERT`/`SELECT` on [`BOUNDS_TABLE`].
///
/// ```no_run
/// use collectors_backends::postgres::PostgresSource;
/// use collectors_core::DataSource;
/// use futures::TryStreamExt;
///
/// # async fn demo() -> collectors_core::Result<()> {
/// let source = PostgresSource::table("readings", "postgres://reader@db/sensors", "public.readings", "id")?
///     .with_chunk_rows(50_000);
/// source.connect().await?;
/// for item in source.list().try_concat().await? {
///     println!("{}", item.item_id);
/// }
/// # Ok(()) }
/// ```
pub struct PostgresSource {
    source_id: String,
    pool: LazyPool,
    wanted: Wanted,
    cursor: String,
    chunk_rows: usize,
    batch_rows: usize,
    format: ExportFormat,
    resolved: OnceCell<Resolved>,
}

impl fmt::Debug for PostgresSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSource")
            .field("source_id", &self.source_id)
            .field("database", &self.pool.shown())
            .field("reads", &self.wanted)
            .field("cursor", &self.cursor)
            .field("chunk_rows", &self.chunk_rows)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl PostgresSource {
    /// The table or view `table` (`schema.name`, or a name in the search path) of the
    /// database at `url`, chunked along the column `cursor`. Nothing is connected yet.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for a URL that is not a PostgreSQL one, an empty table or
    /// cursor name.
    pub fn table(
        source_id: impl Into<String>,
        url: &str,
        table: impl Into<String>,
        cursor: impl Into<String>,
    ) -> Result<Self> {
        let table = table.into();
        if table.trim().is_empty() {
            return Err(Error::configuration("the table name is empty"));
        }
        Self::new(source_id.into(), url, Wanted::Table(table), cursor.into())
    }

    /// The result of `query` (a `SELECT`, run as a subquery in a read-only transaction),
    /// chunked along its column `cursor`.
    ///
    /// # Errors
    ///
    /// As [`table`](Self::table); an empty query.
    pub fn query(
        source_id: impl Into<String>,
        url: &str,
        query: &str,
        cursor: impl Into<String>,
    ) -> Result<Self> {
        let query = query_text(query).map_err(|e| Error::configuration(e.message().to_owned()))?;
        Self::new(source_id.into(), url, Wanted::Query(query), cursor.into())
    }

    fn new(source_id: String, url: &str, wanted: Wanted, cursor: String) -> Result<Self> {
        if cursor.is_empty() {
            return Err(Error::configuration("the cursor column name is empty"));
        }
        Ok(Self {
            pool: LazyPool::new(url).map_err(|e| e.with_component(source_id.clone()))?,
            source_id,
            wanted,
            cursor,
            chunk_rows: DEFAULT_CHUNK_ROWS,
            batch_rows: DEFAULT_BATCH_ROWS,
            format: ExportFormat::default(),
            resolved: OnceCell::new(),
        })
    }

    /// Rows per new chunk (default 10 000, at least 1). Chunks already listed keep their
    /// bounds.
    #[must_use]
    pub fn with_chunk_rows(mut self, rows: usize) -> Self {
        self.chunk_rows = rows.max(1);
        self
    }

    /// How chunks are encoded (default Parquet).
    #[must_use]
    pub fn with_format(mut self, format: ExportFormat) -> Self {
        self.format = format;
        self
    }

    /// The limits of the source's connection pool (default 4 connections, 10 s to acquire),
    /// as [`PostgresConnector::with_pool_config`](crate::postgres::PostgresConnector::with_pool_config).
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for a config [`PoolConfig::validate`] refuses.
    pub fn with_pool_config(mut self, config: PoolConfig) -> Result<Self> {
        self.pool = self
            .pool
            .with_config(config)
            .map_err(|e| e.with_component(self.source_id.clone()))?;
        Ok(self)
    }

    /// The source's pool now and its counters (see
    /// [`PostgresConnector::pool_stats`](crate::postgres::PostgresConnector::pool_stats)).
    pub fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }

    fn tag(&self, error: Error, operation: &str) -> Error {
        error
            .with_component(self.source_id.clone())
            .with_operation(operation)
    }

    /// Finds the target and its cursor on the server (once).
    async fn resolved(&self) -> Result<&Resolved> {
        self.resolved.get_or_try_init(|| self.resolve()).await
    }

    async fn resolve(&self) -> Result<Resolved> {
        let pool = self.pool.get().await?;
        let (target, key, prefix) = match &self.wanted {
            Wanted::Table(table) => {
                let relation = catalog::require(&pool, table).await?;
                let key = relation.qualified();
                (
                    Target::Relation {
                        schema: relation.schema,
                        name: relation.name,
                    },
                    key.clone(),
                    key,
                )
            }
            Wanted::Query(sql) => (Target::Query(sql.clone()), sql.clone(), "query".to_owned()),
        };
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| from_sqlx(e, "connecting"))?;
        let columns = export::describe(&mut conn, &target, self.format).await?;
        if !columns.iter().any(|c| c.name == self.cursor) {
            return Err(Error::configuration(format!(
                "the cursor column {:?} is not a column of {}: {}",
                self.cursor,
                target.shown(),
                columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        // The cursor's type as SQL, from the catalog (never from the user).
        let cursor_type = self.cursor_type_of(&mut conn, &target).await?;
        Ok(Resolved {
            target,
            key,
            prefix,
            columns,
            cursor_type,
        })
    }

    /// The cursor's type by describing `SELECT cursor FROM target`.
    async fn cursor_type_of(
        &self,
        conn: &mut sqlx::PgConnection,
        target: &Target,
    ) -> Result<String> {
        use sqlx::{Column, Executor, Statement};
        let sql = format!(
            "SELECT q.{} FROM {} AS q",
            quote_ident(&self.cursor),
            target.sql_from()
        );
        let statement = (&mut *conn)
            .prepare(&sql)
            .await
            .map_err(|e| export::read_error(e, "describing the cursor"))?;
        let oid = statement
            .columns()
            .first()
            .and_then(|c| c.type_info().oid())
            .ok_or_else(|| Error::invalid_state("the cursor column has no type"))?;
        sqlx::query_scalar("SELECT format_type($1::OID, NULL)")
            .bind(i64::from(oid.0))
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| from_sqlx(e, "naming the cursor's type"))
    }

    fn walk<'a>(
        &'a self,
        resolved: &'a Resolved,
        sql_from: &'a str,
        cursor_sql: &'a str,
    ) -> Walk<'a> {
        Walk {
            sql_from,
            cursor_sql,
            cursor_type: &resolved.cursor_type,
            chunk_rows: self.chunk_rows,
        }
    }

    /// Every chunk, old and new (see [`PostgresSource`]).
    async fn chunks(&self) -> Result<(Vec<Chunk>, &Resolved)> {
        let resolved = self.resolved().await?;
        let pool = self.pool.get().await?;
        let sql_from = resolved.target.sql_from();
        let cursor_sql = quote_ident(&self.cursor);
        let key = BoundsKey {
            source_id: &self.source_id,
            target: &resolved.key,
            cursor: &self.cursor,
        };
        let bounds =
            bounds::list_bounds(&pool, &key, &self.walk(resolved, &sql_from, &cursor_sql)).await?;
        Ok((chunk::chunks(&bounds), resolved))
    }

    fn version(&self) -> &'static str {
        self.format.extension()
    }
}

#[async_trait]
impl DataSource for PostgresSource {
    fn source_id(&self) -> &str {
        &self.source_id
    }

    fn is_live(&self) -> bool {
        false
    }

    async fn connect(&self) -> Result<()> {
        let pool = self.pool.get().await.map_err(|e| self.tag(e, "connect"))?;
        bounds::ensure_table(&pool)
            .await
            .map_err(|e| self.tag(e, "connect"))?;
        self.resolved().await.map_err(|e| self.tag(e, "connect"))?;
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        self.pool.close().await;
        Ok(())
    }

    fn list(&self) -> BoxStream<'_, Result<Vec<SourceItem>>> {
        stream::once(async move {
            let (chunks, resolved) = self.chunks().await.map_err(|e| self.tag(e, "list"))?;
            let items: Vec<SourceItem> = chunks
                .iter()
                .map(|c| c.item(&self.source_id, &resolved.prefix, self.version()))
                .collect();
            Ok(items)
        })
        .flat_map(|listed: Result<Vec<SourceItem>>| match listed {
            Ok(items) => {
                let pages: Vec<Result<Vec<SourceItem>>> =
                    items.chunks(PAGE).map(|p| Ok(p.to_vec())).collect();
                stream::iter(pages).left_stream()
            }
            Err(e) => stream::iter([Err(e)]).right_stream(),
        })
        .boxed()
    }

    async fn open(&self, item: &SourceItem) -> Result<BoxStream<'static, Result<Bytes>>> {
        let op = "open";
        let resolved = self.resolved().await.map_err(|e| self.tag(e, op))?;
        let chunk = Chunk::of_item(item, &resolved.prefix)
            .filter(|_| item.source_id == self.source_id)
            .ok_or_else(|| {
                self.tag(
                    Error::not_found(format!(
                        "item {:?} is not a chunk of source {:?}",
                        item.item_id, self.source_id
                    )),
                    op,
                )
            })?;
        let pool = self.pool.get().await.map_err(|e| self.tag(e, op))?;
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| self.tag(from_sqlx(e, "connecting"), op))?;
        let mut tx = begin_read_only(&mut conn)
            .await
            .map_err(|e| self.tag(e, op))?;
        let (sql_from, cursor_sql) = (resolved.target.sql_from(), quote_ident(&self.cursor));
        let walk = self.walk(resolved, &sql_from, &cursor_sql);
        let n = usize::from(chunk.after.is_some());
        // Then every column: rows of one cursor value come in the same order each time.
        let order: Vec<String> = (1..=resolved.columns.len())
            .map(|i| i.to_string())
            .collect();
        let tail = format!(
            "WHERE {} ORDER BY q.{cursor_sql}, {}",
            bounds::range(&walk, chunk.after.is_some(), Some(n + 1)),
            order.join(", ")
        );
        let sql = export::select_sql(&resolved.columns, &resolved.target, &tail);
        let mut query = sqlx::query(&sql);
        if let Some(after) = &chunk.after {
            query = query.bind(after);
        }
        query = query.bind(&chunk.through);
        let mut bytes = Vec::new();
        let what = format!("reading {} of {}", item.item_id, resolved.target.shown());
        let done = export::export(
            &mut tx,
            query,
            &resolved.columns,
            self.format,
            self.batch_rows,
            &mut bytes,
            &what,
        )
        .await
        .map_err(|e| self.tag(e, op))?;
        drop(tx);
        tracing::debug!(
            source = %self.source_id,
            item = %item.item_id,
            rows = done.rows,
            bytes = done.bytes,
            "chunk read"
        );
        Ok(stream::iter([Ok(Bytes::from(bytes))]).boxed())
    }
}
