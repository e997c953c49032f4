//! The value rules shared by the CSV and JSON-lines decoders: timestamps (text or integer
//! epochs, no leap seconds) and the range of numbers.
//!
//! Both decoders read a timestamp column as text first (arrow-csv and arrow-json each have
//! their own, different idea of an integer timestamp) and convert it here, so one rule holds
//! for both formats.

use std::sync::Arc;

use arrow_array::timezone::Tz;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, StringArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray,
};
use arrow_cast::parse::{Parser, string_to_datetime};
use arrow_schema::{DataType, Field, TimeUnit};
use serde::{Deserialize, Serialize};

use crate::schema::UTC_OFFSET;

/// The unit of an integer timestamp (`1767225600`): what one unit of the number is.
///
/// Serialized as `"s"`, `"ms"`, `"us"` or `"ns"`; the default is seconds, the Unix epoch as
/// `date +%s` writes it.
///
/// ```
/// use collectors_processors::TimestampUnit;
///
/// let unit: TimestampUnit = serde_json::from_str("\"ms\"").unwrap();
/// assert_eq!(unit, TimestampUnit::Milliseconds);
/// assert_eq!(TimestampUnit::default(), TimestampUnit::Seconds);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum TimestampUnit {
    /// Seconds since 1970-01-01T00:00:00Z (`"s"`, the default).
    #[default]
    #[serde(rename = "s")]
    Seconds,
    /// Milliseconds since the epoch (`"ms"`).
    #[serde(rename = "ms")]
    Milliseconds,
    /// Microseconds since the epoch (`"us"`).
    #[serde(rename = "us")]
    Microseconds,
    /// Nanoseconds since the epoch (`"ns"`).
    #[serde(rename = "ns")]
    Nanoseconds,
}

impl TimestampUnit {
    /// Nanoseconds in one unit.
    fn nanos(self) -> i128 {
        match self {
            TimestampUnit::Seconds => 1_000_000_000,
            TimestampUnit::Milliseconds => 1_000_000,
            TimestampUnit::Microseconds => 1_000,
            TimestampUnit::Nanoseconds => 1,
        }
    }

    /// The unit's name in messages.
    fn name(self) -> &'static str {
        match self {
            TimestampUnit::Seconds => "seconds",
            TimestampUnit::Milliseconds => "milliseconds",
            TimestampUnit::Microseconds => "microseconds",
            TimestampUnit::Nanoseconds => "nanoseconds",
        }
    }
}

