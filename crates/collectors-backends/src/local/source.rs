//! [`LocalDirectorySource`] and its [`DataSource`] implementation.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use chrono::SecondsFormat;
use collectors_core::{DataSource, Error, Result, SourceItem, async_trait};
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use globset::GlobMatcher;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{GetResultPayload, ObjectMeta, ObjectStoreExt};
use tokio::io::AsyncReadExt;

use super::builder::{LocalDirectorySourceBuilder, pattern_issue};
use super::error::{from_io, from_object_store};
use super::walk::{Walk, dir_of};

/// The files under a local directory, as a listed [`DataSource`]: each file matching a glob
/// is one item, streamed in bounded chunks, checkpointed and leased by the engine.
///
/// - **Items** are the files whose path relative to the root matches the
///   [pattern](LocalDirectorySourceBuilder::pattern), sorted by that path.
/// - **`item_id`** is the relative path with `/` separators (`2024/03/sensors.csv`), stable
///   across runs and machines.
/// - **`version`** is `"{size}-{modified}"` with the modification time in RFC 3339 with
///   nanoseconds (`"1024-2026-03-01T10:00:00.123456789Z"`): it changes when the file does.
/// - **Listing** ([`DataSource::list`], one page) follows symbolic links and never gives up on the whole directory for one
///   bad entry: a symlink loop (a link to one of its own parent directories, or `a → b → a`),
///   a subdirectory that cannot be read and a name that is not UTF-8 are skipped with a
///   `tracing` warning naming the path; dangling links are skipped quietly. Only the root
///   itself being unreadable fails the listing ([`Error::DataFetch`]).
/// - **`open`** streams the file in chunks of at most
///   [`chunk_size`](LocalDirectorySourceBuilder::chunk_size) bytes, so memory stays bounded
///   whatever the file size. A missing file is an [`Error::NotFound`]; a file that cannot be
///   read (permissions, I/O) an [`Error::DataFetch`] naming its path.
///
/// It is also a [`Connector`](collectors_core::Connector): `list_items` lists the same files
/// (narrowed by [`ListOptions`](collectors_core::ListOptions)), `fetch_data` copies one
/// atomically into a workspace, refusing identifiers that would leave it.
///
/// ```
/// use collectors_backends::LocalDirectorySource;
/// use collectors_core::DataSource;
/// use futures::TryStreamExt;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::create_dir(dir.path().join("2024")).unwrap();
/// std::fs::write(dir.path().join("2024/a.csv"), "ts,value\n1,2.5\n").unwrap();
/// std::fs::write(dir.path().join("notes.txt"), "not data").unwrap();
///
/// let source = LocalDirectorySource::builder("sensors", dir.path())
///     .pattern("**/*.csv")
///     .build()?;
/// let items: Vec<_> = source.list().try_concat().await?;
/// assert_eq!(items.len(), 1);
/// assert_eq!(items[0].item_id, "2024/a.csv");
///
/// let chunks: Vec<_> = source.open(&items[0]).await?.try_collect().await?;
/// assert_eq!(chunks.concat(), b"ts,value\n1,2.5\n");
/// # Ok::<(), collectors_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct LocalDirectorySource {
    pub(crate) source_id: String,
    pub(crate) root: PathBuf,
    pub(crate) store: Arc<LocalFileSystem>,
    pub(crate) pattern: Option<String>,
    pub(crate) matcher: Option<GlobMatcher>,
    pub(crate) chunk_size: usize,
}

impl LocalDirectorySource {
    /// Starts building a source with id `source_id` over the directory `root`.
    pub fn builder(
        source_id: impl Into<String>,
        root: impl Into<PathBuf>,
    ) -> LocalDirectorySourceBuilder {
        LocalDirectorySourceBuilder::new(source_id.into(), root.into())
    }

    /// The directory the items are under (canonicalized).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The glob items' relative paths match, if one was set.
    pub fn pattern(&self) -> Option<&str> {
        self.pattern.as_deref()
    }

    /// Why the pattern can never match a file inside the directory, if it cannot (see
    /// [`LocalDirectorySourceBuilder::pattern_issue`]); `None` when it may, or there is none.
    pub fn pattern_issue(&self) -> Option<String> {
        self.pattern.as_deref().and_then(pattern_issue)
    }

    /// The size of the chunks [`DataSource::open`] yields, in bytes.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// The object path of an item identifier, refusing identifiers that name no file under
    /// the root (empty, absolute, `..`), as an [`Error::Validation`].
    pub(crate) fn object_path(&self, identifier: &str, operation: &str) -> Result<ObjectPath> {
        collectors_core::resolve_in_workspace(&self.root, identifier)
            .map_err(|e| self.tag(e, operation))?;
        ObjectPath::parse(identifier).map_err(|e| {
            self.tag(
                Error::validation(format!(
                    "identifier {identifier:?} is not a valid path: {e}"
                ))
                .with_source(e),
                operation,
            )
        })
    }

