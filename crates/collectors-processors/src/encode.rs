//! [`Encode`]: an Arrow table to bytes (a CSV, JSON-lines or Parquet document), inside a
//! pipeline; and [`encode_batches`], the same encoding for any caller.

use arrow_array::RecordBatch;
use async_trait::async_trait;
use collectors_core::{Error, Payload, Processor, Result};
use serde::{Deserialize, Serialize};

/// The formats [`Encode`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum EncodeFormat {
    /// CSV with a header line (arrow-csv's writer: RFC 4180 quoting, RFC 3339 timestamps).
    Csv,
    /// JSON lines, one object per row (nulls left out).
    Jsonl,
    /// Parquet (feature `parquet`): one row group per batch.
    Parquet,
}

/// The compression of the Parquet documents [`Encode`] writes. Every one of them is read
/// back by the Parquet decoder, and by DuckDB, pyarrow, polars and Spark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ParquetCompression {
    /// No compression.
    Uncompressed,
    /// Snappy: fast, the usual default.
    #[default]
    Snappy,
    /// Gzip at its default level.
    Gzip,
    /// LZ4 (the raw LZ4 codec of the Parquet format).
    Lz4,
    /// Zstandard at its default level: smaller than Snappy, still fast.
    Zstd,
}

/// What an [`Encode`] writes.
///
/// ```
/// use collectors_processors::{EncodeConfig, EncodeFormat, ParquetCompression};
///
/// let config: EncodeConfig =
///     serde_json::from_str(r#"{"format": "parquet", "compression": "zstd"}"#).unwrap();
/// assert_eq!(config.format, EncodeFormat::Parquet);
/// assert_eq!(config.compression, ParquetCompression::Zstd);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EncodeConfig {
    /// The format of the bytes.
    pub format: EncodeFormat,
    /// Parquet only: the compression of its pages (default `snappy`).
    #[serde(default)]
    pub compression: ParquetCompression,
}

/// Encodes `batches` (all of one schema) as one `format` document. Parquet gets one row
/// group per batch, compressed with `compression` (ignored by the other formats).
///
/// No batch (not even a schema to write), batches of different schemas, a type the format
/// cannot hold, or Parquet without the `parquet` feature are an [`Error::Validation`].
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{ArrayRef, Int64Array, RecordBatch};
/// use collectors_processors::{encode_batches, EncodeFormat, ParquetCompression};
///
/// let batch = RecordBatch::try_from_iter([(
///     "v",
///     Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef,
/// )])?;
/// let csv = encode_batches(EncodeFormat::Csv, &[batch], ParquetCompression::default())?;
/// assert_eq!(csv, b"v\n1\n2\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_batches(
    format: EncodeFormat,
    batches: &[RecordBatch],
    compression: ParquetCompression,
) -> Result<Vec<u8>> {
    let Some(first) = batches.first() else {
        return Err(Error::validation(
            "no record batch to encode (a table needs at least its schema)",
        ));
    };
    let schema = first.schema();
    if let Some(other) = batches.iter().find(|b| b.schema() != schema) {
        return Err(Error::validation(format!(
            "the batches have different schemas ({schema} and {})",
            other.schema()
        )));
    }
    let failed =
        |e: &dyn std::fmt::Display| Error::validation(format!("cannot encode as {format:?}: {e}"));
    match format {
        EncodeFormat::Csv => {
            let mut writer = arrow_csv::WriterBuilder::new()
                .with_header(true)
                .build(Vec::new());
            for batch in batches {
                writer.write(batch).map_err(|e| failed(&e))?;
            }
            Ok(writer.into_inner())
        }
        EncodeFormat::Jsonl => {
            let mut writer = arrow_json::LineDelimitedWriter::new(Vec::new());
            let refs: Vec<&RecordBatch> = batches.iter().collect();
            writer.write_batches(&refs).map_err(|e| failed(&e))?;
            writer.finish().map_err(|e| failed(&e))?;
            Ok(writer.into_inner())
        }
        #[cfg(feature = "parquet")]
        EncodeFormat::Parquet => {
            use parquet::arrow::ArrowWriter;
            use parquet::file::properties::WriterProperties;
            let properties = WriterProperties::builder()
                .set_compression(compression.codec())
                .build();
            let mut writer = ArrowWriter::try_new(Vec::new(), schema, Some(properties))
                .map_err(|e| failed(&e))?;
            for batch in batches {
                writer.write(batch).map_err(|e| failed(&e))?;
                // One row group per batch: readers see the batches as they were written.
                writer.flush().map_err(|e| failed(&e))?;
            }
            writer.into_inner().map_err(|e| failed(&e))
        }
        #[cfg(not(feature = "parquet"))]
        EncodeFormat::Parquet => {
            let _ = compression;
            Err(parquet_disabled())
        }
    }
}

