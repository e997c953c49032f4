//! Records as files: [`FileSink`], a [`StorageBackend`](collectors_core::StorageBackend) that
//! writes one JSON-lines, CSV or Parquet file per source item (its batches in order) under a
//! directory, published atomically (temp file, fsync, rename) when the item is finished.
//!
//! # File formats
//!
//! - [`FileFormat::Jsonl`] (feature `file-sink`): one section per record: a header line
//!   `{"version":1,"key":…,"kind":…,"metadata":{…},"created_at":…}`; a table adds its Arrow
//!   `schema` and `rows` to the header and follows it with one JSON object per row (written
//!   and read by `arrow-json`); any other payload is the header's `payload` field, as the
//!   payload's serde JSON. Every payload kind fits. An item's file is its records' sections
//!   one after another (so it is not a plain table of rows: use Parquet for datasets).
//! - [`FileFormat::Parquet`] (feature `parquet`): table payloads only. An item's file holds
//!   plain rows, one row group per record, one schema; the records' keys, metadata and
//!   created_at and the item (source, id, version) are in the file's key-value metadata
//!   under `collectors.*`, which dataset readers ignore. A record stored on its own is a
//!   file of one record (layout version 1).
//! - [`FileFormat::Csv`] (feature `file-sink`): table payloads of flat column types only.
//!   An item's file is plain CSV: one header row, then its records' rows in order, so
//!   `read_csv('out/**/*.csv')` reads the dataset. The records' keys, metadata, created_at
//!   and rows, the item and the exact Arrow schema are in a hidden sidecar index beside it,
//!   `.{name}.index.json`, which also records the CSV file's size: a CSV file whose size
//!   disagrees with its index (a crash between the two renames) or that has no index is
//!   skipped with a warning. Empty strings are refused: CSV reads them back as nulls.
//!
//! # NaN and infinities
//!
//! - **Parquet** and **CSV** keep them: NaN, +inf and -inf in float columns read back as
//!   they were.
//! - **JSON lines** refuses them: JSON has no literal for them, and `arrow-json` would write
//!   each as `null`, so they would come back as nulls. A record whose float column
//!   (`Float16`, `Float32`, `Float64`) holds NaN or an infinity is an
//!   [`Error::Validation`](collectors_core::Error::Validation) naming the column, and nothing
//!   of its batch is written. Use Parquet to keep them, or map them to nulls upstream.

mod builder;
pub(crate) mod codec;
mod csv_file;
mod format;
pub(crate) mod item_file;
mod jsonl;
pub(crate) mod layout;
pub(crate) mod open_items;
#[cfg(feature = "parquet")]
mod parquet_file;
mod sink;

pub use builder::FileSinkBuilder;
pub use format::FileFormat;
pub use sink::FileSink;
#[cfg(feature = "object-store")]
pub(crate) use sink::probe as sink_probe;
