//! [`PoolConfig`]: the limits of a connection pool, checked before any pool is built.

use std::time::Duration;

use collectors_core::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The most connections one pool may hold.
pub const MAX_POOL_SIZE: usize = 10_000;

/// The limits of a [`ConnectionPool`](super::ConnectionPool), and of the sqlx pool under a
/// SQL connector ([`PostgresConnector::with_pool_config`]): the same settings, the same
/// meaning.
///
/// Durations are milliseconds, as in the pipeline file (`acquire_timeout_ms = 5000`).
/// Unknown keys are refused. [`validate`](Self::validate) checks the values; every pool
/// calls it before it is built.
///
/// ```
/// use std::time::Duration;
/// use collectors_backends::pool::PoolConfig;
///
/// let config = PoolConfig::new()
///     .max_size(8)
///     .min_size(2)
///     .acquire_timeout(Duration::from_secs(5))
///     .idle_timeout(Some(Duration::from_secs(60)));
/// config.validate().unwrap();
///
/// let parsed: PoolConfig = serde_json::from_str(r#"{"max_size": 8, "min_size": 2}"#).unwrap();
/// assert_eq!(parsed.min_size, 2);
/// assert!(PoolConfig::new().max_size(0).validate().is_err());
/// // A minimum above the maximum keeps the maximum open.
/// assert_eq!(PoolConfig::new().max_size(1).min_size(2).kept_open(), 1);
/// ```
///
/// [`PostgresConnector::with_pool_config`]: crate::postgres::PostgresConnector::with_pool_config
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PoolConfig {
    /// The most connections open at once, in use and idle together (default 10, 1 to
    /// 10 000).
    #[schemars(range(min = 1, max = 10_000))]
    pub max_size: usize,
    /// Connections kept open even when nobody uses them: created when the pool is built and
    /// made again after expired ones are closed (default 0; one above `max_size` is capped
    /// to it, see [`kept_open`](Self::kept_open)).
    #[schemars(range(max = 10_000))]
    pub min_size: usize,
    /// How long getting a connection waits for one to be free (or to connect) before it
    /// fails with a timeout error (default 30 000 ms).
    #[schemars(range(min = 1))]
    pub acquire_timeout_ms: u64,
    /// An idle connection unused for this long is closed (default 600 000 ms = 10 min;
    /// `null`: never).
    #[schemars(range(min = 1))]
    pub idle_timeout_ms: Option<u64>,
    /// A connection older than this is closed when it is next idle (default 1 800 000 ms =
    /// 30 min; `null`: never).
    #[schemars(range(min = 1))]
    pub max_lifetime_ms: Option<u64>,
    /// Test an idle connection (`Connector::test_connection`; for SQL pools a ping) before
    /// handing it out; one that fails is closed and another is used (default true).
    pub health_check: bool,
    /// How often a pool closes expired idle connections and tops up to `min_size`
    /// (default 30 000 ms).
    #[schemars(range(min = 1))]
    pub reap_interval_ms: u64,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_size: 10,
            min_size: 0,
            acquire_timeout_ms: 30_000,
            idle_timeout_ms: Some(600_000),
            max_lifetime_ms: Some(1_800_000),
            health_check: true,
            reap_interval_ms: 30_000,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl PoolConfig {
    /// The defaults: 10 connections at most, none kept idle, 30 s to acquire, idle ones
    /// closed after 10 min, every one after 30 min, health-checked on acquire.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most connections open at once.
    #[must_use]
    pub fn max_size(mut self, n: usize) -> Self {
        self.max_size = n;
        self
    }

    /// Connections kept open when idle.
    #[must_use]
    pub fn min_size(mut self, n: usize) -> Self {
        self.min_size = n;
        self
    }

    /// How long getting a connection may wait.
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout_ms = millis(timeout);
        self
    }

    /// Idle connections are closed after `timeout` unused (`None`: never).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout_ms = timeout.map(millis);
        self
    }

    /// Connections are closed once older than `lifetime` (`None`: never).
    #[must_use]
    pub fn max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.max_lifetime_ms = lifetime.map(millis);
        self
    }

    /// Whether idle connections are tested before they are handed out.
    #[must_use]
    pub fn health_check(mut self, on: bool) -> Self {
        self.health_check = on;
        self
    }

    /// How often expired idle connections are closed.
    #[must_use]
    pub fn reap_interval(mut self, interval: Duration) -> Self {
        self.reap_interval_ms = millis(interval);
        self
    }

    /// The acquire timeout as a duration.
    pub fn acquire_timeout_duration(&self) -> Duration {
        Duration::from_millis(self.acquire_timeout_ms)
    }

    /// The idle timeout as a duration.
    pub fn idle_timeout_duration(&self) -> Option<Duration> {
        self.idle_timeout_ms.map(Duration::from_millis)
    }

    /// The maximum lifetime as a duration.
    pub fn max_lifetime_duration(&self) -> Option<Duration> {
        self.max_lifetime_ms.map(Duration::from_millis)
    }

    /// The reap interval as a duration.
    pub fn reap_interval_duration(&self) -> Duration {
        Duration::from_millis(self.reap_interval_ms)
    }

    /// The connections kept open even when idle: `min_size`, at most `max_size`.
    pub fn kept_open(&self) -> usize {
        self.min_size.min(self.max_size)
    }

    /// Checks the values: `max_size` from 1 to [`MAX_POOL_SIZE`], `min_size` ≤ `max_size`,
    /// every duration above zero.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] naming the setting and its value.
    pub fn validate(&self) -> Result<()> {
        let refuse = |message: String| Err(Error::configuration(message).with_component("pool"));
        if !(1..=MAX_POOL_SIZE).contains(&self.max_size) {
            return refuse(format!(
                "max_size must be from 1 to {MAX_POOL_SIZE}, not {}",
                self.max_size
            ));
        }
        if self.min_size > self.max_size {
            // Capped rather than refused, as a schema can state it: JSON Schema cannot
            // compare two keys, and a form built from the schema must not be refused.
            tracing::warn!(
                min_size = self.min_size,
                max_size = self.max_size,
                "pool min_size is above max_size: max_size connections are kept open"
            );
        }
        for (name, value) in [
            ("acquire_timeout_ms", Some(self.acquire_timeout_ms)),
            ("idle_timeout_ms", self.idle_timeout_ms),
            ("max_lifetime_ms", self.max_lifetime_ms),
            ("reap_interval_ms", Some(self.reap_interval_ms)),
        ] {
            if value == Some(0) {
                return refuse(format!("{name} must be above 0"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use collectors_core::ErrorType;

    #[test]
    fn bad_limits_are_configuration_errors_naming_the_setting() {
        for (config, needle) in [
            (PoolConfig::new().max_size(0), "max_size"),
            (PoolConfig::new().max_size(MAX_POOL_SIZE + 1), "max_size"),
            (
                PoolConfig::new().acquire_timeout(Duration::ZERO),
                "acquire_timeout_ms",
            ),
            (
                PoolConfig::new().idle_timeout(Some(Duration::ZERO)),
                "idle_timeout_ms",
            ),
            (
                PoolConfig::new().max_lifetime(Some(Duration::ZERO)),
                "max_lifetime_ms",
            ),
            (
                PoolConfig::new().reap_interval(Duration::ZERO),
                "reap_interval_ms",
            ),
        ] {
            let err = config.validate().unwrap_err();
            assert_eq!(err.error_type(), ErrorType::Configuration);
            assert!(err.to_string().contains(needle), "{err}");
        }
        PoolConfig::new().validate().unwrap();
        PoolConfig::new()
            .max_size(3)
            .min_size(3)
            .idle_timeout(None)
            .max_lifetime(None)
            .validate()
            .unwrap();
    }

    #[test]
    fn unknown_keys_are_refused_and_missing_ones_default() {
        let err = serde_json::from_str::<PoolConfig>(r#"{"max_size": 2, "maxsize": 3}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("maxsize"), "{err}");
        let config: PoolConfig =
            serde_json::from_str(r#"{"max_size": 2, "idle_timeout_ms": null}"#).unwrap();
        assert_eq!(config.max_size, 2);
        assert_eq!(config.idle_timeout_ms, None);
        assert_eq!(config.acquire_timeout_ms, 30_000);
    }

    #[test]
    fn the_schema_lists_every_setting() {
        let schema = serde_json::to_value(schemars::schema_for!(PoolConfig)).unwrap();
        for key in [
            "max_size",
            "min_size",
            "acquire_timeout_ms",
            "idle_timeout_ms",
            "max_lifetime_ms",
            "health_check",
            "reap_interval_ms",
        ] {
            assert!(schema["properties"][key].is_object(), "{key}");
        }
    }
}
