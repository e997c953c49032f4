//! [`SqliteQualityHistory`]: data-quality reports in table `_collectors_quality` of a SQLite
//! database (a pipeline's checkpoint database).

use std::path::{Path, PathBuf};
use std::time::Duration;

use collectors_core::{Error, QualityEntry, QualityHistory, Result, async_trait};
use sqlx::sqlite::SqlitePool;
use tokio::sync::OnceCell;

use super::connection::Database;
use super::error::from_sqlx;
use crate::quality_row::{QualityRow, entry_of, report_text};

const COMPONENT: &str = "sqlite-quality-history";

/// One row per kept report; `id` keeps the order they were kept in.
const TABLE_SQL: &str = "CREATE TABLE IF NOT EXISTS _collectors_quality (
    id INTEGER PRIMARY KEY,
    pipeline TEXT NOT NULL,
    processor TEXT NOT NULL,
    source_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    rows INTEGER NOT NULL,
    score REAL,
    report TEXT NOT NULL
)";

const INDEX_SQL: &str = "CREATE INDEX IF NOT EXISTS _collectors_quality_pipeline \
                         ON _collectors_quality (pipeline, processor, id)";

/// Data-quality reports kept in a SQLite database file, opened on first use (building one
/// touches nothing, so a pipeline that never profiles creates no table). Reading a database
/// that does not exist yet finds no reports and creates nothing.
///
/// ```
/// use collectors_backends::SqliteQualityHistory;
/// use collectors_core::{QualityEntry, QualityHistory};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let history = SqliteQualityHistory::new(dir.path().join("checkpoints.db"));
/// assert!(history.entries("sensors", None, 10).await?.is_empty());
/// history
///     .record(&QualityEntry {
///         pipeline: "sensors".into(),
///         processor: "data_quality".into(),
///         source_id: "readings".into(),
///         item_id: "day-1.csv".into(),
///         recorded_at: chrono::Utc::now(),
///         rows: 10,
///         score: Some(1.0),
///         report: serde_json::json!({"rows": 10, "score": 1.0}),
///     })
///     .await?;
/// assert_eq!(history.entries("sensors", None, 10).await?.len(), 1);
/// # Ok::<_, collectors_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct SqliteQualityHistory {
    path: PathBuf,
    pool: OnceCell<SqlitePool>,
}

impl SqliteQualityHistory {
    /// The history in the database file at `path` (not opened yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            pool: OnceCell::new(),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn pool(&self, operation: &str) -> Result<&SqlitePool> {
        self.pool
            .get_or_try_init(|| async {
                let database = Database::file(&self.path, Duration::from_secs(5), true, 1);
                let pool = database.connect().await?;
                for sql in [TABLE_SQL, INDEX_SQL] {
                    if let Err(e) = sqlx::query(sql).execute(&pool).await {
                        pool.close().await;
                        return Err(from_sqlx(e, "creating the quality history table"));
                    }
                }
                Ok(pool)
            })
            .await
            .map_err(|e| tag(e, operation))
    }
}

fn tag(error: Error, operation: &str) -> Error {
    error.with_component(COMPONENT).with_operation(operation)
}

#[async_trait]
impl QualityHistory for SqliteQualityHistory {
    async fn record(&self, entry: &QualityEntry) -> Result<()> {
        let report = report_text(entry).map_err(|e| tag(e, "record"))?;
        let pool = self.pool("record").await?;
        sqlx::query(
            "INSERT INTO _collectors_quality \
             (pipeline, processor, source_id, item_id, recorded_at, rows, score, report) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&entry.pipeline)
        .bind(&entry.processor)
        .bind(&entry.source_id)
        .bind(&entry.item_id)
        .bind(entry.recorded_at.to_rfc3339())
        .bind(i64::try_from(entry.rows).unwrap_or(i64::MAX))
        .bind(entry.score)
        .bind(report)
        .execute(pool)
        .await
        .map_err(|e| tag(from_sqlx(e, "keeping a quality report"), "record"))?;
        Ok(())
    }

    async fn entries(
        &self,
        pipeline: &str,
        processor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<QualityEntry>> {
        if !self.path.is_file() {
            return Ok(Vec::new());
        }
        let pool = self.pool("entries").await?;
        let rows: Vec<QualityRow> = sqlx::query_as(
            "SELECT processor, source_id, item_id, recorded_at, rows, score, report \
             FROM _collectors_quality WHERE pipeline = ?1 AND (?2 IS NULL OR processor = ?2) \
             ORDER BY id DESC LIMIT ?3",
        )
        .bind(pipeline)
        .bind(processor)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await
        .map_err(|e| tag(from_sqlx(e, "reading quality reports"), "entries"))?;
        rows.into_iter()
            .rev()
            .map(|row| entry_of(pipeline, row).map_err(|e| tag(e, "entries")))
            .collect()
    }
}
