//! `/api/data-sources`: the data-source registry over REST. Configurations always come back
//! sanitized (secrets masked); secrets are stored encrypted by the registry.

use axum::extract::State;
use axum::http::StatusCode;
use collectors_core::DataSourceConfig;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, ApiPath, CheckedJson, DocumentedBody};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::etl::ProcessAccepted;
use crate::etl::request::{EtlPayload, INGEST};
use crate::jobs::NewJob;
use crate::state::AppState;

/// A data source's configuration, as the registry keeps it (`DataSourceConfig`); secret
/// settings are masked in every answer. In the served document this schema is one variant
/// per registered connector factory (its `type`, and its settings' schema as `config`):
/// see [`crate::openapi`].
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct DataSourceBody {
    /// Unique, non-empty id.
    id: String,
    /// The kind of store: a registered connector factory.
    #[schema(rename = "type")]
    source_type: String,
    /// Its settings, checked by its connector.
    #[schema(value_type = Object)]
    config: Option<serde_json::Value>,
}

/// A new data source, checked against the document's `DataSourceBody`.
#[derive(Deserialize)]
#[serde(transparent)]
pub(crate) struct SourceBody(DataSourceConfig);

impl DocumentedBody for SourceBody {
    const SCHEMA: &'static str = "DataSourceBody";
}

/// A replacement configuration, checked against `DataSourceUpdate` (no id: the path's).
#[derive(Deserialize)]
#[serde(transparent)]
pub(crate) struct SourceUpdate(serde_json::Map<String, serde_json::Value>);

impl DocumentedBody for SourceUpdate {
    const SCHEMA: &'static str = "DataSourceUpdate";
}

/// The outcome of a connection test.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestOutcome {
    /// Whether the store answered with the configured credentials.
    pub ok: bool,
    /// Why not.
    pub error: Option<String>,
}

/// Which items to ingest.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestRequest {
    /// Only items under this prefix.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Only items whose name matches this glob (`*.csv`, `**/*.parquet`).
    #[serde(default)]
    pub pattern: Option<String>,
    /// At most this many items (1 to 10000, default 100).
    #[serde(default, deserialize_with = "crate::lenient::option_u64")]
    #[schema(minimum = 1, maximum = 10000)]
    pub limit: Option<u64>,
}

/// The most items one ingest job takes.
const MAX_INGEST_ITEMS: u64 = 10_000;

fn sanitized(config: &DataSourceConfig) -> serde_json::Value {
    serde_json::to_value(config).unwrap_or(serde_json::Value::Null)
}

