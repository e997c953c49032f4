//! [`MockItemSource`].

use async_trait::async_trait;
use bytes::Bytes;
use collectors_core::{Error, InMemoryItemSource, ItemSource, Result, SourceItem};
use futures::stream::{self, BoxStream, StreamExt};

use crate::control::MockControl;

/// An [`ItemSource`] over in-memory items ([`InMemoryItemSource`]) whose calls can fail, be
/// slowed down and are recorded.
///
/// Failures injected with [`MockControl::fail_method`] on `"items"` or `"open"` make those calls
/// fail; on `"chunk"` they fail one chunk mid-stream.
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
    inner: InMemoryItemSource,
    control: MockControl,
}

impl MockItemSource {
    /// A source with no items, streaming 4 KiB chunks.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            inner: InMemoryItemSource::new(id).with_chunk_size(4096),
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
        self.inner.put(item_id, content);
    }

    /// Streams chunks of `size` bytes (at least 1).
    #[must_use]
    pub fn with_chunk_size(mut self, size: usize) -> Self {
        self.inner = self.inner.with_chunk_size(size);
        self
    }

    /// The handle that injects failures and latency and records calls.
    pub fn control(&self) -> MockControl {
        self.control.clone()
    }
}

#[async_trait]
impl ItemSource for MockItemSource {
    fn source_id(&self) -> &str {
        self.inner.source_id()
    }

    async fn items(&self) -> Result<Vec<SourceItem>> {
        self.control
            .enter("items", "")
            .await
            .map_err(|e| e.with_component(self.source_id()))?;
        self.inner.items().await
    }

    async fn open(&self, item: &SourceItem) -> Result<BoxStream<'static, Result<Bytes>>> {
        self.control
            .enter("open", &item.item_id)
            .await
            .map_err(|e| e.with_component(&item.item_id))?;
        let content = self.inner.content(&item.item_id).ok_or_else(|| {
            Error::not_found(format!("no item `{}`", item.item_id)).with_component(self.source_id())
        })?;
        let control = self.control.clone();
        let chunks = self.inner.chunks(&content);
        Ok(stream::iter(chunks)
            .enumerate()
            .then(move |(index, chunk)| {
                let control = control.clone();
                async move {
                    control.enter("chunk", index.to_string()).await?;
                    Ok(chunk)
                }
            })
            .boxed())
    }
}
