//! [`LiveSource`]: a [`DataSource`] (a stream with no listing: a socket, a queue) run by the
//! engine. Each collected item is read once, and acknowledged through the source's
//! [`commit`](DataSource::commit) hook after its records are stored, the way Kafka offsets
//! or Vector's finalizers work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::data_source::DataSource;
use crate::engine::item_source::{ItemSource, SourceItem};
use crate::error::{Error, Result};
use crate::models::CollectedData;
use crate::sync::lock;

/// The engine's view of a live [`DataSource`]: a listing that ends when `collect` returns
/// `None`, one page per collected item, contents held until the item is acknowledged
/// (at most the items in flight, plus one).
pub(crate) struct LiveSource {
    inner: Arc<dyn DataSource>,
    pending: Mutex<HashMap<String, CollectedData>>,
}

impl LiveSource {
    pub(crate) fn new(inner: Arc<dyn DataSource>) -> Self {
        Self {
            inner,
            pending: Mutex::new(HashMap::new()),
        }
    }

    fn item_of(&self, data: &CollectedData) -> SourceItem {
        SourceItem {
            source_id: self.inner.source_id().to_owned(),
            item_id: data.id.to_string(),
            version: data.timestamp.to_rfc3339(),
            size: Some(data.raw_data.len() as u64),
            metadata: data.metadata.clone(),
        }
    }
}

#[async_trait]
impl ItemSource for LiveSource {
    fn source_id(&self) -> &str {
        self.inner.source_id()
    }

    /// A live source has no listing to show without consuming it.
    async fn items(&self) -> Result<Vec<SourceItem>> {
        Ok(Vec::new())
    }

    fn pages(&self) -> BoxStream<'_, Result<Vec<SourceItem>>> {
        let started = futures::stream::once(async move { self.inner.connect().await });
        let collected = self.inner.collect_stream().map(move |data| {
            let data = data?;
            let item = self.item_of(&data);
            lock(&self.pending).insert(item.item_id.clone(), data);
            Ok(vec![item])
        });
        started
            .filter_map(|connected| async move { connected.err().map(Err) })
            .chain(collected)
            .boxed()
    }

    async fn open(&self, item: &SourceItem) -> Result<BoxStream<'static, Result<Bytes>>> {
        let bytes = lock(&self.pending)
            .get(&item.item_id)
            .map(|d| d.raw_data.clone())
            .ok_or_else(|| {
                Error::not_found(format!(
                    "live item {} of {} is gone",
                    item.item_id, item.source_id
                ))
            })?;
        Ok(futures::stream::iter([Ok(bytes)]).boxed())
    }

    fn checkpointed(&self) -> bool {
        false
    }

    async fn acknowledge(&self, items: &[SourceItem]) -> Result<()> {
        let done: Vec<CollectedData> = {
            let mut pending = lock(&self.pending);
            items
                .iter()
                .filter_map(|i| pending.remove(&i.item_id))
                .collect()
        };
        if done.is_empty() {
            return Ok(());
        }
        self.inner.commit(&done).await
    }
}
