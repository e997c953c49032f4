//! [`RollingMean`]: the mean of the last N values per key, carried across the batches of an
//! item.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, PoisonError};

use crate::keyed_state::KeyedState;
use arrow_array::builder::Float64Builder;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
use arrow_cast::cast::{CastOptions, can_cast_types, cast_with_options};
use arrow_schema::{DataType, Field, Schema};
use async_trait::async_trait;
use collectors_core::{Error, ItemContext, Payload, Processor, Result, StateScope};
use serde::{Deserialize, Serialize};

/// The largest `window` a [`RollingMean`] accepts.
pub const MAX_WINDOW: usize = 1 << 20;

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
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RollingMeanConfig {
    /// The column whose values form the groups (e.g. `sensor_id`); `None`: one group.
    /// Integer columns are grouped by value, other types by their text; a null key is a group
    /// of its own.
    #[serde(default)]
    pub key: Option<String>,
    /// The numeric column to average (cast to `Float64`).
    pub value: String,
    /// How many values of a key the mean covers, this row's included; 1 to
    /// [`MAX_WINDOW`] (1 048 576). Leave it out (0) for a time window ([`duration`](Self::duration)).
    #[serde(default)]
    pub window: usize,
    /// A time window instead of a count, as pandas' `rolling("5min", on="ts")`: the values of
    /// the key whose timestamp is within this duration before the row's, `(t - d, t]`. Units
    /// `ms`, `s`, `m` or `min`, `h`, `d` (`"500ms"`, `"30s"`, `"5m"`, `"1h"`); needs [`on`](Self::on).
    #[serde(default)]
    pub duration: Option<String>,
    /// The timestamp column of a time window. Its values must not go back within a key, nor
    /// be null (pandas refuses both too).
    #[serde(default)]
    pub on: Option<String>,
    /// How many values of the window that are numbers (not NaN) a mean needs; fewer give a
    /// null mean, like pandas' `min_periods`. 1 to `window`; default 1.
    #[serde(default)]
    pub min_periods: Option<usize>,
    /// The name of the appended column; default `<value>_rolling_mean`.
    #[serde(default)]
    pub output: Option<String>,
    /// Windows per item instead of per source: each item starts afresh, and a source's
    /// items may run in parallel. Default `false`: windows carry across a source's items in
    /// order, so a series split into `part-00 … part-NN` gives the same means as one file.
    #[serde(default)]
    pub per_item: bool,
}

impl RollingMeanConfig {
    /// The mean of the last `window` values of `value`, per `key` when given.
    pub fn new(key: Option<&str>, value: impl Into<String>, window: usize) -> Self {
        Self {
            key: key.map(str::to_owned),
            value: value.into(),
            window,
            duration: None,
            on: None,
            min_periods: None,
            output: None,
            per_item: false,
        }
    }

    /// A time window of `duration` on the timestamp column `on` (and no count window).
    ///
    /// ```
    /// use collectors_processors::{RollingMean, RollingMeanConfig};
    ///
    /// let config = RollingMeanConfig::new(Some("sensor"), "v", 0).with_duration("5m", "ts");
    /// assert!(RollingMean::new(config).is_ok());
    /// ```
    #[must_use]
    pub fn with_duration(mut self, duration: impl Into<String>, on: impl Into<String>) -> Self {
        self.window = 0;
        self.duration = Some(duration.into());
        self.on = Some(on.into());
        self
    }

    /// Sets [`per_item`](Self::per_item).
    #[must_use]
    pub fn with_per_item(mut self, per_item: bool) -> Self {
        self.per_item = per_item;
        self
    }

    /// Sets [`min_periods`](Self::min_periods).
    #[must_use]
    pub fn with_min_periods(mut self, min_periods: usize) -> Self {
        self.min_periods = Some(min_periods);
        self
    }

