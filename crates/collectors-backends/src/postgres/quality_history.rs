//! [`PostgresQualityHistory`]: data-quality reports in table `_collectors_quality` of a
//! PostgreSQL database (the one a pipeline keeps its checkpoints in).

use collectors_core::{Error, QualityEntry, QualityHistory, Result, async_trait};
use sqlx::PgPool;
use tokio::sync::OnceCell;

use super::error::from_sqlx;
use super::lazy_pool::LazyPool;
use crate::quality_row::{QualityRow, entry_of, report_text};

const COMPONENT: &str = "postgres-quality-history";

/// One row per kept report; `id` keeps the order they were kept in. Times are
/// `timestamptz` and reports `jsonb`, so SQL can query them directly.
const TABLE_SQL: &str = "CREATE TABLE IF NOT EXISTS _collectors_quality (
    id BIGSERIAL PRIMARY KEY,
    pipeline TEXT NOT NULL,
    processor TEXT NOT NULL,
    source_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    rows BIGINT NOT NULL,
    score DOUBLE PRECISION,
    report JSONB NOT NULL
)";

const INDEX_SQL: &str = "CREATE INDEX IF NOT EXISTS _collectors_quality_pipeline \
                         ON _collectors_quality (pipeline, processor, id)";

/// Data-quality reports kept in a PostgreSQL database, connected on first use (building one
/// touches nothing). Several runs on several machines append to one history.
///
/// ```no_run
/// use collectors_backends::postgres::PostgresQualityHistory;
/// use collectors_core::QualityHistory;
///
/// # async fn demo() -> collectors_core::Result<()> {
/// // The password comes from PGPASSWORD or ~/.pgpass, as for psql.
/// let history = PostgresQualityHistory::new("postgres://collectors@db.internal/ops")?;
/// for entry in history.entries("sensors", Some("data_quality"), 20).await? {
///     println!("{} {} {:?}", entry.recorded_at, entry.item_id, entry.score);
/// }
/// # Ok(()) }
/// ```
pub struct PostgresQualityHistory {
    database: LazyPool,
    ready: OnceCell<()>,
}

impl std::fmt::Debug for PostgresQualityHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresQualityHistory")
            .field("database", &self.database.shown())
            .finish_non_exhaustive()
    }
}

impl PostgresQualityHistory {
    /// The history in the database at `url` (not connected yet).
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for a URL that is not `postgres://…`.
    pub fn new(url: &str) -> Result<Self> {
        Ok(Self {
            database: LazyPool::new(url).map_err(|e| tag(e, "new"))?,
            ready: OnceCell::new(),
        })
    }

    /// The pool, with the table created on first use.
    async fn pool(&self, operation: &str) -> Result<PgPool> {
        let pool = self.database.get().await.map_err(|e| tag(e, operation))?;
        self.ready
            .get_or_try_init(|| async {
                for sql in [TABLE_SQL, INDEX_SQL] {
                    sqlx::query(sql)
                        .execute(&pool)
                        .await
                        .map_err(|e| from_sqlx(e, "creating the quality history table"))?;
                }
                Ok::<_, Error>(())
            })
            .await
            .map_err(|e| tag(e, operation))?;
        Ok(pool)
    }
}

fn tag(error: Error, operation: &str) -> Error {
    error.with_component(COMPONENT).with_operation(operation)
}

#[async_trait]
impl QualityHistory for PostgresQualityHistory {
    async fn record(&self, entry: &QualityEntry) -> Result<()> {
        let report = report_text(entry).map_err(|e| tag(e, "record"))?;
        let pool = self.pool("record").await?;
        sqlx::query(
            "INSERT INTO _collectors_quality \
             (pipeline, processor, source_id, item_id, recorded_at, rows, score, report) \
             VALUES ($1, $2, $3, $4, $5::timestamptz, $6, $7, $8::jsonb)",
        )
        .bind(&entry.pipeline)
        .bind(&entry.processor)
        .bind(&entry.source_id)
        .bind(&entry.item_id)
        .bind(entry.recorded_at.to_rfc3339())
        .bind(i64::try_from(entry.rows).unwrap_or(i64::MAX))
        .bind(entry.score)
        .bind(report)
        .execute(&pool)
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
        let pool = self.pool("entries").await?;
        // Times back as RFC 3339 text, reports as JSON text: the row both histories share.
        let rows: Vec<QualityRow> = sqlx::query_as(
            "SELECT processor, source_id, item_id, to_json(recorded_at) #>> '{}', rows, score, \
             report::text FROM _collectors_quality \
             WHERE pipeline = $1 AND ($2::text IS NULL OR processor = $2) \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(pipeline)
        .bind(processor)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&pool)
        .await
        .map_err(|e| tag(from_sqlx(e, "reading quality reports"), "entries"))?;
        rows.into_iter()
            .rev()
            .map(|row| entry_of(pipeline, row).map_err(|e| tag(e, "entries")))
            .collect()
    }
}
