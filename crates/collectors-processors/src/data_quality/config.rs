//! [`DataQualityConfig`]: which columns a [`DataQuality`](crate::DataQuality) profiles and
//! what it counts as an error.

use std::collections::BTreeMap;

use collectors_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::ColumnType;

/// The values a column may take: `min` and `max` inclusive, either optional.
///
/// ```
/// use collectors_processors::ValueRange;
///
/// let range: ValueRange = serde_json::from_str(r#"{"min": 0, "max": 100}"#).unwrap();
/// assert_eq!(range.max, Some(100.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ValueRange {
    /// The smallest allowed value.
    #[serde(default)]
    pub min: Option<f64>,
    /// The largest allowed value.
    #[serde(default)]
    pub max: Option<f64>,
}

/// What a [`DataQuality`](crate::DataQuality) measures.
///
/// ```
/// use collectors_processors::DataQualityConfig;
///
/// let config: DataQualityConfig = serde_json::from_str(
///     r#"{"ranges": {"value": {"min": -40, "max": 85}}, "types": {"ts": "timestamp"},
///         "unique": ["id"], "report_every_rows": 100000}"#,
/// )
/// .unwrap();
/// assert_eq!(config.unique, vec!["id".to_owned()]);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DataQualityConfig {
    /// The columns to profile, in report order; default: every column of the first batch,
    /// then any column that appears later.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// Allowed values per numeric column; a value outside is counted in `out_of_range`.
    #[serde(default)]
    pub ranges: BTreeMap<String, ValueRange>,
    /// The type each column's values should have; a value that cannot be read as it (text
    /// `"abc"` where a `float64` is expected) is counted in `type_errors`, and the statistics
    /// are those of the values read as that type.
    #[serde(default)]
    pub types: BTreeMap<String, ColumnType>,
    /// Columns whose values should be unique: their duplicates count against the score.
    #[serde(default)]
    pub unique: Vec<String>,
    /// Emits a report once at least this many rows came since the last one (default 1: after
    /// every batch).
    #[serde(default)]
    pub report_every_rows: Option<u64>,
    /// Statistics per item instead of per source (default `false`: they accumulate over a
    /// source's items, in order).
    #[serde(default)]
    pub per_item: bool,
}

impl DataQualityConfig {
    /// Profiles every column, with no ranges, types or unique columns.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the allowed range of `column`.
    #[must_use]
    pub fn with_range(
        mut self,
        column: impl Into<String>,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Self {
        self.ranges.insert(column.into(), ValueRange { min, max });
        self
    }

    /// Sets the expected type of `column`.
    #[must_use]
    pub fn with_type(mut self, column: impl Into<String>, column_type: ColumnType) -> Self {
        self.types.insert(column.into(), column_type);
        self
    }

    /// Declares `column` unique.
    #[must_use]
    pub fn with_unique(mut self, column: impl Into<String>) -> Self {
        self.unique.push(column.into());
        self
    }

    /// Sets [`report_every_rows`](Self::report_every_rows).
    #[must_use]
    pub fn with_report_every_rows(mut self, rows: u64) -> Self {
        self.report_every_rows = Some(rows);
        self
    }

    pub(crate) fn check(&self) -> Result<()> {
        if self.report_every_rows == Some(0) {
            return Err(Error::configuration(
                "`report_every_rows` must be at least 1",
            ));
        }
        for (column, range) in &self.ranges {
            if range.min.is_some_and(f64::is_nan) || range.max.is_some_and(f64::is_nan) {
                return Err(Error::configuration(format!(
                    "`ranges.{column}` must not be NaN"
                )));
            }
            if let (Some(min), Some(max)) = (range.min, range.max)
                && min > max
            {
                return Err(Error::configuration(format!(
                    "`ranges.{column}`: min {min} is above max {max}"
                )));
            }
        }
        let named = self
            .columns
            .iter()
            .flatten()
            .chain(self.ranges.keys())
            .chain(self.types.keys())
            .chain(&self.unique);
        for column in named {
            if column.is_empty() {
                return Err(Error::configuration("column names must not be empty"));
            }
        }
        Ok(())
    }

    /// Every column the configuration names.
    pub fn named_columns(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .columns
            .iter()
            .flatten()
            .chain(self.ranges.keys())
            .chain(self.types.keys())
            .chain(&self.unique)
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}
