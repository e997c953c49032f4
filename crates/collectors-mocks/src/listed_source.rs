//! [`MockListedSource`].

use async_trait::async_trait;
use bytes::Bytes;
use collectors_core::{DataSource, Error, InMemorySource, Result, SourceItem};
use futures::stream::{self, BoxStream, StreamExt};

use crate::control::MockControl;

/// A listed [`DataSource`] over in-memory items ([`InMemorySource`]: files that can be read
/// again, checkpointed and leased by the engine) whose calls can fail, be slowed down and are
/// recorded. For the seed-style live source, see [`MockDataSource`](crate::MockDataSource).
///
/// Failures injected with [`MockControl::fail_method`] on `"list"` or `"open"` make those
/// calls fail; on `"chunk"` they fail one chunk mid-stream. `"commit"` calls are recorded
/// (never failed), with the committed item ids.
///
/// ```
/// use collectors_core::DataSource;
/// use collectors_mocks::MockListedSource;
/// use futures::TryStreamExt;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let source = MockListedSource::new("files").with_item("a.csv", "x\n1\n");
/// let items: Vec<_> = source.list().try_concat().await.unwrap();
/// assert_eq!(items[0].item_id, "a.csv");
/// assert!(!items[0].is_live());
/// # });
/// ```
#[derive(Debug)]
pub struct MockListedSource {
    inner: InMemorySource,
    control: MockControl,
}

impl MockListedSource {
    /// A source with no items, streaming 4 KiB chunks.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            inner: InMemorySource::new(id).with_chunk_size(4096),
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
impl DataSource for MockListedSource {
    fn source_id(&self) -> &str {
        self.inner.source_id()
    }

    fn is_live(&self) -> bool {
        false
    }

    fn list(&self) -> BoxStream<'_, Result<Vec<SourceItem>>> {
        stream::once(async move {
            self.control
                .enter("list", "")
                .await
                .map_err(|e| e.with_component(self.source_id()))?;
            Ok(self.inner.items())
        })
        .boxed()
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

    async fn commit(&self, items: &[SourceItem]) -> Result<()> {
        // Recorded, never failed: an injected `fail_next` stays for the calls a test steers.
        let ids: Vec<&str> = items.iter().map(|i| i.item_id.as_str()).collect();
        self.control.record("commit", ids.join(","));
        Ok(())
    }
}
