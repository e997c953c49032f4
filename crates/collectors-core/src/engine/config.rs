//! [`EngineConfig`]: batch sizes, bounds and concurrency of a run.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How a run is shaped. Every bound is checked by [`validate`](Self::validate).
///
/// Memory in flight is bounded by `max_items_in_flight` items being decoded and
/// `channel_capacity` batches waiting for the store, each of at most the decoder's batch size
/// (plus one store batch of `store_batch_rows` being written).
///
/// ```
/// use collectors_core::EngineConfig;
///
/// let config = EngineConfig { max_items_in_flight: 0, ..EngineConfig::default() };
/// assert!(config.validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Items decoded and processed at the same time; also the most items read but not yet
    /// acknowledged.
    pub max_items_in_flight: usize,
    /// Batches that may wait between the pipeline and the store.
    pub channel_capacity: usize,
    /// Rows the store stage gathers before one `store_batch` call.
    pub store_batch_rows: usize,
    /// The longest a gathered batch waits for more rows before it is stored anyway.
    #[serde(with = "millis", rename = "linger_ms")]
    pub linger: Duration,
    /// How often task progress is reported.
    #[serde(with = "millis", rename = "progress_interval_ms")]
    pub progress_interval: Duration,
    /// How long an item's lease lasts without renewal: a run that dies has its items taken
    /// over by another run this long after its last renewal (renewed every third of it).
    #[serde(with = "millis", rename = "lease_ttl_ms")]
    pub lease_ttl: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_items_in_flight: 2,
            channel_capacity: 8,
            store_batch_rows: 50_000,
            linger: Duration::from_millis(200),
            progress_interval: Duration::from_millis(250),
            lease_ttl: Duration::from_secs(30),
        }
    }
}

impl EngineConfig {
    /// The most items in flight a run accepts.
    pub const MAX_ITEMS_IN_FLIGHT: usize = 1024;
    /// The most batches that may wait for the store.
    pub const MAX_CHANNEL_CAPACITY: usize = 65_536;
    /// The largest store batch, in rows.
    pub const MAX_STORE_BATCH_ROWS: usize = 10_000_000;
    /// The longest linger and progress interval.
    pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);

    /// Checks every bound; a value out of bounds is a configuration error whose message
    /// starts with the field's name in backticks. Nothing is ever preallocated by these
    /// numbers: they only bound what may be in flight.
    pub fn validate(&self) -> Result<()> {
        for (name, value, max) in [
            (
                "max_items_in_flight",
                self.max_items_in_flight,
                Self::MAX_ITEMS_IN_FLIGHT,
            ),
            (
                "channel_capacity",
                self.channel_capacity,
                Self::MAX_CHANNEL_CAPACITY,
            ),
            (
                "store_batch_rows",
                self.store_batch_rows,
                Self::MAX_STORE_BATCH_ROWS,
            ),
        ] {
            if value == 0 || value > max {
                return Err(Error::configuration(format!(
                    "`{name}` must be between 1 and {max}, got {value}"
                ))
                .with_component("engine"));
            }
        }
        if self.lease_ttl < Duration::from_millis(100) {
            return Err(Error::configuration(format!(
                "`lease_ttl_ms` must be at least 100, got {}",
                self.lease_ttl.as_millis()
            ))
            .with_component("engine"));
        }
        for (name, value) in [
            ("linger_ms", self.linger),
            ("progress_interval_ms", self.progress_interval),
            ("lease_ttl_ms", self.lease_ttl),
        ] {
            if value > Self::MAX_INTERVAL {
                return Err(Error::configuration(format!(
                    "`{name}` must be at most {}, got {}",
                    Self::MAX_INTERVAL.as_millis(),
                    value.as_millis()
                ))
                .with_component("engine"));
            }
        }
        Ok(())
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}
