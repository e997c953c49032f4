//! [`FileSink`]: one file per source item (and per record stored on its own) under a
//! directory, each published atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use collectors_core::{
    Error, QueryCriteria, Record, Result, SourceItem, StorageBackend, StorageLocation,
    StoredRecord, async_trait,
};

use super::builder::FileSinkBuilder;
use super::codec::{self, kind_name};
use super::format::FileFormat;
use super::item_file::{IndexEntry, ItemFileWriter, ItemStamp};
use super::layout::{folder_of_prefix, item_object_name, item_path_of_key, object_name};
use super::open_items::{OpenItems, item_of, path_of};
use crate::fs_util::{AtomicFile, io_error, sync_parent_dir};

/// The longest file name most file systems accept (ext4, XFS, APFS, NTFS: 255 bytes).
const MAX_FILE_NAME: usize = 255;

/// A [`StorageBackend`] that writes **one file per source item** under a directory, in JSON
/// lines or Parquet (see [`FileFormat`]), and one file per record for records stored on
/// their own.
///
/// # Layout
///
/// The same as [`ObjectStoreStorage`](crate::object_store::ObjectStoreStorage)'s:
///
/// - The records the engine makes for a source item (see [`StorageBackend`]'s contract) go
///   to one file, `{dir}/{source}/{item}.{ext}`: input `part-00.csv` of source
///   `sensor-files` → `sensor-files/part-00.csv.parquet`. In Parquet its row groups are the
///   item's batches, in order, so `{dir}/**/*.parquet` reads as one dataset in DuckDB,
///   pyarrow or Spark.
/// - Any other record (stored by `store`, or a key without an item) is one file named after
///   its key: `a/b` → `a/b.jsonl`; `src/x.csv#3` → `src/x.csv/part-00003.jsonl`.
/// - Names are kept readable: only `%`, control characters and empty, `.` and `..` path
///   segments are percent-encoded, so no key or item id reaches outside the directory; a
///   folder that is a symlink out of it is refused. A segment longer than 255 bytes or an
///   object name over 1 024 bytes is an [`Error::Validation`].
/// - [`StorageLocation::location_id`] is the record's key, [`StorageLocation::path`] the
///   file's path (with `row_group`/`section` in its metadata for an item's record).
///
/// # Behaviour
///
/// - `store_batch` checks every record first (kinds, and for Parquet one schema per item),
///   then appends each item's records to the item's temp file beside its target
///   (`.{name}.{random}.tmp`, hidden; one Parquet row group per record), so memory holds one
///   batch at a time. A key the item's file already holds is not written again (a retried
///   batch). Records stored on their own are written whole, atomically.
/// - `finish_item` closes the item's file, fsyncs it, renames it into place and fsyncs the
///   directory: a reader sees the previous file or the new one, never half of one, and a
///   crash before it leaves no visible file (the redone item writes the same name again).
///   An item with no stored record writes no file, and removes the Parquet file an earlier
///   version of it left (its rows are no longer the item's). `abandon_item` and
///   `disconnect` remove the temp files of items in flight.
/// - `query` walks the directory (only the folder of a key prefix), reads the index of each
///   file (Parquet footer, JSON-lines section headers) to filter on key, metadata and time,
///   sorts by key, pages, and only then reads the payloads of the page (only their row
///   groups). Temp files, files of the other format and files that are not the sink's are
///   skipped, so a temp file left by a crash breaks nothing.
/// - `delete` removes a record: a file of its own is removed; a record of an item file is
///   taken out by rewriting the file without it (atomically), or removing the file when it
///   was the last one.
/// - Calls before `connect` or after `disconnect` are an [`Error::Connection`]. `connect`
///   creates the directory.
///
/// # Errors
///
/// | failure | error | retryable |
/// |---|---|---|
/// | I/O (permissions, disk full, …), naming the path, with the `io::Error` as source | [`Error::Storage`] | yes |
/// | not connected | [`Error::Connection`] | yes |
/// | empty or too long key; payload the format cannot hold (non-table to Parquet, NaN or an infinity to JSON lines, unsupported Arrow type, a second schema in one item's Parquet file); a folder that leads out of the directory | [`Error::Validation`] | no |
/// | a file that does not read back (changed behind the sink's back): skipped by `query` and `delete`, with a warning; an error only if it changes between its index and its read | [`Error::InvalidState`] | no |
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch, StringArray};
/// use collectors_backends::{FileFormat, FileSink};
/// use collectors_core::{Payload, QueryCriteria, Record, SourceItem, StorageBackend};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let sink = FileSink::builder("archive", dir.path().join("records"))
///     .format(FileFormat::Jsonl)
///     .build()?;
/// sink.connect().await?;
///
/// let batch = RecordBatch::try_from_iter([
///     ("sensor", Arc::new(StringArray::from(vec!["s-1", "s-2"])) as _),
///     ("value", Arc::new(Float64Array::from(vec![21.5, 19.0])) as _),
/// ])
/// .unwrap();
/// // Two batches of item `day-1.csv` of source `files`, as the engine makes them.
/// let records: Vec<Record> = (0..2u64)
///     .map(|n| {
///         Record::keyed(format!("files/day-1.csv#{n}"), Payload::Table(batch.clone()))
///             .unwrap()
///             .with_metadata("source_id", "files")
///             .with_metadata("item_id", "day-1.csv")
///             .with_metadata("batch", n)
///     })
///     .collect();
/// sink.store_batch(&records).await?;
/// sink.store_batch(&records).await?; // a retry writes nothing twice
/// sink.finish_item(&SourceItem::listed("files", "day-1.csv", "v1")).await?;
/// assert!(dir.path().join("records/files/day-1.csv.jsonl").is_file());
///
/// let found = sink.query(&QueryCriteria::new().key_prefix("files/day-1")).await?;
/// assert_eq!(found.len(), 2);
/// assert_eq!(found[1].record.payload, Payload::Table(batch));
/// sink.disconnect().await?;
/// # Ok::<(), collectors_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct FileSink {
    backend_id: String,
    dir: PathBuf,
    format: FileFormat,
    connected: AtomicBool,
    items: OpenItems,
}

