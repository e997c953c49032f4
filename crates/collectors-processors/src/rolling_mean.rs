//! [`RollingMean`]: the mean of the last N values per key, carried across the batches of an
//! item.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use arrow_array::builder::Float64Builder;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::cast::{CastOptions, cast_with_options};
use arrow_schema::{DataType, Field, Schema};
use async_trait::async_trait;
use collectors_core::{Error, ItemContext, Payload, Processor, Result};
use serde::{Deserialize, Serialize};

/// What a [`RollingMean`] computes.
///
/// ```
/// use collectors_processors::RollingMeanConfig;
///
/// let config: RollingMeanConfig =
///     serde_json::from_str(r#"{"key": "sensor_id", "value": "value", "window": 5}"#).unwrap();
/// assert_eq!(config.output_column(), "value_rolling_mean");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollingMeanConfig {
    /// The column whose values form the groups (e.g. `sensor_id`); `None`: one group.
    /// Integer columns are grouped by value, other types by their text; a null key is a group
    /// of its own.
    #[serde(default)]
    pub key: Option<String>,
    /// The numeric column to average (cast to `Float64`).
    pub value: String,
    /// How many values of a key the mean covers, this row's included; at least 1.
    pub window: usize,
    /// The name of the appended column; default `<value>_rolling_mean`.
    #[serde(default)]
    pub output: Option<String>,
}

impl RollingMeanConfig {
    /// The mean of the last `window` values of `value`, per `key` when given.
    pub fn new(key: Option<&str>, value: impl Into<String>, window: usize) -> Self {
        Self {
            key: key.map(str::to_owned),
            value: value.into(),
            window,
            output: None,
        }
    }

    /// The name of the appended column.
    pub fn output_column(&self) -> String {
        self.output
            .clone()
            .unwrap_or_else(|| format!("{}_rolling_mean", self.value))
    }
}

/// Appends a `Float64` column holding, for each row, the mean of the last `window` non-null
/// values of the row's key, this row included, in row order.
///
/// Windows carry across the batches of one source item: the engine calls
/// [`process_in`](Processor::process_in) for each batch of an item, in order, then
/// [`finish_item`](Processor::finish_item), which drops the item's state. Items never share
/// a window. A batch with `batch_index` 0 starts its item afresh (a retried item does not
/// see the windows of its failed attempt). Plain [`process`](Processor::process) starts
/// with empty windows every call.
///
/// A null value gives a null mean and does not enter the window. The cost is O(rows): a
/// running sum per key, re-summed every `window` values so float error cannot build up.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch, StringArray};
/// use arrow_array::cast::AsArray;
/// use arrow_array::types::Float64Type;
/// use collectors_core::{ItemContext, Payload, Processor};
/// use collectors_processors::{RollingMean, RollingMeanConfig};
///
/// let mean = RollingMean::new(RollingMeanConfig::new(Some("sensor"), "v", 2))?;
/// let batch = |sensors: Vec<&str>, values: Vec<f64>| {
///     RecordBatch::try_from_iter([
///         ("sensor", Arc::new(StringArray::from(sensors)) as _),
///         ("v", Arc::new(Float64Array::from(values)) as _),
///     ])
///     .unwrap()
/// };
/// let context = |batch_index| ItemContext {
///     source_id: "sensors".into(),
///     item_id: "day-1.csv".into(),
///     batch_index,
/// };
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// mean.process_in(&context(0), batch(vec!["a", "b"], vec![1.0, 10.0]).into()).await?;
/// let out = mean.process_in(&context(1), batch(vec!["a", "b"], vec![3.0, 30.0]).into()).await?;
/// mean.finish_item("day-1.csv");
///
/// let out = out.as_table()?;
/// let means = out.column_by_name("v_rolling_mean").unwrap().as_primitive::<Float64Type>();
/// assert_eq!(means.values().as_ref(), &[2.0, 20.0]);
/// # Ok::<(), collectors_core::Error>(())
/// # })?;
/// # Ok::<(), collectors_core::Error>(())
/// ```
#[derive(Debug)]
pub struct RollingMean {
    config: RollingMeanConfig,
    output: String,
    name: String,
    /// The windows of each item in progress.
    items: Mutex<HashMap<String, Arc<Mutex<Windows>>>>,
}

