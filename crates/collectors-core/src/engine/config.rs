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
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_items_in_flight: 2,
            channel_capacity: 8,
            store_batch_rows: 50_000,
            linger: Duration::from_millis(200),
            progress_interval: Duration::from_millis(250),
        }
    }
}

impl EngineConfig {
    /// Checks every bound; a zero bound is a configuration error naming the field.
    pub fn validate(&self) -> Result<()> {
        for (name, value) in [
            ("max_items_in_flight", self.max_items_in_flight),
            ("channel_capacity", self.channel_capacity),
            ("store_batch_rows", self.store_batch_rows),
        ] {
            if value == 0 {
                return Err(Error::configuration(format!("`{name}` must be at least 1"))
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
