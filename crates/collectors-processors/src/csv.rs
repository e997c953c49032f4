//! [`CsvDecoder`]: CSV into Arrow record batches, bad rows rejected with their line number.

mod fields;
mod header;

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::types::Date32Type;
use arrow_cast::parse::Parser;
use arrow_csv::reader::{Decoder as ArrowCsvDecoder, Format, ReaderBuilder};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use collectors_core::{Decoded, Decoder, Error, ItemDecoder, Result, SourceItem};
use serde::{Deserialize, Serialize};

use crate::lines::{
    self, Line, LineDecoder, LineError, LineSplitter, PendingLines, bare_cr_hint, check_limits,
};
use crate::schema::{ColumnSpec, arrow_schema};
use crate::values::{
    TimestampColumn, TimestampUnit, check_float, check_int, float_out_of_range, infinite_rows,
    is_non_finite_literal,
};
use fields::{count_fields, split_fields, visit_fields};
use header::not_csv;

/// Options of the [`CsvDecoder`]; every field has a default, unknown fields are rejected.
///
/// # Header and schema
///
/// With a header and an explicit [`schema`](Self::schema), the header's names are matched
/// with the schema's columns **by name, exactly**: no case folding, no trimming of spaces, no
/// BOM (a UTF-8 byte order mark at the start of the item is dropped before the header is
/// read). The header may list the columns in any order; batches always have the schema's
/// order. A header that names a column the schema lacks (an extra, renamed, differently
/// cased or space-padded name), lacks a schema column, or names a column twice fails the
/// item with a validation error that says which name and why. Without a header the fields
/// are the schema's columns in order.
///
/// # Values
///
/// - empty field: null, in every column type;
/// - `timestamp`: RFC 3339 (`2026-01-01T00:00:00Z`, `2026-01-01T02:00:00+02:00`),
///   `YYYY-MM-DD HH:MM:SS[.fff]` (UTC), or an integer epoch in
///   [`timestamp_unit`](Self::timestamp_unit) (seconds by default). A leap second
///   (`23:59:60`) is rejected, not read as the next second;
/// - `float64`: a decimal number; `NaN`, `inf`, `-inf`, `infinity` (any case, optional sign)
///   are their IEEE values; a number too large for a 64-bit float (`1e400`) is rejected, not
///   read as infinity;
/// - `int64`: a decimal integer; one outside the 64-bit range is rejected.
///
/// # Bounds
///
/// `batch_size` and `infer_rows` are between 1 and 1 048 576 ([`MAX_BATCH_SIZE`],
/// [`MAX_INFER_ROWS`]), `max_line_bytes` between 1 and 1 GiB ([`MAX_LINE_BYTES`]);
/// [`CsvDecoder::new`] refuses other values with an error that starts with the key. Memory is
/// allocated for the lines read, never ahead for a configured size.
///
/// [`MAX_BATCH_SIZE`]: crate::MAX_BATCH_SIZE
/// [`MAX_INFER_ROWS`]: crate::MAX_INFER_ROWS
/// [`MAX_LINE_BYTES`]: crate::MAX_LINE_BYTES
///
/// ```
/// use collectors_processors::CsvOptions;
///
/// let options: CsvOptions = serde_json::from_str(r#"{
///     "delimiter": ";",
///     "batch_size": 1024,
///     "schema": [{"name": "ts", "type": "timestamp"}, {"name": "value", "type": "float64"}]
/// }"#).unwrap();
/// assert!(options.has_header);
/// assert_eq!(options.delimiter, ';');
/// assert!(serde_json::from_str::<CsvOptions>(r#"{"delimeter": ";"}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct CsvOptions {
    /// Whether the first non-blank line is a header naming the columns. Default `true`.
    pub has_header: bool,
    /// The field separator, one ASCII character other than `"`, `\r` and `\n`. Default `,`.
    pub delimiter: char,
    /// The most rows in one record batch, 1 to 1 048 576. Default 8192.
    pub batch_size: usize,
    /// The longest line accepted, in bytes, terminator excluded; longer lines are rejected
    /// without being held in memory. 1 byte to 1 GiB. Default 1 MiB.
    pub max_line_bytes: usize,
    /// The columns, in the order of the batches. With a header, its names are matched with
    /// these names exactly, in any order (see [Header and schema](Self#header-and-schema)).
    /// `None` (the default): inferred from the first [`infer_rows`](Self::infer_rows) lines
    /// of each item by arrow-csv's inference, every column nullable.
    pub schema: Option<Vec<ColumnSpec>>,
    /// How many data lines inference reads before fixing the schema of an item, 1 to
    /// 1 048 576. Those lines are held in memory until then. Default 1000.
    pub infer_rows: usize,
    /// The unit of an integer in a `timestamp` column (`"s"`, `"ms"`, `"us"`, `"ns"`).
    /// Default seconds.
    pub timestamp_unit: TimestampUnit,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            has_header: true,
            delimiter: ',',
            batch_size: 8192,
            max_line_bytes: 1024 * 1024,
            schema: None,
            infer_rows: 1000,
            timestamp_unit: TimestampUnit::Seconds,
        }
    }
}

