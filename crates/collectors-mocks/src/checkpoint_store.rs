//! [`MockCheckpointStore`].

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use collectors_core::{
    CheckpointStore, Claim, InMemoryCheckpointStore, ItemCheckpoint, Result, SourceItem,
};

use crate::control::MockControl;

/// A [`CheckpointStore`] in memory ([`InMemoryCheckpointStore`], leases included) whose calls
/// can fail, be slowed down and are recorded; it passes the checkpoint conformance suite.
///
/// Every method is a fallible call of its own name (`"done"`, `"mark_done"`, `"reset"`,
/// `"fingerprint"`, `"set_fingerprint"`, `"claim"`, `"lease_holder"`, `"renew"`,
/// `"release"`) for [`MockControl::fail_method`]; a failed call changes nothing. The recorded
/// detail is the pipeline, plus the item ids for `mark_done` and the item id for `claim` and
/// `lease_holder`.
///
/// ```
/// use collectors_core::{CheckpointStore, ErrorType};
/// use collectors_mocks::MockCheckpointStore;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let store = MockCheckpointStore::new();
/// let control = store.control();
/// control.fail_method("mark_done", 1, ErrorType::Storage);
///
/// assert_eq!(store.mark_done("p", &[]).await.unwrap_err().error_type(), ErrorType::Storage);
/// store.mark_done("p", &[]).await.unwrap();
/// assert_eq!(control.call_count("mark_done"), 2);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MockCheckpointStore {
    inner: InMemoryCheckpointStore,
    control: MockControl,
}

impl MockCheckpointStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The handle that injects failures and latency and records calls.
    pub fn control(&self) -> MockControl {
        self.control.clone()
    }

    /// The store the mock wraps, to read or seed its state without recording a call.
    pub fn inner(&self) -> &InMemoryCheckpointStore {
        &self.inner
    }

    async fn enter(&self, method: &str, detail: String) -> Result<()> {
        self.control
            .enter(method, detail)
            .await
            .map_err(|e| e.with_component("mock-checkpoints"))
    }
}

#[async_trait]
impl CheckpointStore for MockCheckpointStore {
    async fn done(&self, pipeline: &str) -> Result<HashMap<(String, String), ItemCheckpoint>> {
        self.enter("done", pipeline.to_owned()).await?;
        self.inner.done(pipeline).await
    }

    async fn mark_done(&self, pipeline: &str, items: &[ItemCheckpoint]) -> Result<()> {
        let ids: Vec<&str> = items.iter().map(|c| c.item_id.as_str()).collect();
        self.enter("mark_done", format!("{pipeline}: {}", ids.join(",")))
            .await?;
        self.inner.mark_done(pipeline, items).await
    }

    async fn reset(&self, pipeline: &str) -> Result<()> {
        self.enter("reset", pipeline.to_owned()).await?;
        self.inner.reset(pipeline).await
    }

    async fn fingerprint(&self, pipeline: &str) -> Result<Option<String>> {
        self.enter("fingerprint", pipeline.to_owned()).await?;
        self.inner.fingerprint(pipeline).await
    }

    async fn set_fingerprint(&self, pipeline: &str, fingerprint: &str) -> Result<()> {
        self.enter("set_fingerprint", pipeline.to_owned()).await?;
        self.inner.set_fingerprint(pipeline, fingerprint).await
    }

    async fn claim(
        &self,
        pipeline: &str,
        item: &SourceItem,
        owner: &str,
        ttl: Duration,
    ) -> Result<Claim> {
        self.enter("claim", format!("{pipeline}: {}", item.item_id))
            .await?;
        self.inner.claim(pipeline, item, owner, ttl).await
    }

    async fn lease_holder(&self, pipeline: &str, item: &SourceItem) -> Result<Option<String>> {
        self.enter("lease_holder", format!("{pipeline}: {}", item.item_id))
            .await?;
        self.inner.lease_holder(pipeline, item).await
    }

    async fn renew(&self, pipeline: &str, owner: &str, ttl: Duration) -> Result<()> {
        self.enter("renew", pipeline.to_owned()).await?;
        self.inner.renew(pipeline, owner, ttl).await
    }

    async fn release(&self, pipeline: &str, owner: &str) -> Result<()> {
        self.enter("release", pipeline.to_owned()).await?;
        self.inner.release(pipeline, owner).await
    }
}
