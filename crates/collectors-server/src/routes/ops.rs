//! Operations: `/health` (the process answers), `/ready` (its database answers), `/metrics`
//! (Prometheus text).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::jobs::JobStatus;
use crate::state::AppState;

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// The process is up (no token needed).
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = Health)))]
pub(crate) async fn health() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

/// The database answers.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses((status = 200, body = Health), (status = 401, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn ready(State(state): State<AppState>) -> ApiResult<axum::Json<Health>> {
    state.queue.ping().await?;
    Ok(axum::Json(Health { status: "ok" }))
}

/// Prometheus metrics: requests, jobs by status, queue depth, job latency, engine counters.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn metrics(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    let counts = state.queue.counts_by_status().await?;
    for status in [
        JobStatus::Pending,
        JobStatus::Processing,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ] {
        let n = counts.get(&status).copied().unwrap_or(0);
        metrics::gauge!("collectors_jobs", "status" => status.to_string()).set(n as f64);
    }
    let depth = counts.get(&JobStatus::Pending).copied().unwrap_or(0);
    metrics::gauge!("collectors_queue_depth").set(depth as f64);
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    ))
}
