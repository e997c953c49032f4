//! [`DataSource`]: where items come from, live or listed.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};

use crate::error::{Error, Result};
use crate::models::{CollectedData, SourceItem};

/// A producer of items: a sensor, a socket, a queue, a directory of files, a bucket.
///
/// One trait for two shapes of source; implement the methods of yours and leave the others to
/// their defaults:
///
/// - a **live** source (a socket, a queue, a sensor) implements [`collect`](Self::collect),
///   the seed's pull, and usually [`connect`](Self::connect),
///   [`disconnect`](Self::disconnect) and [`commit`](Self::commit). The engine reads it
///   through the default [`list`](Self::list), one page per collected item.
/// - a **listed** source (files, objects, rows: anything that can be read again) implements
///   [`list`](Self::list) and [`open`](Self::open), and answers `false` to
///   [`is_live`](Self::is_live).
///
/// # Delivery
///
/// What the engine does with an item depends on the item ([`SourceItem::is_live`]):
///
/// - An item that carries its content is **live**: its bytes are read once from the item,
///   it is never checkpointed or leased, and it is acknowledged only through
///   [`commit`](Self::commit). A run that stops before an item's records are all stored
///   never commits it: a source that redelivers uncommitted items gets at-least-once.
/// - An item without inline content is **listed** (replayable): it is read through
///   [`open`](Self::open), leased while it is read (concurrent runs take other items),
///   checkpointed at its version after its records are stored, skipped by the next run while
///   its version is unchanged, and then told to [`commit`](Self::commit) as well.
///
/// # Contract
///
/// - `connect` before `collect` or `list`; `collect` on a disconnected live source is an
///   [`Error::Connection`](crate::Error::Connection). `connect` and `disconnect` are
///   idempotent. The engine connects every source before it lists any, and disconnects them
///   at the end of the run.
/// - `collect` returns the next item, or `Ok(None)` when a finite source is exhausted (an
///   endless source never returns `None`). `collect_stream` yields items until the source is
///   exhausted; after an error it ends.
/// - `list` yields every item once, as pages in a stable order (sorted by id for a
///   listing); a listed source lists the same items twice while nothing changes.
/// - `open` streams an item's bytes in order; chunk boundaries are arbitrary (a line may span
///   two chunks). Opening a listed item again yields the same bytes while its `version` is
///   unchanged; an item the source does not have is an [`Error::NotFound`].
/// - Every item carries this source's [`source_id`](Self::source_id).
/// - [`is_live`](Self::is_live) agrees with the items `list` yields.
///
/// A live source: only `collect` (and the connection) is written, everything else is the
/// default.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use async_trait::async_trait;
/// use collectors_core::{CollectedData, DataSource, Result};
/// use futures::TryStreamExt;
///
/// /// Three readings, then done.
/// struct Thermometer(AtomicU32);
///
/// #[async_trait]
/// impl DataSource for Thermometer {
///     fn source_id(&self) -> &str { "thermometer" }
///     async fn collect(&self) -> Result<Option<CollectedData>> {
///         let n = self.0.fetch_add(1, Ordering::SeqCst);
///         Ok((n < 3).then(|| CollectedData::new(self.source_id(), "text", "poll", "21.5")))
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let source = Thermometer(AtomicU32::new(0));
/// source.connect().await?;
/// let items: Vec<_> = source.list().try_concat().await?;
/// assert_eq!(items.len(), 3);
/// assert!(items.iter().all(|item| item.is_live()), "collected items carry their content");
/// let chunks: Vec<_> = source.open(&items[0]).await?.try_collect().await?;
/// assert_eq!(chunks.concat(), b"21.5");
/// # Ok::<(), collectors_core::Error>(())
/// # }).unwrap();
/// ```
///
/// A listed source: `list` and `open`, and `is_live` answers `false`.
///
/// ```
/// use std::collections::BTreeMap;
/// use async_trait::async_trait;
/// use collectors_core::{DataSource, Error, Result, SourceItem};
/// use collectors_core::bytes::Bytes;
/// use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
///
/// /// Files held in memory, listed sorted by name.
/// struct Files(BTreeMap<String, Bytes>);
///
/// #[async_trait]
/// impl DataSource for Files {
///     fn source_id(&self) -> &str { "files" }
///     fn is_live(&self) -> bool { false }
///     fn list(&self) -> BoxStream<'_, Result<Vec<SourceItem>>> {
///         let page = self.0.iter()
///             .map(|(name, bytes)| {
///                 SourceItem::listed("files", name.as_str(), bytes.len().to_string())
///                     .with_size(bytes.len() as u64)
///             })
///             .collect();
///         stream::iter([Ok(page)]).boxed()
///     }
///     async fn open(&self, item: &SourceItem) -> Result<BoxStream<'static, Result<Bytes>>> {
///         let bytes = self.0.get(&item.item_id).cloned()
///             .ok_or_else(|| Error::not_found(format!("no file `{}`", item.item_id)))?;
///         Ok(stream::iter([Ok(bytes)]).boxed())
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let source = Files(BTreeMap::from([("a.csv".to_owned(), Bytes::from("x\n1\n"))]));
/// let items: Vec<_> = source.list().try_concat().await?;
/// assert_eq!(items[0].item_id, "a.csv");
/// assert!(!items[0].is_live(), "a listed item is reopened, checkpointed and leased");
/// let chunks: Vec<_> = source.open(&items[0]).await?.try_collect().await?;
/// assert_eq!(chunks.concat(), b"x\n1\n");
/// # Ok::<(), collectors_core::Error>(())
/// # }).unwrap();
/// ```
#[doc(alias = "IDataSource")]
#[async_trait]
pub trait DataSource: Send + Sync {
    /// The unique id of this source.
    fn source_id(&self) -> &str;

