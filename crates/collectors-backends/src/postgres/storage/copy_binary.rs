//! PostgreSQL's binary `COPY` format: an 11-byte signature, flags and header extension, then
//! per row a 16-bit field count and per field a 32-bit length (-1 for NULL) and the value in
//! the type's binary send format (big-endian integers and IEEE floats, timestamps as
//! microseconds since 2000-01-01, dates as days since 2000-01-01), ended by a -1 count.
//! <https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4>

use super::columns::{Column, PG_EPOCH_DAYS, PG_EPOCH_MICROS, Values};

/// `PGCOPY\n\377\r\n\0`, then the flags (0: no OIDs) and the header extension length (0).
pub(crate) const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The file trailer: a field count of -1.
pub(crate) const TRAILER: &[u8] = &(-1_i16).to_be_bytes();

/// Appends row `row` of `columns`, preceded by the row id `id` (`_id BIGINT`).
#[inline]
pub(crate) fn encode_row(out: &mut Vec<u8>, id: i64, columns: &[Column<'_>], row: usize) {
    // Field counts fit: a table has at most 1600 columns.
    out.extend_from_slice(&((columns.len() + 1) as i16).to_be_bytes());
    field(out, &id.to_be_bytes());
    for column in columns {
        if column.is_null(row) {
            out.extend_from_slice(&(-1_i32).to_be_bytes());
            continue;
        }
        match &column.values {
            Values::Int8(v) => field(out, &i16::from(v[row]).to_be_bytes()),
            Values::Int16(v) => field(out, &v[row].to_be_bytes()),
            Values::UInt8(v) => field(out, &i16::from(v[row]).to_be_bytes()),
            Values::Int32(v) => field(out, &v[row].to_be_bytes()),
            Values::UInt16(v) => field(out, &i32::from(v[row]).to_be_bytes()),
            Values::Int64(v) => field(out, &v[row].to_be_bytes()),
            Values::UInt32(v) => field(out, &i64::from(v[row]).to_be_bytes()),
            // Checked to be at most i64::MAX.
            Values::UInt64(v) => field(out, &(v[row] as i64).to_be_bytes()),
            Values::Float32(v) => field(out, &v[row].to_bits().to_be_bytes()),
            Values::Float64(v) => field(out, &v[row].to_bits().to_be_bytes()),
            Values::Boolean(v) => field(out, &[u8::from(v.value(row))]),
            Values::Utf8(v) => field(out, v.value(row).as_bytes()),
            Values::LargeUtf8(v) => field(out, v.value(row).as_bytes()),
            Values::Binary(v) => field(out, v.value(row)),
            Values::LargeBinary(v) => field(out, v.value(row)),
            Values::Timestamp { values, scale, .. } => {
                let us = Values::unix_micros(values, *scale, row) - PG_EPOCH_MICROS;
                field(out, &us.to_be_bytes());
            }
            Values::TimestampNanos { values, .. } => {
                let us = values[row] / 1000 - PG_EPOCH_MICROS;
                field(out, &us.to_be_bytes());
            }
            Values::Date(v) => field(out, &(v[row].wrapping_sub(PG_EPOCH_DAYS)).to_be_bytes()),
        }
    }
}

#[inline]
fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    // Arrow values are at most 2 GiB; PostgreSQL refuses fields over 1 GiB itself.
    out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Date32Array, Int32Array, RecordBatch, StringArray, TimestampSecondArray};

    use super::super::columns::columns;
    use super::*;

    #[test]
    fn rows_are_big_endian_fields_with_lengths() {
        let batch = RecordBatch::try_from_iter([
            ("n", Arc::new(Int32Array::from(vec![Some(1), None])) as _),
            ("s", Arc::new(StringArray::from(vec!["ab", "c"])) as _),
            (
                "ts",
                Arc::new(TimestampSecondArray::from(vec![946_684_801, 0])) as _,
            ),
            ("d", Arc::new(Date32Array::from(vec![10_958, 0])) as _),
        ])
        .unwrap();
        let columns = columns(&batch).unwrap();
        let mut out = Vec::new();
        encode_row(&mut out, 7, &columns, 0);
        let expected: Vec<u8> = [
            &5_i16.to_be_bytes()[..],
            &8_i32.to_be_bytes(),
            &7_i64.to_be_bytes(),
            &4_i32.to_be_bytes(),
            &1_i32.to_be_bytes(),
            &2_i32.to_be_bytes(),
            b"ab",
            &8_i32.to_be_bytes(),
            // One second after PostgreSQL's epoch.
            &1_000_000_i64.to_be_bytes(),
            &4_i32.to_be_bytes(),
            &1_i32.to_be_bytes(),
        ]
        .concat();
        assert_eq!(out, expected);
        out.clear();
        encode_row(&mut out, 8, &columns, 1);
        assert_eq!(
            &out[14..18],
            &(-1_i32).to_be_bytes(),
            "a NULL has length -1"
        );
        assert_eq!(HEADER.len(), 19);
    }
}
