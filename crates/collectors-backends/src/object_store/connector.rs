//! [`ObjectStoreConnector`]: browse, fetch, read and write the objects of one store.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ::object_store::path::Path as ObjectPath;
use ::object_store::{
    Attribute, Attributes, GetOptions, GetResultPayload, ObjectMeta, ObjectStore, ObjectStoreExt,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, WriteMultipart,
};
use arrow_array::RecordBatch;
use bytes::Bytes;
use chrono::SecondsFormat;
use collectors_core::{
    Connector, DataItem, Error, ListOptions, Metadata, Result, async_trait, resolve_in_workspace,
};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use md5::{Digest, Md5};

use super::dataframe;
use super::error::{Op, from_object_store};
use super::format::{DataFrameFormat, guess_content_type};
use super::pattern::NamePattern;
use super::uri::{StoreScheme, StoreUri};
use super::write::{WriteOptions, WriteOutcome};
use crate::fs_util::AtomicFile;

/// Writes above this size go up as multipart uploads by default: 16 MiB.
pub const DEFAULT_MULTIPART_THRESHOLD: usize = 16 * 1024 * 1024;
/// The default size of one part of a multipart upload: 8 MiB.
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
/// The smallest part S3 accepts (all parts but the last): 5 MiB.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// Objects listed per page of [`ObjectStoreConnector::list_stream`].
const LIST_PAGE: usize = 1000;
/// The range `fetch_data` reads a local file in at once.
const LOCAL_READ: u64 = 4 * 1024 * 1024;
/// Parts of one multipart upload in flight at once.
const PARTS_IN_FLIGHT: usize = 4;

/// A [`Connector`] over any object store `object_store` reaches: a local directory,
/// memory, S3, GCS, Azure Blob. Made by [`get_connector`](super::get_connector).
///
/// Identifiers are object paths relative to the URI's prefix (`s3://bucket/raw/` and
/// `2024/a.csv` name `s3://bucket/raw/2024/a.csv`). An identifier that is empty, absolute,
/// has an empty, `.` or `..` segment, or holds a control character (NUL included) is an
/// [`Error::Validation`]; other characters (spaces, `#`, `%`, `?`, Unicode) are fine and
/// percent-encoded on the wire by object_store.
///
/// # The `Connector` contract here
///
/// - `connect` and `test_connection` list the prefix once: a missing bucket is an
///   [`Error::NotFound`], wrong or expired credentials an [`Error::Authentication`], an
///   unreachable store an [`Error::Connection`] (after object_store's retries).
///   `disconnect` has nothing to close.
/// - `list_items` lists every object under the prefix and `options.path`, keeps those
///   `options.pattern` selects (see [`NamePattern`]: `*.csv` by name at any depth,
///   `**/*.parquet` or `2024/*.csv` by relative path), sorted by path. Each
///   [`DataItem`] has the name, the relative path, size, modification time and, in its
///   metadata, `e_tag`, `version`, `content_type` (guessed from the name) and `uri`. For
///   millions of objects use [`list_stream`](Self::list_stream), which yields pages.
/// - `fetch_data(identifier, workspace)` streams the object into a hidden temp file in the
///   target folder and renames it into place, so memory stays bounded and the file appears
///   whole or not at all; a stream that breaks, a size that differs from the listing, or an
///   MD5 that differs from the e-tag (S3 and GCS single-part objects, whose e-tag is the MD5)
///   fail the fetch with an [`Error::DataFetch`] and remove the temp file. Identifiers that
///   would leave the workspace (`..`, absolute paths, a folder inside the workspace that is a
///   symbolic link leading out) are an [`Error::Validation`].
/// - `get_metadata` is one `HEAD`.
///
/// # Beyond the contract
///
/// [`read_file`](Self::read_file)/[`write_file`](Self::write_file) for bytes,
/// [`read_dataframe`](Self::read_dataframe)/[`write_dataframe`](Self::write_dataframe) for
/// CSV, JSON lines and Parquet ↔ Arrow, [`delete`](Self::delete). Writes above the multipart
/// threshold (16 MiB by default) go up in parts; create-only writes use `PutMode::Create`.
///
/// ```
/// use collectors_backends::object_store::{get_connector, ObjectStoreConfig, WriteOptions};
/// use collectors_core::{Connector, ErrorType, ListOptions};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = get_connector("memory://", &ObjectStoreConfig::new())?;
/// store.write_file("raw/a.csv", "k,v\na,1\n".into(), &WriteOptions::overwrite()).await?;
/// let again = store.write_file("raw/a.csv", "x".into(), &WriteOptions::create_only()).await;
/// assert_eq!(again.unwrap_err().error_type(), ErrorType::InvalidState);
///
/// let items = store.list_items(&ListOptions::new().matching("*.csv")).await?;
/// assert_eq!(items[0].path, "raw/a.csv");
/// let tables = store.read_dataframe("raw/a.csv", None).await?;
/// assert_eq!(tables[0].num_rows(), 1);
/// # Ok::<(), collectors_core::Error>(())
/// # }).unwrap();
/// ```
pub struct ObjectStoreConnector {
    uri: StoreUri,
    store: Arc<dyn ObjectStore>,
    multipart_threshold: usize,
    part_size: usize,
}

