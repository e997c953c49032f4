//! [`DataSourceRegistry`]: registered data sources, their shared connectors, their encrypted
//! persistence and a metadata cache.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use collectors_core::{Connector, DataSourceConfig, Error, Metadata, Result};
use secrecy::{ExposeSecret, SecretString};

use super::data_dir::REGISTRY_DB_FILE;
use super::database::{RegistryDatabase, RegistryLocation, StoredSource, location_from_env_or};
use super::factory::{ConnectorFactories, type_name};
use super::managed_connector::ManagedConnector;
use super::metadata_cache::MetadataCache;
use super::settings::SourceSettings;
use crate::credentials::{
    CredentialManager, KEY_FILE_NAME, KeySource, MASTER_KEY_ENV, MasterKey, SecretFields,
};

/// The default time to live of cached metadata.
pub const DEFAULT_METADATA_TTL: Duration = Duration::from_secs(300);

/// One registered data source.
struct Entry {
    /// The configuration without its secret settings.
    config: DataSourceConfig,
    secrets: BTreeMap<String, SecretString>,
    fields: SecretFields,
    connector: Arc<ManagedConnector>,
}

impl Entry {
    fn sanitized(&self) -> DataSourceConfig {
        let mut config = self.config.clone();
        config.config = self.fields.sanitized(&self.config.config, &self.secrets);
        config
    }

    fn settings(&self) -> SourceSettings {
        SourceSettings::new(
            &self.config.id,
            self.config.source_type,
            self.config.config.clone(),
            self.secrets.clone(),
        )
    }
}

/// The data sources an application (the `collectors` commands, the service) has registered
/// by name, with their connectors and credentials.
///
/// - Connectors come from [`ConnectorFactories`], by [`DataSourceType`] (the URI scheme picks
///   it for the CLI); each factory declares its secret settings.
/// - [`register_data_source`](Self::register_data_source) validates the settings by building
///   the connector and, when asked, tests the connection: a failure registers nothing.
/// - [`get_connector`](Self::get_connector) hands out one shared connector per source,
///   connected on first use and again after a connection failure.
/// - Persisted in a SQLite database (`registry.db` in the data directory), secrets
///   encrypted with Fernet under the master key ([`CredentialManager`]); a wrong key is an
///   [`Error::Authentication`] at open. [`rotate_key`](Self::rotate_key) re-encrypts
///   everything in one transaction.
/// - Listing and [`get_config`](Self::get_config) with `sanitize` show secrets as `***`.
/// - Safe to share between tasks (`Arc<DataSourceRegistry>`): no lock is held across an
///   await except the per-connector connection lock.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use collectors_backends::registry::{ConnectorFactories, DataSourceRegistry};
/// use collectors_core::{DataSourceConfig, DataSourceType, ListOptions};
///
/// let data_dir = tempfile::tempdir().unwrap();
/// let files = tempfile::tempdir().unwrap();
/// std::fs::write(files.path().join("a.csv"), "x\n1\n").unwrap();
/// let registry = DataSourceRegistry::open_with_key(
///     data_dir.path(),
///     collectors_backends::credentials::MasterKey::generate(),
///     ConnectorFactories::standard(),
/// )
/// .await
/// .unwrap();
/// let config = DataSourceConfig::new("inbox", DataSourceType::LocalFile, "Inbox")
///     .unwrap()
///     .with_setting("uri", files.path().to_str().unwrap());
/// registry.register_data_source(config, true).await.unwrap();
///
/// let connector = registry.get_connector("inbox").await.unwrap();
/// let items = connector.list_items(&ListOptions::new()).await.unwrap();
/// assert_eq!(items[0].name, "a.csv");
/// registry.unregister("inbox").await.unwrap();
/// assert!(registry.list_data_sources().is_empty());
/// # });
/// ```
///
/// [`DataSourceType`]: collectors_core::DataSourceType
pub struct DataSourceRegistry {
    factories: ConnectorFactories,
    credentials: RwLock<Arc<CredentialManager>>,
    database: Option<RegistryDatabase>,
    entries: RwLock<BTreeMap<String, Arc<Entry>>>,
    cache: MetadataCache,
    /// Serializes registration, removal and rotation (check, persist, insert as one step).
    writes: tokio::sync::Mutex<()>,
    /// A connection pool per source, opened by `get_pooled_connector`.
    #[cfg(feature = "pool")]
    pools: crate::pool::ConnectionPoolManager,
}

