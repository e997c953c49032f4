//! The registry's database: one row per data source, its secrets as Fernet tokens, and a
//! check token that tells a wrong master key at open. SQLite under the data directory by
//! default, or PostgreSQL ([`REGISTRY_URL_ENV`]), through sqlx's `Any` driver: the same
//! statements run on both (`$N` parameters, no SQL functions of either dialect).

use std::collections::BTreeMap;

use collectors_core::{Error, Result};
use secrecy::SecretString;
use sqlx::AnyPool;
use sqlx::Row;

use crate::credentials::CredentialManager;

/// The plain text of the check token.
const KEY_CHECK: &str = "collectors registry key check v1";

/// The variable naming a PostgreSQL database (`postgres://…`) that holds the registry
/// instead of the data directory's `registry.db`, so that several machines (and the
/// service) share one registry. The master key still comes from `COLLECTORS_MASTER_KEY` or
/// the data directory.
pub const REGISTRY_URL_ENV: &str = "COLLECTORS_REGISTRY_URL";

/// One stored data source: its configuration without secrets (JSON of a
/// `DataSourceConfig`) and its secrets as `{key: Fernet token}`.
#[derive(Debug, Clone)]
pub(crate) struct StoredSource {
    pub(crate) id: String,
    pub(crate) config_json: String,
    pub(crate) secrets: BTreeMap<String, String>,
}

/// Where a registry database is: a SQLite file or a PostgreSQL URL.
pub(crate) use crate::any_db::AnyLocation as RegistryLocation;

/// [`REGISTRY_URL_ENV`] when set, else `default_file`.
///
/// # Errors
///
/// [`Error::Configuration`] when the variable is not a `postgres://` URL.
pub(crate) fn location_from_env_or(default_file: std::path::PathBuf) -> Result<RegistryLocation> {
    match std::env::var(REGISTRY_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => {
            let url = url.trim();
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                Ok(RegistryLocation::Postgres(url.to_owned()))
            } else {
                Err(Error::configuration(format!(
                    "{REGISTRY_URL_ENV} must be a postgres:// URL, not {}",
                    crate::any_db::redacted(url)
                )))
            }
        }
        _ => Ok(RegistryLocation::File(default_file)),
    }
}

#[derive(Debug, Clone)]
pub(crate) struct RegistryDatabase {
    pool: AnyPool,
    shown: String,
}

fn db_error(shown: &str, what: &str, e: sqlx::Error) -> Error {
    Error::storage(format!("registry database {shown}: {what}: {e}"))
        .with_source(e)
        .with_operation("registry")
}

