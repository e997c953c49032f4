//! [`JsonLinesOptions`]: the options of the JSON-lines decoder.

use serde::{Deserialize, Serialize};

use crate::schema::ColumnSpec;
use crate::values::TimestampUnit;

/// Options of the [`JsonLinesDecoder`](super::JsonLinesDecoder); every field has a default, unknown fields are rejected.
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
/// - a line nested deeper than [`MAX_JSON_DEPTH`](crate::MAX_JSON_DEPTH) arrays and objects is rejected.
///
/// # Bounds
///
/// `batch_size` and `infer_rows` are between 1 and 1 048 576, `max_line_bytes` between 1
/// and 1 GiB ([`MAX_BATCH_SIZE`](crate::MAX_BATCH_SIZE),
/// [`MAX_INFER_ROWS`](crate::MAX_INFER_ROWS), [`MAX_LINE_BYTES`](crate::MAX_LINE_BYTES));
/// [`JsonLinesDecoder::new`](super::JsonLinesDecoder::new) refuses other values with an error that starts with the key.
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
