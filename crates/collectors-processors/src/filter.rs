//! [`Filter`]: keeps the rows of a table that satisfy one comparison, with Arrow kernels.

use std::sync::Arc;

use arrow_array::builder::BooleanBufferBuilder;
use arrow_array::cast::AsArray;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, Scalar, StringArray,
};
use arrow_cast::cast::{CastOptions, cast_with_options};
use arrow_ord::cmp;
use arrow_schema::DataType;
use arrow_select::filter::filter_record_batch;
use async_trait::async_trait;
use collectors_core::{Error, Payload, Processor, Result};

use crate::Expression;
use serde::{Deserialize, Serialize};

/// The comparison a [`Filter`] applies to each row's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    /// `column == value` (the default, so that a filter by `expr` can leave `op` out).
    #[default]
    Eq,
    /// `column != value`.
    Ne,
    /// `column < value`.
    Lt,
    /// `column <= value`.
    Le,
    /// `column > value`.
    Gt,
    /// `column >= value`.
    Ge,
    /// The column is null (takes no value).
    IsNull,
    /// The column is not null (takes no value).
    IsNotNull,
}

impl FilterOp {
    /// Whether the operator compares with a value.
    pub fn takes_value(self) -> bool {
        !matches!(self, FilterOp::IsNull | FilterOp::IsNotNull)
    }
}

/// What a [`Filter`] keeps: the rows where `column op value` holds, or, with `expr`, the
/// rows where the [`Expression`] is `true`.
///
/// ```
/// use collectors_processors::{FilterConfig, FilterOp};
///
/// let config: FilterConfig =
///     serde_json::from_str(r#"{"column": "status", "op": "eq", "value": "ok"}"#).unwrap();
/// assert_eq!(config.op, FilterOp::Eq);
/// assert!(serde_json::from_str::<FilterConfig>(r#"{"column": "a", "op": "eq", "valeu": 1}"#).is_err());
/// let by_expr: FilterConfig =
///     serde_json::from_str(r#"{"expr": "status == 'ok' and abs(value) < 50"}"#).unwrap();
/// assert!(by_expr.expr.is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// The column to test (not with `expr`).
    #[serde(default)]
    pub column: String,
    /// The comparison (not with `expr`; default `eq`).
    #[serde(default)]
    pub op: FilterOp,
    /// What to compare with: a number for numeric columns, a string for text columns and for
    /// timestamps and dates (`"2024-05-01T00:00:00Z"`), a boolean for boolean columns.
    /// Required by the comparisons, absent for `is_null` / `is_not_null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// A predicate instead of `column`/`op`/`value`: an [`Expression`] such as
    /// `"status == 'ok' and value > 0"`; rows where it is `false` or null are dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expr: Option<String>,
}

impl FilterConfig {
    /// `column op value`.
    pub fn new(column: impl Into<String>, op: FilterOp, value: Option<serde_json::Value>) -> Self {
        Self {
            column: column.into(),
            op,
            value,
            expr: None,
        }
    }

    /// The rows where `expr` is `true`.
    pub fn expr(expr: impl Into<String>) -> Self {
        Self {
            column: String::new(),
            op: FilterOp::Eq,
            value: None,
            expr: Some(expr.into()),
        }
    }
}

/// Keeps the rows of a [`Payload::Table`] where `column op value` holds; rows where the
/// comparison is null (a null value) are dropped.
///
/// The comparison runs on whole columns with arrow-ord's kernels and the rows are selected
/// with arrow-select's `filter_record_batch`. A column that does not exist, or a value that
/// cannot be compared with the column's type, is an [`Error::Validation`] from both
/// `validate_input` and `process`; so is a payload that is not a table.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Int64Array, RecordBatch};
/// use collectors_core::{Payload, Processor};
/// use collectors_processors::{Filter, FilterConfig, FilterOp};
///
/// let filter = Filter::new(FilterConfig::new("n", FilterOp::Ge, Some(2.into())))?.named("big");
/// let batch = RecordBatch::try_from_iter([(
///     "n",
///     Arc::new(Int64Array::from(vec![Some(1), Some(2), None, Some(3)])) as _,
/// )])
/// .unwrap();
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let out = filter.process(Payload::Table(batch)).await?;
/// assert_eq!(out.num_rows(), Some(2));
/// assert_eq!(filter.name(), "big");
/// # Ok::<(), collectors_core::Error>(())
/// # })?;
/// # Ok::<(), collectors_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Filter {
    config: FilterConfig,
    predicate: Option<Expression>,
    name: String,
}

