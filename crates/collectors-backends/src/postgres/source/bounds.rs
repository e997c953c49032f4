//! The chunk bounds of a source, kept in the table `_collectors_source_chunks` of the source
//! database: once a bound is listed it never moves, so a chunk keeps its id and its rows
//! across runs, and a rerun's new chunks start after the last bound.

use collectors_core::Result;
use sqlx::postgres::PgPool;
use sqlx::{Executor, Postgres, Transaction};

use super::super::error::from_sqlx;
use super::super::export::read_error;

/// The table of the source database where [`PostgresSource`](super::PostgresSource) keeps
/// its chunk bounds (created on `connect` if missing).
pub const BOUNDS_TABLE: &str = "_collectors_source_chunks";

const CREATE: &str = "CREATE TABLE IF NOT EXISTS _collectors_source_chunks (
    source_id TEXT NOT NULL,
    target_md5 TEXT NOT NULL,
    cursor_column TEXT NOT NULL,
    seq BIGINT NOT NULL,
    through TEXT NOT NULL,
    PRIMARY KEY (source_id, target_md5, cursor_column, seq)
)";

/// Which chunks: a source reading a target by a cursor column.
pub(crate) struct BoundsKey<'a> {
    pub(crate) source_id: &'a str,
    /// `schema.name`, or the query's text (kept as its MD5: a long query fits the key).
    pub(crate) target: &'a str,
    pub(crate) cursor: &'a str,
}

impl BoundsKey<'_> {
    fn lock_name(&self) -> String {
        format!(
            "collectors-source\x1f{}\x1f{}\x1f{}",
            self.source_id, self.target, self.cursor
        )
    }
}

/// How the rows are walked: the `FROM` item, the quoted cursor and its SQL type.
pub(crate) struct Walk<'a> {
    pub(crate) sql_from: &'a str,
    pub(crate) cursor_sql: &'a str,
    pub(crate) cursor_type: &'a str,
    pub(crate) chunk_rows: usize,
}

/// Creates the bounds table if missing (under a lock: two runs may start at once).
pub(crate) async fn ensure_table(pool: &PgPool) -> Result<()> {
    let what = format!("creating {BOUNDS_TABLE} (the source needs CREATE and INSERT on it)");
    let mut tx = pool.begin().await.map_err(|e| from_sqlx(e, &what))?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(BOUNDS_TABLE)
        .execute(&mut *tx)
        .await
        .map_err(|e| from_sqlx(e, &what))?;
    tx.execute(CREATE).await.map_err(|e| read_error(e, &what))?;
    tx.commit().await.map_err(|e| from_sqlx(e, &what))
}

/// Every bound of `key`, old and new: the stored ones, then new ones found by walking the
/// rows after the last one up to the largest cursor now, `chunk_rows` rows a chunk. New
/// bounds are stored before they are returned; concurrent listings of one key wait for each
/// other, so they agree.
pub(crate) async fn list_bounds(
    pool: &PgPool,
    key: &BoundsKey<'_>,
    walk: &Walk<'_>,
) -> Result<Vec<String>> {
    let what = "listing chunks";
    let mut tx = pool.begin().await.map_err(|e| from_sqlx(e, what))?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(key.lock_name())
        .execute(&mut *tx)
        .await
        .map_err(|e| from_sqlx(e, what))?;
    let mut bounds: Vec<String> = sqlx::query_scalar(
        "SELECT through FROM _collectors_source_chunks \
         WHERE source_id = $1 AND target_md5 = md5($2) AND cursor_column = $3 ORDER BY seq",
    )
    .bind(key.source_id)
    .bind(key.target)
    .bind(key.cursor)
    .fetch_all(&mut *tx)
    .await
    .map_err(|e| read_error(e, what))?;
    let stored = bounds.len();
    walk_new(&mut tx, walk, &mut bounds).await?;
    if bounds.len() > stored {
        let seqs: Vec<i64> = (stored + 1..=bounds.len()).map(|s| s as i64).collect();
        sqlx::query(
            "INSERT INTO _collectors_source_chunks \
             (source_id, target_md5, cursor_column, seq, through) \
             SELECT $1, md5($2), $3, s, t FROM UNNEST($4::INT8[], $5::TEXT[]) AS u(s, t)",
        )
        .bind(key.source_id)
        .bind(key.target)
        .bind(key.cursor)
        .bind(&seqs)
        .bind(&bounds[stored..])
        .execute(&mut *tx)
        .await
        .map_err(|e| read_error(e, "storing chunk bounds"))?;
    }
    tx.commit().await.map_err(|e| from_sqlx(e, what))?;
    tracing::debug!(
        source = key.source_id,
        chunks = bounds.len(),
        new = bounds.len() - stored,
        "chunks listed"
    );
    Ok(bounds)
}

/// Appends to `bounds` the bounds of the rows after its last one: each the cursor of the
/// `chunk_rows`-th row after the previous bound (rows of equal cursors all fall in one
/// chunk), the last the largest cursor.
async fn walk_new(
    tx: &mut Transaction<'_, Postgres>,
    walk: &Walk<'_>,
    bounds: &mut Vec<String>,
) -> Result<()> {
    let (from, c) = (walk.sql_from, walk.cursor_sql);
    let last = bounds.last().cloned();
    // Two shapes of each statement, so that the plan can use an index on the cursor.
    let max_sql = format!(
        "SELECT max(q.{c})::TEXT FROM {from} AS q WHERE {}",
        range(walk, last.is_some(), None)
    );
    let mut max_query = sqlx::query_scalar(&max_sql);
    if let Some(lo) = &last {
        max_query = max_query.bind(lo);
    }
    let max: Option<String> = max_query
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| read_error(e, "reading the largest cursor"))?;
    let Some(max) = max else {
        return Ok(());
    };
    let offset = i64::try_from(walk.chunk_rows.saturating_sub(1)).unwrap_or(i64::MAX);
    let mut lo = last;
    loop {
        let n = if lo.is_some() { 1 } else { 0 };
        let step_sql = format!(
            "SELECT q.{c}::TEXT FROM {from} AS q WHERE {} ORDER BY q.{c} OFFSET ${} LIMIT 1",
            range(walk, lo.is_some(), Some(n + 1)),
            n + 2
        );
        let mut step = sqlx::query_scalar(&step_sql);
        if let Some(lo) = &lo {
            step = step.bind(lo);
        }
        let hi: Option<String> = step
            .bind(&max)
            .bind(offset)
            .fetch_optional(&mut **tx)
            .await
            .map_err(|e| read_error(e, "walking the cursor"))?;
        let hi = hi.unwrap_or_else(|| max.clone());
        let end = hi == max;
        bounds.push(hi.clone());
        if end {
            return Ok(());
        }
        lo = Some(hi);
    }
}

/// The condition `cursor > $1` (when `after`) `AND cursor <= $<through>` (when given), in
/// the cursor's type; `TRUE` when neither. Rows with a NULL cursor never match.
pub(crate) fn range(walk: &Walk<'_>, after: bool, through: Option<usize>) -> String {
    let (c, ty) = (walk.cursor_sql, walk.cursor_type);
    let mut parts = vec![format!("q.{c} IS NOT NULL")];
    if after {
        parts.push(format!("q.{c} > CAST($1::TEXT AS {ty})"));
    }
    if let Some(n) = through {
        parts.push(format!("q.{c} <= CAST(${n}::TEXT AS {ty})"));
    }
    parts.join(" AND ")
}
