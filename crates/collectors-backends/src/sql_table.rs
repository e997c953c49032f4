//! What the SQL stores (SQLite, PostgreSQL) share about their tables: the records table's
//! name, table names users choose, the Arrow schema kept in `_collectors_tables`, and where a
//! stored record is.

use arrow_schema::{DataType, Schema};
use collectors_core::{Error, Result, StorageLocation};

/// The table of record keys, kinds, metadata and non-table payloads.
pub(crate) const RECORDS_TABLE: &str = "_collectors_records";

/// Checks a data table name: a plain identifier (letters, digits, `_`, not starting with a
/// digit), at most `max_len` bytes, not `_collectors*` nor the database's own prefix
/// (`reserved`: `sqlite_`, `pg_`).
pub(crate) fn check_table_name(name: &str, max_len: usize, reserved: &str) -> Result<()> {
    if name.len() > max_len {
        return Err(Error::configuration(format!(
            "table name {}… is {} bytes long; at most {max_len} are allowed",
            name.chars().take(32).collect::<String>(),
            name.len()
        )));
    }
    let mut chars = name.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !plain {
        return Err(Error::configuration(format!(
            "table name {name:?} must be letters, digits and `_`, not starting with a digit"
        )));
    }
    let folded = name.to_ascii_lowercase();
    if folded.starts_with("_collectors") || folded.starts_with(reserved) {
        return Err(Error::configuration(format!(
            "table name {name:?} is reserved (`_collectors*` and `{reserved}*` are internal)"
        )));
    }
    Ok(())
}

/// `"name"`, with embedded quotes doubled: any text is one identifier, never SQL (a name
/// like `x"; DROP TABLE t; --` stays one identifier).
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Whether a batch with schema `batch` fits a table created from `stored`: the same fields
/// (names, types, nullability, field metadata) in the same order. Schema-level metadata is
/// not compared.
pub(crate) fn same_fields(stored: &Schema, batch: &Schema) -> bool {
    stored.fields() == batch.fields()
}

/// The `CREATE TABLE` of data table `table` for `schema`: the row id `id_column` of type
/// `id_type` as primary key, then one column per field of the type `column_type` gives
/// (no `IF NOT EXISTS`: a table of that name the store did not create is an error, not
/// silently reused).
pub(crate) fn create_table_sql(
    table: &str,
    schema: &Schema,
    (id_column, id_type): (&str, &str),
    column_type: impl Fn(&DataType) -> &'static str,
) -> String {
    let mut sql = format!(
        "CREATE TABLE {} ({id_column} {id_type} PRIMARY KEY",
        quote_ident(table)
    );
    for field in schema.fields() {
        sql.push_str(", ");
        sql.push_str(&quote_ident(field.name()));
        sql.push(' ');
        sql.push_str(column_type(field.data_type()));
        if !field.is_nullable() {
            sql.push_str(" NOT NULL");
        }
    }
    sql.push(')');
    sql
}

/// The schema as stored in `_collectors_tables`.
pub(crate) fn schema_to_json(schema: &Schema) -> Result<String> {
    serde_json::to_string(schema).map_err(|e| {
        Error::validation(format!("the Arrow schema cannot be serialized: {e}")).with_source(e)
    })
}

/// A schema read back from `_collectors_tables`.
pub(crate) fn schema_from_json(table: &str, json: &str) -> Result<Schema> {
    serde_json::from_str(json).map_err(|e| {
        Error::invalid_state(format!(
            "the stored Arrow schema of table {table:?} is unreadable: {e}"
        ))
        .with_source(e)
    })
}

/// The location of a stored record of `backend_id`: in the data `table` (with its row
/// count) or in the records table.
pub(crate) fn record_location(
    backend_id: &str,
    table: &str,
    key: &str,
    kind: &str,
    rows: Option<u64>,
) -> StorageLocation {
    let mut location = StorageLocation::new(
        backend_id.to_owned(),
        key,
        match rows {
            Some(_) => format!("{table}/{key}"),
            None => format!("{RECORDS_TABLE}/{key}"),
        },
    );
    location.metadata.insert("kind".into(), kind.into());
    if let Some(rows) = rows {
        location.metadata.insert("table".into(), table.into());
        location.metadata.insert("rows".into(), rows.into());
    }
    location
}
