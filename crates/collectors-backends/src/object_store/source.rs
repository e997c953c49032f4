//! [`ObjectStoreSource`]: the objects under a prefix as the items of a listed
//! [`DataSource`].

use std::sync::Arc;

use ::object_store::ObjectStoreExt;
use bytes::Bytes;
use collectors_core::{DataItem, DataSource, ListOptions, Result, SourceItem, async_trait};
use futures::stream::{BoxStream, StreamExt, TryStreamExt};

use super::connector::ObjectStoreConnector;
use super::error::{Op, from_object_store};
use super::pattern::NamePattern;
use super::uri::StoreScheme;

/// A listed [`DataSource`] over an object store: each object under the connector's prefix
/// that the pattern selects is one item.
///
/// - `item_id` is the object's path relative to the prefix (`2024/a.csv`); `version` its
///   e-tag (S3, GCS, Azure, memory; local files get object_store's inode-mtime-size tag),
///   else size and modification time; so a rerun after a checkpoint only processes new or
///   changed objects.
/// - `list` yields pages of up to 1 000 objects, sorted by id (the stores list in key order;
///   a local directory is listed whole and sorted).
/// - `open` streams the object; an object that changed since it was listed is read as it is
///   now (with a warning), and the engine checkpoints the listed version.
/// - `connect` checks the store (see
///   [`Connector::test_connection`](collectors_core::Connector::test_connection)).
///
/// ```
/// use std::sync::Arc;
/// use collectors_backends::object_store::{get_connector, ObjectStoreConfig, ObjectStoreSource, WriteOptions};
/// use collectors_core::DataSource;
/// use futures::TryStreamExt;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = Arc::new(get_connector("memory://", &ObjectStoreConfig::new())?);
/// store.write_file("raw/a.csv", "k,v\n".into(), &WriteOptions::overwrite()).await?;
/// store.write_file("raw/notes.txt", "x".into(), &WriteOptions::overwrite()).await?;
/// let source = ObjectStoreSource::new("bucket", store).with_pattern("*.csv")?;
/// let items: Vec<_> = source.list().try_concat().await?;
/// assert_eq!(items.len(), 1);
/// assert_eq!(items[0].item_id, "raw/a.csv");
/// # Ok::<(), collectors_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct ObjectStoreSource {
    source_id: String,
    connector: Arc<ObjectStoreConnector>,
    pattern: Option<NamePattern>,
}

impl ObjectStoreSource {
    /// Every object of `connector`'s prefix, as source `source_id`.
    pub fn new(source_id: impl Into<String>, connector: Arc<ObjectStoreConnector>) -> Self {
        Self {
            source_id: source_id.into(),
            connector,
            pattern: None,
        }
    }

    /// Only the objects `glob` selects (see [`NamePattern`]).
    ///
    /// # Errors
    ///
    /// [`Error::Validation`](collectors_core::Error::Validation) for an invalid glob.
    pub fn with_pattern(mut self, glob: &str) -> Result<Self> {
        self.pattern = Some(NamePattern::new(glob)?);
        Ok(self)
    }

    /// The connector underneath.
    pub fn connector(&self) -> &Arc<ObjectStoreConnector> {
        &self.connector
    }

    fn options(&self) -> ListOptions {
        let mut options = ListOptions::new();
        options.pattern = self.pattern.as_ref().map(|p| p.as_str().to_owned());
        options
    }

    fn item(&self, data: DataItem) -> SourceItem {
        let version = data
            .metadata
            .get("version")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        let mut item =
            SourceItem::listed(self.source_id.as_str(), data.path, version).with_size(data.size);
        for key in ["uri", "e_tag", "last_modified", "content_type"] {
            if let Some(value) = data.metadata.get(key) {
                item.metadata.insert(key.into(), value.clone());
            }
        }
        item
    }
}

#[async_trait]
impl DataSource for ObjectStoreSource {
    fn source_id(&self) -> &str {
        &self.source_id
    }

    fn is_live(&self) -> bool {
        false
    }

    async fn connect(&self) -> Result<()> {
        collectors_core::Connector::test_connection(self.connector.as_ref())
            .await
            .map_err(|e| e.with_component(self.source_id.clone()))
    }

    fn list(&self) -> BoxStream<'_, Result<Vec<SourceItem>>> {
        let options = self.options();
        if self.connector.uri().scheme() == StoreScheme::Local {
            // The local file system lists in no order: one sorted page.
            return futures::stream::once(async move {
                let mut items: Vec<DataItem> =
                    self.connector.list_stream(&options).try_concat().await?;
                items.sort_by(|a, b| a.path.cmp(&b.path));
                Ok(items.into_iter().map(|d| self.item(d)).collect())
            })
            .boxed();
        }
        self.connector
            .list_stream(&options)
            .map_ok(move |page| page.into_iter().map(|d| self.item(d)).collect())
            .boxed()
    }

    async fn open(&self, item: &SourceItem) -> Result<BoxStream<'static, Result<Bytes>>> {
        let tag = |e: collectors_core::Error| {
            e.with_component(self.source_id.clone())
                .with_operation("open")
        };
        let location = self.connector.object_path(&item.item_id).map_err(tag)?;
        let shown = self.connector.display(&location);
        let got = self
            .connector
            .store()
            .get(&location)
            .await
            .map_err(|e| tag(from_object_store(e, Op::Read, "opening", &shown)))?;
        let version = super::connector::version_of(&got.meta);
        if version != item.version {
            tracing::warn!(
                source = %self.source_id,
                item = %item.item_id,
                listed = %item.version,
                opened = %version,
                "object changed since it was listed"
            );
        }
        let component = self.source_id.clone();
        Ok(got
            .into_stream()
            .map_err(move |e| {
                from_object_store(e, Op::Read, "reading", &shown)
                    .with_component(component.clone())
                    .with_operation("open")
            })
            .boxed())
    }
}
