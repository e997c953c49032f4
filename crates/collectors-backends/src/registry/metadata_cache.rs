//! [`MetadataCache`]: metadata per data source, forgotten after a time to live.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use collectors_core::Metadata;

/// Metadata cached per data source id (a table list, a schema) for `ttl`; an expired entry
/// is never returned, and is dropped when looked up.
///
/// ```
/// use std::time::Duration;
/// use collectors_backends::registry::MetadataCache;
///
/// let cache = MetadataCache::new(Duration::from_secs(300));
/// let mut tables = serde_json::Map::new();
/// tables.insert("tables".into(), serde_json::json!(["users", "orders"]));
/// cache.put("db", tables.clone());
/// assert_eq!(cache.get("db"), Some(tables));
/// cache.clear(Some("db"));
/// assert_eq!(cache.get("db"), None);
///
/// let expired = MetadataCache::new(Duration::ZERO);
/// expired.put("db", serde_json::Map::new());
/// assert_eq!(expired.get("db"), None);
/// ```
#[derive(Debug)]
pub struct MetadataCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Metadata)>>,
}

impl MetadataCache {
    /// A cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The time to live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Metadata)>> {
        // A panic while holding the lock cannot leave the map half-updated.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Caches `metadata` for `id`, replacing what was there.
    pub fn put(&self, id: &str, metadata: Metadata) {
        self.lock()
            .insert(id.to_owned(), (Instant::now(), metadata));
    }

    /// The metadata cached for `id`, unless it expired.
    pub fn get(&self, id: &str) -> Option<Metadata> {
        let mut entries = self.lock();
        match entries.get(id) {
            Some((at, metadata)) if at.elapsed() < self.ttl => Some(metadata.clone()),
            Some(_) => {
                entries.remove(id);
                None
            }
            None => None,
        }
    }

    /// Forgets `id`'s entry, or every entry with `None`.
    pub fn clear(&self, id: Option<&str>) {
        let mut entries = self.lock();
        match id {
            Some(id) => {
                entries.remove(id);
            }
            None => entries.clear(),
        }
    }
}
