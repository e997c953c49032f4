//! Arrow schemas as SQLite tables: the column types, the `CREATE TABLE`, the stored schema.

use std::collections::HashSet;

use arrow_schema::{DataType, Schema};
use collectors_core::{Error, Result};

/// The row id of a data table: the record's id in `_collectors_records` times 2^32, plus
/// the row's 0-based index in its record. A record's rows are one contiguous range of the
/// table's own b-tree: appended in order, replaced by one range delete, and no text key is
/// compared or stored per row.
pub(crate) const ID_COLUMN: &str = "_id";
/// Names kept from the earlier layout (a text key and a row number per row), refused as
/// column names so that `SELECT _key, _row` can never silently mean a user column.
const RESERVED: [&str; 3] = [ID_COLUMN, "_key", "_row"];
/// Bits of `_id` that hold the row index.
pub(crate) const ROW_BITS: u32 = 32;

/// The first `_id` of record `id`'s rows, and the last.
pub(crate) fn id_range(id: i64) -> (i64, i64) {
    let first = id << ROW_BITS;
    (first, first | ((1_i64 << ROW_BITS) - 1))
}

/// The SQLite type of an Arrow type, `None` when unsupported.
///
/// Integers and booleans are `INTEGER`, floats `REAL`, strings `TEXT`; timestamps are `TEXT`
/// in RFC 3339 (`2026-03-01T10:00:00.123Z`, as many fraction digits as the unit has, `Z` when
/// the type has a time zone) so they sort and work with SQLite's date functions; dates are
/// `TEXT` `YYYY-MM-DD`.
pub(crate) fn sql_type(data_type: &DataType) -> Option<&'static str> {
    match data_type {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Boolean => Some("INTEGER"),
        DataType::Float32 | DataType::Float64 => Some("REAL"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Timestamp(_, _) | DataType::Date32 => {
            Some("TEXT")
        }
        _ => None,
    }
}

/// Checks that a batch schema can be a data table: supported types, unique non-reserved
/// column names (SQLite compares column names without case).
pub(crate) fn check_schema(schema: &Schema) -> Result<()> {
    let mut seen = HashSet::new();
    for field in schema.fields() {
        let name = field.name();
        if name.is_empty() {
            return Err(Error::validation("a column name must not be empty"));
        }
        let folded = name.to_lowercase();
        if RESERVED.contains(&folded.as_str()) {
            return Err(Error::validation(format!(
                "column {name:?} is reserved (the row id is `{ID_COLUMN}`)"
            )));
        }
        if !seen.insert(folded) {
            return Err(Error::validation(format!(
                "column {name:?} appears twice (SQLite column names ignore case)"
            )));
        }
        if sql_type(field.data_type()).is_none() {
            return Err(Error::validation(format!(
                "column {name:?} has type {} which SQLite storage does not support \
                 (supported: integers, floats, booleans, Utf8, LargeUtf8, Timestamp, Date32)",
                field.data_type()
            )));
        }
    }
    Ok(())
}

pub(crate) use crate::sql_table::{quote_ident, same_fields};

/// The `CREATE TABLE` of a data table for `schema`.
pub(crate) fn create_table_sql(table: &str, schema: &Schema) -> String {
    crate::sql_table::create_table_sql(table, schema, (ID_COLUMN, "INTEGER"), |t| {
        sql_type(t).unwrap_or("BLOB")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql_table::{check_table_name, schema_from_json, schema_to_json};
    use crate::sqlite::builder::MAX_TABLE_NAME_LEN;
    use arrow_schema::{Field, TimeUnit};

    #[test]
    fn create_table_maps_types_and_quotes_names() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("say \"hi\"", DataType::Utf8, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        ]);
        check_schema(&schema).unwrap();
        assert_eq!(
            create_table_sql("readings", &schema),
            "CREATE TABLE \"readings\" (_id INTEGER PRIMARY KEY, \
             \"id\" INTEGER NOT NULL, \"say \"\"hi\"\"\" TEXT, \"ts\" TEXT)"
        );
    }

    #[test]
    fn unsupported_types_and_reserved_names_are_refused() {
        for schema in [
            Schema::new(vec![Field::new("b", DataType::Binary, true)]),
            Schema::new(vec![Field::new("_KEY", DataType::Int64, true)]),
            Schema::new(vec![
                Field::new("a", DataType::Int64, true),
                Field::new("A", DataType::Int64, true),
            ]),
        ] {
            let err = check_schema(&schema).unwrap_err();
            assert_eq!(err.error_type(), collectors_core::ErrorType::Validation);
        }
    }

    #[test]
    fn table_names_are_plain_identifiers() {
        check_table_name("readings_2024", MAX_TABLE_NAME_LEN, "sqlite_").unwrap();
        for bad in [
            "",
            "1x",
            "a-b",
            "a b",
            "_collectors_records",
            "sqlite_master",
            "x\"",
            &"t".repeat(MAX_TABLE_NAME_LEN + 1),
        ] {
            assert!(
                check_table_name(bad, MAX_TABLE_NAME_LEN, "sqlite_").is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn schemas_round_trip_through_json() {
        let schema = Schema::new(vec![Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Nanosecond, Some("+02:00".into())),
            true,
        )]);
        let json = schema_to_json(&schema).unwrap();
        assert_eq!(schema_from_json("t", &json).unwrap(), schema);
    }
}