impl RollingMean {
    /// A processor named `"rolling_mean"`, or a configuration error when `window` is 0 or a
    /// column name is empty.
    pub fn new(config: RollingMeanConfig) -> Result<Self> {
        if config.window == 0 {
            return Err(Error::configuration(
                "rolling_mean: window must be at least 1",
            ));
        }
        if config.value.is_empty() || config.key.as_deref() == Some("") {
            return Err(Error::configuration(
                "rolling_mean: column names must not be empty",
            ));
        }
        let output = config.output_column();
        if output.is_empty() {
            return Err(Error::configuration(
                "rolling_mean: the output column name must not be empty",
            ));
        }
        Ok(Self {
            config,
            output,
            name: "rolling_mean".to_owned(),
            items: Mutex::new(HashMap::new()),
        })
    }

    /// The same processor under another name (names must be unique in a pipeline).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The configuration.
    pub fn config(&self) -> &RollingMeanConfig {
        &self.config
    }

    /// How many items have windows held (started and not finished).
    pub fn items_in_progress(&self) -> usize {
        self.items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn invalid(&self, message: String) -> Error {
        Error::validation(message).with_component(self.name.clone())
    }

    /// Checks the input's shape; returns the batch, the value column as floats and the keys.
    fn prepare<'p>(&self, input: &'p Payload) -> Result<(&'p RecordBatch, ArrayRef, Keys)> {
        let batch = input
            .as_table()
            .map_err(|e| e.with_component(self.name.clone()))?;
        let strict = CastOptions {
            safe: false,
            ..Default::default()
        };
        let value = batch
            .column_by_name(&self.config.value)
            .ok_or_else(|| self.invalid(format!("no value column {:?}", self.config.value)))?;
        if !value.data_type().is_numeric() {
            return Err(self.invalid(format!(
                "value column {:?} is {}, not numeric",
                self.config.value,
                value.data_type()
            )));
        }
        let value = cast_with_options(value, &DataType::Float64, &strict).map_err(|e| {
            self.invalid(format!("cannot read {:?} as Float64", self.config.value))
                .with_source(e)
        })?;
        if batch.schema_ref().column_with_name(&self.output).is_some() {
            return Err(self.invalid(format!("the input already has a column {:?}", self.output)));
        }
        let keys = match &self.config.key {
            None => Keys::One,
            Some(name) => {
                let key = batch
                    .column_by_name(name)
                    .ok_or_else(|| self.invalid(format!("no key column {name:?}")))?;
                let target = if key.data_type().is_integer() {
                    DataType::Int64
                } else {
                    DataType::Utf8
                };
                let cast = cast_with_options(key, &target, &strict).map_err(|e| {
                    self.invalid(format!(
                        "cannot group by {name:?} of type {}",
                        key.data_type()
                    ))
                    .with_source(e)
                })?;
                if target == DataType::Int64 {
                    Keys::Int(cast)
                } else {
                    Keys::Text(cast)
                }
            }
        };
        Ok((batch, value, keys))
    }

    /// Computes the means of `input` with `windows`, returning the input plus the column.
    fn compute(&self, input: &Payload, windows: &mut Windows) -> Result<Payload> {
        let (batch, values, keys) = self.prepare(input)?;
        let values = values.as_primitive::<Float64Type>();
        let window = self.config.window;
        let mut means = Float64Builder::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            if values.is_null(row) {
                means.append_null();
                continue;
            }
            let index = match &keys {
                Keys::One => windows.null_key(),
                Keys::Int(keys) => {
                    let keys = keys.as_primitive::<Int64Type>();
                    if keys.is_null(row) {
                        windows.null_key()
                    } else {
                        windows.int_key(keys.value(row))
                    }
                }
                Keys::Text(keys) => {
                    let keys = keys.as_string::<i32>();
                    if keys.is_null(row) {
                        windows.null_key()
                    } else {
                        windows.text_key(keys.value(row))
                    }
                }
            };
            let mean = windows
                .windows
                .get_mut(index)
                .ok_or_else(|| Error::processing("rolling_mean: lost a window"))?
                .push(values.value(row), window);
            means.append_value(mean);
        }