impl Filter {
    /// A filter named `"filter"`, or a configuration error when the column is empty, the
    /// value is missing for a comparison, given for `is_null` / `is_not_null`, or not a
    /// scalar. Messages start with the key in backticks (`` `value` is required … ``).
    pub fn new(config: FilterConfig) -> Result<Self> {
        if let Some(expr) = &config.expr {
            if !config.column.is_empty() || config.value.is_some() || config.op != FilterOp::Eq {
                return Err(Error::configuration(
                    "`expr`: give either `expr` or `column`/`op`/`value`, not both",
                ));
            }
            let predicate = Expression::parse(expr)?;
            return Ok(Self {
                config,
                predicate: Some(predicate),
                name: "filter".to_owned(),
            });
        }
        if config.column.is_empty() {
            return Err(Error::configuration("`column` must not be empty"));
        }
        let op = serde_json::to_value(config.op)
            .ok()
            .and_then(|op| op.as_str().map(str::to_owned))
            .unwrap_or_default();
        match (&config.value, config.op.takes_value()) {
            (None | Some(serde_json::Value::Null), true) => {
                return Err(Error::configuration(format!(
                    "`value` is required by op `{op}` (use `is_null` to keep null rows)"
                )));
            }
            (Some(_), false) => {
                return Err(Error::configuration(format!(
                    "`value` must not be given with op `{op}`, which takes none"
                )));
            }
            (Some(serde_json::Value::Array(_) | serde_json::Value::Object(_)), true) => {
                return Err(Error::configuration(
                    "`value` must be a number, a string or a boolean",
                ));
            }
            _ => {}
        }
        Ok(Self {
            config,
            predicate: None,
            name: "filter".to_owned(),
        })
    }

    /// The same filter under another name (names must be unique in a pipeline).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The configuration.
    pub fn config(&self) -> &FilterConfig {
        &self.config
    }