impl std::fmt::Debug for DataSourceRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataSourceRegistry")
            .field("factories", &self.factories)
            .field("ids", &self.ids())
            .field("persisted", &self.database.is_some())
            .finish_non_exhaustive()
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // No code panics while holding these locks with a half-made change.
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

/// Where a rotation keeps the new key until the database has committed it.
fn next_key_path(key_file: &Path) -> PathBuf {
    key_file.with_file_name(format!(
        "{}.next",
        key_file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ))
}

impl DataSourceRegistry {
    /// A registry kept in memory only (nothing persisted), under a generated key.
    pub fn in_memory(factories: ConnectorFactories) -> Self {
        Self::new(
            factories,
            CredentialManager::new(MasterKey::generate()),
            None,
        )
    }

    fn new(
        factories: ConnectorFactories,
        credentials: CredentialManager,
        database: Option<RegistryDatabase>,
    ) -> Self {
        Self {
            factories,
            credentials: RwLock::new(Arc::new(credentials)),
            database,
            entries: RwLock::new(BTreeMap::new()),
            cache: MetadataCache::new(DEFAULT_METADATA_TTL),
            writes: tokio::sync::Mutex::new(()),
            #[cfg(feature = "pool")]
            pools: crate::pool::ConnectionPoolManager::default(),
        }
    }

    /// Opens the registry of `data_dir` (its `registry.db`, created when missing; or the
    /// PostgreSQL database [`REGISTRY_URL_ENV`](super::REGISTRY_URL_ENV) names), with the
    /// master key of `COLLECTORS_MASTER_KEY` or of `data_dir/master.key` (generated when
    /// missing, mode 0600).
    ///
    /// # Errors
    ///
    /// [`Error::Authentication`] when the key is not the database's, or the database exists
    /// and its key does not (no variable, no key file); [`Error::Configuration`]
    /// for a malformed key; [`Error::Storage`] when the database cannot be read.
    pub async fn open(data_dir: &Path, factories: ConnectorFactories) -> Result<Self> {
        super::data_dir::create_private_dir(data_dir)?;
        let key_file = data_dir.join(KEY_FILE_NAME);
        let from_env = std::env::var(MASTER_KEY_ENV).is_ok_and(|k| !k.trim().is_empty());
        let location = location_from_env_or(data_dir.join(REGISTRY_DB_FILE))?;
        if !from_env
            && !key_file.exists()
            && matches!(&location, RegistryLocation::File(path) if path.exists())
        {
            // A new key would never open it: say what is missing instead.
            return Err(Error::authentication(format!(
                "{} exists but its master key does not: set {MASTER_KEY_ENV} or restore {}",
                location.shown(),
                key_file.display()
            ))
            .with_operation("open registry"));
        }
        let key = MasterKey::load(data_dir)?;
        Self::open_with_key(data_dir, key, factories).await
    }

