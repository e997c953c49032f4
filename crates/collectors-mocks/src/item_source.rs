//! [`MockItemSource`].

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use collectors_core::{Error, ItemSource, Result, SourceItem};
use futures::stream::{self, BoxStream, StreamExt};

use crate::control::MockControl;

/// An [`ItemSource`] over in-memory items, streamed in chunks of a chosen size.
///
/// Items are listed sorted by id; an item's version is its length and a content hash, so
/// replacing an item's content makes the engine process it again. Failures injected with
/// [`MockControl::fail_method`] on `"open"` or `"items"` make those calls fail; `"chunk"`
/// fails one chunk mid-stream.
///
/// ```
/// use collectors_core::ItemSource;
/// use collectors_mocks::MockItemSource;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let source = MockItemSource::new("files").with_item("a.csv", "x\n1\n");
/// assert_eq!(source.items().await.unwrap()[0].item_id, "a.csv");
/// # });
/// ```
#[derive(Debug)]
pub struct MockItemSource {
    id: String,
    items: Mutex<BTreeMap<String, Bytes>>,
    chunk_size: usize,
    control: MockControl,
}

impl MockItemSource {
    /// A source with no items, streaming 4 KiB chunks.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            items: Mutex::new(BTreeMap::new()),
            chunk_size: 4096,
            control: MockControl::new(),
        }
    }

    /// Adds an item.
    #[must_use]
    pub fn with_item(self, item_id: impl Into<String>, content: impl Into<Bytes>) -> Self {
        self.put(item_id, content);
        self
    }

    /// Adds or replaces an item.
    pub fn put(&self, item_id: impl Into<String>, content: impl Into<Bytes>) {
        self.items
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(item_id.into(), content.into());
    }

    /// Streams chunks of `size` bytes (at least 1).
    #[must_use]
    pub fn with_chunk_size(mut self, size: usize) -> Self {
        self.chunk_size = size.max(1);
        self
    }

    /// The handle that injects failures and latency and records calls.
    pub fn control(&self) -> MockControl {
        self.control.clone()
    }
}

fn version_of(content: &[u8]) -> String {
    // FNV-1a: a stable content digest without a hashing dependency.
    let hash = content.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}-{hash:016x}", content.len())
}

#[async_trait]
impl ItemSource for MockItemSource {
    fn source_id(&self) -> &str {
        &self.id
    }

    async fn items(&self) -> Result<Vec<SourceItem>> {
        self.control
            .enter("items", "")
            .await
            .map_err(|e| e.with_component(&self.id))?;
        let items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        Ok(items
            .iter()
            .map(|(id, content)| SourceItem {
                source_id: self.id.clone(),
                item_id: id.clone(),
                version: version_of(content),
                size: Some(content.len() as u64),
                metadata: Default::default(),
            })
            .collect())
    }

    async fn open(&self, item: &SourceItem) -> Result<BoxStream<'static, Result<Bytes>>> {
        self.control
            .enter("open", &item.item_id)
            .await
            .map_err(|e| e.with_component(&item.item_id))?;
        let content = self
            .items
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&item.item_id)
            .cloned()
            .ok_or_else(|| {
                Error::not_found(format!("no item `{}`", item.item_id)).with_component(&self.id)
            })?;
        let chunk_size = self.chunk_size;
        let control = self.control.clone();
        let offsets: Vec<usize> = (0..content.len()).step_by(chunk_size).collect();
        Ok(stream::iter(offsets)
            .then(move |start| {
                let (content, control) = (content.clone(), control.clone());
                async move {
                    control.enter("chunk", start.to_string()).await?;
                    Ok(content.slice(start..(start + chunk_size).min(content.len())))
                }
            })
            .boxed())
    }
}
