//! The statements of the job queue, rendered once per dialect. They are the same on SQLite
//! and PostgreSQL (`$N` parameters, `RETURNING`) but for the database clock, the claim's
//! `FOR UPDATE SKIP LOCKED`, the `NOTIFY` of PostgreSQL's write statements, and the schema
//! lock.

use collectors_backends::any_db::Dialect;
use uuid::Uuid;

/// The jobs table: queue, status, progress and results in one.
pub(super) const TABLE: &str = "_collectors_jobs";

/// The `LISTEN`/`NOTIFY` channel of job changes (PostgreSQL).
pub(super) const CHANNEL: &str = "collectors_jobs";

/// The `LISTEN`/`NOTIFY` channel of "a job is due" (PostgreSQL): what idle workers wait for.
pub(super) const DUE_CHANNEL: &str = "collectors_jobs_due";

/// The columns a [`Job`](super::Job) is decoded from, in this order.
pub(super) const COLUMNS: &str = "id, kind, name, data_file_id, payload, status, progress, \
     message, attempts, max_attempts, error, result_data, cancel_requested, run_at, \
     lease_until, worker, created_at, updated_at, started_at, finished_at";

/// The columns a [`JobEvent`](super::JobEvent) is decoded from.
pub(super) const EVENT_COLUMNS: &str = "id, status, progress, message";

/// Statuses no transition leaves.
pub(super) const TERMINAL: &str = "('COMPLETED', 'FAILED', 'CANCELLED')";

/// Milliseconds since the epoch by the database's clock.
fn now_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
        Dialect::Postgres => "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT",
    }
}

/// The schema: the table and the indexes of the claim, the reaper, listing and retention.
pub(super) const SCHEMA: [&str; 5] = [
    "CREATE TABLE IF NOT EXISTS _collectors_jobs (
        id TEXT PRIMARY KEY NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        data_file_id TEXT,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        progress DOUBLE PRECISION NOT NULL DEFAULT 0,
        message TEXT,
        attempts BIGINT NOT NULL DEFAULT 0,
        max_attempts BIGINT NOT NULL,
        error TEXT,
        result_data TEXT,
        cancel_requested BIGINT NOT NULL DEFAULT 0,
        run_at BIGINT NOT NULL,
        lease_until BIGINT,
        lease_token TEXT,
        lease_expirations BIGINT NOT NULL DEFAULT 0,
        worker TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        started_at BIGINT,
        finished_at BIGINT
    )",
    // The claim: the oldest due pending job.
    "CREATE INDEX IF NOT EXISTS _collectors_jobs_due ON _collectors_jobs (run_at, id) \
     WHERE status = 'PENDING'",
    // The reaper: expired leases.
    "CREATE INDEX IF NOT EXISTS _collectors_jobs_leased ON _collectors_jobs (lease_until) \
     WHERE status = 'PROCESSING'",
    // Listing, newest first.
    "CREATE INDEX IF NOT EXISTS _collectors_jobs_created ON _collectors_jobs (created_at, id)",
    // Retention.
    "CREATE INDEX IF NOT EXISTS _collectors_jobs_finished ON _collectors_jobs (finished_at) \
     WHERE finished_at IS NOT NULL",
];

/// Serializes concurrent schema creation on PostgreSQL (two processes starting together
/// would race on the catalog).
pub(super) const PG_SCHEMA_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('_collectors_jobs'))";