impl fmt::Debug for ObjectStoreConnector {
    // The store's own Debug may show credentials: leave it out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreConnector")
            .field("uri", &self.uri.as_str())
            .field("scheme", &self.uri.scheme())
            .field("multipart_threshold", &self.multipart_threshold)
            .field("part_size", &self.part_size)
            .finish_non_exhaustive()
    }
}

impl ObjectStoreConnector {
    pub(crate) fn new(uri: StoreUri, store: Arc<dyn ObjectStore>) -> Self {
        Self {
            uri,
            store,
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
        }
    }

    /// A connector over a store built by hand (wrapped in a throttle, a custom client, …);
    /// `uri` says what it is and where the connector's prefix is.
    ///
    /// For a local directory, `store` must be rooted at the directory (as
    /// `LocalFileSystem::new_with_prefix` makes it).
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] when `uri` does not parse.
    pub fn from_store(uri: &str, store: Arc<dyn ObjectStore>) -> Result<Self> {
        Ok(Self::new(StoreUri::parse(uri)?, store))
    }

    /// Writes larger than `bytes` (at least 1) use multipart uploads.
    #[must_use]
    pub fn with_multipart_threshold(mut self, bytes: usize) -> Self {
        self.multipart_threshold = bytes.max(1);
        self
    }

    /// The size of each part of a multipart upload, at least [`MIN_PART_SIZE`] (5 MiB, what
    /// S3 requires of every part but the last).
    #[must_use]
    pub fn with_part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes.max(MIN_PART_SIZE);
        self
    }

    /// The URI the connector was made from.
    pub fn uri(&self) -> &StoreUri {
        &self.uri
    }

    /// The object store underneath.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The multipart threshold in bytes.
    pub fn multipart_threshold(&self) -> usize {
        self.multipart_threshold
    }

    /// The full object path of `identifier`, checked.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for an empty or absolute identifier, an empty, `.` or `..`
    /// segment, or a control character.
    pub fn object_path(&self, identifier: &str) -> Result<ObjectPath> {
        let refuse = |why: &str| {
            Err(self.tag(
                Error::validation(format!("object name {identifier:?} {why}")),
                "object_path",
            ))
        };
        if identifier.trim().is_empty() {
            return refuse("is empty");
        }
        if identifier.starts_with('/') || identifier.starts_with('\\') {
            return refuse("is absolute; give a path relative to the store's prefix");
        }
        if identifier.chars().any(|c| c.is_control()) {
            return refuse("contains a control character (NUL, newline …)");
        }
        let relative = ObjectPath::parse(identifier).map_err(|e| {
            self.tag(
                Error::validation(format!("object name {identifier:?} is not valid: {e}"))
                    .with_source(e),
                "object_path",
            )
        })?;
        if relative
            .parts()
            .any(|p| p.as_ref() == "." || p.as_ref() == "..")
        {
            return refuse("has a `.` or `..` segment");
        }
        Ok(self.uri.prefix().parts().chain(relative.parts()).collect())
    }

    /// The identifier of a full object path (relative to the prefix).
    fn relative(&self, location: &ObjectPath) -> String {
        match location.prefix_match(self.uri.prefix()) {
            Some(parts) => parts
                .map(|p| p.as_ref().to_owned())
                .collect::<Vec<_>>()
                .join("/"),
            None => location.to_string(),
        }
    }

    /// The URI of an object, for messages.
    pub(crate) fn display(&self, location: &ObjectPath) -> String {
        match self.uri.scheme() {
            StoreScheme::Local => {
                let root = self.uri.local_root().unwrap_or_else(|| Path::new("."));
                root.join(location.as_ref()).display().to_string()
            }
            StoreScheme::Memory => format!("memory:///{location}"),
            scheme => format!(
                "{scheme}://{}/{location}",
                self.uri.bucket().unwrap_or_default()
            ),
        }
    }

    pub(crate) fn tag(&self, error: Error, operation: &str) -> Error {
        error
            .with_component(self.uri.as_str().to_owned())
            .with_operation(operation)
    }

    fn failed(
        &self,
        e: ::object_store::Error,
        op: Op,
        what: &str,
        location: &ObjectPath,
        operation: &str,
    ) -> Error {
        self.tag(
            from_object_store(e, op, what, &self.display(location)),
            operation,
        )
    }

    /// Lists the objects `options` selects, page by page (up to 1 000 objects a page, in the
    /// store's order: lexicographic on S3, GCS, Azure and memory, unordered locally). Pages
    /// may be empty when the pattern keeps nothing of them.
    ///
    /// # Errors
    ///
    /// The stream's items: [`Error::Validation`] for an invalid glob or path (before any
    /// request), then the store's failures (see [`ObjectStoreConnector`]).
    pub fn list_stream(&self, options: &ListOptions) -> BoxStream<'static, Result<Vec<DataItem>>> {
        match self.list_parts(options) {
            Ok((under, pattern)) => {
                let base = under.clone().unwrap_or_else(|| self.uri.prefix().clone());
                let listed = match under
                    .as_ref()
                    .or(Some(self.uri.prefix()))
                    .filter(|p| p.parts().next().is_some())
                {
                    Some(prefix) => self.store.list(Some(prefix)),
                    None => self.store.list(None),
                };
                let this = Lister {
                    prefix: self.uri.prefix().clone(),
                    base,
                    pattern,
                    shown: self.display(&ObjectPath::default()),
                    component: self.uri.as_str().to_owned(),
                    uri: self.uri.clone(),
                };
                listed
                    .chunks(LIST_PAGE)
                    .map(move |page| {
                        let mut items = Vec::with_capacity(page.len());
                        for meta in page {
                            let meta = meta.map_err(|e| {
                                from_object_store(e, Op::Read, "listing", &this.shown)
                                    .with_component(this.component.clone())
                                    .with_operation("list_items")
                            })?;
                            if let Some(item) = this.item(meta) {
                                items.push(item);
                            }
                        }
                        Ok(items)
                    })
                    .boxed()
            }
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        }
    }

    fn list_parts(
        &self,
        options: &ListOptions,
    ) -> Result<(Option<ObjectPath>, Option<NamePattern>)> {
        let under = match options.path.as_deref().map(|p| p.trim_matches('/')) {
            None | Some("") => None,
            Some(path) => Some(self.object_path(path)?),
        };
        let pattern = options
            .pattern
            .as_deref()
            .map(NamePattern::new)
            .transpose()
            .map_err(|e| self.tag(e, "list_items"))?;
        Ok((under, pattern))
    }

    /// The bytes of one object.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for a bad identifier, [`Error::NotFound`] for a missing object,
    /// the store's failures otherwise.
    pub async fn read_file(&self, identifier: &str) -> Result<Bytes> {
        let location = self.object_path(identifier)?;
        let got = self
            .store
            .get(&location)
            .await
            .map_err(|e| self.failed(e, Op::Read, "reading", &location, "read_file"))?;
        got.bytes()
            .await
            .map_err(|e| self.failed(e, Op::Read, "reading", &location, "read_file"))
    }

    /// Writes `bytes` as the object `identifier`: one `PUT` up to the multipart threshold,
    /// a multipart upload above it (aborted on failure, so no part is left behind), and
    /// always one conditional `PUT` when `options.create_only` is set.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for a bad identifier, [`Error::InvalidState`] when a
    /// create-only write finds the object there, the store's failures otherwise
    /// ([`Error::Storage`] when transient).
    pub async fn write_file(
        &self,
        identifier: &str,
        bytes: Bytes,
        options: &WriteOptions,
    ) -> Result<WriteOutcome> {
        let location = self.object_path(identifier)?;
        let size = bytes.len() as u64;
        let attributes = self.attributes(identifier, options);
        let op = "write_file";
        let (e_tag, multipart) = if options.create_only || bytes.len() <= self.multipart_threshold {
            let put = PutOptions {
                mode: if options.create_only {
                    PutMode::Create
                } else {
                    PutMode::Overwrite
                },
                attributes,
                ..PutOptions::default()
            };
            let result = self
                .store
                .put_opts(&location, PutPayload::from(bytes), put)
                .await
                .map_err(|e| self.failed(e, Op::Write, "writing", &location, op))?;
            (result.e_tag, false)
        } else {
            let upload = self
                .store
                .put_multipart_opts(
                    &location,
                    PutMultipartOptions {
                        attributes,
                        ..PutMultipartOptions::default()
                    },
                )
                .await
                .map_err(|e| self.failed(e, Op::Write, "starting the upload of", &location, op))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_size);
            let mut rest = bytes;
            while !rest.is_empty() {
                if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                    // The upload already failed; aborting is best effort.
                    return Err(self.failed(e, Op::Write, "uploading", &location, op));
                }
                let part = rest.split_to(rest.len().min(self.part_size));
                writer.put(part);
            }
            let result = writer.finish().await.map_err(|e| {
                self.failed(e, Op::Write, "completing the upload of", &location, op)
            })?;
            (result.e_tag, true)
        };
        tracing::debug!(object = %self.display(&location), bytes = size, multipart, "wrote");
        Ok(WriteOutcome {
            identifier: identifier.to_owned(),
            uri: self.display(&location),
            size,
            e_tag,
            multipart,
        })
    }

    /// Uploads the local file at `file` as the object `identifier`, streaming it: one `PUT`
    /// up to the multipart threshold, a multipart upload of parts read one at a time above
    /// it (aborted on failure), so memory holds a few parts whatever the size. With
    /// `options.create_only`, a file up to the threshold is one conditional `PUT`
    /// (`PutMode::Create`); a larger one is checked with a `HEAD` first and then uploaded,
    /// which is not atomic (object_store's multipart uploads cannot be conditional).
    ///
    /// # Errors
    ///
    /// As [`write_file`](Self::write_file); a local read failure is an [`Error::Storage`].
    pub async fn upload_file(
        &self,
        identifier: &str,
        file: &Path,
        options: &WriteOptions,
    ) -> Result<WriteOutcome> {
        let op = "upload_file";
        let local = |what: &str, e: std::io::Error| {
            self.tag(crate::fs_util::io_error(Error::storage, what, file, e), op)
        };
        let size = tokio::fs::metadata(file)
            .await
            .map_err(|e| local("reading", e))?
            .len();
        if size <= self.multipart_threshold as u64 {
            let bytes = tokio::fs::read(file)
                .await
                .map_err(|e| local("reading", e))?;
            return self
                .write_file(identifier, Bytes::from(bytes), options)
                .await;
        }
        let input = tokio::fs::File::open(file)
            .await
            .map_err(|e| local("opening", e))?;
        let chunks = tokio_util::io::ReaderStream::with_capacity(input, self.part_size)
            .map(|chunk| chunk.map_err(|e| local("reading", e)));
        self.write_stream(identifier, chunks, options).await
    }

    /// Writes the object `identifier` from a stream of chunks (an HTTP upload, a file being
    /// read), holding at most a few parts in memory whatever the size: a stream that ends
    /// within the multipart threshold is one `PUT` (as [`write_file`](Self::write_file)); a
    /// longer one is a multipart upload, aborted when the stream or the store fails, so no
    /// object and no part is left behind. With `options.create_only`, a multipart upload is
    /// checked with a `HEAD` first, which is not atomic (object_store's multipart uploads
    /// cannot be conditional).
    ///
    /// ```no_run
    /// # async fn demo() -> collectors_core::Result<()> {
    /// use bytes::Bytes;
    /// use collectors_backends::object_store::{ObjectStoreConfig, WriteOptions, get_connector};
    ///
    /// let store = get_connector("memory://", &ObjectStoreConfig::new())?;
    /// let chunks = futures::stream::iter([Ok(Bytes::from("a,b\n")), Ok(Bytes::from("1,2\n"))]);
    /// let written = store.write_stream("t.csv", chunks, &WriteOptions::default()).await?;
    /// assert_eq!(written.size, 8);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The first error of the stream, unchanged (so a caller's own "too large" error comes
    /// back as it was raised); otherwise as [`write_file`](Self::write_file).
    pub async fn write_stream<S>(
        &self,
        identifier: &str,
        chunks: S,
        options: &WriteOptions,
    ) -> Result<WriteOutcome>
    where
        S: futures::Stream<Item = Result<Bytes>> + Send,
    {
        let op = "write_stream";
        let location = self.object_path(identifier)?;
        let mut chunks = std::pin::pin!(chunks);
        // Up to the threshold the object is one PUT: collect it first.
        let mut head = bytes::BytesMut::new();
        while head.len() <= self.multipart_threshold {
            match chunks.next().await {
                Some(chunk) => head.extend_from_slice(&chunk?),
                None => return self.write_file(identifier, head.freeze(), options).await,
            }
        }
        if options.create_only {
            match self.store.head(&location).await {
                Ok(_) => {
                    return Err(self.tag(
                        Error::invalid_state(format!(
                            "{} exists and the write is create-only",
                            self.display(&location)
                        )),
                        op,
                    ));
                }
                Err(::object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.failed(e, Op::Write, "checking", &location, op)),
            }
        }
        let upload = self
            .store
            .put_multipart_opts(
                &location,
                PutMultipartOptions {
                    attributes: self.attributes(identifier, options),
                    ..PutMultipartOptions::default()
                },
            )
            .await
            .map_err(|e| self.failed(e, Op::Write, "starting the upload of", &location, op))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_size);
        let mut sent = head.len() as u64;
        writer.write(&head);
        drop(head);
        while let Some(chunk) = chunks.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    // Best effort: the caller's error is what matters.
                    writer.abort().await.ok();
                    return Err(e);
                }
            };
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                return Err(self.failed(e, Op::Write, "uploading", &location, op));
            }
            sent += chunk.len() as u64;
            writer.write(&chunk);
        }
        let result = writer
            .finish()
            .await
            .map_err(|e| self.failed(e, Op::Write, "completing the upload of", &location, op))?;
        tracing::debug!(object = %self.display(&location), bytes = sent, multipart = true, "uploaded");
        Ok(WriteOutcome {
            identifier: identifier.to_owned(),
            uri: self.display(&location),
            size: sent,
            e_tag: result.e_tag,
            multipart: true,
        })
    }

    fn attributes(&self, identifier: &str, options: &WriteOptions) -> Attributes {
        let mut attributes = Attributes::new();
        // The local file system keeps no attributes and refuses writes that set any.
        if self.uri.scheme() != StoreScheme::Local {
            let content_type = options
                .content_type
                .clone()
                .unwrap_or_else(|| guess_content_type(identifier).to_owned());
            attributes.insert(Attribute::ContentType, content_type.into());
        }
        attributes
    }

    /// Deletes one object; `Ok(false)` when there was none.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for a bad identifier, the store's failures otherwise.
    pub async fn delete(&self, identifier: &str) -> Result<bool> {
        let location = self.object_path(identifier)?;
        match self.store.head(&location).await {
            Ok(_) => {}
            Err(::object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(self.failed(e, Op::Write, "deleting", &location, "delete")),
        }
        match self.store.delete(&location).await {
            Ok(()) | Err(::object_store::Error::NotFound { .. }) => Ok(true),
            Err(e) => Err(self.failed(e, Op::Write, "deleting", &location, "delete")),
        }
    }

    /// Reads one object as Arrow record batches, in `format` or, when `None`, the format its
    /// name's extension says. CSV and JSON-lines column types are inferred from the whole
    /// object.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for an unknown extension, an empty object or bytes that do not
    /// parse, each naming the object; the errors of [`read_file`](Self::read_file).
    pub async fn read_dataframe(
        &self,
        identifier: &str,
        format: Option<DataFrameFormat>,
    ) -> Result<Vec<RecordBatch>> {
        let format = self.format_of(identifier, format, "read_dataframe")?;
        let bytes = self.read_file(identifier).await?;
        let name = self.display(&self.object_path(identifier)?);
        blocking(move || dataframe::decode(format, bytes, &name))
            .await
            .map_err(|e| self.tag(e, "read_dataframe"))
    }

    /// Writes record batches (all of one schema) as one object, in `format` or the format of
    /// the name's extension: CSV with a header line, JSON lines, or Parquet (Snappy, one row
    /// group per batch).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for an unknown extension, no batches, or batches of different
    /// schemas; the errors of [`write_file`](Self::write_file).
    pub async fn write_dataframe(
        &self,
        identifier: &str,
        batches: &[RecordBatch],
        format: Option<DataFrameFormat>,
        options: &WriteOptions,
    ) -> Result<WriteOutcome> {
        let format = self.format_of(identifier, format, "write_dataframe")?;
        self.object_path(identifier)?;
        let name = identifier.to_owned();
        let batches = batches.to_vec();
        let bytes = blocking(move || dataframe::encode(format, &batches, &name))
            .await
            .map_err(|e| self.tag(e, "write_dataframe"))?;
        let mut options = options.clone();
        options
            .content_type
            .get_or_insert_with(|| format.content_type().to_owned());
        self.write_file(identifier, Bytes::from(bytes), &options)
            .await
    }

    fn format_of(
        &self,
        identifier: &str,
        format: Option<DataFrameFormat>,
        operation: &str,
    ) -> Result<DataFrameFormat> {
        format
            .or_else(|| DataFrameFormat::from_name(identifier))
            .ok_or_else(|| {
                self.tag(
                    Error::validation(format!(
                        "{identifier:?} has no known table extension (.csv, .jsonl, .parquet); \
                         give the format"
                    )),
                    operation,
                )
            })
    }

    /// The metadata of one object as a [`Metadata`] map.
    fn describe(&self, meta: &ObjectMeta, content_type: Option<String>) -> Metadata {
        describe(
            &self.uri,
            &self.display(&meta.location),
            &self.relative(&meta.location),
            meta,
            content_type,
        )
    }

    /// Where the bytes of `identifier` land under `workspace`, with every folder on the way
    /// created and checked to stay inside it (a folder that is a link leading out is refused).
    async fn target_in(&self, workspace: &Path, identifier: &str) -> Result<PathBuf> {
        let target =
            resolve_in_workspace(workspace, identifier).map_err(|e| self.tag(e, "fetch_data"))?;
        let parent = target.parent().unwrap_or(workspace).to_path_buf();
        tokio::fs::create_dir_all(&parent).await.map_err(|e| {
            self.tag(
                Error::data_fetch(format!("creating {}: {e}", parent.display())).with_source(e),
                "fetch_data",
            )
        })?;
        let (real_workspace, real_parent) = (
            tokio::fs::canonicalize(workspace).await,
            tokio::fs::canonicalize(&parent).await,
        );
        match (real_workspace, real_parent) {
            (Ok(ws), Ok(p)) if p.starts_with(&ws) => {}
            (Ok(_), Ok(p)) => {
                return Err(self.tag(
                    Error::validation(format!(
                        "identifier {identifier:?} leads out of the workspace through a \
                         symbolic link (to {})",
                        p.display()
                    )),
                    "fetch_data",
                ));
            }
            (Err(e), _) | (_, Err(e)) => {
                return Err(self.tag(
                    Error::data_fetch(format!("resolving {}: {e}", parent.display()))
                        .with_source(e),
                    "fetch_data",
                ));
            }
        }
        if tokio::fs::symlink_metadata(&target)
            .await
            .is_ok_and(|m| m.is_dir())
        {
            return Err(self.tag(
                Error::validation(format!("{} is a directory", target.display())),
                "fetch_data",
            ));
        }
        Ok(target)
    }

    /// The object `meta` describes, as a stream of [`LOCAL_READ`]-byte ranges (local files).
    fn local_ranges(
        &self,
        location: &ObjectPath,
        meta: &ObjectMeta,
    ) -> BoxStream<'static, ::object_store::Result<Bytes>> {
        let (store, location, e_tag) = (self.store.clone(), location.clone(), meta.e_tag.clone());
        let size = meta.size;
        let ranges = (0..size)
            .step_by(LOCAL_READ as usize)
            .map(move |start| start..(start + LOCAL_READ).min(size));
        stream::iter(ranges)
            .then(move |range| {
                let (store, location) = (store.clone(), location.clone());
                let options = GetOptions {
                    range: Some(range.into()),
                    // The file changed since the first read: fail, do not mix versions.
                    if_match: e_tag.clone(),
                    ..GetOptions::default()
                };
                async move { store.get_opts(&location, options).await?.bytes().await }
            })
            .boxed()
    }

    /// Writes the `chunks` of the object at `location` to `out` (hashing them when asked);
    /// the bytes written.
    async fn download(
        &self,
        mut chunks: BoxStream<'static, ::object_store::Result<Bytes>>,
        mut hasher: Option<&mut Md5>,
        out: &mut AtomicFile,
        location: &ObjectPath,
    ) -> Result<u64> {
        let op = "fetch_data";
        let mut written: u64 = 0;
        while let Some(chunk) = chunks
            .try_next()
            .await
            .map_err(|e| self.failed(e, Op::Read, "downloading", location, op))?
        {
            if let Some(h) = hasher.as_mut() {
                h.update(&chunk);
            }
            written += chunk.len() as u64;
            out.write_all(&chunk).await.map_err(|e| self.tag(e, op))?;
        }
        Ok(written)
    }

    /// Whether this store's e-tags are the MD5 of single-part objects.
    fn etag_is_md5(&self) -> bool {
        matches!(self.uri.scheme(), StoreScheme::S3 | StoreScheme::Gcs)
    }
}

