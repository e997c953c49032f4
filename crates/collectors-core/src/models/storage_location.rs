//! [`StorageLocation`]: where a backend put a record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::models::Metadata;

/// Where a [`StorageBackend`](crate::StorageBackend) put a record.
///
/// `location_id` is what [`StorageBackend::delete`](crate::StorageBackend::delete) takes;
/// `path` is a human-readable address (a file path, a URL, `table/rowid`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageLocation {
    /// The backend that holds the record.
    pub backend_id: String,
    /// The backend's id of the stored record.
    pub location_id: String,
    /// A human-readable address.
    pub path: String,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// Backend-specific details (size, etag, row count …).
    #[serde(default)]
    pub metadata: Metadata,
}

impl StorageLocation {
    /// A location stamped now, with no metadata.
    pub fn new(
        backend_id: impl Into<String>,
        location_id: impl Into<String>,
        path: impl Into<String>,
    ) -> Self {
        Self {
            backend_id: backend_id.into(),
            location_id: location_id.into(),
            path: path.into(),
            created_at: Utc::now(),
            metadata: Metadata::new(),
        }
    }
}
