//! [`MockDataSource`].

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use collectors_core::{CollectedData, DataSource, Result, SourceItem};

use crate::control::{Connection, MockControl};

/// A live [`DataSource`] that yields scripted data, the seed's pull: `collect` on a
/// disconnected source is an [`Error::Connection`](collectors_core::Error::Connection).
///
/// - [`MockDataSource::new`] repeats one payload forever (a sensor that always reads the same);
/// - [`MockDataSource::scripted`] yields a fixed list, then `None`.
///
/// The engine reads it through the default [`list`](DataSource::list) (one live item per
/// collected item); `commit` calls are recorded on its [`MockControl`] (never failed), with
/// the committed item ids. For a listed source, see
/// [`MockListedSource`](crate::MockListedSource).
///
/// ```
/// use collectors_core::DataSource;
/// use collectors_mocks::MockDataSource;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let source = MockDataSource::new("sensor_001", "temperature:25.5");
/// source.connect().await.unwrap();
/// let item = source.collect().await.unwrap().unwrap();
/// assert_eq!(&item.raw_data[..], b"temperature:25.5");
/// # });
/// ```
#[derive(Debug)]
pub struct MockDataSource {
    source_id: String,
    data_format: String,
    script: Mutex<VecDeque<Bytes>>,
    repeat: Option<Bytes>,
    connection: Connection,
    control: MockControl,
}

impl MockDataSource {
    /// A source that yields `data` on every collect, forever.
    pub fn new(source_id: impl Into<String>, data: impl Into<Bytes>) -> Self {
        Self::build(source_id.into(), VecDeque::new(), Some(data.into()))
    }

    /// A source that yields `items` in order, then `None`.
    pub fn scripted<I, B>(source_id: impl Into<String>, items: I) -> Self
    where
        I: IntoIterator<Item = B>,
        B: Into<Bytes>,
    {
        Self::build(
            source_id.into(),
            items.into_iter().map(Into::into).collect(),
            None,
        )
    }

    fn build(source_id: String, script: VecDeque<Bytes>, repeat: Option<Bytes>) -> Self {
        Self {
            source_id,
            data_format: "bytes".to_owned(),
            script: Mutex::new(script),
            repeat,
            connection: Connection::default(),
            control: MockControl::new(),
        }
    }

    /// Sets the `data_format` of collected items (default `"bytes"`).
    #[must_use]
    pub fn with_format(mut self, data_format: impl Into<String>) -> Self {
        self.data_format = data_format.into();
        self
    }

    /// The handle that injects failures and latency and records calls.
    pub fn control(&self) -> MockControl {
        self.control.clone()
    }
}

#[async_trait]
impl DataSource for MockDataSource {
    fn source_id(&self) -> &str {
        &self.source_id
    }

    async fn connect(&self) -> Result<()> {
        self.connection.connect(&self.control).await
    }

    async fn disconnect(&self) -> Result<()> {
        self.connection.disconnect(&self.control).await
    }

    async fn collect(&self) -> Result<Option<CollectedData>> {
        self.connection.check(&self.source_id, "collect")?;
        self.control
            .enter("collect", "")
            .await
            .map_err(|e| e.with_component(&self.source_id))?;
        let next = self
            .script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        Ok(next
            .or_else(|| self.repeat.clone())
            .map(|data| CollectedData::new(&self.source_id, &self.data_format, "mock", data)))
    }

    async fn commit(&self, items: &[SourceItem]) -> Result<()> {
        let ids: Vec<&str> = items.iter().map(|i| i.item_id.as_str()).collect();
        self.control.record("commit", ids.join(","));
        Ok(())
    }
}
