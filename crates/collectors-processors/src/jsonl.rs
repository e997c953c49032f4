//! [`JsonLinesDecoder`]: JSON lines (one object per line) into Arrow record batches, bad lines
//! rejected with their line number.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_json::reader::{
    Decoder as ArrowJsonDecoder, ReaderBuilder, infer_json_schema_from_iterator,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use collectors_core::{Decoded, Decoder, Error, ItemDecoder, RejectedRow, Result, SourceItem};
use serde::{Deserialize, Serialize};

use crate::lines::{self, Line, LineDecoder, LineSplitter, PendingLines, check_limits};
use crate::schema::{ColumnSpec, arrow_schema};

/// Options of the [`JsonLinesDecoder`]; every field has a default, unknown fields are rejected.
///
/// ```
/// use collectors_processors::JsonLinesOptions;
///
/// let options: JsonLinesOptions = serde_json::from_str(r#"{"batch_size": 500}"#).unwrap();
/// assert_eq!(options.batch_size, 500);
/// assert_eq!(options.infer_rows, 1000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JsonLinesOptions {
    /// The most rows in one record batch, at least 1. Default 8192.
    pub batch_size: usize,
    /// The longest line accepted, in bytes, terminator excluded; longer lines are rejected
    /// without being held in memory. At least 1. Default 1 MiB.
    pub max_line_bytes: usize,
    /// The columns. Keys of an object that are not columns are ignored; a missing key is a
    /// null; a number or boolean in a `utf8` column is kept as its text. `None` (the
    /// default): inferred from the first [`infer_rows`](Self::infer_rows) objects of each
    /// item by arrow-json's inference.
    pub schema: Option<Vec<ColumnSpec>>,
    /// How many lines inference reads before fixing the schema of an item, at least 1. Those
    /// lines are held in memory until then. Default 1000.
    pub infer_rows: usize,
}

impl Default for JsonLinesOptions {
    fn default() -> Self {
        Self {
            batch_size: 8192,
            max_line_bytes: 1024 * 1024,
            schema: None,
            infer_rows: 1000,
        }
    }
}

impl JsonLinesOptions {
    /// Sets [`batch_size`](Self::batch_size).
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets [`max_line_bytes`](Self::max_line_bytes).
    #[must_use]
    pub fn with_max_line_bytes(mut self, max_line_bytes: usize) -> Self {
        self.max_line_bytes = max_line_bytes;
        self
    }

    /// Sets an explicit [`schema`](Self::schema).
    #[must_use]
    pub fn with_schema(mut self, schema: Vec<ColumnSpec>) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Sets [`infer_rows`](Self::infer_rows).
    #[must_use]
    pub fn with_infer_rows(mut self, infer_rows: usize) -> Self {
        self.infer_rows = infer_rows;
        self
    }
}

/// Decodes JSON-lines items (one JSON object per line) into Arrow record batches with
/// arrow-json.
///
/// Lines are split as by the [`CsvDecoder`](crate::CsvDecoder) (1-based numbers, `\n` or
/// `\r\n`, blank lines skipped, over-long lines rejected in bounded memory). A line that is
/// not UTF-8, not one complete JSON object, or holds a value of the wrong type for its column
/// becomes a [`RejectedRow`] with its line number; the rest of the item goes on.
///
/// Without an explicit schema, the first `infer_rows` objects fix it; an object whose types
/// conflict with those before it (an object where earlier lines had a number) is rejected.
///
/// ```
/// use collectors_core::{Decoded, ItemDecoder};
/// use collectors_processors::{ColumnSpec, ColumnType, JsonLinesDecoder, JsonLinesOptions};
///
/// let decoder = JsonLinesDecoder::new(JsonLinesOptions::default().with_schema(vec![
///     ColumnSpec::new("sensor", ColumnType::Utf8),
///     ColumnSpec::new("value", ColumnType::Float64),
/// ]))?;
/// let mut item = decoder.item_decoder();
/// let mut out = Decoded::default();
/// item.feed(b"{\"sensor\":\"s1\",\"value\":1.5}\n{\"sensor\":\"s2\",\"value\":\"high\"}\nnot json\n", &mut out)?;
/// item.finish(&mut out)?;
/// assert_eq!(out.batches[0].num_rows(), 1);
/// assert_eq!(out.rejects.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3]);
/// # Ok::<(), collectors_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct JsonLinesDecoder {
    options: JsonLinesOptions,
    schema: Option<SchemaRef>,
}

