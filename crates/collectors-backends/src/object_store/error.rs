//! Turning `object_store` failures into the framework's [`Error`], naming the object.

use collectors_core::Error;

/// What kind of operation failed, for the error type of transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// A read (list, head, get): transient failures are [`Error::DataFetch`].
    Read,
    /// A write or delete: transient failures are [`Error::Storage`].
    Write,
    /// Reaching the store at all: transient failures are [`Error::Connection`].
    Connect,
}

/// Maps `e`, raised while doing `what` to `object` (a full URI), to the framework's error:
///
/// | object_store | ours | retryable |
/// |---|---|---|
/// | `NotFound` (404: missing object or bucket) | `NotFound` | no |
/// | `PermissionDenied`, `Unauthenticated` (403, 401) | `Authentication` | no |
/// | `AlreadyExists`, `Precondition` (a create-only write over an object) | `InvalidState` | no |
/// | `InvalidPath` | `Validation` | no |
/// | `UnknownConfigurationKey`, `NotSupported`, `NotImplemented` | `Configuration` | no |
/// | anything else (5xx after object_store's retries, timeouts, I/O) | by `op`: `DataFetch`, `Storage`, `Connection` | yes |
pub(crate) fn from_object_store(
    e: ::object_store::Error,
    op: Op,
    what: &str,
    object: &str,
) -> Error {
    use ::object_store::Error as E;
    let detail = root_cause(&e);
    // Listings report HTTP failures as `Generic`; the status is only in the message.
    let status = if matches!(e, E::Generic { .. }) {
        http_status(&e)
    } else {
        None
    };
    match &e {
        _ if status == Some(404) => Error::not_found(format!(
            "{what} {object}: no such object (or bucket): {detail}"
        )),
        _ if matches!(status, Some(401 | 403)) => Error::authentication(format!(
            "{what} {object}: access denied (wrong or expired credentials?): {detail}"
        )),
        E::NotFound { .. } => Error::not_found(format!(
            "{what} {object}: no such object (or bucket): {detail}"
        )),
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => Error::authentication(format!(
            "{what} {object}: access denied (wrong or expired credentials?): {detail}"
        )),
        E::AlreadyExists { .. } | E::Precondition { .. } => Error::invalid_state(format!(
            "{what} {object}: the object already exists (create-only write)"
        )),
        E::InvalidPath { .. } => {
            Error::validation(format!("{what} {object}: invalid path: {detail}"))
        }
        E::UnknownConfigurationKey { key, .. } => Error::configuration(format!(
            "{what} {object}: unknown configuration key `{key}`"
        )),
        E::NotSupported { .. } | E::NotImplemented { .. } => Error::configuration(format!(
            "{what} {object}: not supported by this store: {detail}"
        )),
        _ => {
            let message = format!("{what} {object}: {detail}");
            match op {
                Op::Read => Error::data_fetch(message),
                Op::Write => Error::storage(message),
                Op::Connect => Error::connection(message),
            }
        }
    }
    .with_source(e)
}

/// The HTTP status object_store's client wrote into the error chain ("… status code: 403
/// Forbidden"), for the errors it does not classify itself (listings).
fn http_status(e: &(dyn std::error::Error + 'static)) -> Option<u16> {
    const MARK: &str = "status code: ";
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(current) = next {
        let text = current.to_string();
        if let Some(at) = text.find(MARK) {
            let digits: String = text[at + MARK.len()..].chars().take(3).collect();
            if let Ok(code) = digits.parse::<u16>() {
                return Some(code);
            }
        }
        next = current.source();
    }
    None
}

/// The innermost message of an error chain, where the useful words are (an HTTP status and
/// body, an I/O error), prefixed by the outer one when they differ.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        last = c.to_string();
        cause = c.source();
    }
    let outer = e.to_string();
    if outer.contains(&last) {
        outer
    } else {
        format!("{outer}: {last}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use collectors_core::ErrorType;

    #[test]
    fn kinds_map_to_types_and_name_the_object() {
        let missing = ::object_store::Error::NotFound {
            path: "a.csv".into(),
            source: "404".into(),
        };
        let err = from_object_store(missing, Op::Read, "reading", "s3://b/a.csv");
        assert_eq!(err.error_type(), ErrorType::NotFound);
        assert!(err.to_string().contains("s3://b/a.csv"), "{err}");
        let denied = ::object_store::Error::PermissionDenied {
            path: "a.csv".into(),
            source: "403".into(),
        };
        let err = from_object_store(denied, Op::Read, "reading", "s3://b/a.csv");
        assert_eq!(err.error_type(), ErrorType::Authentication);
        assert!(!err.is_retryable());
        let generic = ::object_store::Error::Generic {
            store: "S3",
            source: "503 Slow Down".into(),
        };
        let err = from_object_store(generic, Op::Write, "writing", "s3://b/a.csv");
        assert_eq!(err.error_type(), ErrorType::Storage);
        assert!(err.is_retryable());
        assert!(err.to_string().contains("503"), "{err}");
        let listed = ::object_store::Error::Generic {
            store: "S3",
            source:
                "Error performing list request: Server returned non-2xx status code: 403 Forbidden"
                    .into(),
        };
        let err = from_object_store(listed, Op::Connect, "listing", "s3://b/");
        assert_eq!(err.error_type(), ErrorType::Authentication);
    }
}