/// Copies the local `file` that `meta` describes into `out`, and checks that it did not change
/// meanwhile (same size and modification time after the copy as when it was opened), so a
/// file rewritten in place during the copy is an error, not a mix of two versions.
async fn copy_unchanged(
    file: std::fs::File,
    meta: &ObjectMeta,
    out: &mut AtomicFile,
) -> Result<u64> {
    let stamp = |file: &std::fs::File| {
        file.metadata().ok().map(|m| {
            (
                m.len(),
                m.modified().ok().map(chrono::DateTime::<chrono::Utc>::from),
            )
        })
    };
    let (copied, file) = out.copy_from(file).await?;
    if stamp(&file) != Some((meta.size, Some(meta.last_modified))) {
        return Err(Error::data_fetch(format!(
            "fetching {}: the file changed while it was copied",
            meta.location
        )));
    }
    Ok(copied)
}

/// Lists and filters for [`ObjectStoreConnector::list_stream`], owned by its stream.
struct Lister {
    prefix: ObjectPath,
    base: ObjectPath,
    pattern: Option<NamePattern>,
    shown: String,
    component: String,
    uri: StoreUri,
}

impl Lister {
    fn item(&self, meta: ObjectMeta) -> Option<DataItem> {
        let relative_to_base: Vec<_> = meta
            .location
            .prefix_match(&self.base)?
            .map(|p| p.as_ref().to_owned())
            .collect();
        let relative_to_base = relative_to_base.join("/");
        if self
            .pattern
            .as_ref()
            .is_some_and(|p| !p.matches(&relative_to_base))
        {
            return None;
        }
        let path: Vec<_> = meta
            .location
            .prefix_match(&self.prefix)?
            .map(|p| p.as_ref().to_owned())
            .collect();
        let path = path.join("/");
        let name = meta.location.filename().unwrap_or_default().to_owned();
        let mut item = DataItem::new(name, path.clone(), meta.size);
        item.modified_at = meta.last_modified;
        let shown = if self.shown.ends_with('/') {
            format!("{}{path}", self.shown)
        } else {
            format!("{}/{path}", self.shown)
        };
        item.metadata = describe(&self.uri, &shown, &path, &meta, None);
        Some(item)
    }
}

