//! [`ObjectStoreStorage`]: one object per source item (and per record stored on its own),
//! under readable names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use collectors_core::{
    Connector, Error, ErrorType, ListOptions, QueryCriteria, Record, Result, SourceItem,
    StorageBackend, StorageLocation, StoredRecord, async_trait,
};
use futures::stream::{self, StreamExt, TryStreamExt};

use super::connector::ObjectStoreConnector;
use super::write::WriteOptions;
use crate::file_sink::FileFormat;
use crate::file_sink::codec;
use crate::file_sink::layout::{folder_of_prefix, item_object_name, item_path_of_key, object_name};
use crate::file_sink::open_items::{ClosedItem, OpenItems, item_of, path_of};

/// Objects written at once by `store_batch`.
const WRITES_IN_FLIGHT: usize = 8;

/// A [`StorageBackend`] that writes **one object per source item** to a store (any
/// [`ObjectStoreConnector`]: S3, GCS, Azure, a local directory, memory), in the layouts of
/// [`FileSink`](crate::FileSink): Parquet (table payloads; plain rows, one row group per
/// batch, so any Parquet reader sees a dataset), CSV (flat tables; plain rows under one
/// header, with a hidden index object `.{name}.index.json` beside each that holds the
/// records' keys, metadata and exact schema) or JSON lines (a header line, then one
/// object per row, per record; every payload kind).
///
/// # Layout
///
/// - The records the engine makes for a source item (see [`StorageBackend`]'s contract) go
///   to one object, `{prefix}/{source}/{item}.{ext}`, its row groups the item's batches in
///   order: `s3://bucket/out/raw/2024/01/readings.csv.parquet` for object
///   `2024/01/readings.csv` of source `raw`. `s3://bucket/out/**/*.parquet` reads as one
///   dataset in DuckDB, pyarrow or Spark.
/// - Any other record (stored by `store`, or a key without an item) is one object named
///   after its key: `a/b` → `a/b.jsonl`; `src/x.csv#3` → `src/x.csv/part-00003.jsonl`.
/// - Only `%`, control characters, empty, `.` and `..` segments are percent-encoded (see
///   [`FileSink`](crate::FileSink)). A name over 1 024 bytes is an [`Error::Validation`].
///
/// # Behaviour
///
/// - `store_batch` checks every record (kind, one schema per item for Parquet) before
///   writing any. An item's records are appended to a temp file on local disk (in
///   [`temp_dir`](Self::temp_dir), default the system's), one row group each, so memory
///   holds one batch at a time whatever the item's size; a key the item's file already holds
///   is not written again (a retried batch). Records stored on their own go up at once, up
///   to 8 objects at a time, each whole or not at all.
/// - `finish_item` closes the item's file and uploads it to its name (then, for CSV, its
///   index; an object whose size disagrees with its index is skipped by `query`, so a
///   crash between the two uploads leaves nothing half-read) (one `PUT` up to the
///   connector's multipart threshold, a streamed multipart upload above it): nothing is
///   visible before, and a redone item writes the same name. An item with no stored record
///   writes no object, and deletes the Parquet or CSV object an earlier version of it left
///   (a create-only store keeps it). `abandon_item` and `disconnect` drop the temp files of
///   items in flight.
/// - Storing again replaces an object, unless [`create_only`](Self::create_only) is set:
///   then an existing object is never replaced. A record of its own whose object exists
///   counts as stored (a replay is a no-op). An item whose object exists counts as stored
///   when the object was written for the same version of the item (a redo after a crash
///   between the upload and the checkpoint; Parquet and CSV carry the stamp), or holds no
///   stamp to tell (JSON lines); when
///   it was written for another version (the input changed) `finish_item` fails with
///   [`Error::InvalidState`], not retried, and the item is not checkpointed.
/// - `query` by `key` reads the key's item object and its own object; by `key_prefix` it
///   lists the prefix's folder. It reads each candidate's record index, filters on key,
///   metadata and time, sorts by key, pages, then reads the page's records. Objects of the
///   other format or foreign objects that do not decode are skipped with a warning. Each
///   object read is held in memory while it is read.
/// - `delete` removes the record of a key (`location_id` is the key): its own object is
///   deleted; a record of an item object is taken out by uploading the object again
///   without it (or deleting it, when it was the last); `Ok(false)` when there is none.
/// - Calls before `connect` or after `disconnect` are an [`Error::Connection`]; `connect`
///   checks the store.
///
/// ```
/// use std::sync::Arc;
/// use collectors_backends::FileFormat;
/// use collectors_backends::object_store::{get_connector, ObjectStoreConfig, ObjectStoreStorage};
/// use collectors_core::{Payload, QueryCriteria, Record, SourceItem, StorageBackend};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = Arc::new(get_connector("memory:///out", &ObjectStoreConfig::new())?);
/// let sink = ObjectStoreStorage::new("lake", store.clone(), FileFormat::Jsonl);
/// sink.connect().await?;
/// // A record of its own is one object at once.
/// let record = Record::keyed("notes/a", Payload::Json(serde_json::json!({"n": 1})))?;
/// let location = sink.store(record).await?;
/// assert_eq!(location.path, "memory:///out/notes/a.jsonl");
/// // An item's records become one object when the item is finished.
/// let batch = Record::keyed("incoming/a.csv#0", Payload::Json(serde_json::json!({"n": 2})))?
///     .with_metadata("source_id", "incoming")
///     .with_metadata("item_id", "a.csv")
///     .with_metadata("batch", 0);
/// sink.store_batch(&[batch]).await?;
/// sink.finish_item(&SourceItem::listed("incoming", "a.csv", "v1")).await?;
/// let found = sink.query(&QueryCriteria::new().key_prefix("incoming/")).await?;
/// assert_eq!(found[0].location.path, "memory:///out/incoming/a.csv.jsonl");
/// # Ok::<(), collectors_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct ObjectStoreStorage {
    backend_id: String,
    connector: Arc<ObjectStoreConnector>,
    format: FileFormat,
    create_only: bool,
    connected: AtomicBool,
    temp_dir: PathBuf,
    items: OpenItems,
}