/// The statements of one dialect.
#[derive(Debug)]
pub(super) struct Statements {
    dialect: Dialect,
    /// The queue's origin id, in its notifications.
    origin: Uuid,
    /// `INSERT … VALUES ` up to the rows (six parameters a row, then the clock).
    pub(super) insert_head: String,
    /// The database clock, in milliseconds since the epoch.
    pub(super) now: &'static str,
    pub(super) get: String,
    /// $1 token, $2 worker, $3 ttl ms.
    pub(super) claim: String,
    /// $1 token, $2 worker, $3 ttl ms, $4 how many at most.
    pub(super) claim_many: String,
    /// $1 id, $2 token, $3 ttl ms, $4 progress, $5 message or NULL, $6 whether to record
    /// the progress (1/0). Never a NULL float: sqlx's `Any` binds a NULL `f64` as a
    /// PostgreSQL `float4`, and the statement, prepared so, then refuses a real `f64`.
    pub(super) heartbeat: String,
    /// $1 id, $2 token, $3 result JSON.
    pub(super) complete: String,
    /// `UPDATE … FROM (VALUES ` up to the rows of `complete_many` (id, token, result a row).
    pub(super) complete_many_head: String,
    /// The rest of `complete_many` after its rows: the fence and `RETURNING`.
    pub(super) complete_many_tail: String,
    /// $1 id, $2 token, $3 retry (1/0), $4 delay ms, $5 error JSON, $6 message.
    pub(super) fail: String,
    /// $1 id, $2 token.
    pub(super) acknowledge_cancel: String,
    /// $1 id.
    pub(super) cancel: String,
    /// $1 id.
    pub(super) delete: String,
    pub(super) reap_cancelled: String,
    pub(super) reap_failed: String,
    pub(super) reap_requeued: String,
    /// $1 retention ms.
    pub(super) purge: String,
    /// $1 id, $2 progress, $3 message or NULL.
    pub(super) set_progress: String,
    /// $1 id, $2 status, $3 result JSON or NULL, $4 error JSON or NULL, $5 message or NULL.
    pub(super) finish: String,
}

impl Statements {
    /// [`notifying`] in this queue's dialect, with its origin.
    pub(super) fn notifying(&self, statement: String) -> String {
        notifying(self.dialect, self.origin, statement)
    }

