//! [`Decode`]: bytes (a CSV, JSON-lines or Parquet document) to an Arrow table, inside a
//! pipeline.

use std::sync::Arc;

use arrow_array::{ArrayRef, BinaryArray, RecordBatch, UInt64Array};
use arrow_select::concat::concat_batches;
use async_trait::async_trait;
use collectors_core::{
    Decoded, Decoder, Error, ItemContext, Payload, Processor, RejectedRows, Result, SourceItem,
};
use serde::{Deserialize, Serialize};

use crate::{CsvDecoder, CsvOptions, JsonLinesDecoder, JsonLinesOptions};

/// The formats [`Decode`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecodeFormat {
    /// CSV, with the options of [`CsvOptions`] (explicit or inferred schema).
    Csv,
    /// JSON lines, with the options of [`JsonLinesOptions`].
    Jsonl,
    /// Parquet (feature `parquet`).
    Parquet,
}

/// What a [`Decode`] reads: the format and its options, as a source's `format` and
/// `[source.csv]` table say them.
///
/// ```
/// use collectors_processors::{DecodeConfig, DecodeFormat};
///
/// let config: DecodeConfig = serde_json::from_str(
///     r#"{"format": "csv", "csv": {"schema": [{"name": "v", "type": "float64"}]}}"#,
/// )
/// .unwrap();
/// assert_eq!(config.format, DecodeFormat::Csv);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DecodeConfig {
    /// The format of the bytes.
    pub format: DecodeFormat,
    /// CSV options (`format = "csv"`); defaults: header, inferred schema.
    #[serde(default)]
    pub csv: Option<CsvOptions>,
    /// JSON-lines options (`format = "jsonl"`).
    #[serde(default)]
    pub jsonl: Option<JsonLinesOptions>,
    /// Parquet options (`format = "parquet"`).
    #[cfg(feature = "parquet")]
    #[serde(default)]
    pub parquet: Option<crate::ParquetOptions>,
}

/// Decodes a [`Payload::Bytes`] document into one [`Payload::Table`], with the same decoders
/// as a source's `format`: the bytes a REST upload or a custom source hands over become the
/// table the next steps work on.
///
/// A row that does not fit (wrong column count, a value that cannot be read as its column's
/// type) is refused through [`Processor::process_rows`]: the engine dead-letters it as a
/// table of `line` (1-based) and `raw` (its bytes), with the reason, and the other rows go
/// on. A document that cannot be decoded at all (not the format, no header) is an
/// [`Error::Validation`] naming the processor.
///
/// ```
/// use collectors_core::{Payload, Processor};
/// use collectors_processors::{Decode, DecodeConfig, DecodeFormat};
///
/// let decode = Decode::new(DecodeConfig {
///     format: DecodeFormat::Csv,
///     csv: None,
///     jsonl: None,
///     # #[cfg(feature = "parquet")]
///     # parquet: None,
/// })?;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let table = decode.process(Payload::Bytes("a,b\n1,x\n2,y\n".into())).await?;
/// assert_eq!(table.as_table()?.num_rows(), 2);
/// # Ok::<(), collectors_core::Error>(())
/// # })?;
/// # Ok::<(), collectors_core::Error>(())
/// ```
pub struct Decode {
    config: DecodeConfig,
    name: String,
    decoder: Arc<dyn Decoder>,
}

impl std::fmt::Debug for Decode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decode")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish()
    }
}

