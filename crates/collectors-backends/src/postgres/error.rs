//! Classifying PostgreSQL failures by SQLSTATE: retryable ones stay retryable.

use collectors_core::Error;

/// A `sqlx` failure while doing `what`, as the framework's error with the cause attached.
pub(crate) fn from_sqlx(e: sqlx::Error, what: &str) -> Error {
    let message = match &e {
        sqlx::Error::Database(db) => format!("{what}: {}", db.message()),
        other => format!("{what}: {other}"),
    };
    let error = match &e {
        // sqlx reports a failed handshake as I/O: it is the settings that must change.
        _ if is_tls_failure(&e) => Error::configuration(format!(
            "{message} (TLS: see the URL's `sslmode` and `sslrootcert`)"
        )),
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some(code) => by_sqlstate(code, message),
            None => Error::invalid_state(message),
        },
        sqlx::Error::Io(_) | sqlx::Error::PoolClosed => Error::connection(message),
        sqlx::Error::PoolTimedOut => Error::timeout(message),
        sqlx::Error::Configuration(_) => Error::configuration(message),
        _ => Error::invalid_state(message),
    };
    error.with_source(e)
}

/// A TLS failure (a certificate no trusted CA signed, a server without TLS when `sslmode`
/// needs it): not retryable, the URL's settings must change.
fn is_tls_failure(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Tls(_) => true,
        sqlx::Error::Io(io) => io
            .get_ref()
            .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()),
        _ => false,
    }
}

fn by_sqlstate(code: &str, message: String) -> Error {
    match code {
        // Invalid password, invalid authorization.
        "28P01" | "28000" => Error::authentication(message),
        // Serialization failure, deadlock, lock not available.
        "40001" | "40P01" | "55P03" => Error::storage(message),
        _ => match &code[..2.min(code.len())] {
            // Connection exceptions, insufficient resources (disk full, too many
            // connections), operator intervention (shutdown, crash).
            "08" | "57" => Error::connection(message),
            "53" => Error::storage(message),
            // Data exceptions, integrity constraints.
            "22" | "23" => Error::validation(message),
            _ => Error::invalid_state(message),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use collectors_core::ErrorType;

    #[test]
    fn sqlstates_keep_what_a_retry_can_fix() {
        for (code, kind) in [
            ("28P01", ErrorType::Authentication),
            ("40001", ErrorType::Storage),
            ("40P01", ErrorType::Storage),
            ("53100", ErrorType::Storage),
            ("57P01", ErrorType::Connection),
            ("08006", ErrorType::Connection),
            ("23505", ErrorType::Validation),
            ("42P01", ErrorType::InvalidState),
        ] {
            assert_eq!(
                by_sqlstate(code, code.to_owned()).error_type(),
                kind,
                "{code}"
            );
        }
        assert!(by_sqlstate("40001", String::new()).is_retryable());
        assert!(!by_sqlstate("28P01", String::new()).is_retryable());
    }
}
