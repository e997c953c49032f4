//! Arrow columns to SQLite rows and back: multi-row `INSERT`s bound straight from the arrays
//! (no per-row maps), and arrays rebuilt from the rows of a `SELECT`.

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
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};
use collectors_core::{Error, Result};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteConnection, SqliteRow};
use sqlx::{Row, Sqlite};

use super::error::from_sqlx;
use super::schema::{ID_COLUMN, ROW_BITS, id_range, quote_ident};

/// SQLite's default limit of bound variables per statement (since 3.32).
const MAX_VARIABLES: usize = 32_766;
/// Rows per `INSERT`: large enough to amortize the per-statement cost, small enough to keep
/// the statement text and its bindings modest. Full chunks reuse one cached prepared statement.
const MAX_ROWS_PER_STATEMENT: usize = 512;

/// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

type SqliteQuery<'q> = Query<'q, Sqlite, SqliteArguments<'q>>;

/// Text formatted once per column (timestamps, dates), every cell in one buffer, so binding
/// borrows slices instead of allocating a string per cell.
struct Texts {
    text: String,
    /// Row `i`'s text is `text[bounds[i]..bounds[i + 1]]`.
    bounds: Vec<usize>,
    nulls: Vec<bool>,
}

impl Texts {
    fn format(rows: usize, mut cell: impl FnMut(usize) -> Result<Option<String>>) -> Result<Self> {
        let mut texts = Self {
            text: String::new(),
            bounds: Vec::with_capacity(rows + 1),
            nulls: Vec::with_capacity(rows),
        };
        texts.bounds.push(0);
        for row in 0..rows {
            let value = cell(row)?;
            texts.nulls.push(value.is_none());
            texts.text.push_str(value.as_deref().unwrap_or_default());
            texts.bounds.push(texts.text.len());
        }
        Ok(texts)
    }

    fn get(&self, row: usize) -> Option<&str> {
        (!self.nulls[row]).then(|| &self.text[self.bounds[row]..self.bounds[row + 1]])
    }
}