    /// Every file under `prefix` (the root when `None`) matching the configured pattern,
    /// sorted by relative path. Entries that cannot be listed and are not matching files
    /// (symlink loops, unreadable directories, non-UTF-8 names) are skipped with a warning;
    /// see [`Walk`].
    pub(crate) async fn list_files(&self, prefix: Option<&ObjectPath>) -> Result<Vec<ObjectMeta>> {
        let dir = dir_of(&self.root, prefix);
        let relative = prefix.map(ObjectPath::to_string).unwrap_or_default();
        let (source_id, matcher) = (self.source_id.clone(), self.matcher.clone());
        let listed = tokio::task::spawn_blocking(move || {
            let keep = |path: &str| matcher.as_ref().is_none_or(|m| m.is_match(path));
            Walk::new(&source_id, &keep).run(&dir, &relative)
        })
        .await
        .map_err(|e| {
            self.tag(
                Error::data_fetch(format!("listing {}: {e}", self.root.display())),
                "list",
            )
        })?;
        let mut files = listed.map_err(|e| self.tag(e, "list"))?;
        files.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(files)
    }

    /// Opens an item and streams it in `chunk_size` chunks.
    pub(crate) async fn open_path(
        &self,
        location: &ObjectPath,
        operation: &str,
    ) -> Result<(ObjectMeta, BoxStream<'static, Result<Bytes>>)> {
        let display = self.display_path(location);
        let result = self
            .store
            .get(location)
            .await
            .map_err(|e| self.tag(from_object_store(e, "opening", &display), operation))?;
        let meta = result.meta.clone();
        let len = result.range.end.saturating_sub(result.range.start);
        let stream = match result.payload {
            GetResultPayload::File(file, _) => {
                let file = tokio::fs::File::from_std(file);
                chunked(file.take(len), self.chunk_size, display)
            }
            // Not produced by the local file system; kept for completeness.
            GetResultPayload::Stream(stream) => stream
                .map_err(move |e| from_object_store(e, "reading", &display))
                .boxed(),
        };
        Ok((meta, stream))
    }

    /// The absolute file-system path of an item, for messages.
    pub(crate) fn display_path(&self, location: &ObjectPath) -> String {
        self.store
            .path_to_filesystem(location)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| location.to_string())
    }

    pub(crate) fn tag(&self, error: Error, operation: &str) -> Error {
        error
            .with_component(self.source_id.clone())
            .with_operation(operation)
    }

    /// Every matching file as an item, sorted by path: the one page of
    /// [`list`](DataSource::list).
    async fn items(&self) -> Result<Vec<SourceItem>> {
        let files = self.list_files(None).await?;
        tracing::debug!(source = %self.source_id, root = %self.root.display(), items = files.len(), "listed");
        Ok(files
            .into_iter()
            .map(|meta| {
                SourceItem::listed(
                    self.source_id.as_str(),
                    meta.location.to_string(),
                    version_of(&meta),
                )
                .with_size(meta.size)
                .with_metadata("path", self.display_path(&meta.location))
                .with_metadata(
                    "last_modified",
                    meta.last_modified
                        .to_rfc3339_opts(SecondsFormat::Nanos, true),
                )
            })
            .collect())
    }
}

/// The version string of a file: size and modification time.
pub(crate) fn version_of(meta: &ObjectMeta) -> String {
    format!(
        "{}-{}",
        meta.size,
        meta.last_modified
            .to_rfc3339_opts(SecondsFormat::Nanos, true)
    )
}

/// Reads `reader` in chunks of at most `chunk_size` bytes (exactly `chunk_size` but the last).
fn chunked<R>(reader: R, chunk_size: usize, display: String) -> BoxStream<'static, Result<Bytes>>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    futures::stream::try_unfold((reader, display), move |(mut reader, display)| async move {
        let mut buf = BytesMut::with_capacity(chunk_size);
        while buf.len() < chunk_size {
            let read = reader
                .read_buf(&mut buf)
                .await
                .map_err(|e| from_io(e, "reading", &display))?;
            if read == 0 {
                break;
            }
        }
        if buf.is_empty() {
            return Ok(None);
        }
        Ok(Some((buf.freeze(), (reader, display))))
    })
    .boxed()
}

#[async_trait]
impl DataSource for LocalDirectorySource {
    fn source_id(&self) -> &str {
        &self.source_id
    }

    fn is_live(&self) -> bool {
        false
    }

    fn list(&self) -> BoxStream<'_, Result<Vec<SourceItem>>> {
        futures::stream::once(self.items()).boxed()
    }

    async fn open(&self, item: &SourceItem) -> Result<BoxStream<'static, Result<Bytes>>> {
        let location = self.object_path(&item.item_id, "open")?;
        let (meta, stream) = self.open_path(&location, "open").await?;
        let version = version_of(&meta);
        if version != item.version {
            // Not an error: the engine checkpoints the version it listed; a rerun sees the new one.
            tracing::warn!(
                source = %self.source_id,
                item = %item.item_id,
                listed = %item.version,
                opened = %version,
                "file changed since it was listed"
            );
        }
        Ok(stream)
    }
}
