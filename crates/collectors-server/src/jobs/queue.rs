//! [`JobQueue`]: the durable job queue on one table, in SQLite or PostgreSQL.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use collectors_backends::any_db::{AnyLocation, Dialect, open_any_pool};
use collectors_core::{Error, Result};
use sqlx::AnyPool;
use sqlx::Row;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::notify::Notifier;
use super::sql::{self, Statements, TABLE};
use super::{
    Heartbeat, Job, JobEvent, JobFilter, JobPage, JobStatus, Lease, NewJob, QueueConfig, row,
};

/// Connections of one queue's pool on PostgreSQL.
const POOL_SIZE: u32 = 8;

/// Jobs per insert statement of [`JobQueue::enqueue_many`] (six parameters each).
const JOBS_PER_INSERT: usize = 500;

/// The most attempts a job may ask for.
const MAX_ATTEMPTS: u32 = 1000;

/// The durable job queue of the service: one table (`_collectors_jobs`) that is the queue,
/// the status and progress of every job, and its result, in SQLite (one machine) or
/// PostgreSQL (workers on many machines), the way River and Oban do it.
///
/// - A worker [`claim`](Self::claim)s the oldest due pending job (on PostgreSQL with
///   `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait for each other) and gets a
///   [`Lease`]: the job is `PROCESSING` until `lease_until`, which its
///   [`heartbeat`](Self::heartbeat)s extend. Every write of the worker is fenced by the
///   lease's token, so a worker whose lease expired cannot overwrite the re-run's result.
/// - A failed attempt is retried after `min(base·2^(n-1), cap)` ([`QueueConfig::backoff`]);
///   the [`reap`](Self::reap)er re-queues jobs whose worker stopped heartbeating and fails
///   them after their last attempt, so a job that kills its worker does not loop forever.
/// - [`cancel`](Self::cancel) cancels a pending job at once and flags a running one for its
///   worker's heartbeat.
/// - Every change is published to [`subscribe`](Self::subscribe)rs; an enqueue wakes idle
///   workers in [`wait_for_work`](Self::wait_for_work) (on PostgreSQL in every process,
///   through `LISTEN`/`NOTIFY`), polling is the fallback.
///
/// Every time a statement compares or sets is the database's clock, so workers on machines
/// whose clocks disagree still agree on who holds a lease. Clones share one pool.
///
/// ```
/// use collectors_backends::any_db::AnyLocation;
/// use collectors_server::jobs::{Heartbeat, JobQueue, JobStatus, NewJob, QueueConfig};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let queue = JobQueue::open(&AnyLocation::File(dir.path().join("jobs.db")), QueueConfig::default()).await?;
/// let job = queue.enqueue(NewJob::new("noop", "a first job")).await?;
///
/// let lease = queue.claim("worker-1").await?.expect("a job is due");
/// assert_eq!(lease.id(), job.id);
/// assert_eq!(queue.heartbeat(&lease, Some((50.0, Some("half way".into())))).await?, Heartbeat::Continue);
/// assert!(queue.complete(&lease, serde_json::json!({"rows": 3})).await?);
///
/// let done = queue.get(job.id).await?;
/// assert_eq!((done.status, done.progress), (JobStatus::Completed, 100.0));
/// // The lease ended with the job: a late write of the same worker does nothing.
/// assert!(!queue.complete(&lease, serde_json::json!({})).await?);
/// # Ok::<(), collectors_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct JobQueue {
    inner: Arc<Inner>,
}

