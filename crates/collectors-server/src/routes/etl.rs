//! `/api/etl`: processing requested, followed, cancelled and exported.

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiPath, ApiQuery, CheckedJson, DocumentedBody};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::etl::{ExportFormat, ProcessAccepted, ProcessRequest, export_output};
use crate::jobs::{Job, JobFilter, JobStatus, NewJob};
use crate::state::AppState;

/// A processing result: the job that computes it, with its status and progress.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProcessingResult {
    /// The result's id.
    pub id: Uuid,
    /// The task's id (the same job).
    pub task_id: Uuid,
    /// The file processed, if any.
    pub data_file_id: Option<Uuid>,
    /// The processing type.
    pub processing_type: String,
    /// A readable name.
    pub name: String,
    /// `PENDING`, `PROCESSING`, `COMPLETED`, `FAILED` or `CANCELLED`.
    pub status: JobStatus,
    /// Percent done, 0 to 100.
    pub progress: f64,
    /// The last progress message.
    pub message: Option<String>,
    /// Runs so far.
    pub attempts: u32,
    /// Runs allowed.
    pub max_attempts: u32,
    /// Whether a cancel was asked for and the worker has not stopped yet.
    pub cancel_requested: bool,
    /// The request's parameters, as queued.
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
    /// The result of a completed job (counts, output object …).
    #[schema(value_type = Option<Object>)]
    pub result_data: Option<serde_json::Value>,
    /// The error of a failed (or retrying) job.
    #[schema(value_type = Option<Object>)]
    pub error: Option<serde_json::Value>,
    /// When it was requested.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it first started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<Job> for ProcessingResult {
    fn from(job: Job) -> Self {
        Self {
            id: job.id,
            task_id: job.id,
            data_file_id: job.data_file_id,
            processing_type: job.kind,
            name: job.name,
            status: job.status,
            progress: job.progress,
            message: job.message,
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            cancel_requested: job.cancel_requested,
            parameters: job.payload,
            result_data: job.result_data,
            error: job.error,
            created_at: job.created_at,
            updated_at: job.updated_at,
            started_at: job.started_at,
            completed_at: job.finished_at,
        }
    }
}

/// A page of results, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultPage {
    /// The results of the page.
    pub items: Vec<ProcessingResult>,
    /// How many match in all.
    pub total: u64,
    /// The page's size.
    pub limit: u32,
    /// How many were skipped.
    pub offset: u32,
}

/// Which results to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ResultQuery {
    /// Only this status.
    pub status: Option<JobStatus>,
    /// Only this processing type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub processing_type: Option<String>,
    /// Only results of this file.
    pub data_file_id: Option<Uuid>,
    /// At most this many (1 to 1000, default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
    /// Skip this many (at most 2147483647).
    #[param(minimum = 0, maximum = 2147483647)]
    pub offset: Option<u64>,
}

/// The export's format.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportQuery {
    /// `json` (default) or `csv`.
    #[param(inline)]
    pub format: Option<ExportFormat>,
}

/// Requests processing; answers at once with the result to follow.
#[utoipa::path(post, path = "/api/etl/process", tag = "etl", request_body = ProcessRequest,
    responses((status = 202, body = ProcessAccepted), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn process(
    State(state): State<AppState>,
    CheckedJson(request): CheckedJson<ProcessRequest>,
) -> ApiResult<(StatusCode, axum::Json<ProcessAccepted>)> {
    queue(&state, new_job(&state, request).await?).await
}

/// Most requests in one `POST /api/etl/process/batch`.
pub(crate) const MAX_BATCH: usize = 1000;

/// Many processing requests at once.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProcessBatch {
    /// 1 to 1000 requests, each as `POST /api/etl/process` takes it.
    #[schema(min_items = 1, max_items = 1000)]
    pub requests: Vec<ProcessRequest>,
}

impl DocumentedBody for ProcessBatch {
    const SCHEMA: &'static str = "ProcessBatch";
    const VERBATIM: &'static [&'static str] = crate::etl::request::VERBATIM;
}

/// The answer to an accepted batch: one per request, in the request's order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessBatchAccepted {
    /// The results to follow.
    pub accepted: Vec<ProcessAccepted>,
}

/// Requests many processings in one call, all or none: every request is checked first (a
/// bad one is a 400 naming it, `requests[i]: …`, and nothing is queued), then all are
/// queued in one transaction.
#[utoipa::path(post, path = "/api/etl/process/batch", tag = "etl", request_body = ProcessBatch,
    responses((status = 202, body = ProcessBatchAccepted), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn process_batch(
    State(state): State<AppState>,
    CheckedJson(batch): CheckedJson<ProcessBatch>,
) -> ApiResult<(StatusCode, axum::Json<ProcessBatchAccepted>)> {
    if !(1..=MAX_BATCH).contains(&batch.requests.len()) {
        return Err(ApiError::bad_request(format!(
            "requests: 1 to {MAX_BATCH} are taken at once, got {}",
            batch.requests.len()
        )));
    }
    let mut jobs = Vec::with_capacity(batch.requests.len());
    for (i, request) in batch.requests.into_iter().enumerate() {
        jobs.push(
            new_job(&state, request)
                .await
                .map_err(|e| e.at(format_args!("requests[{i}]")))?,
        );
    }
    let jobs = state.queue.enqueue_many(jobs).await?;
    jobs.iter().for_each(count_enqueued);
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(ProcessBatchAccepted {
            accepted: jobs.iter().map(accepted).collect(),
        }),
    ))
}

