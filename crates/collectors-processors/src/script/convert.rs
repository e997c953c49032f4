//! Arrow record batches ↔ the Rhai values a script sees: a table is a map of columns
//! (arrays of values, nulls as `()`), its row count and its schema.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch, new_null_array};
use arrow_cast::cast::{CastOptions, can_cast_types, cast, cast_with_options};
use arrow_schema::{DataType, Field, Schema};
use collectors_core::{Error, Result};
use rhai::{Dynamic, Map};

/// What a column's values are in a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    Bool,
    Str,
    /// Given to the script as its text (decimals, binary, nested types).
    Text,
}

impl Kind {
    fn of(data_type: &DataType) -> Kind {
        use DataType::*;
        match data_type {
            Boolean => Kind::Bool,
            Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => Kind::Int,
            Timestamp(..) | Date32 | Date64 | Time32(_) | Time64(_) | Duration(_)
                if can_cast_types(data_type, &Int64) =>
            {
                Kind::Int
            }
            Float16 | Float32 | Float64 => Kind::Float,
            Utf8 | LargeUtf8 | Utf8View => Kind::Str,
            _ => Kind::Text,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Int => "an integer",
            Kind::Float => "a float",
            Kind::Bool => "a bool",
            Kind::Str | Kind::Text => "a string",
        }
    }
}

fn converted(script: &str, column: &str, array: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    cast(array, to).map_err(|e| {
        Error::processing(format!(
            "script `{script}`: column `{column}` cannot be given to the script as {to}"
        ))
        .with_source(e)
    })
}

/// The values of one column, nulls as `()`.
fn column_values(script: &str, column: &str, array: &ArrayRef) -> Result<rhai::Array> {
    let len = array.len();
    let mut out = rhai::Array::with_capacity(len);
    match (array.data_type(), Kind::of(array.data_type())) {
        (DataType::Null, _) => out.resize(len, Dynamic::UNIT),
        (DataType::UInt64, _) => {
            for value in array.as_primitive::<UInt64Type>() {
                out.push(match value {
                    None => Dynamic::UNIT,
                    Some(v) => Dynamic::from_int(i64::try_from(v).map_err(|_| {
                        Error::processing(format!(
                            "script `{script}`: column `{column}` holds {v}, larger than a \
                             script integer (i64)"
                        ))
                    })?),
                });
            }
        }
        (_, Kind::Bool) => out.extend(array.as_boolean().iter().map(|v| match v {
            Some(v) => Dynamic::from_bool(v),
            None => Dynamic::UNIT,
        })),
        (_, Kind::Int) => {
            let ints = converted(script, column, array, &DataType::Int64)?;
            out.extend(ints.as_primitive::<Int64Type>().iter().map(|v| match v {
                Some(v) => Dynamic::from_int(v),
                None => Dynamic::UNIT,
            }));
        }
        (_, Kind::Float) => {
            let floats = converted(script, column, array, &DataType::Float64)?;
            out.extend(
                floats
                    .as_primitive::<Float64Type>()
                    .iter()
                    .map(|v| match v {
                        Some(v) => Dynamic::from_float(v),
                        None => Dynamic::UNIT,
                    }),
            );
        }
        (_, Kind::Str | Kind::Text) => {
            let text = converted(script, column, array, &DataType::Utf8)?;
            out.extend(text.as_string::<i32>().iter().map(|v| match v {
                Some(v) => Dynamic::from(v.to_owned()),
                None => Dynamic::UNIT,
            }));
        }
    }
    Ok(out)
}

/// The table a script receives: `#{columns: #{name: [..]}, num_rows, schema: [#{name, type}]}`.
pub(crate) fn table_to_map(script: &str, batch: &RecordBatch) -> Result<Map> {
    let mut columns = Map::new();
    let mut schema = rhai::Array::with_capacity(batch.num_columns());
    for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
        columns.insert(
            field.name().as_str().into(),
            column_values(script, field.name(), array)?.into(),
        );
        let mut entry = Map::new();
        entry.insert("name".into(), field.name().clone().into());
        entry.insert("type".into(), field.data_type().to_string().into());
        schema.push(entry.into());
    }
    let mut table = Map::new();
    table.insert("columns".into(), columns.into());
    table.insert(
        "num_rows".into(),
        Dynamic::from_int(i64::try_from(batch.num_rows()).unwrap_or(i64::MAX)),
    );
    table.insert("schema".into(), schema.into());
    Ok(table)
}

/// The kind of a column's values: ints and floats together are floats, `()` is null.
fn infer(script: &str, column: &str, values: &[Dynamic]) -> Result<Option<Kind>> {
    let mut kind: Option<(Kind, usize)> = None;
    for (row, value) in values.iter().enumerate() {
        let this = if value.is_unit() {
            continue;
        } else if value.is_int() {
            Kind::Int
        } else if value.is_float() {
            Kind::Float
        } else if value.is_bool() {
            Kind::Bool
        } else if value.is_string() || value.is_char() {
            Kind::Str
        } else {
            return Err(Error::processing(format!(
                "script `{script}`: column `{column}` row {row} is a {}, not a table value \
                 (an integer, a float, a bool, a string or ())",
                value.type_name()
            )));
        };
        kind = match kind {
            None => Some((this, row)),
            Some((seen, first)) if seen == this => Some((seen, first)),
            Some((Kind::Int, first)) if this == Kind::Float => Some((Kind::Float, first)),
            Some((Kind::Float, first)) if this == Kind::Int => Some((Kind::Float, first)),
            Some((seen, first)) => {
                return Err(Error::processing(format!(
                    "script `{script}`: column `{column}` mixes types: {} at row {first}, \
                     {} at row {row}",
                    seen.name(),
                    this.name()
                )));
            }
        };
    }
    Ok(kind.map(|(kind, _)| kind))
}

