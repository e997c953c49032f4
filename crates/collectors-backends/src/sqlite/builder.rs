//! [`SqliteStorageBuilder`]: checks the settings; connecting happens in `connect`.

use std::time::Duration;

use collectors_core::{Error, Result};

use super::connection::Database;
use super::storage::SqliteStorage;
use crate::sql_table::check_table_name;

/// The data table records with a table payload are written to, unless set: `records`.
pub(crate) const DEFAULT_TABLE: &str = "records";
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_MAX_CONNECTIONS: u32 = 4;
/// The longest busy timeout accepted: a writer waiting longer is stuck, not busy.
pub(crate) const MAX_BUSY_TIMEOUT: Duration = Duration::from_secs(3600);
/// The most connections accepted. SQLite has one writer at a time, and the pool reserves a
/// slot per connection up front, so a huge number would only cost memory.
pub(crate) const MAX_CONNECTIONS: u32 = 64;
/// The smallest database size cap accepted: room for the bookkeeping tables.
pub(crate) const MIN_DATABASE_SIZE: u64 = 64 * 1024;
/// The longest table name accepted, in bytes.
pub(crate) const MAX_TABLE_NAME_LEN: usize = 128;

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
    max_database_size: Option<u64>,
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
            max_database_size: None,
        }
    }

    /// The table rows of [`Payload::Table`](collectors_core::Payload::Table) records are
    /// written to (default `records`): letters, digits and `_`, not starting with a digit,
    /// at most 128 bytes, and not `_collectors*` or `sqlite_*`.
    pub fn table(mut self, name: impl Into<String>) -> Self {
        self.table = name.into();
        self
    }

    /// How long a statement waits for a lock held by another connection or process before
    /// failing with a retryable [`Error::Storage`] (default 5 s, at most 1 hour).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Whether `connect` creates a missing database file (default `true`).
    pub fn create_if_missing(mut self, create: bool) -> Self {
        self.create_if_missing = create;
        self
    }

    /// The most connections the pool opens (default 4, from 1 to 64; always 1 for an
    /// in-memory database). SQLite has one writer at a time; more connections serve
    /// concurrent queries.
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max;
        self
    }

    /// Caps the database at `bytes` (at least 64 KiB; rounded down to whole pages), through
    /// SQLite's `max_page_count` on every connection. Unlimited by default.
    ///
    /// A write that would grow the database past the cap fails like a full disk: a
    /// retryable [`Error::Storage`] saying "database or disk is full", with nothing of its
    /// batch kept. Space freed inside the file (deleted records) is reused first. The cap
    /// cannot shrink a database that is already larger; it only stops it from growing.
    pub fn max_database_size(mut self, bytes: u64) -> Self {
        self.max_database_size = Some(bytes);
        self
    }

    /// Checks the settings and builds the backend, not yet connected.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] when the backend id or the path is empty, the URL does not
    /// parse, the table name is not a plain identifier, is too long or is reserved, or a
    /// number is out of its range (`max_connections` 1 to 64, `busy_timeout` at most 1 hour,
    /// `max_database_size` at least 64 KiB).
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
        if !(1..=MAX_CONNECTIONS).contains(&self.max_connections) {
            return Err(tag(Error::configuration(format!(
                "max_connections must be from 1 to {MAX_CONNECTIONS}, not {}",
                self.max_connections
            ))));
        }
        if self.busy_timeout > MAX_BUSY_TIMEOUT {
            return Err(tag(Error::configuration(format!(
                "busy_timeout must be at most {} s, not {:?}",
                MAX_BUSY_TIMEOUT.as_secs(),
                self.busy_timeout
            ))));
        }
        if let Some(bytes) = self.max_database_size.filter(|b| *b < MIN_DATABASE_SIZE) {
            return Err(tag(Error::configuration(format!(
                "max_database_size must be at least {MIN_DATABASE_SIZE} bytes, not {bytes}"
            ))));
        }
        check_table_name(&self.table, MAX_TABLE_NAME_LEN, "sqlite_").map_err(tag)?;
        let database = Database::parse(
            &self.path_or_url,
            self.busy_timeout,
            self.create_if_missing,
            self.max_connections,
        )
        .map_err(tag)?
        .with_max_size(self.max_database_size);
        Ok(SqliteStorage::new(self.backend_id, self.table, database))
    }
}