/// The version of an object: its e-tag when the store gives one, else size and modification
/// time.
pub(crate) fn version_of(meta: &ObjectMeta) -> String {
    match &meta.e_tag {
        Some(tag) => tag.trim_matches('"').to_owned(),
        None => format!(
            "{}-{}",
            meta.size,
            meta.last_modified
                .to_rfc3339_opts(SecondsFormat::Nanos, true)
        ),
    }
}

fn describe(
    uri: &StoreUri,
    shown: &str,
    relative: &str,
    meta: &ObjectMeta,
    content_type: Option<String>,
) -> Metadata {
    let mut out = Metadata::new();
    out.insert(
        "name".into(),
        meta.location.filename().unwrap_or_default().into(),
    );
    out.insert("path".into(), relative.into());
    out.insert("uri".into(), shown.into());
    out.insert("scheme".into(), uri.scheme().as_str().into());
    out.insert("size".into(), meta.size.into());
    out.insert(
        "last_modified".into(),
        meta.last_modified
            .to_rfc3339_opts(SecondsFormat::Nanos, true)
            .into(),
    );
    out.insert("version".into(), version_of(meta).into());
    if let Some(e_tag) = &meta.e_tag {
        out.insert("e_tag".into(), e_tag.clone().into());
    }
    out.insert(
        "content_type".into(),
        content_type
            .unwrap_or_else(|| guess_content_type(relative).to_owned())
            .into(),
    );
    out
}