impl Decode {
    /// A processor named `"decode"`, or a configuration error for bad options (or Parquet
    /// without the `parquet` feature).
    pub fn new(config: DecodeConfig) -> Result<Self> {
        let decoder: Arc<dyn Decoder> = match config.format {
            DecodeFormat::Csv => Arc::new(CsvDecoder::new(config.csv.clone().unwrap_or_default())?),
            DecodeFormat::Jsonl => Arc::new(JsonLinesDecoder::new(
                config.jsonl.clone().unwrap_or_default(),
            )?),
            #[cfg(feature = "parquet")]
            DecodeFormat::Parquet => Arc::new(crate::ParquetDecoder::new(
                config.parquet.clone().unwrap_or_default(),
            )?),
            #[cfg(not(feature = "parquet"))]
            DecodeFormat::Parquet => {
                return Err(Error::configuration(
                    "`format`: parquet needs the `parquet` feature of collectors-processors",
                ));
            }
        };
        Ok(Self {
            config,
            name: "decode".to_owned(),
            decoder,
        })
    }

    /// The same processor under another name (names must be unique in a pipeline).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The configuration.
    pub fn config(&self) -> &DecodeConfig {
        &self.config
    }

    fn invalid(&self, message: String) -> Error {
        Error::validation(message).with_component(self.name.clone())
    }

    /// The table of `bytes`, and the rows that did not fit.
    fn decode(&self, bytes: &[u8], id: &str) -> Result<(Payload, Option<RejectedRows>)> {
        let item = SourceItem::listed(&self.name, id, "");
        let mut decoder = self.decoder.decoder_for(&item)?;
        let mut out = Decoded::default();
        decoder
            .feed(bytes, &mut out)
            .and_then(|()| decoder.finish(&mut out))
            .map_err(|e| {
                self.invalid(format!("the document cannot be decoded: {}", e.message()))
            })?;
        let table = match out.batches.first() {
            None => Payload::Empty,
            Some(first) => {
                let table = concat_batches(first.schema_ref(), &out.batches)
                    .map_err(|e| self.invalid(format!("the batches do not concatenate: {e}")))?;
                Payload::Table(table)
            }
        };
        if out.rejects.is_empty() {
            return Ok((table, None));
        }
        let lines: Vec<u64> = out.rejects.iter().map(|r| r.line).collect();
        let raw: Vec<&[u8]> = out.rejects.iter().map(|r| r.raw.as_ref()).collect();
        let rows = RecordBatch::try_from_iter([
            ("line", Arc::new(UInt64Array::from(lines)) as ArrayRef),
            ("raw", Arc::new(BinaryArray::from(raw)) as ArrayRef),
        ])
        .map_err(|e| Error::processing(format!("cannot list the refused rows: {e}")))?;
        let reasons = out.rejects.iter().map(|r| r.reason.clone()).collect();
        Ok((
            table,
            Some(RejectedRows::new(self.name.clone(), rows, reasons)?),
        ))
    }

    fn bytes<'p>(&self, input: &'p Payload) -> Result<&'p [u8]> {
        match input {
            Payload::Bytes(bytes) => Ok(bytes),
            Payload::Json(serde_json::Value::String(text)) => Ok(text.as_bytes()),
            other => Err(self.invalid(format!(
                "decode takes bytes (or a JSON string), not {:?}",
                other.kind()
            ))),
        }
    }
}

#[async_trait]
impl Processor for Decode {
    fn name(&self) -> &str {
        &self.name
    }

    fn validate_input(&self, input: &Payload) -> Result<()> {
        self.bytes(input).map(|_| ())
    }

    /// Decodes `input`; a row that does not fit fails the whole document (through the
    /// engine, [`process_rows`](Processor::process_rows) refuses only those rows).
    async fn process(&self, input: Payload) -> Result<Payload> {
        let (table, refused) = self.decode(self.bytes(&input)?, "document")?;
        match refused {
            None => Ok(table),
            Some(refused) => Err(self.invalid(format!(
                "{} rows cannot be decoded; the first: {}",
                refused.len(),
                refused
                    .reasons()
                    .first()
                    .map(String::as_str)
                    .unwrap_or_default()
            ))),
        }
    }

    async fn process_rows(
        &self,
        context: &ItemContext,
        input: Payload,
    ) -> Result<(Payload, Option<RejectedRows>)> {
        self.decode(self.bytes(&input)?, &context.item_id)
    }
}