    /// The column to test, or a validation error naming the columns there are.
    fn column<'b>(&self, batch: &'b RecordBatch) -> Result<&'b ArrayRef> {
        batch.column_by_name(&self.config.column).ok_or_else(|| {
            let names: Vec<&String> = batch
                .schema_ref()
                .fields()
                .iter()
                .map(|f| f.name())
                .collect();
            self.invalid(format!(
                "no column {:?} (columns: {names:?})",
                self.config.column
            ))
        })
    }

    fn invalid(&self, message: String) -> Error {
        Error::validation(message).with_component(self.name.clone())
    }

    /// The column and the value as arrays of one comparable type.
    fn operands(&self, column: &ArrayRef) -> Result<(ArrayRef, ArrayRef)> {
        let value = self
            .config
            .value
            .as_ref()
            .unwrap_or(&serde_json::Value::Null);
        let data_type = column.data_type();
        let incompatible = || {
            self.invalid(format!(
                "cannot compare column {:?} of type {data_type} with {value}",
                self.config.column
            ))
        };
        let strict = CastOptions {
            safe: false,
            ..Default::default()
        };
        match value {
            serde_json::Value::Number(number) if data_type.is_integer() => {
                if let Some(int) = number.as_i64() {
                    let scalar: ArrayRef = Arc::new(Int64Array::from(vec![int]));
                    // Compare in the column's own type when the value fits it.
                    if let Ok(scalar) = cast_with_options(&scalar, data_type, &strict) {
                        return Ok((column.clone(), scalar));
                    }
                }
                let as_float = number.as_f64().ok_or_else(incompatible)?;
                let column = cast_with_options(column, &DataType::Float64, &strict)
                    .map_err(|e| incompatible().with_source(e))?;
                Ok((column, Arc::new(Float64Array::from(vec![as_float]))))
            }
            serde_json::Value::Number(number)
                if data_type.is_floating() || data_type.is_numeric() =>
            {
                let as_float = number.as_f64().ok_or_else(incompatible)?;
                let scalar: ArrayRef = Arc::new(Float64Array::from(vec![as_float]));
                if data_type.is_floating() {
                    let scalar = cast_with_options(&scalar, data_type, &strict)
                        .map_err(|e| incompatible().with_source(e))?;
                    return Ok((column.clone(), scalar));
                }
                // Decimals: compare as floats.
                let column = cast_with_options(column, &DataType::Float64, &strict)
                    .map_err(|e| incompatible().with_source(e))?;
                Ok((column, scalar))
            }
            serde_json::Value::String(text) => {
                let scalar: ArrayRef = Arc::new(StringArray::from(vec![text.as_str()]));
                match data_type {
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                        let scalar = cast_with_options(&scalar, data_type, &strict)
                            .map_err(|e| incompatible().with_source(e))?;
                        Ok((column.clone(), scalar))
                    }
                    DataType::Dictionary(_, values)
                        if matches!(
                            values.as_ref(),
                            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                        ) =>
                    {
                        let column = cast_with_options(column, &DataType::Utf8, &strict)
                            .map_err(|e| incompatible().with_source(e))?;
                        Ok((column, scalar))
                    }
                    DataType::Timestamp(..)
                    | DataType::Date32
                    | DataType::Date64
                    | DataType::Time32(_)
                    | DataType::Time64(_) => {
                        let scalar = cast_with_options(&scalar, data_type, &strict)
                            .map_err(|e| incompatible().with_source(e))?;
                        Ok((column.clone(), scalar))
                    }
                    _ => Err(incompatible()),
                }
            }
            serde_json::Value::Bool(flag) if *data_type == DataType::Boolean => Ok((
                column.clone(),
                Arc::new(BooleanArray::from(vec![*flag])) as ArrayRef,
            )),
            _ => Err(incompatible()),
        }
    }

    /// The rows to keep: true, false or null (dropped).
    fn predicate(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        if let Some(predicate) = &self.predicate {
            let keep = predicate
                .evaluate(batch)
                .map_err(|e| e.with_component(self.name.clone()))?;
            return match keep.data_type() {
                DataType::Boolean => Ok(keep.as_boolean().clone()),
                DataType::Null => Ok(BooleanArray::new_null(keep.len())),
                other => {
                    Err(self.invalid(format!("`expr` {predicate} gives {other}, not a boolean")))
                }
            };
        }
        let column = self.column(batch)?;
        let compare = match self.config.op {
            FilterOp::IsNull => return Ok(null_mask(column.as_ref(), true)),
            FilterOp::IsNotNull => return Ok(null_mask(column.as_ref(), false)),
            FilterOp::Eq => cmp::eq,
            FilterOp::Ne => cmp::neq,
            FilterOp::Lt => cmp::lt,
            FilterOp::Le => cmp::lt_eq,
            FilterOp::Gt => cmp::gt,
            FilterOp::Ge => cmp::gt_eq,
        };
        let (column, value) = self.operands(column)?;
        compare(&column, &Scalar::new(value)).map_err(|e| {
            self.invalid(format!("cannot compare column {:?}", self.config.column))
                .with_source(e)
        })
    }
}

/// `true` where `array` is null (`want_null`) or not null (`!want_null`).
fn null_mask(array: &dyn Array, want_null: bool) -> BooleanArray {
    let nulls = array.logical_nulls();
    let mut mask = BooleanBufferBuilder::new(array.len());
    for row in 0..array.len() {
        let is_null = nulls.as_ref().is_some_and(|n| n.is_null(row));
        mask.append(is_null == want_null);
    }
    BooleanArray::new(mask.finish(), None)
}

#[async_trait]
impl Processor for Filter {
    fn name(&self) -> &str {
        &self.name
    }

    fn validate_input(&self, input: &Payload) -> Result<()> {
        let batch = input
            .as_table()
            .map_err(|e| e.with_component(self.name.clone()))?;
        if self.predicate.is_some() {
            // Type errors show on an empty slice of the batch, without computing anything.
            return self.predicate(&batch.slice(0, 0)).map(|_| ());
        }
        let column = self.column(batch)?;
        if self.config.op.takes_value() {
            self.operands(&column.slice(0, 0))?;
        }
        Ok(())
    }

    async fn process(&self, input: Payload) -> Result<Payload> {
        let batch = input
            .as_table()
            .map_err(|e| e.with_component(self.name.clone()))?;
        let keep = self.predicate(batch)?;
        let kept = filter_record_batch(batch, &keep).map_err(|e| {
            Error::processing("cannot select the rows")
                .with_component(self.name.clone())
                .with_source(e)
        })?;
        tracing::trace!(
            filter = %self.name,
            rows_in = batch.num_rows(),
            rows_out = kept.num_rows(),
            "filtered"
        );
        Ok(Payload::Table(kept))
    }
}
