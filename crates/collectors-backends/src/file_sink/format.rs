//! [`FileFormat`]: how a [`FileSink`](super::FileSink) lays out one record in one file.

use serde::{Deserialize, Serialize};

/// The layout of the files a [`FileSink`](super::FileSink) writes, one record per file.
///
/// ```
/// use collectors_backends::FileFormat;
///
/// assert_eq!(FileFormat::default(), FileFormat::Jsonl);
/// assert_eq!(FileFormat::Parquet.extension(), "parquet");
/// let parsed: FileFormat = serde_json::from_str("\"parquet\"").unwrap();
/// assert_eq!(parsed, FileFormat::Parquet);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FileFormat {
    /// JSON lines (`.jsonl`): a header object (key, kind, metadata, created_at, and the Arrow
    /// schema of a table or the payload of any other kind), then one JSON object per table
    /// row. Holds every payload kind. Always available with the `file-sink` feature.
    #[default]
    Jsonl,
    /// Apache Parquet (`.parquet`), Snappy-compressed; the key, metadata and created_at sit in
    /// the file's key-value metadata. Holds [`Payload::Table`](collectors_core::Payload::Table)
    /// records only. Needs the `parquet` feature.
    Parquet,
}

impl FileFormat {
    /// The file name extension, without the dot: `jsonl` or `parquet`.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Jsonl => "jsonl",
            FileFormat::Parquet => "parquet",
        }
    }
}

impl std::fmt::Display for FileFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.extension())
    }
}
