//! [`Connector`]: the browsing side of a data source (list, fetch, inspect).

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::error::Result;
use crate::models::{DataItem, Metadata};

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

    /// Lists items under `path` whose name matches `pattern`.
    async fn list_items(&self, path: Option<&str>, pattern: Option<&str>) -> Result<Vec<DataItem>>;

    /// Copies one item into `workspace`; returns where it was written.
    async fn fetch_data(&self, identifier: &str, workspace: &Path) -> Result<PathBuf>;

    /// The metadata of one item.
    async fn get_metadata(&self, identifier: &str) -> Result<Metadata>;
}
