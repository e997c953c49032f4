//! One way to open the small bookkeeping databases of the framework (the data-source
//! registry, the service's files, pipelines and job queue): a SQLite file on one machine, or
//! PostgreSQL shared by many, through sqlx's `Any` driver so that the same statements run on
//! both (`$N` parameters; dialect-specific SQL only where a caller asks for it).
//!
//! ```no_run
//! # async fn demo() -> collectors_core::Result<()> {
//! use collectors_backends::any_db::{AnyLocation, open_any_pool};
//!
//! let location = AnyLocation::parse("state/service.db")?;
//! let pool = open_any_pool(&location, 8).await?;
//! sqlx::query("SELECT 1").execute(&pool).await.ok();
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};

use collectors_core::{Error, Result};
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

/// Where a bookkeeping database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyLocation {
    /// A SQLite file (created when missing, with its parent directory).
    File(PathBuf),
    /// A PostgreSQL database URL (`postgres://…`); needs the `postgres` feature.
    Postgres(String),
}

/// The SQL dialect behind an [`AnyPool`], for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3.35 or later (`RETURNING`).
    Sqlite,
    /// PostgreSQL (`FOR UPDATE SKIP LOCKED`, `LISTEN`/`NOTIFY`).
    Postgres,
}

impl AnyLocation {
    /// `postgres://…` / `postgresql://…` as a server URL; `sqlite://PATH` or `sqlite:PATH` or
    /// a plain path as a SQLite file.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for any other scheme (`mysql://…`), naming it.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Self::Postgres(text.to_owned()));
        }
        if let Some(path) = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
        {
            return Ok(Self::File(PathBuf::from(path)));
        }
        match text.split_once("://") {
            Some((scheme, _)) => Err(Error::configuration(format!(
                "database `{scheme}://…`: unsupported scheme (use a SQLite path, sqlite://PATH \
                 or postgres://…)"
            ))),
            None if text.is_empty() => Err(Error::configuration("database: empty location")),
            None => Ok(Self::File(PathBuf::from(text))),
        }
    }

    /// Which dialect the database speaks.
    pub fn dialect(&self) -> Dialect {
        match self {
            Self::File(_) => Dialect::Sqlite,
            Self::Postgres(_) => Dialect::Postgres,
        }
    }

    /// How messages name it: the path, or the URL without its password.
    pub fn shown(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Postgres(url) => redacted(url),
        }
    }
}

/// A URL without its password, for messages.
pub fn redacted(url: &str) -> String {
    #[cfg(feature = "postgres")]
    {
        crate::postgres::url::redacted(url)
    }
    #[cfg(not(feature = "postgres"))]
    {
        match url.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://…"),
            None => "<not a URL>".to_owned(),
        }
    }
}

/// Installs sqlx's `Any` drivers of this build, once. A host app that installed its own
/// keeps them (then a missing driver is an error at connect, never a panic).
fn install_drivers() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = sqlx::any::install_drivers(&[
            sqlx::sqlite::any::DRIVER,
            #[cfg(feature = "postgres")]
            sqlx::postgres::any::DRIVER,
        ]);
    });
}

/// Opens a pool of at most `max_connections` on `location`. A SQLite file is created (with
/// its directory, private to the user) and runs in WAL mode with `synchronous=NORMAL` and a
/// busy timeout, so that concurrent writers wait for each other instead of failing.
///
/// # Errors
///
/// [`Error::Configuration`] for a PostgreSQL URL in a build without the `postgres` feature
/// or a path that is not UTF-8; [`Error::Storage`] when it cannot be opened (a URL's
/// password is never in the message).
pub async fn open_any_pool(location: &AnyLocation, max_connections: u32) -> Result<AnyPool> {
    install_drivers();
    let shown = location.shown();
    let url = match location {
        AnyLocation::File(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                crate::registry::data_dir::create_private_dir(parent)?;
            }
            sqlite_url(path)?
        }
        AnyLocation::Postgres(url) => {
            if cfg!(not(feature = "postgres")) {
                return Err(Error::configuration(format!(
                    "database {shown}: this build has no PostgreSQL support (feature `postgres`)"
                )));
            }
            url.clone()
        }
    };
    AnyPoolOptions::new()
        .max_connections(max_connections.max(1))
        // A database that cannot be reached says so soon (sqlx retries until then).
        .acquire_timeout(std::time::Duration::from_secs(10))
        .after_connect(|connection, _| {
            Box::pin(async move {
                if connection.backend_name() == "SQLite" {
                    sqlx::query("PRAGMA journal_mode = WAL")
                        .execute(&mut *connection)
                        .await?;
                    sqlx::query("PRAGMA busy_timeout = 30000")
                        .execute(&mut *connection)
                        .await?;
                    // As the SQLite backends: a commit survives a killed process; only a
                    // power loss may take the last ones (WAL, no fsync per commit).
                    sqlx::query("PRAGMA synchronous = NORMAL")
                        .execute(&mut *connection)
                        .await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await
        .map_err(|e| {
            // sqlx's connect errors may repeat the URL: keep only what they say of it.
            Error::storage(format!(
                "database {shown}: cannot open: {}",
                e.to_string().replace(&url, &shown)
            ))
        })
}

fn sqlite_url(path: &Path) -> Result<String> {
    let text = path.to_str().ok_or_else(|| {
        Error::configuration(format!(
            "database {}: the path is not UTF-8",
            path.display()
        ))
    })?;
    let encoded = text
        .replace('%', "%25")
        .replace('?', "%3F")
        .replace('#', "%23");
    Ok(format!("sqlite://{encoded}?mode=rwc"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_by_scheme() {
        assert_eq!(
            AnyLocation::parse("sqlite://state/x.db").unwrap(),
            AnyLocation::File("state/x.db".into())
        );
        assert_eq!(
            AnyLocation::parse("state/x.db").unwrap().dialect(),
            Dialect::Sqlite
        );
        let pg = AnyLocation::parse("postgres://u:hunter2@db/app").unwrap();
        assert_eq!(pg.dialect(), Dialect::Postgres);
        assert!(!pg.shown().contains("hunter2"));
        let err = AnyLocation::parse("mysql://u:p@h/db").unwrap_err();
        assert!(err.to_string().contains("mysql://"), "{err}");
        assert!(!err.to_string().contains(":p@"), "{err}");
    }

    #[tokio::test]
    async fn a_sqlite_file_and_its_directory_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let location = AnyLocation::File(dir.path().join("a/b.db"));
        let pool = open_any_pool(&location, 2).await.unwrap();
        let one: i64 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(one, 1);
        assert!(dir.path().join("a/b.db").exists());
    }
}