impl CsvOptions {
    /// Sets [`has_header`](Self::has_header).
    #[must_use]
    pub fn with_header(mut self, has_header: bool) -> Self {
        self.has_header = has_header;
        self
    }

    /// Sets [`delimiter`](Self::delimiter).
    #[must_use]
    pub fn with_delimiter(mut self, delimiter: char) -> Self {
        self.delimiter = delimiter;
        self
    }

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

    /// Sets [`timestamp_unit`](Self::timestamp_unit).
    #[must_use]
    pub fn with_timestamp_unit(mut self, timestamp_unit: TimestampUnit) -> Self {
        self.timestamp_unit = timestamp_unit;
        self
    }
}

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
        CsvItemDecoder {
            splitter: LineSplitter::new(self.options.max_line_bytes),
            rows: CsvRows {
                delimiter: self.delimiter,
                timestamp_unit: self.options.timestamp_unit,
                positions: None,
                batch_size: self.options.batch_size,
                max_line_bytes: self.options.max_line_bytes,
                infer_rows: self.options.infer_rows,
                explicit: self.schema.clone(),
                awaiting_header: self.options.has_header,
                names: None,
                num_fields: self.schema.as_ref().map(|s| s.fields().len()),
                decoder: None,
                pending: PendingLines::default(),
                failed: None,
            },
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
    splitter: LineSplitter,
    rows: CsvRows,
}

impl CsvItemDecoder {
    /// The most bytes of one partial line held at once so far: never more than
    /// [`max_line_bytes`](CsvOptions::max_line_bytes) + 1, whatever the longest line.
    pub fn peak_buffered_bytes(&self) -> usize {
        self.splitter.peak_buffered()
    }
}

impl ItemDecoder for CsvItemDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Decoded) -> Result<()> {
        self.rows.check_not_failed()?;
        let rows = &mut self.rows;
        let result = self.splitter.feed(chunk, |line| rows.on_line(line, out));
        self.rows.remember_failure(result)
    }

    fn finish(&mut self, out: &mut Decoded) -> Result<()> {
        self.rows.check_not_failed()?;
        let rows = &mut self.rows;
        let result = self
            .splitter
            .finish(|line| rows.on_line(line, out))
            .and_then(|()| rows.finish(out));
        self.rows.remember_failure(result)
    }
}

/// Everything of an item decoder but the line splitter.
#[derive(Debug)]
struct CsvRows {
    delimiter: u8,
    timestamp_unit: TimestampUnit,
    /// For each file column, its explicit schema column (from the header).
    positions: Option<Vec<usize>>,
    batch_size: usize,
    max_line_bytes: usize,
    infer_rows: usize,
    explicit: Option<SchemaRef>,
    awaiting_header: bool,
    /// The header's column names, once read.
    names: Option<Vec<String>>,
    /// Fields per line: from the schema, the header or the first data line.
    num_fields: Option<usize>,
    /// Set once the schema is known (explicit, or inferred from the first lines).
    decoder: Option<CsvLineDecoder>,
    pending: PendingLines,
    /// Why the item failed; every later call fails the same way.
    failed: Option<String>,
}

