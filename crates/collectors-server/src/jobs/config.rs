//! [`QueueConfig`]: leases, retries, polling and retention of the job queue.

use std::time::Duration;

use collectors_core::{Error, Result};

/// How the job queue leases, retries, polls and keeps jobs.
///
/// ```
/// use std::time::Duration;
/// use collectors_server::jobs::QueueConfig;
///
/// let config = QueueConfig {
///     lease_ttl: Duration::from_secs(60),
///     ..QueueConfig::default()
/// };
/// assert_eq!(config.max_attempts, 3);
/// // A retry delay is capped, and the cap stays below the lease.
/// assert_eq!(config.backoff(1), Duration::from_secs(1));
/// assert_eq!(config.backoff(10), Duration::from_secs(20));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// How long a claim or a heartbeat keeps a job leased (default 30 s). A worker that does
    /// not heartbeat within it loses the job to the reaper.
    pub lease_ttl: Duration,
    /// The delay before the first retry of a failed job (default 1 s); doubled each attempt.
    pub backoff_base: Duration,
    /// The longest retry delay (default 20 s); always below `lease_ttl` (clamped).
    pub backoff_cap: Duration,
    /// Attempts per job unless the job says otherwise (default 3).
    pub max_attempts: u32,
    /// How often an idle worker looks for work when no wake-up arrives (default 1 s).
    pub poll_interval: Duration,
    /// How long finished jobs are kept before [`purge_finished`](super::JobQueue::purge_finished)
    /// removes them (default 7 days).
    pub retention: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            lease_ttl: Duration::from_secs(30),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(20),
            max_attempts: 3,
            poll_interval: Duration::from_secs(1),
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl QueueConfig {
    /// The retry delay after failed attempt `attempt` (1-based):
    /// `min(backoff_base · 2^(attempt-1), cap)`, where the cap is the smaller of
    /// `backoff_cap` and just below `lease_ttl`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let cap = self.effective_cap();
        let shift = attempt.saturating_sub(1).min(63);
        let factor = 1u64 << shift;
        let base = u64::try_from(self.backoff_base.as_millis()).unwrap_or(u64::MAX);
        let millis = base.saturating_mul(factor);
        Duration::from_millis(millis).min(cap)
    }

    /// `backoff_cap`, clamped below `lease_ttl`.
    pub fn effective_cap(&self) -> Duration {
        let below_lease = self.lease_ttl.saturating_sub(Duration::from_millis(1));
        self.backoff_cap.min(below_lease)
    }

    /// Checks the values and clamps the backoff cap below the lease.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for a zero lease, zero attempts or a zero poll interval.
    pub(crate) fn checked(mut self) -> Result<Self> {
        if self.lease_ttl.is_zero() {
            return Err(Error::configuration(
                "job queue: lease_ttl must be above zero",
            ));
        }
        if self.max_attempts == 0 {
            return Err(Error::configuration(
                "job queue: max_attempts must be at least 1",
            ));
        }
        if self.poll_interval.is_zero() {
            return Err(Error::configuration(
                "job queue: poll_interval must be above zero",
            ));
        }
        self.backoff_cap = self.effective_cap();
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped_below_the_lease() {
        let config = QueueConfig {
            lease_ttl: Duration::from_secs(5),
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(60),
            ..QueueConfig::default()
        };
        assert_eq!(config.backoff(1), Duration::from_millis(500));
        assert_eq!(config.backoff(2), Duration::from_millis(1000));
        assert_eq!(config.backoff(3), Duration::from_millis(2000));
        assert_eq!(config.backoff(4), Duration::from_millis(4000));
        assert_eq!(config.backoff(5), Duration::from_millis(4999));
        assert_eq!(config.backoff(u32::MAX), Duration::from_millis(4999));
        let checked = config.checked().unwrap();
        assert_eq!(checked.backoff_cap, Duration::from_millis(4999));
    }

    #[test]
    fn nonsense_is_a_configuration_error() {
        for config in [
            QueueConfig {
                lease_ttl: Duration::ZERO,
                ..QueueConfig::default()
            },
            QueueConfig {
                max_attempts: 0,
                ..QueueConfig::default()
            },
            QueueConfig {
                poll_interval: Duration::ZERO,
                ..QueueConfig::default()
            },
        ] {
            let err = config.checked().unwrap_err();
            assert_eq!(err.error_type(), collectors_core::ErrorType::Configuration);
        }
    }
}
