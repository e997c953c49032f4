//! [`SqliteStorageBuilder`]: checks the settings; connecting happens in `connect`.

use std::time::Duration;

use collectors_core::{Error, Result};

use super::connection::Database;
use super::schema::check_table_name;
use super::storage::SqliteStorage;

/// The data table records with a table payload are written to, unless set: `records`.
pub(crate) const DEFAULT_TABLE: &str = "records";
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_MAX_CONNECTIONS: u32 = 4;

/// Builds a [`SqliteStorage`]; see [`SqliteStorage::builder`].
///
/// ```
/// use std::time::Duration;
/// use collectors_backends::SqliteStorage;
///
/// let store = SqliteStorage::builder("warehouse", "out/readings.db")
///     .table("readings")
///     .busy_timeout(Duration::from_secs(10))
///     .build()
///     .unwrap();
/// assert_eq!(store.table(), "readings");
///
/// // Settings are checked at build time; nothing is opened yet.
/// assert!(SqliteStorage::builder("warehouse", "x.db").table("no spaces").build().is_err());
/// assert!(SqliteStorage::builder("", "x.db").build().is_err());
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct SqliteStorageBuilder {
    backend_id: String,
    path_or_url: String,
    table: String,
    busy_timeout: Duration,
    create_if_missing: bool,
    max_connections: u32,
}

impl SqliteStorageBuilder {
    pub(crate) fn new(backend_id: String, path_or_url: String) -> Self {
        Self {
            backend_id,
            path_or_url,
            table: DEFAULT_TABLE.to_owned(),
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            create_if_missing: true,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }

    /// The table rows of [`Payload::Table`](collectors_core::Payload::Table) records are
    /// written to (default `records`): letters, digits and `_`, not starting with a digit,
    /// and not `_collectors*` or `sqlite_*`.
    pub fn table(mut self, name: impl Into<String>) -> Self {
        self.table = name.into();
        self
    }

    /// How long a statement waits for a lock held by another connection or process before
    /// failing with a retryable [`Error::Storage`] (default 5 s).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Whether `connect` creates a missing database file (default `true`).
    pub fn create_if_missing(mut self, create: bool) -> Self {
        self.create_if_missing = create;
        self
    }

    /// The most connections the pool opens (default 4; 1 for an in-memory database). SQLite
    /// has one writer at a time; more connections serve concurrent queries.
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max;
        self
    }

    /// Checks the settings and builds the backend, not yet connected.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] when the backend id or the path is empty, the URL does not
    /// parse, the table name is not a plain identifier or is reserved, or
    /// `max_connections` is zero.
    pub fn build(self) -> Result<SqliteStorage> {
        let tag = |e: Error| {
            e.with_component(self.backend_id.clone())
                .with_operation("build")
        };
        if self.backend_id.trim().is_empty() {
            return Err(tag(Error::configuration(
                "the backend id must not be empty",
            )));
        }
        if self.max_connections == 0 {
            return Err(tag(Error::configuration(
                "max_connections must be at least 1",
            )));
        }
        check_table_name(&self.table).map_err(tag)?;
        let database = Database::parse(
            &self.path_or_url,
            self.busy_timeout,
            self.create_if_missing,
            self.max_connections,
        )
        .map_err(tag)?;
        Ok(SqliteStorage::new(self.backend_id, self.table, database))
    }
}
