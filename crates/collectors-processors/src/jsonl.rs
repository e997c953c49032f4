//! [`JsonLinesDecoder`]: JSON lines (one object per line) into Arrow record batches, bad lines
//! rejected with their line number.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_json::reader::{
    Decoder as ArrowJsonDecoder, ReaderBuilder, infer_json_schema_from_iterator,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use collectors_core::{Decoded, Decoder, Error, ItemDecoder, RejectedRow, Result, SourceItem};
use serde::{Deserialize, Serialize};

use crate::lines::{self, Line, LineDecoder, LineError, LineSplitter, PendingLines, check_limits};
use crate::schema::{ColumnSpec, arrow_schema};
use crate::values::{
    TimestampColumn, TimestampUnit, check_int, float_out_of_range, infinite_rows,
    is_non_finite_literal,
};

/// The deepest nesting of arrays and objects a JSON line may have (the line's object is
/// level 1). A deeper line is rejected as a row before any JSON parser sees it, so that a
/// hostile line cannot exhaust the stack.
pub const MAX_JSON_DEPTH: usize = 128;

/// Options of the [`JsonLinesDecoder`]; every field has a default, unknown fields are rejected.
///
/// # Values
///
/// - `timestamp` columns take a string, RFC 3339 (`"2026-01-01T00:00:00Z"`) or
///   `"YYYY-MM-DD HH:MM:SS[.fff]"` (UTC), or an integer epoch (`1767225600`, a number or a
///   string of digits) in [`timestamp_unit`](Self::timestamp_unit), seconds by default: the
///   same rule as CSV. A leap second (`23:59:60`) is rejected, not read as the next second;
/// - `float64` columns take a number; a number too large for a 64-bit float (`1e400`) is
///   rejected, not read as infinity. JSON has no `NaN` or infinity literal; the strings
///   `"NaN"`, `"inf"`, `"-inf"`, `"infinity"` are read as those values, as in CSV;
/// - `int64` columns reject a number outside the 64-bit range;
/// - a line nested deeper than [`MAX_JSON_DEPTH`] arrays and objects is rejected.
///
/// # Bounds
///
/// `batch_size` and `infer_rows` are between 1 and 1 048 576, `max_line_bytes` between 1
/// and 1 GiB ([`MAX_BATCH_SIZE`](crate::MAX_BATCH_SIZE),
/// [`MAX_INFER_ROWS`](crate::MAX_INFER_ROWS), [`MAX_LINE_BYTES`](crate::MAX_LINE_BYTES));
/// [`JsonLinesDecoder::new`] refuses other values with an error that starts with the key.
/// Memory is allocated for the lines read, never ahead for a configured size.
///
/// ```
/// use collectors_processors::JsonLinesOptions;
///
/// let options: JsonLinesOptions = serde_json::from_str(r#"{"batch_size": 500}"#).unwrap();
/// assert_eq!(options.batch_size, 500);
/// assert_eq!(options.infer_rows, 1000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct JsonLinesOptions {
    /// The most rows in one record batch, 1 to 1 048 576. Default 8192.
    pub batch_size: usize,
    /// The longest line accepted, in bytes, terminator excluded; longer lines are rejected
    /// without being held in memory. 1 byte to 1 GiB. Default 1 MiB.
    pub max_line_bytes: usize,
    /// The columns. Keys of an object that are not columns are ignored; a missing key is a
    /// null; a number or boolean in a `utf8` column is kept as its text. `None` (the
    /// default): inferred from the first [`infer_rows`](Self::infer_rows) objects of each
    /// item by arrow-json's inference.
    pub schema: Option<Vec<ColumnSpec>>,
    /// How many lines inference reads before fixing the schema of an item, 1 to 1 048 576.
    /// Those lines are held in memory until then. Default 1000.
    pub infer_rows: usize,
    /// The unit of an integer in a `timestamp` column (`"s"`, `"ms"`, `"us"`, `"ns"`).
    /// Default seconds.
    pub timestamp_unit: TimestampUnit,
}

