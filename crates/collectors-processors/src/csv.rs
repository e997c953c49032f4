//! [`CsvDecoder`]: CSV into Arrow record batches, bad rows rejected with their line number.

mod fields;

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::timezone::Tz;
use arrow_array::types::{Date32Type, Float64Type, Int64Type};
use arrow_cast::parse::{Parser, string_to_datetime};
use arrow_csv::reader::{Decoder as ArrowCsvDecoder, Format, ReaderBuilder};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use collectors_core::{Decoded, Decoder, Error, ItemDecoder, Result, SourceItem};
use serde::{Deserialize, Serialize};

use crate::lines::{self, Line, LineDecoder, LineSplitter, PendingLines, check_limits};
use crate::schema::{ColumnSpec, UTC_OFFSET, arrow_schema};
use fields::{count_fields, split_fields, visit_fields};

/// Options of the [`CsvDecoder`]; every field has a default, unknown fields are rejected.
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
#[serde(default, deny_unknown_fields)]
pub struct CsvOptions {
    /// Whether the first non-blank line is a header naming the columns. Default `true`.
    pub has_header: bool,
    /// The field separator, one ASCII character other than `"`, `\r` and `\n`. Default `,`.
    pub delimiter: char,
    /// The most rows in one record batch, at least 1. Default 8192.
    pub batch_size: usize,
    /// The longest line accepted, in bytes, terminator excluded; longer lines are rejected
    /// without being held in memory. At least 1. Default 1 MiB.
    pub max_line_bytes: usize,
    /// The columns, in order. With a header, its names must be these names. `None` (the
    /// default): inferred from the first [`infer_rows`](Self::infer_rows) lines of each item
    /// by arrow-csv's inference, every column nullable.
    pub schema: Option<Vec<ColumnSpec>>,
    /// How many data lines inference reads before fixing the schema of an item, at least 1.
    /// Those lines are held in memory until then. Default 1000.
    pub infer_rows: usize,
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
}

