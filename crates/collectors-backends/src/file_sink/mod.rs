//! Records as files: [`FileSink`], a [`StorageBackend`](collectors_core::StorageBackend) that
//! writes each record as one JSON-lines or Parquet file under a directory, atomically
//! (temp file, fsync, rename).
//!
//! # File formats
//!
//! - [`FileFormat::Jsonl`] (feature `file-sink`): a header line
//!   `{"version":1,"key":…,"kind":…,"metadata":{…},"created_at":…}`; a table adds its Arrow
//!   `schema` and `rows` to the header and follows it with one JSON object per row (written
//!   and read by `arrow-json`); any other payload is the header's `payload` field, as the
//!   payload's serde JSON. Every payload kind fits. JSON has no NaN or infinity, so a float
//!   column holding one is an [`Error::Validation`](collectors_core::Error::Validation).
//! - [`FileFormat::Parquet`] (feature `parquet`): table payloads only; the key, metadata and
//!   created_at are in the file's key-value metadata under `collectors.*`.

mod builder;
mod codec;
mod format;
mod jsonl;
mod name;
#[cfg(feature = "parquet")]
mod parquet_file;
mod sink;

pub use builder::FileSinkBuilder;
pub use format::FileFormat;
pub use sink::FileSink;