impl FileSink {
    /// An item that now stores no rows leaves no file; one written for another version of
    /// it (Parquet files say which) would show rows the item no longer has, so it goes.
    async fn remove_stale(&self, item: &SourceItem, target: PathBuf) -> Result<()> {
        let op = "finish_item";
        let (format, version) = (self.format, item.version.clone());
        let removed = self
            .blocking(op, move || {
                let stale = codec::file_stamp(format, &target)?
                    .is_some_and(|stamp| stamp.version != version);
                if stale && remove_file(&target, format)? {
                    Ok(Some(target))
                } else {
                    Ok(None)
                }
            })
            .await?;
        if let Some(target) = removed {
            sync_parent_dir(&target).await;
            tracing::info!(backend = %self.backend_id, file = %target.display(), "removed the file of an earlier version of an item that now stores no rows");
        }
        Ok(())
    }

    /// Starts building a sink with id `backend_id` writing under `dir` (created by
    /// `connect`).
    pub fn builder(backend_id: impl Into<String>, dir: impl Into<PathBuf>) -> FileSinkBuilder {
        FileSinkBuilder::new(backend_id.into(), dir.into())
    }

    pub(crate) fn new(backend_id: String, dir: PathBuf, format: FileFormat) -> Self {
        let root = dir.clone();
        let extension = format.extension();
        let make_temp = move |path: &str| {
            let target = local_path(&root, &item_object_name(path, extension)?)?;
            let parent = prepare_parent(&root, &target)?;
            let name = target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            tempfile::Builder::new()
                .prefix(&format!(".{name}."))
                .suffix(".tmp")
                .tempfile_in(&parent)
                .map_err(|e| io_error(Error::storage, "creating a temp file in", &parent, e))
        };
        Self {
            backend_id,
            dir,
            format,
            connected: AtomicBool::new(false),
            items: OpenItems::new(format, true, Arc::new(make_temp)),
        }
    }

    /// The directory the files are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The layout of the files.
    pub fn format(&self) -> FileFormat {
        self.format
    }

    /// The file a record with `key` stored on its own is written to (whether or not it
    /// exists).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] when the key is empty or its name is too long.
    pub fn path_for_key(&self, key: &str) -> Result<PathBuf> {
        local_path(&self.dir, &object_name(key, self.format.extension())?)
    }

