//! [`PipelineCatalog`]: pipeline specs registered by name (table `_collectors_pipelines`), run
//! later as jobs of type `pipeline`.

use chrono::{DateTime, Utc};
use collectors_core::{Error, Result};
use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};
use utoipa::ToSchema;

use crate::time::{from_millis, now_millis};

/// A registered pipeline.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegisteredPipeline {
    /// Its name (a plain file name: it also names its directory of relative paths).
    pub name: String,
    /// The spec, as pipeline.toml in JSON.
    #[schema(value_type = Object)]
    pub spec: serde_json::Value,
    /// When it was first registered.
    pub created_at: DateTime<Utc>,
    /// When it was last replaced.
    pub updated_at: DateTime<Utc>,
}

/// Pipeline specs by name.
#[derive(Debug, Clone)]
pub struct PipelineCatalog {
    pool: AnyPool,
}

fn db_error(what: &str, e: sqlx::Error) -> Error {
    Error::storage(format!("pipelines: {what}: {e}")).with_source(e)
}

impl PipelineCatalog {
    /// The catalog in `pool`'s database, creating its table.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the table cannot be created.
    pub async fn open(pool: AnyPool) -> Result<Self> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS _collectors_pipelines (
                name TEXT PRIMARY KEY NOT NULL,
                spec TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )",
        )
        .execute(&pool)
        .await
        .map_err(|e| db_error("creating the table", e))?;
        Ok(Self { pool })
    }

    /// Registers (or replaces) `name` with `spec`, which must parse as a pipeline spec.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for a name that [`checked_name`] refuses;
    /// [`Error::Configuration`] for a spec that does not parse (naming the key);
    /// [`Error::Storage`] when it cannot be written.
    pub async fn put(&self, name: &str, spec: serde_json::Value) -> Result<RegisteredPipeline> {
        checked_name(name)?;
        collectors_pipeline::PipelineSpec::from_json_str(&spec.to_string(), ".")?;
        let now = now_millis();
        sqlx::query(
            "INSERT INTO _collectors_pipelines (name, spec, created_at, updated_at) \
             VALUES ($1, $2, $3, $3) \
             ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(spec.to_string())
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("registering", e))?;
        self.get(name).await
    }

    /// The pipeline `name`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown name; [`Error::Storage`] when it cannot be read.
    pub async fn get(&self, name: &str) -> Result<RegisteredPipeline> {
        let row = sqlx::query(
            "SELECT name, spec, created_at, updated_at FROM _collectors_pipelines WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("reading", e))?;
        row.map(|row| to_pipeline(&row))
            .transpose()?
            .ok_or_else(|| Error::not_found(format!("no pipeline named {name:?}")))
    }

    /// Every registered pipeline, by name.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when they cannot be read.
    pub async fn list(&self) -> Result<Vec<RegisteredPipeline>> {
        let rows = sqlx::query(
            "SELECT name, spec, created_at, updated_at FROM _collectors_pipelines ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("listing", e))?;
        rows.iter().map(to_pipeline).collect()
    }

    /// Removes `name`; `false` when there was none.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when it cannot be removed.
    pub async fn delete(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM _collectors_pipelines WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("removing", e))?;
        Ok(done.rows_affected() > 0)
    }
}

/// The pattern of [`checked_name`], for the OpenAPI document.
pub(crate) const NAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$";

/// A pipeline's name: 1 to 128 ASCII letters, digits, `.`, `_` and `-`, starting with a
/// letter or digit (it names checkpoints and appears in URLs; the OpenAPI document states
/// the same rule as a pattern).
///
/// # Errors
///
/// [`Error::Validation`] for any other name.
pub fn checked_name(name: &str) -> Result<&str> {
    let fits = name.len() <= 128
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if fits {
        Ok(name)
    } else {
        Err(Error::validation(format!(
            "pipeline name {name:?}: 1 to 128 letters, digits, `.`, `_` or `-`, starting with a letter or digit"
        )))
    }
}

fn to_pipeline(row: &sqlx::any::AnyRow) -> Result<RegisteredPipeline> {
    let spec: String = row.get(1);
    Ok(RegisteredPipeline {
        name: row.get(0),
        spec: serde_json::from_str(&spec)
            .map_err(|e| Error::storage(format!("pipelines: a stored spec is not JSON: {e}")))?,
        created_at: from_millis(row.get(2)),
        updated_at: from_millis(row.get(3)),
    })
}