/// Lists the registered data sources (sanitized).
#[utoipa::path(get, path = "/api/data-sources", tag = "data-sources",
    responses((status = 200, body = Vec<DataSourceBody>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_sources(
    State(state): State<AppState>,
) -> ApiResult<axum::Json<Vec<serde_json::Value>>> {
    let mut out = Vec::new();
    for config in state.data_sources.list_data_sources() {
        out.push(sanitized(&state.data_sources.get_config(&config.id, true)?));
    }
    Ok(axum::Json(out))
}

/// Registers a data source; its settings are checked by building its connector.
#[utoipa::path(post, path = "/api/data-sources", tag = "data-sources", request_body = DataSourceBody,
    responses((status = 201, body = DataSourceBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "The configured location does not exist"),
        (status = 409, body = ErrorBody),
        (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn create_source(
    State(state): State<AppState>,
    CheckedJson(SourceBody(config)): CheckedJson<SourceBody>,
) -> ApiResult<(StatusCode, axum::Json<serde_json::Value>)> {
    let id = config.id.clone();
    state
        .data_sources
        .register_data_source(config, false)
        .await?;
    let shown = sanitized(&state.data_sources.get_config(&id, true)?);
    Ok((StatusCode::CREATED, axum::Json(shown)))
}

/// One data source (sanitized).
#[utoipa::path(get, path = "/api/data-sources/{id}", tag = "data-sources",
    params(("id" = String, Path, description = "The data source's id")),
    responses((status = 200, body = DataSourceBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_source(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    Ok(axum::Json(sanitized(
        &state.data_sources.get_config(&id, true)?,
    )))
}

/// Replaces a data source's configuration (its id is the path's; the body has none). When
/// the new settings are refused, the old ones stay.
#[utoipa::path(put, path = "/api/data-sources/{id}", tag = "data-sources", request_body = DataSourceBody,
    params(("id" = String, Path, description = "The data source's id")),
    responses((status = 200, body = DataSourceBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn replace_source(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    CheckedJson(SourceUpdate(mut body)): CheckedJson<SourceUpdate>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    body.insert("id".into(), serde_json::Value::String(id.clone()));
    let config: DataSourceConfig = serde_json::from_value(serde_json::Value::Object(body))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let old = state.data_sources.get_config(&id, false)?;
    state.data_sources.unregister(&id).await?;
    if let Err(e) = state.data_sources.register_data_source(config, false).await {
        state.data_sources.register_data_source(old, false).await?;
        return Err(e.into());
    }
    Ok(axum::Json(sanitized(
        &state.data_sources.get_config(&id, true)?,
    )))
}

/// Removes a data source.
#[utoipa::path(delete, path = "/api/data-sources/{id}", tag = "data-sources",
    params(("id" = String, Path, description = "The data source's id")),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete_source(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    state.data_sources.unregister(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Tests the connection of a data source.
#[utoipa::path(post, path = "/api/data-sources/{id}/test", tag = "data-sources",
    params(("id" = String, Path, description = "The data source's id")),
    responses((status = 200, body = TestOutcome), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn test_source(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<axum::Json<TestOutcome>> {
    state.data_sources.get_config(&id, true)?;
    let answer = tokio::time::timeout(TEST_TIMEOUT, state.data_sources.test_connection(&id)).await;
    Ok(axum::Json(match answer {
        Ok(Ok(())) => TestOutcome {
            ok: true,
            error: None,
        },
        Ok(Err(e)) => TestOutcome {
            ok: false,
            error: Some(e.to_string()),
        },
        Err(_) => TestOutcome {
            ok: false,
            error: Some(format!(
                "no answer within {} s (unreachable endpoint?)",
                TEST_TIMEOUT.as_secs()
            )),
        },
    }))
}

/// How long a connection test waits for the store: an unreachable endpoint is an answer
/// (`ok: false`), not a request that hangs.
const TEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Queues a job that fetches the data source's matching items and stores each as a data
/// file; follow it at `/api/etl/results/{id}` (its `result_data.files` are the new files).
#[utoipa::path(post, path = "/api/data-sources/{id}/ingest", tag = "data-sources",
    request_body = IngestRequest,
    params(("id" = String, Path, description = "The data source's id")),
    responses((status = 202, body = ProcessAccepted), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn ingest_source(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<IngestRequest>,
) -> ApiResult<(StatusCode, axum::Json<ProcessAccepted>)> {
    state.data_sources.get_config(&id, false)?;
    let limit = match request.limit.unwrap_or(100) {
        n @ 1..=MAX_INGEST_ITEMS => n as usize,
        n => {
            return Err(ApiError::bad_request(format!(
                "limit {n}: 1 to {MAX_INGEST_ITEMS} items are taken"
            )));
        }
    };
    let payload = EtlPayload::Ingest {
        source: id.clone(),
        prefix: request.prefix,
        pattern: request.pattern,
        limit,
    };
    let job = NewJob {
        kind: INGEST.to_owned(),
        name: format!("{INGEST}:{id}"),
        data_file_id: None,
        payload: serde_json::to_value(&payload).map_err(ApiError::internal)?,
        max_attempts: None,
    };
    super::etl::queue(&state, job).await
}
