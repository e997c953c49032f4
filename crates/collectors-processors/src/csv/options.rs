//! [`CsvOptions`]: the options of the CSV decoder.

use serde::{Deserialize, Serialize};

use crate::schema::ColumnSpec;
use crate::values::TimestampUnit;

/// Options of the [`CsvDecoder`](super::CsvDecoder); every field has a default, unknown fields are rejected.
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
/// [`CsvDecoder::new`](super::CsvDecoder::new) refuses other values with an error that starts with the key. Memory is
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
