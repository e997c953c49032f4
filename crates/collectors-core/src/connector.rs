//! [`Connector`]: the browsing side of a data source (list, fetch, inspect).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::models::{DataItem, Metadata};

/// Which items [`Connector::list_items`] lists: those under `path` (the root when unset) whose
/// name matches the glob `pattern` (all when unset).
///
/// ```
/// use collectors_core::ListOptions;
///
/// let options = ListOptions::new().under("data/2024").matching("*.csv");
/// assert_eq!(options.pattern.as_deref(), Some("*.csv"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListOptions {
    /// Only items under this path.
    #[serde(default)]
    pub path: Option<String>,
    /// Only items whose name (last path segment) matches this glob, e.g. `*.csv`.
    #[serde(default)]
    pub pattern: Option<String>,
}

impl ListOptions {
    /// Every item.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only items under `path`.
    #[must_use]
    pub fn under(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Only items whose name matches the glob `pattern`.
    #[must_use]
    pub fn matching(mut self, pattern: impl Into<String>) -> Self {
        self.pattern = Some(pattern.into());
        self
    }
}

/// A connection to a store of items (a directory, a bucket, a database) that can be browsed:
/// list what is there, fetch an item into a local workspace, read an item's metadata.
///
/// # Contract
///
/// - `connect`/`disconnect` are idempotent; `test_connection` says why a connection does not
///   work instead of returning `false`.
/// - `list_items(path, pattern)` lists items under `path` (the root when `None`) whose name
///   matches the glob `pattern` (all when `None`), sorted by path.
/// - `fetch_data(identifier, workspace)` writes the item under `workspace` and returns the
///   local path, which is always inside `workspace`: identifiers that try to leave it
///   (`../../etc/passwd`, absolute paths) are an
///   [`Error::Validation`](crate::Error::Validation) (see
///   [`resolve_in_workspace`](crate::resolve_in_workspace)). The write is atomic.
/// - A missing item is an [`Error::NotFound`](crate::Error::NotFound).
#[doc(alias = "DataSourceConnector")]
#[async_trait]
pub trait Connector: Send + Sync {
    /// Opens the connection.
    async fn connect(&self) -> Result<()>;

    /// Closes the connection.
    async fn disconnect(&self) -> Result<()>;

    /// Checks that the store can be reached with the configured credentials.
    async fn test_connection(&self) -> Result<()>;

    /// Lists the items `options` select.
    async fn list_items(&self, options: &ListOptions) -> Result<Vec<DataItem>>;

    /// Copies one item into `workspace`; returns where it was written.
    async fn fetch_data(&self, identifier: &str, workspace: &Path) -> Result<PathBuf>;

    /// The metadata of one item.
    async fn get_metadata(&self, identifier: &str) -> Result<Metadata>;
}