impl Default for JsonLinesOptions {
    fn default() -> Self {
        Self {
            batch_size: 8192,
            max_line_bytes: 1024 * 1024,
            schema: None,
            infer_rows: 1000,
            timestamp_unit: TimestampUnit::Seconds,
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

    /// Sets [`timestamp_unit`](Self::timestamp_unit).
    #[must_use]
    pub fn with_timestamp_unit(mut self, timestamp_unit: TimestampUnit) -> Self {
        self.timestamp_unit = timestamp_unit;
        self
    }
}

/// Decodes JSON-lines items (one JSON object per line) into Arrow record batches with
/// arrow-json.
///
/// Lines are split as by the [`CsvDecoder`](crate::CsvDecoder) (1-based numbers, `\n` or
/// `\r\n`, blank lines skipped, a leading UTF-8 byte order mark dropped, over-long lines
/// rejected in bounded memory). A line that is not UTF-8, not one complete JSON object,
/// nested deeper than [`MAX_JSON_DEPTH`], or holds a value that does not fit its column (see
/// [`JsonLinesOptions`]) becomes a [`RejectedRow`] with its line number; the rest of the item
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
        JsonLinesItemDecoder {
            splitter: LineSplitter::new(self.options.max_line_bytes),
            rows: JsonRows {
                timestamp_unit: self.options.timestamp_unit,
                failed: None,
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
struct JsonRows {
    timestamp_unit: TimestampUnit,
    /// Why the item failed; every later call fails the same way.
    failed: Option<String>,
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
        if nested_deeper_than(bytes, MAX_JSON_DEPTH) {
            let row = RejectedRow {
                line: number,
                raw: bytes::Bytes::copy_from_slice(bytes),
                complete: true,
                reason: format!(
                    "the JSON value is nested deeper than {MAX_JSON_DEPTH} arrays and objects"
                ),
            };
            self.pending.reject(row, out);
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
        self.decoder = Some(
            JsonLineDecoder::new(schema, self.timestamp_unit).map_err(|e| {
                Error::processing("arrow-json cannot decode the inferred schema").with_source(e)
            })?,
        );
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

/// Whether `line` nests arrays and objects deeper than `max` (brackets inside strings do not
/// count). Cheap for ordinary lines: only a line with more than `max` opening brackets is
/// scanned for real.
fn nested_deeper_than(line: &[u8], max: usize) -> bool {
    if line.len() <= max {
        return false;
    }
    let opening = line.iter().filter(|&&b| b == b'[' || b == b'{').count();
    if opening <= max {
        return false;
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in line {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// What arrow-json decodes for `schema`: timestamp columns as text (a number kept as its
/// text), converted by [`TimestampColumn`].
fn decode_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| match field.data_type() {
            DataType::Timestamp(..) => Field::new(field.name(), DataType::Utf8, true),
            _ => field.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// arrow-json's decoder for a fixed schema, fed whole lines.
///
/// Timestamps are read as text and converted by [`TimestampColumn`] (one rule with CSV);
/// float columns are checked for overflow (`1e400` is not infinity).
struct JsonLineDecoder {
    schema: SchemaRef,
    decode_schema: SchemaRef,
    timestamps: Vec<(usize, TimestampColumn)>,
    floats: Vec<usize>,
    integers: Vec<usize>,
    /// The decoder and the rows it was built for: built for the lines at hand, never for a
    /// configured size, because arrow-json preallocates by it.
    decoder: Option<(ArrowJsonDecoder, usize)>,
}

impl std::fmt::Debug for JsonLineDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLineDecoder")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl JsonLineDecoder {
    fn new(
        schema: SchemaRef,
        timestamp_unit: TimestampUnit,
    ) -> std::result::Result<Self, ArrowError> {
        let decode_schema = decode_schema(&schema);
        // Fails now, not at the first line, when arrow-json cannot decode the schema.
        let decoder = build_arrow_decoder(&decode_schema, 1)?;
        let timestamps = schema
            .fields()
            .iter()
            .enumerate()
            .filter_map(|(index, field)| {
                TimestampColumn::for_field(field, timestamp_unit).map(|column| (index, column))
            })
            .collect();
        let floats = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, field)| field.data_type() == &DataType::Float64)
            .map(|(index, _)| index)
            .collect();
        let integers = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, field)| field.data_type() == &DataType::Int64)
            .map(|(index, _)| index)
            .collect();
        Ok(Self {
            schema,
            decode_schema,
            timestamps,
            floats,
            integers,
            decoder: Some((decoder, 1)),
        })
    }

    /// Converts the timestamps of what arrow-json read from `bytes` and checks the floats.
    fn finish_batch(
        &self,
        raw: RecordBatch,
        bytes: &[u8],
    ) -> std::result::Result<RecordBatch, LineError> {
        let mut columns = raw.columns().to_vec();
        for (index, column) in &self.timestamps {
            columns[*index] = column.convert(&columns[*index]).map_err(LineError::Row)?;
        }
        for &index in &self.floats {
            let Some(rows) = infinite_rows(&columns[index]) else {
                continue;
            };
            let name = self.schema.field(index).name();
            for row in rows {
                let line = bytes.split(|&b| b == b'\n').nth(row).unwrap_or_default();
                if !holds_non_finite_literal(line, name) {
                    return Err(LineError::Row(format!(
                        "{} (the number is too large)",
                        float_out_of_range(name, &value_text(line, name))
                    )));
                }
            }
        }
        for &index in &self.integers {
            // arrow-json reads an integer it cannot parse as a float and casts it: a number
            // just below the range rounds to i64::MIN. Only those rows need a second look.
            let Some(ints) = columns[index].as_primitive_opt::<Int64Type>() else {
                continue;
            };
            if !ints.values().contains(&i64::MIN) {
                continue;
            }
            let name = self.schema.field(index).name();
            for (row, value) in ints.iter().enumerate() {
                if value != Some(i64::MIN) {
                    continue;
                }
                let line = bytes.split(|&b| b == b'\n').nth(row).unwrap_or_default();
                let text = value_text(line, name);
                if text.parse::<i64>() != Ok(i64::MIN) {
                    return Err(LineError::Row(format!(
                        "column {name:?}: {text:?} is out of range for a 64-bit integer"
                    )));
                }
            }
        }
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

/// Whether key `name` of the object on `line` is a string such as `"inf"` (an infinity the
/// line asked for, not an overflow).
fn holds_non_finite_literal(line: &[u8], name: &str) -> bool {
    match serde_json::from_slice::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(object)) => matches!(
            object.get(name),
            Some(serde_json::Value::String(text)) if is_non_finite_literal(text)
        ),
        _ => false,
    }
}

/// The text of key `name` on `line`, as far as it can be told, for a message.
fn value_text(line: &[u8], name: &str) -> String {
    match serde_json::from_slice::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(object)) => match object.get(name) {
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        },
        // serde_json refuses a number out of range: find the text after the key.
        _ => {
            let text = String::from_utf8_lossy(line);
            let key = format!("\"{name}\"");
            text.find(&key)
                .map(|at| &text[at + key.len()..])
                .and_then(|rest| rest.trim_start().strip_prefix(':'))
                .map(|rest| {
                    rest.trim_start()
                        .split([',', '}', ' '])
                        .next()
                        .unwrap_or_default()
                        .trim_matches('"')
                        .to_owned()
                })
                .unwrap_or_default()
        }
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
    ) -> std::result::Result<RecordBatch, LineError> {
        let (mut decoder, rows) = match self.decoder.take() {
            Some((decoder, rows)) if rows >= count => (decoder, rows),
            // Building worked for this schema in `new`, so it works again.
            _ => (build_arrow_decoder(&self.decode_schema, count)?, count),
        };
        // After an error the decoder may hold part of the failed input: it is dropped, and
        // the next call builds a fresh one.
        let raw = decode_exact(&mut decoder, bytes, count)?;
        self.decoder = Some((decoder, rows));
        self.finish_batch(raw, bytes)
    }

    /// arrow-json's message, or a clearer one for an integer out of range.
    fn explain(&mut self, line: &[u8], error: &ArrowError) -> String {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        for &index in &self.integers {
            let name = self.schema.field(index).name();
            let text = value_text(content, name);
            if let Some(reason) = check_int(name, &text)
                && reason.contains("out of range")
            {
                return reason;
            }
        }
        error.to_string()
    }
}
