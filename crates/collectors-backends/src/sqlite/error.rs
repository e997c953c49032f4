//! Classifying `sqlx` and `rusqlite` failures the same way: retryable ones (busy, locked,
//! I/O) stay [`Error::Storage`]; the rest become non-retryable kinds.

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

/// The framework's error for SQLite result code `code` (primary or extended).
fn from_code(code: i32, message: String) -> Error {
    match code & 0xff {
        SQLITE_BUSY | SQLITE_LOCKED | SQLITE_IOERR | SQLITE_FULL | SQLITE_PROTOCOL => {
            Error::storage(message)
        }
        SQLITE_TOOBIG | SQLITE_CONSTRAINT | SQLITE_MISMATCH | SQLITE_RANGE => {
            Error::validation(message)
        }
        _ => Error::invalid_state(message),
    }
}

/// A `rusqlite` failure (the bulk write path) while doing `what`, classified as
/// [`from_sqlx`] classifies the same SQLite result codes, with the cause attached.
pub(crate) fn from_rusqlite(e: rusqlite::Error, what: &str) -> Error {
    let error = match &e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            let message = match message {
                Some(m) => format!("{what}: {m}"),
                None => format!("{what}: {failure}"),
            };
            from_code(failure.extended_code, message)
        }
        rusqlite::Error::ToSqlConversionFailure(_) => Error::validation(format!("{what}: {e}")),
        other => Error::invalid_state(format!("{what}: {other}")),
    };
    error.with_source(e)
}

/// A `sqlx` failure while doing `what`, as the framework's error with the cause attached.
pub(crate) fn from_sqlx(e: sqlx::Error, what: &str) -> Error {
    let message = match &e {
        sqlx::Error::Database(db) => format!("{what}: {}", db.message()),
        other => format!("{what}: {other}"),
    };
    let error = match &e {
        sqlx::Error::Database(db) => match db.code().and_then(|c| c.parse::<i32>().ok()) {
            Some(code) => from_code(code, message),
            None => Error::invalid_state(message),
        },
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

    #[test]
    fn rusqlite_failures_are_classified_like_sqlx_ones() {
        let failure = |code| {
            rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some("m".into()))
        };
        // SQLITE_BUSY_SNAPSHOT (517): extended codes classify by their primary byte.
        let busy = from_rusqlite(failure(517), "store");
        assert_eq!(busy.error_type(), ErrorType::Storage);
        assert!(busy.is_retryable());
        assert_eq!(busy.message(), "store: m");
        let full = from_rusqlite(failure(SQLITE_FULL), "store");
        assert!(full.is_retryable());
        // SQLITE_CONSTRAINT_PRIMARYKEY (1555).
        let constraint = from_rusqlite(failure(1555), "store");
        assert_eq!(constraint.error_type(), ErrorType::Validation);
        let readonly = from_rusqlite(failure(8), "store");
        assert_eq!(readonly.error_type(), ErrorType::InvalidState);
        assert!(!readonly.is_retryable());
    }
}
