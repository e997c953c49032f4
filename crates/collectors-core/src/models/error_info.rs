//! [`ErrorInfo`]: a failure as data, and the [`ErrorType`] it is classified by.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Error;
use crate::models::Metadata;

/// The category of a failure; the [`ErrorHandler`](crate::ErrorHandler) decides by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorType {
    /// Bad or missing configuration.
    Configuration,
    /// A connection could not be opened or was lost.
    Connection,
    /// Credentials missing, wrong or expired.
    Authentication,
    /// Data could not be read from a source.
    DataFetch,
    /// Data or arguments do not meet the contract.
    Validation,
    /// A processor failed.
    Processing,
    /// A store failed.
    Storage,
    /// Something named does not exist.
    NotFound,
    /// An operation ran out of time.
    Timeout,
    /// An operation was cancelled.
    Cancelled,
    /// An operation is illegal in the current state.
    InvalidState,
    /// Anything else (a foreign error that fits no other category).
    Unknown,
}

impl ErrorType {
    /// Every error type, in declaration order.
    pub const ALL: [ErrorType; 12] = [
        ErrorType::Configuration,
        ErrorType::Connection,
        ErrorType::Authentication,
        ErrorType::DataFetch,
        ErrorType::Validation,
        ErrorType::Processing,
        ErrorType::Storage,
        ErrorType::NotFound,
        ErrorType::Timeout,
        ErrorType::Cancelled,
        ErrorType::InvalidState,
        ErrorType::Unknown,
    ];

    /// Whether failures of this type are transient, so a retry may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorType::Connection | ErrorType::DataFetch | ErrorType::Storage | ErrorType::Timeout
        )
    }
}

/// The layer of the pipeline a failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Layer {
    /// Sources, connectors, metadata parsing.
    Collection,
    /// Processors and pipelines.
    Processing,
    /// Storage backends.
    Storage,
    /// The runtime services (event bus, task tracker, engine).
    Runtime,
}

impl Layer {
    fn of(error_type: ErrorType) -> Self {
        match error_type {
            ErrorType::Connection | ErrorType::Authentication | ErrorType::DataFetch => {
                Layer::Collection
            }
            ErrorType::Validation | ErrorType::Processing => Layer::Processing,
            ErrorType::Storage => Layer::Storage,
            _ => Layer::Runtime,
        }
    }
}

/// A failure as data: what the [`ErrorHandler`](crate::ErrorHandler) decides on, what a
/// dead-letter record carries and what a failed [`TaskInfo`](crate::TaskInfo) reports.
///
/// ```
/// use collectors_core::{Error, ErrorInfo, ErrorType, Layer};
///
/// let err = Error::validation("value out of range")
///     .with_component("thermometer")
///     .with_operation("validate");
/// let info = ErrorInfo::from(&err);
/// assert_eq!(info.error_type, ErrorType::Validation);
/// assert_eq!(info.layer_name, Layer::Processing);
/// assert_eq!(info.operation, "validate");
/// assert_eq!(info.component.as_deref(), Some("thermometer"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// Unique id of this occurrence.
    pub id: Uuid,
    /// The category.
    pub error_type: ErrorType,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// The layer it happened in.
    pub layer_name: Layer,
    /// The component it happened in (source id, processor name, backend id), if known.
    #[serde(default)]
    pub component: Option<String>,
    /// The operation that failed.
    pub operation: String,
    /// The message.
    pub message: String,
    /// Structured details (offending value, line number, attempt …).
    #[serde(default)]
    pub details: Metadata,
    /// The messages of the cause chain, outermost first.
    #[serde(default)]
    pub causes: Vec<String>,
    /// Whether the failure endangers the whole run rather than one item.
    pub is_critical: bool,
}

impl ErrorInfo {
    /// A new, non-critical error record stamped now.
    pub fn new(
        error_type: ErrorType,
        layer_name: Layer,
        operation: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            id: Uuid::new_v4(),
            error_type,
            timestamp: Utc::now(),
            layer_name,
            component: None,
            operation: operation.into(),
            message: message.into(),
            details: Metadata::new(),
            causes: Vec::new(),
            is_critical: false,
        }
    }

    /// Adds one structured detail.
    #[must_use]
    pub fn with_detail(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }

    /// Marks the failure as critical.
    #[must_use]
    pub fn critical(mut self) -> Self {
        self.is_critical = true;
        self
    }

    /// Turns the record back into an [`Error`] of the same type (the cause chain is kept as
    /// text only).
    pub fn to_error(&self) -> Error {
        let mut err =
            Error::of_type(self.error_type, self.message.clone()).with_operation(&self.operation);
        if let Some(component) = &self.component {
            err = err.with_component(component);
        }
        err
    }
}

impl From<&Error> for ErrorInfo {
    fn from(err: &Error) -> Self {
        let error_type = err.error_type();
        let context = err.context();
        let mut causes = err.chain();
        causes.remove(0);
        Self {
            id: Uuid::new_v4(),
            error_type,
            timestamp: Utc::now(),
            layer_name: Layer::of(error_type),
            component: context.component.clone(),
            operation: context
                .operation
                .clone()
                .unwrap_or_else(|| "unknown".to_owned()),
            message: err.message().to_owned(),
            details: Metadata::new(),
            causes,
            is_critical: matches!(
                error_type,
                ErrorType::Configuration | ErrorType::Authentication
            ),
        }
    }
}
