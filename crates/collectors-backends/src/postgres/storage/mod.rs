//! [`PostgresStorage`]: a [`StorageBackend`](collectors_core::StorageBackend) that creates
//! its table from the Arrow schema, bulk-loads rows with `COPY … FROM STDIN` (binary or
//! CSV, [`CopyFormat`]), upserts idempotently on the record key, and keeps the checkpoints
//! and dead letters of its [`ledger`](collectors_core::StorageBackend::ledger) in the same
//! database, committed with the data.

mod builder;
mod catalog;
mod columns;
mod copy;
mod copy_binary;
mod copy_csv;
mod dead_letters;
mod ledger;
mod query;
mod schema;
mod store;
mod upsert;

pub use builder::PostgresStorageBuilder;
pub use copy::CopyFormat;
pub use store::PostgresStorage;