impl ObjectStoreStorage {
    /// A store `backend_id` writing `format` objects through `connector`.
    pub fn new(
        backend_id: impl Into<String>,
        connector: Arc<ObjectStoreConnector>,
        format: FileFormat,
    ) -> Self {
        let temp_dir = std::env::temp_dir();
        Self {
            backend_id: backend_id.into(),
            connector,
            format,
            create_only: false,
            connected: AtomicBool::new(false),
            items: OpenItems::new(format, false, temp_maker(temp_dir.clone())),
            temp_dir,
        }
    }

    /// Never replace an object (see the behaviour above).
    #[must_use]
    pub fn create_only(mut self, create_only: bool) -> Self {
        self.create_only = create_only;
        self
    }

    /// The local directory items in flight are written to before their upload (default:
    /// the system's temp directory).
    #[must_use]
    pub fn with_temp_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.temp_dir = dir.into();
        self.items = OpenItems::new(self.format, false, temp_maker(self.temp_dir.clone()));
        self
    }

    /// Where items in flight are written before their upload.
    pub fn temp_dir(&self) -> &Path {
        &self.temp_dir
    }

    /// The format of the objects.
    pub fn format(&self) -> FileFormat {
        self.format
    }

    /// The connector underneath.
    pub fn connector(&self) -> &Arc<ObjectStoreConnector> {
        &self.connector
    }

    /// The object name (relative to the connector's prefix) a record with `key` stored on
    /// its own is written to.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for an empty key or one whose name is too long.
    pub fn object_name(&self, key: &str) -> Result<String> {
        object_name(key, self.format.extension()).map_err(|e| self.tag(e, "object_name"))
    }

    /// The object name (relative to the connector's prefix) the records of `item` are
    /// published to: `{source}/{item}.{ext}`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use collectors_backends::FileFormat;
    /// # use collectors_backends::object_store::{get_connector, ObjectStoreConfig, ObjectStoreStorage};
    /// # let store = Arc::new(get_connector("memory:///", &ObjectStoreConfig::new())?);
    /// let sink = ObjectStoreStorage::new("lake", store, FileFormat::Parquet);
    /// let item = collectors_core::SourceItem::listed("raw", "2024/part-00.csv", "v1");
    /// assert_eq!(sink.item_object_name(&item)?, "raw/2024/part-00.csv.parquet");
    /// # Ok::<(), collectors_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for a name that is too long.
    pub fn item_object_name(&self, item: &SourceItem) -> Result<String> {
        item_object_name(&path_of(item), self.format.extension())
            .map_err(|e| self.tag(e, "item_object_name"))
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
                    "object store {} is not connected",
                    self.connector.uri()
                )),
                operation,
            ))
        }
    }

    fn location(&self, record: &Record, name: &str, bytes: Option<u64>) -> StorageLocation {
        let uri = self
            .connector
            .object_path(name)
            .map(|p| self.connector.display(&p))
            .unwrap_or_else(|_| name.to_owned());
        let mut location = StorageLocation::new(self.backend_id.clone(), record.key.clone(), uri);
        location.created_at = record.created_at;
        let details = &mut location.metadata;
        details.insert("format".into(), self.format.extension().into());
        details.insert(
            "kind".into(),
            codec::kind_name(record.payload.kind()).into(),
        );
        if let Some(rows) = record.payload.num_rows() {
            details.insert("rows".into(), rows.into());
        }
        if let Some(bytes) = bytes {
            details.insert("bytes".into(), bytes.into());
        }
        location
    }

    async fn write(&self, record: &Record, name: &str) -> Result<StorageLocation> {
        let op = "store";
        let (format, owned) = (self.format, record.clone());
        let encoded = tokio::task::spawn_blocking(move || codec::encode(format, &owned))
            .await
            .map_err(|e| Error::invalid_state(format!("the encoding task failed: {e}")))
            .and_then(|r| r)
            .map_err(|e| self.tag(e, op))?;
        let size = encoded.data.len() as u64;
        match self
            .connector
            .write_file(name, Bytes::from(encoded.data), &self.write_options())
            .await
        {
            Ok(_) => {}
            Err(e) if self.create_only && e.error_type() == ErrorType::InvalidState => {
                tracing::debug!(backend = %self.backend_id, key = %record.key, "already stored (create-only)");
            }
            Err(e) => return Err(self.tag(e, op)),
        }
        if let Some(sidecar) = encoded.sidecar {
            self.put_sidecar(name, sidecar, self.create_only, op)
                .await?;
        }
        Ok(self.location(record, name, Some(size)))
    }

    /// How objects are written: create-only or not, with the format's content type.
    fn write_options(&self) -> WriteOptions {
        if self.create_only {
            WriteOptions::create_only()
        } else {
            WriteOptions::overwrite()
        }
        .content_type(self.content_type())
    }

    /// Writes the sidecar index of object `name` (CSV), after the object. When
    /// `create_only`, an index that exists stays (written with the object, by a run that then
    /// stopped).
    async fn put_sidecar(
        &self,
        name: &str,
        sidecar: Vec<u8>,
        create_only: bool,
        operation: &str,
    ) -> Result<()> {
        let options = if create_only {
            WriteOptions::create_only()
        } else {
            WriteOptions::overwrite()
        }
        .content_type("application/json");
        let index = codec::index_object(self.format, name);
        match self
            .connector
            .write_file(&index, Bytes::from(sidecar), &options)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if create_only && e.error_type() == ErrorType::InvalidState => Ok(()),
            Err(e) => Err(self.tag(e, operation)),
        }
    }

    /// Deletes object `name`, then its sidecar index (CSV); `false` when it was gone.
    async fn delete_object(&self, name: &str, operation: &str) -> Result<bool> {
        let deleted = self
            .connector
            .delete(name)
            .await
            .map_err(|e| self.tag(e, operation))?;
        if self.format.has_sidecar() {
            let index = codec::index_object(self.format, name);
            self.connector
                .delete(&index)
                .await
                .map_err(|e| self.tag(e, operation))?;
        }
        Ok(deleted)
    }

    /// The bytes of an object; `None` when there is none.
    async fn read_bytes(&self, name: &str, operation: &str) -> Result<Option<Bytes>> {
        match self.connector.read_file(name).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.error_type() == ErrorType::NotFound => Ok(None),
            Err(e) => Err(self.tag(e, operation)),
        }
    }

    /// The record index of an object (`size`: its size, when the listing gave it); `None`
    /// when it is gone or not a file of this store.
    async fn index_of(
        &self,
        name: &str,
        size: Option<u64>,
    ) -> Result<Option<Vec<crate::file_sink::item_file::IndexEntry>>> {
        let Some(bytes) = self
            .read_bytes(&codec::index_object(self.format, name), "query")
            .await?
        else {
            return Ok(None);
        };
        // A sidecar index must describe the object beside it (and the object must be there).
        let size = match size {
            Some(size) => Some(size),
            None if self.format.has_sidecar() => match self.size_of(name).await? {
                Some(size) => Some(size),
                None => return Ok(None),
            },
            None => None,
        };
        let (format, shown) = (self.format, name.to_owned());
        let index =
            blocking(move || codec::bytes_index(format, bytes, Path::new(&shown), size)).await?;
        match index {
            Ok(index) => Ok(Some(index)),
            Err(e) => {
                tracing::warn!(backend = %self.backend_id, object = %name, error = %e, "skipping an object that is not a file of this store");
                Ok(None)
            }
        }
    }

    /// The size of object `name`; `None` when there is none.
    async fn size_of(&self, name: &str) -> Result<Option<u64>> {
        match Connector::get_metadata(self.connector.as_ref(), name).await {
            Ok(meta) => Ok(meta.get("size").and_then(|v| v.as_u64())),
            Err(e) if e.error_type() == ErrorType::NotFound => Ok(None),
            Err(e) => Err(self.tag(e, "query")),
        }
    }

    /// The sidecar index of object `name` (CSV; `None` for the other formats).
    async fn sidecar_of(&self, name: &str, operation: &str) -> Result<Option<Bytes>> {
        if !self.format.has_sidecar() {
            return Ok(None);
        }
        self.read_bytes(&codec::index_object(self.format, name), operation)
            .await
    }

    /// The records at `positions` (ascending) of an object.
    async fn records_of(&self, name: &str, positions: Vec<usize>) -> Result<Vec<(usize, Record)>> {
        let Some(bytes) = self.read_bytes(name, "query").await? else {
            return Ok(Vec::new());
        };
        let sidecar = self.sidecar_of(name, "query").await?;
        let (format, shown) = (self.format, name.to_owned());
        blocking(move || {
            codec::bytes_records(
                format,
                bytes,
                sidecar.as_deref(),
                Path::new(&shown),
                &positions,
            )
        })
        .await?
        .map_err(|e| self.tag(e, "query"))
    }

    /// The objects that can hold `key`: its item's object and its own.
    fn objects_of_key(&self, key: &str) -> Vec<String> {
        let extension = self.format.extension();
        let mut names = Vec::with_capacity(2);
        if let Some(path) = item_path_of_key(key)
            && let Ok(name) = item_object_name(path, extension)
        {
            names.push(name);
        }
        if let Ok(name) = object_name(key, extension) {
            names.push(name);
        }
        names
    }

    /// Uploads an item's closed file to `name`, as the create-only rule says.
    async fn publish(&self, item: &SourceItem, name: &str, closed: ClosedItem) -> Result<()> {
        let op = "finish_item";
        let uploaded = self
            .connector
            .upload_file(name, closed.temp.path(), &self.write_options())
            .await;
        let exists = match uploaded {
            Ok(_) => false,
            Err(e) if self.create_only && e.error_type() == ErrorType::InvalidState => true,
            Err(e) => return Err(self.tag(e, op)),
        };
        if let Some(sidecar) = closed.sidecar {
            // Written after the object; a create-only store keeps the one it has.
            self.put_sidecar(name, sidecar, self.create_only, op)
                .await?;
        }
        if !exists {
            return Ok(());
        }
        let Some(bytes) = self
            .read_bytes(&codec::index_object(self.format, name), op)
            .await?
        else {
            // Gone again: let the retry write it.
            return Err(self.tag(
                Error::storage(format!(
                    "{name} exists but its index could not be read back"
                )),
                op,
            ));
        };
        let (format, shown) = (self.format, name.to_owned());
        let stamp = blocking(move || codec::bytes_stamp(format, bytes, Path::new(&shown)))
            .await?
            .map_err(|e| self.tag(e, op))?;
        match stamp {
            Some(stamp) if stamp.version != item.version => Err(self.tag(
                Error::invalid_state(format!(
                    "{name} exists, written for version {:?} of item {:?}; the store is \
                     create-only and does not replace it with version {:?}",
                    stamp.version, item.item_id, item.version
                )),
                op,
            )),
            _ => {
                tracing::debug!(backend = %self.backend_id, object = %name, "item already stored (create-only)");
                Ok(())
            }
        }
    }

    /// An item that now stores no rows leaves no object; one written for another version of
    /// it (Parquet objects say which) would show rows the item no longer has, so it is
    /// deleted, unless the store is create-only (then it stays, with a warning).
    async fn remove_stale(&self, item: &SourceItem, name: &str) -> Result<()> {
        let op = "finish_item";
        let Some(bytes) = self
            .read_bytes(&codec::index_object(self.format, name), op)
            .await?
        else {
            return Ok(());
        };
        let (format, shown) = (self.format, name.to_owned());
        let stamp = blocking(move || codec::bytes_stamp(format, bytes, Path::new(&shown)))
            .await?
            .map_err(|e| self.tag(e, op))?;
        if stamp.is_none_or(|stamp| stamp.version == item.version) {
            return Ok(());
        }
        if self.create_only {
            tracing::warn!(backend = %self.backend_id, object = %name, "item now stores no rows; its object of an earlier version stays (create-only store)");
            return Ok(());
        }
        self.delete_object(name, op).await?;
        tracing::info!(backend = %self.backend_id, object = %name, "deleted the object of an earlier version of an item that now stores no rows");
        Ok(())
    }

    fn content_type(&self) -> &'static str {
        match self.format {
            FileFormat::Parquet => "application/vnd.apache.parquet",
            FileFormat::Csv => "text/csv",
            _ => "application/x-ndjson",
        }
    }

    /// Takes the record `key` out of the object `name` (see `delete`).
    async fn delete_from(&self, name: &str, key: &str) -> Result<bool> {
        let op = "delete";
        let Some(bytes) = self.read_bytes(name, op).await? else {
            return Ok(false);
        };
        let sidecar = self.sidecar_of(name, op).await?;
        let (format, shown) = (self.format, name.to_owned());
        let (held, held_index) = (bytes.clone(), sidecar.clone());
        let index = blocking(move || {
            let size = Some(held.len() as u64);
            codec::bytes_index(format, held_index.unwrap_or(held), Path::new(&shown), size)
        })
        .await?;
        let index = match index {
            Ok(index) => index,
            Err(e) => {
                tracing::warn!(backend = %self.backend_id, object = %name, error = %e, "not deleting from an object that is not a file of this store");
                return Ok(false);
            }
        };
        let Some(target) = index.iter().position(|e| e.key == key) else {
            return Ok(false);
        };
        if index.len() == 1 {
            return self.delete_object(name, op).await;
        }
        let (shown, dir) = (name.to_owned(), self.temp_dir.clone());
        let (temp, finished_sidecar) = blocking(move || {
            let temp = tempfile::Builder::new()
                .prefix(".collectors-rewrite-")
                .suffix(".tmp")
                .tempfile_in(&dir)
                .map_err(|e| {
                    Error::storage(format!("creating a temp file in {}: {e}", dir.display()))
                        .with_source(e)
                })?;
            let file = temp
                .reopen()
                .map_err(|e| Error::storage(format!("opening a temp file: {e}")).with_source(e))?;
            let stamp = codec::bytes_stamp(
                format,
                sidecar.clone().unwrap_or_else(|| bytes.clone()),
                Path::new(&shown),
            )?
            .unwrap_or_else(crate::file_sink::item_file::ItemStamp::unknown);
            let mut writer = crate::file_sink::item_file::ItemFileWriter::new(format, file)?;
            let keep: Vec<usize> = (0..index.len()).filter(|p| *p != target).collect();
            for pass in codec::read_passes(format, &keep) {
                let records = codec::bytes_records(
                    format,
                    bytes.clone(),
                    sidecar.as_deref(),
                    Path::new(&shown),
                    pass,
                )?;
                for (_, record) in records {
                    writer.append(&record)?;
                }
            }
            let finished = writer.finish(&stamp)?;
            Ok((temp, finished.and_then(|f| f.sidecar)))
        })
        .await?
        .map_err(|e| self.tag(e, op))?;
        let options = WriteOptions::overwrite().content_type(self.content_type());
        self.connector
            .upload_file(name, temp.path(), &options)
            .await
            .map_err(|e| self.tag(e, op))?;
        if let Some(sidecar) = finished_sidecar {
            self.put_sidecar(name, sidecar, false, op).await?;
        }
        Ok(true)
    }
}

