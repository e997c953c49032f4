//! Object stores behind one URI: a local directory, memory, S3, GCS and Azure Blob, all
//! through the `object_store` crate.
//!
//! - [`get_connector`] turns a URI (`s3://bucket/raw/`, `file:///srv/in`, `memory://`) and an
//!   [`ObjectStoreConfig`] into an [`ObjectStoreConnector`], the
//!   [`Connector`](collectors_core::Connector) of every scheme, which also reads and writes
//!   bytes and CSV, JSON-lines and Parquet tables.
//! - [`ObjectStoreSource`] is a listed [`DataSource`](collectors_core::DataSource) over the
//!   objects (version = e-tag, so reruns take only new or changed objects);
//!   [`ObjectStoreStorage`] a [`StorageBackend`](collectors_core::StorageBackend) writing one
//!   Parquet, CSV or JSON-lines object per source item under readable names.
//! - [`StoreUri`] is the parsed URI; [`NamePattern`] the glob of listings;
//!   [`DataFrameFormat`] the table formats; [`WriteOptions`] how a write goes.
//!
//! The cloud schemes are cargo features: `aws` (`s3://`), `gcp` (`gs://`), `azure`
//! (`az://`, `azure://`, `abfs://`). They use reqwest with rustls: no system OpenSSL.
//!
//! Credentials and options come from the configuration (a TOML or JSON file, see
//! [`ObjectStoreConfig`]), else from each cloud's standard environment. Their values never
//! appear in `Debug` output or in error messages.
//!
//! Failures: object_store retries transient HTTP failures (5xx, timeouts, throttling) with
//! its backoff; what still fails becomes a retryable [`Error`](collectors_core::Error)
//! (`DataFetch`, `Storage`, `Connection`) for the engine's error handler, while a 403 or 401
//! is an `Authentication` error and a 404 a `NotFound`, never retried, each naming the
//! object.

mod config;
mod connector;
mod dataframe;
mod error;
mod factory;
mod format;
mod pattern;
mod source;
mod storage;
mod uri;
mod write;

pub use config::ObjectStoreConfig;
pub use connector::{
    DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE, MIN_PART_SIZE, ObjectStoreConnector,
};
pub use factory::get_connector;
pub use format::DataFrameFormat;
pub use pattern::NamePattern;
pub use source::ObjectStoreSource;
pub use storage::ObjectStoreStorage;
pub use uri::{StoreScheme, StoreUri};
pub use write::{WriteOptions, WriteOutcome};
