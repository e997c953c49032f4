//! [`FileFormat`]: how a [`FileSink`](super::FileSink) lays out one record in one file.

use serde::{Deserialize, Serialize};

/// The layout of the files a [`FileSink`](super::FileSink) or an
/// `ObjectStoreStorage` writes: one file per source item (its batches in order), and one per
/// record stored on its own.
///
/// ```
/// use collectors_backends::FileFormat;
///
/// assert_eq!(FileFormat::default(), FileFormat::Jsonl);
/// assert_eq!(FileFormat::Parquet.extension(), "parquet");
/// let parsed: FileFormat = serde_json::from_str("\"parquet\"").unwrap();
/// assert_eq!(parsed, FileFormat::Parquet);
/// assert_eq!(FileFormat::Csv.to_string(), "csv");
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
    /// CSV (`.csv`): plain rows under one header row, readable as they are by any CSV
    /// reader; the key, metadata, created_at and the exact Arrow schema sit in a sidecar
    /// index `.{name}.index.json` beside the file. Holds
    /// [`Payload::Table`](collectors_core::Payload::Table) records of flat column types
    /// only, and no empty strings (CSV reads them back as nulls). Always available with the
    /// `file-sink` feature.
    Csv,
}

impl FileFormat {
    /// The file name extension, without the dot: `jsonl`, `parquet` or `csv`.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Jsonl => "jsonl",
            FileFormat::Parquet => "parquet",
            FileFormat::Csv => "csv",
        }
    }

    /// Whether a file of this format keeps its record index in a sidecar file beside it
    /// (CSV), rather than inside it.
    pub(crate) fn has_sidecar(self) -> bool {
        self == FileFormat::Csv
    }
}

impl std::fmt::Display for FileFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.extension())
    }
}
