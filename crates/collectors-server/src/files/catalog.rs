//! [`FileCatalog`]: the records of uploaded files (table `_collectors_data_files`).

use chrono::{DateTime, Utc};
use collectors_core::{Error, Result};
use serde::Serialize;
use sqlx::{AnyPool, Row};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::time::{from_millis, now_millis};

/// An uploaded file.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DataFile {
    /// Its id.
    pub id: Uuid,
    /// The name the client gave it.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its media type.
    pub content_type: String,
    /// `sha256:` and the hex SHA-256 of its bytes.
    pub checksum: String,
    /// Where it is stored (the object's URI).
    pub storage_uri: String,
    /// When it was uploaded.
    pub created_at: DateTime<Utc>,
}

/// A page of files, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FilePage {
    /// The files of the page.
    pub items: Vec<DataFile>,
    /// How many files there are in all.
    pub total: u64,
}

/// The records of uploaded files.
#[derive(Debug, Clone)]
pub struct FileCatalog {
    pool: AnyPool,
}

const COLUMNS: &str = "id, name, size, content_type, checksum, storage_uri, created_at";

fn db_error(what: &str, e: sqlx::Error) -> Error {
    Error::storage(format!("data files: {what}: {e}")).with_source(e)
}

impl FileCatalog {
    /// The catalog in `pool`'s database, creating its table.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the table cannot be created.
    pub async fn open(pool: AnyPool) -> Result<Self> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS _collectors_data_files (
                id TEXT PRIMARY KEY NOT NULL,
                name TEXT NOT NULL,
                size BIGINT NOT NULL,
                content_type TEXT NOT NULL,
                checksum TEXT NOT NULL,
                storage_uri TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )",
        )
        .execute(&pool)
        .await
        .map_err(|e| db_error("creating the table", e))?;
        sqlx::query(
            "CREATE INDEX IF NOT EXISTS _collectors_data_files_created \
             ON _collectors_data_files (created_at)",
        )
        .execute(&pool)
        .await
        .map_err(|e| db_error("creating the index", e))?;
        Ok(Self { pool })
    }

    /// Records a stored file; `created_at` is now.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the row cannot be written.
    pub async fn insert(
        &self,
        id: Uuid,
        name: &str,
        size: u64,
        content_type: &str,
        checksum: &str,
        storage_uri: &str,
    ) -> Result<DataFile> {
        let created_at = now_millis();
        sqlx::query(&format!(
            "INSERT INTO _collectors_data_files ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(id.to_string())
        .bind(name)
        .bind(i64::try_from(size).unwrap_or(i64::MAX))
        .bind(content_type)
        .bind(checksum)
        .bind(storage_uri)
        .bind(created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("recording the file", e))?;
        Ok(DataFile {
            id,
            name: name.to_owned(),
            size,
            content_type: content_type.to_owned(),
            checksum: checksum.to_owned(),
            storage_uri: storage_uri.to_owned(),
            created_at: from_millis(created_at),
        })
    }

    /// The file `id`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown id; [`Error::Storage`] when it cannot be read.
    pub async fn get(&self, id: Uuid) -> Result<DataFile> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM _collectors_data_files WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("reading the file", e))?;
        row.map(|row| to_file(&row))
            .transpose()?
            .ok_or_else(|| Error::not_found(format!("no data file {id}")))
    }

    /// A page of files, newest first.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when they cannot be read.
    pub async fn list(&self, limit: u32, offset: u32) -> Result<FilePage> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM _collectors_data_files \
             ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"
        ))
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("listing the files", e))?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _collectors_data_files")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error("counting the files", e))?;
        Ok(FilePage {
            items: rows.iter().map(to_file).collect::<Result<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    /// Removes the record of `id`; `false` when there was none.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when it cannot be removed.
    pub async fn delete(&self, id: Uuid) -> Result<bool> {
        let done = sqlx::query("DELETE FROM _collectors_data_files WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("removing the file", e))?;
        Ok(done.rows_affected() > 0)
    }
}

fn to_file(row: &sqlx::any::AnyRow) -> Result<DataFile> {
    let id: String = row.get(0);
    let size: i64 = row.get(2);
    Ok(DataFile {
        id: Uuid::parse_str(&id)
            .map_err(|e| Error::storage(format!("data files: a bad id {id:?}: {e}")))?,
        name: row.get(1),
        size: u64::try_from(size).unwrap_or(0),
        content_type: row.get(3),
        checksum: row.get(4),
        storage_uri: row.get(5),
        created_at: from_millis(row.get(6)),
    })
}
