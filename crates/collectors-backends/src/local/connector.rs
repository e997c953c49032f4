//! [`Connector`] for [`LocalDirectorySource`]: browse, fetch into a workspace, inspect.

use std::path::{Path, PathBuf};

use chrono::SecondsFormat;
use collectors_core::{
    Connector, DataItem, Error, ListOptions, Metadata, Result, async_trait, resolve_in_workspace,
};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;

use super::builder::compile_glob;
use super::error::from_object_store;
use super::source::{LocalDirectorySource, version_of};
use crate::fs_util::AtomicFile;

/// Browsing a local directory.
///
/// - `connect` checks that the directory is still there and readable; `disconnect` has
///   nothing to close. Both are idempotent.
/// - `list_items` lists the files of this source (those matching its configured pattern)
///   under `options.path`, whose **name** matches `options.pattern`; an invalid glob or a
///   path with `..` is an [`Error::Validation`].
/// - `fetch_data` and `get_metadata` take a relative path (an item's `path`); any file under
///   the root can be fetched, whether or not it matches the pattern.
#[async_trait]
impl Connector for LocalDirectorySource {
    async fn connect(&self) -> Result<()> {
        self.test_connection().await
    }

    async fn disconnect(&self) -> Result<()> {
        Ok(())
    }

    async fn test_connection(&self) -> Result<()> {
        match tokio::fs::read_dir(&self.root).await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.tag(
                Error::connection(format!(
                    "cannot read directory {}: {e}",
                    self.root.display()
                ))
                .with_source(e),
                "test_connection",
            )),
        }
    }

    async fn list_items(&self, options: &ListOptions) -> Result<Vec<DataItem>> {
        let prefix = match options.path.as_deref().map(|p| p.trim_matches('/')) {
            None | Some("") => None,
            Some(path) => Some(self.object_path(path, "list_items")?),
        };
        let name_matcher = options
            .pattern
            .as_deref()
            .map(|p| {
                compile_glob(p, false).map_err(|e| {
                    self.tag(
                        Error::validation(format!("invalid pattern {p:?}: {e}")).with_source(e),
                        "list_items",
                    )
                })
            })
            .transpose()?;
        let files = self.list_files(prefix.as_ref()).await?;
        Ok(files
            .into_iter()
            .filter_map(|meta| {
                let name = meta.location.filename().unwrap_or_default().to_owned();
                if name_matcher.as_ref().is_some_and(|m| !m.is_match(&name)) {
                    return None;
                }
                let mut item = DataItem::new(name, meta.location.to_string(), meta.size);
                item.modified_at = meta.last_modified;
                item.metadata = self.describe(&meta);
                Some(item)
            })
            .collect())
    }

    async fn fetch_data(&self, identifier: &str, workspace: &Path) -> Result<PathBuf> {
        // Refuse hostile identifiers before touching the store or the workspace.
        let target =
            resolve_in_workspace(workspace, identifier).map_err(|e| self.tag(e, "fetch_data"))?;
        let location = self.object_path(identifier, "fetch_data")?;
        let (meta, mut chunks) = self.open_path(&location, "fetch_data").await?;
        let tag = |e: Error| self.tag(e, "fetch_data");
        let mut out = AtomicFile::create(&target, Error::data_fetch)
            .await
            .map_err(tag)?;
        while let Some(chunk) = chunks.try_next().await.map_err(tag)? {
            out.write_all(&chunk).await.map_err(tag)?;
        }
        let written = out.commit().await.map_err(tag)?;
        tracing::debug!(
            source = %self.source_id,
            item = %identifier,
            bytes = meta.size,
            to = %written.display(),
            "fetched"
        );
        Ok(written)
    }

    async fn get_metadata(&self, identifier: &str) -> Result<Metadata> {
        let location = self.object_path(identifier, "get_metadata")?;
        let meta = self.store.head(&location).await.map_err(|e| {
            self.tag(
                from_object_store(e, "reading metadata of", &self.display_path(&location)),
                "get_metadata",
            )
        })?;
        Ok(self.describe(&meta))
    }
}

impl LocalDirectorySource {
    /// The metadata of one file: name, relative and absolute path, size, modification time,
    /// version.
    fn describe(&self, meta: &object_store::ObjectMeta) -> Metadata {
        let location: &ObjectPath = &meta.location;
        let mut out = Metadata::new();
        out.insert("source_id".into(), self.source_id.clone().into());
        out.insert(
            "name".into(),
            location.filename().unwrap_or_default().into(),
        );
        out.insert("path".into(), location.to_string().into());
        out.insert("local_path".into(), self.display_path(location).into());
        out.insert("size".into(), meta.size.into());
        out.insert(
            "last_modified".into(),
            meta.last_modified
                .to_rfc3339_opts(SecondsFormat::Nanos, true)
                .into(),
        );
        out.insert("version".into(), version_of(meta).into());
        if let Some(e_tag) = &meta.e_tag {
            out.insert("e_tag".into(), e_tag.clone().into());
        }
        out
    }
}