/// One column built with an Arrow builder of the inferred kind.
fn build(kind: Kind, values: &[Dynamic]) -> ArrayRef {
    match kind {
        Kind::Int => {
            let mut b = Int64Builder::with_capacity(values.len());
            values.iter().for_each(|v| b.append_option(v.as_int().ok()));
            Arc::new(b.finish())
        }
        Kind::Float => {
            let mut b = Float64Builder::with_capacity(values.len());
            values.iter().for_each(|v| {
                b.append_option(
                    v.as_float()
                        .ok()
                        .or_else(|| v.as_int().ok().map(|i| i as f64)),
                )
            });
            Arc::new(b.finish())
        }
        Kind::Bool => {
            let mut b = BooleanBuilder::with_capacity(values.len());
            values
                .iter()
                .for_each(|v| b.append_option(v.as_bool().ok()));
            Arc::new(b.finish())
        }
        Kind::Str | Kind::Text => {
            let mut b = StringBuilder::with_capacity(values.len(), values.len() * 8);
            for v in values {
                if v.is_unit() {
                    b.append_null();
                } else if let Ok(c) = v.as_char() {
                    b.append_value(c.to_string());
                } else if let Ok(text) = v.as_immutable_string_ref() {
                    b.append_value(text.as_str());
                } else {
                    b.append_null();
                }
            }
            Arc::new(b.finish())
        }
    }
}

/// A table a script returned (`#{columns: #{name: [..]}}`; `num_rows` and `schema` of a
/// table passed back are ignored) as a record batch. Columns keep the input's order, new
/// ones follow by name; a column named as an input column whose values are of the kind
/// the input was given as keeps the input's Arrow type.
pub(crate) fn map_to_table(script: &str, table: Map, input: &RecordBatch) -> Result<RecordBatch> {
    let invalid = |message: String| Error::processing(format!("script `{script}`: {message}"));
    let mut columns = None;
    for (key, value) in table {
        match key.as_str() {
            "columns" => {
                let type_name = value.type_name();
                columns = Some(value.try_cast::<Map>().ok_or_else(|| {
                    invalid(format!("`table.columns` is a {type_name}, not a map"))
                })?);
            }
            "num_rows" | "schema" => {}
            other => {
                return Err(invalid(format!(
                    "`table.{other}` is not part of a table (`columns`)"
                )));
            }
        }
    }
    let mut columns = columns.ok_or_else(|| invalid("`table` has no `columns`".into()))?;
    if columns.is_empty() {
        return Err(invalid("`table.columns` is empty".into()));
    }
    let input_schema = input.schema();
    let mut order: Vec<String> = input_schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|name| columns.contains_key(name.as_str()))
        .collect();
    order.extend(
        columns
            .keys()
            .map(|k| k.to_string())
            .filter(|k| input_schema.column_with_name(k).is_none()),
    );
    let mut fields = Vec::with_capacity(order.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(order.len());
    let mut rows: Option<(usize, String)> = None;
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    for name in order {
        let value = columns.remove(name.as_str()).unwrap_or_default();
        let type_name = value.type_name();
        let values = value.try_cast::<rhai::Array>().ok_or_else(|| {
            invalid(format!(
                "`table.columns.{name}` is a {type_name}, not an array"
            ))
        })?;
        match &rows {
            Some((len, first)) if *len != values.len() => {
                return Err(invalid(format!(
                    "column `{name}` has {} values, column `{first}` {len}",
                    values.len()
                )));
            }
            Some(_) => {}
            None => rows = Some((values.len(), name.clone())),
        }
        let original = input_schema
            .column_with_name(&name)
            .map(|(_, f)| f.data_type().clone());
        let array = match (infer(script, &name, &values)?, &original) {
            (None, Some(data_type)) => new_null_array(data_type, values.len()),
            (None, None) => new_null_array(&DataType::Utf8, values.len()),
            (Some(kind), original) => {
                let built = build(kind, &values);
                match original {
                    Some(to)
                        if Kind::of(to) == kind
                            && to != built.data_type()
                            && can_cast_types(built.data_type(), to) =>
                    {
                        cast_with_options(&built, to, &strict).unwrap_or(built)
                    }
                    _ => built,
                }
            }
        };
        fields.push(Field::new(&name, array.data_type().clone(), true));
        arrays.push(array);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| {
        Error::processing(format!("script `{script}`: cannot build its table")).with_source(e)
    })
}

/// A script value as JSON: maps are objects, arrays arrays, `()` null; NaN and infinities
/// become null (JSON has no such numbers).
pub(crate) fn to_json(script: &str, value: &Dynamic) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| {
        Error::processing(format!(
            "script `{script}`: its result cannot be written as JSON ({})",
            value.type_name()
        ))
        .with_source(e)
    })
}
