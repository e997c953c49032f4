//! [`ErrorPolicy`]: which [`ErrorType`] gets which treatment, and the [`Backoff`] of retries.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::ErrorType;

/// Exponential backoff with jitter.
///
/// The delay before retry `n` (after the `n`-th failed attempt) is
/// `base = min(initial_delay × multiplierⁿ⁻¹, max_delay)`, then jittered down by up to
/// `jitter × base`: it always lies in `[base × (1 − jitter), base]`. Jitter spreads retries of
/// many failing items so they do not hit a recovering service at the same instant.
///
/// In configuration files durations are milliseconds:
///
/// ```
/// use collectors_core::Backoff;
///
/// let backoff: Backoff = serde_json::from_str(
///     r#"{"initial_delay_ms": 100, "max_delay_ms": 5000, "max_attempts": 4, "jitter": 0.5}"#,
/// ).unwrap();
/// assert_eq!(backoff.max_attempts(), 4);
///
/// // Negative counts, zero attempts, jitter above 1 are rejected with a clear message.
/// assert!(serde_json::from_str::<Backoff>(r#"{"max_attempts": -1}"#).is_err());
/// assert!(serde_json::from_str::<Backoff>(r#"{"max_attempts": 0}"#).is_err());
/// assert!(serde_json::from_str::<Backoff>(r#"{"jitter": 1.5}"#).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BackoffConfig", into = "BackoffConfig")]
pub struct Backoff {
    initial_delay: Duration,
    multiplier: f64,
    max_delay: Duration,
    max_attempts: u32,
    jitter: f64,
}

/// The serialized form of [`Backoff`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct BackoffConfig {
    initial_delay_ms: u64,
    multiplier: f64,
    max_delay_ms: u64,
    max_attempts: u32,
    jitter: f64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Backoff::default().into()
    }
}

impl From<Backoff> for BackoffConfig {
    fn from(b: Backoff) -> Self {
        Self {
            initial_delay_ms: u64::try_from(b.initial_delay.as_millis()).unwrap_or(u64::MAX),
            multiplier: b.multiplier,
            max_delay_ms: u64::try_from(b.max_delay.as_millis()).unwrap_or(u64::MAX),
            max_attempts: b.max_attempts,
            jitter: b.jitter,
        }
    }
}

impl TryFrom<BackoffConfig> for Backoff {
    type Error = Error;

    fn try_from(c: BackoffConfig) -> Result<Self> {
        Backoff::new(
            Duration::from_millis(c.initial_delay_ms),
            Duration::from_millis(c.max_delay_ms),
            c.max_attempts,
        )?
        .with_multiplier(c.multiplier)?
        .with_jitter(c.jitter)
    }
}

impl Default for Backoff {
    /// 100 ms doubling up to 30 s, 5 attempts, jitter 0.5.
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(100),
            multiplier: 2.0,
            max_delay: Duration::from_secs(30),
            max_attempts: 5,
            jitter: 0.5,
        }
    }
}

impl Backoff {
    /// Doubling backoff from `initial_delay` capped at `max_delay`, `max_attempts` attempts in
    /// all (the first one included), jitter 0.5.
    ///
    /// Zero attempts or `initial_delay > max_delay` are configuration errors.
    pub fn new(initial_delay: Duration, max_delay: Duration, max_attempts: u32) -> Result<Self> {
        if max_attempts == 0 {
            return Err(invalid("max_attempts must be at least 1"));
        }
        if initial_delay > max_delay {
            return Err(invalid(format!(
                "initial_delay ({initial_delay:?}) must not exceed max_delay ({max_delay:?})"
            )));
        }
        Ok(Self {
            initial_delay,
            max_delay,
            max_attempts,
            ..Self::default()
        })
    }

    /// Sets the growth factor; it must be finite and at least 1.
    pub fn with_multiplier(mut self, multiplier: f64) -> Result<Self> {
        if !multiplier.is_finite() || multiplier < 1.0 {
            return Err(invalid(format!(
                "multiplier must be a finite number >= 1, got {multiplier}"
            )));
        }
        self.multiplier = multiplier;
        Ok(self)
    }

    /// Sets the jitter fraction; it must lie in `0.0..=1.0` (0 disables jitter).
    pub fn with_jitter(mut self, jitter: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&jitter) {
            return Err(invalid(format!(
                "jitter must be within 0.0..=1.0, got {jitter}"
            )));
        }
        self.jitter = jitter;
        Ok(self)
    }

    /// Attempts in all, the first one included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The jitter fraction.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// The delay before the retry that follows failed attempt `attempt` (1-based), before
    /// jitter.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.initial_delay.as_secs_f64() * self.multiplier.powi(exponent);
        if !secs.is_finite() || secs >= self.max_delay.as_secs_f64() {
            self.max_delay
        } else {
            Duration::from_secs_f64(secs)
        }
    }

    /// The jittered delay; `unit` is a uniform random number in `[0, 1)`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        self.base_delay(attempt)
            .mul_f64(1.0 - self.jitter * unit.clamp(0.0, 1.0))
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::configuration(message).with_component("retry-policy")
}

