//! PostgreSQL: [`PostgresConnector`] (browse tables and views, export a table or a query as
//! Parquet or CSV), [`PostgresSource`] (a table or query read in cursor chunks,
//! incrementally), [`PostgresStorage`] (a store that bulk-loads rows with `COPY` and keeps its
//! checkpoints and dead letters in the same transactions), and [`PostgresCheckpointStore`],
//! the engine's checkpoints and item leases in a PostgreSQL database, so that several
//! `collectors run` processes on several machines share one pipeline's items with
//! PostgreSQL as the only coordinator.
//!
//! Lease times come from the server's clock (`now()`), never from the runs' own clocks, so
//! machines whose clocks disagree still agree on when a lease has expired.
//!
//! # Errors
//!
//! | failure | error | retryable |
//! |---|---|---|
//! | connection lost or refused, server shutting down, too many connections | [`Error::Connection`](collectors_core::Error::Connection) / [`Error::Storage`](collectors_core::Error::Storage) | yes |
//! | no pooled connection free within the acquire timeout | [`Error::Timeout`](collectors_core::Error::Timeout) | yes |
//! | serialization failure, deadlock, lock timeout, disk full | [`Error::Storage`](collectors_core::Error::Storage) | yes |
//! | wrong password, no such role | [`Error::Authentication`](collectors_core::Error::Authentication) | no |
//! | constraint and data errors | [`Error::Validation`](collectors_core::Error::Validation) | no |
//! | anything else the server refuses | [`Error::InvalidState`](collectors_core::Error::InvalidState) | no |
//!
//! Connection URLs carry passwords: they are never shown in `Debug`, logs or errors.

mod catalog;
mod checkpoint;
mod connector;
mod error;
mod export;
mod lazy_pool;
mod quality_history;
mod source;
mod storage;
pub(crate) mod url;

pub use checkpoint::PostgresCheckpointStore;
pub use connector::PostgresConnector;
pub use export::ExportFormat;
pub use quality_history::PostgresQualityHistory;
pub use source::{BOUNDS_TABLE, DEFAULT_CHUNK_ROWS, PostgresSource};
pub use storage::{CopyFormat, PostgresStorage, PostgresStorageBuilder};
