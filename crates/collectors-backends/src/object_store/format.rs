//! [`DataFrameFormat`]: the table formats a connector reads and writes.

use std::fmt;
use std::str::FromStr;

use collectors_core::{Error, Result};

/// A table format for [`read_dataframe`](super::ObjectStoreConnector::read_dataframe) and
/// [`write_dataframe`](super::ObjectStoreConnector::write_dataframe).
///
/// ```
/// use collectors_backends::object_store::DataFrameFormat;
///
/// assert_eq!(DataFrameFormat::from_name("out/part-00.parquet"), Some(DataFrameFormat::Parquet));
/// assert_eq!(DataFrameFormat::from_name("a.ndjson"), Some(DataFrameFormat::JsonLines));
/// assert_eq!("csv".parse::<DataFrameFormat>().unwrap(), DataFrameFormat::Csv);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DataFrameFormat {
    /// Comma-separated values with a header line; column types are inferred on read.
    Csv,
    /// One JSON object per line; column types are inferred on read.
    #[serde(rename = "jsonl")]
    JsonLines,
    /// Apache Parquet (Snappy-compressed on write).
    Parquet,
}

impl DataFrameFormat {
    /// The format an object name's extension says (`.csv`, `.jsonl`/`.ndjson`/`.json`,
    /// `.parquet`/`.pq`), case-insensitively.
    pub fn from_name(name: &str) -> Option<Self> {
        let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match extension.as_str() {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" | "json" => Some(Self::JsonLines),
            "parquet" | "pq" => Some(Self::Parquet),
            _ => None,
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::JsonLines => "jsonl",
            Self::Parquet => "parquet",
        }
    }

    /// The HTTP content type objects of this format are written with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv",
            Self::JsonLines => "application/x-ndjson",
            Self::Parquet => "application/vnd.apache.parquet",
        }
    }
}

impl fmt::Display for DataFrameFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

impl FromStr for DataFrameFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Self::Csv),
            "jsonl" | "ndjson" | "json" | "json_lines" => Ok(Self::JsonLines),
            "parquet" => Ok(Self::Parquet),
            other => Err(Error::validation(format!(
                "unknown table format {other:?}: csv, jsonl or parquet"
            ))),
        }
    }
}

/// A content type for an object, guessed from its name (used when the store keeps none).
pub(crate) fn guess_content_type(name: &str) -> &'static str {
    if let Some(format) = DataFrameFormat::from_name(name) {
        return format.content_type();
    }
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "txt" | "md" | "log" => "text/plain",
        "tsv" => "text/tab-separated-values",
        "xml" => "application/xml",
        "gz" => "application/gzip",
        "zip" => "application/zip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        _ => "application/octet-stream",
    }
}