/// Makes the temp file of an item in flight in `dir`.
fn temp_maker(dir: PathBuf) -> Arc<crate::file_sink::open_items::MakeTemp> {
    Arc::new(move |_path: &str| {
        tempfile::Builder::new()
            .prefix(".collectors-item-")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| {
                Error::storage(format!("creating a temp file in {}: {e}", dir.display()))
                    .with_source(e)
            })
    })
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::invalid_state(format!("the blocking task failed: {e}")))
}

#[async_trait]
impl StorageBackend for ObjectStoreStorage {
    fn backend_id(&self) -> &str {
        &self.backend_id
    }

    async fn connect(&self) -> Result<()> {
        if self.connected.load(Ordering::Acquire) {
            return Ok(());
        }
        self.connector
            .test_connection()
            .await
            .map_err(|e| self.tag(e, "connect"))?;
        self.connected.store(true, Ordering::Release);
        Ok(())
    }

    async fn disconnect(&self) -> Result<()> {
        self.connected.store(false, Ordering::Release);
        self.items.clear();
        Ok(())
    }

    /// Writes the record as an object of its own, whatever its key (see the layout).
    async fn store(&self, record: Record) -> Result<StorageLocation> {
        self.ensure_connected("store")?;
        let name = self.object_name(&record.key)?;
        codec::check(self.format, &record).map_err(|e| self.tag(e, "store"))?;
        self.write(&record, &name).await
    }

