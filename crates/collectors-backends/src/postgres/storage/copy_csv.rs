//! PostgreSQL's CSV `COPY` format (`FORMAT csv`, the defaults: `,`, `"`, NULL as an unquoted
//! empty field). Text is always quoted, so an empty string stays apart from NULL; floats are
//! written with the fewest digits that read back to the same value (`ryu`).

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};

use super::columns::{Column, Values};

/// Appends row `row` of `columns` as one CSV line, preceded by the row id `id`.
#[inline]
pub(crate) fn encode_row(out: &mut Vec<u8>, id: i64, columns: &[Column<'_>], row: usize) {
    let mut ints = itoa::Buffer::new();
    out.extend_from_slice(ints.format(id).as_bytes());
    for column in columns {
        out.push(b',');
        if column.is_null(row) {
            continue;
        }
        match &column.values {
            Values::Int8(v) => out.extend_from_slice(ints.format(v[row]).as_bytes()),
            Values::Int16(v) => out.extend_from_slice(ints.format(v[row]).as_bytes()),
            Values::UInt8(v) => out.extend_from_slice(ints.format(v[row]).as_bytes()),
            Values::Int32(v) => out.extend_from_slice(ints.format(v[row]).as_bytes()),
            Values::UInt16(v) => out.extend_from_slice(ints.format(v[row]).as_bytes()),
            Values::Int64(v) => out.extend_from_slice(ints.format(v[row]).as_bytes()),
            Values::UInt32(v) => out.extend_from_slice(ints.format(v[row]).as_bytes()),
            Values::UInt64(v) => out.extend_from_slice(ints.format(v[row]).as_bytes()),
            Values::Float32(v) => {
                let x = v[row];
                if x.is_finite() {
                    out.extend_from_slice(ryu::Buffer::new().format_finite(x).as_bytes());
                } else {
                    non_finite(out, f64::from(x));
                }
            }
            Values::Float64(v) => {
                let x = v[row];
                if x.is_finite() {
                    out.extend_from_slice(ryu::Buffer::new().format_finite(x).as_bytes());
                } else {
                    non_finite(out, x);
                }
            }
            Values::Boolean(v) => out.push(if v.value(row) { b't' } else { b'f' }),
            Values::Utf8(v) => quoted(out, v.value(row).as_bytes()),
            Values::LargeUtf8(v) => quoted(out, v.value(row).as_bytes()),
            Values::Binary(v) => hex(out, v.value(row)),
            Values::LargeBinary(v) => hex(out, v.value(row)),
            Values::Timestamp { values, scale, tz } => {
                timestamp(out, Values::unix_micros(values, *scale, row), *tz);
            }
            Values::TimestampNanos { values, tz } => timestamp(out, values[row] / 1000, *tz),
            Values::Date(v) => {
                let date = DateTime::from_timestamp(i64::from(v[row]) * 86_400, 0);
                if let Some(date) = date {
                    date_text(out, date.date_naive());
                }
            }
        }
    }
    out.push(b'\n');
}

/// PostgreSQL's spelling of NaN and the infinities.
fn non_finite(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(if v.is_nan() {
        b"NaN"
    } else if v > 0.0 {
        b"Infinity"
    } else {
        b"-Infinity"
    });
}

fn quoted(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'"');
    if text.contains(&b'"') {
        for &b in text {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
    } else {
        out.extend_from_slice(text);
    }
    out.push(b'"');
}

/// `bytea`'s hex input form: `\x` and two hex digits per byte.
fn hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\x");
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0xf)]);
    }
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` (and `+00` with a time zone, ` BC` before year 1).
fn timestamp(out: &mut Vec<u8>, unix_micros: i64, tz: bool) {
    // In range: checked when the columns were taken.
    let Some(t) = DateTime::from_timestamp_micros(unix_micros).map(|t| t.naive_utc()) else {
        return;
    };
    let bc = date_digits(out, t.date());
    out.push(b' ');
    time_text(out, &t);
    if tz {
        out.extend_from_slice(b"+00");
    }
    if bc {
        out.extend_from_slice(b" BC");
    }
}

fn date_text(out: &mut Vec<u8>, date: NaiveDate) {
    if date_digits(out, date) {
        out.extend_from_slice(b" BC");
    }
}

/// Writes `YYYY-MM-DD`; returns whether the year is before 1 AD (written as a BC year).
fn date_digits(out: &mut Vec<u8>, date: NaiveDate) -> bool {
    let year = date.year();
    let (shown, bc) = if year <= 0 {
        (1 - year, true)
    } else {
        (year, false)
    };
    if shown < 1000 {
        pad(out, shown as u32, 4);
    } else {
        out.extend_from_slice(itoa::Buffer::new().format(shown).as_bytes());
    }
    out.push(b'-');
    pad(out, date.month(), 2);
    out.push(b'-');
    pad(out, date.day(), 2);
    bc
}

fn time_text(out: &mut Vec<u8>, t: &NaiveDateTime) {
    pad(out, t.hour(), 2);
    out.push(b':');
    pad(out, t.minute(), 2);
    out.push(b':');
    pad(out, t.second(), 2);
    out.push(b'.');
    pad(out, t.nanosecond() / 1000, 6);
}

/// `n` in exactly `width` digits (`n` has at most `width`).
fn pad(out: &mut Vec<u8>, mut n: u32, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for slot in out[start..].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        BinaryArray, BooleanArray, Date32Array, Float64Array, RecordBatch, StringArray,
        TimestampMicrosecondArray,
    };

    use super::super::columns::columns;
    use super::*;

    #[test]
    fn text_is_quoted_nulls_are_empty_and_values_read_back() {
        let batch = RecordBatch::try_from_iter([
            (
                "s",
                Arc::new(StringArray::from(vec![Some("a \"q\", b"), Some(""), None])) as _,
            ),
            (
                "f",
                Arc::new(Float64Array::from(vec![0.1, f64::NAN, f64::NEG_INFINITY])) as _,
            ),
            (
                "b",
                Arc::new(BooleanArray::from(vec![true, false, true])) as _,
            ),
            (
                "ts",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        1_700_000_000_123_456,
                        0,
                        -62_135_596_800_000_001,
                    ])
                    .with_timezone("+00:00"),
                ) as _,
            ),
            (
                "d",
                Arc::new(Date32Array::from(vec![19_000, 0, -719_162])) as _,
            ),
            (
                "x",
                Arc::new(BinaryArray::from(vec![&b"\x00\xff"[..], b"", b"z"])) as _,
            ),
        ])
        .unwrap();
        let columns = columns(&batch).unwrap();
        let mut out = Vec::new();
        for row in 0..3 {
            encode_row(&mut out, row as i64, &columns, row);
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "0,\"a \"\"q\"\", b\",0.1,t,2023-11-14 22:13:20.123456+00,2022-01-08,\\x00ff\n\
             1,\"\",NaN,f,1970-01-01 00:00:00.000000+00,1970-01-01,\\x\n\
             2,,-Infinity,t,0001-12-31 23:59:59.999999+00 BC,0001-01-01,\\x7a\n"
        );
    }
}
