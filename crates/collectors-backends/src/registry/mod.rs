//! The data-source registry: data sources registered by name, their connectors built by
//! [`ConnectorFactories`] (by type and URI scheme), their secrets encrypted at rest with the
//! [`credentials`](crate::credentials) module, persisted in SQLite under the data directory (or in PostgreSQL, [`REGISTRY_URL_ENV`]),
//! and a metadata cache.
//!
//! - [`DataSourceRegistry`]: register, get a shared connector, list (sanitized), test,
//!   unregister, rotate the key.
//! - [`ConnectorFactories`]: the factories, each declaring its secret settings and the JSON
//!   Schema of its settings; [`SourceSettings`] is what a factory builds from.
//! - [`read_settings_file`]: settings from TOML, YAML or JSON; [`resolve_data_dir`]: where
//!   the registry lives.

pub(crate) mod data_dir;
mod data_source_registry;
mod database;
mod factory;
mod managed_connector;
mod metadata_cache;
#[cfg(feature = "object-store")]
mod object_store_factories;
#[cfg(feature = "object-store")]
mod object_store_options;
#[cfg(feature = "postgres")]
mod postgres_factory;
mod settings;

pub use crate::settings_file::read_settings_file;
pub use data_dir::{DATA_DIR_ENV, REGISTRY_DB_FILE, resolve_data_dir};
pub use data_source_registry::{DEFAULT_METADATA_TTL, DataSourceRegistry};
pub use database::REGISTRY_URL_ENV;
pub use factory::ConnectorFactories;
pub use metadata_cache::MetadataCache;
#[cfg(feature = "object-store")]
pub use object_store_factories::object_store_config;
pub use settings::SourceSettings;
