//! # collectors-backends
//!
//! The I/O adapters of the `collectors` framework: concrete implementations of the contracts
//! of [`collectors_core`] that reach real systems.
//!
//! | module | type | contract | feature |
//! |---|---|---|---|
//! | [`local`] | [`LocalDirectorySource`] | [`DataSource`] (listed), [`Connector`] | `local` |
//! | [`sqlite`] | [`SqliteStorage`] (with its ledger: checkpoints and dead letters) | [`StorageBackend`] | `sqlite` |
//! | [`sqlite`] | [`SqliteCheckpointStore`] | [`CheckpointStore`] | `sqlite` |
//! | [`sqlite`] | [`SqliteQualityHistory`] | [`QualityHistory`](collectors_core::QualityHistory) | `sqlite` |
//! | [`postgres`] | [`PostgresConnector`] (tables and views; exports as Parquet or CSV) | [`Connector`] | `postgres` |
//! | [`postgres`] | [`PostgresSource`] (a table or query in cursor chunks, incremental) | [`DataSource`] (listed) | `postgres` |
//! | [`postgres`] | [`PostgresCheckpointStore`] (leases for runs on several machines) | [`CheckpointStore`] | `postgres` |
//! | [`postgres`] | [`PostgresStorage`] (`COPY` bulk loads, with its ledger) | [`StorageBackend`] | `postgres` |
//! | [`file_sink`] | [`FileSink`] | [`StorageBackend`] | `file-sink` (JSON lines), `parquet` |
//! | [`object_store`](mod@object_store) | [`ObjectStoreConnector`] (`get_connector`: `file://`, `memory://`, `s3://`, `gs://`, `az://`) | [`Connector`] | `object-store`, `aws`, `gcp`, `azure` |
//! | [`pool`] | [`ConnectionPool`](pool::ConnectionPool), [`ConnectionPoolManager`](pool::ConnectionPoolManager) (deadpool) | pools of [`Connector`]s | `pool` |
//! | [`registry`] | [`DataSourceRegistry`] (sources by name, encrypted credentials, SQLite) | [`Connector`] factories | `registry` |
//! | [`dead_letter`] | [`JsonlDeadLetterSink`] | [`DeadLetterSink`], [`DeadLetterStore`](collectors_core::DeadLetterStore) | always |
//!
//! Together they are the embedded default of the engine: files under a directory go in, rows
//! land in a SQLite file, and the checkpoints and dead letters sit beside them in the same
//! database, in the store's own transactions. Nothing has to be installed or started: SQLite
//! is compiled in.
//!
//! ## Example: a directory of CSV files, a SQLite store, a dead-letter file
//!
//! ```no_run
//! # #[cfg(all(feature = "local", feature = "sqlite"))]
//! # async fn run() -> collectors_core::Result<()> {
//! use collectors_backends::{JsonlDeadLetterSink, LocalDirectorySource, SqliteCheckpointStore, SqliteStorage};
//! use collectors_core::{DataSource, StorageBackend};
//! use futures::TryStreamExt;
//!
//! let source = LocalDirectorySource::builder("sensors", "data/incoming")
//!     .pattern("**/*.csv")
//!     .build()?;
//! let store = SqliteStorage::builder("warehouse", "out/readings.db")
//!     .table("readings")
//!     .build()?;
//! store.connect().await?;
//! let checkpoints = SqliteCheckpointStore::open("out/readings.db").await?;
//! let dead_letters = JsonlDeadLetterSink::new("out/dead-letters.jsonl");
//! for item in source.list().try_concat().await? {
//!     println!("{} ({} bytes, version {})", item.item_id, item.size.unwrap_or(0), item.version);
//! }
//! # let _ = (checkpoints, dead_letters);
//! # Ok(())
//! # }
//! ```
//!
//! ## Features
//!
//! - `local` (default): [`LocalDirectorySource`], through `object_store`'s local file system
//!   and `globset`.
//! - `sqlite` (default): [`SqliteStorage`] and [`SqliteCheckpointStore`], on a bundled
//!   SQLite: writes through one `rusqlite` connection (prepared statements bound straight
//!   from Arrow), reads and bookkeeping through `sqlx`.
//! - `postgres`: [`PostgresConnector`], [`PostgresSource`], [`PostgresStorage`] and
//!   [`PostgresCheckpointStore`], through `sqlx` (TLS by rustls when the URL's `sslmode`
//!   asks for it, `sslrootcert` for a private CA), `arrow` and `parquet`.
//! - `file-sink` (default): [`FileSink`] writing one JSON-lines file per record, through
//!   `arrow-json`.
//! - `parquet` (implies `file-sink`): [`FileFormat::Parquet`] for [`FileSink`], through the
//!   `parquet` crate (Snappy compression only).
//! - `object-store` (implies `parquet`): [`object_store`](mod@object_store) — `get_connector`
//!   for `file://`, plain paths and `memory://`, [`ObjectStoreConnector`], the object-store
//!   source and store.
//! - `pool` (implied by `postgres`): [`pool::ConnectionPool`] and
//!   [`pool::ConnectionPoolManager`] on `deadpool`, configured by [`pool::PoolConfig`].
//! - `credentials`: [`credentials::CredentialManager`], Fernet encryption of secret settings
//!   (the `fernet` crate's pure-Rust crypto, no OpenSSL) under a master key from
//!   `COLLECTORS_MASTER_KEY` or a 0600 key file.
//! - `registry` (implies `credentials`, `sqlite`): [`DataSourceRegistry`] and
//!   [`ConnectorFactories`]; TOML/YAML (`serde-saphyr`) settings files.
//! - `aws`, `azure`, `gcp` (each implies `object-store`): the `s3://`, `az://`/`azure://`/
//!   `abfs://` and `gs://` schemes, through object_store's clients (reqwest with rustls, no
//!   system OpenSSL).
//!
//! [`DataSource`]: collectors_core::DataSource
//! [`Connector`]: collectors_core::Connector
//! [`StorageBackend`]: collectors_core::StorageBackend
//! [`CheckpointStore`]: collectors_core::CheckpointStore
//! [`DeadLetterSink`]: collectors_core::DeadLetterSink

