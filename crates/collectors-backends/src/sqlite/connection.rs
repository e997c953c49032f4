//! Opening a SQLite database: connect options (WAL, `synchronous=NORMAL`, busy timeout) and
//! the pool.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use collectors_core::{Error, Result};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};

use sqlx::{Executor, Row};

use super::error::from_sqlx;

/// A pool that opens on `connect` and closes on `disconnect`, shared by a store and the
/// views of its ledger (checkpoints, dead letters), so that all of them work on one
/// database, an in-memory one included.
#[derive(Debug, Clone, Default)]
pub(crate) struct PoolSlot(Arc<tokio::sync::RwLock<Option<SqlitePool>>>);

impl PoolSlot {
    /// A slot holding an open pool.
    pub(crate) fn open(pool: SqlitePool) -> Self {
        Self(Arc::new(tokio::sync::RwLock::new(Some(pool))))
    }

    /// The lock around the pool (`None` while closed).
    pub(crate) fn lock(&self) -> &tokio::sync::RwLock<Option<SqlitePool>> {
        &self.0
    }

    /// The open pool, or a connection error naming `database`.
    pub(crate) async fn get(&self, database: &str) -> Result<SqlitePool> {
        self.0.read().await.clone().ok_or_else(|| {
            Error::connection(format!("not connected to SQLite database {database}"))
        })
    }
}

/// Where a database is and how to open it.
#[derive(Debug, Clone)]
pub(crate) struct Database {
    pub(crate) options: SqliteConnectOptions,
    pub(crate) max_connections: u32,
    pub(crate) in_memory: bool,
    /// For messages: the file, or the URL as given.
    pub(crate) display: String,
    /// The most bytes the database may grow to (`PRAGMA max_page_count` on every connection).
    pub(crate) max_size: Option<u64>,
    /// For the write connection, which is opened apart from the pool (see `writer.rs`).
    pub(crate) busy_timeout: Duration,
    pub(crate) create_if_missing: bool,
}

impl Database {
    /// Parses a file path or a `sqlite:` URL (`sqlite://data/x.db`, `sqlite::memory:`).
    pub(crate) fn parse(
        path_or_url: &str,
        busy_timeout: Duration,
        create_if_missing: bool,
        max_connections: u32,
    ) -> Result<Self> {
        if path_or_url.trim().is_empty() {
            return Err(Error::configuration("the database path must not be empty"));
        }
        if !path_or_url.starts_with("sqlite:") {
            return Ok(Self::file(
                Path::new(path_or_url),
                busy_timeout,
                create_if_missing,
                max_connections,
            ));
        }
        let in_memory = path_or_url.contains(":memory:") || path_or_url.contains("mode=memory");
        let options = SqliteConnectOptions::from_str(path_or_url).map_err(|e| {
            Error::configuration(format!("invalid SQLite URL {path_or_url:?}: {e}")).with_source(e)
        })?;
        Ok(Self::with_options(
            options,
            busy_timeout,
            create_if_missing,
            max_connections,
            in_memory,
            path_or_url.to_owned(),
        ))
    }

    /// A database file at `path` (never read as a URL).
    pub(crate) fn file(
        path: &Path,
        busy_timeout: Duration,
        create_if_missing: bool,
        max_connections: u32,
    ) -> Self {
        Self::with_options(
            SqliteConnectOptions::new().filename(path),
            busy_timeout,
            create_if_missing,
            max_connections,
            false,
            path.display().to_string(),
        )
    }

    fn with_options(
        options: SqliteConnectOptions,
        busy_timeout: Duration,
        create_if_missing: bool,
        max_connections: u32,
        in_memory: bool,
        display: String,
    ) -> Self {
        let options = options
            .busy_timeout(busy_timeout)
            .create_if_missing(create_if_missing)
            .synchronous(SqliteSynchronous::Normal);
        // An in-memory database has no WAL; it lives while one connection holds it. Its cache
        // is shared, so the store's write connection (rusqlite) opens the same database by
        // name.
        let (options, max_connections) = if in_memory {
            (options.shared_cache(true), 1)
        } else {
            (
                options.journal_mode(SqliteJournalMode::Wal),
                max_connections.max(1),
            )
        };
        Self {
            options,
            max_connections,
            in_memory,
            display,
            max_size: None,
            busy_timeout,
            create_if_missing,
        }
    }

    /// Caps the database at `bytes` (rounded down to whole pages, at least one).
    pub(crate) fn with_max_size(mut self, bytes: Option<u64>) -> Self {
        self.max_size = bytes;
        self
    }

    /// Opens a pool; failures are [`Error::Connection`]s naming the database.
    pub(crate) async fn connect(&self) -> Result<SqlitePool> {
        let mut pool = SqlitePoolOptions::new().max_connections(self.max_connections);
        if self.in_memory {
            pool = pool
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        if let Some(max_size) = self.max_size {
            // Per connection: every connection the pool opens gets the cap before its first use.
            pool = pool.after_connect(move |conn, _| Box::pin(cap_size(conn, max_size)));
        }
        pool.connect_with(self.options.clone()).await.map_err(|e| {
            let cause = from_sqlx(e, &format!("opening SQLite database {}", self.display));
            Error::connection(cause.message().to_owned()).with_source(cause)
        })
    }
}

/// Caps the database `conn` is on at `max_size` bytes.
///
/// The write connection does the same in `writer.rs`, with [`max_pages`].
async fn cap_size(conn: &mut SqliteConnection, max_size: u64) -> sqlx::Result<()> {
    let row = conn.fetch_one("PRAGMA page_size").await?;
    let pages = max_pages(max_size, row.try_get(0)?);
    let sql = format!("PRAGMA max_page_count = {pages}");
    conn.execute(sql.as_str()).await?;
    Ok(())
}

/// SQLite's largest `max_page_count`.
const MAX_PAGE_COUNT: u64 = 4_294_967_294;

/// Whole pages of `page_size` bytes in `bytes`, at least 1 and at most SQLite's limit.
pub(crate) fn max_pages(bytes: u64, page_size: i64) -> u64 {
    let page_size = u64::try_from(page_size).unwrap_or(4096).max(1);
    (bytes / page_size).clamp(1, MAX_PAGE_COUNT)
}