    /// How many numbers a mean needs: [`min_periods`](Self::min_periods), 1 by default.
    pub fn min_periods(&self) -> usize {
        self.min_periods.unwrap_or(1)
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
/// Windows carry across the batches of a source's items, in order ([`StateScope::Source`]):
/// the engine reads a source's items one after another, calls
/// [`process_in`](Processor::process_in) for each batch, and checkpoints the windows with
/// each item ([`save_state`](Processor::save_state)), so a rerun after a crash continues
/// exactly. With [`per_item`](RollingMeanConfig::per_item), windows are per item instead
/// ([`StateScope::Item`]): a batch with `batch_index` 0 starts its item afresh and
/// [`finish_item`](Processor::finish_item) drops them. Plain
/// [`process`](Processor::process) starts with empty windows every call.
///
/// # Nulls, NaN and infinities
///
/// - A **null** value is no reading: its row gets a null mean and it does not enter the
///   window.
/// - A **NaN** takes its place in the window but is not counted, as in pandas'
///   `rolling(window, min_periods).mean()`: the mean is that of the other values in the
///   window (the NaN row included, so it gets the mean of its neighbours); when fewer than
///   `min_periods` numbers remain, the mean is null.
/// - An **infinity** makes the mean infinite (`+inf` and `-inf` together: NaN) while it is in
///   the window, and only then. (pandas turns infinities into NaN before a rolling mean; here
///   they follow IEEE arithmetic instead.)
///
/// # Time windows
///
/// With [`duration`](RollingMeanConfig::duration) and [`on`](RollingMeanConfig::on), the
/// window of a row is the values of its key whose timestamp is in `(t - duration, t]`, up to
/// and including the row itself, as pandas'
/// `df.groupby(key).rolling("5min", on="ts", min_periods=m).mean()` (`min_periods` defaults
/// to 1, as in pandas). Timestamps must not go back within a key, nor be null: either is a
/// validation error of the batch, as pandas raises.
///
/// The cost is O(rows): a running sum of the finite values per key, with counts of NaN and
/// infinities kept aside so that none of them can poison the sum, re-summed every `window`
/// values so float error cannot build up.
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
    /// A time window's duration in microseconds.
    span: Option<i64>,
    /// The windows of each source (or, per item, of each item in progress).
    items: KeyedState<Windows>,
}

impl RollingMean {
    /// A processor named `"rolling_mean"`, or a configuration error, starting with the key
    /// in backticks, when `window` is not between 1 and [`MAX_WINDOW`], `min_periods` not
    /// between 1 and `window`, or a column name is empty.
    pub fn new(config: RollingMeanConfig) -> Result<Self> {
        let span = match (&config.duration, &config.on, config.window) {
            (None, None, _) => None,
            (Some(duration), Some(on), 0) => {
                if on.is_empty() {
                    return Err(Error::configuration("`on` must not be empty"));
                }
                Some(parse_duration(duration)?)
            }
            (Some(_), Some(_), _) => {
                return Err(Error::configuration(
                    "`window`: give a count `window` or a `duration`, not both",
                ));
            }
            (Some(_), None, _) => {
                return Err(Error::configuration(
                    "`on` is required by `duration`: the timestamp column",
                ));
            }
            (None, Some(_), _) => {
                return Err(Error::configuration("`on` needs a `duration`"));
            }
        };
        if span.is_some() {
            if config.min_periods == Some(0) {
                return Err(Error::configuration("`min_periods` must be at least 1"));
            }
        } else if config.window == 0 {
            return Err(Error::configuration("`window` must be at least 1, got 0"));
        }
        if config.window > MAX_WINDOW {
            return Err(Error::configuration(format!(
                "`window` must be at most {MAX_WINDOW}, got {}",
                config.window
            )));
        }
        if let Some(min_periods) = config.min_periods
            && span.is_none()
            && !(1..=config.window).contains(&min_periods)
        {
            return Err(Error::configuration(format!(
                "`min_periods` must be between 1 and `window` ({}), got {min_periods}",
                config.window
            )));
        }
        if config.value.is_empty() {
            return Err(Error::configuration("`value` must not be empty"));
        }
        if config.key.as_deref() == Some("") {
            return Err(Error::configuration("`key` must not be empty"));
        }
        let output = config.output_column();
        if output.is_empty() {
            return Err(Error::configuration("`output` must not be empty"));
        }
        Ok(Self {
            items: KeyedState::new(config.per_item, "rolling mean state"),
            config,
            output,
            span,
            name: "rolling_mean".to_owned(),
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
        self.items.len()
    }

    fn invalid(&self, message: String) -> Error {
        Error::validation(message).with_component(self.name.clone())
    }

    /// Checks the input's shape without converting anything: the batch, its value column and
    /// its key column.
    fn check<'p>(&self, input: &'p Payload) -> Result<Checked<'p>> {
        let batch = input
            .as_table()
            .map_err(|e| e.with_component(self.name.clone()))?;
        let value = batch
            .column_by_name(&self.config.value)
            .ok_or_else(|| self.invalid(format!("no value column {:?}", self.config.value)))?;
        if !value.data_type().is_numeric() || !can_cast_types(value.data_type(), &DataType::Float64)
        {
            return Err(self.invalid(format!(
                "value column {:?} is {}, not numeric",
                self.config.value,
                value.data_type()
            )));
        }
        if batch.schema_ref().column_with_name(&self.output).is_some() {
            return Err(self.invalid(format!("the input already has a column {:?}", self.output)));
        }
        let key = match &self.config.key {
            None => None,
            Some(name) => {
                let key = batch
                    .column_by_name(name)
                    .ok_or_else(|| self.invalid(format!("no key column {name:?}")))?;
                let target = if key.data_type().is_integer() {
                    DataType::Int64
                } else {
                    DataType::Utf8
                };
                if !can_cast_types(key.data_type(), &target) {
                    return Err(self.invalid(format!(
                        "cannot group by {name:?} of type {}",
                        key.data_type()
                    )));
                }
                Some((key, target))
            }
        };
        if let (Some(on), Some(_)) = (&self.config.on, self.span) {
            match batch.column_by_name(on) {
                None => return Err(self.invalid(format!("no timestamp column {on:?}"))),
                Some(c) if !matches!(c.data_type(), DataType::Timestamp(..)) => {
                    return Err(self.invalid(format!(
                        "column {on:?} is {}, not a timestamp",
                        c.data_type()
                    )));
                }
                Some(_) => {}
            }
        }
        Ok((batch, value, key))
    }

