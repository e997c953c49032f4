//! Decoding rows of the jobs table: ids and JSON as text, times as milliseconds.

use chrono::{DateTime, Utc};
use collectors_core::{Error, Result};
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::{Job, JobEvent, JobStatus};

fn bad(what: &str, detail: impl std::fmt::Display) -> Error {
    Error::storage(format!("jobs table: {what}: {detail}")).with_component("job-queue")
}

fn get<'r, T>(row: &'r AnyRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column)
        .map_err(|e| bad(&format!("column {column}"), e))
}

pub(super) fn uuid(text: &str, column: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| bad(&format!("{column} `{text}` is not a UUID"), e))
}

fn time(millis: i64, column: &str) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(millis)
        .ok_or_else(|| bad(column, format!("{millis} ms is out of range")))
}

fn optional_time(row: &AnyRow, column: &str) -> Result<Option<DateTime<Utc>>> {
    get::<Option<i64>>(row, column)?
        .map(|ms| time(ms, column))
        .transpose()
}

fn json(text: &str, column: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| bad(&format!("{column} is not JSON"), e))
}

fn optional_json(row: &AnyRow, column: &str) -> Result<Option<serde_json::Value>> {
    get::<Option<String>>(row, column)?
        .map(|text| json(&text, column))
        .transpose()
}

fn count(row: &AnyRow, column: &str) -> Result<u32> {
    let value: i64 = get(row, column)?;
    u32::try_from(value).map_err(|_| bad(column, format!("{value} is out of range")))
}

pub(super) fn status(row: &AnyRow) -> Result<JobStatus> {
    let text: String = get(row, "status")?;
    text.parse()
        .map_err(|_| bad("status", format!("unknown status `{text}`")))
}

/// A [`Job`] from a row of [`COLUMNS`](super::sql::COLUMNS).
pub(super) fn job(row: &AnyRow) -> Result<Job> {
    let id: String = get(row, "id")?;
    let payload: String = get(row, "payload")?;
    let cancel_requested: i64 = get(row, "cancel_requested")?;
    Ok(Job {
        id: uuid(&id, "id")?,
        kind: get(row, "kind")?,
        name: get(row, "name")?,
        data_file_id: get::<Option<String>>(row, "data_file_id")?
            .map(|t| uuid(&t, "data_file_id"))
            .transpose()?,
        payload: json(&payload, "payload")?,
        status: status(row)?,
        progress: get(row, "progress")?,
        message: get(row, "message")?,
        attempts: count(row, "attempts")?,
        max_attempts: count(row, "max_attempts")?,
        error: optional_json(row, "error")?,
        result_data: optional_json(row, "result_data")?,
        cancel_requested: cancel_requested != 0,
        run_at: time(get(row, "run_at")?, "run_at")?,
        lease_until: optional_time(row, "lease_until")?,
        worker: get(row, "worker")?,
        created_at: time(get(row, "created_at")?, "created_at")?,
        updated_at: time(get(row, "updated_at")?, "updated_at")?,
        started_at: optional_time(row, "started_at")?,
        finished_at: optional_time(row, "finished_at")?,
    })
}

/// The times the database gave an inserted row.
#[derive(Debug, Clone, Copy)]
pub(super) struct Times {
    pub(super) run_at: DateTime<Utc>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
}

/// The id and [`Times`] of an inserted row.
pub(super) fn inserted(row: &AnyRow) -> Result<(Uuid, Times)> {
    let id: String = get(row, "id")?;
    let at = |column| -> Result<DateTime<Utc>> { time(get(row, column)?, column) };
    Ok((
        uuid(&id, "id")?,
        Times {
            run_at: at("run_at")?,
            created_at: at("created_at")?,
            updated_at: at("updated_at")?,
        },
    ))
}

/// A [`JobEvent`] from a row of [`EVENT_COLUMNS`](super::sql::EVENT_COLUMNS).
pub(super) fn event(row: &AnyRow) -> Result<JobEvent> {
    let id: String = get(row, "id")?;
    Ok(JobEvent {
        id: uuid(&id, "id")?,
        status: status(row)?,
        progress: get(row, "progress")?,
        message: get(row, "message")?,
    })
}

/// The event a job's current state makes.
pub(super) fn event_of(job: &Job) -> JobEvent {
    JobEvent {
        id: job.id,
        status: job.status,
        progress: job.progress,
        message: job.message.clone(),
    }
}

pub(super) fn cancel_requested(row: &AnyRow) -> Result<bool> {
    Ok(get::<i64>(row, "cancel_requested")? != 0)
}
