//! [`JsonLinesDecoder`] and [`JsonLinesItemDecoder`]: the JSON-lines decoder and its decoder
//! of one item.

use arrow_schema::SchemaRef;
use collectors_core::{Decoded, Decoder, Error, ItemDecoder, Result, SourceItem};

use super::format::JsonLinesFormat;
use super::line_decoder::{build_arrow_decoder, decode_schema};
use super::options::JsonLinesOptions;
use crate::lines::{DriverLimits, LineDriver, check_limits};
use crate::schema::arrow_schema;

/// Decodes JSON-lines items (one JSON object per line) into Arrow record batches with
/// arrow-json.
///
/// Lines are split as by the [`CsvDecoder`](crate::CsvDecoder) (1-based numbers, `\n` or
/// `\r\n`, blank lines skipped, a leading UTF-8 byte order mark dropped, over-long lines
/// rejected in bounded memory). A line that is not UTF-8, not one complete JSON object,
/// nested deeper than [`MAX_JSON_DEPTH`](crate::MAX_JSON_DEPTH), or holds a value that does not fit its column (see
/// [`JsonLinesOptions`]) becomes a [`RejectedRow`](collectors_core::RejectedRow) with its line number; the rest of the item
/// goes on.
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
            // One row: arrow-json preallocates by the batch size.
            build_arrow_decoder(&decode_schema(schema), 1).map_err(|e| {
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
        let format = JsonLinesFormat::new(self.options.timestamp_unit, self.schema.clone());
        let limits = DriverLimits {
            batch_size: self.options.batch_size,
            max_line_bytes: self.options.max_line_bytes,
            infer_rows: self.schema.is_none().then_some(self.options.infer_rows),
        };
        JsonLinesItemDecoder {
            driver: LineDriver::new(format, limits),
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
    driver: LineDriver<JsonLinesFormat>,
}

impl JsonLinesItemDecoder {
    /// The most bytes of one partial line held at once so far: never more than
    /// [`max_line_bytes`](JsonLinesOptions::max_line_bytes) + 1, whatever the longest line.
    pub fn peak_buffered_bytes(&self) -> usize {
        self.driver.peak_buffered()
    }
}

impl ItemDecoder for JsonLinesItemDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Decoded) -> Result<()> {
        self.driver.feed(chunk, out)
    }

    fn finish(&mut self, out: &mut Decoded) -> Result<()> {
        self.driver.finish(out)
    }
}
