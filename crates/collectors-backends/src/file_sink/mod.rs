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
//!   payload's serde JSON. Every payload kind fits.
//! - [`FileFormat::Parquet`] (feature `parquet`): table payloads only; the key, metadata and
//!   created_at are in the file's key-value metadata under `collectors.*`.
//!
//! # NaN and infinities
//!
//! - **Parquet** keeps them: NaN, +inf and -inf in float columns read back as they were.
//! - **JSON lines** refuses them: JSON has no literal for them, and `arrow-json` would write
//!   each as `null`, so they would come back as nulls. A record whose float column
//!   (`Float16`, `Float32`, `Float64`) holds NaN or an infinity is an
//!   [`Error::Validation`](collectors_core::Error::Validation) naming the column, and nothing
//!   of its batch is written. Use Parquet to keep them, or map them to nulls upstream.

mod builder;
pub(crate) mod codec;
mod format;
mod jsonl;
mod name;
#[cfg(feature = "parquet")]
mod parquet_file;
mod sink;

pub use builder::FileSinkBuilder;
pub use format::FileFormat;
pub use sink::FileSink;
