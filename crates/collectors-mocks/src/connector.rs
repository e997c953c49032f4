//! [`MockConnector`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use collectors_core::{
    Connector, DataItem, Error, ListOptions, Metadata, Result, resolve_in_workspace,
};

use crate::control::{Connection, MockControl};

/// A [`Connector`] over an in-memory set of files.
///
/// `fetch_data` writes real files (temp file + rename) inside the workspace, refusing
/// identifiers that would leave it.
///
/// ```
/// use collectors_core::{Connector, ListOptions};
/// use collectors_mocks::MockConnector;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let connector = MockConnector::new("files").with_file("a/b.csv", "x,y\n1,2\n");
/// connector.connect().await.unwrap();
/// let items = connector.list_items(&ListOptions::new().matching("*.csv")).await.unwrap();
/// assert_eq!(items[0].path, "a/b.csv");
/// # });
/// ```
#[derive(Debug)]
pub struct MockConnector {
    id: String,
    files: Mutex<BTreeMap<String, Bytes>>,
    connection: Connection,
    control: MockControl,
}

impl MockConnector {
    /// A connector with no files.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            files: Mutex::new(BTreeMap::new()),
            connection: Connection::default(),
            control: MockControl::new(),
        }
    }

    /// Adds a file.
    #[must_use]
    pub fn with_file(self, path: impl Into<String>, contents: impl Into<Bytes>) -> Self {
        self.put(path, contents);
        self
    }

    /// Adds or replaces a file.
    pub fn put(&self, path: impl Into<String>, contents: impl Into<Bytes>) {
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.into(), contents.into());
    }

    /// The handle that injects failures and latency and records calls.
    pub fn control(&self) -> MockControl {
        self.control.clone()
    }

    async fn enter(&self, method: &str, detail: &str) -> Result<()> {
        self.connection.check(&self.id, method)?;
        self.control
            .enter(method, detail)
            .await
            .map_err(|e| e.with_component(&self.id))
    }

    fn file(&self, identifier: &str) -> Result<Bytes> {
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(identifier)
            .cloned()
            .ok_or_else(|| {
                Error::not_found(format!("no item `{identifier}`")).with_component(&self.id)
            })
    }
}

fn name_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[async_trait]
impl Connector for MockConnector {
    async fn connect(&self) -> Result<()> {
        self.connection.connect(&self.control).await
    }

    async fn disconnect(&self) -> Result<()> {
        self.connection.disconnect(&self.control).await
    }

    async fn test_connection(&self) -> Result<()> {
        self.enter("test_connection", "").await
    }

    async fn list_items(&self, options: &ListOptions) -> Result<Vec<DataItem>> {
        self.enter("list_items", &format!("{options:?}")).await?;
        let pattern = options
            .pattern
            .as_deref()
            .map(glob::Pattern::new)
            .transpose()
            .map_err(|e| {
                Error::validation(format!("invalid glob pattern: {e}")).with_component(&self.id)
            })?;
        let prefix = options
            .path
            .as_deref()
            .map(|p| p.trim_end_matches('/'))
            .filter(|p| !p.is_empty());
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        Ok(files
            .iter()
            .filter(|(p, _)| prefix.is_none_or(|pre| p.starts_with(&format!("{pre}/"))))
            .filter(|(p, _)| pattern.as_ref().is_none_or(|g| g.matches(name_of(p))))
            .map(|(p, contents)| DataItem::new(name_of(p), p.as_str(), contents.len() as u64))
            .collect())
    }

    async fn fetch_data(&self, identifier: &str, workspace: &Path) -> Result<PathBuf> {
        self.enter("fetch_data", identifier).await?;
        let target = resolve_in_workspace(workspace, identifier)?;
        let contents = self.file(identifier)?;
        let io = |e: std::io::Error| {
            Error::data_fetch(format!("writing {}", target.display())).with_source(e)
        };
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        let temp = target.with_extension(format!("partial-{}", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&temp, &contents).await.map_err(io)?;
        tokio::fs::rename(&temp, &target).await.map_err(io)?;
        Ok(target)
    }

    async fn get_metadata(&self, identifier: &str) -> Result<Metadata> {
        self.enter("get_metadata", identifier).await?;
        let contents = self.file(identifier)?;
        let mut metadata = Metadata::new();
        metadata.insert("size".into(), contents.len().into());
        metadata.insert("name".into(), name_of(identifier).into());
        Ok(metadata)
    }
}
