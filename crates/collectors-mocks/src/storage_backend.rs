//! [`MockStorageBackend`].

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use collectors_core::{
    QueryCriteria, Record, Result, StorageBackend, StorageLocation, StoredRecord,
};

use crate::control::{Connection, MockControl};

/// A [`StorageBackend`] that keeps records in memory, keyed by [`Record::key`] (so it is
/// idempotent like a real one), and passes the storage conformance suite.
///
/// ```
/// use collectors_core::{Payload, QueryCriteria, Record, StorageBackend};
/// use collectors_mocks::MockStorageBackend;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let store = MockStorageBackend::new("main_db");
/// store.connect().await.unwrap();
/// let location = store.store(Record::new(Payload::Json(serde_json::json!({"v": 1})))).await.unwrap();
/// assert_eq!(location.backend_id, "main_db");
/// assert_eq!(store.len(), 1);
/// # });
/// ```
#[derive(Debug)]
pub struct MockStorageBackend {
    id: String,
    records: Mutex<BTreeMap<String, StoredRecord>>,
    connection: Connection,
    control: MockControl,
}

impl MockStorageBackend {
    /// An empty backend.
    pub fn new(backend_id: impl Into<String>) -> Self {
        Self {
            id: backend_id.into(),
            records: Mutex::new(BTreeMap::new()),
            connection: Connection::default(),
            control: MockControl::new(),
        }
    }

    /// The handle that injects failures and latency and records calls.
    pub fn control(&self) -> MockControl {
        self.control.clone()
    }

    /// How many records are stored.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every stored record, ordered by key.
    pub fn records(&self) -> Vec<Record> {
        self.lock().values().map(|s| s.record.clone()).collect()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, StoredRecord>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn enter(&self, method: &str, detail: &str) -> Result<()> {
        self.connection.check(&self.id, method)?;
        self.control
            .enter(method, detail)
            .await
            .map_err(|e| e.with_component(&self.id))
    }

    fn put(&self, record: Record) -> StorageLocation {
        let location = self.location_of(&record);
        self.lock().insert(
            record.key.clone(),
            StoredRecord {
                location: location.clone(),
                record,
            },
        );
        location
    }
}

#[async_trait]
impl StorageBackend for MockStorageBackend {
    fn backend_id(&self) -> &str {
        &self.id
    }

    async fn connect(&self) -> Result<()> {
        self.connection.connect(&self.control).await
    }

    async fn disconnect(&self) -> Result<()> {
        self.connection.disconnect(&self.control).await
    }

    async fn store(&self, record: Record) -> Result<StorageLocation> {
        self.enter("store", &record.key).await?;
        Ok(self.put(record))
    }

    /// All or nothing: an injected failure stores none of the batch.
    async fn store_batch(&self, records: &[Record]) -> Result<()> {
        self.enter("store_batch", &records.len().to_string())
            .await?;
        for record in records {
            self.put(record.clone());
        }
        Ok(())
    }

    fn location_of(&self, record: &Record) -> StorageLocation {
        StorageLocation::new(
            &self.id,
            &record.key,
            format!("mock://{}/{}", self.id, record.key),
        )
    }

    async fn query(&self, criteria: &QueryCriteria) -> Result<Vec<StoredRecord>> {
        self.enter("query", "").await?;
        let records = self.lock();
        Ok(criteria.page(
            records
                .values()
                .filter(|s| criteria.matches(&s.record))
                .cloned(),
        ))
    }

    async fn delete(&self, location_id: &str) -> Result<bool> {
        self.enter("delete", location_id).await?;
        Ok(self.lock().remove(location_id).is_some())
    }
}