struct Inner {
    /// Every write, and on PostgreSQL every read.
    pool: AnyPool,
    /// The reads: on SQLite a pool of their own beside the one writer connection (WAL
    /// readers do not wait for the writer); on PostgreSQL the same pool.
    reads: AnyPool,
    dialect: Dialect,
    config: QueueConfig,
    sql: Statements,
    /// The database, without a password, for messages.
    shown: String,
    notifier: Arc<Notifier>,
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobQueue")
            .field("database", &self.inner.shown)
            .field("dialect", &self.inner.dialect)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl JobQueue {
    /// Opens the queue in the database at `location` (a SQLite file is created), and creates
    /// the jobs table and its indexes if missing.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for a nonsense `config` (zero lease, zero attempts) or a
    /// PostgreSQL URL in a build without the `postgres` feature; [`Error::Storage`] or
    /// [`Error::Connection`] when the database cannot be opened or the table created (never
    /// with a password in the message).
    pub async fn open(location: &AnyLocation, config: QueueConfig) -> Result<Self> {
        let config = config.checked()?;
        let shown = location.shown();
        let dialect = location.dialect();
        // SQLite writes one transaction at a time: writers on several connections would
        // meet its busy handler, which sleeps for milliseconds; on one connection they queue
        // in the pool instead, and a statement takes microseconds.
        let open = |connections| async move {
            open_any_pool(location, connections)
                .await
                .map_err(|e| e.with_component("job-queue").with_operation("open"))
        };
        let (pool, reads) = match dialect {
            Dialect::Sqlite => (open(1).await?, open(POOL_SIZE).await?),
            Dialect::Postgres => {
                let pool = open(POOL_SIZE).await?;
                (pool.clone(), pool)
            }
        };
        let notifier = Arc::new(Notifier::new(location));
        let queue = Self {
            inner: Arc::new(Inner {
                pool,
                reads,
                dialect,
                config,
                sql: Statements::new(dialect, notifier.origin()),
                shown,
                notifier,
            }),
        };
        if let Err(e) = queue.create_schema().await {
            queue.inner.pool.close().await;
            queue.inner.reads.close().await;
            return Err(e);
        }
        tracing::debug!(database = %queue.inner.shown, "job queue opened");
        Ok(queue)
    }

    async fn create_schema(&self) -> Result<()> {
        let op = "open";
        let mut tx = self.begin(op).await?;
        if self.inner.dialect == Dialect::Postgres {
            sqlx::query(sql::PG_SCHEMA_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db_error(op, "locking the schema", e))?;
        }
        for statement in sql::SCHEMA {
            sqlx::query(statement)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db_error(op, "creating the jobs table", e))?;
        }
        tx.commit()
            .await
            .map_err(|e| self.db_error(op, "creating the jobs table", e))
    }

    /// The database's dialect.
    pub fn dialect(&self) -> Dialect {
        self.inner.dialect
    }

    /// The settings (the backoff cap clamped below the lease).
    pub fn config(&self) -> &QueueConfig {
        &self.inner.config
    }