    /// The file the records of `item` are published to by
    /// [`finish_item`](StorageBackend::finish_item): `{dir}/{source}/{item}.{ext}`.
    ///
    /// ```
    /// use collectors_backends::{FileFormat, FileSink};
    /// use collectors_core::SourceItem;
    ///
    /// let sink = FileSink::builder("out", "/data/out").format(FileFormat::Parquet).build()?;
    /// let item = SourceItem::listed("sensor-files", "part-00.csv", "v1");
    /// assert_eq!(
    ///     sink.path_for_item(&item)?,
    ///     std::path::Path::new("/data/out/sensor-files/part-00.csv.parquet")
    /// );
    /// # Ok::<(), collectors_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] when the name is too long.
    pub fn path_for_item(&self, item: &SourceItem) -> Result<PathBuf> {
        local_path(
            &self.dir,
            &item_object_name(&path_of(item), self.format.extension())?,
        )
    }

    fn tag(&self, error: Error, operation: &str) -> Error {
        error
            .with_component(self.backend_id.clone())
            .with_operation(operation)
    }

    fn ensure_connected(&self, operation: &str) -> Result<()> {
        if self.connected.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(self.tag(
                Error::connection(format!(
                    "file sink on {} is not connected",
                    self.dir.display()
                )),
                operation,
            ))
        }
    }

    /// Runs blocking work (encoding, reading files) off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        operation: &str,
        work: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| {
                Error::invalid_state(format!("the blocking task failed: {e}")).with_source(e)
            })
            .and_then(|r| r)
            .map_err(|e| self.tag(e, operation))
    }

    fn location(&self, record: &Record, path: &Path, bytes: Option<u64>) -> StorageLocation {
        let mut location = StorageLocation::new(
            self.backend_id.clone(),
            record.key.clone(),
            path.display().to_string(),
        );
        location.created_at = record.created_at;
        let details = &mut location.metadata;
        details.insert("format".into(), self.format.extension().into());
        details.insert("kind".into(), kind_name(record.payload.kind()).into());
        if let Some(rows) = record.payload.num_rows() {
            details.insert("rows".into(), rows.into());
        }
        if let Some(bytes) = bytes {
            details.insert("bytes".into(), bytes.into());
        }
        location
    }

    /// Encodes and writes one checked record as a file of its own.
    async fn write(&self, record: Record, path: PathBuf) -> Result<StorageLocation> {
        let op = "store";
        let (format, root, target) = (self.format, self.dir.clone(), path.clone());
        let (record, encoded) = self
            .blocking(op, move || {
                prepare_parent(&root, &target)?;
                let encoded = codec::encode(format, &record)?;
                Ok((record, encoded))
            })
            .await?;
        let mut file = AtomicFile::create(&path, Error::storage)
            .await
            .map_err(|e| self.tag(e, op))?;
        file.write_all(&encoded.data)
            .await
            .map_err(|e| self.tag(e, op))?;
        file.commit().await.map_err(|e| self.tag(e, op))?;
        let size = u64::try_from(encoded.data.len()).ok();
        if let Some(sidecar) = encoded.sidecar {
            let target = path.clone();
            self.blocking(op, move || write_sidecar(&target, &sidecar))
                .await?;
            sync_parent_dir(&path).await;
        }
        Ok(self.location(&record, &path, size))
    }

    /// The files that can hold `key`: its item's file and its own.
    fn files_of_key(&self, key: &str) -> Vec<PathBuf> {
        let extension = self.format.extension();
        let mut files = Vec::with_capacity(2);
        if let Some(path) = item_path_of_key(key)
            && let Ok(name) = item_object_name(path, extension)
            && let Ok(file) = local_path(&self.dir, &name)
        {
            files.push(file);
        }
        if let Ok(file) = self.path_for_key(key) {
            files.push(file);
        }
        files
    }
}

/// `name` (a `/`-separated object name) under `root`, every segment a plain file name.
fn local_path(root: &Path, name: &str) -> Result<PathBuf> {
    let mut path = root.to_path_buf();
    for segment in name.split('/') {
        if segment.len() > MAX_FILE_NAME {
            return Err(Error::validation(format!(
                "{:?}… is too long for a file name: {} bytes, at most {MAX_FILE_NAME} fit",
                segment.chars().take(64).collect::<String>(),
                segment.len()
            )));
        }
        path.push(segment);
    }
    Ok(path)
}