/// Decodes CSV items into Arrow record batches with arrow-csv.
///
/// Each item is split into lines by this crate (1-based line numbers, the header is line 1,
/// `\n` or `\r\n` endings, blank lines skipped), so one bad line costs one row, not the item:
///
/// - a line that is not UTF-8, has the wrong number of fields, holds a value that does not
///   parse as its column's type, or is longer than
///   [`max_line_bytes`](CsvOptions::max_line_bytes) becomes a
///   [`RejectedRow`](collectors_core::RejectedRow) with its line number;
/// - good lines are decoded a batch at a time; only a batch with a bad value is decoded again
///   line by line to find it.
///
/// The whole item fails (a validation error) only when its header cannot be read (not UTF-8,
/// control bytes, empty, over-long, duplicate names) or does not match the explicit schema.
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
                "delimiter {:?} must be one ASCII character other than '\"', '\\r' and '\\n'",
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
                        "the header (line {number}) is {len} bytes long, over the limit of {} bytes",
                        self.max_line_bytes
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

    /// Reads the header line: the column names, checked against the explicit schema.
    fn read_header(&mut self, number: u64, bytes: &[u8]) -> Result<()> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            not_csv(format!("the header (line {number}) is not UTF-8: {e}")).with_source(e)
        })?;
        if let Some(c) = text
            .chars()
            .find(|c| c.is_control() && *c != '\t' && *c as u32 != u32::from(self.delimiter))
        {
            return Err(not_csv(format!(
                "the header (line {number}) holds the control character {c:?}"
            )));
        }
        let fields = split_fields(bytes, self.delimiter).map_err(|_| {
            not_csv(format!(
                "the header (line {number}) has a quoted name that is not closed"
            ))
        })?;
        let mut names = Vec::with_capacity(fields.len());
        for (i, field) in fields.into_iter().enumerate() {
            let name = String::from_utf8(field)
                .map_err(|e| not_csv("a header name is not UTF-8").with_source(e))?;
            // An unnamed column (e.g. a written index) gets arrow-csv's name for it.
            names.push(if name.is_empty() {
                format!("column_{}", i + 1)
            } else {
                name
            });
        }
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(not_csv(format!(
                    "the header (line {number}) names column {name:?} twice"
                )));
            }
        }
        if let Some(schema) = &self.explicit {
            check_header(&names, schema)?;
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
        self.decoder = Some(CsvLineDecoder::new(schema, self.delimiter, self.batch_size));
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

/// The whole-item error for input that is not CSV.
fn not_csv(message: impl Into<String>) -> Error {
    Error::validation(format!("not CSV: {}", message.into())).with_operation("decode csv")
}

/// Checks header names against the explicit schema.
fn check_header(names: &[String], schema: &Schema) -> Result<()> {
    let expected: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    if names.len() != expected.len() {
        return Err(Error::validation(format!(
            "the header has {} columns {names:?}, the schema has {}: {expected:?}",
            names.len(),
            expected.len()
        )));
    }
    for (i, (found, wanted)) in names.iter().zip(&expected).enumerate() {
        if found != wanted {
            return Err(Error::validation(format!(
                "header column {} is {found:?}, the schema expects {wanted:?}",
                i + 1
            )));
        }
    }
    Ok(())
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

/// arrow-csv's decoder for a fixed schema, fed whole lines.
struct CsvLineDecoder {
    schema: SchemaRef,
    delimiter: u8,
    batch_size: usize,
    decoder: ArrowCsvDecoder,
    /// Reused for the field values of screened lines.
    scratch: Vec<u8>,
}

impl std::fmt::Debug for CsvLineDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvLineDecoder")
            .field("schema", &self.schema)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

impl CsvLineDecoder {
    fn new(schema: SchemaRef, delimiter: u8, batch_size: usize) -> Self {
        let decoder = build_arrow_decoder(&schema, delimiter, batch_size, None);
        Self {
            schema,
            delimiter,
            batch_size,
            decoder,
            scratch: Vec::new(),
        }
    }
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
    ) -> std::result::Result<RecordBatch, ArrowError> {
        let result = decode_exact(&mut self.decoder, bytes, count);
        if result.is_err() {
            // The decoder may hold part of the failed input: start afresh.
            self.decoder = build_arrow_decoder(&self.schema, self.delimiter, self.batch_size, None);
        }
        result
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
        for (index, field) in self.schema.fields().iter().enumerate() {
            let mut single =
                build_arrow_decoder(&self.schema, self.delimiter, 1, Some(vec![index]));
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

    /// Parses each value with the parser arrow-csv uses for its column's type.
    fn screen(&mut self, line: &[u8]) -> Option<String> {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let fields = self.schema.fields();
        let mut problem = None;
        let scanned = visit_fields(
            content,
            self.delimiter,
            &mut self.scratch,
            |index, value| {
                if problem.is_some() || value.is_empty() {
                    return; // an empty value is a null
                }
                let Some(field) = fields.get(index) else {
                    return;
                };
                match std::str::from_utf8(value) {
                    Ok(text) if value_parses(field.data_type(), text) => {}
                    _ => problem = Some(cannot_parse(field, &String::from_utf8_lossy(value))),
                }
            },
        );
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

/// Whether arrow-csv parses `text` (not empty) as `data_type`; `true` for types not checked
/// here (decoding them tells).
fn value_parses(data_type: &DataType, text: &str) -> bool {
    match data_type {
        DataType::Boolean => {
            text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false")
        }
        DataType::Int64 => Int64Type::parse(text).is_some(),
        DataType::Float64 => Float64Type::parse(text).is_some(),
        DataType::Date32 => Date32Type::parse(text).is_some(),
        DataType::Timestamp(unit, tz) => {
            // A naive time is UTC, as in arrow-csv.
            let Ok(zone) = tz.as_deref().unwrap_or(UTC_OFFSET).parse::<Tz>() else {
                return true;
            };
            match string_to_datetime(&zone, text) {
                Ok(time) => *unit != TimeUnit::Nanosecond || time.timestamp_nanos_opt().is_some(),
                Err(_) => false,
            }
        }
        _ => true,
    }
}