    fn location_of(&self, record: &Record) -> StorageLocation {
        let name = match item_of(record) {
            Some(item) => item_object_name(&item, self.format.extension()),
            None => self.object_name(&record.key),
        };
        let name = name.unwrap_or_else(|_| record.key.clone());
        self.location(record, &name, None)
    }

    async fn store_batch(&self, records: &[Record]) -> Result<()> {
        let op = "store_batch";
        self.ensure_connected(op)?;
        let mut own = Vec::new();
        let mut groups: Vec<(String, Vec<Record>)> = Vec::new();
        for record in records {
            codec::check(self.format, record).map_err(|e| self.tag(e, op))?;
            match item_of(record) {
                Some(item) => {
                    item_object_name(&item, self.format.extension())
                        .map_err(|e| self.tag(e, op))?;
                    match groups.iter_mut().find(|(path, _)| *path == item) {
                        Some((_, group)) => group.push(record.clone()),
                        None => groups.push((item, vec![record.clone()])),
                    }
                }
                None => own.push((record, self.object_name(&record.key)?)),
            }
        }
        if !groups.is_empty() {
            self.items
                .append(groups)
                .await
                .map_err(|e| self.tag(e, op))?;
        }
        let writes: Vec<_> = own
            .iter()
            .map(|(record, name)| self.write(record, name))
            .collect();
        stream::iter(writes)
            .buffer_unordered(WRITES_IN_FLIGHT)
            .try_for_each(|_| async { Ok(()) })
            .await
    }

