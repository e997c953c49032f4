//! [`LazyPool`]: a PostgreSQL pool opened on first use, closed by `disconnect` and opened
//! again by the next use: what a connector or a source built before any I/O needs.

use std::time::Duration;

use collectors_core::{Error, Result};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio::sync::Mutex;

use super::error::from_sqlx;
use super::url::redacted;

/// Connections of one pool.
const MAX_CONNECTIONS: u32 = 4;

/// The options of a URL and the pool made from them, once used.
pub(crate) struct LazyPool {
    options: PgConnectOptions,
    /// The URL without its password, for errors and `Debug`.
    shown: String,
    pool: Mutex<Option<PgPool>>,
}

impl LazyPool {
    /// Parses `url`; nothing is connected yet.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for a URL that is not a PostgreSQL one (the message shows
    /// it without its password).
    pub(crate) fn new(url: &str) -> Result<Self> {
        let shown = redacted(url);
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::configuration(format!(
                "{shown} is not a PostgreSQL connection URL (postgres://user@host:port/db)"
            )));
        }
        let options: PgConnectOptions = url.parse().map_err(|_| {
            Error::configuration(format!("{shown} is not a PostgreSQL connection URL"))
        })?;
        Ok(Self {
            options,
            shown,
            pool: Mutex::new(None),
        })
    }

    /// The URL without its password.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// The pool, connecting first when it is not open.
    ///
    /// # Errors
    ///
    /// [`Error::Connection`] when the server cannot be reached, [`Error::Authentication`]
    /// for wrong credentials; the password is never in the message.
    pub(crate) async fn get(&self) -> Result<PgPool> {
        let mut slot = self.pool.lock().await;
        if let Some(pool) = slot.as_ref().filter(|p| !p.is_closed()) {
            return Ok(pool.clone());
        }
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(self.options.clone())
            .await
            .map_err(|e| from_sqlx(e, &format!("connecting to {}", self.shown)))?;
        *slot = Some(pool.clone());
        Ok(pool)
    }

    /// Closes the pool, if open. The next [`get`](Self::get) opens a new one.
    pub(crate) async fn close(&self) {
        let pool = self.pool.lock().await.take();
        if let Some(pool) = pool {
            pool.close().await;
        }
    }
}