/// The job of one processing request, checked: its file exists, its pipeline is known.
async fn new_job(state: &AppState, request: ProcessRequest) -> ApiResult<NewJob> {
    if let Some(id) = request.data_file_id {
        state.files.get(id).await?;
    }
    let registered = match request.pipeline.as_ref().and_then(|p| p.name.as_deref()) {
        Some(name) => Some(state.pipelines.get(name).await?.spec),
        None => None,
    };
    Ok(request.into_job(&state.registry, registered)?)
}

/// Queues `job`, counts it, and answers 202 with the result to follow: what every route
/// that starts a job (a processing, a pipeline run, an ingest) answers.
pub(crate) async fn queue(
    state: &AppState,
    job: NewJob,
) -> ApiResult<(StatusCode, axum::Json<ProcessAccepted>)> {
    let job = state.queue.enqueue(job).await?;
    count_enqueued(&job);
    Ok((StatusCode::ACCEPTED, axum::Json(accepted(&job))))
}

fn count_enqueued(job: &Job) {
    metrics::counter!("collectors_jobs_enqueued_total", "kind" => job.kind.clone()).increment(1);
}

/// The answer to a queued job: its result id, which is also its task id.
fn accepted(job: &Job) -> ProcessAccepted {
    ProcessAccepted {
        result_id: job.id,
        task_id: job.id,
        status: job.status,
    }
}

/// Lists results: filter by status, type and file; paginated.
#[utoipa::path(get, path = "/api/etl/results", tag = "etl", params(ResultQuery),
    responses((status = 200, body = ResultPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_results(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ResultQuery>,
) -> ApiResult<axum::Json<ResultPage>> {
    let filter = JobFilter {
        status: query.status,
        kind: query.processing_type,
        data_file_id: query.data_file_id,
        limit: super::files::page_limit(query.limit)?,
        offset: super::files::page_offset(query.offset)?,
    };
    let page = state.queue.list(&filter).await?;
    Ok(axum::Json(ResultPage {
        items: page.jobs.into_iter().map(ProcessingResult::from).collect(),
        total: page.total,
        limit: filter.limit,
        offset: filter.offset,
    }))
}

/// One result.
#[utoipa::path(get, path = "/api/etl/results/{id}", tag = "etl",
    params(("id" = Uuid, Path, description = "The result's id")),
    responses((status = 200, body = ProcessingResult), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_result(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<axum::Json<ProcessingResult>> {
    Ok(axum::Json(state.queue.get(id).await?.into()))
}

/// Deletes a result and its output (204). A pending one is cancelled, then deleted; a
/// running one is cancelled (202, its state): its worker stops at its next heartbeat, and
/// the result stays, `CANCELLED`, until it is deleted.
#[utoipa::path(delete, path = "/api/etl/results/{id}", tag = "etl",
    params(("id" = Uuid, Path, description = "The result's id")),
    responses((status = 202, body = ProcessingResult, description = "Cancelled, or cancelling"),
        (status = 204, description = "Deleted"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete_result(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let mut job = state.queue.get(id).await?;
    if !job.status.is_terminal() {
        job = state.queue.cancel(id).await?;
    }
    if job.status.is_terminal() {
        if let Some(object) = output_object(&job) {
            state.store.delete(&object).await?;
        }
        state.queue.delete(id).await?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(ProcessingResult::from(job)),
    )
        .into_response())
}

fn output_object(job: &Job) -> Option<String> {
    job.result_data
        .as_ref()?
        .get("output_object")?
        .as_str()
        .map(str::to_owned)
}

/// A completed result's output rows as JSON or CSV.
#[utoipa::path(get, path = "/api/etl/results/{id}/export", tag = "etl",
    params(("id" = Uuid, Path, description = "The result's id"), ExportQuery),
    responses((status = 200, description = "The rows",
            content((Vec<Object> = "application/json"), (String = "text/csv"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn export_result(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let job = state.queue.get(id).await?;
    if job.status != JobStatus::Completed {
        return Err(ApiError::conflict(format!(
            "result {id} is {}: only a completed result can be exported",
            job.status
        )));
    }
    let object = output_object(&job)
        .ok_or_else(|| ApiError::not_found(format!("result {id} has no output rows to export")))?;
    let format = query.format.unwrap_or_default();
    let scratch = state.config.data_dir.join("work").join("exports");
    let body = export_output(&state.store, &object, &scratch, format).await?;
    let extension = match format {
        ExportFormat::Json => "json",
        ExportFormat::Csv => "csv",
    };
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"result-{id}.{extension}\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}
