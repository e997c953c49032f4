//! [`DataItem`]: one entry a [`Connector`](crate::Connector) lists.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::models::Metadata;

/// One item in a data source: a file, an object, a table.
///
/// ```
/// use collectors_core::DataItem;
///
/// let item = DataItem::new("sales.csv", "data/2024/sales.csv", 1_048_576);
/// assert_eq!(item.name, "sales.csv");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataItem {
    /// The item's name (last path segment, table name).
    pub name: String,
    /// Its full path or identifier within the source, as `fetch_data` takes it.
    pub path: String,
    /// Its size in bytes (0 when unknown).
    pub size: u64,
    /// When it last changed.
    pub modified_at: DateTime<Utc>,
    /// Source-specific metadata (content type, etag, row count …).
    #[serde(default)]
    pub metadata: Metadata,
}

impl DataItem {
    /// An item modified now, with no metadata.
    pub fn new(name: impl Into<String>, path: impl Into<String>, size: u64) -> Self {
        Self {
            name: name.into(),
            path: path.into(),
            size,
            modified_at: Utc::now(),
            metadata: Metadata::new(),
        }
    }
}