/// Nanoseconds in one unit of an Arrow time unit.
fn arrow_unit_nanos(unit: TimeUnit) -> i128 {
    match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

/// How to read the values of one timestamp column.
#[derive(Debug, Clone)]
pub(crate) struct TimestampColumn {
    name: String,
    /// The zone of naive times (and of the output type).
    zone: Tz,
    unit: TimeUnit,
    tz: Option<Arc<str>>,
    integer_unit: TimestampUnit,
}

impl TimestampColumn {
    /// The reader of `field` when it is a timestamp column.
    pub(crate) fn for_field(field: &Field, integer_unit: TimestampUnit) -> Option<Self> {
        let DataType::Timestamp(unit, tz) = field.data_type() else {
            return None;
        };
        // A naive time is UTC, as in arrow-csv; a zone arrow cannot read falls back to UTC
        // too (the schemas built here only ever hold `UTC_OFFSET`).
        let zone = tz
            .as_deref()
            .unwrap_or(UTC_OFFSET)
            .parse::<Tz>()
            .or_else(|_| UTC_OFFSET.parse::<Tz>())
            .ok()?;
        Some(Self {
            name: field.name().clone(),
            zone,
            unit: *unit,
            tz: tz.clone(),
            integer_unit,
        })
    }

    /// `text` as a count of this column's unit since the epoch, or why it is not one.
    pub(crate) fn parse(&self, text: &str) -> Result<i64, String> {
        if is_integer(text) {
            return self.parse_epoch(text);
        }
        let time = string_to_datetime(&self.zone, text).map_err(|_| self.not_a_timestamp(text))?;
        if time.timestamp_subsec_nanos() >= 1_000_000_000 {
            return Err(format!(
                "column {:?}: {text:?} is a leap second (second 60), which a timestamp \
                 column cannot hold; it is rejected rather than read as the second after it",
                self.name
            ));
        }
        let value = match self.unit {
            TimeUnit::Second => Some(time.timestamp()),
            TimeUnit::Millisecond => Some(time.timestamp_millis()),
            TimeUnit::Microsecond => Some(time.timestamp_micros()),
            TimeUnit::Nanosecond => time.timestamp_nanos_opt(),
        };
        value.ok_or_else(|| self.out_of_range(text))
    }

    fn parse_epoch(&self, text: &str) -> Result<i64, String> {
        let number: i64 = text.parse().map_err(|_| self.out_of_range(text))?;
        let nanos = i128::from(number) * self.integer_unit.nanos();
        // Floor, so that a time before the epoch rounds down like a time after it.
        let value = nanos.div_euclid(arrow_unit_nanos(self.unit));
        i64::try_from(value).map_err(|_| self.out_of_range(text))
    }

    fn not_a_timestamp(&self, text: &str) -> String {
        format!(
            "column {:?}: cannot parse {text:?} as a timestamp: expected an RFC 3339 \
             timestamp like 2026-01-01T00:00:00Z, `YYYY-MM-DD HH:MM:SS[.fff]` (UTC), or an \
             integer epoch in {}",
            self.name,
            self.integer_unit.name()
        )
    }

    fn out_of_range(&self, text: &str) -> String {
        format!(
            "column {:?}: the timestamp {text:?} is out of range (integer epochs are in {})",
            self.name,
            self.integer_unit.name()
        )
    }

    /// Converts a text column (what the Arrow decoder read) into this timestamp column;
    /// `Err` holds the reason of the first value that does not convert.
    pub(crate) fn convert(&self, text: &ArrayRef) -> Result<ArrayRef, String> {
        let Some(text) = text.as_any().downcast_ref::<StringArray>() else {
            return Err(format!("column {:?}: expected text", self.name));
        };
        let mut values = Vec::with_capacity(text.len());
        for row in 0..text.len() {
            values.push(if text.is_null(row) {
                0
            } else {
                self.parse(text.value(row))?
            });
        }
        let nulls = text.nulls().cloned();
        let array: ArrayRef = match self.unit {
            TimeUnit::Second => Arc::new(
                TimestampSecondArray::new(values.into(), nulls).with_timezone_opt(self.tz.clone()),
            ),
            TimeUnit::Millisecond => Arc::new(
                TimestampMillisecondArray::new(values.into(), nulls)
                    .with_timezone_opt(self.tz.clone()),
            ),
            TimeUnit::Microsecond => Arc::new(
                TimestampMicrosecondArray::new(values.into(), nulls)
                    .with_timezone_opt(self.tz.clone()),
            ),
            TimeUnit::Nanosecond => Arc::new(
                TimestampNanosecondArray::new(values.into(), nulls)
                    .with_timezone_opt(self.tz.clone()),
            ),
        };
        Ok(array)
    }
}

/// Whether `text` is an optional `-` and at least one ASCII digit.
fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `text` is one of the non-finite literals a `float64` column accepts: `NaN`,
/// `inf`, `infinity`, optionally signed, in any case.
pub(crate) fn is_non_finite_literal(text: &str) -> bool {
    let word = text.strip_prefix(['-', '+']).unwrap_or(text);
    ["nan", "inf", "infinity"]
        .iter()
        .any(|literal| word.eq_ignore_ascii_case(literal))
}

/// The reason of a number too large for a `float64` column.
pub(crate) fn float_out_of_range(column: &str, text: &str) -> String {
    format!("column {column:?}: {text:?} is out of range for a 64-bit float")
}

/// Why `text` (not empty) is not a valid `float64` value, or `None` when it is.
pub(crate) fn check_float(column: &str, text: &str) -> Option<String> {
    match Float64Type::parse(text) {
        Some(value) if value.is_infinite() && !is_non_finite_literal(text) => {
            Some(float_out_of_range(column, text))
        }
        Some(_) => None,
        None => Some(format!(
            "column {column:?}: cannot parse {text:?} as Float64"
        )),
    }
}

/// Why `text` (not empty) is not a valid `int64` value, or `None` when it is.
pub(crate) fn check_int(column: &str, text: &str) -> Option<String> {
    if Int64Type::parse(text).is_some() {
        return None;
    }
    if is_integer(text.strip_prefix('+').unwrap_or(text)) {
        return Some(format!(
            "column {column:?}: {text:?} is out of range for a 64-bit integer"
        ));
    }
    Some(format!("column {column:?}: cannot parse {text:?} as Int64"))
}

/// The rows of a `Float64` column that hold an infinity (`None` when there is none: the
/// common case, checked without branching per row).
pub(crate) fn infinite_rows(column: &ArrayRef) -> Option<Vec<usize>> {
    let floats = column
        .as_any()
        .downcast_ref::<arrow_array::PrimitiveArray<Float64Type>>()?;
    if !floats.values().iter().any(|v| v.is_infinite()) {
        return None;
    }
    Some(
        floats
            .values()
            .iter()
            .enumerate()
            .filter(|(row, v)| v.is_infinite() && floats.is_valid(*row))
            .map(|(row, _)| row)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(unit: TimestampUnit) -> TimestampColumn {
        let field = Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some(UTC_OFFSET.into())),
            true,
        );
        TimestampColumn::for_field(&field, unit).unwrap()
    }

    #[test]
    fn integers_are_epochs_in_the_configured_unit() {
        let seconds = 1_767_225_600i64; // 2026-01-01T00:00:00Z
        for (unit, text) in [
            (TimestampUnit::Seconds, "1767225600"),
            (TimestampUnit::Milliseconds, "1767225600000"),
            (TimestampUnit::Microseconds, "1767225600000000"),
            (TimestampUnit::Nanoseconds, "1767225600000000000"),
        ] {
            assert_eq!(
                column(unit).parse(text),
                Ok(seconds * 1_000_000),
                "{unit:?}"
            );
        }
        assert_eq!(column(TimestampUnit::Nanoseconds).parse("-1"), Ok(-1));
        assert!(
            column(TimestampUnit::Seconds)
                .parse("9223372036854775807")
                .is_err()
        );
    }

    #[test]
    fn literals_and_ranges() {
        for text in ["NaN", "nan", "inf", "-inf", "+inf", "Infinity", "-infinity"] {
            assert!(is_non_finite_literal(text), "{text}");
            assert_eq!(check_float("v", text), None, "{text}");
        }
        assert!(check_float("v", "1e400").unwrap().contains("out of range"));
        assert!(check_float("v", "-1e400").unwrap().contains("out of range"));
        assert_eq!(check_float("v", "1e300"), None);
        assert!(
            check_int("n", "9223372036854775808")
                .unwrap()
                .contains("out of range")
        );
        assert!(check_int("n", "x").unwrap().contains("cannot parse"));
    }
}
