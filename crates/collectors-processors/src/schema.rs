//! [`ColumnSpec`] and [`ColumnType`]: an explicit schema for the line decoders.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use collectors_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// The time zone of [`ColumnType::Timestamp`] columns: UTC, written as an offset so that it
/// needs no time zone database.
pub const UTC_OFFSET: &str = "+00:00";

/// The type of a column in an explicit schema.
///
/// ```
/// use collectors_processors::ColumnType;
///
/// let t: ColumnType = serde_json::from_str("\"timestamp\"").unwrap();
/// assert_eq!(t, ColumnType::Timestamp);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Text: Arrow `Utf8`.
    Utf8,
    /// A 64-bit signed integer: Arrow `Int64`.
    Int64,
    /// A 64-bit float: Arrow `Float64`.
    Float64,
    /// `true` / `false`: Arrow `Boolean`.
    Boolean,
    /// A point in time, microseconds since the epoch in UTC: Arrow
    /// `Timestamp(Microsecond, "+00:00")`. Parsed from RFC 3339 (`2024-05-01T12:00:00Z`,
    /// `2024-05-01T14:00:00+02:00`) or `YYYY-MM-DD HH:MM:SS[.ffffff]` (taken as UTC).
    Timestamp,
}

impl ColumnType {
    /// The Arrow data type of this column type.
    pub fn data_type(self) -> DataType {
        match self {
            ColumnType::Utf8 => DataType::Utf8,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Timestamp => {
                DataType::Timestamp(TimeUnit::Microsecond, Some(UTC_OFFSET.into()))
            }
        }
    }
}

/// One column of an explicit schema: its name and type.
///
/// ```
/// use collectors_processors::{ColumnSpec, ColumnType};
///
/// let spec: ColumnSpec = serde_json::from_str(r#"{"name": "value", "type": "float64"}"#).unwrap();
/// assert_eq!(spec, ColumnSpec::new("value", ColumnType::Float64));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// The column's name (in CSV, the header's name for it).
    pub name: String,
    /// The column's type.
    #[serde(rename = "type")]
    pub data_type: ColumnType,
}

impl ColumnSpec {
    /// A column named `name` of type `data_type`.
    pub fn new(name: impl Into<String>, data_type: ColumnType) -> Self {
        Self {
            name: name.into(),
            data_type,
        }
    }
}

/// The Arrow schema of `columns` (every column nullable), or a configuration error when the
/// list is empty, a name is empty or a name repeats.
pub(crate) fn arrow_schema(columns: &[ColumnSpec]) -> Result<SchemaRef> {
    if columns.is_empty() {
        return Err(Error::configuration("the schema has no column"));
    }
    let mut seen = HashSet::with_capacity(columns.len());
    for column in columns {
        if column.name.is_empty() {
            return Err(Error::configuration("a schema column has an empty name"));
        }
        if !seen.insert(column.name.as_str()) {
            return Err(Error::configuration(format!(
                "the schema names column {:?} twice",
                column.name
            )));
        }
    }
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| Field::new(&c.name, c.data_type.data_type(), true))
        .collect();
    Ok(Arc::new(Schema::new(fields)))
}

/// A column of an inferred schema: nullable, and text where inference saw only nulls (a
/// column empty in every sampled line may hold text later).
pub(crate) fn inferred_field(name: impl Into<String>, data_type: &DataType) -> Field {
    let data_type = match data_type {
        DataType::Null => DataType::Utf8,
        other => other.clone(),
    };
    Field::new(name, data_type, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_map_to_nullable_arrow_fields() {
        let schema = arrow_schema(&[
            ColumnSpec::new("ts", ColumnType::Timestamp),
            ColumnSpec::new("n", ColumnType::Int64),
        ])
        .unwrap();
        assert_eq!(
            schema.field(0).data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
        );
        assert!(schema.fields().iter().all(|f| f.is_nullable()));
    }

    #[test]
    fn bad_schemas_are_configuration_errors() {
        for columns in [
            vec![],
            vec![ColumnSpec::new("", ColumnType::Utf8)],
            vec![
                ColumnSpec::new("a", ColumnType::Utf8),
                ColumnSpec::new("a", ColumnType::Int64),
            ],
        ] {
            let err = arrow_schema(&columns).unwrap_err();
            assert_eq!(
                err.error_type(),
                collectors_core::ErrorType::Configuration,
                "{columns:?}"
            );
        }
    }

    #[test]
    fn unknown_spec_fields_are_rejected() {
        let err = serde_json::from_str::<ColumnSpec>(r#"{"name":"a","type":"utf8","x":1}"#);
        assert!(err.is_err());
        let err = serde_json::from_str::<ColumnSpec>(r#"{"name":"a","type":"decimal"}"#);
        assert!(err.is_err());
    }
}
