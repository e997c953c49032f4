//! [`Record`] and [`StoredRecord`]: what a store receives and what a query returns.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::models::{Metadata, Payload, StorageLocation};

/// One unit of storage: a payload under a key.
///
/// The key is the record's identity in every backend: storing a record whose key is already
/// stored replaces it, so a replay after a crash creates no duplicate (the engine derives keys
/// from the source item and the record's offset in it).
///
/// ```
/// use collectors_core::{Payload, Record};
///
/// let record = Record::keyed("sensors.csv#42", Payload::Json(serde_json::json!({"v": 1})))
///     .unwrap()
///     .with_metadata("sensor", "s-1");
/// assert_eq!(record.key, "sensors.csv#42");
///
/// assert!(Record::keyed("", Payload::Empty).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The idempotency key; unique within a backend.
    pub key: String,
    /// The data.
    pub payload: Payload,
    /// Metadata to store alongside (queried by [`QueryCriteria`](crate::QueryCriteria)).
    #[serde(default)]
    pub metadata: Metadata,
    /// When the record was made.
    pub created_at: DateTime<Utc>,
}

impl Record {
    /// A record under a fresh random key (use [`Record::keyed`] when replays must be safe).
    pub fn new(payload: Payload) -> Self {
        Self {
            key: Uuid::new_v4().to_string(),
            payload,
            metadata: Metadata::new(),
            created_at: Utc::now(),
        }
    }

    /// A record under the given key; an empty or blank key is a validation error.
    pub fn keyed(key: impl Into<String>, payload: Payload) -> Result<Self> {
        let key = key.into();
        if key.trim().is_empty() {
            return Err(
                Error::validation("a record key must not be empty").with_operation("Record::keyed")
            );
        }
        // Not `..Self::new(payload)`: that would draw a random key only to drop it.
        Ok(Self {
            key,
            payload,
            metadata: Metadata::new(),
            created_at: Utc::now(),
        })
    }

    /// Adds one metadata entry.
    #[must_use]
    pub fn with_metadata(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// A record as a backend holds it: where it is, and what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRecord {
    /// Where the record is stored.
    pub location: StorageLocation,
    /// The record.
    pub record: Record,
}
