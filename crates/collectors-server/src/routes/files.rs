//! `/api/files`: uploads streamed to the object store, their records, their content.

use axum::body::Body;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use collectors_core::Error;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiPath, ApiQuery};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::files::{DataFile, FilePage, checked_file_name, discard, object_name, store_stream};
use crate::state::AppState;

/// Paging of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Paging {
    /// At most this many (1 to 1000, default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
    /// Skip this many (at most 2147483647).
    #[param(minimum = 0, maximum = 2147483647)]
    pub offset: Option<u64>,
}

impl Paging {
    pub(crate) fn limit(&self) -> ApiResult<u32> {
        page_limit(self.limit)
    }

    pub(crate) fn offset(&self) -> ApiResult<u32> {
        page_offset(self.offset)
    }
}

/// A page size from a query: 50 by default, 1 to 1000.
pub(crate) fn page_limit(limit: Option<u64>) -> ApiResult<u32> {
    match limit.unwrap_or(50) {
        limit @ 1..=1000 => Ok(limit as u32),
        other => Err(ApiError::bad_request(format!(
            "limit {other}: 1 to 1000 are taken"
        ))),
    }
}

/// An offset from a query: 0 by default, at most `i32::MAX` (as the document says: the
/// largest offset every client's integer type holds).
pub(crate) fn page_offset(offset: Option<u64>) -> ApiResult<u32> {
    let offset = offset.unwrap_or(0);
    u32::try_from(offset)
        .ok()
        .filter(|o| i32::try_from(*o).is_ok())
        .ok_or_else(|| ApiError::bad_request(format!("offset {offset} is above 2147483647")))
}

/// The form of an upload: one part named `file`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct UploadForm {
    /// The file's bytes; its part's filename is the file's name.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
}

/// Lists the uploaded files, newest first.
#[utoipa::path(get, path = "/api/files", tag = "files", params(Paging),
    responses((status = 200, body = FilePage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_files(
    State(state): State<AppState>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> ApiResult<axum::Json<FilePage>> {
    let page = state.files.list(paging.limit()?, paging.offset()?).await?;
    Ok(axum::Json(page))
}

/// Uploads a file (multipart, part `file`), streamed to the store.
#[utoipa::path(post, path = "/api/files", tag = "files",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = DataFile), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn upload_file(
    State(state): State<AppState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, axum::Json<DataFile>)> {
    let mut multipart = multipart.map_err(|e| ApiError::bad_request(e.body_text()))?;
    // The form is the document's: one part, `file`.
    let field = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?
        .ok_or_else(|| ApiError::bad_request("the form has no `file` part"))?;
    if field.name() != Some("file") {
        return Err(ApiError::bad_request(format!(
            "unexpected form part {:?}: the form has one part, `file`",
            field.name().unwrap_or_default()
        )));
    }
    let name = field
        .file_name()
        .ok_or_else(|| ApiError::bad_request("the `file` part has no filename"))?
        .to_owned();
    checked_file_name(&name)?;
    let content_type = field
        .content_type()
        .map(str::to_owned)
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let chunks =
        field.map(|chunk| chunk.map_err(|e| Error::validation(format!("the upload: {e}"))));
    let limit = state.config.max_upload_bytes;
    let file = store_stream(
        &state.files,
        &state.store,
        limit,
        Uuid::new_v4(),
        &name,
        &content_type,
        chunks,
    )
    .await?;
    let refused = match multipart.next_field().await {
        Ok(None) => return Ok((StatusCode::CREATED, axum::Json(file))),
        Ok(Some(field)) => format!(
            "unexpected form part {:?} after `file`: the form has one part",
            field.name().unwrap_or_default()
        ),
        Err(e) => e.body_text(),
    };
    discard(&state.files, &state.store, &file).await;
    Err(ApiError::bad_request(refused))
}

/// One file's record.
#[utoipa::path(get, path = "/api/files/{id}", tag = "files",
    params(("id" = Uuid, Path, description = "The file's id")),
    responses((status = 200, body = DataFile), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_file(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<axum::Json<DataFile>> {
    Ok(axum::Json(state.files.get(id).await?))
}

/// A file's bytes, streamed from the store.
#[utoipa::path(get, path = "/api/files/{id}/content", tag = "files",
    params(("id" = Uuid, Path, description = "The file's id")),
    responses((status = 200, description = "The bytes", content_type = "application/octet-stream"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn file_content(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let file = state.files.get(id).await?;
    let location = state.store.object_path(&object_name(&file))?;
    let object = state
        .store
        .store()
        .get(&location)
        .await
        .map_err(|e| match e {
            object_store::Error::NotFound { .. } => {
                ApiError::not_found(format!("the content of data file {id} is gone"))
            }
            other => ApiError::internal(other),
        })?;
    let body = Body::from_stream(object.into_stream().map_err(std::io::Error::other));
    Ok((
        [
            (header::CONTENT_TYPE, file.content_type.clone()),
            (header::CONTENT_LENGTH, file.size.to_string()),
            (header::CONTENT_DISPOSITION, attachment(&file.name)),
        ],
        body,
    )
        .into_response())
}

/// `attachment; filename="…"` with only safe ASCII in the quoted name, and the exact name
/// in `filename*` (RFC 6266).
fn attachment(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// Deletes a file: its bytes and its record.
#[utoipa::path(delete, path = "/api/files/{id}", tag = "files",
    params(("id" = Uuid, Path, description = "The file's id")),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete_file(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let file = state.files.get(id).await?;
    state.store.delete(&object_name(&file)).await?;
    state.files.delete(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
