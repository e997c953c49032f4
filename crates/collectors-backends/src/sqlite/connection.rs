//! Opening a SQLite database: connect options (WAL, `synchronous=NORMAL`, busy timeout) and
//! the pool.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use collectors_core::{Error, Result};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::error::from_sqlx;

/// Where a database is and how to open it.
#[derive(Debug, Clone)]
pub(crate) struct Database {
    pub(crate) options: SqliteConnectOptions,
    pub(crate) max_connections: u32,
    pub(crate) in_memory: bool,
    /// For messages: the file, or the URL as given.
    pub(crate) display: String,
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
        // An in-memory database has no WAL; it lives while one connection holds it.
        let (options, max_connections) = if in_memory {
            (options, 1)
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
        }
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
        pool.connect_with(self.options.clone()).await.map_err(|e| {
            let cause = from_sqlx(e, &format!("opening SQLite database {}", self.display));
            Error::connection(cause.message().to_owned()).with_source(cause)
        })
    }
}
