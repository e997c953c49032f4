//! [`ObjectStoreStorage`]: records as objects, one per record, under readable names.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use collectors_core::{
    Connector, Error, ErrorType, ListOptions, QueryCriteria, Record, Result, StorageBackend,
    StorageLocation, StoredRecord, async_trait,
};
use futures::stream::{self, StreamExt, TryStreamExt};

use super::connector::ObjectStoreConnector;
use super::layout::{folder_of_prefix, object_name};
use super::write::WriteOptions;
use crate::file_sink::FileFormat;
use crate::file_sink::codec;

/// Objects written at once by `store_batch`.
const WRITES_IN_FLIGHT: usize = 8;

/// A [`StorageBackend`] that writes each record as one object of a store (any
/// [`ObjectStoreConnector`]: S3, GCS, Azure, a local directory, memory), in the layouts of
/// [`FileSink`](crate::FileSink): Parquet (table payloads; key, metadata and created_at in
/// the file's key-value metadata, so any Parquet reader sees plain rows) or JSON lines (a
/// header line, then one object per row; every payload kind).
///
/// # Layout
///
/// The engine's keys `{source}/{item}#{batch}` become
/// `{prefix}/{source}/{item}/part-{batch:05}.{ext}`: each source item is a folder of its
/// batches, in order, so `s3://bucket/out/**/*.parquet` reads as one dataset in DuckDB,
/// pyarrow or Spark. Other keys become `{prefix}/{key}.{ext}`. Only `%`, control
/// characters, empty, `.` and `..` folders are percent-encoded. A key whose name would pass
/// 1 024 bytes is an [`Error::Validation`].
///
/// # Behaviour
///
/// - `store_batch` checks every record (key, kind) before writing any, then writes up to 8
///   objects at once. Each object is written whole or not at all (a `PUT`, or a multipart
///   upload completed only at the end); a failed batch leaves the records before the
///   failure stored, and re-running it is safe.
/// - Storing a key again replaces its object, unless [`create_only`](Self::create_only) is
///   set: then an existing object is left as it is and counts as stored (`PutMode::Create`,
///   so a replay is a no-op and never overwrites).
/// - `query` by `key` reads one object; by `key_prefix` it lists the prefix's folder; it
///   reads each candidate's record, filters on metadata and time, sorts by key and pages.
///   Objects of the other format or foreign objects that do not decode are skipped with a
///   warning.
/// - `delete` removes the object of a key (`location_id` is the key); `Ok(false)` when there
///   is none.
/// - Calls before `connect` or after `disconnect` are an [`Error::Connection`]; `connect`
///   checks the store.
///
/// ```
/// use std::sync::Arc;
/// use collectors_backends::FileFormat;
/// use collectors_backends::object_store::{get_connector, ObjectStoreConfig, ObjectStoreStorage};
/// use collectors_core::{Payload, QueryCriteria, Record, StorageBackend};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = Arc::new(get_connector("memory:///out", &ObjectStoreConfig::new())?);
/// let sink = ObjectStoreStorage::new("lake", store.clone(), FileFormat::Jsonl);
/// sink.connect().await?;
/// let record = Record::keyed("incoming/a.csv#0", Payload::Json(serde_json::json!({"n": 1})))?;
/// let location = sink.store(record).await?;
/// assert_eq!(location.path, "memory:///out/incoming/a.csv/part-00000.jsonl");
/// let found = sink.query(&QueryCriteria::new().key_prefix("incoming/")).await?;
/// assert_eq!(found.len(), 1);
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
}

impl ObjectStoreStorage {
    /// A store `backend_id` writing `format` objects through `connector`.
    pub fn new(
        backend_id: impl Into<String>,
        connector: Arc<ObjectStoreConnector>,
        format: FileFormat,
    ) -> Self {
        Self {
            backend_id: backend_id.into(),
            connector,
            format,
            create_only: false,
            connected: AtomicBool::new(false),
        }
    }

    /// Never replace an object: a key stored again is left as it was (and counts as stored).
    #[must_use]
    pub fn create_only(mut self, create_only: bool) -> Self {
        self.create_only = create_only;
        self
    }

    /// The format of the objects.
    pub fn format(&self) -> FileFormat {
        self.format
    }

    /// The connector underneath.
    pub fn connector(&self) -> &Arc<ObjectStoreConnector> {
        &self.connector
    }

