//! [`ValidateConfig`]: the rules a [`Validate`](crate::Validate) checks rows against.

use collectors_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::ColumnType;

fn yes() -> bool {
    true
}

/// The rules of one column.
///
/// ```
/// use collectors_processors::ColumnRule;
///
/// let rule: ColumnRule = serde_json::from_str(
///     r#"{"name": "status", "type": "utf8", "nullable": false, "allowed": ["ok", "error"]}"#,
/// )
/// .unwrap();
/// assert!(rule.required && !rule.nullable);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ColumnRule {
    /// The column.
    pub name: String,
    /// The type its values must have. A column of another type is read as this one (text
    /// `"1.5"` as a `float64`); a value that cannot be read is invalid, and the valid rows go
    /// on with the column in this type.
    #[serde(default, rename = "type")]
    pub column_type: Option<ColumnType>,
    /// The column must be in the table (default `true`): without it, every row is invalid.
    #[serde(default = "yes")]
    pub required: bool,
    /// A null is valid (default `true`).
    #[serde(default = "yes")]
    pub nullable: bool,
    /// The smallest valid value (numeric columns; NaN is below no minimum).
    #[serde(default)]
    pub min: Option<f64>,
    /// The largest valid value (numeric columns; NaN is above every maximum).
    #[serde(default)]
    pub max: Option<f64>,
    /// The only valid values: numbers for numeric columns, else compared as text.
    #[serde(default)]
    pub allowed: Option<Vec<serde_json::Value>>,
    /// A regular expression (Rust `regex` syntax) the value's text must match somewhere;
    /// anchor it with `^…$` to match the whole value.
    #[serde(default)]
    pub pattern: Option<String>,
}

impl ColumnRule {
    /// A rule on `name` that every value passes: add checks with the `with_*` methods.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            column_type: None,
            required: true,
            nullable: true,
            min: None,
            max: None,
            allowed: None,
            pattern: None,
        }
    }

    /// Sets [`column_type`](Self::column_type).
    #[must_use]
    pub fn with_type(mut self, column_type: ColumnType) -> Self {
        self.column_type = Some(column_type);
        self
    }

    /// Sets [`nullable`](Self::nullable).
    #[must_use]
    pub fn with_nullable(mut self, nullable: bool) -> Self {
        self.nullable = nullable;
        self
    }

    /// Sets [`required`](Self::required).
    #[must_use]
    pub fn with_required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// Sets [`min`](Self::min) and [`max`](Self::max).
    #[must_use]
    pub fn with_range(mut self, min: Option<f64>, max: Option<f64>) -> Self {
        self.min = min;
        self.max = max;
        self
    }

    /// Sets [`allowed`](Self::allowed).
    #[must_use]
    pub fn with_allowed(mut self, allowed: Vec<serde_json::Value>) -> Self {
        self.allowed = Some(allowed);
        self
    }

    /// Sets [`pattern`](Self::pattern).
    #[must_use]
    pub fn with_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.pattern = Some(pattern.into());
        self
    }
}

/// What a [`Validate`](crate::Validate) checks.
///
/// ```
/// use collectors_processors::ValidateConfig;
///
/// let config: ValidateConfig = serde_json::from_str(r#"{
///     "columns": [{"name": "value", "type": "float64", "min": -40, "max": 85}],
///     "unique": ["sensor_id", "ts"]
/// }"#)
/// .unwrap();
/// assert_eq!(config.unique.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ValidateConfig {
    /// The rules of each column (columns without a rule are not checked).
    #[serde(default)]
    pub columns: Vec<ColumnRule>,
    /// A unique key: the columns whose values together must not repeat, across a source's
    /// batches and items (the second row with a key is invalid). Empty: no key.
    #[serde(default)]
    pub unique: Vec<String>,
    /// A JSON Schema each JSON document must match: a [`Payload::Json`] document, or each
    /// row of a table as a JSON object (nulls left out).
    ///
    /// [`Payload::Json`]: collectors_core::Payload::Json
    #[serde(default)]
    pub json_schema: Option<serde_json::Value>,
    /// The unique key per item instead of per source (default `false`).
    #[serde(default)]
    pub per_item: bool,
}

impl ValidateConfig {
    /// No rule yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a column rule.
    #[must_use]
    pub fn with_column(mut self, rule: ColumnRule) -> Self {
        self.columns.push(rule);
        self
    }

    /// Sets the unique key.
    #[must_use]
    pub fn with_unique(mut self, columns: &[&str]) -> Self {
        self.unique = columns.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    /// Sets the JSON Schema.
    #[must_use]
    pub fn with_json_schema(mut self, schema: serde_json::Value) -> Self {
        self.json_schema = Some(schema);
        self
    }

    pub(crate) fn check(&self) -> Result<()> {
        for (i, rule) in self.columns.iter().enumerate() {
            let at = format!("`columns[{i}]`");
            if rule.name.is_empty() {
                return Err(Error::configuration(format!(
                    "{at}: `name` must not be empty"
                )));
            }
            if self.columns[..i].iter().any(|r| r.name == rule.name) {
                return Err(Error::configuration(format!(
                    "{at}: column {:?} has two rules",
                    rule.name
                )));
            }
            for bound in [rule.min, rule.max].into_iter().flatten() {
                if bound.is_nan() {
                    return Err(Error::configuration(format!("{at}: a bound is NaN")));
                }
            }
            if let (Some(min), Some(max)) = (rule.min, rule.max)
                && min > max
            {
                return Err(Error::configuration(format!(
                    "{at}: `min` {min} is above `max` {max}"
                )));
            }
            if let Some(allowed) = &rule.allowed
                && allowed
                    .iter()
                    .any(|v| v.is_array() || v.is_object() || v.is_null())
            {
                return Err(Error::configuration(format!(
                    "{at}: `allowed` values must be numbers, strings or booleans"
                )));
            }
        }
        if self.unique.iter().any(String::is_empty) {
            return Err(Error::configuration(
                "`unique`: column names must not be empty",
            ));
        }
        Ok(())
    }
}
