//! `[engine]` and `[retry]`: the run's settings, every one optional with a documented default.

use std::time::Duration;

use collectors_core::{
    Backoff, EngineConfig, ErrorAction, ErrorPolicy, ErrorType, FinalAction, Result,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::locate::{Segment, key_in_message};
use crate::spec::PipelineSpec;

/// `[engine]`: bounds, batching and concurrency (see [`EngineConfig`] for what each bounds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSpec {
    /// Items decoded and processed at once (1 to 1024). Default 2.
    #[schemars(range(min = 1, max = 1024))]
    pub max_items_in_flight: usize,
    /// Batches that may wait for the store (1 to 65536). Default 8.
    #[schemars(range(min = 1, max = 65_536))]
    pub channel_capacity: usize,
    /// Rows gathered before one store write (1 to 10,000,000). Default 50,000.
    #[schemars(range(min = 1, max = 10_000_000))]
    pub store_batch_rows: usize,
    /// The longest a gathered batch waits for more rows, in ms (at most one hour). Default 200.
    #[schemars(range(max = 3_600_000))]
    pub linger_ms: u64,
    /// How often task progress is reported, in ms (at most one hour). Default 250.
    #[schemars(range(max = 3_600_000))]
    pub progress_interval_ms: u64,
    /// How long an item's lease lasts without renewal, in ms (100 to one hour): concurrent
    /// runs share the items, and a run that dies has its items taken over this long after.
    /// Default 30,000.
    #[schemars(range(min = 100, max = 3_600_000))]
    pub lease_ttl_ms: u64,
}

impl Default for EngineSpec {
    fn default() -> Self {
        let c = EngineConfig::default();
        Self {
            max_items_in_flight: c.max_items_in_flight,
            channel_capacity: c.channel_capacity,
            store_batch_rows: c.store_batch_rows,
            linger_ms: u64::try_from(c.linger.as_millis()).unwrap_or(u64::MAX),
            progress_interval_ms: u64::try_from(c.progress_interval.as_millis())
                .unwrap_or(u64::MAX),
            lease_ttl_ms: u64::try_from(c.lease_ttl.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

impl EngineSpec {
    /// The engine's configuration.
    pub fn config(&self) -> EngineConfig {
        EngineConfig {
            max_items_in_flight: self.max_items_in_flight,
            channel_capacity: self.channel_capacity,
            store_batch_rows: self.store_batch_rows,
            linger: Duration::from_millis(self.linger_ms),
            progress_interval: Duration::from_millis(self.progress_interval_ms),
            lease_ttl: Duration::from_millis(self.lease_ttl_ms),
        }
    }

    pub(crate) fn check(&self, spec: &PipelineSpec) -> Result<()> {
        self.config()
            .validate()
            .map_err(|e| spec_error(spec, "engine", e.message()))
    }
}

/// `[retry]`: how transient failures (connection, read, storage, timeout) are retried, with
/// exponential backoff and jitter; what happens once the attempts are used up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RetrySpec {
    /// Attempts in all (1 to 100). Default 5.
    #[schemars(range(min = 1, max = 100))]
    pub max_attempts: u32,
    /// The first delay, in ms (one above `max_delay_ms` is capped to it). Default 100.
    #[schemars(range(max = 3_600_000))]
    pub initial_delay_ms: u64,
    /// The longest delay, in ms (at most one hour). Default 10,000.
    #[schemars(range(max = 3_600_000))]
    pub max_delay_ms: u64,
    /// Random spread of each delay, 0 to 1. Default 0.5.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub jitter: f64,
    /// What happens to the records once the attempts are used up. Default `dead_letter`.
    #[schemars(with = "FinalActionName")]
    pub on_exhausted: FinalAction,
}

/// The names of [`FinalAction`], for the schema of `on_exhausted`.
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum FinalActionName {
    /// Drop the records, counted as skipped.
    Skip,
    /// Send them to the dead-letter store.
    DeadLetter,
    /// Stop the run.
    Abort,
}

impl Default for RetrySpec {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_delay_ms: 100,
            max_delay_ms: 10_000,
            jitter: 0.5,
            on_exhausted: FinalAction::DeadLetter,
        }
    }
}

impl RetrySpec {
    /// The most attempts accepted.
    pub const MAX_ATTEMPTS: u32 = 100;

    /// The error policy: the default one, with this backoff for transient failures.
    ///
    /// # Errors
    ///
    /// [`collectors_core::Error::Configuration`] when a value is out of bounds.
    pub fn policy(&self) -> Result<ErrorPolicy> {
        let bad = |m: String| Err(collectors_core::Error::configuration(m));
        if !(1..=Self::MAX_ATTEMPTS).contains(&self.max_attempts) {
            return bad(format!(
                "`max_attempts` must be between 1 and {}, got {}",
                Self::MAX_ATTEMPTS,
                self.max_attempts
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return bad(format!(
                "`jitter` must be between 0 and 1, got {}",
                self.jitter
            ));
        }
        if self.max_delay_ms > 3_600_000 {
            return bad(format!(
                "`max_delay_ms` must be at most 3600000 (one hour), got {}",
                self.max_delay_ms
            ));
        }
        // Every delay is min(initial · 2^n, max): a first delay above the cap is the cap, as
        // the formula says, rather than an error (JSON Schema cannot compare two keys).
        let backoff = Backoff::new(
            Duration::from_millis(self.initial_delay_ms.min(self.max_delay_ms)),
            Duration::from_millis(self.max_delay_ms),
            self.max_attempts,
        )?
        .with_jitter(self.jitter)?;
        let mut policy = ErrorPolicy::default();
        for t in ErrorType::ALL.into_iter().filter(|t| t.is_retryable()) {
            policy = policy.on(
                t,
                ErrorAction::Retry {
                    backoff,
                    exhausted: self.on_exhausted,
                },
            );
        }
        Ok(policy)
    }

    pub(crate) fn check(&self, spec: &PipelineSpec) -> Result<()> {
        self.policy()
            .map(drop)
            .map_err(|e| spec_error(spec, "retry", e.message()))
    }
}

/// An error of table `table`, placed on the line of the key its message names.
fn spec_error(spec: &PipelineSpec, table: &str, message: &str) -> collectors_core::Error {
    match key_in_message(message) {
        Some(key) => spec.error_at(
            &[Segment::Key(table), Segment::Key(key)],
            message.trim_start_matches(&format!("`{key}`")).trim_start(),
        ),
        None => spec.error_at(&[Segment::Key(table)], message),
    }
}
