//! The Arrow columns of a batch as the values PostgreSQL stores, checked once before any
//! byte is sent, so that both COPY encoders are infallible.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, BinaryArray, BooleanArray, LargeBinaryArray, LargeStringArray, RecordBatch, StringArray,
};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, TimeUnit};
use collectors_core::{Error, Result};

use super::schema::micros_per;

/// 2000-01-01T00:00:00Z (PostgreSQL's epoch) in microseconds since the Unix epoch.
pub(crate) const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// 2000-01-01 in days since 1970-01-01.
pub(crate) const PG_EPOCH_DAYS: i32 = 10_957;

/// One column's values, in the form its PostgreSQL type takes.
pub(crate) enum Values<'a> {
    /// `SMALLINT` (from `Int8`, `Int16`, `UInt8`: widened per cell).
    Int8(&'a [i8]),
    Int16(&'a [i16]),
    UInt8(&'a [u8]),
    /// `INTEGER` (from `Int32`, `UInt16`).
    Int32(&'a [i32]),
    UInt16(&'a [u16]),
    /// `BIGINT` (from `Int64`, `UInt32`, `UInt64`; `UInt64` checked to fit).
    Int64(&'a [i64]),
    UInt32(&'a [u32]),
    UInt64(&'a [u64]),
    Float32(&'a [f32]),
    Float64(&'a [f64]),
    Boolean(&'a BooleanArray),
    Utf8(&'a StringArray),
    LargeUtf8(&'a LargeStringArray),
    Binary(&'a BinaryArray),
    LargeBinary(&'a LargeBinaryArray),
    /// Microseconds since the Unix epoch are `value * scale`; `tz`: `TIMESTAMPTZ`.
    Timestamp {
        values: &'a [i64],
        scale: i64,
        tz: bool,
    },
    /// Nanosecond timestamps, each a whole number of microseconds (checked).
    TimestampNanos {
        values: &'a [i64],
        tz: bool,
    },
    /// Days since the Unix epoch.
    Date(&'a [i32]),
}

/// A column: its values and which are null.
pub(crate) struct Column<'a> {
    pub(crate) values: Values<'a>,
    pub(crate) nulls: Option<&'a NullBuffer>,
}

impl Column<'_> {
    /// Whether row `i` is null.
    #[inline]
    pub(crate) fn is_null(&self, i: usize) -> bool {
        self.nulls.is_some_and(|n| n.is_null(i))
    }
}

/// The columns of `batch`, each checked against what PostgreSQL can hold: `UInt64` values
/// up to `i64::MAX`, timestamps that are whole microseconds and within `i64` microseconds.
pub(crate) fn columns(batch: &RecordBatch) -> Result<Vec<Column<'_>>> {
    let schema = batch.schema_ref();
    let mut out = Vec::with_capacity(batch.num_columns());
    for (field, array) in schema.fields().iter().zip(batch.columns()) {
        let name = field.name();
        let nulls = array.nulls().filter(|n| n.null_count() > 0);
        let valid = |i: usize| nulls.is_none_or(|n: &NullBuffer| n.is_valid(i));
        let values = match field.data_type() {
            DataType::Int8 => Values::Int8(array.as_primitive::<Int8Type>().values()),
            DataType::Int16 => Values::Int16(array.as_primitive::<Int16Type>().values()),
            DataType::UInt8 => Values::UInt8(array.as_primitive::<UInt8Type>().values()),
            DataType::Int32 => Values::Int32(array.as_primitive::<Int32Type>().values()),
            DataType::UInt16 => Values::UInt16(array.as_primitive::<UInt16Type>().values()),
            DataType::Int64 => Values::Int64(array.as_primitive::<Int64Type>().values()),
            DataType::UInt32 => Values::UInt32(array.as_primitive::<UInt32Type>().values()),
            DataType::UInt64 => {
                let values = array.as_primitive::<UInt64Type>().values();
                if let Some(i) =
                    (0..values.len()).find(|&i| valid(i) && values[i] > i64::MAX as u64)
                {
                    return Err(Error::validation(format!(
                        "column {name:?} row {i}: {} does not fit PostgreSQL's BIGINT",
                        values[i]
                    )));
                }
                Values::UInt64(values)
            }
            DataType::Float32 => Values::Float32(array.as_primitive::<Float32Type>().values()),
            DataType::Float64 => Values::Float64(array.as_primitive::<Float64Type>().values()),
            DataType::Boolean => Values::Boolean(array.as_boolean()),
            DataType::Utf8 => Values::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => Values::LargeUtf8(array.as_string::<i64>()),
            DataType::Binary => Values::Binary(array.as_binary::<i32>()),
            DataType::LargeBinary => Values::LargeBinary(array.as_binary::<i64>()),
            DataType::Timestamp(unit, tz) => {
                let tz = tz.is_some();
                let values: &[i64] = match unit {
                    TimeUnit::Second => array.as_primitive::<TimestampSecondType>().values(),
                    TimeUnit::Millisecond => {
                        array.as_primitive::<TimestampMillisecondType>().values()
                    }
                    TimeUnit::Microsecond => {
                        array.as_primitive::<TimestampMicrosecondType>().values()
                    }
                    TimeUnit::Nanosecond => {
                        array.as_primitive::<TimestampNanosecondType>().values()
                    }
                };
                match micros_per(*unit) {
                    Some(scale) => {
                        let bad = (0..values.len()).find(|&i| {
                            valid(i)
                                && values[i]
                                    .checked_mul(scale)
                                    .and_then(|us| us.checked_sub(PG_EPOCH_MICROS))
                                    .is_none()
                        });
                        if let Some(i) = bad {
                            return Err(Error::validation(format!(
                                "column {name:?} row {i}: timestamp {} {unit:?}s is out of \
                                 PostgreSQL's range",
                                values[i]
                            )));
                        }
                        Values::Timestamp { values, scale, tz }
                    }
                    None => {
                        if let Some(i) =
                            (0..values.len()).find(|&i| valid(i) && values[i] % 1000 != 0)
                        {
                            return Err(Error::validation(format!(
                                "column {name:?} row {i}: timestamp {} ns has a fraction of a \
                                 microsecond, which PostgreSQL cannot keep (cast the column \
                                 to Timestamp(Microsecond) to drop it)",
                                values[i]
                            )));
                        }
                        Values::TimestampNanos { values, tz }
                    }
                }
            }
            DataType::Date32 => Values::Date(array.as_primitive::<Date32Type>().values()),
            other => {
                return Err(Error::validation(format!(
                    "column {name:?} has type {other} which PostgreSQL storage does not support"
                )));
            }
        };
        out.push(Column { values, nulls });
    }
    Ok(out)
}

impl Values<'_> {
    /// A timestamp cell as microseconds since the Unix epoch (checked by [`columns`]).
    #[inline]
    pub(crate) fn unix_micros(values: &[i64], scale: i64, i: usize) -> i64 {
        values[i].wrapping_mul(scale)
    }
}
