//! [`ItemSource`]: what the engine reads — items that are acknowledged one by one.

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::models::Metadata;

/// One unit of acknowledgement: a file, an object, a message.
///
/// `item_id` is stable across runs (a relative path, an object key), so a checkpoint written in
/// one run is found by the next; `version` changes when the content does (size and modification
/// time, an etag), so a changed item is processed again.
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
}

/// A source of items whose content is read as a stream of chunks, so an item of any size is
/// processed in bounded memory.
///
/// # Contract
///
/// - `items` yields every item once, in a stable order (sorted by id for listings).
/// - `open` streams an item's bytes in order; chunk boundaries are arbitrary (a line may span
///   two chunks). Opening the same item again yields the same bytes while its `version` is
///   unchanged.
#[async_trait]
pub trait ItemSource: Send + Sync {
    /// The unique id of this source.
    fn source_id(&self) -> &str;

    /// Every item of the source.
    async fn items(&self) -> Result<Vec<SourceItem>>;

    /// Every item of the source, as a stream of pages in the order of `items`: what the
    /// engine reads, so a listing of millions of objects is never held whole. The default
    /// is one page holding `items()`; a store with a paged listing (an object store, a
    /// table) streams its pages instead.
    fn pages(&self) -> BoxStream<'_, Result<Vec<SourceItem>>> {
        futures::stream::once(self.items()).boxed()
    }

    /// The content of one item, as chunks.
    async fn open(&self, item: &SourceItem) -> Result<BoxStream<'static, Result<Bytes>>>;

    /// Whether the engine keeps checkpoints and leases for this source's items (`true`: a
    /// listing that can be read again). A live source answers `false` and is acknowledged
    /// through [`acknowledge`](Self::acknowledge) alone.
    fn checkpointed(&self) -> bool {
        true
    }

    /// Told of items whose records all reached a terminal state and whose checkpoints (if
    /// any) are durable. The default does nothing; a live source commits them here.
    async fn acknowledge(&self, items: &[SourceItem]) -> Result<()> {
        let _ = items;
        Ok(())
    }
}
