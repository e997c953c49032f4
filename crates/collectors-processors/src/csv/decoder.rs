//! [`CsvDecoder`] and [`CsvItemDecoder`]: the CSV decoder and its decoder of one item.

use arrow_schema::SchemaRef;
use collectors_core::{Decoded, Decoder, Error, ItemDecoder, Result, SourceItem};

use super::format::CsvFormat;
use super::options::CsvOptions;
use crate::lines::{DriverLimits, LineDriver, check_limits};
use crate::schema::arrow_schema;

/// Decodes CSV items into Arrow record batches with arrow-csv.
///
/// Each item is split into lines by this crate (1-based line numbers, the header is line 1,
/// `\n` or `\r\n` endings, blank lines skipped, a leading UTF-8 byte order mark dropped), so
/// one bad line costs one row, not the item:
///
/// - a line that is not UTF-8, has the wrong number of fields, holds a value that does not
///   parse as its column's type, or is longer than
///   [`max_line_bytes`](CsvOptions::max_line_bytes) becomes a
///   [`RejectedRow`](collectors_core::RejectedRow) with its line number;
/// - good lines are decoded a batch at a time; only a batch with a bad value is decoded again
///   line by line to find it.
///
/// The whole item fails (a validation error) only when its header cannot be read (not UTF-8,
/// control bytes, a `\r` from bare-`\r` line endings, over-long, duplicate names) or does not
/// match the explicit schema by name (see [`CsvOptions`]).
///
/// Limitation: a quoted field cannot contain a line break. Both halves of such a row are
/// rejected (the first has an unterminated quote, the second usually the wrong field count).
///
/// ```
/// use collectors_core::{Decoded, ItemDecoder};
/// use collectors_processors::{ColumnSpec, ColumnType, CsvDecoder, CsvOptions};
///
/// let decoder = CsvDecoder::new(CsvOptions::default().with_schema(vec![
///     ColumnSpec::new("sensor", ColumnType::Utf8),
///     ColumnSpec::new("value", ColumnType::Float64),
/// ]))?;
/// let mut item = decoder.item_decoder();
/// let mut out = Decoded::default();
/// item.feed(b"sensor,value\ns1,1.5\ns2,oops\ns1,2.5,extra\ns1,", &mut out)?;
/// item.feed(b"2.5\r\n", &mut out)?; // a line may span chunks
/// item.finish(&mut out)?;
///
/// assert_eq!(out.batches[0].num_rows(), 2);
/// assert_eq!(out.rejects.iter().map(|r| r.line).collect::<Vec<_>>(), [3, 4]);
/// assert_eq!(out.rejects[0].reason, r#"column "value": cannot parse "oops" as Float64"#);
/// # Ok::<(), collectors_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CsvDecoder {
    options: CsvOptions,
    delimiter: u8,
    schema: Option<SchemaRef>,
}

impl CsvDecoder {
    /// A decoder with these options, or a configuration error naming the bad option.
    pub fn new(options: CsvOptions) -> Result<Self> {
        check_limits(
            options.batch_size,
            options.max_line_bytes,
            options.infer_rows,
        )?;
        let delimiter = match options.delimiter {
            '"' | '\r' | '\n' => None,
            c if c.is_ascii() => Some(c as u8),
            _ => None,
        }
        .ok_or_else(|| {
            Error::configuration(format!(
                "`delimiter` {:?} must be one ASCII character other than '\"', '\\r' and '\\n'",
                options.delimiter
            ))
        })?;
        let schema = options.schema.as_deref().map(arrow_schema).transpose()?;
        Ok(Self {
            options,
            delimiter,
            schema,
        })
    }

    /// The options.
    pub fn options(&self) -> &CsvOptions {
        &self.options
    }

    /// A fresh decoder for one item (what [`Decoder::decoder_for`] boxes).
    pub fn item_decoder(&self) -> CsvItemDecoder {
        let format = CsvFormat::new(
            self.delimiter,
            self.options.timestamp_unit,
            self.schema.clone(),
            self.options.has_header,
        );
        let limits = DriverLimits {
            batch_size: self.options.batch_size,
            max_line_bytes: self.options.max_line_bytes,
            infer_rows: self.schema.is_none().then_some(self.options.infer_rows),
        };
        CsvItemDecoder {
            driver: LineDriver::new(format, limits),
        }
    }
}

impl Decoder for CsvDecoder {
    fn name(&self) -> &str {
        "csv"
    }

    fn decoder_for(&self, item: &SourceItem) -> Result<Box<dyn ItemDecoder>> {
        tracing::debug!(source = %item.source_id, item = %item.item_id, "csv: decoding item");
        Ok(Box::new(self.item_decoder()))
    }

    /// The header line, when [`CsvOptions::has_header`] is set.
    fn header_lines(&self) -> usize {
        usize::from(self.options().has_header)
    }
}

/// Decodes one CSV item, chunk by chunk; see [`CsvDecoder`].
#[derive(Debug)]
pub struct CsvItemDecoder {
    driver: LineDriver<CsvFormat>,
}

impl CsvItemDecoder {
    /// The most bytes of one partial line held at once so far: never more than
    /// [`max_line_bytes`](CsvOptions::max_line_bytes) + 1, whatever the longest line.
    pub fn peak_buffered_bytes(&self) -> usize {
        self.driver.peak_buffered()
    }
}

impl ItemDecoder for CsvItemDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Decoded) -> Result<()> {
        self.driver.feed(chunk, out)
    }

    fn finish(&mut self, out: &mut Decoded) -> Result<()> {
        self.driver.finish(out)
    }
}
