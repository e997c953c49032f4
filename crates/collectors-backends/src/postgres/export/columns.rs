//! How each PostgreSQL column type becomes an Arrow column: the SQL that reads it and the
//! Arrow type it lands in.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use collectors_core::{Error, Result};

use super::format::ExportFormat;
use super::sql::quote_ident;

/// How one column is read and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    Boolean,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// Text, and every type without an Arrow counterpart here (numeric, json, uuid,
    /// interval, arrays, enums …), read through its text form: exact, never a guess.
    Text,
    Binary,
    /// `timestamptz`, read as microseconds since the epoch, in UTC.
    TimestampUtc,
    /// `timestamp` (no time zone), as microseconds.
    Timestamp,
    /// `date`, as days since the epoch.
    Date,
}

/// One column of a result: its name, the server's type and how it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExportColumn {
    pub(crate) name: String,
    /// The server's type name (`INT8`, `TIMESTAMPTZ`, `NUMERIC` …), for metadata.
    pub(crate) type_name: String,
    pub(crate) kind: ColumnKind,
}

// Type OIDs of pg_catalog (fixed across versions).
const BOOL: u32 = 16;
const BYTEA: u32 = 17;
const INT8: u32 = 20;
const INT2: u32 = 21;
const INT4: u32 = 23;
const FLOAT4: u32 = 700;
const FLOAT8: u32 = 701;
const DATE: u32 = 1082;
const TIMESTAMP: u32 = 1114;
const TIMESTAMPTZ: u32 = 1184;

impl ExportColumn {
    /// The column `name` of type `oid` (`type_name` as the server names it), read for
    /// `format` (CSV has no binary column: bytes are read as PostgreSQL's hex text).
    pub(crate) fn new(name: &str, oid: Option<u32>, type_name: &str, format: ExportFormat) -> Self {
        let kind = match oid {
            Some(BOOL) => ColumnKind::Boolean,
            Some(INT2) => ColumnKind::Int16,
            Some(INT4) => ColumnKind::Int32,
            Some(INT8) => ColumnKind::Int64,
            Some(FLOAT4) => ColumnKind::Float32,
            Some(FLOAT8) => ColumnKind::Float64,
            Some(BYTEA) if format == ExportFormat::Parquet => ColumnKind::Binary,
            Some(TIMESTAMPTZ) => ColumnKind::TimestampUtc,
            Some(TIMESTAMP) => ColumnKind::Timestamp,
            Some(DATE) => ColumnKind::Date,
            _ => ColumnKind::Text,
        };
        Self {
            name: name.to_owned(),
            type_name: type_name.to_owned(),
            kind,
        }
    }

    /// The select-list expression reading this column of the subquery `q`, of the type
    /// [`decode`](super::batches) expects.
    pub(crate) fn select_expr(&self) -> String {
        let column = format!("q.{}", quote_ident(&self.name));
        match self.kind {
            ColumnKind::Boolean
            | ColumnKind::Int16
            | ColumnKind::Int32
            | ColumnKind::Int64
            | ColumnKind::Float32
            | ColumnKind::Float64
            | ColumnKind::Binary => column,
            ColumnKind::Text => format!("{column}::TEXT"),
            // EXTRACT gives an exact numeric (PostgreSQL 14 and later).
            ColumnKind::TimestampUtc | ColumnKind::Timestamp => {
                format!("(EXTRACT(EPOCH FROM {column}) * 1000000)::INT8")
            }
            ColumnKind::Date => format!("({column} - DATE '1970-01-01')::INT4"),
        }
    }

    fn data_type(&self) -> DataType {
        match self.kind {
            ColumnKind::Boolean => DataType::Boolean,
            ColumnKind::Int16 => DataType::Int16,
            ColumnKind::Int32 => DataType::Int32,
            ColumnKind::Int64 => DataType::Int64,
            ColumnKind::Float32 => DataType::Float32,
            ColumnKind::Float64 => DataType::Float64,
            ColumnKind::Text => DataType::Utf8,
            ColumnKind::Binary => DataType::Binary,
            ColumnKind::TimestampUtc => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
            }
            ColumnKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            ColumnKind::Date => DataType::Date32,
        }
    }
}

/// The Arrow schema of `columns` (every column nullable: a query's nullability is unknown).
pub(crate) fn arrow_schema(columns: &[ExportColumn]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(&c.name, c.data_type(), true))
            .collect::<Vec<_>>(),
    ))
}

/// Refuses results whose columns cannot be told apart (`SELECT 1 AS x, 2 AS x`) or that
/// have none.
pub(crate) fn check_names(columns: &[ExportColumn], what: &str) -> Result<()> {
    if columns.is_empty() {
        return Err(Error::validation(format!("{what} has no columns")));
    }
    for (i, column) in columns.iter().enumerate() {
        if columns[..i].iter().any(|c| c.name == column.name) {
            return Err(Error::validation(format!(
                "{what} has two columns named {:?}: give them distinct names (AS …)",
                column.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_map_to_arrow_and_the_rest_is_read_as_text() {
        let col = |oid, format| ExportColumn::new("c", Some(oid), "t", format).kind;
        assert_eq!(col(INT8, ExportFormat::Parquet), ColumnKind::Int64);
        assert_eq!(
            col(TIMESTAMPTZ, ExportFormat::Csv),
            ColumnKind::TimestampUtc
        );
        assert_eq!(col(BYTEA, ExportFormat::Parquet), ColumnKind::Binary);
        assert_eq!(col(BYTEA, ExportFormat::Csv), ColumnKind::Text);
        // numeric, uuid, jsonb
        for oid in [1700, 2950, 3802] {
            assert_eq!(col(oid, ExportFormat::Parquet), ColumnKind::Text);
        }
        let quoted = ExportColumn::new("say \"hi\"", Some(25), "TEXT", ExportFormat::Csv);
        assert_eq!(quoted.select_expr(), "q.\"say \"\"hi\"\"\"::TEXT");
    }

    #[test]
    fn duplicate_or_missing_names_are_refused() {
        let c = |n: &str| ExportColumn::new(n, Some(INT4), "INT4", ExportFormat::Csv);
        assert!(check_names(&[c("a"), c("b")], "q").is_ok());
        assert!(check_names(&[c("a"), c("a")], "q").is_err());
        assert!(check_names(&[], "q").is_err());
    }
}
