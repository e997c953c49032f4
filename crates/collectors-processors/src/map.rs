//! [`Map`]: casts, derives, drops and renames columns, with Arrow kernels.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_cast::cast::{CastOptions, can_cast_types, cast_with_options};
use arrow_schema::{Field, Schema};
use async_trait::async_trait;
use collectors_core::{Error, Payload, Processor, Result};
use serde::{Deserialize, Serialize};

use crate::{ColumnType, Expression};

/// A column computed from an [`Expression`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DerivedColumn {
    /// Its name; an existing column of that name is replaced in place.
    pub name: String,
    /// The expression (see [`Expression`] for the language), e.g. `"value * 1.8 + 32"`.
    pub expr: String,
}

/// What a [`Map`] does, in this order: `cast`, `derive`, `drop`, `rename`.
///
/// ```
/// use collectors_processors::MapConfig;
///
/// let config: MapConfig = serde_json::from_str(r#"{
///     "cast": {"value": "float64"},
///     "derive": [{"name": "fahrenheit", "expr": "round(value * 1.8 + 32, 1)"}],
///     "drop": ["status"],
///     "rename": {"sensor_id": "sensor"}
/// }"#)
/// .unwrap();
/// assert_eq!(config.derive[0].name, "fahrenheit");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MapConfig {
    /// Columns read as another type; a value that cannot be read fails the batch (validate
    /// first to dead-letter such rows instead).
    #[serde(default)]
    pub cast: BTreeMap<String, ColumnType>,
    /// Columns computed in order: each expression sees the columns after `cast`, and those
    /// derived before it.
    #[serde(default)]
    pub derive: Vec<DerivedColumn>,
    /// Columns removed.
    #[serde(default)]
    pub drop: Vec<String>,
    /// Columns renamed: old name → new name.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
}

impl MapConfig {
    /// Does nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a cast.
    #[must_use]
    pub fn with_cast(mut self, column: impl Into<String>, to: ColumnType) -> Self {
        self.cast.insert(column.into(), to);
        self
    }

    /// Adds a derived column.
    #[must_use]
    pub fn with_derived(mut self, name: impl Into<String>, expr: impl Into<String>) -> Self {
        self.derive.push(DerivedColumn {
            name: name.into(),
            expr: expr.into(),
        });
        self
    }

    /// Adds a column to drop.
    #[must_use]
    pub fn with_drop(mut self, column: impl Into<String>) -> Self {
        self.drop.push(column.into());
        self
    }

    /// Adds a rename.
    #[must_use]
    pub fn with_rename(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.rename.insert(from.into(), to.into());
        self
    }
}

/// Reshapes the columns of a table: `cast` → `derive` → `drop` → `rename` (see
/// [`MapConfig`]). Every step is a whole-column Arrow kernel (arrow-cast for casts, the
/// [`Expression`] evaluator for derived columns); rows are never touched one by one.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{RecordBatch, StringArray};
/// use arrow_array::cast::AsArray;
/// use arrow_array::types::Float64Type;
/// use collectors_core::{Payload, Processor};
/// use collectors_processors::{ColumnType, Map, MapConfig};
///
/// let map = Map::new(
///     MapConfig::new()
///         .with_cast("celsius", ColumnType::Float64)
///         .with_derived("fahrenheit", "celsius * 1.8 + 32")
///         .with_rename("celsius", "c"),
/// )?;
/// let batch = RecordBatch::try_from_iter([(
///     "celsius",
///     Arc::new(StringArray::from(vec!["100", "-40"])) as _,
/// )])
/// .unwrap();
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let out = map.process(Payload::Table(batch)).await?;
/// let out = out.as_table()?;
/// assert_eq!(out.schema().field(0).name(), "c");
/// let f = out.column_by_name("fahrenheit").unwrap().as_primitive::<Float64Type>();
/// assert_eq!(f.values().as_ref(), &[212.0, -40.0]);
/// # Ok::<(), collectors_core::Error>(())
/// # })?;
/// # Ok::<(), collectors_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Map {
    config: MapConfig,
    derived: Vec<(String, Expression)>,
    name: String,
}