    async fn finish_item(&self, item: &SourceItem) -> Result<()> {
        let op = "finish_item";
        self.ensure_connected(op)?;
        let name = self.item_object_name(item)?;
        let Some(closed) = self.items.close(item).await.map_err(|e| self.tag(e, op))? else {
            return self.remove_stale(item, &name).await;
        };
        self.publish(item, &name, closed).await?;
        tracing::debug!(backend = %self.backend_id, object = %name, "published item");
        Ok(())
    }

    async fn abandon_item(&self, item: &SourceItem) {
        self.items.abandon(item);
    }

    async fn query(&self, criteria: &QueryCriteria) -> Result<Vec<StoredRecord>> {
        self.ensure_connected("query")?;
        // Each candidate object, with its size when the listing gave it.
        let names: Vec<(String, Option<u64>)> = match &criteria.key {
            Some(key) => self
                .objects_of_key(key)
                .into_iter()
                .map(|name| (name, None))
                .collect(),
            None => {
                let mut options = ListOptions::new();
                options.path = criteria.key_prefix.as_deref().and_then(folder_of_prefix);
                let extension = format!(".{}", self.format.extension());
                self.connector
                    .list_items(&options)
                    .await
                    .map_err(|e| self.tag(e, "query"))?
                    .into_iter()
                    .filter(|item| item.path.ends_with(&extension))
                    .map(|item| (item.path, Some(item.size)))
                    .collect()
            }
        };
        let mut matching: Vec<(String, String, usize)> = Vec::new();
        for (name, size) in names {
            let Some(index) = self.index_of(&name, size).await? else {
                continue;
            };
            for (position, entry) in index.into_iter().enumerate() {
                if criteria.matches(&crate::file_sink::sink_probe(entry.clone())) {
                    matching.push((entry.key, name.clone(), position));
                }
            }
        }
        matching.sort_by(|a, b| a.0.cmp(&b.0));
        let page = criteria.page(matching);
        let mut by_object: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (_, name, position) in &page {
            by_object.entry(name.clone()).or_default().push(*position);
        }
        let mut read: BTreeMap<(String, usize), Record> = BTreeMap::new();
        for (name, mut positions) in by_object {
            positions.sort_unstable();
            for (position, record) in self.records_of(&name, positions).await? {
                read.insert((name.clone(), position), record);
            }
        }
        Ok(page
            .into_iter()
            .filter_map(|(_, name, position)| {
                let record = read.remove(&(name.clone(), position))?;
                let mut location = self.location(&record, &name, None);
                location.metadata.insert("record".into(), position.into());
                Some(StoredRecord { location, record })
            })
            .collect())
    }

    async fn delete(&self, location_id: &str) -> Result<bool> {
        self.ensure_connected("delete")?;
        let mut deleted = false;
        for name in self.objects_of_key(location_id) {
            deleted |= self.delete_from(&name, location_id).await?;
        }
        Ok(deleted)
    }
}
