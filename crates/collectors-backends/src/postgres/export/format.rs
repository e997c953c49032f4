//! [`ExportFormat`]: the file format tables and query results are written in.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The format [`PostgresConnector::fetch_data`](super::super::PostgresConnector) writes and
/// [`PostgresSource`](super::super::PostgresSource) chunks are encoded in: both are read by
/// the decoders of `collectors-processors` (`ParquetDecoder`, `CsvDecoder`).
///
/// ```
/// use collectors_backends::postgres::ExportFormat;
///
/// assert_eq!(ExportFormat::from_name("out/readings.csv"), Some(ExportFormat::Csv));
/// assert_eq!(ExportFormat::from_name("readings.parquet"), Some(ExportFormat::Parquet));
/// assert_eq!(ExportFormat::default().extension(), "parquet");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ExportFormat {
    /// Apache Parquet (Snappy), with the Arrow schema embedded: column types are kept
    /// (integers, floats, booleans, timestamps in UTC, dates, bytes).
    #[default]
    Parquet,
    /// CSV with a header line (RFC 4180 quoting); timestamps in RFC 3339, bytes as
    /// PostgreSQL's `\x…` hex text, NULL as an empty field.
    Csv,
}

impl ExportFormat {
    /// The format a file name's extension says (`.parquet`, `.csv`), if any.
    pub fn from_name(name: impl AsRef<Path>) -> Option<Self> {
        let extension = name.as_ref().extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "parquet" | "pq" => Some(Self::Parquet),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    /// The format a pipeline's `format = "…"` (a decoder name) names, if it is one of these.
    pub fn from_decoder(name: &str) -> Option<Self> {
        match name {
            "parquet" => Some(Self::Parquet),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Parquet => "parquet",
            Self::Csv => "csv",
        }
    }
}