    /// The object name (relative to the connector's prefix) a record with `key` is stored
    /// under.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for an empty key or one whose name is too long.
    pub fn object_name(&self, key: &str) -> Result<String> {
        object_name(key, self.format.extension()).map_err(|e| self.tag(e, "object_name"))
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
        let bytes = tokio::task::spawn_blocking(move || codec::encode(format, &owned))
            .await
            .map_err(|e| Error::invalid_state(format!("the encoding task failed: {e}")))
            .and_then(|r| r)
            .map_err(|e| self.tag(e, op))?;
        let size = bytes.len() as u64;
        let options = if self.create_only {
            WriteOptions::create_only()
        } else {
            WriteOptions::overwrite()
        }
        .content_type(match self.format {
            FileFormat::Parquet => "application/vnd.apache.parquet",
            _ => "application/x-ndjson",
        });
        match self
            .connector
            .write_file(name, Bytes::from(bytes), &options)
            .await
        {
            Ok(_) => {}
            Err(e) if self.create_only && e.error_type() == ErrorType::InvalidState => {
                tracing::debug!(backend = %self.backend_id, key = %record.key, "already stored (create-only)");
            }
            Err(e) => return Err(self.tag(e, op)),
        }
        Ok(self.location(record, name, Some(size)))
    }

    async fn read(&self, name: &str) -> Result<Option<Record>> {
        let bytes = match self.connector.read_file(name).await {
            Ok(bytes) => bytes,
            Err(e) if e.error_type() == ErrorType::NotFound => return Ok(None),
            Err(e) => return Err(self.tag(e, "query")),
        };
        let format = self.format;
        let shown = name.to_owned();
        let decoded = tokio::task::spawn_blocking(move || {
            codec::record_from_bytes(format, bytes, Path::new(&shown))
        })
        .await
        .map_err(|e| Error::invalid_state(format!("the decoding task failed: {e}")))?;
        match decoded {
            Ok(record) => Ok(Some(record)),
            Err(e) => {
                tracing::warn!(backend = %self.backend_id, object = %name, error = %e, "skipping an object that is not a record of this store");
                Ok(None)
            }
        }
    }
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
        Ok(())
    }

    async fn store(&self, record: Record) -> Result<StorageLocation> {
        self.ensure_connected("store")?;
        let name = self.object_name(&record.key)?;
        codec::check(self.format, &record).map_err(|e| self.tag(e, "store"))?;
        self.write(&record, &name).await
    }

    fn location_of(&self, record: &Record) -> StorageLocation {
        let name = self
            .object_name(&record.key)
            .unwrap_or_else(|_| record.key.clone());
        self.location(record, &name, None)
    }

    async fn store_batch(&self, records: &[Record]) -> Result<()> {
        let op = "store_batch";
        self.ensure_connected(op)?;
        let mut names = Vec::with_capacity(records.len());
        for record in records {
            names.push(self.object_name(&record.key)?);
            codec::check(self.format, record).map_err(|e| self.tag(e, op))?;
        }
        let writes: Vec<_> = records
            .iter()
            .zip(&names)
            .map(|(record, name)| self.write(record, name))
            .collect();
        stream::iter(writes)
            .buffer_unordered(WRITES_IN_FLIGHT)
            .try_for_each(|_| async { Ok(()) })
            .await
    }

    async fn query(&self, criteria: &QueryCriteria) -> Result<Vec<StoredRecord>> {
        self.ensure_connected("query")?;
        let names: Vec<String> = match &criteria.key {
            Some(key) => match self.object_name(key) {
                Ok(name) => vec![name],
                Err(_) => Vec::new(),
            },
            None => {
                let mut options = ListOptions::new();
                options.path = criteria.key_prefix.as_deref().and_then(folder_of_prefix);
                let extension = format!(".{}", self.format.extension());
                self.connector
                    .list_items(&options)
                    .await
                    .map_err(|e| self.tag(e, "query"))?
                    .into_iter()
                    .map(|item| item.path)
                    .filter(|path| path.ends_with(&extension))
                    .collect()
            }
        };
        let mut found = Vec::new();
        for name in names {
            let Some(record) = self.read(&name).await? else {
                continue;
            };
            if criteria.matches(&record) {
                found.push((name, record));
            }
        }
        found.sort_by(|a, b| a.1.key.cmp(&b.1.key));
        Ok(criteria
            .page(found)
            .into_iter()
            .map(|(name, record)| StoredRecord {
                location: self.location(&record, &name, None),
                record,
            })
            .collect())
    }

    async fn delete(&self, location_id: &str) -> Result<bool> {
        self.ensure_connected("delete")?;
        let Ok(name) = self.object_name(location_id) else {
            return Ok(false);
        };
        self.connector
            .delete(&name)
            .await
            .map_err(|e| self.tag(e, "delete"))
    }
}
