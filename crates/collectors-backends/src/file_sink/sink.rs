//! [`FileSink`]: one record per file under a directory, each written atomically.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use collectors_core::{
    Error, QueryCriteria, Record, Result, StorageBackend, StorageLocation, StoredRecord,
    async_trait,
};

use super::builder::FileSinkBuilder;
use super::codec::{self, kind_name};
use super::format::FileFormat;
use super::name;
use crate::fs_util::{AtomicFile, io_error, sync_parent_dir};

/// A [`StorageBackend`] that writes each record as one file under a directory, in JSON lines
/// or Parquet (see [`FileFormat`]).
///
/// # Layout
///
/// - The file of a record is named after its key: every byte outside `[A-Za-z0-9._-]` (and
///   a leading `.`) is percent-encoded (`sensor-files/a.csv#0` →
///   `sensor-files%2Fa.csv%230.jsonl`). The encoding is reversible and one name never holds a
///   `/`, a NUL or a `..` of its own, so no key can reach outside the directory. A key whose
///   encoded name exceeds 255 bytes is an [`Error::Validation`]. Keys differing only in
///   letter case collide on case-insensitive file systems (macOS, Windows defaults).
/// - [`StorageLocation::location_id`] is the key, [`StorageLocation::path`] the file path.
///
/// # Behaviour
///
/// - `store` writes a temp file beside the target (`.{name}.{uuid}.tmp`), fsyncs it, renames
///   it over the target and fsyncs the directory: a reader sees the old file or the new one,
///   never half of one. Storing a key again replaces its file, so replays never duplicate.
/// - `store_batch` checks every record first (keys, and kinds for Parquet), then writes them
///   one by one. A batch is **not atomic as a whole**: on an error the records before it are
///   stored, the failing one and those after it are not, and none is half-written, so
///   re-running the batch is safe (what the [`StorageBackend`] contract asks).
/// - `query` lists the directory, decodes file names back to keys, applies the key and key
///   prefix criteria on the names, reads only the headers (JSON lines) or footers (Parquet)
///   of those to filter on metadata and time, sorts by key, pages, and only then reads the
///   payloads of the page. It runs on a blocking thread. Temp files, files of the other
///   format and any name the sink cannot have written are ignored, so a temp file left by a
///   crash breaks nothing (it is never removed automatically: another writer may own it).
/// - `delete` removes the file of a key; a key without a file is `Ok(false)`.
/// - Calls before `connect` or after `disconnect` are an [`Error::Connection`]. `connect`
///   creates the directory.
///
/// # Errors
///
/// | failure | error | retryable |
/// |---|---|---|
/// | I/O (permissions, disk full, …), naming the path, with the `io::Error` as source | [`Error::Storage`] | yes |
/// | not connected | [`Error::Connection`] | yes |
/// | empty or too long key; payload the format cannot hold (non-table to Parquet, NaN or an infinity to JSON lines, unsupported Arrow type) | [`Error::Validation`] | no |
/// | a file that does not read back (changed behind the sink's back) | [`Error::InvalidState`] | no |
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch, StringArray};
/// use collectors_backends::{FileFormat, FileSink};
/// use collectors_core::{Payload, QueryCriteria, Record, StorageBackend};
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
/// let record = Record::keyed("day-1.csv#0", Payload::Table(batch.clone()))?;
/// let location = sink.store(record.clone()).await?;
/// sink.store(record).await?; // a replay replaces the file, it does not duplicate
/// assert!(location.path.ends_with("day-1.csv%230.jsonl"));
///
/// let found = sink.query(&QueryCriteria::new().key_prefix("day-1")).await?;
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].record.payload, Payload::Table(batch));
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
}

impl FileSink {
    /// Starts building a sink with id `backend_id` writing under `dir` (created by
    /// `connect`).
    pub fn builder(backend_id: impl Into<String>, dir: impl Into<PathBuf>) -> FileSinkBuilder {
        FileSinkBuilder::new(backend_id.into(), dir.into())
    }

