//! `/api/pipelines`: pipeline specs registered by name and run as jobs; a run is followed
//! at `/api/etl/results/{id}` (progress, then the run's counters and dead letters in
//! `result_data.summary`).

use axum::extract::State;
use axum::http::StatusCode;

use super::extract::{ApiPath, CheckedJson, DocumentedBody};
use crate::error::{ApiResult, ErrorBody};
use crate::etl::{PipelineRef, ProcessAccepted, ProcessRequest};
use crate::pipelines::RegisteredPipeline;
use crate::state::AppState;

/// Lists the registered pipelines.
#[utoipa::path(get, path = "/api/pipelines", tag = "pipelines",
    responses((status = 200, body = Vec<RegisteredPipeline>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_pipelines(
    State(state): State<AppState>,
) -> ApiResult<axum::Json<Vec<RegisteredPipeline>>> {
    Ok(axum::Json(state.pipelines.list().await?))
}

/// Registers (or replaces) a pipeline spec under `name`; the spec is checked first.
#[utoipa::path(put, path = "/api/pipelines/{name}", tag = "pipelines",
    request_body(content = Object, description = "A pipeline spec: pipeline.toml as JSON (schema `PipelineSpec`)"),
    params(("name" = String, Path, description = "The pipeline's name")),
    responses((status = 200, body = RegisteredPipeline), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn put_pipeline(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    CheckedJson(SpecBody(spec)): CheckedJson<SpecBody>,
) -> ApiResult<axum::Json<RegisteredPipeline>> {
    Ok(axum::Json(state.pipelines.put(&name, spec).await?))
}

/// A pipeline spec in JSON, checked against the document's `PipelineSpec`.
#[derive(serde::Deserialize)]
#[serde(transparent)]
pub(crate) struct SpecBody(serde_json::Value);

impl DocumentedBody for SpecBody {
    const SCHEMA: &'static str = "PipelineSpec";
    const VERBATIM: &'static [&'static str] = crate::etl::request::VERBATIM;
}

/// One registered pipeline.
#[utoipa::path(get, path = "/api/pipelines/{name}", tag = "pipelines",
    params(("name" = String, Path, description = "The pipeline's name")),
    responses((status = 200, body = RegisteredPipeline), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_pipeline(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<axum::Json<RegisteredPipeline>> {
    Ok(axum::Json(state.pipelines.get(&name).await?))
}

/// Removes a registered pipeline (its runs stay in the results).
#[utoipa::path(delete, path = "/api/pipelines/{name}", tag = "pipelines",
    params(("name" = String, Path, description = "The pipeline's name")),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete_pipeline(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    if state.pipelines.delete(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(crate::error::ApiError::not_found(format!(
            "no pipeline named {name:?}"
        )))
    }
}

/// Runs a registered pipeline in the background.
#[utoipa::path(post, path = "/api/pipelines/{name}/run", tag = "pipelines",
    params(("name" = String, Path, description = "The pipeline's name")),
    responses((status = 202, body = ProcessAccepted), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn run_pipeline(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<(StatusCode, axum::Json<ProcessAccepted>)> {
    let spec = state.pipelines.get(&name).await?.spec;
    let request = ProcessRequest {
        data_file_id: None,
        processing_type: crate::etl::request::PIPELINE.to_owned(),
        parameters: serde_json::Map::new(),
        decoder: serde_json::Map::new(),
        custom_script_name: None,
        custom_params: None,
        pipeline: Some(PipelineRef {
            name: Some(name),
            spec: None,
        }),
        max_attempts: None,
    };
    super::etl::queue(&state, request.into_job(&state.registry, Some(spec))?).await
}
