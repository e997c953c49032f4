//! [`StorageManager`]: several backends, routing and replication.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::models::{PayloadKind, Record, StorageLocation};
use crate::storage_backend::StorageBackend;

/// When a [`StorageRoute`] applies to a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RouteCondition {
    /// Every record.
    Always,
    /// Records whose metadata has this entry.
    MetadataEquals {
        /// Metadata key.
        key: String,
        /// Required value.
        value: serde_json::Value,
    },
    /// Records whose key starts with this prefix.
    KeyPrefix(String),
    /// Records whose payload has this shape.
    PayloadKind(PayloadKind),
}

impl RouteCondition {
    /// Whether the condition holds for a record.
    pub fn matches(&self, record: &Record) -> bool {
        match self {
            RouteCondition::Always => true,
            RouteCondition::MetadataEquals { key, value } => {
                record.metadata.get(key) == Some(value)
            }
            RouteCondition::KeyPrefix(prefix) => record.key.starts_with(prefix.as_str()),
            RouteCondition::PayloadKind(kind) => record.payload.kind() == *kind,
        }
    }
}

/// A routing rule: records meeting `when` go to `backend_id`. Rules are tried in the order
/// they were added; the first match wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageRoute {
    /// When the rule applies.
    pub when: RouteCondition,
    /// Where matching records go.
    pub backend_id: String,
}

/// Registers backends and decides where records go.
///
/// # Contract
///
/// - Backend ids are unique ([`Error::InvalidState`](crate::Error::InvalidState) on duplicates,
///   [`Error::NotFound`](crate::Error::NotFound) for unknown ids, also for routes naming one).
/// - `store` sends a record to the first matching route's backend, else the default backend;
///   with neither it is an [`Error::Configuration`](crate::Error::Configuration).
/// - `replicate` writes the record to every named backend concurrently and fails, naming each
///   failed backend, if any write fails (successful writes stay: keys make retries safe).
#[doc(alias = "IStorageManager")]
#[async_trait]
pub trait StorageManager: Send + Sync {
    /// Adds a backend under its id.
    async fn register_backend(&self, backend: Arc<dyn StorageBackend>) -> Result<()>;

    /// Removes a backend.
    async fn unregister_backend(&self, backend_id: &str) -> Result<()>;

    /// A registered backend.
    async fn backend(&self, backend_id: &str) -> Result<Arc<dyn StorageBackend>>;

    /// The ids of every registered backend, sorted.
    async fn backends(&self) -> Vec<String>;

    /// Sets the backend used when no route matches.
    async fn set_default_backend(&self, backend_id: &str) -> Result<()>;

    /// Appends a routing rule.
    async fn add_route(&self, route: StorageRoute) -> Result<()>;

    /// The backend a record would go to.
    async fn route(&self, record: &Record) -> Result<String>;

    /// Stores a record where its route says.
    async fn store(&self, record: Record) -> Result<StorageLocation>;

    /// Stores a record in one named backend.
    async fn store_to(&self, backend_id: &str, record: Record) -> Result<StorageLocation>;

    /// Stores a record in every named backend.
    async fn replicate(
        &self,
        record: Record,
        backend_ids: &[String],
    ) -> Result<Vec<StorageLocation>>;
}