/// What to do once retries are exhausted, or instead of retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinalAction {
    /// Drop the item, counted as skipped.
    Skip,
    /// Send it to the dead-letter store.
    DeadLetter,
    /// Stop the run.
    Abort,
}

/// The treatment of one [`ErrorType`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ErrorAction {
    /// Retry with backoff; after the last attempt, do `exhausted`.
    Retry {
        /// The backoff between attempts.
        #[serde(default)]
        backoff: Backoff,
        /// What to do when the attempts are used up.
        #[serde(default = "dead_letter")]
        exhausted: FinalAction,
    },
    /// Do this at once, without retrying.
    Final(FinalAction),
}

fn dead_letter() -> FinalAction {
    FinalAction::DeadLetter
}

/// Maps each [`ErrorType`] to an [`ErrorAction`]; types without an entry use the fallback, if
/// any.
///
/// The [`Default`] policy retries transient failures (connection, data fetch, storage,
/// timeout) with [`Backoff::default`] then dead-letters; dead-letters invalid data and
/// processing failures; skips nothing; aborts on configuration, authentication, invalid state
/// and cancellation.
///
/// ```
/// use collectors_core::{Backoff, ErrorAction, ErrorPolicy, ErrorType, FinalAction};
///
/// let policy = ErrorPolicy::empty()
///     .on(ErrorType::Timeout, ErrorAction::Retry { backoff: Backoff::default(), exhausted: FinalAction::Skip })
///     .on(ErrorType::Validation, ErrorAction::Final(FinalAction::DeadLetter));
/// assert!(policy.action(ErrorType::Timeout).is_some());
/// assert!(policy.action(ErrorType::Storage).is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorPolicy {
    /// Per-type actions.
    #[serde(default)]
    pub actions: HashMap<ErrorType, ErrorAction>,
    /// The action for types without an entry; `None` leaves them unhandled.
    #[serde(default)]
    pub fallback: Option<ErrorAction>,
}

impl ErrorPolicy {
    /// A policy that handles nothing.
    pub fn empty() -> Self {
        Self {
            actions: HashMap::new(),
            fallback: None,
        }
    }

    /// Sets the action for one type.
    #[must_use]
    pub fn on(mut self, error_type: ErrorType, action: ErrorAction) -> Self {
        self.actions.insert(error_type, action);
        self
    }

    /// Sets the action for types without an entry.
    #[must_use]
    pub fn otherwise(mut self, action: ErrorAction) -> Self {
        self.fallback = Some(action);
        self
    }

    /// The action for a type.
    pub fn action(&self, error_type: ErrorType) -> Option<&ErrorAction> {
        self.actions.get(&error_type).or(self.fallback.as_ref())
    }
}

impl Default for ErrorPolicy {
    fn default() -> Self {
        let retry = ErrorAction::Retry {
            backoff: Backoff::default(),
            exhausted: FinalAction::DeadLetter,
        };
        let mut policy = Self::empty().otherwise(ErrorAction::Final(FinalAction::DeadLetter));
        for t in ErrorType::ALL {
            let action = if t.is_retryable() {
                retry
            } else {
                match t {
                    ErrorType::Configuration
                    | ErrorType::Authentication
                    | ErrorType::InvalidState
                    | ErrorType::Cancelled => ErrorAction::Final(FinalAction::Abort),
                    _ => ErrorAction::Final(FinalAction::DeadLetter),
                }
            };
            policy = policy.on(t, action);
        }
        policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_delay_grows_exponentially_and_is_capped() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1), 10).unwrap();
        let delays: Vec<_> = (1..=6).map(|a| b.base_delay(a).as_millis()).collect();
        assert_eq!(delays, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.base_delay(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn invalid_backoffs_are_configuration_errors() {
        let err = Backoff::new(Duration::from_secs(2), Duration::from_secs(1), 3).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration);
        assert!(Backoff::new(Duration::ZERO, Duration::ZERO, 0).is_err());
        assert!(Backoff::default().with_multiplier(0.5).is_err());
        assert!(Backoff::default().with_multiplier(f64::NAN).is_err());
        assert!(Backoff::default().with_jitter(-0.1).is_err());
    }

    #[test]
    fn policy_round_trips_through_json() {
        let policy = ErrorPolicy::default();
        let text = serde_json::to_string(&policy).unwrap();
        let back: ErrorPolicy = serde_json::from_str(&text).unwrap();
        assert_eq!(back, policy);
    }
}