/// Creates the folders of `target` and checks that they lie under `root` (no folder is a
/// symlink out of it); returns the parent folder.
fn prepare_parent(root: &Path, target: &Path) -> Result<PathBuf> {
    let parent = target
        .parent()
        .ok_or_else(|| Error::invalid_state(format!("{} has no folder", target.display())))?;
    std::fs::create_dir_all(parent)
        .map_err(|e| io_error(Error::storage, "creating directory", parent, e))?;
    let real_root =
        std::fs::canonicalize(root).map_err(|e| io_error(Error::storage, "resolving", root, e))?;
    let real_parent = std::fs::canonicalize(parent)
        .map_err(|e| io_error(Error::storage, "resolving", parent, e))?;
    if !real_parent.starts_with(&real_root) {
        return Err(Error::validation(format!(
            "{} leads out of {} (a symlink?): refused",
            parent.display(),
            root.display()
        )));
    }
    Ok(parent.to_path_buf())
}

#[async_trait]
impl StorageBackend for FileSink {
    fn backend_id(&self) -> &str {
        &self.backend_id
    }

    async fn connect(&self) -> Result<()> {
        if self.connected.load(Ordering::Acquire) {
            return Ok(());
        }
        tokio::fs::create_dir_all(&self.dir).await.map_err(|e| {
            self.tag(
                io_error(Error::storage, "creating directory", &self.dir, e),
                "connect",
            )
        })?;
        let meta = tokio::fs::metadata(&self.dir).await.map_err(|e| {
            self.tag(
                io_error(Error::storage, "reading directory", &self.dir, e),
                "connect",
            )
        })?;
        if !meta.is_dir() {
            return Err(self.tag(
                Error::configuration(format!("{} is not a directory", self.dir.display())),
                "connect",
            ));
        }
        self.connected.store(true, Ordering::Release);
        tracing::debug!(backend = %self.backend_id, dir = %self.dir.display(), format = %self.format, "connected");
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        if self.connected.swap(false, Ordering::AcqRel) {
            self.items.clear();
            tracing::debug!(backend = %self.backend_id, "disconnected");
        }
        Ok(())
    }

    /// Writes the record as a file of its own, whatever its key (see the layout).
    async fn store(&self, record: Record) -> Result<StorageLocation> {
        self.ensure_connected("store")?;
        let path = self
            .path_for_key(&record.key)
            .map_err(|e| self.tag(e, "store"))?;
        codec::check(self.format, &record).map_err(|e| self.tag(e, "store"))?;
        self.write(record, path).await
    }

    fn location_of(&self, record: &Record) -> StorageLocation {
        let path = match item_of(record) {
            Some(item) => item_object_name(&item, self.format.extension())
                .and_then(|name| local_path(&self.dir, &name)),
            None => self.path_for_key(&record.key),
        };
        let path = path.unwrap_or_else(|_| self.dir.clone());
        self.location(record, &path, None)
    }

    async fn store_batch(&self, records: &[Record]) -> Result<()> {
        let op = "store_batch";
        self.ensure_connected(op)?;
        // Check everything first: a bad record fails the batch before any file is written.
        let mut own = Vec::new();
        let mut groups: Vec<(String, Vec<Record>)> = Vec::new();
        for record in records {
            codec::check(self.format, record).map_err(|e| self.tag(e, op))?;
            match item_of(record) {
                Some(item) => {
                    item_object_name(&item, self.format.extension())
                        .and_then(|name| local_path(&self.dir, &name))
                        .map_err(|e| self.tag(e, op))?;
                    match groups.iter_mut().find(|(path, _)| *path == item) {
                        Some((_, group)) => group.push(record.clone()),
                        None => groups.push((item, vec![record.clone()])),
                    }
                }
                None => own.push((
                    record,
                    self.path_for_key(&record.key)
                        .map_err(|e| self.tag(e, op))?,
                )),
            }
        }
        if !groups.is_empty() {
            self.items
                .append(groups)
                .await
                .map_err(|e| self.tag(e, op))?;
        }
        for (record, path) in own {
            // Encoding runs on a blocking thread, which needs its own handle (cheap: tables
            // and bytes are reference-counted).
            self.write(record.clone(), path).await?;
        }
        tracing::trace!(backend = %self.backend_id, records = records.len(), "stored batch");
        Ok(())
    }

