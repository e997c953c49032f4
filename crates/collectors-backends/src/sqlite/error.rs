//! Classifying `sqlx` failures: retryable ones (busy, locked, I/O) stay [`Error::Storage`];
//! the rest become non-retryable kinds.

use collectors_core::Error;

// SQLite primary result codes (the low byte of an extended code).
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
const SQLITE_IOERR: i32 = 10;
const SQLITE_FULL: i32 = 13;
const SQLITE_PROTOCOL: i32 = 15;
const SQLITE_TOOBIG: i32 = 18;
const SQLITE_CONSTRAINT: i32 = 19;
const SQLITE_MISMATCH: i32 = 20;
const SQLITE_RANGE: i32 = 25;

/// A `sqlx` failure while doing `what`, as the framework's error with the cause attached.
pub(crate) fn from_sqlx(e: sqlx::Error, what: &str) -> Error {
    let message = match &e {
        sqlx::Error::Database(db) => format!("{what}: {}", db.message()),
        other => format!("{what}: {other}"),
    };
    let error = match &e {
        sqlx::Error::Database(db) => {
            let primary = db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .map(|c| c & 0xff);
            match primary {
                Some(
                    SQLITE_BUSY | SQLITE_LOCKED | SQLITE_IOERR | SQLITE_FULL | SQLITE_PROTOCOL,
                ) => Error::storage(message),
                Some(SQLITE_TOOBIG | SQLITE_CONSTRAINT | SQLITE_MISMATCH | SQLITE_RANGE) => {
                    Error::validation(message)
                }
                _ => Error::invalid_state(message),
            }
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => {
            Error::storage(message)
        }
        sqlx::Error::PoolClosed => Error::connection(message),
        sqlx::Error::Configuration(_) => Error::configuration(message),
        _ => Error::invalid_state(message),
    };
    error.with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use collectors_core::ErrorType;

    #[test]
    fn transient_failures_are_retryable_and_the_rest_are_not() {
        let io = from_sqlx(sqlx::Error::Io(std::io::Error::other("disk")), "store");
        assert_eq!(io.error_type(), ErrorType::Storage);
        assert!(io.is_retryable());
        assert!(
            std::error::Error::source(&io).is_some(),
            "the cause is attached"
        );

        let timeout = from_sqlx(sqlx::Error::PoolTimedOut, "store");
        assert!(timeout.is_retryable());

        let decode = from_sqlx(sqlx::Error::ColumnNotFound("x".into()), "query");
        assert_eq!(decode.error_type(), ErrorType::InvalidState);
        assert!(!decode.is_retryable());
    }
}
