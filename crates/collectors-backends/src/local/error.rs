//! Turning `object_store` and I/O failures into the framework's [`Error`], naming the file.

use std::io::ErrorKind;

use collectors_core::Error;

/// The kind of a failure on an item: missing → [`Error::NotFound`], an invalid identifier →
/// [`Error::Validation`], anything else (permissions, I/O) → [`Error::DataFetch`].
pub(crate) fn from_object_store(e: object_store::Error, what: &str, path: &str) -> Error {
    match &e {
        object_store::Error::NotFound { .. } => {
            Error::not_found(format!("{what} {path}: no such file")).with_source(e)
        }
        object_store::Error::InvalidPath { .. } => {
            Error::validation(format!("{what} {path}: invalid path: {e}")).with_source(e)
        }
        _ => Error::data_fetch(format!("{what} {path}: {}", describe(&e))).with_source(e),
    }
}

/// An I/O failure while reading `path`.
pub(crate) fn from_io(e: std::io::Error, what: &str, path: &str) -> Error {
    match e.kind() {
        ErrorKind::NotFound => Error::not_found(format!("{what} {path}: no such file")),
        _ => Error::data_fetch(format!("{what} {path}: {e}")),
    }
    .with_source(e)
}

/// The most telling message of an `object_store` error: "permission denied" rather than
/// "Unable to open file …".
fn describe(e: &object_store::Error) -> String {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return io.to_string();
        }
        cause = c.source();
    }
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use collectors_core::ErrorType;

    #[test]
    fn permission_denied_is_a_data_fetch_error_naming_the_file() {
        let denied = object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(std::io::Error::from(ErrorKind::PermissionDenied)),
        };
        let err = from_object_store(denied, "opening", "/data/secret.csv");
        assert_eq!(err.error_type(), ErrorType::DataFetch);
        assert!(err.to_string().contains("/data/secret.csv"), "{err}");
        assert!(err.to_string().contains("permission denied"), "{err}");
    }

    #[test]
    fn missing_is_not_found() {
        let missing = object_store::Error::NotFound {
            path: "a.csv".into(),
            source: Box::new(std::io::Error::from(ErrorKind::NotFound)),
        };
        let err = from_object_store(missing, "opening", "/data/a.csv");
        assert_eq!(err.error_type(), ErrorType::NotFound);
        assert!(err.to_string().contains("/data/a.csv"));
    }
}