/// The hex MD5 an e-tag carries, when it is one (32 hex digits; multipart e-tags end in
/// `-N` and are not).
fn md5_of_etag(e_tag: &str) -> Option<String> {
    let tag = e_tag.trim_matches('"');
    (tag.len() == 32 && tag.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| tag.to_ascii_lowercase())
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        Error::invalid_state(format!("the blocking task failed: {e}")).with_source(e)
    })?
}

#[async_trait]
impl Connector for ObjectStoreConnector {
    async fn connect(&self) -> Result<()> {
        self.test_connection().await
    }

    async fn disconnect(&self) -> Result<()> {
        Ok(())
    }

    async fn test_connection(&self) -> Result<()> {
        let prefix = Some(self.uri.prefix()).filter(|p| p.parts().next().is_some());
        match self.store.list_with_delimiter(prefix).await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.tag(
                from_object_store(e, Op::Connect, "listing", self.uri.as_str()),
                "test_connection",
            )),
        }
    }

    async fn list_items(&self, options: &ListOptions) -> Result<Vec<DataItem>> {
        let mut items: Vec<DataItem> = self.list_stream(options).try_concat().await?;
        items.sort_by(|a, b| a.path.cmp(&b.path));
        tracing::debug!(store = %self.uri, items = items.len(), "listed");
        Ok(items)
    }

    async fn fetch_data(&self, identifier: &str, workspace: &Path) -> Result<PathBuf> {
        let op = "fetch_data";
        // Refuse hostile identifiers before touching the store or the workspace.
        resolve_in_workspace(workspace, identifier).map_err(|e| self.tag(e, op))?;
        let location = self.object_path(identifier)?;
        // Ask the store first: a missing object leaves no folder behind in the workspace.
        let got = self
            .store
            .get(&location)
            .await
            .map_err(|e| self.failed(e, Op::Read, "fetching", &location, op))?;
        let target = self.target_in(workspace, identifier).await?;
        let meta = got.meta.clone();
        let expected_md5 = if self.etag_is_md5() {
            meta.e_tag.as_deref().and_then(md5_of_etag)
        } else {
            None
        };
        let tag = |e: Error| self.tag(e, op);
        let mut out = AtomicFile::create(&target, Error::data_fetch)
            .await
            .map_err(tag)?;
        let mut hasher = expected_md5.as_ref().map(|_| Md5::new());
        let written = match got.payload {
            // A local file with no checksum to verify: copied in the kernel
            // (`copy_file_range`), never through user space.
            GetResultPayload::File(file, _) if hasher.is_none() => {
                copy_unchanged(file, &meta, &mut out).await.map_err(tag)?
            }
            // object_store streams a local file in 8 KiB reads, each a trip to the blocking
            // pool: read it in large ranges instead, each checked against the same e-tag.
            GetResultPayload::File(..) => {
                let chunks = self.local_ranges(&location, &meta);
                self.download(chunks, hasher.as_mut(), &mut out, &location)
                    .await?
            }
            GetResultPayload::Stream(chunks) => {
                self.download(chunks, hasher.as_mut(), &mut out, &location)
                    .await?
            }
        };
        // `out` is dropped (and its temp file removed) on every early return below.
        if written != meta.size {
            return Err(tag(Error::data_fetch(format!(
                "fetching {}: got {written} bytes, the store said {}",
                self.display(&location),
                meta.size
            ))));
        }
        if let (Some(expected), Some(h)) = (expected_md5, hasher) {
            let actual = hex::encode(h.finalize());
            if actual != expected {
                return Err(tag(Error::data_fetch(format!(
                    "fetching {}: MD5 {actual} differs from the e-tag {expected}",
                    self.display(&location)
                ))));
            }
        }
        let path = out.commit().await.map_err(tag)?;
        tracing::debug!(object = %self.display(&location), bytes = written, to = %path.display(), "fetched");
        Ok(path)
    }

    async fn get_metadata(&self, identifier: &str) -> Result<Metadata> {
        let location = self.object_path(identifier)?;
        let head = self
            .store
            .get_opts(
                &location,
                GetOptions {
                    head: true,
                    ..GetOptions::default()
                },
            )
            .await
            .map_err(|e| {
                self.failed(
                    e,
                    Op::Read,
                    "reading metadata of",
                    &location,
                    "get_metadata",
                )
            })?;
        let content_type = head
            .attributes
            .get(&Attribute::ContentType)
            .map(|v| v.as_ref().to_owned());
        Ok(self.describe(&head.meta, content_type))
    }
}
