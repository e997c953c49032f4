//! [`PostgresStorageBuilder`]: checks the settings; connecting happens in `connect`.

use std::str::FromStr;
use std::time::Duration;

use collectors_core::{Error, Result};
use sqlx::postgres::PgConnectOptions;

use super::copy::CopyFormat;
use super::schema::MAX_IDENT_LEN;
use super::store::PostgresStorage;
use crate::pool::PoolConfig;
use crate::postgres::url::redacted;
use crate::sql_table::check_table_name;

/// The data table records with a table payload are written to, unless set: `records`.
pub(crate) const DEFAULT_TABLE: &str = "records";
/// The most connections accepted from one store.
const MAX_CONNECTIONS: usize = 256;

/// The store's pool unless it is given another: 4 connections, 30 s to acquire one.
fn default_pool() -> PoolConfig {
    PoolConfig::new()
        .max_size(4)
        .acquire_timeout(Duration::from_secs(30))
}

/// Builds a [`PostgresStorage`]; see [`PostgresStorage::builder`].
///
/// ```
/// use collectors_backends::postgres::{CopyFormat, PostgresStorage};
///
/// let store = PostgresStorage::builder("warehouse", "postgres://loader@db.internal/sensors")
///     .table("readings")
///     .copy_format(CopyFormat::Csv)
///     .build()
///     .unwrap();
/// assert_eq!(store.table(), "readings");
/// assert_eq!(store.copy_format(), CopyFormat::Csv);
///
/// // Settings are checked at build time; nothing is opened yet.
/// let err = PostgresStorage::builder("warehouse", "postgres://db/x")
///     .table("x\"; DROP TABLE t; --")
///     .build()
///     .unwrap_err();
/// assert_eq!(err.error_type(), collectors_core::ErrorType::Configuration);
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct PostgresStorageBuilder {
    backend_id: String,
    url: String,
    table: String,
    copy_format: CopyFormat,
    stage_new_records: bool,
    pool: PoolConfig,
}

/// The URL holds the password: only its redacted form is shown.
impl std::fmt::Debug for PostgresStorageBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorageBuilder")
            .field("backend_id", &self.backend_id)
            .field("database", &redacted(&self.url))
            .field("table", &self.table)
            .field("copy_format", &self.copy_format)
            .field("stage_new_records", &self.stage_new_records)
            .field("pool", &self.pool)
            .finish()
    }
}

impl PostgresStorageBuilder {
    pub(crate) fn new(backend_id: String, url: String) -> Self {
        Self {
            backend_id,
            url,
            table: DEFAULT_TABLE.to_owned(),
            copy_format: CopyFormat::default(),
            stage_new_records: false,
            pool: default_pool(),
        }
    }

    /// The table rows of [`Payload::Table`](collectors_core::Payload::Table) records are
    /// written to (default `records`, in the connection's default schema): letters, digits
    /// and `_`, not starting with a digit, at most 63 bytes, and not `_collectors*` or
    /// `pg_*`. It is created from the first batch's Arrow schema.
    pub fn table(mut self, name: impl Into<String>) -> Self {
        self.table = name.into();
        self
    }

    /// The wire format of the `COPY` that loads rows (default [`CopyFormat::Binary`]).
    pub fn copy_format(mut self, format: CopyFormat) -> Self {
        self.copy_format = format;
        self
    }

    /// Also stage the rows of records new to the store (default `false`).
    ///
    /// A replaced record's rows always go through the staging table and
    /// `INSERT … ON CONFLICT (_id) DO UPDATE`. The rows of a record whose key row this
    /// transaction inserted are by default copied straight into the table: its id is fresh
    /// from the sequence, so no row can carry it, and the key's unique entry makes any other
    /// writer of that key wait for this commit. Staging them too writes every row twice.
    pub fn stage_new_records(mut self, stage: bool) -> Self {
        self.stage_new_records = stage;
        self
    }

    /// The most connections the store opens (default 4, at most 256): the pool's
    /// `max_size`.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.pool.max_size = n as usize;
        self
    }

    /// The store's connection pool: size, acquire, idle and lifetime limits, and the health
    /// check of a connection before it is handed out (default: 4 connections, 30 s to
    /// acquire, the other [`PoolConfig`] defaults).
    pub fn pool(mut self, config: PoolConfig) -> Self {
        self.pool = config;
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for an empty backend id, a URL that is not a PostgreSQL URL
    /// (the password is never shown), a bad table name or connection count.
    pub fn build(self) -> Result<PostgresStorage> {
        if self.backend_id.trim().is_empty() {
            return Err(Error::configuration("the backend id must not be empty"));
        }
        check_table_name(&self.table, MAX_IDENT_LEN, "pg_")?;
        if self.pool.max_size == 0 || self.pool.max_size > MAX_CONNECTIONS {
            return Err(Error::configuration(format!(
                "max_connections (the pool's max_size) must be 1 to {MAX_CONNECTIONS}, not {}",
                self.pool.max_size
            )));
        }
        self.pool.validate()?;
        let shown = redacted(&self.url);
        let scheme_ok =
            self.url.starts_with("postgres://") || self.url.starts_with("postgresql://");
        let options = PgConnectOptions::from_str(&self.url)
            .ok()
            .filter(|_| scheme_ok)
            .ok_or_else(|| {
                Error::configuration(format!("{shown} is not a PostgreSQL connection URL"))
            })?;
        Ok(PostgresStorage::new(
            self.backend_id,
            self.table,
            shown,
            options,
            self.copy_format,
            self.stage_new_records,
            self.pool,
        ))
    }
}
