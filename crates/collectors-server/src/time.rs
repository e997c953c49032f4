//! Times as the service's tables keep them: milliseconds since the Unix epoch (BIGINT), the
//! one type that SQLite and PostgreSQL read and write alike through sqlx `Any`.

use chrono::{DateTime, TimeZone, Utc};

/// `ms` since the epoch as a UTC time (the epoch itself for a value out of range).
pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Now, in milliseconds since the epoch.
pub(crate) fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}
