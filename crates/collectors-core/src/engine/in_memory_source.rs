//! [`InMemorySource`]: listed items held in memory, streamed in chunks.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};

use crate::data_source::DataSource;
use crate::error::{Error, Result};
use crate::models::SourceItem;
use crate::sync::lock;

/// A listed [`DataSource`] over items held in memory: for tests, replays and small generated
/// inputs.
///
/// Items are listed sorted by id, in one page; an item's version is its length and a content
/// digest, so replacing an item's content makes the engine process it again. Content is
/// streamed in chunks of a chosen size (slices of the same buffer, nothing is copied).
///
/// ```
/// use collectors_core::{DataSource, InMemorySource};
/// use futures::TryStreamExt;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let source = InMemorySource::new("memory").with_item("a.csv", "x\n1\n");
/// let items: Vec<_> = source.list().try_concat().await.unwrap();
/// assert_eq!((items[0].item_id.as_str(), items[0].size), ("a.csv", Some(4)));
/// assert!(!source.is_live() && !items[0].is_live());
/// # });
/// ```
#[derive(Debug)]
pub struct InMemorySource {
    id: String,
    items: Mutex<BTreeMap<String, Bytes>>,
    chunk_size: usize,
}

impl InMemorySource {
    /// An empty source that streams 64 KiB chunks.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            items: Mutex::new(BTreeMap::new()),
            chunk_size: 64 * 1024,
        }
    }

    /// Adds an item.
    #[must_use]
    pub fn with_item(self, item_id: impl Into<String>, content: impl Into<Bytes>) -> Self {
        self.put(item_id, content);
        self
    }

    /// Streams chunks of `size` bytes (at least 1).
    #[must_use]
    pub fn with_chunk_size(mut self, size: usize) -> Self {
        self.chunk_size = size.max(1);
        self
    }

    /// Adds or replaces an item.
    pub fn put(&self, item_id: impl Into<String>, content: impl Into<Bytes>) {
        lock(&self.items).insert(item_id.into(), content.into());
    }

    /// The content of an item, if it exists.
    pub fn content(&self, item_id: &str) -> Option<Bytes> {
        lock(&self.items).get(item_id).cloned()
    }

    /// Every item, sorted by id: the one page [`list`](DataSource::list) yields.
    pub fn items(&self) -> Vec<SourceItem> {
        lock(&self.items)
            .iter()
            .map(|(id, content)| {
                SourceItem::listed(&self.id, id, version_of(content))
                    .with_size(content.len() as u64)
            })
            .collect()
    }

    /// The chunks an item's content is streamed in.
    pub fn chunks(&self, content: &Bytes) -> Vec<Bytes> {
        (0..content.len())
            .step_by(self.chunk_size)
            .map(|start| content.slice(start..(start + self.chunk_size).min(content.len())))
            .collect()
    }
}

fn version_of(content: &[u8]) -> String {
    // FNV-1a: a stable digest of the content without a hashing dependency.
    let hash = content.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}-{hash:016x}", content.len())
}

#[async_trait]
impl DataSource for InMemorySource {
    fn source_id(&self) -> &str {
        &self.id
    }

    fn is_live(&self) -> bool {
        false
    }

    fn list(&self) -> BoxStream<'_, Result<Vec<SourceItem>>> {
        stream::once(async move { Ok(self.items()) }).boxed()
    }

    async fn open(&self, item: &SourceItem) -> Result<BoxStream<'static, Result<Bytes>>> {
        let content = self.content(&item.item_id).ok_or_else(|| {
            Error::not_found(format!("no item `{}`", item.item_id)).with_component(&self.id)
        })?;
        Ok(stream::iter(self.chunks(&content).into_iter().map(Ok)).boxed())
    }
}