impl Map {
    /// A processor named `"map"`, or a configuration error naming the key: an expression
    /// that does not parse, an empty name, two renames to one name.
    pub fn new(config: MapConfig) -> Result<Self> {
        let mut derived = Vec::with_capacity(config.derive.len());
        for (i, column) in config.derive.iter().enumerate() {
            if column.name.is_empty() {
                return Err(Error::configuration(format!(
                    "`derive[{i}].name` must not be empty"
                )));
            }
            let expr = Expression::parse(&column.expr).map_err(|e| {
                let message = e.message().trim_start_matches("`expr`: ").to_owned();
                Error::configuration(format!("`derive[{i}].expr`: {message}"))
            })?;
            derived.push((column.name.clone(), expr));
        }
        let mut targets: Vec<&String> = config.rename.values().collect();
        targets.sort();
        if targets.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::configuration("`rename`: two columns get one name"));
        }
        if config
            .rename
            .iter()
            .any(|(from, to)| from.is_empty() || to.is_empty())
            || config.drop.iter().any(String::is_empty)
            || config.cast.keys().any(String::is_empty)
        {
            return Err(Error::configuration("column names must not be empty"));
        }
        Ok(Self {
            config,
            derived,
            name: "map".to_owned(),
        })
    }

    /// The same processor under another name (names must be unique in a pipeline).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The configuration.
    pub fn config(&self) -> &MapConfig {
        &self.config
    }

    fn invalid(&self, message: String) -> Error {
        Error::validation(message).with_component(self.name.clone())
    }

    fn apply(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let schema = batch.schema();
        let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        let position = |fields: &[Field], name: &str| fields.iter().position(|f| f.name() == name);
        let strict = CastOptions {
            safe: false,
            ..Default::default()
        };
        for (name, to) in &self.config.cast {
            let at = position(&fields, name)
                .ok_or_else(|| self.invalid(format!("`cast`: no column {name:?}")))?;
            let target = to.data_type();
            if !can_cast_types(columns[at].data_type(), &target) {
                return Err(self.invalid(format!(
                    "`cast`: column {name:?} of type {} cannot be read as {target}",
                    columns[at].data_type()
                )));
            }
            columns[at] = cast_with_options(&columns[at], &target, &strict).map_err(|e| {
                self.invalid(format!("`cast`: column {name:?}: {e}"))
                    .with_source(e)
            })?;
            fields[at] = Field::new(name, target, fields[at].is_nullable());
        }
        for (name, expr) in &self.derived {
            let current =
                RecordBatch::try_new(Arc::new(Schema::new(fields.clone())), columns.clone())
                    .map_err(|e| Error::processing("cannot rebuild the batch").with_source(e))?;
            let value = expr
                .evaluate(&current)
                .map_err(|e| e.with_component(self.name.clone()))?;
            let field = Field::new(name, value.data_type().clone(), true);
            match position(&fields, name) {
                Some(at) => {
                    fields[at] = field;
                    columns[at] = value;
                }
                None => {
                    fields.push(field);
                    columns.push(value);
                }
            }
        }
        for name in &self.config.drop {
            let at = position(&fields, name)
                .ok_or_else(|| self.invalid(format!("`drop`: no column {name:?}")))?;
            fields.remove(at);
            columns.remove(at);
        }
        for (from, to) in &self.config.rename {
            let at = position(&fields, from)
                .ok_or_else(|| self.invalid(format!("`rename`: no column {from:?}")))?;
            fields[at] = fields[at].clone().with_name(to);
        }
        let mut seen: Vec<&String> = fields.iter().map(|f| f.name()).collect();
        seen.sort();
        if let Some(pair) = seen.windows(2).find(|w| w[0] == w[1]) {
            return Err(self.invalid(format!("two columns are named {:?}", pair[0])));
        }
        let schema = Schema::new_with_metadata(fields, schema.metadata().clone());
        RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| {
            Error::processing("cannot build the mapped batch")
                .with_component(self.name.clone())
                .with_source(e)
        })
    }
}

#[async_trait]
impl Processor for Map {
    fn name(&self) -> &str {
        &self.name
    }

    fn validate_input(&self, input: &Payload) -> Result<()> {
        input
            .as_table()
            .map(|_| ())
            .map_err(|e| e.with_component(self.name.clone()))
    }

    async fn process(&self, input: Payload) -> Result<Payload> {
        let batch = input
            .as_table()
            .map_err(|e| e.with_component(self.name.clone()))?;
        self.apply(batch).map(Payload::Table)
    }
}