    async fn finish_item(&self, item: &SourceItem) -> Result<()> {
        let op = "finish_item";
        self.ensure_connected(op)?;
        let target = self.path_for_item(item).map_err(|e| self.tag(e, op))?;
        let Some(closed) = self.items.close(item).await.map_err(|e| self.tag(e, op))? else {
            return self.remove_stale(item, target).await;
        };
        let root = self.dir.clone();
        let target = self
            .blocking(op, move || {
                prepare_parent(&root, &target)?;
                closed.temp.persist(&target).map_err(|e| {
                    io_error(Error::storage, "renaming into place", &target, e.error)
                })?;
                if let Some(sidecar) = closed.sidecar {
                    write_sidecar(&target, &sidecar)?;
                }
                Ok(target)
            })
            .await?;
        sync_parent_dir(&target).await;
        tracing::debug!(backend = %self.backend_id, file = %target.display(), "published item");
        Ok(())
    }

    async fn abandon_item(&self, item: &SourceItem) {
        self.items.abandon(item);
    }

    async fn query(&self, criteria: &QueryCriteria) -> Result<Vec<StoredRecord>> {
        self.ensure_connected("query")?;
        let candidates = match &criteria.key {
            Some(key) => self.files_of_key(key),
            None => {
                let (dir, format) = (self.dir.clone(), self.format);
                let prefix = criteria.key_prefix.clone();
                self.blocking("query", move || {
                    let start = match prefix.as_deref().and_then(folder_of_prefix) {
                        Some(folder) => local_path(&dir, &folder)?,
                        None => dir.clone(),
                    };
                    let mut files = Vec::new();
                    walk(&start, format.extension(), &mut files)?;
                    Ok(files)
                })
                .await?
            }
        };
        let (format, criteria) = (self.format, criteria.clone());
        let found = self
            .blocking("query", move || query_files(candidates, format, &criteria))
            .await?;
        Ok(found
            .into_iter()
            .map(|(path, position, record, bytes)| {
                let mut location = self.location(&record, &path, bytes);
                location.metadata.insert("record".into(), position.into());
                StoredRecord { location, record }
            })
            .collect())
    }

    async fn delete(&self, location_id: &str) -> Result<bool> {
        self.ensure_connected("delete")?;
        let (files, format, key) = (
            self.files_of_key(location_id),
            self.format,
            location_id.to_owned(),
        );
        let deleted = self
            .blocking("delete", move || {
                let mut deleted = false;
                for file in files {
                    deleted |= delete_from_file(&file, format, &key)?;
                }
                Ok(deleted)
            })
            .await?;
        Ok(deleted)
    }
}

/// The files with `extension` under `dir`, recursively; hidden (temp) files, symlinks and
/// other files are not the sink's. A missing `dir` holds none.
fn walk(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(Error::storage, "listing", dir, e)),
    };
    let suffix = format!(".{extension}");
    for entry in entries {
        let entry = entry.map_err(|e| io_error(Error::storage, "listing", dir, e))?;
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') {
            continue;
        }
        if kind.is_dir() {
            walk(&entry.path(), extension, out)?;
        } else if kind.is_file() && name.ends_with(&suffix) {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// A matching record: its file, its position in the file, the record and the file's size.
type Found = (PathBuf, usize, Record, Option<u64>);

/// The matching records of `files`, sorted by key and paged; reads only the payloads of the
/// page.
fn query_files(
    files: Vec<PathBuf>,
    format: FileFormat,
    criteria: &QueryCriteria,
) -> Result<Vec<Found>> {
    let mut matching: Vec<(String, PathBuf, usize)> = Vec::new();
    for path in files {
        let index = match codec::read_file_index(format, &path) {
            Ok(Some(index)) => index,
            Ok(None) => continue, // deleted meanwhile
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "skipping a file that is not the sink's");
                continue;
            }
        };
        for (position, entry) in index.into_iter().enumerate() {
            if criteria.matches(&probe(entry.clone())) {
                matching.push((entry.key, path.clone(), position));
            }
        }
    }
    matching.sort_by(|a, b| a.0.cmp(&b.0));
    let page = criteria.page(matching);
    // Read each file once, for all of its records on the page.
    let mut by_file: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    for (_, path, position) in &page {
        by_file.entry(path.clone()).or_default().push(*position);
    }
    let mut read: BTreeMap<(PathBuf, usize), Record> = BTreeMap::new();
    for (path, mut positions) in by_file {
        positions.sort_unstable();
        for (position, record) in codec::read_file_records(format, &path, &positions)? {
            read.insert((path.clone(), position), record);
        }
    }
    let mut out = Vec::with_capacity(page.len());
    for (_, path, position) in page {
        let bytes = std::fs::metadata(&path).ok().map(|m| m.len());
        if let Some(record) = read.remove(&(path.clone(), position)) {
            out.push((path, position, record, bytes));
        }
    }
    Ok(out)
}

