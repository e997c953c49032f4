//! [`QueryCriteria`]: which stored records a query returns.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::models::{Metadata, Record};

/// Which records [`StorageBackend::query`](crate::StorageBackend::query) returns.
///
/// Every set criterion must hold (they are ANDed); an empty criteria matches everything.
/// Results are ordered by key; `offset` and `limit` page through them.
///
/// ```
/// use collectors_core::{Payload, QueryCriteria, Record};
///
/// let criteria = QueryCriteria::new().key_prefix("2026/").metadata("sensor", "s-1").limit(10);
/// let hit = Record::keyed("2026/a", Payload::Empty).unwrap().with_metadata("sensor", "s-1");
/// let miss = Record::keyed("2025/a", Payload::Empty).unwrap().with_metadata("sensor", "s-1");
/// assert!(criteria.matches(&hit));
/// assert!(!criteria.matches(&miss));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryCriteria {
    /// Exactly this key.
    #[serde(default)]
    pub key: Option<String>,
    /// Keys starting with this prefix.
    #[serde(default)]
    pub key_prefix: Option<String>,
    /// Metadata entries that must be present with these exact values.
    #[serde(default)]
    pub metadata: Metadata,
    /// Records created at or after this time.
    #[serde(default)]
    pub created_after: Option<DateTime<Utc>>,
    /// Records created before this time.
    #[serde(default)]
    pub created_before: Option<DateTime<Utc>>,
    /// At most this many records.
    #[serde(default)]
    pub limit: Option<usize>,
    /// Skip this many matching records first.
    #[serde(default)]
    pub offset: usize,
}

impl QueryCriteria {
    /// Criteria that match every record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only the record with this key.
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Only keys with this prefix.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = Some(prefix.into());
        self
    }

    /// Only records whose metadata has this entry.
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Only records created at or after `t`.
    #[must_use]
    pub fn created_after(mut self, t: DateTime<Utc>) -> Self {
        self.created_after = Some(t);
        self
    }

    /// Only records created before `t`.
    #[must_use]
    pub fn created_before(mut self, t: DateTime<Utc>) -> Self {
        self.created_before = Some(t);
        self
    }

    /// At most `n` records.
    #[must_use]
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Skip the first `n` matches.
    #[must_use]
    pub fn offset(mut self, n: usize) -> Self {
        self.offset = n;
        self
    }

    /// Whether a record meets every criterion except paging (for backends that filter in
    /// memory).
    pub fn matches(&self, record: &Record) -> bool {
        self.key.as_ref().is_none_or(|k| &record.key == k)
            && self
                .key_prefix
                .as_ref()
                .is_none_or(|p| record.key.starts_with(p.as_str()))
            && self
                .metadata
                .iter()
                .all(|(k, v)| record.metadata.get(k) == Some(v))
            && self.created_after.is_none_or(|t| record.created_at >= t)
            && self.created_before.is_none_or(|t| record.created_at < t)
    }

    /// Applies `offset` and `limit` to matches already sorted by key.
    pub fn page<T>(&self, sorted: impl IntoIterator<Item = T>) -> Vec<T> {
        sorted
            .into_iter()
            .skip(self.offset)
            .take(self.limit.unwrap_or(usize::MAX))
            .collect()
    }
}
