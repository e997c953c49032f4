//! The one error type of the framework.
//!
//! Every fallible operation of every contract returns [`Result<T>`]. The variants follow the
//! seeds' exception hierarchy (connection, authentication, data fetch, configuration, …); each
//! carries an [`ErrorContext`] (which component, which operation), a human message and, where
//! there is one, the underlying cause as its `source`.
//!
//! A failure becomes data with [`ErrorInfo::from`](crate::ErrorInfo): the error handler decides
//! what happens next from its [`ErrorType`].

use std::fmt;

use crate::models::ErrorType;

/// A boxed error usable as the `source` of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with the framework's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where an error happened: the component (a source id, a backend id, a processor name) and the
/// operation (`"connect"`, `"store"`, …). Both are optional; the display shows what is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorContext {
    /// The component that failed: a source id, a backend id, a processor name.
    pub component: Option<String>,
    /// The operation that failed, e.g. `"connect"` or `"store_batch"`.
    pub operation: Option<String>,
}

impl fmt::Display for ErrorContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.component, &self.operation) {
            (Some(c), Some(o)) => write!(f, " [{c}: {o}]"),
            (Some(c), None) => write!(f, " [{c}]"),
            (None, Some(o)) => write!(f, " [{o}]"),
            (None, None) => Ok(()),
        }
    }
}