    pub(super) fn new(dialect: Dialect, origin: Uuid) -> Self {
        let now = now_sql(dialect);
        let skip_locked = match dialect {
            Dialect::Sqlite => "",
            // Concurrent claimers skip each other's rows instead of queueing on them.
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        // In a WHERE, the clock read once per statement: PostgreSQL's `clock_timestamp()` is
        // volatile, so compared directly it cannot bound an index scan; a scalar subquery
        // is evaluated once, before the scan, and can.
        let now_once = format!("(SELECT {now})");
        let render = |sql: &str| {
            sql.replace("{now_once}", &now_once)
                .replace("{now}", now)
                .replace("{columns}", COLUMNS)
        };
        let unleased = "lease_until = NULL, lease_token = NULL";
        let qualified = COLUMNS
            .split(", ")
            .map(|c| format!("{TABLE}.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let retry = "$3 = 1 AND attempts < max_attempts";
        let mut statements = Self {
            dialect,
            origin,
            insert_head: format!(
                "INSERT INTO {TABLE} (id, kind, name, data_file_id, payload, max_attempts, \
                 status, progress, attempts, cancel_requested, run_at, created_at, updated_at) \
                 VALUES "
            ),
            now,
            get: render("SELECT {columns} FROM _collectors_jobs WHERE id = $1"),
            claim: render(&format!(
                "UPDATE _collectors_jobs SET status = 'PROCESSING', attempts = attempts + 1, \
                 lease_token = $1, worker = $2, lease_until = {{now}} + $3, \
                 started_at = COALESCE(started_at, {{now}}), updated_at = {{now}} \
                 WHERE id = (SELECT id FROM _collectors_jobs \
                     WHERE status = 'PENDING' AND run_at <= {{now_once}} \
                     ORDER BY run_at, id LIMIT 1{skip_locked}) \
                 AND status = 'PENDING' \
                 RETURNING {{columns}}"
            )),
            // The picked rows joined, not `id IN (…)`: PostgreSQL may re-run an `IN`
            // subquery when it re-checks a row another claimer changed, and so lease more
            // than `LIMIT` rows; a subquery in `FROM` is read once.
            claim_many: render(&format!(
                "UPDATE _collectors_jobs SET status = 'PROCESSING', attempts = attempts + 1, \
                 lease_token = $1, worker = $2, lease_until = {{now}} + $3, \
                 started_at = COALESCE(started_at, {{now}}), updated_at = {{now}} \
                 FROM (SELECT id AS picked_id FROM _collectors_jobs \
                     WHERE status = 'PENDING' AND run_at <= {{now_once}} \
                     ORDER BY run_at, id LIMIT $4{skip_locked}) AS picked \
                 WHERE _collectors_jobs.id = picked.picked_id \
                 AND _collectors_jobs.status = 'PENDING' \
                 RETURNING {qualified}"
            )),
            heartbeat: render(
                "UPDATE _collectors_jobs SET lease_until = {now} + $3, \
                 progress = CASE WHEN $6 = 1 THEN $4 ELSE progress END, \
                 message = COALESCE($5, message), \
                 updated_at = {now} \
                 WHERE id = $1 AND lease_token = $2 AND status = 'PROCESSING' \
                 RETURNING id, status, progress, message, cancel_requested",
            ),
            complete: render(&format!(
                "UPDATE _collectors_jobs SET status = 'COMPLETED', progress = 100.0, \
                 message = 'completed', result_data = $3, {unleased}, \
                 finished_at = {{now}}, updated_at = {{now}} \
                 WHERE id = $1 AND lease_token = $2 AND status = 'PROCESSING' \
                 RETURNING {EVENT_COLUMNS}"
            )),
            // `VALUES` columns are `column1…` on both SQLite and PostgreSQL.
            complete_many_head: render(&format!(
                "UPDATE _collectors_jobs SET status = 'COMPLETED', progress = 100.0, \
                 message = 'completed', result_data = done.column3, {unleased}, \
                 finished_at = {{now}}, \
                 updated_at = {{now}} FROM (VALUES "
            )),
            complete_many_tail: ") AS done WHERE _collectors_jobs.id = done.column1 \
                 AND _collectors_jobs.lease_token = done.column2 \
                 AND _collectors_jobs.status = 'PROCESSING' \
                 RETURNING _collectors_jobs.id, _collectors_jobs.status, \
                 _collectors_jobs.progress, _collectors_jobs.message"
                .to_owned(),
            fail: render(&format!(
                "UPDATE _collectors_jobs SET \
                 status = CASE WHEN {retry} THEN 'PENDING' ELSE 'FAILED' END, \
                 run_at = CASE WHEN {retry} THEN {{now}} + $4 ELSE run_at END, \
                 progress = CASE WHEN {retry} THEN 0.0 ELSE progress END, \
                 finished_at = CASE WHEN {retry} THEN NULL ELSE {{now}} END, \
                 error = $5, message = $6, {unleased}, updated_at = {{now}} \
                 WHERE id = $1 AND lease_token = $2 AND status = 'PROCESSING' \
                 RETURNING {{columns}}"
            )),
            acknowledge_cancel: render(&format!(
                "UPDATE _collectors_jobs SET status = 'CANCELLED', {unleased}, \
                 message = 'cancelled', finished_at = {{now}}, updated_at = {{now}} \
                 WHERE id = $1 AND lease_token = $2 AND status = 'PROCESSING' \
                 AND cancel_requested = 1 \
                 RETURNING {EVENT_COLUMNS}"
            )),
            // One statement decides from the status it finds: a pending job is cancelled at
            // once, a processing one is flagged for its worker.
            cancel: render(
                "UPDATE _collectors_jobs SET \
                 status = CASE WHEN status = 'PENDING' THEN 'CANCELLED' ELSE status END, \
                 cancel_requested = 1, \
                 message = CASE WHEN status = 'PENDING' THEN 'cancelled' \
                     ELSE 'cancel requested' END, \
                 finished_at = CASE WHEN status = 'PENDING' THEN {now} ELSE finished_at END, \
                 updated_at = {now} \
                 WHERE id = $1 AND status IN ('PENDING', 'PROCESSING') \
                 RETURNING {columns}",
            ),
            delete: format!("DELETE FROM {TABLE} WHERE id = $1 AND status IN {TERMINAL}"),
            reap_cancelled: render(&format!(
                "UPDATE _collectors_jobs SET status = 'CANCELLED', {unleased}, \
                 lease_expirations = lease_expirations + 1, \
                 message = 'cancelled (the worker stopped heartbeating after the cancel request)', \
                 finished_at = {{now}}, updated_at = {{now}} \
                 WHERE status = 'PROCESSING' AND lease_until < {{now_once}} AND cancel_requested = 1 \
                 RETURNING {EVENT_COLUMNS}"
            )),
            reap_failed: render(&format!(
                "UPDATE _collectors_jobs SET status = 'FAILED', {unleased}, \
                 lease_expirations = lease_expirations + 1, \
                 error = '{{\"error_type\":\"lease_expired\",\"message\":\"the lease expired ' \
                     || CAST(lease_expirations + 1 AS TEXT) || ' times in ' \
                     || CAST(attempts AS TEXT) \
                     || ' attempts: the job may kill its worker\",\"attempts\":' \
                     || CAST(attempts AS TEXT) || ',\"lease_expirations\":' \
                     || CAST(lease_expirations + 1 AS TEXT) || '}}', \
                 message = 'failed: the lease expired at the last attempt', \
                 finished_at = {{now}}, updated_at = {{now}} \
                 WHERE status = 'PROCESSING' AND lease_until < {{now_once}} AND cancel_requested = 0 \
                 AND attempts >= max_attempts \
                 RETURNING {EVENT_COLUMNS}"
            )),
            reap_requeued: render(&format!(
                "UPDATE _collectors_jobs SET status = 'PENDING', {unleased}, run_at = {{now}}, \
                 progress = 0.0, lease_expirations = lease_expirations + 1, \
                 message = 'requeued: the lease expired', updated_at = {{now}} \
                 WHERE status = 'PROCESSING' AND lease_until < {{now_once}} AND cancel_requested = 0 \
                 AND attempts < max_attempts \
                 RETURNING {EVENT_COLUMNS}"
            )),
            purge: render(&format!(
                "DELETE FROM {TABLE} WHERE status IN {TERMINAL} AND finished_at < {{now_once}} - $1"
            )),
            set_progress: render(
                "UPDATE _collectors_jobs SET progress = $2, message = COALESCE($3, message), \
                 status = 'PROCESSING', started_at = COALESCE(started_at, {now}), \
                 updated_at = {now} \
                 WHERE id = $1 AND status IN ('PENDING', 'PROCESSING') \
                 RETURNING {columns}",
            ),
            finish: render(&format!(
                "UPDATE _collectors_jobs SET status = $2, \
                 progress = CASE WHEN $2 = 'COMPLETED' THEN 100.0 ELSE progress END, \
                 result_data = COALESCE($3, result_data), error = COALESCE($4, error), \
                 message = COALESCE($5, message), {unleased}, \
                 finished_at = {{now}}, updated_at = {{now}} \
                 WHERE id = $1 AND status IN ('PENDING', 'PROCESSING') \
                 RETURNING {{columns}}"
            )),
        };
        for statement in [
            &mut statements.claim,
            &mut statements.claim_many,
            &mut statements.complete,
            &mut statements.fail,
            &mut statements.acknowledge_cancel,
            &mut statements.cancel,
            &mut statements.reap_cancelled,
            &mut statements.reap_failed,
            &mut statements.reap_requeued,
            &mut statements.set_progress,
            &mut statements.finish,
        ] {
            *statement = notifying(dialect, origin, std::mem::take(statement));
        }
        statements
    }
}

/// A write statement ending in `RETURNING` (with `id, status, progress, message`) that, on
/// PostgreSQL, also sends `NOTIFY collectors_jobs` for each row it changed and
/// `NOTIFY collectors_jobs_due` when one is now pending (folded into one by PostgreSQL), in
/// the same round trip and the same transaction; SQLite has no `NOTIFY`.
fn notifying(dialect: Dialect, origin: Uuid, statement: String) -> String {
    match dialect {
        Dialect::Sqlite => statement,
        Dialect::Postgres => format!(
            "WITH changed AS ({statement}) SELECT changed.* FROM changed \
             CROSS JOIN LATERAL (SELECT pg_notify('{CHANNEL}', json_build_object(\
                 'origin', '{origin}', 'events', json_build_array(json_build_object(\
                     'id', changed.id, 'status', changed.status, \
                     'progress', changed.progress, \
                     'message', left(changed.message, {chars}))))::text)) AS notified \
             LEFT JOIN LATERAL (SELECT pg_notify('{DUE_CHANNEL}', '{origin}') \
                 WHERE changed.status = 'PENDING') AS due ON true",
            chars = super::notify::MESSAGE_CHARS,
        ),
    }
}