    /// Checks the input and converts it, once: the batch, the values as floats and the keys.
    fn prepare<'p>(&self, input: &'p Payload) -> Result<(&'p RecordBatch, ArrayRef, Keys)> {
        let (batch, value, key) = self.check(input)?;
        let strict = CastOptions {
            safe: false,
            ..Default::default()
        };
        let value = cast_with_options(value, &DataType::Float64, &strict).map_err(|e| {
            self.invalid(format!("cannot read {:?} as Float64", self.config.value))
                .with_source(e)
        })?;
        let keys = match key {
            None => Keys::One,
            Some((key, target)) => {
                let cast = cast_with_options(key, &target, &strict).map_err(|e| {
                    self.invalid(format!(
                        "cannot group by {:?} of type {}",
                        self.config.key.as_deref().unwrap_or_default(),
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

    /// The timestamps of a time window, as microseconds; an error for a missing, non-time or
    /// null timestamp.
    fn times(&self, batch: &RecordBatch) -> Result<Option<Int64Array>> {
        let (Some(on), Some(_)) = (&self.config.on, self.span) else {
            return Ok(None);
        };
        let column = batch
            .column_by_name(on)
            .ok_or_else(|| self.invalid(format!("no timestamp column {on:?}")))?;
        if !matches!(column.data_type(), DataType::Timestamp(..)) {
            return Err(self.invalid(format!(
                "column {on:?} is {}, not a timestamp",
                column.data_type()
            )));
        }
        if column.null_count() > 0 {
            return Err(self.invalid(format!("column {on:?} has null timestamps")));
        }
        let strict = CastOptions {
            safe: false,
            ..Default::default()
        };
        let micros = cast_with_options(
            column,
            &DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, None),
            &strict,
        )
        .and_then(|c| cast_with_options(&c, &DataType::Int64, &strict))
        .map_err(|e| {
            self.invalid(format!("cannot read {on:?} as microseconds"))
                .with_source(e)
        })?;
        Ok(Some(micros.as_primitive::<Int64Type>().clone()))
    }

    /// Computes the means of `input` with `windows`, returning the input plus the column.
    fn compute(&self, input: &Payload, windows: &mut Windows) -> Result<Payload> {
        let (batch, values, keys) = self.prepare(input)?;
        let values = values.as_primitive::<Float64Type>();
        let times = self.times(batch)?;
        let window = self.config.window;
        let min_periods = self.config.min_periods();
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
            let slot = windows
                .windows
                .get_mut(index)
                .ok_or_else(|| Error::processing("rolling_mean: lost a window"))?;
            let mean = match (&times, self.span) {
                (Some(times), Some(span)) => {
                    let at = times.value(row);
                    if slot.times.back().is_some_and(|last| *last > at) {
                        return Err(self.invalid(format!(
                            "the timestamps in {:?} go back within a key at row {row}: a time window needs them in order",
                            self.config.on.as_deref().unwrap_or_default()
                        )));
                    }
                    slot.push_at(at, values.value(row), span, min_periods)
                }
                _ => slot.push(values.value(row), window, min_periods),
            };
            means.append_option(mean);
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

/// What [`RollingMean::check`] found: the batch, its value column, and its key column with
/// the type the keys are read as.
type Checked<'p> = (
    &'p RecordBatch,
    &'p ArrayRef,
    Option<(&'p ArrayRef, DataType)>,
);

/// The grouping column, cast to the type its windows are keyed by.
enum Keys {
    /// No key: one group.
    One,
    /// An `Int64` array.
    Int(ArrayRef),
    /// A `Utf8` array.
    Text(ArrayRef),
}

/// The windows of one source (or item): one per key, found through a map from key to index.
/// Serializable, floats bit for bit, so the state is checkpointed exactly.
#[derive(Debug, Default, Serialize, Deserialize)]
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

/// The last values of one key: the running sum of the finite ones, and counts of the others.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Window {
    /// The last `size` values, NaN and infinities included.
    #[serde(with = "float_bits::deque")]
    values: VecDeque<f64>,
    /// The sum of the finite values in `values`, with `compensation` (Neumaier): what the
    /// additions of large and small values lost, so that removing a large value later does
    /// not take the small ones with it.
    #[serde(with = "float_bits")]
    sum: f64,
    #[serde(with = "float_bits")]
    compensation: f64,
    /// How many values in `values` are not NaN.
    numbers: usize,
    /// How many are `+inf` and `-inf`.
    positive_infinities: usize,
    negative_infinities: usize,
    /// Values pushed since the sum was last recomputed from scratch.
    since_resum: usize,
    /// With a time window: the timestamp (µs) of each value in `values`.
    #[serde(default)]
    times: VecDeque<i64>,
}

impl Window {
    /// Adds `value`, keeping the last `size` values; returns their mean, `None` when fewer
    /// than `min_periods` of them are numbers.
    fn push(&mut self, value: f64, size: usize, min_periods: usize) -> Option<f64> {
        if self.values.len() == size
            && let Some(oldest) = self.values.pop_front()
        {
            self.count(oldest, false);
        }
        self.values.push_back(value);
        self.count(value, true);
        self.since_resum += 1;
        if self.since_resum >= size || !(self.sum + self.compensation).is_finite() {
            // Amortised O(1): once per `size` values, so rounding error stays bounded, and
            // at once after a sum of finite values overflowed.
            let (mut sum, mut compensation) = (0.0, 0.0);
            for &value in self.values.iter().filter(|v| v.is_finite()) {
                neumaier_add(&mut sum, &mut compensation, value);
            }
            (self.sum, self.compensation) = (sum, compensation);
            self.since_resum = 0;
        }
        self.mean(min_periods)
    }

    /// Adds `value` at time `at` (µs), keeping the values of `(at - span, at]`; returns their
    /// mean, `None` when fewer than `min_periods` of them are numbers.
    fn push_at(&mut self, at: i64, value: f64, span: i64, min_periods: usize) -> Option<f64> {
        let start = at.saturating_sub(span);
        while self.times.front().is_some_and(|t| *t <= start) {
            self.times.pop_front();
            if let Some(oldest) = self.values.pop_front() {
                self.count(oldest, false);
            }
        }
        self.times.push_back(at);
        self.values.push_back(value);
        self.count(value, true);
        self.since_resum += 1;
        if self.since_resum >= self.values.len().max(16)
            || !(self.sum + self.compensation).is_finite()
        {
            self.resum();
        }
        self.mean(min_periods)
    }

    /// Recomputes the sum of the finite values from scratch.
    fn resum(&mut self) {
        let (mut sum, mut compensation) = (0.0, 0.0);
        for &value in self.values.iter().filter(|v| v.is_finite()) {
            neumaier_add(&mut sum, &mut compensation, value);
        }
        (self.sum, self.compensation) = (sum, compensation);
        self.since_resum = 0;
    }

    /// Counts `value` in (`added`) or out of the window.
    fn count(&mut self, value: f64, added: bool) {
        if value.is_nan() {
            return;
        }
        let adjust = |counter: &mut usize| {
            if added {
                *counter += 1;
            } else {
                *counter -= 1;
            }
        };
        adjust(&mut self.numbers);
        if value == f64::INFINITY {
            adjust(&mut self.positive_infinities);
        } else if value == f64::NEG_INFINITY {
            adjust(&mut self.negative_infinities);
        } else {
            let value = if added { value } else { -value };
            neumaier_add(&mut self.sum, &mut self.compensation, value);
        }
    }

    fn mean(&self, min_periods: usize) -> Option<f64> {
        if self.numbers < min_periods || self.numbers == 0 {
            return None;
        }
        match (self.positive_infinities > 0, self.negative_infinities > 0) {
            (true, true) => return Some(f64::NAN),
            (true, false) => return Some(f64::INFINITY),
            (false, true) => return Some(f64::NEG_INFINITY),
            (false, false) => {}
        }
        let count = self.numbers as f64;
        let sum = self.sum + self.compensation;
        if sum.is_finite() {
            Some(sum / count)
        } else {
            // The finite values overflow when summed: average them scaled down instead.
            Some(
                self.values
                    .iter()
                    .filter(|v| v.is_finite())
                    .map(|v| v / count)
                    .sum(),
            )
        }
    }
}

/// Adds `value` to `sum`, keeping in `compensation` the low-order bits the addition lost
/// (Neumaier's improved Kahan summation).
fn neumaier_add(sum: &mut f64, compensation: &mut f64, value: f64) {
    let total = *sum + value;
    if sum.abs() >= value.abs() {
        *compensation += (*sum - total) + value;
    } else {
        *compensation += (value - total) + *sum;
    }
    *sum = total;
}

#[async_trait]
impl Processor for RollingMean {
    fn name(&self) -> &str {
        &self.name
    }

    fn validate_input(&self, input: &Payload) -> Result<()> {
        // Checks only: the conversion happens once, in `process`.
        self.check(input).map(|_| ())
    }

    async fn process(&self, input: Payload) -> Result<Payload> {
        self.compute(&input, &mut Windows::default())
    }

    async fn process_in(&self, context: &ItemContext, input: Payload) -> Result<Payload> {
        let windows = self.items.for_batch(context);
        let mut windows = windows.lock().unwrap_or_else(PoisonError::into_inner);
        self.compute(&input, &mut windows)
    }

    fn finish_item(&self, item_id: &str) {
        self.items.finish_item(item_id);
    }

    fn state_scope(&self) -> StateScope {
        self.items.scope()
    }

    fn save_state(&self, source_id: &str) -> Result<Option<serde_json::Value>> {
        self.items.save(source_id)
    }

    fn restore_state(&self, source_id: &str, state: Option<serde_json::Value>) -> Result<()> {
        self.items.restore(source_id, state, |_| {})
    }
}

/// `"5m"` → microseconds; a configuration error on `duration` otherwise.
fn parse_duration(text: &str) -> Result<i64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let per_unit: i64 = match unit.trim() {
        "ms" => 1_000,
        "s" => 1_000_000,
        "m" | "min" => 60_000_000,
        "h" => 3_600_000_000,
        "d" => 86_400_000_000,
        _ => {
            return Err(Error::configuration(format!(
                "`duration` {text:?}: the unit must be ms, s, m (or min), h or d"
            )));
        }
    };
    number
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(per_unit))
        .filter(|span| *span > 0)
        .ok_or_else(|| {
            Error::configuration(format!(
                "`duration` {text:?} must be a positive whole number of its unit"
            ))
        })
}

/// Floats as their IEEE bits: JSON has no NaN or infinity, and a decimal round trip is not
/// exact for every value.
mod float_bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.to_bits())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        u64::deserialize(d).map(f64::from_bits)
    }

    pub(super) mod deque {
        use std::collections::VecDeque;

        use serde::{Deserialize, Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(
            values: &VecDeque<f64>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            s.collect_seq(values.iter().map(|v| v.to_bits()))
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<VecDeque<f64>, D::Error> {
            Vec::<u64>::deserialize(d).map(|bits| bits.into_iter().map(f64::from_bits).collect())
        }
    }
}
