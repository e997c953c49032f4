//! [`DefaultStorageManager`]: routes records to registered backends.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use futures::future::join_all;

use crate::error::{Error, Result};
use crate::models::{Record, StorageLocation};
use crate::storage_backend::StorageBackend;
use crate::storage_manager::{StorageManager, StorageRoute};
use crate::sync::{read, write};

#[derive(Default)]
struct State {
    backends: BTreeMap<String, Arc<dyn StorageBackend>>,
    routes: Vec<StorageRoute>,
    default_backend: Option<String>,
}

/// A [`StorageManager`] with first-match routing rules and a default backend.
///
/// ```
/// # use std::sync::Arc;
/// use collectors_core::{DefaultStorageManager, RouteCondition, StorageManager, StorageRoute};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let manager = DefaultStorageManager::new();
/// // A route may only name a registered backend.
/// let route = StorageRoute { when: RouteCondition::Always, backend_id: "warehouse".into() };
/// assert!(manager.add_route(route).await.is_err());
/// # });
/// ```
#[derive(Default)]
pub struct DefaultStorageManager {
    state: RwLock<State>,
}

impl std::fmt::Debug for DefaultStorageManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.read();
        f.debug_struct("DefaultStorageManager")
            .field("backends", &state.backends.keys().collect::<Vec<_>>())
            .field("routes", &state.routes)
            .field("default_backend", &state.default_backend)
            .finish()
    }
}

fn unknown(backend_id: &str) -> Error {
    Error::not_found(format!("no storage backend `{backend_id}`")).with_component(backend_id)
}

impl DefaultStorageManager {
    /// A manager with no backends.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        read(&self.state)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        write(&self.state)
    }

    fn get(&self, backend_id: &str) -> Result<Arc<dyn StorageBackend>> {
        self.read()
            .backends
            .get(backend_id)
            .cloned()
            .ok_or_else(|| unknown(backend_id))
    }
}

#[async_trait]
impl StorageManager for DefaultStorageManager {
    async fn register_backend(&self, backend: Arc<dyn StorageBackend>) -> Result<()> {
        let id = backend.backend_id().to_owned();
        if id.trim().is_empty() {
            return Err(Error::configuration("a backend id must not be empty")
                .with_operation("register_backend"));
        }
        let mut state = self.write();
        if state.backends.contains_key(&id) {
            return Err(
                Error::invalid_state(format!("backend `{id}` is already registered"))
                    .with_component(&id)
                    .with_operation("register_backend"),
            );
        }
        state.backends.insert(id, backend);
        Ok(())
    }

    async fn unregister_backend(&self, backend_id: &str) -> Result<()> {
        let mut state = self.write();
        if state.routes.iter().any(|r| r.backend_id == backend_id) {
            return Err(Error::invalid_state(format!(
                "backend `{backend_id}` is still the target of a route"
            ))
            .with_component(backend_id)
            .with_operation("unregister_backend"));
        }
        state
            .backends
            .remove(backend_id)
            .ok_or_else(|| unknown(backend_id))?;
        if state.default_backend.as_deref() == Some(backend_id) {
            state.default_backend = None;
        }
        Ok(())
    }

    async fn backend(&self, backend_id: &str) -> Result<Arc<dyn StorageBackend>> {
        self.get(backend_id)
    }

    async fn backends(&self) -> Vec<String> {
        self.read().backends.keys().cloned().collect()
    }

    async fn set_default_backend(&self, backend_id: &str) -> Result<()> {
        let mut state = self.write();
        if !state.backends.contains_key(backend_id) {
            return Err(unknown(backend_id));
        }
        state.default_backend = Some(backend_id.to_owned());
        Ok(())
    }

    async fn add_route(&self, route: StorageRoute) -> Result<()> {
        let mut state = self.write();
        if !state.backends.contains_key(&route.backend_id) {
            return Err(unknown(&route.backend_id).with_operation("add_route"));
        }
        state.routes.push(route);
        Ok(())
    }

    async fn route(&self, record: &Record) -> Result<String> {
        let state = self.read();
        state
            .routes
            .iter()
            .find(|r| r.when.matches(record))
            .map(|r| r.backend_id.clone())
            .or_else(|| state.default_backend.clone())
            .ok_or_else(|| {
                Error::configuration(format!(
                    "no route matches record `{}` and no default backend is set",
                    record.key
                ))
                .with_operation("route")
            })
    }

    async fn store(&self, record: Record) -> Result<StorageLocation> {
        let backend_id = self.route(&record).await?;
        self.store_to(&backend_id, record).await
    }

    async fn store_to(&self, backend_id: &str, record: Record) -> Result<StorageLocation> {
        self.get(backend_id)?.store(record).await
    }

    async fn replicate(
        &self,
        record: Record,
        backend_ids: &[String],
    ) -> Result<Vec<StorageLocation>> {
        if backend_ids.is_empty() {
            return Err(Error::configuration("replicate needs at least one backend")
                .with_operation("replicate"));
        }
        let backends = backend_ids
            .iter()
            .map(|id| self.get(id))
            .collect::<Result<Vec<_>>>()?;
        let writes = backends.iter().map(|b| b.store(record.clone()));
        let results = join_all(writes).await;
        let mut locations = Vec::with_capacity(results.len());
        let mut failures = Vec::new();
        for (id, result) in backend_ids.iter().zip(results) {
            match result {
                Ok(location) => locations.push(location),
                Err(e) => failures.push(format!("{id}: {e}")),
            }
        }
        if failures.is_empty() {
            Ok(locations)
        } else {
            Err(Error::storage(format!(
                "replication of `{}` failed on {} of {} backends: {}",
                record.key,
                failures.len(),
                backend_ids.len(),
                failures.join("; ")
            ))
            .with_operation("replicate"))
        }
    }
}