impl CsvRows {
    fn check_not_failed(&self) -> Result<()> {
        match &self.failed {
            Some(message) => Err(Error::validation(message.clone())),
            None => Ok(()),
        }
    }

    fn remember_failure(&mut self, result: Result<()>) -> Result<()> {
        if let Err(e) = &result {
            self.failed = Some(e.message().to_owned());
        }
        result
    }

    fn on_line(&mut self, line: Line<'_>, out: &mut Decoded) -> Result<()> {
        let (number, bytes) = match line {
            Line::TooLong {
                number,
                prefix,
                len,
            } => {
                if self.awaiting_header {
                    return Err(not_csv(format!(
                        "the header (line {number}) is {len} bytes long, over the limit of {} \
                         bytes{}",
                        self.max_line_bytes,
                        bare_cr_hint(prefix)
                    )));
                }
                let row = lines::too_long(number, prefix, len, self.max_line_bytes);
                self.pending.reject(row, out);
                return Ok(());
            }
            Line::Complete { number, bytes } => (number, bytes),
        };
        if lines::is_blank(bytes, Some(self.delimiter)) {
            return Ok(());
        }
        if self.awaiting_header {
            return self.read_header(number, bytes);
        }
        if let Err(e) = std::str::from_utf8(bytes) {
            self.pending.reject(lines::not_utf8(number, bytes, e), out);
            return Ok(());
        }
        let count = match count_fields(bytes, self.delimiter) {
            Ok(count) => count,
            Err(_) => {
                let row = collectors_core::RejectedRow {
                    line: number,
                    raw: bytes::Bytes::copy_from_slice(bytes),
                    complete: true,
                    reason: "wrong number of fields: a quoted field is not closed on this line \
                             (quoted fields cannot span lines)"
                        .to_owned(),
                };
                self.pending.reject(row, out);
                return Ok(());
            }
        };
        let expected = *self.num_fields.get_or_insert(count);
        if count != expected {
            let row = collectors_core::RejectedRow {
                line: number,
                raw: bytes::Bytes::copy_from_slice(bytes),
                complete: true,
                reason: format!("wrong number of fields: expected {expected}, found {count}"),
            };
            self.pending.reject(row, out);
            return Ok(());
        }
        self.pending.push(number, bytes);

        if self.decoder.is_none() {
            if self.explicit.is_none() && self.pending.len() < self.infer_rows {
                return Ok(());
            }
            self.start_decoding()?;
        }
        if let Some(decoder) = &mut self.decoder {
            self.pending
                .decode_full_batches(self.batch_size, decoder, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Decoded) -> Result<()> {
        if self.pending.is_empty() {
            self.pending.release_rejects(out);
            return Ok(());
        }
        if self.decoder.is_none() {
            self.start_decoding()?;
        }
        match &mut self.decoder {
            Some(decoder) => self.pending.decode_all(self.batch_size, decoder, out),
            None => Err(Error::processing("csv: no schema after inference")),
        }
    }

    /// Reads the header line: the column names, matched with the explicit schema by name.
    fn read_header(&mut self, number: u64, bytes: &[u8]) -> Result<()> {
        let mut names = header::read_names(number, bytes, self.delimiter)?;
        match &self.explicit {
            Some(schema) => {
                self.positions = Some(header::match_schema(&names, schema)?);
            }
            None => {
                for (i, name) in names.iter_mut().enumerate() {
                    // An unnamed column (e.g. a written index) gets arrow-csv's name for it.
                    if name.is_empty() {
                        *name = format!("column_{}", i + 1);
                    }
                }
                header::check_unique(number, &names)?;
            }
        }
        self.num_fields = Some(names.len());
        self.names = Some(names);
        self.awaiting_header = false;
        Ok(())
    }

    /// Fixes the schema (explicit, or inferred from the pending lines) and builds the decoder.
    fn start_decoding(&mut self) -> Result<()> {
        let schema = match &self.explicit {
            Some(schema) => schema.clone(),
            None => self.infer()?,
        };
        tracing::debug!(schema = %schema_summary(&schema), "csv: schema fixed");
        self.decoder = Some(CsvLineDecoder::new(
            schema,
            self.positions.as_deref(),
            self.delimiter,
            self.timestamp_unit,
        ));
        Ok(())
    }

    /// arrow-csv's inference over the pending lines (the first `infer_rows` good lines).
    fn infer(&self) -> Result<SchemaRef> {
        let sample = self.pending.bytes_of_first(self.pending.len());
        let format = Format::default()
            .with_header(false)
            .with_delimiter(self.delimiter)
            .with_terminator(b'\n');
        let (inferred, _) = format
            .infer_schema(Cursor::new(sample), None)
            .map_err(|e| Error::validation("cannot infer the CSV schema").with_source(e))?;
        let names: Vec<String> = match &self.names {
            Some(names) => names.clone(),
            None => (1..=inferred.fields().len())
                .map(|i| format!("column_{i}"))
                .collect(),
        };
        if names.len() != inferred.fields().len() {
            return Err(Error::processing(format!(
                "csv: inference found {} columns, the header names {}",
                inferred.fields().len(),
                names.len()
            )));
        }
        let fields: Vec<Field> = inferred
            .fields()
            .iter()
            .zip(names)
            .map(|(field, name)| {
                // A column empty in every sampled line may hold text later.
                let data_type = match field.data_type() {
                    DataType::Null => DataType::Utf8,
                    other => other.clone(),
                };
                Field::new(name, data_type, true)
            })
            .collect();
        Ok(Arc::new(Schema::new(fields)))
    }
}

/// `name: type, …` for logs.
fn schema_summary(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| format!("{}: {}", f.name(), f.data_type()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How [`CsvLineDecoder::screen`] checks the values of one column.
#[derive(Debug)]
enum Check {
    /// Nothing to check (text).
    None,
    Boolean,
    Int64,
    Float64,
    Date32,
    Timestamp(TimestampColumn),
}

/// arrow-csv's decoder for a fixed schema, fed whole lines.
///
/// arrow-csv reads timestamp columns as text, converted by [`TimestampColumn`] (one rule
/// with JSON lines); float columns are checked for overflow (`1e400` is not infinity).
struct CsvLineDecoder {
    /// The schema of the batches (the explicit schema's order).
    schema: SchemaRef,
    /// The columns in file order, with their real types.
    file_schema: SchemaRef,
    /// What arrow-csv decodes: the file's columns, timestamps as text.
    decode_schema: SchemaRef,
    /// For each column of `schema`, its index in the file; `None`: the same order.
    output_order: Option<Vec<usize>>,
    /// The check of each file column.
    checks: Vec<Check>,
    delimiter: u8,
    /// The decoder and the rows it was built for: built for the lines at hand, never for a
    /// configured size, because arrow preallocates by it.
    decoder: Option<(ArrowCsvDecoder, usize)>,
    /// Reused for the field values of screened lines.
    scratch: Vec<u8>,
}

impl std::fmt::Debug for CsvLineDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvLineDecoder")
            .field("schema", &self.schema)
            .field("output_order", &self.output_order)
            .finish_non_exhaustive()
    }
}

impl CsvLineDecoder {
    /// A decoder of `schema`; `positions[i]` is the schema column of file column `i` (a
    /// header in another order), `None` when the file has the schema's order.
    fn new(
        schema: SchemaRef,
        positions: Option<&[usize]>,
        delimiter: u8,
        timestamp_unit: TimestampUnit,
    ) -> Self {
        let file_fields: Vec<Arc<Field>> = match positions {
            Some(positions) => positions
                .iter()
                .map(|&p| schema.fields()[p].clone())
                .collect(),
            None => schema.fields().iter().cloned().collect(),
        };
        let output_order = positions.and_then(|positions| {
            let in_order = positions.iter().enumerate().all(|(i, &p)| i == p);
            (!in_order).then(|| {
                let mut order = vec![0; positions.len()];
                for (file_index, &position) in positions.iter().enumerate() {
                    order[position] = file_index;
                }
                order
            })
        });
        let checks = file_fields
            .iter()
            .map(|field| match field.data_type() {
                DataType::Boolean => Check::Boolean,
                DataType::Int64 => Check::Int64,
                DataType::Float64 => Check::Float64,
                DataType::Date32 => Check::Date32,
                DataType::Timestamp(..) => TimestampColumn::for_field(field, timestamp_unit)
                    .map_or(Check::None, Check::Timestamp),
                _ => Check::None,
            })
            .collect::<Vec<_>>();
        let decode_fields: Vec<Field> = file_fields
            .iter()
            .zip(&checks)
            .map(|(field, check)| match check {
                Check::Timestamp(_) => Field::new(field.name(), DataType::Utf8, true),
                _ => field.as_ref().clone(),
            })
            .collect();
        Self {
            schema,
            file_schema: Arc::new(Schema::new(file_fields)),
            decode_schema: Arc::new(Schema::new(decode_fields)),
            output_order,
            checks,
            delimiter,
            decoder: None,
            scratch: Vec::new(),
        }
    }

    /// Turns what arrow-csv read from `bytes` into a batch of the schema: timestamps
    /// converted, floats checked, columns in the schema's order.
    fn finish_batch(
        &mut self,
        raw: RecordBatch,
        bytes: &[u8],
    ) -> std::result::Result<RecordBatch, LineError> {
        let mut columns = raw.columns().to_vec();
        for (index, check) in self.checks.iter().enumerate() {
            match check {
                Check::Timestamp(column) => {
                    columns[index] = column.convert(&columns[index]).map_err(LineError::Row)?;
                }
                Check::Float64 => {
                    let Some(rows) = infinite_rows(&columns[index]) else {
                        continue;
                    };
                    let name = self.file_schema.field(index).name();
                    for row in rows {
                        let text = field_text(bytes, row, index, self.delimiter, &mut self.scratch);
                        if !is_non_finite_literal(&text) {
                            return Err(LineError::Row(float_out_of_range(name, &text)));
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(order) = &self.output_order {
            columns = order.iter().map(|&i| columns[i].clone()).collect();
        }
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }

    /// Why `text` (not empty) does not fit file column `index`, or `None`.
    fn check_value(&self, index: usize, text: &str) -> Option<String> {
        let name = || self.file_schema.field(index).name();
        match self.checks.get(index)? {
            Check::None => None,
            Check::Boolean => (!(text.eq_ignore_ascii_case("true")
                || text.eq_ignore_ascii_case("false")))
            .then(|| cannot_parse(self.file_schema.field(index), text)),
            Check::Int64 => check_int(name(), text),
            Check::Float64 => check_float(name(), text),
            Check::Date32 => Date32Type::parse(text)
                .is_none()
                .then(|| cannot_parse(self.file_schema.field(index), text)),
            Check::Timestamp(column) => column.parse(text).err(),
        }
    }
}

/// The unquoted value of field `index` of line `row` of `bytes` (lines ending in `\n`).
fn field_text(
    bytes: &[u8],
    row: usize,
    index: usize,
    delimiter: u8,
    scratch: &mut Vec<u8>,
) -> String {
    let line = bytes.split(|&b| b == b'\n').nth(row).unwrap_or_default();
    let mut text = String::new();
    // A line here was split by arrow-csv already: its quotes are closed.
    let _ = visit_fields(line, delimiter, scratch, |i, value| {
        if i == index {
            text = String::from_utf8_lossy(value).into_owned();
        }
    });
    text
}

/// An arrow-csv decoder of headerless, `\n`-terminated lines.
fn build_arrow_decoder(
    schema: &SchemaRef,
    delimiter: u8,
    batch_size: usize,
    projection: Option<Vec<usize>>,
) -> ArrowCsvDecoder {
    let mut builder = ReaderBuilder::new(schema.clone())
        .with_header(false)
        .with_delimiter(delimiter)
        // Only `\n` ends a record: a stray `\r` inside a line stays a byte of its field.
        .with_terminator(b'\n')
        .with_batch_size(batch_size);
    if let Some(projection) = projection {
        builder = builder.with_projection(projection);
    }
    builder.build_decoder()
}

/// Feeds `bytes` (whole lines) to `decoder` and flushes one batch of exactly `count` rows.
fn decode_exact(
    decoder: &mut ArrowCsvDecoder,
    bytes: &[u8],
    count: usize,
) -> std::result::Result<RecordBatch, ArrowError> {
    let mut offset = 0;
    while offset < bytes.len() {
        let read = decoder.decode(&bytes[offset..])?;
        if read == 0 {
            return Err(ArrowError::CsvError(format!(
                "decoder stopped after {offset} of {} bytes",
                bytes.len()
            )));
        }
        offset += read;
    }
    match decoder.flush()? {
        Some(batch) if batch.num_rows() == count => Ok(batch),
        other => Err(ArrowError::CsvError(format!(
            "{} rows decoded from {count} lines",
            other.map_or(0, |b| b.num_rows())
        ))),
    }
}

impl LineDecoder for CsvLineDecoder {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn decode_lines(
        &mut self,
        bytes: &[u8],
        count: usize,
    ) -> std::result::Result<RecordBatch, LineError> {
        let (mut decoder, rows) = match self.decoder.take() {
            Some((decoder, rows)) if rows >= count => (decoder, rows),
            _ => (
                build_arrow_decoder(&self.decode_schema, self.delimiter, count, None),
                count,
            ),
        };
        let raw = match decode_exact(&mut decoder, bytes, count) {
            Ok(raw) => raw,
            // The decoder may hold part of the failed input: it is dropped, the next call
            // builds a fresh one.
            Err(error) => return Err(LineError::Arrow(error)),
        };
        self.decoder = Some((decoder, rows));
        self.finish_batch(raw, bytes)
    }

    /// Names the first column whose value does not parse: found by [`screen`](Self::screen)
    /// or, for types it does not check, by decoding each column alone.
    fn explain(&mut self, line: &[u8], error: &ArrowError) -> String {
        if let Some(reason) = self.screen(line) {
            return reason;
        }
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let Ok(values) = split_fields(content, self.delimiter) else {
            return error.to_string();
        };
        for (index, field) in self.file_schema.fields().iter().enumerate() {
            let mut single =
                build_arrow_decoder(&self.decode_schema, self.delimiter, 1, Some(vec![index]));
            if decode_exact(&mut single, line, 1).is_err() {
                let value = values
                    .get(index)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default();
                return cannot_parse(field, &value);
            }
        }
        error.to_string()
    }

    /// Parses each value by the rules of its column's type.
    fn screen(&mut self, line: &[u8]) -> Option<String> {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let mut problem = None;
        let mut scratch = std::mem::take(&mut self.scratch);
        let scanned = visit_fields(content, self.delimiter, &mut scratch, |index, value| {
            if problem.is_some() || value.is_empty() {
                return; // an empty value is a null
            }
            problem = match std::str::from_utf8(value) {
                Ok(text) => self.check_value(index, text),
                Err(_) => self
                    .file_schema
                    .fields()
                    .get(index)
                    .map(|field| cannot_parse(field, &String::from_utf8_lossy(value))),
            };
        });
        self.scratch = scratch;
        match scanned {
            Ok(()) => problem,
            Err(_) => Some("a quoted field is not closed on this line".to_owned()),
        }
    }
}

/// The reason of a value that does not parse as its column's type.
fn cannot_parse(field: &Field, value: &str) -> String {
    format!(
        "column {:?}: cannot parse {value:?} as {}",
        field.name(),
        field.data_type()
    )
}
