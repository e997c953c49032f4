//! Arrow schemas as PostgreSQL tables: the column types, the `CREATE TABLE`, identifiers.

use std::collections::HashSet;

use arrow_schema::{DataType, Schema, TimeUnit};
use collectors_core::{Error, Result};

/// The row id of a data table: the record's id in `_collectors_records` times 2^32, plus
/// the row's 0-based index in its record (as the SQLite store). A record's rows are one
/// range of the primary key: replaced and read back by one range condition, and no text
/// key is stored or compared per row.
pub(crate) const ID_COLUMN: &str = "_id";
/// Bits of `_id` that hold the row index.
pub(crate) const ROW_BITS: u32 = 32;
/// PostgreSQL's longest identifier, in bytes (`NAMEDATALEN - 1`): longer ones are silently
/// cut, so two long column names could become one.
pub(crate) const MAX_IDENT_LEN: usize = 63;

/// The PostgreSQL type of an Arrow type, `None` when unsupported.
///
/// `Int8`, `Int16` and `UInt8` are `SMALLINT`; `Int32` and `UInt16` `INTEGER`; `Int64`,
/// `UInt32` and `UInt64` `BIGINT` (a `UInt64` above `i64::MAX` is refused); floats `REAL`
/// and `DOUBLE PRECISION`; `Boolean` `BOOLEAN`; `Utf8`/`LargeUtf8` `TEXT`;
/// `Binary`/`LargeBinary` `BYTEA`; `Timestamp` without a time zone `TIMESTAMP`, with one
/// `TIMESTAMPTZ`; `Date32` `DATE`.
pub(crate) fn sql_type(data_type: &DataType) -> Option<&'static str> {
    Some(match data_type {
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => "SMALLINT",
        DataType::Int32 | DataType::UInt16 => "INTEGER",
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => "BIGINT",
        DataType::Float32 => "REAL",
        DataType::Float64 => "DOUBLE PRECISION",
        DataType::Boolean => "BOOLEAN",
        DataType::Utf8 | DataType::LargeUtf8 => "TEXT",
        DataType::Binary | DataType::LargeBinary => "BYTEA",
        DataType::Timestamp(_, None) => "TIMESTAMP",
        DataType::Timestamp(_, Some(_)) => "TIMESTAMPTZ",
        DataType::Date32 => "DATE",
        _ => return None,
    })
}

/// Microseconds per unit of a timestamp column (`None` for nanoseconds, which PostgreSQL
/// cannot hold: a value must be a whole number of microseconds).
pub(crate) fn micros_per(unit: TimeUnit) -> Option<i64> {
    match unit {
        TimeUnit::Second => Some(1_000_000),
        TimeUnit::Millisecond => Some(1_000),
        TimeUnit::Microsecond => Some(1),
        TimeUnit::Nanosecond => None,
    }
}

/// Checks that a batch schema can be a data table: supported types, column names that
/// PostgreSQL keeps as given (not empty, no NUL, at most 63 bytes), unique, not `_id`.
pub(crate) fn check_schema(schema: &Schema) -> Result<()> {
    let mut seen = HashSet::new();
    for field in schema.fields() {
        let name = field.name();
        if name.is_empty() {
            return Err(Error::validation("a column name must not be empty"));
        }
        if name.contains('\0') {
            return Err(Error::validation(format!(
                "column {name:?} contains a NUL character, which PostgreSQL names cannot hold"
            )));
        }
        if name.len() > MAX_IDENT_LEN {
            return Err(Error::validation(format!(
                "column {:?}… is {} bytes long; PostgreSQL keeps at most {MAX_IDENT_LEN}",
                name.chars().take(32).collect::<String>(),
                name.len()
            )));
        }
        if name == ID_COLUMN {
            return Err(Error::validation(format!(
                "column {name:?} is reserved (the row id is `{ID_COLUMN}`)"
            )));
        }
        if !seen.insert(name.as_str()) {
            return Err(Error::validation(format!("column {name:?} appears twice")));
        }
        if sql_type(field.data_type()).is_none() {
            return Err(Error::validation(format!(
                "column {name:?} has type {} which PostgreSQL storage does not support \
                 (supported: integers, floats, booleans, Utf8, LargeUtf8, Binary, LargeBinary, \
                 Timestamp, Date32)",
                field.data_type()
            )));
        }
    }
    Ok(())
}

pub(crate) use crate::sql_table::{quote_ident, same_fields};

/// The `CREATE TABLE` of data table `table` for `schema` (no `IF NOT EXISTS`: a table of
/// that name this store did not create is an error, not silently reused).
pub(crate) fn create_table_sql(table: &str, schema: &Schema) -> String {
    crate::sql_table::create_table_sql(table, schema, (ID_COLUMN, "BIGINT"), |t| {
        sql_type(t).unwrap_or("BYTEA")
    })
}

/// The quoted column list of a data table: `_id` first, then the fields.
pub(crate) fn column_list(schema: &Schema) -> String {
    let mut list = String::from(ID_COLUMN);
    for field in schema.fields() {
        list.push_str(", ");
        list.push_str(&quote_ident(field.name()));
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql_table::check_table_name;
    use arrow_schema::Field;

    #[test]
    fn create_table_maps_types_and_quotes_names() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("x\"; DROP TABLE t; --", DataType::Utf8, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into())),
                true,
            ),
            Field::new("d", DataType::Date32, true),
            Field::new("b", DataType::Binary, true),
        ]);
        check_schema(&schema).unwrap();
        assert_eq!(
            create_table_sql("readings", &schema),
            "CREATE TABLE \"readings\" (_id BIGINT PRIMARY KEY, \
             \"id\" BIGINT NOT NULL, \"x\"\"; DROP TABLE t; --\" TEXT, \"ts\" TIMESTAMP, \
             \"at\" TIMESTAMPTZ, \"d\" DATE, \"b\" BYTEA)"
        );
    }

    #[test]
    fn unsupported_types_and_bad_names_are_refused() {
        for schema in [
            Schema::new(vec![Field::new("d", DataType::Decimal128(10, 2), true)]),
            Schema::new(vec![Field::new("l", DataType::Utf8View, true)]),
            Schema::new(vec![Field::new("_id", DataType::Int64, true)]),
            Schema::new(vec![Field::new("", DataType::Int64, true)]),
            Schema::new(vec![Field::new("a\0b", DataType::Int64, true)]),
            Schema::new(vec![Field::new("c".repeat(64), DataType::Int64, true)]),
            Schema::new(vec![
                Field::new("a", DataType::Int64, true),
                Field::new("a", DataType::Utf8, true),
            ]),
        ] {
            let err = check_schema(&schema).unwrap_err();
            assert_eq!(err.error_type(), collectors_core::ErrorType::Validation);
        }
        // Case matters to quoted PostgreSQL names: these are two columns.
        check_schema(&Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("A", DataType::Int64, true),
        ]))
        .unwrap();
    }

    #[test]
    fn table_names_are_plain_identifiers() {
        check_table_name("readings_2024", MAX_IDENT_LEN, "pg_").unwrap();
        for bad in [
            "",
            "1x",
            "a-b",
            "a b",
            "x\"; DROP TABLE t; --",
            "_collectors_records",
            "pg_class",
            &"t".repeat(MAX_IDENT_LEN + 1),
        ] {
            let err = check_table_name(bad, MAX_IDENT_LEN, "pg_").unwrap_err();
            assert_eq!(
                err.error_type(),
                collectors_core::ErrorType::Configuration,
                "{bad:?}"
            );
        }
    }
}