/// A record with the indexed fields only, for [`QueryCriteria::matches`].
pub(crate) fn probe(entry: IndexEntry) -> Record {
    Record {
        key: entry.key,
        payload: collectors_core::Payload::Empty,
        metadata: entry.metadata,
        created_at: entry.created_at,
    }
}

/// Takes the record `key` out of the file at `path`: removes the file when it is its only
/// record, rewrites the file without it (atomically) otherwise. `false` when the file does
/// not hold it.
fn delete_from_file(path: &Path, format: FileFormat, key: &str) -> Result<bool> {
    let index = match codec::read_file_index(format, path) {
        Ok(Some(index)) => index,
        Ok(None) => return Ok(false),
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "not deleting from a file that is not the sink's");
            return Ok(false);
        }
    };
    let Some(target) = index.iter().position(|e| e.key == key) else {
        return Ok(false);
    };
    if index.len() == 1 {
        return remove_file(path, format);
    }
    let stamp = codec::file_stamp(format, path)?.unwrap_or_else(ItemStamp::unknown);
    let parent = path.parent().unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".rewrite.")
        .suffix(".tmp")
        .tempfile_in(parent)
        .map_err(|e| io_error(Error::storage, "creating a temp file in", parent, e))?;
    let file = temp
        .reopen()
        .map_err(|e| io_error(Error::storage, "opening", temp.path(), e))?;
    let mut writer = ItemFileWriter::new(format, file)?;
    let keep: Vec<usize> = (0..index.len()).filter(|p| *p != target).collect();
    for pass in codec::read_passes(format, &keep) {
        for (_, record) in codec::read_file_records(format, path, pass)? {
            writer.append(&record)?;
        }
    }
    let finished = writer.finish(&stamp)?;
    if let Some(finished) = &finished {
        finished
            .file
            .sync_all()
            .map_err(|e| io_error(Error::storage, "syncing", temp.path(), e))?;
    }
    temp.persist(path)
        .map_err(|e| io_error(Error::storage, "renaming into place", path, e.error))?;
    if let Some(sidecar) = finished.and_then(|f| f.sidecar) {
        write_sidecar(path, &sidecar)?;
    }
    Ok(true)
}

/// Removes the file at `path`, then its sidecar index (CSV); `false` when it was gone.
fn remove_file(path: &Path, format: FileFormat) -> Result<bool> {
    let removed = match std::fs::remove_file(path) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(io_error(Error::storage, "deleting", path, e)),
    };
    if format.has_sidecar() {
        let sidecar = super::csv_file::sidecar_path(path);
        match std::fs::remove_file(&sidecar) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(Error::storage, "deleting", &sidecar, e)),
        }
    }
    Ok(removed)
}

/// Writes the sidecar index of the file at `data` beside it: temp file, fsync, rename (the
/// caller syncs the folder).
fn write_sidecar(data: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let target = super::csv_file::sidecar_path(data);
    let parent = target.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".index.")
        .suffix(".tmp")
        .tempfile_in(parent)
        .map_err(|e| io_error(Error::storage, "creating a temp file in", parent, e))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| io_error(Error::storage, "writing", temp.path(), e))?;
    temp.persist(&target)
        .map_err(|e| io_error(Error::storage, "renaming into place", &target, e.error))?;
    Ok(())
}
