//! SQLite, embedded: [`SqliteStorage`] (a [`StorageBackend`](collectors_core::StorageBackend)
//! that writes tables as rows) and [`SqliteCheckpointStore`] (the engine's
//! [`CheckpointStore`](collectors_core::CheckpointStore)), on a bundled SQLite, so nothing
//! has to be installed.
//!
//! Both open their database in WAL mode with `synchronous=NORMAL` and a busy timeout, so they
//! can share one file (each with its own pool) and readers never block the writer.
//!
//! # Two drivers, one SQLite
//!
//! `store_batch` — the records, their rows and, through the
//! [`ledger`](collectors_core::StorageBackend::ledger), the checkpoints they complete — runs
//! as one transaction on the store's own write connection, on `rusqlite`, on a blocking
//! thread: statements prepared once, values bound straight from the Arrow arrays. Queries,
//! `delete`, dead letters, leases and the stand-alone checkpoint store use `sqlx`'s pool.
//! Both link the same `libsqlite3-sys`. A file database is shared through WAL and the busy
//! timeout; an in-memory database (`sqlite::memory:`) is opened by name in shared-cache mode
//! by both, so the write connection and the pool see one database, which lives while the
//! store is connected.
//!
//! # Errors
//!
//! Failures of the database become the framework's [`Error`](collectors_core::Error) with the
//! `sqlx` or `rusqlite` error attached as the source, classified by whether a retry can help:
//!
//! | failure | error | retryable |
//! |---|---|---|
//! | busy, locked, I/O, disk full, pool timeout | [`Error::Storage`](collectors_core::Error::Storage) | yes |
//! | not connected, pool closed | [`Error::Connection`](collectors_core::Error::Connection) | yes |
//! | constraint, value too big, type mismatch; unsupported Arrow types, schema changes | [`Error::Validation`](collectors_core::Error::Validation) | no |
//! | anything else the database refuses (read-only, corrupt, a table altered behind our back) | [`Error::InvalidState`](collectors_core::Error::InvalidState) | no |
//!
//! # Failed transactions
//!
//! Every transaction ends, whatever fails: a statement, the `COMMIT`, or the `ROLLBACK`
//! itself. On failure the transaction is rolled back; when SQLite already rolled it back on
//! its own (it does after a failed `COMMIT` and after "database or disk is full" in some
//! statements) or the rollback fails, the connection is closed rather than returned to the
//! pool. So a batch that fails because the disk is full keeps nothing, reports
//! "database or disk is full" as a retryable [`Error::Storage`](collectors_core::Error::Storage),
//! and the next batch succeeds as soon as there is room again, on the same store, without
//! reconnecting. [`SqliteStorageBuilder::max_database_size`] and
//! [`SqliteCheckpointStore::open_with_max_size`] cap a database file the same way a full disk
//! would.

mod builder;
mod catalog;
mod checkpoint;
mod connection;
mod dead_letters;
mod error;
mod quality_history;
mod query;
mod rows;
mod schema;
mod storage;
mod transaction;
mod write;
mod writer;

pub use builder::SqliteStorageBuilder;
pub use checkpoint::SqliteCheckpointStore;
pub use quality_history::SqliteQualityHistory;
pub use storage::SqliteStorage;