/// The error of every collectors operation.
///
/// Build one with the constructor named after its kind, then add context:
///
/// ```
/// use collectors_core::{Error, ErrorType};
///
/// let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
/// let err = Error::connection("cannot reach the broker")
///     .with_component("sensor-17")
///     .with_operation("connect")
///     .with_source(io);
/// assert_eq!(err.error_type(), ErrorType::Connection);
/// assert!(err.is_retryable());
/// assert_eq!(
///     err.to_string(),
///     "connection failed [sensor-17: connect]: cannot reach the broker"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A connection could not be opened or was lost.
    #[error("connection failed{context}: {message}")]
    Connection {
        /// Where it happened.
        context: ErrorContext,
        /// What happened.
        message: String,
        /// The underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// Credentials were missing, wrong or expired.
    #[error("authentication failed{context}: {message}")]
    Authentication {
        /// Where it happened.
        context: ErrorContext,
        /// What happened.
        message: String,
        /// The underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// Data could not be read or downloaded from a source.
    #[error("data fetch failed{context}: {message}")]
    DataFetch {
        /// Where it happened.
        context: ErrorContext,
        /// What happened.
        message: String,
        /// The underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// A configuration value is missing or invalid.
    #[error("invalid configuration{context}: {message}")]
    Configuration {
        /// Where it happened.
        context: ErrorContext,
        /// What happened.
        message: String,
        /// The underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// Input data or arguments do not meet the contract (schema, range, format).
    #[error("validation failed{context}: {message}")]
    Validation {
        /// Where it happened.
        context: ErrorContext,
        /// What happened.
        message: String,
        /// The underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// A processor or pipeline failed on an item.
    #[error("processing failed{context}: {message}")]
    Processing {
        /// Where it happened.
        context: ErrorContext,
        /// What happened.
        message: String,
        /// The underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// A storage backend failed to write, read or delete.
    #[error("storage failed{context}: {message}")]
    Storage {
        /// Where it happened.
        context: ErrorContext,
        /// What happened.
        message: String,
        /// The underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// A named thing (source, backend, processor, task, item) does not exist.
    #[error("not found{context}: {message}")]
    NotFound {
        /// Where it happened.
        context: ErrorContext,
        /// What was missing.
        message: String,
        /// The underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// An operation did not finish in time.
    #[error("timed out{context}: {message}")]
    Timeout {
        /// Where it happened.
        context: ErrorContext,
        /// What happened.
        message: String,
        /// The underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// An operation was cancelled before it finished.
    #[error("cancelled{context}: {message}")]
    Cancelled {
        /// Where it happened.
        context: ErrorContext,
        /// What happened.
        message: String,
        /// The underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// An operation is illegal in the current state (complete a cancelled task, start a
    /// running source, register a duplicate id).
    #[error("invalid state{context}: {message}")]
    InvalidState {
        /// Where it happened.
        context: ErrorContext,
        /// What happened.
        message: String,
        /// The underlying cause.
        #[source]
        source: Option<BoxError>,
    },
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $fn_name:ident => $variant:ident),* $(,)?) => {
        impl Error {
            $(
                $(#[$doc])*
                pub fn $fn_name(message: impl Into<String>) -> Self {
                    Error::$variant {
                        context: ErrorContext::default(),
                        message: message.into(),
                        source: None,
                    }
                }
            )*
        }
    };
}

constructors! {
    /// A [`Error::Connection`] with this message.
    connection => Connection,
    /// An [`Error::Authentication`] with this message.
    authentication => Authentication,
    /// A [`Error::DataFetch`] with this message.
    data_fetch => DataFetch,
    /// A [`Error::Configuration`] with this message.
    configuration => Configuration,
    /// A [`Error::Validation`] with this message.
    validation => Validation,
    /// A [`Error::Processing`] with this message.
    processing => Processing,
    /// A [`Error::Storage`] with this message.
    storage => Storage,
    /// A [`Error::NotFound`] with this message.
    not_found => NotFound,
    /// A [`Error::Timeout`] with this message.
    timeout => Timeout,
    /// A [`Error::Cancelled`] with this message.
    cancelled => Cancelled,
    /// An [`Error::InvalidState`] with this message.
    invalid_state => InvalidState,
}

impl Error {
    /// Builds the error of the given type; the inverse of [`Error::error_type`].
    ///
    /// [`ErrorType::Unknown`] maps to [`Error::Processing`].
    pub fn of_type(error_type: ErrorType, message: impl Into<String>) -> Self {
        match error_type {
            ErrorType::Connection => Self::connection(message),
            ErrorType::Authentication => Self::authentication(message),
            ErrorType::DataFetch => Self::data_fetch(message),
            ErrorType::Configuration => Self::configuration(message),
            ErrorType::Validation => Self::validation(message),
            ErrorType::Storage => Self::storage(message),
            ErrorType::NotFound => Self::not_found(message),
            ErrorType::Timeout => Self::timeout(message),
            ErrorType::Cancelled => Self::cancelled(message),
            ErrorType::InvalidState => Self::invalid_state(message),
            ErrorType::Processing | ErrorType::Unknown => Self::processing(message),
        }
    }

    fn parts(&self) -> (&ErrorContext, &str) {
        match self {
            Error::Connection {
                context, message, ..
            }
            | Error::Authentication {
                context, message, ..
            }
            | Error::DataFetch {
                context, message, ..
            }
            | Error::Configuration {
                context, message, ..
            }
            | Error::Validation {
                context, message, ..
            }
            | Error::Processing {
                context, message, ..
            }
            | Error::Storage {
                context, message, ..
            }
            | Error::NotFound {
                context, message, ..
            }
            | Error::Timeout {
                context, message, ..
            }
            | Error::Cancelled {
                context, message, ..
            }
            | Error::InvalidState {
                context, message, ..
            } => (context, message),
        }
    }

    fn parts_mut(&mut self) -> (&mut ErrorContext, &mut Option<BoxError>) {
        match self {
            Error::Connection {
                context, source, ..
            }
            | Error::Authentication {
                context, source, ..
            }
            | Error::DataFetch {
                context, source, ..
            }
            | Error::Configuration {
                context, source, ..
            }
            | Error::Validation {
                context, source, ..
            }
            | Error::Processing {
                context, source, ..
            }
            | Error::Storage {
                context, source, ..
            }
            | Error::NotFound {
                context, source, ..
            }
            | Error::Timeout {
                context, source, ..
            }
            | Error::Cancelled {
                context, source, ..
            }
            | Error::InvalidState {
                context, source, ..
            } => (context, source),
        }
    }

    /// Sets the component (source id, backend id, processor name) the error happened in.
    #[must_use]
    pub fn with_component(mut self, component: impl Into<String>) -> Self {
        self.parts_mut().0.component = Some(component.into());
        self
    }

    /// Sets the operation that failed.
    #[must_use]
    pub fn with_operation(mut self, operation: impl Into<String>) -> Self {
        self.parts_mut().0.operation = Some(operation.into());
        self
    }

    /// Attaches the underlying cause, reachable through [`std::error::Error::source`].
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        *self.parts_mut().1 = Some(source.into());
        self
    }

    /// Where the error happened.
    pub fn context(&self) -> &ErrorContext {
        self.parts().0
    }

    /// The message, without the kind and context prefix.
    pub fn message(&self) -> &str {
        self.parts().1
    }

    /// The category the error handler decides on.
    pub fn error_type(&self) -> ErrorType {
        match self {
            Error::Connection { .. } => ErrorType::Connection,
            Error::Authentication { .. } => ErrorType::Authentication,
            Error::DataFetch { .. } => ErrorType::DataFetch,
            Error::Configuration { .. } => ErrorType::Configuration,
            Error::Validation { .. } => ErrorType::Validation,
            Error::Processing { .. } => ErrorType::Processing,
            Error::Storage { .. } => ErrorType::Storage,
            Error::NotFound { .. } => ErrorType::NotFound,
            Error::Timeout { .. } => ErrorType::Timeout,
            Error::Cancelled { .. } => ErrorType::Cancelled,
            Error::InvalidState { .. } => ErrorType::InvalidState,
        }
    }

    /// Whether trying the same operation again may succeed (a transient failure).
    ///
    /// Connection, data fetch, storage and timeout failures are transient; bad configuration,
    /// bad credentials, invalid data, missing things and illegal states are not.
    pub fn is_retryable(&self) -> bool {
        self.error_type().is_retryable()
    }

    /// The messages of the whole `source` chain, outermost first (this error included).
    pub fn chain(&self) -> Vec<String> {
        let mut out = vec![self.to_string()];
        let mut next = std::error::Error::source(self);
        while let Some(cause) = next {
            out.push(cause.to_string());
            next = cause.source();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_and_source_chain_are_kept() {
        let io = std::io::Error::other("disk on fire");
        let err = Error::storage("write failed")
            .with_component("sqlite")
            .with_operation("store_batch")
            .with_source(io);
        assert_eq!(err.context().component.as_deref(), Some("sqlite"));
        assert_eq!(err.message(), "write failed");
        assert_eq!(
            err.chain(),
            vec![
                "storage failed [sqlite: store_batch]: write failed".to_string(),
                "disk on fire".to_string()
            ]
        );
    }

    #[test]
    fn every_type_round_trips_through_of_type() {
        for t in ErrorType::ALL {
            let e = Error::of_type(t, "x");
            if t == ErrorType::Unknown {
                assert_eq!(e.error_type(), ErrorType::Processing);
            } else {
                assert_eq!(e.error_type(), t);
            }
        }
    }

    #[test]
    fn retryable_kinds() {
        assert!(Error::timeout("t").is_retryable());
        assert!(Error::connection("c").is_retryable());
        assert!(!Error::validation("v").is_retryable());
        assert!(!Error::authentication("a").is_retryable());
    }
}
