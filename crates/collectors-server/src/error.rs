//! [`ApiError`]: the one error type of the REST API, with a stable JSON body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use collectors_core::Error;
use serde::Serialize;
use utoipa::ToSchema;

/// An error answered to a client: an HTTP status and a stable body
/// `{"error": {"code": "not_found", "message": "…"}}`. Internal detail (a database error, a
/// path on the server) goes to the logs; the client reads only `message`, written for it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status}: {code}: {message}")]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The inside of an [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code: `bad_request`, `unauthorized`, `not_found`,
    /// `conflict`, `payload_too_large`, `unsupported_media_type`, `internal`, `unavailable`.
    pub code: String,
    /// A message for the client.
    pub message: String,
}

impl ApiError {
    /// An error with `status`, `code` and a client-facing `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// The same error, its message prefixed by where in the request it was found
    /// (`requests[3]: …`).
    pub fn at(mut self, place: impl std::fmt::Display) -> Self {
        self.message = format!("{place}: {}", self.message);
        self
    }

    /// 400: the request is malformed or its values are invalid.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401: no valid bearer token.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required (Authorization: Bearer …)",
        )
    }

    /// 404: no such resource.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409: the resource is not in a state that allows the request.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 413: the upload is larger than the configured limit.
    pub fn payload_too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the upload is larger than the limit of {limit} bytes"),
        )
    }

    /// 500 with a generic message; `detail` is logged, never sent.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error (see the server log)",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl From<Error> for ApiError {
    /// Client errors keep their message (our messages name the input, not the server's
    /// internals); everything else becomes a generic 500 or 503 and is logged.
    fn from(e: Error) -> Self {
        match &e {
            Error::Validation { .. } | Error::Configuration { .. } => {
                Self::bad_request(e.message())
            }
            Error::NotFound { .. } => Self::not_found(e.message()),
            Error::InvalidState { .. } => Self::conflict(e.message()),
            Error::Authentication { .. } => Self::unauthorized(),
            Error::Connection { .. } | Error::Timeout { .. } => {
                tracing::error!(error = %e, "dependency unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "a dependency of the service is unavailable (see the server log)",
                )
            }
            _ => Self::internal(collectors_core::Error::chain(&e).join(": ")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

/// The result of a handler.
pub type ApiResult<T> = std::result::Result<T, ApiError>;