/// One column of a batch, downcast once so rows are bound without dynamic dispatch per cell.
enum Column<'a> {
    Int8(&'a Int8Array),
    Int16(&'a Int16Array),
    Int32(&'a Int32Array),
    Int64(&'a Int64Array),
    UInt8(&'a UInt8Array),
    UInt16(&'a UInt16Array),
    UInt32(&'a UInt32Array),
    UInt64(&'a UInt64Array, &'a str),
    Float32(&'a Float32Array),
    Float64(&'a Float64Array),
    Utf8(&'a StringArray),
    LargeUtf8(&'a LargeStringArray),
    Boolean(&'a BooleanArray),
    /// Timestamps and dates, as their text.
    Text(Texts),
}

impl<'a> Column<'a> {
    fn of(array: &'a ArrayRef, name: &'a str) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Int8 => Column::Int8(array.as_primitive()),
            DataType::Int16 => Column::Int16(array.as_primitive()),
            DataType::Int32 => Column::Int32(array.as_primitive()),
            DataType::Int64 => Column::Int64(array.as_primitive()),
            DataType::UInt8 => Column::UInt8(array.as_primitive()),
            DataType::UInt16 => Column::UInt16(array.as_primitive()),
            DataType::UInt32 => Column::UInt32(array.as_primitive()),
            DataType::UInt64 => Column::UInt64(array.as_primitive(), name),
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
                let utc = tz.is_some();
                Column::Text(Texts::format(array.len(), |row| {
                    if array.is_null(row) {
                        return Ok(None);
                    }
                    let value = values[row];
                    format_timestamp(value, *unit, utc)
                        .map(Some)
                        .ok_or_else(|| {
                            Error::validation(format!(
                                "column {name:?} row {row}: timestamp {value} is out of range"
                            ))
                        })
                })?)
            }
            DataType::Date32 => {
                let dates = array.as_primitive::<Date32Type>();
                Column::Text(Texts::format(array.len(), |row| {
                    if dates.is_null(row) {
                        return Ok(None);
                    }
                    let days = dates.value(row);
                    format_date32(days).map(Some).ok_or_else(|| {
                        Error::validation(format!(
                            "column {name:?} row {row}: date {days} is out of range"
                        ))
                    })
                })?)
            }
            other => {
                return Err(Error::validation(format!(
                    "column {name:?} has unsupported type {other}"
                )));
            }
        })
    }

    /// Binds the value at `row` (NULL when null).
    fn bind<'q>(&'q self, q: SqliteQuery<'q>, row: usize) -> Result<SqliteQuery<'q>> {
        macro_rules! int {
            ($array:expr) => {
                if $array.is_null(row) {
                    q.bind(None::<i64>)
                } else {
                    q.bind(i64::from($array.value(row)))
                }
            };
        }
        Ok(match self {
            Column::Int8(a) => int!(a),
            Column::Int16(a) => int!(a),
            Column::Int32(a) => int!(a),
            Column::Int64(a) => int!(a),
            Column::UInt8(a) => int!(a),
            Column::UInt16(a) => int!(a),
            Column::UInt32(a) => int!(a),
            Column::UInt64(a, name) => {
                if a.is_null(row) {
                    q.bind(None::<i64>)
                } else {
                    let value = a.value(row);
                    let value = i64::try_from(value).map_err(|_| {
                        Error::validation(format!(
                            "column {name:?} row {row}: {value} does not fit SQLite's 64-bit \
                             signed INTEGER"
                        ))
                    })?;
                    q.bind(value)
                }
            }
            Column::Float32(a) => {
                if a.is_null(row) {
                    q.bind(None::<f64>)
                } else {
                    q.bind(f64::from(a.value(row)))
                }
            }
            Column::Float64(a) => {
                if a.is_null(row) {
                    q.bind(None::<f64>)
                } else {
                    q.bind(a.value(row))
                }
            }
            Column::Utf8(a) => {
                if a.is_null(row) {
                    q.bind(None::<&str>)
                } else {
                    q.bind(a.value(row))
                }
            }
            Column::LargeUtf8(a) => {
                if a.is_null(row) {
                    q.bind(None::<&str>)
                } else {
                    q.bind(a.value(row))
                }
            }
            Column::Boolean(a) => {
                if a.is_null(row) {
                    q.bind(None::<i64>)
                } else {
                    q.bind(i64::from(a.value(row)))
                }
            }
            Column::Text(texts) => q.bind(texts.get(row)),
        })
    }
}

/// A timestamp as RFC 3339 text with the unit's fraction digits, `Z` when `utc`.
///
/// Hand-formatted: this runs once per cell on the store path, where `chrono`'s `format`
/// (which parses its pattern on every call) dominated the profile.
pub(crate) fn format_timestamp(value: i64, unit: TimeUnit, utc: bool) -> Option<String> {
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
    let time = DateTime::from_timestamp(secs, nanos)?.naive_utc();
    let mut text = String::with_capacity(32);
    push_date(&mut text, time.date())?;
    text.push('T');
    push_padded(&mut text, time.hour(), 2);
    text.push(':');
    push_padded(&mut text, time.minute(), 2);
    text.push(':');
    push_padded(&mut text, time.second(), 2);
    if digits > 0 {
        text.push('.');
        push_padded(&mut text, nanos / 10u32.pow(9 - digits), digits);
    }
    if utc {
        text.push('Z');
    }
    Some(text)
}

/// `YYYY-MM-DD`; `None` for years outside 0000..=9999 (not representable in that form).
fn push_date(text: &mut String, date: NaiveDate) -> Option<()> {
    let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
    push_padded(text, year, 4);
    text.push('-');
    push_padded(text, date.month(), 2);
    text.push('-');
    push_padded(text, date.day(), 2);
    Some(())
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
pub(crate) fn format_date32(days: i32) -> Option<String> {
    let date = NaiveDate::from_num_days_from_ce_opt(days.checked_add(UNIX_EPOCH_DAYS_FROM_CE)?)?;
    let mut text = String::with_capacity(10);
    push_date(&mut text, date)?;
    Some(text)
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

/// Where the next statement's rows start: a record, a row in it, and the rows left.
struct Cursor {
    record: usize,
    row: usize,
    remaining: usize,
}

impl Cursor {
    /// The next statement (`full` rows, or the remainder), its values bound; `None` at the end.
    fn statement<'q>(
        &mut self,
        prepared: &'q [(i64, usize, Vec<Column<'q>>)],
        full: usize,
        full_sql: &'q str,
        remainder_sql: Option<&'q str>,
    ) -> Result<Option<SqliteQuery<'q>>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let n = self.remaining.min(full);
        // Only the remainder differs in size; it is not cached: its size changes from batch
        // to batch, and caching each would fill every connection's statement cache with
        // large programs used once (memory that grows for the whole run).
        let (sql, cached) = match remainder_sql {
            Some(sql) if n != full => (sql, false),
            _ => (full_sql, true),
        };
        let mut q = sqlx::query(sql).persistent(cached);
        for _ in 0..n {
            while self.row >= prepared[self.record].1 {
                self.record += 1;
                self.row = 0;
            }
            let (first, _, columns) = &prepared[self.record];
            q = q.bind(first | self.row as i64);
            for column in columns {
                q = column.bind(q, self.row)?;
            }
            self.row += 1;
        }
        self.remaining -= n;
        Ok(Some(q))
    }
}

/// Inserts the rows of every record into `table` with multi-row `INSERT`s that span records,
/// so many small records cost as few statements as one large one. Returns the rows written.
pub(crate) async fn insert_rows(
    conn: &mut SqliteConnection,
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
    let per_statement = (MAX_VARIABLES / (names.len() + 1)).clamp(1, MAX_ROWS_PER_STATEMENT);
    let prepared: Vec<(i64, usize, Vec<Column<'_>>)> = records
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
                .map(|(array, field)| Column::of(array, field.name()))
                .collect::<Result<Vec<_>>>()?;
            Ok((id_range(r.id).0, rows, columns))
        })
        .collect::<Result<_>>()?;
    let total: usize = prepared.iter().map(|(_, rows, _)| rows).sum();
    if total == 0 {
        return Ok(0);
    }
    let full = per_statement.min(total);
    let full_sql = insert_sql(table, &names, full);
    let remainder = total % full;
    let failed = |e: sqlx::Error| from_sqlx(e, &format!("inserting rows into {table}"));
    let remainder_sql = (remainder > 0).then(|| insert_sql(table, &names, remainder));
    let mut cursor = Cursor {
        record: 0,
        row: 0,
        remaining: total,
    };
    let mut next = cursor.statement(&prepared, full, &full_sql, remainder_sql.as_deref())?;
    // SQLite runs each statement on the driver's worker thread: the next statement's values
    // are bound here while the previous one executes there.
    while let Some(q) = next.take() {
        let mut execution = Box::pin(q.execute(&mut *conn));
        // The first poll hands the statement to the worker.
        let dispatched = futures::poll!(execution.as_mut());
        next = cursor.statement(&prepared, full, &full_sql, remainder_sql.as_deref())?;
        match dispatched {
            std::task::Poll::Ready(done) => done,
            std::task::Poll::Pending => execution.await,
        }
        .map_err(failed)?;
    }
    Ok(total as u64)
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

    /// Batches of every size leave one insert statement cached, not one per remainder size:
    /// the cache held up to 100 large programs per connection, and memory grew all run.
    #[tokio::test]
    async fn only_the_full_size_insert_is_cached() {
        use sqlx::Connection;
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TABLE t (_id INTEGER PRIMARY KEY, v INTEGER)")
            .execute(&mut conn)
            .await
            .unwrap();
        let per_statement = (MAX_VARIABLES / 2).min(MAX_ROWS_PER_STATEMENT);
        for rows in [
            per_statement + 1,
            per_statement + 7,
            2 * per_statement + 3,
            5,
            9,
        ] {
            let values: ArrayRef =
                Arc::new(arrow_array::Int64Array::from_iter_values(0..rows as i64));
            let batch = RecordBatch::try_from_iter([("v", values)]).unwrap();
            let id = rows as i64;
            insert_rows(&mut conn, "t", &[TableRows { id, batch: &batch }])
                .await
                .unwrap();
        }
        // CREATE TABLE, the full-size insert, and the 5- and 9-row batches (each smaller
        // than a statement, so its own full size); the remainders of 1, 7 and 3 rows are not.
        assert_eq!(conn.cached_statements_size(), 4);
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
