//! [`CollectedData`]: what a source yields.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::models::Metadata;

/// One item collected from a [`DataSource`](crate::DataSource): raw bytes and what is known
/// about them.
///
/// The bytes are a [`Bytes`], so cloning an item or slicing it never copies the data.
///
/// ```
/// use collectors_core::CollectedData;
///
/// let item = CollectedData::new("sensor-1", "csv", "poll", "ts,value\n1,2.5\n")
///     .with_metadata("unit", "celsius");
/// assert_eq!(item.raw_data.len(), 15);
/// assert_eq!(item.metadata["unit"], "celsius");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectedData {
    /// Unique id of this item.
    pub id: Uuid,
    /// The id of the source that produced it.
    pub source_id: String,
    /// When it was collected.
    pub timestamp: DateTime<Utc>,
    /// The format of `raw_data` (`"csv"`, `"jsonl"`, `"bytes"` …).
    pub data_format: String,
    /// How it was collected (`"poll"`, `"stream"`, `"file"` …).
    pub collection_method: String,
    /// The raw bytes.
    pub raw_data: Bytes,
    /// Source-specific metadata (file name, offset, content type …).
    #[serde(default)]
    pub metadata: Metadata,
}

impl CollectedData {
    /// A new item stamped now with a fresh id.
    pub fn new(
        source_id: impl Into<String>,
        data_format: impl Into<String>,
        collection_method: impl Into<String>,
        raw_data: impl Into<Bytes>,
    ) -> Self {
        Self {
            id: Uuid::new_v4(),
            source_id: source_id.into(),
            timestamp: Utc::now(),
            data_format: data_format.into(),
            collection_method: collection_method.into(),
            raw_data: raw_data.into(),
            metadata: Metadata::new(),
        }
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