    pub(crate) fn new(backend_id: String, dir: PathBuf, format: FileFormat) -> Self {
        Self {
            backend_id,
            dir,
            format,
            connected: AtomicBool::new(false),
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

    /// The file a record with `key` is stored in (whether or not it exists).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] when the key is empty or its encoded name is longer than 255
    /// bytes.
    pub fn path_for_key(&self, key: &str) -> Result<PathBuf> {
        name::file_name(key, self.format.extension())
            .map(|name| self.dir.join(name))
            .map_err(Error::validation)
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

    /// Encodes and writes one checked record.
    async fn write(&self, record: Record, path: PathBuf) -> Result<StorageLocation> {
        let op = "store";
        let format = self.format;
        let (record, bytes) = self
            .blocking(op, move || {
                let bytes = codec::encode(format, &record)?;
                Ok((record, bytes))
            })
            .await?;
        let mut file = AtomicFile::create(&path, Error::storage)
            .await
            .map_err(|e| self.tag(e, op))?;
        file.write_all(&bytes).await.map_err(|e| self.tag(e, op))?;
        file.commit().await.map_err(|e| self.tag(e, op))?;
        Ok(self.location(&record, &path, u64::try_from(bytes.len()).ok()))
    }
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
            tracing::debug!(backend = %self.backend_id, "disconnected");
        }
        Ok(())
    }

    async fn store(&self, record: Record) -> Result<StorageLocation> {
        self.ensure_connected("store")?;
        let path = self
            .path_for_key(&record.key)
            .map_err(|e| self.tag(e, "store"))?;
        codec::check(self.format, &record).map_err(|e| self.tag(e, "store"))?;
        self.write(record, path).await
    }

    async fn store_batch(&self, records: &[Record]) -> Result<()> {
        let op = "store_batch";
        self.ensure_connected(op)?;
        // Check everything first: a bad record fails the batch before any file is written.
        let mut paths = Vec::with_capacity(records.len());
        for record in records {
            paths.push(
                self.path_for_key(&record.key)
                    .map_err(|e| self.tag(e, op))?,
            );
            codec::check(self.format, record).map_err(|e| self.tag(e, op))?;
        }
        for (record, path) in records.iter().zip(paths) {
            // Encoding runs on a blocking thread, which needs its own handle (cheap: tables
            // and bytes are reference-counted).
            self.write(record.clone(), path).await?;
        }
        tracing::trace!(backend = %self.backend_id, records = records.len(), "stored batch");
        Ok(())
    }

    async fn query(&self, criteria: &QueryCriteria) -> Result<Vec<StoredRecord>> {
        self.ensure_connected("query")?;
        let (dir, format, criteria) = (self.dir.clone(), self.format, criteria.clone());
        let found = self
            .blocking("query", move || query_dir(&dir, format, &criteria))
            .await?;
        Ok(found
            .into_iter()
            .map(|(path, record, bytes)| StoredRecord {
                location: self.location(&record, &path, bytes),
                record,
            })
            .collect())
    }

    async fn delete(&self, location_id: &str) -> Result<bool> {
        self.ensure_connected("delete")?;
        // A key without a possible file name has no file.
        let Ok(path) = self.path_for_key(location_id) else {
            return Ok(false);
        };
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {
                sync_parent_dir(&path).await;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.tag(io_error(Error::storage, "deleting", &path, e), "delete")),
        }
    }
}

/// The matching records under `dir`, sorted by key and paged, each with its path and size.
fn query_dir(
    dir: &Path,
    format: FileFormat,
    criteria: &QueryCriteria,
) -> Result<Vec<(PathBuf, Record, Option<u64>)>> {
    let extension = format.extension();
    let entries =
        std::fs::read_dir(dir).map_err(|e| io_error(Error::storage, "listing", dir, e))?;
    let mut candidates = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(Error::storage, "listing", dir, e))?;
        let file_name = entry.file_name();
        // Not UTF-8, a temp file, another format, a foreign name: not ours.
        let Some(key) = file_name
            .to_str()
            .and_then(|name| name::key_of(name, extension))
        else {
            continue;
        };
        if criteria.key.as_ref().is_some_and(|k| *k != key)
            || criteria
                .key_prefix
                .as_ref()
                .is_some_and(|p| !key.starts_with(p.as_str()))
        {
            continue;
        }
        // Regular files only: a symlink could point outside the directory.
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        candidates.push((key, entry.path()));
    }
    candidates.sort_unstable_by(|a, b| a.0.cmp(&b.0));

    // Filter on headers only, then read the payloads of the page.
    let mut matching = Vec::new();
    for (key, path) in candidates {
        let Some(header) = codec::read_header(format, &path)? else {
            continue; // deleted meanwhile
        };
        if header.key != key {
            return Err(codec::corrupt(
                &path,
                format!("holds key {:?} but is named for {key:?}", header.key),
            ));
        }
        let probe = Record {
            key: header.key,
            payload: collectors_core::Payload::Empty,
            metadata: header.metadata,
            created_at: header.created_at,
        };
        if criteria.matches(&probe) {
            matching.push(path);
        }
    }
    let mut out = Vec::new();
    for path in criteria.page(matching) {
        let Some(record) = codec::read_record(format, &path)? else {
            continue; // deleted meanwhile
        };
        let bytes = std::fs::metadata(&path).ok().map(|m| m.len());
        out.push((path, record, bytes));
    }
    Ok(out)
}