#[cfg(not(feature = "parquet"))]
fn parquet_disabled() -> Error {
    Error::configuration("`format`: parquet needs the `parquet` feature of collectors-processors")
}

#[cfg(feature = "parquet")]
impl ParquetCompression {
    /// The `parquet` crate's codec, at its default level.
    pub fn codec(self) -> parquet::basic::Compression {
        use parquet::basic::{Compression, GzipLevel, ZstdLevel};
        match self {
            ParquetCompression::Uncompressed => Compression::UNCOMPRESSED,
            ParquetCompression::Snappy => Compression::SNAPPY,
            ParquetCompression::Gzip => Compression::GZIP(GzipLevel::default()),
            ParquetCompression::Lz4 => Compression::LZ4_RAW,
            ParquetCompression::Zstd => Compression::ZSTD(ZstdLevel::default()),
        }
    }
}

/// Encodes each [`Payload::Table`] into one [`Payload::Bytes`] document (CSV, JSON lines or
/// Parquet), for a store or a sink that takes bytes. The counterpart of
/// [`Decode`](crate::Decode). An empty payload stays empty; any other kind is an
/// [`Error::Validation`] naming the processor.
///
/// The engine counts rows one per output record: a batch encoded into one document counts
/// one row processed (and stored) and the batch's other rows skipped, as for any step that
/// folds rows together. Steps after `encode` see bytes: a pipeline file that names a
/// column after it is refused.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{ArrayRef, Int64Array, RecordBatch};
/// use collectors_core::{Payload, Processor};
/// use collectors_processors::{Encode, EncodeConfig, EncodeFormat, ParquetCompression};
///
/// let encode = Encode::new(EncodeConfig {
///     format: EncodeFormat::Jsonl,
///     compression: ParquetCompression::default(),
/// })?;
/// let batch = RecordBatch::try_from_iter([(
///     "v",
///     Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef,
/// )])?;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let bytes = encode.process(Payload::Table(batch)).await?;
/// assert_eq!(bytes, Payload::Bytes("{\"v\":1}\n{\"v\":2}\n".into()));
/// # Ok::<(), collectors_core::Error>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Encode {
    config: EncodeConfig,
    name: String,
}

impl Encode {
    /// A processor named `"encode"`; Parquet without the `parquet` feature is a
    /// configuration error.
    pub fn new(config: EncodeConfig) -> Result<Self> {
        #[cfg(not(feature = "parquet"))]
        if config.format == EncodeFormat::Parquet {
            return Err(parquet_disabled());
        }
        Ok(Self {
            config,
            name: "encode".to_owned(),
        })
    }

    /// The same processor under another name (names must be unique in a pipeline).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The configuration.
    pub fn config(&self) -> &EncodeConfig {
        &self.config
    }
}

#[async_trait]
impl Processor for Encode {
    fn name(&self) -> &str {
        &self.name
    }

    fn validate_input(&self, input: &Payload) -> Result<()> {
        match input {
            Payload::Table(_) | Payload::Empty => Ok(()),
            other => Err(Error::validation(format!(
                "encode takes a table, not {:?}",
                other.kind()
            ))
            .with_component(self.name.clone())),
        }
    }

    async fn process(&self, input: Payload) -> Result<Payload> {
        self.validate_input(&input)?;
        let Payload::Table(batch) = input else {
            return Ok(Payload::Empty);
        };
        let bytes = encode_batches(self.config.format, &[batch], self.config.compression)
            .map_err(|e| e.with_component(self.name.clone()))?;
        Ok(Payload::Bytes(bytes.into()))
    }
}