        let schema = batch.schema();
        let mut fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
        fields.push(Arc::new(Field::new(&self.output, DataType::Float64, true)));
        let schema = Schema::new_with_metadata(fields, schema.metadata().clone());
        let mut columns = batch.columns().to_vec();
        columns.push(Arc::new(means.finish()));
        let out = RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| {
            Error::processing("cannot append the rolling mean")
                .with_component(self.name.clone())
                .with_source(e)
        })?;
        Ok(Payload::Table(out))
    }
}

/// The grouping column, cast to the type its windows are keyed by.
enum Keys {
    /// No key: one group.
    One,
    /// An `Int64` array.
    Int(ArrayRef),
    /// A `Utf8` array.
    Text(ArrayRef),
}

/// The windows of one item: one per key, found through a map from key to index.
#[derive(Debug, Default)]
struct Windows {
    windows: Vec<Window>,
    text: HashMap<String, usize>,
    ints: HashMap<i64, usize>,
    null: Option<usize>,
}

impl Windows {
    fn add(&mut self) -> usize {
        self.windows.push(Window::default());
        self.windows.len() - 1
    }

    fn null_key(&mut self) -> usize {
        match self.null {
            Some(index) => index,
            None => {
                let index = self.add();
                self.null = Some(index);
                index
            }
        }
    }

    fn int_key(&mut self, key: i64) -> usize {
        match self.ints.get(&key) {
            Some(&index) => index,
            None => {
                let index = self.add();
                self.ints.insert(key, index);
                index
            }
        }
    }

    /// Allocates the key only the first time it is seen.
    fn text_key(&mut self, key: &str) -> usize {
        match self.text.get(key) {
            Some(&index) => index,
            None => {
                let index = self.add();
                self.text.insert(key.to_owned(), index);
                index
            }
        }
    }
}

/// The last values of one key and their running sum.
#[derive(Debug, Default)]
struct Window {
    values: VecDeque<f64>,
    sum: f64,
    /// Values pushed since the sum was last recomputed from scratch.
    since_resum: usize,
}

impl Window {
    /// Adds `value`, keeping the last `size` values; returns their mean.
    fn push(&mut self, value: f64, size: usize) -> f64 {
        if self.values.len() == size
            && let Some(oldest) = self.values.pop_front()
        {
            self.sum -= oldest;
        }
        self.values.push_back(value);
        self.sum += value;
        self.since_resum += 1;
        if self.since_resum >= size {
            // Amortised O(1): once per `size` values, so rounding error stays bounded.
            self.sum = self.values.iter().sum();
            self.since_resum = 0;
        }
        self.sum / self.values.len() as f64
    }
}

#[async_trait]
impl Processor for RollingMean {
    fn name(&self) -> &str {
        &self.name
    }

    fn validate_input(&self, input: &Payload) -> Result<()> {
        self.prepare(input).map(|_| ())
    }

    async fn process(&self, input: Payload) -> Result<Payload> {
        self.compute(&input, &mut Windows::default())
    }

    async fn process_in(&self, context: &ItemContext, input: Payload) -> Result<Payload> {
        let windows = {
            let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
            if context.batch_index == 0 {
                items.remove(&context.item_id);
            }
            items.entry(context.item_id.clone()).or_default().clone()
        };
        // Items run in parallel; the batches of one item take turns on its windows.
        let mut windows = windows.lock().unwrap_or_else(PoisonError::into_inner);
        self.compute(&input, &mut windows)
    }

    fn finish_item(&self, item_id: &str) {
        self.items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(item_id);
    }
}