#[cfg(feature = "registry")]
pub mod any_db;
#[cfg(feature = "credentials")]
pub mod credentials;
pub mod dead_letter;
#[cfg(feature = "file-sink")]
pub mod file_sink;
#[cfg(feature = "local")]
pub mod local;
#[cfg(feature = "object-store")]
pub mod object_store;
#[cfg(feature = "pool")]
pub mod pool;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "registry")]
pub mod registry;
#[cfg(feature = "sqlite")]
pub mod sqlite;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod checkpoint_row;
mod fs_util;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod quality_row;
#[cfg(any(feature = "object-store", feature = "registry"))]
mod settings_file;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql_table;

#[cfg(feature = "object-store")]
pub use self::object_store::{ObjectStoreConfig, ObjectStoreConnector, get_connector};
pub use dead_letter::{JsonlDeadLetterSink, read_dead_letters, rewrite_dead_letters};
#[cfg(feature = "file-sink")]
pub use file_sink::{FileFormat, FileSink, FileSinkBuilder};
#[cfg(feature = "local")]
pub use local::{LocalDirectorySource, LocalDirectorySourceBuilder};
#[cfg(feature = "postgres")]
pub use postgres::{PostgresCheckpointStore, PostgresConnector, PostgresSource, PostgresStorage};
#[cfg(feature = "registry")]
pub use registry::{ConnectorFactories, DataSourceRegistry};
#[cfg(any(feature = "object-store", feature = "registry"))]
pub use settings_file::read_settings_file;
#[cfg(feature = "sqlite")]
pub use sqlite::{
    SqliteCheckpointStore, SqliteQualityHistory, SqliteStorage, SqliteStorageBuilder,
};