    /// Opens the connection. The engine calls it once, before it lists; a failure aborts the
    /// run. The default does nothing.
    async fn connect(&self) -> Result<()> {
        Ok(())
    }

    /// Closes the connection. The engine calls it at the end of the run (a failure is
    /// logged). The default does nothing.
    async fn disconnect(&self) -> Result<()> {
        Ok(())
    }

    /// The seed's pull: the next item of a live source (a socket, a queue, a sensor), or
    /// `Ok(None)` when the source is exhausted. The default is `Ok(None)`: a source that
    /// only lists.
    async fn collect(&self) -> Result<Option<CollectedData>> {
        Ok(None)
    }

    /// Every remaining collected item as a stream, ending after the last item or the first
    /// error. The default builds it from repeated [`collect`](Self::collect) calls.
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

    /// Every item, as a stream of pages: what the engine reads, so a listing of millions of
    /// objects is never held whole. A store with a paged listing (an object store, a table)
    /// yields its pages; the stream ends after the last page or the first error.
    ///
    /// The default is [`collect_stream`](Self::collect_stream), one page per collected item,
    /// each made with [`SourceItem::live`] under this source's id: live items.
    fn list(&self) -> BoxStream<'_, Result<Vec<SourceItem>>> {
        self.collect_stream()
            .map(move |data| {
                let mut item = SourceItem::live(data?);
                self.source_id().clone_into(&mut item.source_id);
                Ok(vec![item])
            })
            .boxed()
    }

    /// The content of one item, as chunks.
    ///
    /// The default streams a live item's inline [`content`](SourceItem::content) as one
    /// chunk; an item without content is an [`Error::NotFound`] naming the source and the
    /// item (a source that lists items it can reopen implements `open`).
    async fn open(&self, item: &SourceItem) -> Result<BoxStream<'static, Result<Bytes>>> {
        match &item.content {
            Some(content) => Ok(stream::iter([Ok(content.clone())]).boxed()),
            None => Err(Error::not_found(format!(
                "item `{}` of source `{}` carries no content and the source cannot reopen items",
                item.item_id,
                self.source_id()
            ))
            .with_component(self.source_id())),
        }
    }

    /// Whether this source's items are live, so listing it consumes them. The default,
    /// `true`, matches the default [`list`](Self::list) (collected items); a source whose
    /// `list` yields listed items answers `false`.
    ///
    /// The engine decides how to deliver each item by the item
    /// ([`SourceItem::is_live`]); it asks the source only where it must not list:
    /// [`Engine::pending_items`](crate::Engine::pending_items) (a dry run) leaves live sources
    /// out, since listing one would take its messages, or wait for the next one forever.
    /// The conformance suites check that the answer agrees with the items.
    fn is_live(&self) -> bool {
        true
    }

    /// The commit hook after store: told of items whose records all reached a terminal state
    /// (stored, skipped or dead-lettered) and whose checkpoints, if any, are durable. Called
    /// for live and listed items alike, with the items as listed. A queue commits offsets
    /// here (Kafka), a socket answers, a finalizer reports delivery (Vector). The default
    /// does nothing.
    ///
    /// An item whose records were not all stored when the run stopped is never committed. A
    /// failure here is logged by the engine: the records are stored, and a source that
    /// redelivers gives them again (idempotent keys make that safe).
    async fn commit(&self, items: &[SourceItem]) -> Result<()> {
        let _ = items;
        Ok(())
    }
}