impl JsonLinesDecoder {
    /// A decoder with these options, or a configuration error naming the bad option.
    pub fn new(options: JsonLinesOptions) -> Result<Self> {
        check_limits(
            options.batch_size,
            options.max_line_bytes,
            options.infer_rows,
        )?;
        let schema = options.schema.as_deref().map(arrow_schema).transpose()?;
        if let Some(schema) = &schema {
            build_arrow_decoder(schema, options.batch_size).map_err(|e| {
                Error::configuration("arrow-json cannot decode this schema").with_source(e)
            })?;
        }
        Ok(Self { options, schema })
    }

    /// The options.
    pub fn options(&self) -> &JsonLinesOptions {
        &self.options
    }

    /// A fresh decoder for one item (what [`Decoder::decoder_for`] boxes).
    pub fn item_decoder(&self) -> JsonLinesItemDecoder {
        JsonLinesItemDecoder {
            splitter: LineSplitter::new(self.options.max_line_bytes),
            rows: JsonRows {
                batch_size: self.options.batch_size,
                max_line_bytes: self.options.max_line_bytes,
                infer_rows: self.options.infer_rows,
                explicit: self.schema.clone(),
                decoder: None,
                sample: Vec::new(),
                pending: PendingLines::default(),
            },
        }
    }
}

impl Decoder for JsonLinesDecoder {
    fn name(&self) -> &str {
        "jsonl"
    }

    fn decoder_for(&self, item: &SourceItem) -> Result<Box<dyn ItemDecoder>> {
        tracing::debug!(source = %item.source_id, item = %item.item_id, "jsonl: decoding item");
        Ok(Box::new(self.item_decoder()))
    }
}

/// Decodes one JSON-lines item, chunk by chunk; see [`JsonLinesDecoder`].
#[derive(Debug)]
pub struct JsonLinesItemDecoder {
    splitter: LineSplitter,
    rows: JsonRows,
}

impl JsonLinesItemDecoder {
    /// The most bytes of one partial line held at once so far: never more than
    /// [`max_line_bytes`](JsonLinesOptions::max_line_bytes) + 1, whatever the longest line.
    pub fn peak_buffered_bytes(&self) -> usize {
        self.splitter.peak_buffered()
    }
}

impl ItemDecoder for JsonLinesItemDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Decoded) -> Result<()> {
        let rows = &mut self.rows;
        self.splitter.feed(chunk, |line| rows.on_line(line, out))
    }

    fn finish(&mut self, out: &mut Decoded) -> Result<()> {
        let rows = &mut self.rows;
        self.splitter.finish(|line| rows.on_line(line, out))?;
        rows.finish(out)
    }
}

/// Everything of an item decoder but the line splitter.
#[derive(Debug)]
struct JsonRows {
    batch_size: usize,
    max_line_bytes: usize,
    infer_rows: usize,
    explicit: Option<SchemaRef>,
    /// Set once the schema is known (explicit, or inferred from the first lines).
    decoder: Option<JsonLineDecoder>,
    /// The parsed pending lines while the schema is being inferred, one per pending line.
    sample: Vec<serde_json::Value>,
    pending: PendingLines,
}