    /// Checks that the database answers (for `GET /ready`).
    ///
    /// # Errors
    ///
    /// [`Error::Storage`], [`Error::Connection`] or [`Error::Timeout`] when it does not.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.inner.reads)
            .await
            .map_err(|e| self.db_error("ping", "reaching the database", e))?;
        Ok(())
    }

    /// Adds a `PENDING` job, due now, and wakes waiting workers.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for a blank kind or `max_attempts` outside `1..=1000`;
    /// [`Error::Storage`] when the database fails.
    pub async fn enqueue(&self, job: NewJob) -> Result<Job> {
        let mut jobs = self.insert(vec![job], "enqueue").await?;
        jobs.pop().ok_or_else(|| {
            Error::storage("job queue: the insert returned no row").with_component("job-queue")
        })
    }

    /// Adds many `PENDING` jobs in one transaction: all of them or none.
    ///
    /// # Errors
    ///
    /// As [`enqueue`](Self::enqueue), for any of the jobs (then none is added).
    pub async fn enqueue_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Job>> {
        self.insert(jobs, "enqueue_many").await
    }

    async fn insert(&self, jobs: Vec<NewJob>, op: &str) -> Result<Vec<Job>> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let mut rows = Vec::with_capacity(jobs.len());
        for job in jobs {
            rows.push(self.checked(job, op)?);
        }
        let now = self.inner.sql.now;
        let mut tx = self.begin(op).await?;
        let mut inserted = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(JOBS_PER_INSERT) {
            let mut statement = self.inner.sql.insert_head.clone();
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| {
                    format!(
                        "({}, 'PENDING', 0.0, 0, 0, {now}, {now}, {now})",
                        numbered(i * 6 + 1, 6)
                    )
                })
                .collect();
            statement.push_str(&rows.join(", "));
            // Only what the database decided (the time) comes back: the rest is ours.
            statement.push_str(" RETURNING ");
            statement.push_str(sql::EVENT_COLUMNS);
            statement.push_str(", run_at, created_at, updated_at");
            let statement = self.inner.sql.notifying(statement);
            let mut query = sqlx::query(&statement);
            for job in chunk {
                query = query
                    .bind(job.id.to_string())
                    .bind(job.kind.as_str())
                    .bind(job.name.as_str())
                    .bind(job.data_file_id.map(|id| id.to_string()))
                    .bind(job.payload.as_str())
                    .bind(i64::from(job.max_attempts));
            }
            for found in query
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| self.db_error(op, "inserting jobs", e))?
            {
                inserted.push(row::inserted(&found)?);
            }
        }
        tx.commit()
            .await
            .map_err(|e| self.db_error(op, "committing jobs", e))?;
        // RETURNING promises no order: give the jobs back in the caller's.
        let mut times: HashMap<Uuid, row::Times> = inserted.into_iter().collect();
        let jobs: Vec<Job> = rows
            .into_iter()
            .filter_map(|r| times.remove(&r.id).map(|t| r.into_job(t)))
            .collect();
        tracing::debug!(jobs = jobs.len(), "jobs enqueued");
        self.publish(jobs.iter().map(row::event_of).collect()).await;
        Ok(jobs)
    }

    fn checked(&self, job: NewJob, op: &str) -> Result<Checked> {
        let invalid = |message: String| {
            Err(Error::validation(message)
                .with_component("job-queue")
                .with_operation(op.to_owned()))
        };
        if job.kind.trim().is_empty() {
            return invalid("a job's kind must not be blank".to_owned());
        }
        let max_attempts = job.max_attempts.unwrap_or(self.inner.config.max_attempts);
        if !(1..=MAX_ATTEMPTS).contains(&max_attempts) {
            return invalid(format!(
                "max_attempts must be within 1..={MAX_ATTEMPTS}, got {max_attempts}"
            ));
        }
        Ok(Checked {
            // Time-ordered: listing and claiming order ties by enqueue order.
            id: Uuid::now_v7(),
            kind: job.kind,
            name: job.name,
            data_file_id: job.data_file_id,
            payload: job.payload.to_string(),
            payload_json: job.payload,
            max_attempts,
        })
    }

    /// The job `id`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown id; [`Error::Storage`] when the database fails.
    pub async fn get(&self, id: Uuid) -> Result<Job> {
        self.find(id, "get")
            .await?
            .ok_or_else(|| not_found(id, "get"))
    }

    async fn find(&self, id: Uuid, op: &str) -> Result<Option<Job>> {
        let found = sqlx::query(&self.inner.sql.get)
            .bind(id.to_string())
            .fetch_optional(&self.inner.reads)
            .await
            .map_err(|e| self.db_error(op, "reading a job", e))?;
        found.as_ref().map(row::job).transpose()
    }

    /// The jobs passing `filter`, newest first, one page of them, and how many pass in all.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the database fails.
    pub async fn list(&self, filter: &JobFilter) -> Result<JobPage> {
        let statuses: Vec<JobStatus> = filter.status.into_iter().collect();
        let limit = filter.limit.min(super::filter::MAX_PAGE);
        self.select(
            &statuses,
            filter.kind.as_deref(),
            filter.data_file_id,
            i64::from(limit),
            i64::from(filter.offset),
        )
        .await
    }

    /// [`list`](Self::list) with a set of statuses (empty: any) and any limit.
    pub(super) async fn select(
        &self,
        statuses: &[JobStatus],
        kind: Option<&str>,
        data_file_id: Option<Uuid>,
        limit: i64,
        offset: i64,
    ) -> Result<JobPage> {
        let op = "list";
        let mut conditions = Vec::new();
        let mut params: Vec<String> = Vec::new();
        if !statuses.is_empty() {
            let mut marks = Vec::new();
            for status in statuses {
                params.push(status.as_str().to_owned());
                marks.push(format!("${}", params.len()));
            }
            conditions.push(format!("status IN ({})", marks.join(", ")));
        }
        if let Some(kind) = kind {
            params.push(kind.to_owned());
            conditions.push(format!("kind = ${}", params.len()));
        }
        if let Some(id) = data_file_id {
            params.push(id.to_string());
            conditions.push(format!("data_file_id = ${}", params.len()));
        }
        let condition = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let count_sql = format!("SELECT COUNT(*) AS n FROM {TABLE}{condition}");
        let mut count = sqlx::query(&count_sql);
        for param in &params {
            count = count.bind(param.as_str());
        }
        let total: i64 = count
            .fetch_one(&self.inner.reads)
            .await
            .and_then(|r| r.try_get("n"))
            .map_err(|e| self.db_error(op, "counting jobs", e))?;
        let page_sql = format!(
            "SELECT {} FROM {TABLE}{condition} ORDER BY created_at DESC, id DESC \
             LIMIT ${} OFFSET ${}",
            sql::COLUMNS,
            params.len() + 1,
            params.len() + 2
        );
        let mut page = sqlx::query(&page_sql);
        for param in &params {
            page = page.bind(param.as_str());
        }
        let rows = page
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.inner.reads)
            .await
            .map_err(|e| self.db_error(op, "listing jobs", e))?;
        Ok(JobPage {
            jobs: rows.iter().map(row::job).collect::<Result<_>>()?,
            total: u64::try_from(total).unwrap_or_default(),
        })
    }

    /// Leases the oldest due pending job (`run_at <= now`) to `worker`: it becomes
    /// `PROCESSING` until `now + lease_ttl`, its attempts count one more, and the lease gets
    /// a new fencing token. `None` when no job is due.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the database fails.
    pub async fn claim(&self, worker: &str) -> Result<Option<Lease>> {
        let token = Uuid::new_v4();
        let found = sqlx::query(&self.inner.sql.claim)
            .bind(token.to_string())
            .bind(worker)
            .bind(millis(self.inner.config.lease_ttl))
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(|e| self.db_error("claim", "claiming a job", e))?;
        let Some(found) = found else {
            return Ok(None);
        };
        let job = row::job(&found)?;
        tracing::debug!(job = %job.id, worker, attempt = job.attempts, "job claimed");
        self.publish(vec![row::event_of(&job)]).await;
        Ok(Some(Lease { job, token }))
    }

    /// Leases up to `max` due pending jobs to `worker` at once, oldest first, in one
    /// statement: each as [`claim`](Self::claim) would (one fencing token for the batch:
    /// every job's next claim gets a new one). For workers that run many short jobs; empty
    /// when none is due.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for a `max` of 0 or above 1000; [`Error::Storage`] when the
    /// database fails.
    pub async fn claim_many(&self, worker: &str, max: u32) -> Result<Vec<Lease>> {
        if !(1..=super::filter::MAX_PAGE).contains(&max) {
            return Err(Error::validation(format!(
                "claim_many: max must be within 1..={}, got {max}",
                super::filter::MAX_PAGE
            ))
            .with_component("job-queue")
            .with_operation("claim_many"));
        }
        let token = Uuid::new_v4();
        let rows = sqlx::query(&self.inner.sql.claim_many)
            .bind(token.to_string())
            .bind(worker)
            .bind(millis(self.inner.config.lease_ttl))
            .bind(i64::from(max))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|e| self.db_error("claim_many", "claiming jobs", e))?;
        let mut jobs = rows.iter().map(row::job).collect::<Result<Vec<Job>>>()?;
        jobs.sort_by(|a, b| a.run_at.cmp(&b.run_at).then(a.id.cmp(&b.id)));
        if !jobs.is_empty() {
            tracing::debug!(jobs = jobs.len(), worker, "jobs claimed");
        }
        self.publish(jobs.iter().map(row::event_of).collect()).await;
        Ok(jobs.into_iter().map(|job| Lease { job, token }).collect())
    }

    /// Extends the lease by `lease_ttl` from now and records `progress` (percent done and a
    /// message) when given. Fenced by the lease's token.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for a progress outside `0.0..=100.0`; [`Error::Storage`] when
    /// the database fails.
    pub async fn heartbeat(
        &self,
        lease: &Lease,
        progress: Option<(f64, Option<String>)>,
    ) -> Result<Heartbeat> {
        let op = "heartbeat";
        if let Some((value, _)) = &progress {
            check_progress(*value, op)?;
        }
        let (value, message) = match progress {
            Some((value, message)) => (Some(value), message),
            None => (None, None),
        };
        let found = sqlx::query(&self.inner.sql.heartbeat)
            .bind(lease.id().to_string())
            .bind(lease.token().to_string())
            .bind(millis(self.inner.config.lease_ttl))
            .bind(value.unwrap_or_default())
            .bind(message)
            .bind(i64::from(value.is_some()))
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(|e| self.db_error(op, "extending the lease", e))?;
        let Some(found) = found else {
            tracing::debug!(job = %lease.id(), "heartbeat: the lease is lost");
            return Ok(Heartbeat::Lost);
        };
        if value.is_some() {
            self.inner
                .notifier
                .publish(&self.inner.pool, vec![row::event(&found)?], false)
                .await;
        }
        Ok(if row::cancel_requested(&found)? {
            Heartbeat::CancelRequested
        } else {
            Heartbeat::Continue
        })
    }

    /// Completes the leased job with `result` (progress 100, lease ended). Fenced: `false`,
    /// and nothing written, when the lease no longer holds.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the database fails.
    pub async fn complete(&self, lease: &Lease, result: serde_json::Value) -> Result<bool> {
        let found = sqlx::query(&self.inner.sql.complete)
            .bind(lease.id().to_string())
            .bind(lease.token().to_string())
            .bind(result.to_string())
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(|e| self.db_error("complete", "completing a job", e))?;
        self.fenced_event(found, lease, "complete").await
    }

    /// [`complete`](Self::complete) of many leases in one statement per thousand (one
    /// transaction): what a worker running many short jobs records their results with.
    /// Each is fenced by its own token; the answer says, in the order given, whether each
    /// lease still held (a `false` one's result was not written).
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the database fails (then none is written).
    pub async fn complete_many(&self, done: &[(Lease, serde_json::Value)]) -> Result<Vec<bool>> {
        const ROWS_PER_STATEMENT: usize = 1000;
        if done.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin("complete_many").await?;
        let mut events = Vec::with_capacity(done.len());
        for chunk in done.chunks(ROWS_PER_STATEMENT) {
            let mut statement = self.inner.sql.complete_many_head.clone();
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| format!("({})", numbered(i * 3 + 1, 3)))
                .collect();
            statement.push_str(&rows.join(", "));
            statement.push_str(&self.inner.sql.complete_many_tail);
            let statement = self.inner.sql.notifying(statement);
            let mut query = sqlx::query(&statement);
            for (lease, result) in chunk {
                query = query
                    .bind(lease.id().to_string())
                    .bind(lease.token().to_string())
                    .bind(result.to_string());
            }
            for found in query
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| self.db_error("complete_many", "completing jobs", e))?
            {
                events.push(row::event(&found)?);
            }
        }
        tx.commit()
            .await
            .map_err(|e| self.db_error("complete_many", "committing completed jobs", e))?;
        let held: HashSet<Uuid> = events.iter().map(|e| e.id).collect();
        let outcome = done
            .iter()
            .map(|(l, _)| held.contains(&l.id()))
            .collect::<Vec<_>>();
        if held.len() < done.len() {
            tracing::debug!(
                fenced_out = done.len() - held.len(),
                "complete_many: some leases no longer held"
            );
        }
        self.publish(events).await;
        Ok(outcome)
    }

    /// Ends the leased attempt with `error`. When `retryable` and attempts remain, the job
    /// is `PENDING` again, due at `now + min(base·2^(attempts-1), cap)`; otherwise it is
    /// `FAILED`. Fenced: `None`, and nothing written, when the lease no longer holds; else
    /// the job as it is now.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the database fails.
    pub async fn fail(
        &self,
        lease: &Lease,
        error: serde_json::Value,
        retryable: bool,
    ) -> Result<Option<Job>> {
        let job = lease.job();
        let retry = retryable && job.attempts < job.max_attempts;
        let delay = self.inner.config.backoff(job.attempts);
        let what = error_message(&error);
        let message = if retry {
            format!(
                "attempt {} of {} failed, retry in {} ms: {what}",
                job.attempts,
                job.max_attempts,
                delay.as_millis()
            )
        } else {
            format!("failed: {what}")
        };
        let found = sqlx::query(&self.inner.sql.fail)
            .bind(lease.id().to_string())
            .bind(lease.token().to_string())
            .bind(i64::from(retryable))
            .bind(millis(delay))
            .bind(error.to_string())
            .bind(message)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(|e| self.db_error("fail", "failing a job", e))?;
        self.fenced_outcome(found, lease, "fail").await
    }

    /// Ends the leased job as `CANCELLED` after its worker stopped on
    /// [`Heartbeat::CancelRequested`]. Fenced: `false` when the lease no longer holds or no
    /// cancel was asked.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the database fails.
    pub async fn acknowledge_cancel(&self, lease: &Lease) -> Result<bool> {
        let found = sqlx::query(&self.inner.sql.acknowledge_cancel)
            .bind(lease.id().to_string())
            .bind(lease.token().to_string())
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(|e| self.db_error("acknowledge_cancel", "cancelling a job", e))?;
        self.fenced_event(found, lease, "acknowledge_cancel").await
    }

    /// [`fenced_outcome`](Self::fenced_outcome) of a statement that returned only the
    /// event: whether the lease held.
    async fn fenced_event(
        &self,
        found: Option<sqlx::any::AnyRow>,
        lease: &Lease,
        op: &str,
    ) -> Result<bool> {
        let Some(found) = found else {
            tracing::debug!(job = %lease.id(), op, "fenced out: the lease no longer holds");
            return Ok(false);
        };
        let event = row::event(&found)?;
        tracing::debug!(job = %event.id, status = %event.status, op, "job updated");
        self.publish(vec![event]).await;
        Ok(true)
    }

    async fn fenced_outcome(
        &self,
        found: Option<sqlx::any::AnyRow>,
        lease: &Lease,
        op: &str,
    ) -> Result<Option<Job>> {
        let Some(found) = found else {
            tracing::debug!(job = %lease.id(), op, "fenced out: the lease no longer holds");
            return Ok(None);
        };
        let job = row::job(&found)?;
        tracing::debug!(job = %job.id, status = %job.status, op, "job updated");
        self.publish(vec![row::event_of(&job)]).await;
        Ok(Some(job))
    }

    /// Cancels a job: a `PENDING` one is `CANCELLED` at once; a `PROCESSING` one gets
    /// `cancel_requested` (it stays `PROCESSING` until its worker acknowledges, or the reaper
    /// finds its lease expired: then it is `CANCELLED`). Returns the job as it is now.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] for a job already completed, failed or cancelled;
    /// [`Error::NotFound`] for an unknown id; [`Error::Storage`] when the database fails.
    pub async fn cancel(&self, id: Uuid) -> Result<Job> {
        let op = "cancel";
        let found = sqlx::query(&self.inner.sql.cancel)
            .bind(id.to_string())
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(|e| self.db_error(op, "cancelling a job", e))?;
        match found {
            Some(found) => {
                let job = row::job(&found)?;
                self.publish(vec![row::event_of(&job)]).await;
                Ok(job)
            }
            None => Err(self.not_live(id, op).await),
        }
    }

    /// The error for a job that a statement limited to live jobs did not find: unknown, or
    /// already terminal.
    pub(super) async fn not_live(&self, id: Uuid, op: &str) -> Error {
        match self.find(id, op).await {
            Ok(Some(job)) => {
                Error::invalid_state(format!("job {id} is already {}; cannot {op}", job.status))
                    .with_component("job-queue")
                    .with_operation(op.to_owned())
            }
            Ok(None) => not_found(id, op),
            Err(e) => e,
        }
    }

    /// Deletes a finished job (completed, failed or cancelled).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] for a pending or processing job (cancel it first);
    /// [`Error::NotFound`] for an unknown id; [`Error::Storage`] when the database fails.
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        let op = "delete";
        let done = sqlx::query(&self.inner.sql.delete)
            .bind(id.to_string())
            .execute(&self.inner.pool)
            .await
            .map_err(|e| self.db_error(op, "deleting a job", e))?;
        if done.rows_affected() == 0 {
            return Err(match self.find(id, op).await? {
                Some(job) => Error::invalid_state(format!(
                    "job {id} is {}: only finished jobs can be deleted (cancel it first)",
                    job.status
                ))
                .with_component("job-queue")
                .with_operation(op),
                None => not_found(id, op),
            });
        }
        Ok(())
    }

    /// Returns at the next enqueue (of this process; on PostgreSQL of any process, through
    /// `LISTEN collectors_jobs` on a dedicated connection started at the first call), or
    /// after `timeout`: the polling fallback. It may return early, so a worker claims after
    /// it and waits again when nothing is due.
    pub async fn wait_for_work(&self, timeout: Duration) {
        self.inner.notifier.wait(timeout).await;
    }

    /// Starts listening to the changes of other processes now (PostgreSQL's `LISTEN`;
    /// nothing on SQLite). [`subscribe`](Self::subscribe) and
    /// [`wait_for_work`](Self::wait_for_work) start it on their own; this is for a caller
    /// that must know it listens before another process acts.
    ///
    /// # Errors
    ///
    /// [`Error::Connection`] when the listening connection cannot be opened.
    pub async fn listen(&self) -> Result<()> {
        self.inner.notifier.listen().await
    }

    /// Every status or progress change from now on: those of this process and, on
    /// PostgreSQL, those of other processes too. A subscriber that falls more than 4096
    /// events behind gets `Lagged` and continues with newer ones.
    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        let receiver = self.inner.notifier.subscribe();
        if self.inner.notifier.needs_listener()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let notifier = self.inner.notifier.clone();
            runtime.spawn(async move {
                if let Err(e) = notifier.listen_events().await {
                    tracing::warn!(error = %e, "job queue: cannot LISTEN; only this process's events");
                }
            });
        }
        receiver
    }

    /// How many jobs are in each status (every status present, zero included); the queue
    /// depth is the `Pending` count.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the database fails.
    pub async fn counts_by_status(&self) -> Result<BTreeMap<JobStatus, u64>> {
        let op = "counts_by_status";
        let rows = sqlx::query(&format!(
            "SELECT status, COUNT(*) AS n FROM {TABLE} GROUP BY status"
        ))
        .fetch_all(&self.inner.reads)
        .await
        .map_err(|e| self.db_error(op, "counting jobs", e))?;
        let mut counts: BTreeMap<JobStatus, u64> =
            JobStatus::ALL.into_iter().map(|s| (s, 0)).collect();
        for found in rows {
            let n: i64 = found
                .try_get("n")
                .map_err(|e| self.db_error(op, "counting jobs", e))?;
            counts.insert(row::status(&found)?, u64::try_from(n).unwrap_or_default());
        }
        Ok(counts)
    }

    pub(super) fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }

    pub(super) fn statements(&self) -> &Statements {
        &self.inner.sql
    }

    /// Publishes the events of a statement that notified other processes itself (every
    /// write statement does on PostgreSQL, but the heartbeat).
    pub(super) async fn publish(&self, events: Vec<JobEvent>) {
        self.inner
            .notifier
            .publish(&self.inner.pool, events, true)
            .await;
    }

    async fn begin(&self, op: &str) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        self.inner
            .pool
            .begin()
            .await
            .map_err(|e| self.db_error(op, "starting a transaction", e))
    }

    pub(super) fn db_error(&self, op: &str, what: &str, e: sqlx::Error) -> Error {
        let message = format!("job queue {}: {what}: {e}", self.inner.shown);
        let error = match &e {
            sqlx::Error::PoolTimedOut => Error::timeout(message),
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolClosed => {
                Error::connection(message)
            }
            _ => Error::storage(message),
        };
        error
            .with_source(e)
            .with_component("job-queue")
            .with_operation(op.to_owned())
    }
}

