//! [`DataSource`]: where items come from.

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};

use crate::error::Result;
use crate::models::CollectedData;

/// A producer of [`CollectedData`]: a sensor, an API, a directory of files, a queue.
///
/// # Contract
///
/// - `connect` before `collect`; `collect` on a disconnected source is an
///   [`Error::Connection`](crate::Error::Connection). `connect` and `disconnect` are idempotent.
/// - `collect` returns the next item, or `Ok(None)` when a finite source is exhausted (an
///   endless source never returns `None`).
/// - `collect_stream` yields items until the source is exhausted; after an error it ends. The
///   default builds it from repeated `collect` calls.
/// - Every item carries this source's [`source_id`](Self::source_id).
///
/// ```
/// use async_trait::async_trait;
/// use collectors_core::{CollectedData, DataSource, Result};
///
/// struct Thermometer;
///
/// #[async_trait]
/// impl DataSource for Thermometer {
///     fn source_id(&self) -> &str { "thermometer" }
///     async fn connect(&self) -> Result<()> { Ok(()) }
///     async fn disconnect(&self) -> Result<()> { Ok(()) }
///     async fn collect(&self) -> Result<Option<CollectedData>> {
///         Ok(Some(CollectedData::new(self.source_id(), "text", "poll", "21.5")))
///     }
/// }
/// ```
#[doc(alias = "IDataSource")]
#[async_trait]
pub trait DataSource: Send + Sync {
    /// The unique id of this source.
    fn source_id(&self) -> &str;

    /// Opens the connection.
    async fn connect(&self) -> Result<()>;

    /// Closes the connection.
    async fn disconnect(&self) -> Result<()>;

    /// Collects the next item; `Ok(None)` when the source is exhausted.
    async fn collect(&self) -> Result<Option<CollectedData>>;

    /// Every remaining item as a stream, ending after the last item or the first error.
    fn collect_stream(&self) -> BoxStream<'_, Result<CollectedData>> {
        stream::unfold(false, move |failed| async move {
            if failed {
                return None;
            }
            match self.collect().await {
                Ok(Some(item)) => Some((Ok(item), false)),
                Ok(None) => None,
                Err(e) => Some((Err(e), true)),
            }
        })
        .boxed()
    }

    /// Acknowledges collected items, once every record from them is stored, skipped or
    /// dead-lettered: a queue commits their offsets, a socket answers. Called by the engine
    /// when it runs this source ([`EngineBuilder::data_source`](crate::EngineBuilder::data_source)).
    /// The default does nothing (a source with no acknowledgement).
    ///
    /// An item whose records were not all stored when the run stopped is never
    /// acknowledged: a source that redelivers unacknowledged items gets at-least-once.
    async fn commit(&self, items: &[CollectedData]) -> Result<()> {
        let _ = items;
        Ok(())
    }
}
