//! [`SourceItem`]: one unit of acknowledgement of a [`DataSource`](crate::DataSource).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::models::{CollectedData, Metadata};

/// One unit of acknowledgement: a file, an object, a message.
///
/// An item comes in one of two kinds, and the engine treats each its own way (see
/// [`DataSource`](crate::DataSource#delivery)):
///
/// - **listed** (`content` is `None`, made with [`SourceItem::listed`] or a struct literal): a
///   file or an object that can be read again. The engine reopens it through
///   [`DataSource::open`](crate::DataSource::open), leases it while it is read and
///   checkpoints it after store. `item_id` is stable across runs (a relative path, an object
///   key), so a checkpoint written in one run is found by the next; `version` changes when
///   the content does (size and modification time, an etag), so a changed item is processed
///   again.
/// - **live** (`content` is `Some`, made with [`SourceItem::live`]): a message that is read
///   once. It carries its bytes, is never checkpointed or leased, and is acknowledged only
///   through [`DataSource::commit`](crate::DataSource::commit).
///
/// ```
/// use collectors_core::{CollectedData, SourceItem};
///
/// let file = SourceItem::listed("files", "2024/a.csv", "15-2024-03-01T10:00:00Z").with_size(15);
/// assert!(!file.is_live());
///
/// let message = SourceItem::live(CollectedData::new("queue", "csv", "push", "k,1\n"));
/// assert!(message.is_live());
/// assert_eq!(message.size, Some(4));
/// assert_eq!(message.content.as_deref(), Some(&b"k,1\n"[..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceItem {
    /// The source that lists the item.
    pub source_id: String,
    /// Stable id of the item within its source.
    pub item_id: String,
    /// Changes whenever the content changes.
    pub version: String,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// Source-specific metadata.
    #[serde(default)]
    pub metadata: Metadata,
    /// The item's bytes, for a live item (read once, never reopened); `None` for a listed
    /// item, whose bytes are read through [`DataSource::open`](crate::DataSource::open).
    /// Not serialized: a checkpoint or a dead letter names an item, it does not copy it.
    #[serde(skip)]
    pub content: Option<Bytes>,
}

impl SourceItem {
    /// A listed (replayable) item with no size, no metadata and no inline content; add them
    /// with [`with_size`](Self::with_size) and [`with_metadata`](Self::with_metadata).
    pub fn listed(
        source_id: impl Into<String>,
        item_id: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        Self {
            source_id: source_id.into(),
            item_id: item_id.into(),
            version: version.into(),
            size: None,
            metadata: Metadata::new(),
            content: None,
        }
    }

    /// A live item made from collected data: `item_id` is the data's id, `version` its
    /// timestamp in RFC 3339, `size` its length, `metadata` its metadata plus `data_format`
    /// and `collection_method` (unless the data already has those keys), and `content` its
    /// bytes.
    pub fn live(data: CollectedData) -> Self {
        let mut metadata = data.metadata;
        metadata
            .entry("data_format")
            .or_insert_with(|| data.data_format.into());
        metadata
            .entry("collection_method")
            .or_insert_with(|| data.collection_method.into());
        Self {
            source_id: data.source_id,
            item_id: data.id.to_string(),
            version: data.timestamp.to_rfc3339(),
            size: Some(data.raw_data.len() as u64),
            metadata,
            content: Some(data.raw_data),
        }
    }

    /// Whether the item is live: it carries its content, is read once and is acknowledged
    /// through [`DataSource::commit`](crate::DataSource::commit) alone.
    pub fn is_live(&self) -> bool {
        self.content.is_some()
    }

    /// Sets the size in bytes.
    #[must_use]
    pub fn with_size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_item_carries_the_data_and_its_content() {
        let data = CollectedData::new("queue", "csv", "push", "a,1\n").with_metadata("offset", 7);
        let (id, at) = (data.id, data.timestamp);
        let item = SourceItem::live(data);
        assert_eq!(item.source_id, "queue");
        assert_eq!(item.item_id, id.to_string());
        assert_eq!(item.version, at.to_rfc3339());
        assert_eq!(item.size, Some(4));
        assert_eq!(item.metadata["offset"], 7);
        assert_eq!(item.metadata["data_format"], "csv");
        assert_eq!(item.metadata["collection_method"], "push");
        assert!(item.is_live());
    }

    #[test]
    fn content_is_not_serialized_and_a_read_back_item_is_listed() {
        let item = SourceItem::live(CollectedData::new("queue", "csv", "push", "a,1\n"));
        let json = serde_json::to_value(&item).unwrap();
        assert!(json.get("content").is_none());
        let back: SourceItem = serde_json::from_value(json).unwrap();
        assert!(!back.is_live());
        assert_eq!(back.item_id, item.item_id);
    }
}