/// A [`NewJob`] checked and given its id.
struct Checked {
    id: Uuid,
    kind: String,
    name: String,
    data_file_id: Option<Uuid>,
    payload: String,
    payload_json: serde_json::Value,
    max_attempts: u32,
}

impl Checked {
    /// The job as inserted, at the database's `times`: pending, never run.
    fn into_job(self, times: row::Times) -> Job {
        Job {
            id: self.id,
            kind: self.kind,
            name: self.name,
            data_file_id: self.data_file_id,
            payload: self.payload_json,
            status: JobStatus::Pending,
            progress: 0.0,
            message: None,
            attempts: 0,
            max_attempts: self.max_attempts,
            error: None,
            result_data: None,
            cancel_requested: false,
            run_at: times.run_at,
            lease_until: None,
            worker: None,
            created_at: times.created_at,
            updated_at: times.updated_at,
            started_at: None,
            finished_at: None,
        }
    }
}

/// `count` numbered parameters from `$first`: `$4, $5, $6`.
fn numbered(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn not_found(id: Uuid, op: &str) -> Error {
    Error::not_found(format!("no job {id}"))
        .with_component("job-queue")
        .with_operation(op.to_owned())
}

pub(super) fn check_progress(progress: f64, op: &str) -> Result<()> {
    if (0.0..=100.0).contains(&progress) {
        Ok(())
    } else {
        Err(
            Error::validation(format!("progress must be within 0..=100, got {progress}"))
                .with_component("job-queue")
                .with_operation(op.to_owned()),
        )
    }
}

pub(super) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// What an error document says, for the job's message.
fn error_message(error: &serde_json::Value) -> String {
    match error {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Object(map) => match map.get("message") {
            Some(serde_json::Value::String(text)) => text.clone(),
            _ => error.to_string(),
        },
        other => other.to_string(),
    }
}