impl JsonRows {
    fn on_line(&mut self, line: Line<'_>, out: &mut Decoded) -> Result<()> {
        let (number, bytes) = match line {
            Line::TooLong {
                number,
                prefix,
                len,
            } => {
                let row = lines::too_long(number, prefix, len, self.max_line_bytes);
                self.pending.reject(row, out);
                return Ok(());
            }
            Line::Complete { number, bytes } => (number, bytes),
        };
        if lines::is_blank(bytes, None) {
            return Ok(());
        }
        if let Err(e) = std::str::from_utf8(bytes) {
            self.pending.reject(lines::not_utf8(number, bytes, e), out);
            return Ok(());
        }

        if self.decoder.is_none() && self.explicit.is_none() {
            // Inferring: parse the line now, so a bad one never reaches the inference.
            let problem = match serde_json::from_slice::<serde_json::Value>(bytes) {
                Ok(value @ serde_json::Value::Object(_)) => {
                    self.sample.push(value);
                    None
                }
                Ok(other) => Some(format!("expected a JSON object, found {}", kind(&other))),
                Err(e) => Some(format!("invalid JSON: {e}")),
            };
            if let Some(reason) = problem {
                let row = RejectedRow {
                    line: number,
                    raw: bytes::Bytes::copy_from_slice(bytes),
                    complete: true,
                    reason,
                };
                self.pending.reject(row, out);
                return Ok(());
            }
            self.pending.push(number, bytes);
            if self.pending.len() < self.infer_rows {
                return Ok(());
            }
        } else {
            self.pending.push(number, bytes);
        }

        if self.decoder.is_none() {
            self.start_decoding()?;
        }
        if let Some(decoder) = &mut self.decoder {
            self.pending
                .decode_full_batches(self.batch_size, decoder, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Decoded) -> Result<()> {
        if self.decoder.is_none() && !self.pending.is_empty() {
            self.start_decoding()?;
        }
        match &mut self.decoder {
            Some(decoder) => self.pending.decode_all(self.batch_size, decoder, out),
            None => {
                self.pending.release_rejects(out);
                Ok(())
            }
        }
    }

    /// Fixes the schema (explicit, or inferred from the sample) and builds the decoder.
    fn start_decoding(&mut self) -> Result<()> {
        let schema = match &self.explicit {
            Some(schema) => schema.clone(),
            None => self.infer()?,
        };
        let decoder = build_arrow_decoder(&schema, self.batch_size).map_err(|e| {
            Error::processing("arrow-json cannot decode the inferred schema").with_source(e)
        })?;
        self.decoder = Some(JsonLineDecoder {
            schema,
            batch_size: self.batch_size,
            decoder,
        });
        Ok(())
    }

    /// arrow-json's inference over the sample. Objects whose types conflict with the objects
    /// before them are rejected (a greedy pass, only when the whole sample does not infer).
    fn infer(&mut self) -> Result<SchemaRef> {
        let sample = std::mem::take(&mut self.sample);
        let inferred = match infer_json_schema_from_iterator(sample.iter().map(Ok)) {
            Ok(schema) => schema,
            Err(_) => {
                let mut accepted: Vec<&serde_json::Value> = Vec::with_capacity(sample.len());
                let mut rejected = Vec::new();
                for (index, value) in sample.iter().enumerate() {
                    accepted.push(value);
                    if let Err(e) =
                        infer_json_schema_from_iterator(accepted.iter().copied().map(Ok))
                    {
                        accepted.pop();
                        rejected.push((
                            index,
                            format!("types conflict with the lines before it: {e}"),
                        ));
                    }
                }
                self.pending.reject_pending(rejected);
                infer_json_schema_from_iterator(accepted.into_iter().map(Ok))
                    .map_err(|e| Error::processing("cannot infer the JSON schema").with_source(e))?
            }
        };
        let fields: Vec<Field> = inferred
            .fields()
            .iter()
            .map(|field| {
                // A key null in every sampled line may hold text later.
                let data_type = match field.data_type() {
                    DataType::Null => DataType::Utf8,
                    other => other.clone(),
                };
                Field::new(field.name(), data_type, true)
            })
            .collect();
        Ok(Arc::new(Schema::new(fields)))
    }
}

/// The JSON kind of a value, for messages.
fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn build_arrow_decoder(
    schema: &SchemaRef,
    batch_size: usize,
) -> std::result::Result<ArrowJsonDecoder, ArrowError> {
    ReaderBuilder::new(schema.clone())
        .with_batch_size(batch_size)
        // A number or boolean in a text column is kept as its text.
        .with_coerce_primitive(true)
        .build_decoder()
}

/// arrow-json's decoder for a fixed schema, fed whole lines.
struct JsonLineDecoder {
    schema: SchemaRef,
    batch_size: usize,
    decoder: ArrowJsonDecoder,
}

impl std::fmt::Debug for JsonLineDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLineDecoder")
            .field("schema", &self.schema)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

/// Feeds `bytes` (whole lines) to `decoder` and flushes one batch of exactly `count` rows.
fn decode_exact(
    decoder: &mut ArrowJsonDecoder,
    bytes: &[u8],
    count: usize,
) -> std::result::Result<RecordBatch, ArrowError> {
    let mut offset = 0;
    while offset < bytes.len() {
        let read = decoder.decode(&bytes[offset..])?;
        if read == 0 {
            return Err(ArrowError::JsonError(
                "more JSON values than lines: each line must hold one object".to_owned(),
            ));
        }
        offset += read;
    }
    if decoder.has_partial_record() {
        return Err(ArrowError::JsonError(
            "the JSON value is not complete at the end of the line".to_owned(),
        ));
    }
    match decoder.flush()? {
        Some(batch) if batch.num_rows() == count => Ok(batch),
        other => Err(ArrowError::JsonError(format!(
            "{} JSON values on {count} line(s): each line must hold one object",
            other.map_or(0, |b| b.num_rows())
        ))),
    }
}

impl LineDecoder for JsonLineDecoder {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn decode_lines(
        &mut self,
        bytes: &[u8],
        count: usize,
    ) -> std::result::Result<RecordBatch, ArrowError> {
        let result = decode_exact(&mut self.decoder, bytes, count);
        if result.is_err() {
            // The decoder may hold part of the failed input: start afresh. Building it worked
            // for this schema before, so it works again.
            if let Ok(fresh) = build_arrow_decoder(&self.schema, self.batch_size) {
                self.decoder = fresh;
            }
        }
        result
    }
}
