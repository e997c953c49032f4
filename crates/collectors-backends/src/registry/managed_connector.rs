//! [`ManagedConnector`]: the shared connector of a registered data source, connected on first
//! use and again after a connection failure.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use collectors_core::{Connector, DataItem, Error, ErrorType, ListOptions, Metadata, Result};

/// A registered source's connector as [`DataSourceRegistry::get_connector`] hands it out
/// (shared through an `Arc`): every call connects first when the connection is not open, and
/// a connection or timeout failure marks it closed, so the next call reconnects. After
/// [`unregister`](super::DataSourceRegistry::unregister) every call is an
/// [`Error::NotFound`].
///
/// [`DataSourceRegistry::get_connector`]: super::DataSourceRegistry::get_connector
pub(crate) struct ManagedConnector {
    id: String,
    inner: Arc<dyn Connector>,
    connected: tokio::sync::Mutex<bool>,
    removed: AtomicBool,
}

impl ManagedConnector {
    pub(crate) fn new(id: &str, inner: Arc<dyn Connector>) -> Self {
        Self {
            id: id.to_owned(),
            inner,
            connected: tokio::sync::Mutex::new(false),
            removed: AtomicBool::new(false),
        }
    }

    /// Opens the connection unless it is open; concurrent callers wait for one attempt.
    pub(crate) async fn ensure_connected(&self) -> Result<()> {
        if self.removed.load(Ordering::Acquire) {
            return Err(Error::not_found(format!(
                "data source `{}` was unregistered",
                self.id
            )));
        }
        let mut connected = self.connected.lock().await;
        if !*connected {
            self.inner
                .connect()
                .await
                .map_err(|e| with_id(e, &self.id))?;
            tracing::debug!(data_source = %self.id, "connected");
            *connected = true;
        }
        Ok(())
    }

    /// Closes the connection (if open); with `remove`, every later call fails.
    pub(crate) async fn close(&self, remove: bool) -> Result<()> {
        if remove {
            self.removed.store(true, Ordering::Release);
        }
        let mut connected = self.connected.lock().await;
        if *connected {
            *connected = false;
            self.inner
                .disconnect()
                .await
                .map_err(|e| with_id(e, &self.id))?;
            tracing::debug!(data_source = %self.id, "disconnected");
        }
        Ok(())
    }

    /// `result`, after marking the connection closed when it failed as a connection.
    async fn observe<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result
            && matches!(e.error_type(), ErrorType::Connection | ErrorType::Timeout)
        {
            tracing::debug!(data_source = %self.id, "connection failed; reconnecting on next use");
            *self.connected.lock().await = false;
        }
        result.map_err(|e| with_id(e, &self.id))
    }
}

fn with_id(e: Error, id: &str) -> Error {
    if e.context().component.is_some() {
        e
    } else {
        e.with_component(id)
    }
}

#[async_trait]
impl Connector for ManagedConnector {
    async fn connect(&self) -> Result<()> {
        self.ensure_connected().await
    }

    async fn disconnect(&self) -> Result<()> {
        self.close(false).await
    }

    async fn test_connection(&self) -> Result<()> {
        self.ensure_connected().await?;
        let result = self.inner.test_connection().await;
        self.observe(result).await
    }

    async fn list_items(&self, options: &ListOptions) -> Result<Vec<DataItem>> {
        self.ensure_connected().await?;
        let result = self.inner.list_items(options).await;
        self.observe(result).await
    }

    async fn fetch_data(&self, identifier: &str, workspace: &Path) -> Result<PathBuf> {
        self.ensure_connected().await?;
        let result = self.inner.fetch_data(identifier, workspace).await;
        self.observe(result).await
    }

    async fn get_metadata(&self, identifier: &str) -> Result<Metadata> {
        self.ensure_connected().await?;
        let result = self.inner.get_metadata(identifier).await;
        self.observe(result).await
    }
}