/// The time of a change, as both databases store it (RFC 3339 text).
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl RegistryDatabase {
    /// Opens (creating) the database at `location`, and its tables.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for a PostgreSQL URL in a build without the `postgres`
    /// feature; [`Error::Storage`] when it cannot be opened (a URL's password is never in
    /// the message).
    pub(crate) async fn open(location: &RegistryLocation) -> Result<Self> {
        let shown = location.shown();
        let pool = crate::any_db::open_any_pool(location, 4)
            .await
            .map_err(|e| e.with_operation("registry"))?;
        for statement in [
            "CREATE TABLE IF NOT EXISTS _collectors_data_sources (
                id TEXT PRIMARY KEY NOT NULL,
                source_type TEXT NOT NULL,
                config TEXT NOT NULL,
                secrets TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )",
            "CREATE TABLE IF NOT EXISTS _collectors_registry_key (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                check_token TEXT NOT NULL
            )",
        ] {
            sqlx::query(statement)
                .execute(&pool)
                .await
                .map_err(|e| db_error(&shown, "cannot create its tables", e))?;
        }
        Ok(Self { pool, shown })
    }

    /// Checks that `manager`'s key is the one the database was written with (the first key
    /// to open a new database becomes it).
    pub(crate) async fn check_key(&self, manager: &CredentialManager) -> Result<()> {
        let token = manager.encrypt(&SecretString::from(KEY_CHECK));
        sqlx::query(
            "INSERT INTO _collectors_registry_key (id, check_token) VALUES (1, $1)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&token)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error(&self.shown, "cannot store the key check", e))?;
        let stored: String = sqlx::query_scalar("SELECT check_token FROM _collectors_registry_key")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error(&self.shown, "cannot read the key check", e))?;
        manager.decrypt(&stored).map(|_| ()).map_err(|_| {
            Error::authentication(format!(
                "the master key is not the one the registry {} was encrypted with (check \
                 COLLECTORS_MASTER_KEY or the data directory's master.key)",
                self.shown
            ))
            .with_operation("open registry")
        })
    }

    /// Every stored data source, by id.
    pub(crate) async fn load(&self) -> Result<Vec<StoredSource>> {
        let rows =
            sqlx::query("SELECT id, config, secrets FROM _collectors_data_sources ORDER BY id")
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error(&self.shown, "cannot read the data sources", e))?;
        rows.into_iter()
            .map(|row| {
                let id: String = row.get(0);
                let secrets: String = row.get(2);
                let secrets = serde_json::from_str(&secrets).map_err(|e| {
                    Error::storage(format!(
                        "registry database {}: the secrets of `{id}` are not a JSON object",
                        self.shown
                    ))
                    .with_source(e)
                })?;
                Ok(StoredSource {
                    id,
                    config_json: row.get(1),
                    secrets,
                })
            })
            .collect()
    }

    /// Adds a data source; an id already stored is an [`Error::InvalidState`].
    pub(crate) async fn insert(&self, source_type: &str, source: &StoredSource) -> Result<()> {
        let secrets = serde_json::to_string(&source.secrets).unwrap_or_else(|_| "{}".to_owned());
        let result = sqlx::query(
            "INSERT INTO _collectors_data_sources (id, source_type, config, secrets, updated_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&source.id)
        .bind(source_type)
        .bind(&source.config_json)
        .bind(secrets)
        .bind(now())
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(Error::invalid_state(
                format!("a data source `{}` is already registered", source.id),
            )),
            Err(e) => Err(db_error(&self.shown, "cannot store the data source", e)),
        }
    }

    /// Removes a data source; whether it was there.
    pub(crate) async fn delete(&self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM _collectors_data_sources WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error(&self.shown, "cannot remove the data source", e))?;
        Ok(done.rows_affected() > 0)
    }

    /// Re-encrypts every secret and the key check from `old` to `new`, in one transaction:
    /// either all of it is under the new key, or (on any failure) all under the old one.
    pub(crate) async fn rotate(
        &self,
        old: &CredentialManager,
        new: &CredentialManager,
    ) -> Result<usize> {
        let failed = |what: &str, e: sqlx::Error| db_error(&self.shown, what, e);
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| failed("cannot begin the rotation", e))?;
        let rows = sqlx::query("SELECT id, secrets FROM _collectors_data_sources")
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| failed("cannot read the data sources", e))?;
        let mut count = 0;
        for row in rows {
            let id: String = row.get(0);
            let secrets: String = row.get(1);
            let secrets: BTreeMap<String, String> = serde_json::from_str(&secrets)
                .map_err(|e| Error::storage(format!("secrets of `{id}`: {e}")))?;
            let mut rotated = BTreeMap::new();
            for (key, token) in secrets {
                let secret = old.decrypt(&token).map_err(|e| e.with_component(&id))?;
                rotated.insert(key, new.encrypt(&secret));
            }
            let text = serde_json::to_string(&rotated).unwrap_or_else(|_| "{}".to_owned());
            sqlx::query(
                "UPDATE _collectors_data_sources SET secrets = $1, updated_at = $2 WHERE id = $3",
            )
            .bind(text)
            .bind(now())
            .bind(&id)
            .execute(&mut *tx)
            .await
            .map_err(|e| failed("cannot store a re-encrypted secret", e))?;
            count += 1;
        }
        sqlx::query("UPDATE _collectors_registry_key SET check_token = $1 WHERE id = 1")
            .bind(new.encrypt(&SecretString::from(KEY_CHECK)))
            .execute(&mut *tx)
            .await
            .map_err(|e| failed("cannot store the key check", e))?;
        tx.commit()
            .await
            .map_err(|e| failed("cannot commit the rotation", e))?;
        Ok(count)
    }

    /// Closes the pool.
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}
