//! Arrow columns to SQLite rows and back: multi-row `INSERT`s on the write connection
//! (rusqlite), bound straight from the arrays (no per-row maps, no copy per value on our
//! side), and arrays rebuilt from the rows of a `SELECT` (sqlx).

use std::sync::Arc;

use arrow_array::types::{
    Date32Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array,
    Int64Array, LargeStringArray, PrimitiveArray, RecordBatch, RecordBatchOptions, StringArray,
    UInt8Array, UInt16Array, UInt32Array, UInt64Array, cast::AsArray,
};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use collectors_core::{Error, Result};
use rusqlite::types::Null;
use rusqlite::{Connection, Statement};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::error::{from_rusqlite, from_sqlx};
use super::schema::{ID_COLUMN, ROW_BITS, id_range, quote_ident};

/// SQLite's default limit of bound variables per statement (since 3.32).
const MAX_VARIABLES: usize = 32_766;
/// Rows per `INSERT`: large enough to amortize the per-statement cost, small enough to keep
/// the statement text and its bindings modest. Full chunks reuse one cached prepared statement.
const ROWS_PER_STATEMENT: usize = 512;

/// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// One column of a batch, downcast once so rows are bound without dynamic dispatch per cell.
enum Column<'a> {
    Int8(&'a Int8Array),
    Int16(&'a Int16Array),
    Int32(&'a Int32Array),
    Int64(&'a Int64Array),
    UInt8(&'a UInt8Array),
    UInt16(&'a UInt16Array),
    UInt32(&'a UInt32Array),
    UInt64(&'a UInt64Array),
    Float32(&'a Float32Array),
    Float64(&'a Float64Array),
    Utf8(&'a StringArray),
    LargeUtf8(&'a LargeStringArray),
    Boolean(&'a BooleanArray),
    /// Timestamps, bound as their RFC 3339 text.
    Timestamp {
        array: &'a dyn Array,
        values: &'a [i64],
        unit: TimeUnit,
        utc: bool,
    },
    /// Dates, bound as `YYYY-MM-DD`.
    Date32(&'a PrimitiveArray<Date32Type>),
}

/// A column of a batch and its name, for messages.
struct Bound<'a> {
    column: Column<'a>,
    name: &'a str,
}

impl<'a> Bound<'a> {
    fn of(array: &'a ArrayRef, name: &'a str) -> Result<Self> {
        let column = match array.data_type() {
            DataType::Int8 => Column::Int8(array.as_primitive()),
            DataType::Int16 => Column::Int16(array.as_primitive()),
            DataType::Int32 => Column::Int32(array.as_primitive()),
            DataType::Int64 => Column::Int64(array.as_primitive()),
            DataType::UInt8 => Column::UInt8(array.as_primitive()),
            DataType::UInt16 => Column::UInt16(array.as_primitive()),
            DataType::UInt32 => Column::UInt32(array.as_primitive()),
            DataType::UInt64 => Column::UInt64(array.as_primitive()),
            DataType::Float32 => Column::Float32(array.as_primitive()),
            DataType::Float64 => Column::Float64(array.as_primitive()),
            DataType::Utf8 => Column::Utf8(array.as_string()),
            DataType::LargeUtf8 => Column::LargeUtf8(array.as_string()),
            DataType::Boolean => Column::Boolean(array.as_boolean()),
            DataType::Timestamp(unit, tz) => {
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
                Column::Timestamp {
                    array: array.as_ref(),
                    values,
                    unit: *unit,
                    utc: tz.is_some(),
                }
            }
            DataType::Date32 => Column::Date32(array.as_primitive()),
            other => {
                return Err(Error::validation(format!(
                    "column {name:?} has unsupported type {other}"
                )));
            }
        };
        Ok(Self { column, name })
    }

    /// Binds the value at `row` (NULL when null) to parameter `index` of `statement`.
    /// SQLite copies what it is given, so texts are borrowed from the array, and timestamps
    /// and dates are formatted into `text`, one buffer reused for every cell.
    fn bind(
        &self,
        statement: &mut Statement<'_>,
        index: usize,
        row: usize,
        text: &mut String,
    ) -> Result<()> {
        macro_rules! value {
            ($array:expr, $value:expr) => {
                if $array.is_null(row) {
                    statement.raw_bind_parameter(index, Null)
                } else {
                    statement.raw_bind_parameter(index, $value)
                }
            };
        }
        let bound = match &self.column {
            Column::Int8(a) => value!(a, i64::from(a.value(row))),
            Column::Int16(a) => value!(a, i64::from(a.value(row))),
            Column::Int32(a) => value!(a, i64::from(a.value(row))),
            Column::Int64(a) => value!(a, a.value(row)),
            Column::UInt8(a) => value!(a, i64::from(a.value(row))),
            Column::UInt16(a) => value!(a, i64::from(a.value(row))),
            Column::UInt32(a) => value!(a, i64::from(a.value(row))),
            Column::UInt64(a) => {
                if a.is_null(row) {
                    statement.raw_bind_parameter(index, Null)
                } else {
                    let value = a.value(row);
                    let value = i64::try_from(value).map_err(|_| {
                        Error::validation(format!(
                            "column {:?} row {row}: {value} does not fit SQLite's 64-bit \
                             signed INTEGER",
                            self.name
                        ))
                    })?;
                    statement.raw_bind_parameter(index, value)
                }
            }
            Column::Float32(a) => value!(a, f64::from(a.value(row))),
            Column::Float64(a) => value!(a, a.value(row)),
            Column::Utf8(a) => value!(a, a.value(row)),
            Column::LargeUtf8(a) => value!(a, a.value(row)),
            Column::Boolean(a) => value!(a, i64::from(a.value(row))),
            Column::Timestamp {
                array,
                values,
                unit,
                utc,
            } => {
                if array.is_null(row) {
                    statement.raw_bind_parameter(index, Null)
                } else {
                    let value = values[row];
                    text.clear();
                    push_timestamp(text, value, *unit, *utc).ok_or_else(|| {
                        Error::validation(format!(
                            "column {:?} row {row}: timestamp {value} is out of range",
                            self.name
                        ))
                    })?;
                    statement.raw_bind_parameter(index, text.as_str())
                }
            }
            Column::Date32(a) => {
                if a.is_null(row) {
                    statement.raw_bind_parameter(index, Null)
                } else {
                    let days = a.value(row);
                    text.clear();
                    push_date32(text, days).ok_or_else(|| {
                        Error::validation(format!(
                            "column {:?} row {row}: date {days} is out of range",
                            self.name
                        ))
                    })?;
                    statement.raw_bind_parameter(index, text.as_str())
                }
            }
        };
        bound.map_err(|e| from_rusqlite(e, &format!("binding column {:?}", self.name)))
    }
}

/// A timestamp as RFC 3339 text with the unit's fraction digits, `Z` when `utc`.
#[cfg(test)]
fn format_timestamp(value: i64, unit: TimeUnit, utc: bool) -> Option<String> {
    let mut text = String::with_capacity(32);
    push_timestamp(&mut text, value, unit, utc).map(|()| text)
}

/// Appends a timestamp as RFC 3339 text with the unit's fraction digits, `Z` when `utc`;
/// `None` (leaving `text` part-written) when it is out of range.
///
/// Hand-formatted: this runs once per cell on the store path, where `chrono`'s `format`
/// (which parses its pattern on every call) dominated the profile.
fn push_timestamp(text: &mut String, value: i64, unit: TimeUnit, utc: bool) -> Option<()> {
    let (secs, nanos, digits) = match unit {
        TimeUnit::Second => (value, 0, 0),
        TimeUnit::Millisecond => (
            value.div_euclid(1_000),
            value.rem_euclid(1_000) * 1_000_000,
            3,
        ),
        TimeUnit::Microsecond => (
            value.div_euclid(1_000_000),
            value.rem_euclid(1_000_000) * 1_000,
            6,
        ),
        TimeUnit::Nanosecond => (
            value.div_euclid(1_000_000_000),
            value.rem_euclid(1_000_000_000),
            9,
        ),
    };
    let nanos = u32::try_from(nanos).ok()?;
    push_civil_date(text, secs.div_euclid(SECONDS_PER_DAY))?;
    // In 0..86_400.
    let time = u32::try_from(secs.rem_euclid(SECONDS_PER_DAY)).ok()?;
    text.push('T');
    push_two(text, time / 3_600);
    text.push(':');
    push_two(text, time / 60 % 60);
    text.push(':');
    push_two(text, time % 60);
    if digits > 0 {
        text.push('.');
        push_padded(text, nanos / 10u32.pow(9 - digits), digits);
    }
    if utc {
        text.push('Z');
    }
    Some(())
}

const SECONDS_PER_DAY: i64 = 86_400;

/// `YYYY-MM-DD` of the day `days` after 1970-01-01; `None` for years outside 0000..=9999
/// (not representable in that form).
///
/// Howard Hinnant's `civil_from_days`: integer arithmetic only, no calendar lookups, as it
/// runs once per timestamp cell.
fn push_civil_date(text: &mut String, days: i64) -> Option<()> {
    let z = days.checked_add(719_468)?;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era.checked_mul(400)? + i64::from(month <= 2);
    let year = u32::try_from(year).ok().filter(|y| *y <= 9999)?;
    push_two(text, year / 100);
    push_two(text, year % 100);
    text.push('-');
    push_two(text, u32::try_from(month).ok()?);
    text.push('-');
    push_two(text, u32::try_from(day).ok()?);
    Some(())
}

/// "00" to "99".
const PAIRS: &str = "00010203040506070809101112131415161718192021222324252627282930313233343536373839\
                     40414243444546474849505152535455565758596061626364656667686970717273747576777879\
                     8081828384858687888990919293949596979899";

/// `value` (below 100) as two digits.
fn push_two(text: &mut String, value: u32) {
    let i = (value % 100) as usize * 2;
    text.push_str(&PAIRS[i..i + 2]);
}

/// `value` in decimal, left-padded with zeros to `width` digits.
fn push_padded(text: &mut String, value: u32, width: u32) {
    let mut digits = [b'0'; 10];
    let mut rest = value;
    let mut len = 0;
    while rest > 0 || len == 0 {
        digits[len] = b'0' + (rest % 10) as u8;
        rest /= 10;
        len += 1;
    }
    for _ in len..width as usize {
        text.push('0');
    }
    for &d in digits[..len].iter().rev() {
        text.push(char::from(d));
    }
}

/// The value in `unit` of a timestamp written by [`format_timestamp`].
pub(crate) fn parse_timestamp(text: &str, unit: TimeUnit) -> Option<i64> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let time = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()?
        .and_utc();
    match unit {
        TimeUnit::Second => Some(time.timestamp()),
        TimeUnit::Millisecond => Some(time.timestamp_millis()),
        TimeUnit::Microsecond => Some(time.timestamp_micros()),
        TimeUnit::Nanosecond => time.timestamp_nanos_opt(),
    }
}

/// Days since the epoch as `YYYY-MM-DD`.
#[cfg(test)]
fn format_date32(days: i32) -> Option<String> {
    let mut text = String::with_capacity(10);
    push_date32(&mut text, days).map(|()| text)
}

/// Appends days since the epoch as `YYYY-MM-DD`; `None` when out of range.
fn push_date32(text: &mut String, days: i32) -> Option<()> {
    push_civil_date(text, i64::from(days))
}

/// Days since the epoch of a `YYYY-MM-DD` date.
pub(crate) fn parse_date32(text: &str) -> Option<i32> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(|d| d.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE)
}

/// `INSERT INTO "t" (_id, "a", …) VALUES (?, ?, …), … ` for `rows` rows.
fn insert_sql(table: &str, columns: &[String], rows: usize) -> String {
    let mut placeholders = String::from("(?");
    for _ in columns {
        placeholders.push_str(", ?");
    }
    placeholders.push(')');
    let mut sql = format!("INSERT INTO {} ({ID_COLUMN}", quote_ident(table));
    for column in columns {
        sql.push_str(", ");
        sql.push_str(column);
    }
    sql.push_str(") VALUES ");
    sql.reserve((placeholders.len() + 2) * rows);
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&placeholders);
    }
    sql
}

/// The rows of one record to insert.
pub(crate) struct TableRows<'a> {
    /// The record's id in `_collectors_records`.
    pub(crate) id: i64,
    pub(crate) batch: &'a RecordBatch,
}

/// One record's rows, ready to bind: its first `_id`, its row count, its columns.
struct Prepared<'a> {
    first_id: i64,
    rows: usize,
    columns: Vec<Bound<'a>>,
}

/// Inserts the rows of every record into `table` on the write connection, in its open
/// transaction, with multi-row `INSERT`s that span records, so many small records cost as
/// few statements as one large one. The full-size statement is prepared once per connection;
/// values are bound straight from the arrays. Returns the rows written.
pub(crate) fn insert_rows(
    conn: &Connection,
    table: &str,
    records: &[TableRows<'_>],
) -> Result<u64> {
    let Some(first) = records.first() else {
        return Ok(0);
    };
    let schema = first.batch.schema();
    let names: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| quote_ident(f.name()))
        .collect();
    let per_statement = (MAX_VARIABLES / (names.len() + 1)).clamp(1, ROWS_PER_STATEMENT);
    let prepared: Vec<Prepared<'_>> = records
        .iter()
        .map(|r| {
            let rows = r.batch.num_rows();
            if u64::try_from(rows).unwrap_or(u64::MAX) >> ROW_BITS != 0 || r.id >> 31 != 0 {
                return Err(Error::validation(format!(
                    "record {} has {rows} rows: a record holds at most 2^32 rows, and a \
                     database at most 2^31 records",
                    r.id
                )));
            }
            let columns = r
                .batch
                .columns()
                .iter()
                .zip(schema.fields())
                .map(|(array, field)| Bound::of(array, field.name()))
                .collect::<Result<Vec<_>>>()?;
            Ok(Prepared {
                first_id: id_range(r.id).0,
                rows,
                columns,
            })
        })
        .collect::<Result<_>>()?;
    let total: usize = prepared.iter().map(|p| p.rows).sum();
    if total == 0 {
        return Ok(0);
    }
    let failed = |e| from_rusqlite(e, &format!("inserting rows into {table}"));
    let full = per_statement.min(total);
    // Appending: when every record's rows go above all rows already there, in order (new
    // records get ids above the largest), only a record's first row names its `_id`; the
    // others leave it NULL, which SQLite fills with one more than the largest, the same
    // value, without the uniqueness seek an explicit row id costs per row.
    let append = appends(conn, table, &prepared)?;
    let mut cursor = prepared.iter().flat_map(|p| {
        (0..p.rows).map(move |row| {
            let id = (row == 0 || !append).then_some(p.first_id | row as i64);
            (id, row, &p.columns)
        })
    });
    let mut text = String::with_capacity(32);
    let mut statement = conn
        .prepare_cached(&insert_sql(table, &names, full))
        .map_err(failed)?;
    let mut remaining = total;
    while remaining >= full {
        bind_rows(&mut statement, &mut cursor, full, &mut text)?;
        statement.raw_execute().map_err(failed)?;
        remaining -= full;
    }
    if remaining > 0 {
        // The remainder's size changes from batch to batch: prepared for this use only, so
        // the connection's cache keeps one large program, not one per size.
        let mut statement = conn
            .prepare(&insert_sql(table, &names, remaining))
            .map_err(failed)?;
        bind_rows(&mut statement, &mut cursor, remaining, &mut text)?;
        statement.raw_execute().map_err(failed)?;
    }
    Ok(total as u64)
}

/// Whether the rows of `records` all go above the rows of `table`, in order.
fn appends(conn: &Connection, table: &str, records: &[Prepared<'_>]) -> Result<bool> {
    let ascending = records
        .windows(2)
        .all(|pair| pair[0].first_id < pair[1].first_id);
    let Some(first) = records.iter().find(|p| p.rows > 0) else {
        return Ok(false);
    };
    let largest: Option<i64> = conn
        .prepare_cached(&format!(
            "SELECT MAX({ID_COLUMN}) FROM {}",
            quote_ident(table)
        ))
        .and_then(|mut q| q.query_row([], |row| row.get(0)))
        .map_err(|e| from_rusqlite(e, &format!("reading the largest row id of {table}")))?;
    Ok(ascending && largest.is_none_or(|largest| largest < first.first_id))
}

/// Binds the next `rows` rows of `cursor` (`_id` or NULL for the next one, row index,
/// columns) to `statement`.
fn bind_rows<'a, 'c: 'a>(
    statement: &mut Statement<'_>,
    cursor: &mut impl Iterator<Item = (Option<i64>, usize, &'a Vec<Bound<'c>>)>,
    rows: usize,
    text: &mut String,
) -> Result<()> {
    let mut index = 1;
    for (id, row, columns) in cursor.take(rows) {
        statement
            .raw_bind_parameter(index, id)
            .map_err(|e| from_rusqlite(e, "binding the row id"))?;
        index += 1;
        for column in columns {
            column.bind(statement, index, row, text)?;
            index += 1;
        }
    }
    Ok(())
}

/// Rebuilds a batch of `schema` from rows selected in the schema's column order.
pub(crate) fn read_batch(
    schema: SchemaRef,
    rows: &[SqliteRow],
    table: &str,
) -> Result<RecordBatch> {
    let corrupt = |column: &str, row: usize, what: &str| {
        Error::invalid_state(format!(
            "table {table:?} column {column:?} row {row}: {what}"
        ))
    };
    let decode = |e: sqlx::Error| from_sqlx(e, &format!("reading rows of {table}"));
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (i, field) in schema.fields().iter().enumerate() {
        let name = field.name().as_str();
        macro_rules! ints {
            ($native:ty, $array:ty) => {{
                let mut values: Vec<Option<$native>> = Vec::with_capacity(rows.len());
                for (r, row) in rows.iter().enumerate() {
                    let value: Option<i64> = row.try_get(i).map_err(decode)?;
                    values.push(
                        value
                            .map(<$native>::try_from)
                            .transpose()
                            .map_err(|_| corrupt(name, r, "integer out of range"))?,
                    );
                }
                Arc::new(<$array>::from(values)) as ArrayRef
            }};
        }
        let array: ArrayRef = match field.data_type() {
            DataType::Int8 => ints!(i8, Int8Array),
            DataType::Int16 => ints!(i16, Int16Array),
            DataType::Int32 => ints!(i32, Int32Array),
            DataType::Int64 => ints!(i64, Int64Array),
            DataType::UInt8 => ints!(u8, UInt8Array),
            DataType::UInt16 => ints!(u16, UInt16Array),
            DataType::UInt32 => ints!(u32, UInt32Array),
            DataType::UInt64 => ints!(u64, UInt64Array),
            DataType::Float32 => {
                let values = rows
                    .iter()
                    .map(|row| {
                        row.try_get::<Option<f64>, _>(i)
                            .map(|v| v.map(|v| v as f32))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(decode)?;
                Arc::new(Float32Array::from(values))
            }
            DataType::Float64 => {
                let values = rows
                    .iter()
                    .map(|row| row.try_get::<Option<f64>, _>(i))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(decode)?;
                Arc::new(Float64Array::from(values))
            }
            DataType::Utf8 => {
                let values = rows
                    .iter()
                    .map(|row| row.try_get::<Option<&str>, _>(i))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(decode)?;
                Arc::new(StringArray::from(values))
            }
            DataType::LargeUtf8 => {
                let values = rows
                    .iter()
                    .map(|row| row.try_get::<Option<&str>, _>(i))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(decode)?;
                Arc::new(LargeStringArray::from(values))
            }
            DataType::Boolean => {
                let values = rows
                    .iter()
                    .map(|row| row.try_get::<Option<i64>, _>(i).map(|v| v.map(|v| v != 0)))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(decode)?;
                Arc::new(BooleanArray::from(values))
            }
            DataType::Timestamp(unit, tz) => {
                let mut values = Vec::with_capacity(rows.len());
                for (r, row) in rows.iter().enumerate() {
                    let text: Option<&str> = row.try_get(i).map_err(decode)?;
                    values.push(
                        text.map(|t| {
                            parse_timestamp(t, *unit)
                                .ok_or_else(|| corrupt(name, r, &format!("bad timestamp {t:?}")))
                        })
                        .transpose()?,
                    );
                }
                match unit {
                    TimeUnit::Second => Arc::new(
                        PrimitiveArray::<TimestampSecondType>::from(values)
                            .with_timezone_opt(tz.clone()),
                    ),
                    TimeUnit::Millisecond => Arc::new(
                        PrimitiveArray::<TimestampMillisecondType>::from(values)
                            .with_timezone_opt(tz.clone()),
                    ),
                    TimeUnit::Microsecond => Arc::new(
                        PrimitiveArray::<TimestampMicrosecondType>::from(values)
                            .with_timezone_opt(tz.clone()),
                    ),
                    TimeUnit::Nanosecond => Arc::new(
                        PrimitiveArray::<TimestampNanosecondType>::from(values)
                            .with_timezone_opt(tz.clone()),
                    ),
                }
            }
            DataType::Date32 => {
                let mut values = Vec::with_capacity(rows.len());
                for (r, row) in rows.iter().enumerate() {
                    let text: Option<&str> = row.try_get(i).map_err(decode)?;
                    values.push(
                        text.map(|t| {
                            parse_date32(t)
                                .ok_or_else(|| corrupt(name, r, &format!("bad date {t:?}")))
                        })
                        .transpose()?,
                    );
                }
                Arc::new(PrimitiveArray::<Date32Type>::from(values))
            }
            other => {
                return Err(Error::invalid_state(format!(
                    "table {table:?} column {name:?} has unsupported type {other}"
                )));
            }
        };
        arrays.push(array);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(rows.len()));
    RecordBatch::try_new_with_options(schema, arrays, &options).map_err(|e| {
        Error::invalid_state(format!(
            "rows of table {table:?} do not fit its schema: {e}"
        ))
        .with_source(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(sql: &str) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(sql).unwrap();
        conn
    }

    /// Full statements, a remainder, and records smaller than a statement all land, each
    /// row under its record's id and its index.
    #[test]
    fn rows_of_every_size_land_under_their_ids() {
        let conn = table("CREATE TABLE t (_id INTEGER PRIMARY KEY, v INTEGER)");
        let per_statement = (MAX_VARIABLES / 2).min(ROWS_PER_STATEMENT);
        let sizes = [per_statement + 1, 2 * per_statement + 3, 5, 0, 9];
        let batches: Vec<RecordBatch> = sizes
            .iter()
            .map(|&rows| {
                let values: ArrayRef = Arc::new(Int64Array::from_iter_values(0..rows as i64));
                RecordBatch::try_from_iter([("v", values)]).unwrap()
            })
            .collect();
        let records: Vec<TableRows<'_>> = batches
            .iter()
            .enumerate()
            .map(|(i, batch)| TableRows {
                id: i as i64 + 1,
                batch,
            })
            .collect();
        let written = insert_rows(&conn, "t", &records).unwrap();
        assert_eq!(written, sizes.iter().sum::<usize>() as u64);
        for (i, &rows) in sizes.iter().enumerate() {
            let (first, last) = id_range(i as i64 + 1);
            let (count, max): (i64, Option<i64>) = conn
                .query_row(
                    "SELECT COUNT(*), MAX(v) FROM t WHERE _id BETWEEN ? AND ? AND v = _id - ?",
                    [first, last, first],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .unwrap();
            assert_eq!(count as usize, rows, "record {i}");
            assert_eq!(max, rows.checked_sub(1).map(|m| m as i64));
        }
    }

    /// Rows that do not go above the table's last row (a record id below one already
    /// there) name every `_id`: nothing lands under another record's id.
    #[test]
    fn rows_below_the_last_row_keep_their_own_ids() {
        let conn = table("CREATE TABLE t (_id INTEGER PRIMARY KEY, v INTEGER)");
        let values: ArrayRef = Arc::new(Int64Array::from_iter_values(0..3));
        let batch = RecordBatch::try_from_iter([("v", values)]).unwrap();
        for id in [9, 2, 5] {
            insert_rows(&conn, "t", &[TableRows { id, batch: &batch }]).unwrap();
        }
        for id in [2, 5, 9] {
            let (first, last) = id_range(id);
            let count: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM t WHERE _id BETWEEN ? AND ? AND v = _id - ?",
                    [first, last, first],
                    |row| row.get(0),
                )
                .unwrap();
            assert_eq!(count, 3, "record {id}");
        }
    }

    /// A value SQLite cannot hold is a validation error naming the column and the row.
    #[test]
    fn a_value_that_does_not_fit_names_its_column() {
        let conn = table("CREATE TABLE t (_id INTEGER PRIMARY KEY, \"big\" INTEGER)");
        let values: ArrayRef = Arc::new(UInt64Array::from(vec![1, u64::MAX]));
        let batch = RecordBatch::try_from_iter([("big", values)]).unwrap();
        let err = insert_rows(
            &conn,
            "t",
            &[TableRows {
                id: 1,
                batch: &batch,
            }],
        )
        .unwrap_err();
        assert_eq!(err.error_type(), collectors_core::ErrorType::Validation);
        assert!(err.message().contains("column \"big\" row 1"), "{err}");
    }

    #[test]
    fn timestamps_round_trip_in_every_unit() {
        for (value, unit, utc, text) in [
            (0, TimeUnit::Second, false, "1970-01-01T00:00:00"),
            (-1, TimeUnit::Millisecond, true, "1969-12-31T23:59:59.999Z"),
            (
                1_700_000_000_123_456,
                TimeUnit::Microsecond,
                true,
                "2023-11-14T22:13:20.123456Z",
            ),
            (
                1_700_000_000_123_456_789,
                TimeUnit::Nanosecond,
                false,
                "2023-11-14T22:13:20.123456789",
            ),
        ] {
            assert_eq!(format_timestamp(value, unit, utc).as_deref(), Some(text));
            assert_eq!(parse_timestamp(text, unit), Some(value), "{text}");
        }
        assert_eq!(
            format_timestamp(-62_135_596_800, TimeUnit::Second, false).as_deref(),
            Some("0001-01-01T00:00:00")
        );
        assert_eq!(
            format_timestamp(1_000_000_007, TimeUnit::Nanosecond, true).as_deref(),
            Some("1970-01-01T00:00:01.000000007Z")
        );
        // Years past 9999 do not fit the fixed-width text: refused, not mangled.
        assert_eq!(
            format_timestamp(i64::MAX / 1_000, TimeUnit::Millisecond, false),
            None
        );
    }

    /// The hand-written calendar agrees with chrono's on every day of years 0 to 9999,
    /// and refuses the days just outside.
    #[test]
    fn civil_dates_match_chrono() {
        let first = NaiveDate::from_ymd_opt(0, 1, 1).unwrap();
        let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let mut text = String::new();
        let mut date = first;
        while date <= last {
            let days = (date - epoch).num_days();
            text.clear();
            push_civil_date(&mut text, days).unwrap();
            assert_eq!(text, date.format("%Y-%m-%d").to_string());
            date = date.succ_opt().unwrap();
        }
        for days in [
            (first - epoch).num_days() - 1,
            (last - epoch).num_days() + 1,
        ] {
            assert_eq!(push_civil_date(&mut String::new(), days), None, "{days}");
        }
        assert_eq!(push_civil_date(&mut String::new(), i64::MAX), None);
        assert_eq!(push_civil_date(&mut String::new(), i64::MIN), None);
    }

    #[test]
    fn dates_round_trip() {
        for (days, text) in [
            (0, "1970-01-01"),
            (-1, "1969-12-31"),
            (19_723, "2024-01-01"),
        ] {
            assert_eq!(format_date32(days).as_deref(), Some(text));
            assert_eq!(parse_date32(text), Some(days));
        }
    }

    #[test]
    fn insert_statements_have_one_placeholder_per_value() {
        let sql = insert_sql("t", &["\"a\"".into()], 2);
        assert_eq!(sql, "INSERT INTO \"t\" (_id, \"a\") VALUES (?, ?), (?, ?)");
    }
}