    /// As [`open`](Self::open), with the given key.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub async fn open_with_key(
        data_dir: &Path,
        key: MasterKey,
        factories: ConnectorFactories,
    ) -> Result<Self> {
        let location = location_from_env_or(data_dir.join(REGISTRY_DB_FILE))?;
        Self::open_at(&location, key, factories).await
    }

    /// The registry kept in the PostgreSQL database at `url` (its tables created when
    /// missing), with `key`: what several machines and the service share. The `collectors`
    /// commands open it when [`REGISTRY_URL_ENV`](super::REGISTRY_URL_ENV) names it.
    ///
    /// ```no_run
    /// use collectors_backends::credentials::MasterKey;
    /// use collectors_backends::registry::{ConnectorFactories, DataSourceRegistry};
    ///
    /// # async fn demo() -> collectors_core::Result<()> {
    /// // COLLECTORS_MASTER_KEY, else the data directory's key file.
    /// let key = MasterKey::load("state".as_ref())?;
    /// let registry = DataSourceRegistry::open_postgres(
    ///     "postgres://collectors@db.internal/ops",
    ///     key,
    ///     ConnectorFactories::standard(),
    /// )
    /// .await?;
    /// println!("{} data sources", registry.list_data_sources().len());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open); [`Error::Configuration`] when `url` is not `postgres://…` or
    /// the build has no `postgres` feature.
    pub async fn open_postgres(
        url: &str,
        key: MasterKey,
        factories: ConnectorFactories,
    ) -> Result<Self> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::configuration(
                "the registry's database URL must be postgres://…",
            ));
        }
        Self::open_at(&RegistryLocation::Postgres(url.to_owned()), key, factories).await
    }

    async fn open_at(
        location: &RegistryLocation,
        key: MasterKey,
        factories: ConnectorFactories,
    ) -> Result<Self> {
        let database = RegistryDatabase::open(location).await?;
        let manager = match database
            .check_key(&CredentialManager::new(key.clone()))
            .await
        {
            Ok(()) => CredentialManager::new(key),
            Err(e) => match Self::finish_rotation(&database, &key).await {
                Some(manager) => manager,
                None => {
                    database.close().await;
                    return Err(e);
                }
            },
        };
        let registry = Self::new(factories, manager, Some(database.clone()));
        registry.load(&database).await?;
        Ok(registry)
    }

    /// A rotation that committed but did not rename its key file into place: finish it.
    async fn finish_rotation(
        database: &RegistryDatabase,
        key: &MasterKey,
    ) -> Option<CredentialManager> {
        let KeySource::File(path) = key.source() else {
            return None;
        };
        let next = next_key_path(path);
        let candidate = MasterKey::read_file(&next).ok()?;
        let manager = CredentialManager::new(candidate);
        database.check_key(&manager).await.ok()?;
        std::fs::rename(&next, path).ok()?;
        tracing::info!(path = %path.display(), "finished an interrupted key rotation");
        let key = MasterKey::read_file(path).ok()?;
        Some(CredentialManager::new(key))
    }

    async fn load(&self, database: &RegistryDatabase) -> Result<()> {
        let manager = self.credentials();
        let mut entries = BTreeMap::new();
        for stored in database.load().await? {
            let config: DataSourceConfig =
                serde_json::from_str(&stored.config_json).map_err(|e| {
                    Error::storage(format!(
                        "registry: the configuration of `{}` does not parse",
                        stored.id
                    ))
                    .with_source(e)
                })?;
            let mut secrets = BTreeMap::new();
            for (key, token) in &stored.secrets {
                let secret = manager
                    .decrypt(token)
                    .map_err(|e| e.with_component(&stored.id))?;
                secrets.insert(key.clone(), secret);
            }
            let fields = self
                .factories
                .secret_fields(config.source_type)
                .cloned()
                .unwrap_or_default();
            let settings = SourceSettings::new(
                &config.id,
                config.source_type,
                config.config.clone(),
                secrets.clone(),
            );
            let inner = match self.factories.build(&settings) {
                Ok(inner) => inner,
                Err(e) => {
                    // Still listed (and removable); get_connector reports why.
                    tracing::warn!(data_source = %config.id, error = %e, "cannot build the connector of a registered data source");
                    Arc::new(Unbuildable(e.to_string()))
                }
            };
            let connector = Arc::new(ManagedConnector::new(&config.id, inner));
            entries.insert(
                config.id.clone(),
                Arc::new(Entry {
                    config,
                    secrets,
                    fields,
                    connector,
                }),
            );
        }
        *write(&self.entries) = entries;
        Ok(())
    }

    fn credentials(&self) -> Arc<CredentialManager> {
        read(&self.credentials).clone()
    }

    fn entry(&self, id: &str) -> Result<Arc<Entry>> {
        read(&self.entries).get(id).cloned().ok_or_else(|| {
            Error::not_found(format!("no data source `{id}` is registered"))
                .with_operation("registry")
        })
    }

    fn ids(&self) -> Vec<String> {
        read(&self.entries).keys().cloned().collect()
    }

    /// The factories connectors are built with.
    pub fn factories(&self) -> &ConnectorFactories {
        &self.factories
    }

    /// Registers `config`: its secret settings (as its type's factory declares them) are
    /// split off and encrypted, the connector is built (which checks the settings) and, with
    /// `test_connection`, connected and tested. Any failure registers nothing.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for settings the connector refuses (an unknown key is named)
    /// or a type with no factory; the connection test's error; [`Error::InvalidState`] when
    /// the id is taken; [`Error::Storage`] when it cannot be persisted.
    pub async fn register_data_source(
        &self,
        config: DataSourceConfig,
        test_connection: bool,
    ) -> Result<()> {
        let fields = self
            .factories
            .secret_fields(config.source_type)
            .cloned()
            .ok_or_else(|| {
                Error::configuration(format!(
                    "no connector factory for type `{}`",
                    type_name(config.source_type)
                ))
                .with_component(&config.id)
            })?;
        let mut plain_config = config;
        let (plain, secrets) = fields.split(std::mem::take(&mut plain_config.config));
        plain_config.config = plain;
        let settings = SourceSettings::new(
            &plain_config.id,
            plain_config.source_type,
            plain_config.config.clone(),
            secrets.clone(),
        );
        let inner = self.factories.build(&settings)?;
        let id = plain_config.id.clone();
        if read(&self.entries).contains_key(&id) {
            return Err(already(&id));
        }
        if test_connection {
            let tested = async {
                inner.connect().await?;
                inner.test_connection().await
            }
            .await;
            // The connection is opened again on first use.
            let _ = inner.disconnect().await;
            if let Err(e) = tested {
                tracing::info!(data_source = %id, error = %e, "connection test failed; not registered");
                return Err(if e.context().component.is_some() {
                    e
                } else {
                    e.with_component(&id)
                });
            }
        }
        let _writes = self.writes.lock().await;
        if read(&self.entries).contains_key(&id) {
            return Err(already(&id));
        }
        if let Some(database) = &self.database {
            let manager = self.credentials();
            let stored = StoredSource {
                id: id.clone(),
                config_json: serde_json::to_string(&plain_config)
                    .map_err(|e| Error::configuration(format!("data source `{id}`: {e}")))?,
                secrets: secrets
                    .iter()
                    .map(|(k, v)| (k.clone(), manager.encrypt(v)))
                    .collect(),
            };
            database
                .insert(&type_name(plain_config.source_type), &stored)
                .await?;
        }
        tracing::info!(data_source = %id, source_type = %type_name(plain_config.source_type), secrets = secrets.len(), "registered a data source");
        let connector = Arc::new(ManagedConnector::new(&id, inner));
        write(&self.entries).insert(
            id,
            Arc::new(Entry {
                config: plain_config,
                secrets,
                fields,
                connector,
            }),
        );
        Ok(())
    }

    /// The shared connector of `id`, connected (on first use, and again after a connection
    /// failure).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown id; the connection's error.
    pub async fn get_connector(&self, id: &str) -> Result<Arc<dyn Connector>> {
        let entry = self.entry(id)?;
        entry.connector.ensure_connected().await?;
        Ok(entry.connector.clone())
    }

    /// A connector of `id` from its own connection pool: each pooled connector is a new
    /// connector built by the source's factory (a connection of its own), connected when
    /// created, health-checked when reused, returned to the pool when dropped. The pool is
    /// opened on first use with [`with_pool_config`](Self::with_pool_config)'s limits
    /// (default [`PoolConfig`](crate::pool::PoolConfig)'s); `unregister` and
    /// `disconnect_all` close it. [`get_connector`](Self::get_connector) is the single
    /// shared connector instead.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use collectors_backends::pool::PoolConfig;
    /// use collectors_backends::registry::{ConnectorFactories, DataSourceRegistry};
    /// use collectors_core::{DataSourceConfig, DataSourceType, ListOptions};
    ///
    /// let files = tempfile::tempdir().unwrap();
    /// std::fs::write(files.path().join("a.csv"), "x\n1\n").unwrap();
    /// let registry = DataSourceRegistry::in_memory(ConnectorFactories::standard())
    ///     .with_pool_config(PoolConfig::new().max_size(2))
    ///     .unwrap();
    /// let config = DataSourceConfig::new("inbox", DataSourceType::LocalFile, "Inbox")
    ///     .unwrap()
    ///     .with_setting("uri", files.path().to_str().unwrap());
    /// registry.register_data_source(config, false).await.unwrap();
    ///
    /// let connector = registry.get_pooled_connector("inbox").await.unwrap();
    /// assert_eq!(connector.list_items(&ListOptions::new()).await.unwrap().len(), 1);
    /// assert_eq!(registry.pool_stats()["inbox"].in_use, 1);
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown id; the pool's errors
    /// ([`Error::Timeout`] when none is free in time) and the connection's.
    #[cfg(feature = "pool")]
    pub async fn get_pooled_connector(&self, id: &str) -> Result<crate::pool::PooledConnector> {
        let entry = self.entry(id)?;
        if let Some(pool) = self.pools.open_pool(id) {
            return pool.get().await;
        }
        let build = self.factories.builder(entry.settings())?;
        self.pools.get(id, build).await
    }

    /// Opens the pools of [`get_pooled_connector`](Self::get_pooled_connector) with
    /// `config` (closing none that is open).
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for an invalid `config`.
    #[cfg(feature = "pool")]
    pub fn with_pool_config(mut self, config: crate::pool::PoolConfig) -> Result<Self> {
        self.pools = crate::pool::ConnectionPoolManager::new(config)?;
        Ok(self)
    }

    /// The stats of each source's open pool, by id.
    #[cfg(feature = "pool")]
    pub fn pool_stats(&self) -> BTreeMap<String, crate::pool::PoolStats> {
        self.pools.stats()
    }

    /// Every registered data source, sanitized (secrets as `***`), sorted by id.
    pub fn list_data_sources(&self) -> Vec<DataSourceConfig> {
        read(&self.entries)
            .values()
            .map(|e| e.sanitized())
            .collect()
    }

    /// Whether `id` is registered.
    pub fn contains(&self, id: &str) -> bool {
        read(&self.entries).contains_key(id)
    }

    /// The configuration of `id`: with `sanitize`, secrets as `***` (safe to log or return
    /// from an API); without, the secrets in clear, for handing to code that builds a client
    /// itself (its `Debug` still hides keys that look secret, but serializing it does not).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown id.
    pub fn get_config(&self, id: &str, sanitize: bool) -> Result<DataSourceConfig> {
        let entry = self.entry(id)?;
        if sanitize {
            return Ok(entry.sanitized());
        }
        let mut config = entry.config.clone();
        for (key, secret) in &entry.secrets {
            config.config.insert(
                key.clone(),
                serde_json::Value::String(secret.expose_secret().to_owned()),
            );
        }
        Ok(config)
    }

    /// The settings of `id`, secrets as [`SecretString`]s.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown id.
    pub fn settings(&self, id: &str) -> Result<SourceSettings> {
        Ok(self.entry(id)?.settings())
    }

    /// Tests the connection of `id` (connecting first when needed).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown id; the connector's error.
    pub async fn test_connection(&self, id: &str) -> Result<()> {
        let entry = self.entry(id)?;
        entry.connector.test_connection().await
    }

    /// Disconnects `id`, then removes it (from the database too) and its cached metadata.
    /// Connectors handed out before fail with [`Error::NotFound`] from then on.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown id; [`Error::Storage`] when the database cannot be
    /// changed (the source stays registered).
    pub async fn unregister(&self, id: &str) -> Result<()> {
        let _writes = self.writes.lock().await;
        let entry = self.entry(id)?;
        if let Err(e) = entry.connector.close(false).await {
            tracing::warn!(data_source = %id, error = %e, "disconnect failed while unregistering");
        }
        if let Some(database) = &self.database {
            database.delete(id).await?;
        }
        // Late users get NotFound instead of a connection to a removed source.
        let _ = entry.connector.close(true).await;
        #[cfg(feature = "pool")]
        self.pools.close(id).await;
        write(&self.entries).remove(id);
        self.cache.clear(Some(id));
        tracing::info!(data_source = %id, "unregistered a data source");
        Ok(())
    }

    /// Disconnects every connector (they reconnect on next use).
    pub async fn disconnect_all(&self) {
        #[cfg(feature = "pool")]
        self.pools.close_all().await;
        let entries: Vec<Arc<Entry>> = read(&self.entries).values().cloned().collect();
        for entry in entries {
            if let Err(e) = entry.connector.close(false).await {
                tracing::warn!(data_source = %entry.config.id, error = %e, "disconnect failed");
            }
        }
    }

    /// Caches metadata for `id` for the cache's time to live (5 minutes by default).
    pub fn cache_metadata(&self, id: &str, metadata: Metadata) {
        self.cache.put(id, metadata);
    }

    /// The metadata cached for `id`, unless it expired.
    pub fn get_cached_metadata(&self, id: &str) -> Option<Metadata> {
        self.cache.get(id)
    }

    /// Forgets the cached metadata of `id`, or of every source with `None`.
    pub fn clear_cache(&self, id: Option<&str>) {
        self.cache.clear(id);
    }

    /// Uses `ttl` for cached metadata (clearing the cache).
    #[must_use]
    pub fn with_metadata_ttl(mut self, ttl: Duration) -> Self {
        self.cache = MetadataCache::new(ttl);
        self
    }

    /// The master key in use.
    pub fn master_key(&self) -> MasterKey {
        self.credentials().key().clone()
    }

    /// Re-encrypts every stored secret under `new_key`, in one database transaction. When the
    /// current key came from a key file, the file is replaced by the new key (written beside
    /// it first, renamed into place after the commit; an interrupted rotation is finished at
    /// the next open). When it came from `COLLECTORS_MASTER_KEY`, set the variable to the new
    /// key ([`MasterKey::expose_for_backup`]) before the next open.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] or [`Error::Configuration`]; the old key then still opens
    /// everything.
    pub async fn rotate_key(&self, new_key: MasterKey) -> Result<()> {
        let _writes = self.writes.lock().await;
        let old = self.credentials();
        let key_file = match old.key().source() {
            KeySource::File(path) => Some(path.clone()),
            _ => None,
        };
        let staged = match &key_file {
            Some(path) => Some(new_key.write_file(&next_key_path(path))?),
            None => None,
        };
        let new_manager = CredentialManager::new(new_key.clone());
        if let Some(database) = &self.database
            && let Err(e) = database.rotate(&old, &new_manager).await
        {
            if let Some(path) = &key_file {
                let _ = std::fs::remove_file(next_key_path(path));
            }
            return Err(e);
        }
        let installed = match (&key_file, staged) {
            (Some(path), Some(_)) => {
                std::fs::rename(next_key_path(path), path).map_err(|e| {
                    Error::configuration(format!(
                        "the registry is re-encrypted, but the new key could not replace {}: \
                         {e} (it is in {}; the next open finishes the rotation)",
                        path.display(),
                        next_key_path(path).display()
                    ))
                })?;
                MasterKey::read_file(path)?
            }
            _ => new_key,
        };
        *write(&self.credentials) = Arc::new(CredentialManager::new(installed));
        tracing::info!(sources = self.ids().len(), "rotated the master key");
        Ok(())
    }

    /// Disconnects everything and closes the database.
    pub async fn close(&self) {
        self.disconnect_all().await;
        if let Some(database) = &self.database {
            database.close().await;
        }
    }
}

fn already(id: &str) -> Error {
    Error::invalid_state(format!("a data source `{id}` is already registered"))
        .with_operation("register")
}

/// The connector of a stored source whose factory refused it (or is not compiled in).
struct Unbuildable(String);

#[async_trait::async_trait]
impl Connector for Unbuildable {
    async fn connect(&self) -> Result<()> {
        Err(Error::configuration(self.0.clone()))
    }
    async fn disconnect(&self) -> Result<()> {
        Ok(())
    }
    async fn test_connection(&self) -> Result<()> {
        self.connect().await
    }
    async fn list_items(
        &self,
        _: &collectors_core::ListOptions,
    ) -> Result<Vec<collectors_core::DataItem>> {
        self.connect().await.map(|()| Vec::new())
    }
    async fn fetch_data(&self, _: &str, _: &Path) -> Result<PathBuf> {
        Err(Error::configuration(self.0.clone()))
    }
    async fn get_metadata(&self, _: &str) -> Result<Metadata> {
        Err(Error::configuration(self.0.clone()))
    }
}
