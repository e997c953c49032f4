//! [`PeakDetection`]: the peaks of a series per key, with the semantics of
//! `scipy.signal.find_peaks`, carried across batches and items.

mod config;
mod groups;
mod output;
mod series;

use std::sync::PoisonError;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::cast::{CastOptions, can_cast_types, cast_with_options};
use arrow_schema::DataType;
use async_trait::async_trait;
use collectors_core::{Error, ItemContext, Payload, Processor, Result, StateScope};

use crate::keyed_state::KeyedState;
pub use config::{Interval, PeakDetectionConfig};
use groups::{Groups, Keys};
use series::{Peak, Rules};

/// Finds the peaks of the series of `value` per `key`, as
/// [`scipy.signal.find_peaks`](https://docs.scipy.org/doc/scipy/reference/generated/scipy.signal.find_peaks.html)
/// does on each key's series taken whole: `height`, `threshold`, `distance`, `prominence`,
/// `width` (at `rel_height`) and `plateau_size`, with SciPy's arithmetic, so indices are
/// equal and properties equal to the last bit.
///
/// # Output: one row per peak
///
/// Each call returns a table of the peaks decided by that batch (often none: an empty
/// table), in series order per key, with the columns below. A peak that waits for its
/// right base does not hold back later ones, so across tables the indices of a key may go
/// back; sorted by key and `index`, all tables together are SciPy's result.
///
/// | column | type | when | what |
/// |---|---|---|---|
/// | *key* | `Int64` for integer keys, else `Utf8` | `key` is set | the series |
/// | `index` | `UInt64` | always | position in the key's series, from 0, counted across batches and items |
/// | `value` | `Float64` | always | the peak's value (SciPy's `peak_heights`) |
/// | `left_threshold`, `right_threshold` | `Float64` | `threshold` | |
/// | `plateau_size`, `left_edge`, `right_edge` | `UInt64` | `plateau_size` | |
/// | `prominence`, `left_base`, `right_base` | `Float64`, `UInt64`, `UInt64` | `prominence` or `width` | |
/// | `width`, `width_height`, `left_ip`, `right_ip` | `Float64` | `width` | |
///
/// # When a peak is decided
///
/// A peak is known once the next lower sample follows its top; with `distance`, once no
/// later peak can come within `distance` and its higher neighbours are decided; with
/// `prominence` or `width`, once a higher sample (or NaN) follows it, since its right base
/// lies before that. Peaks still open at the end of the input (the highest of a series
/// always is) are decided by [`finish`](PeakDetection::finish), which treats the samples
/// seen as the whole series, and by plain [`process`](Processor::process), which takes its
/// one batch as the whole series.
///
/// # State
///
/// Series carry across the batches of a source's items, in order ([`StateScope::Source`]),
/// and are checkpointed with each item ([`save_state`](Processor::save_state)), so a series
/// split into `part-00 … part-NN` gives the peaks of one file. What a series keeps is what a
/// later peak can still need: the chains of previous greater and previous smaller samples
/// and the peaks not yet decided, a few dozen values on noisy data; a long monotone run
/// keeps its samples until it turns. With [`per_item`](PeakDetectionConfig::per_item) each
/// item is a series of its own ([`StateScope::Item`]).
///
/// # Nulls, NaN and infinities
///
/// A null value counts as NaN: it takes its place in the series, is never a peak, and no
/// flat top, base or width reaches across it, as in SciPy. Infinities compare as IEEE
/// values (an infinite peak has an infinite prominence).
///
/// # Ties
///
/// With `distance`, SciPy removes the smaller of two close peaks; for two of equal height
/// the order of NumPy's (unstable) `argsort` decides, which SciPy does not define. Here the
/// later of the two is kept, as a stable sort would order them.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch};
/// use arrow_array::cast::AsArray;
/// use arrow_array::types::UInt64Type;
/// use collectors_core::{ItemContext, Payload, Processor};
/// use collectors_processors::{Interval, PeakDetection, PeakDetectionConfig};
///
/// let peaks = PeakDetection::new(
///     PeakDetectionConfig::new(None, "v").with_prominence(Interval::Min(1.0)),
/// )?;
/// let batch = |values: Vec<f64>| {
///     RecordBatch::try_from_iter([("v", Arc::new(Float64Array::from(values)) as _)]).unwrap()
/// };
/// let context = |batch_index| ItemContext {
///     source_id: "sensor".into(),
///     item_id: "day-1.csv".into(),
///     batch_index,
/// };
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// // The peak at 2 straddles the batches; the one at 5 waits for the end of the input.
/// let first = peaks.process_in(&context(0), batch(vec![0.0, 1.0, 3.0]).into()).await?;
/// let second = peaks.process_in(&context(1), batch(vec![0.5, 2.0, 5.0, 4.0]).into()).await?;
/// peaks.finish_item("day-1.csv");
/// let last = peaks.finish("sensor")?;
///
/// assert_eq!(first.num_rows(), Some(0));
/// let index = |out: &Payload| out.as_table().unwrap().column_by_name("index").unwrap()
///     .as_primitive::<UInt64Type>().values().to_vec();
/// assert_eq!(index(&second), vec![2]);
/// assert_eq!(index(&last), vec![5]);
/// # Ok::<(), collectors_core::Error>(())
/// # })?;
/// # Ok::<(), collectors_core::Error>(())
/// ```
#[derive(Debug)]
pub struct PeakDetection {
    config: PeakDetectionConfig,
    rules: Rules,
    name: String,
    /// The series of each source (or, per item, of each item in progress).
    states: KeyedState<Groups>,
}

impl PeakDetection {
    /// A processor named `"peak_detection"`, or a configuration error, starting with the
    /// key in backticks, when `distance` is below 1, `rel_height` below 0, a bound is NaN,
    /// a column name is empty or the key column is named like an output column.
    pub fn new(config: PeakDetectionConfig) -> Result<Self> {
        config.check()?;
        if let Some(key) = &config.key
            && output::COLUMNS.contains(&key.as_str())
        {
            return Err(Error::configuration(format!(
                "`key`: {key:?} is the name of an output column; rename it first"
            )));
        }
        let rules = Rules {
            height: config.height,
            threshold: config.threshold,
            plateau_size: config.plateau_size,
            // `distance` is checked finite and ≥ 1 above.
            distance: config.distance.map(|d| d.ceil() as u64),
            prominence: config.prominence,
            width: config.width,
            rel_height: config.rel_height.unwrap_or(0.5),
            bases: config.needs_prominence(),
        };
        Ok(Self {
            states: KeyedState::new(config.per_item, "peak detection state"),
            config,
            rules,
            name: "peak_detection".to_owned(),
        })
    }

    /// The same processor under another name (names must be unique in a pipeline).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The configuration.
    pub fn config(&self) -> &PeakDetectionConfig {
        &self.config
    }

    /// The names of the output table's columns, in order (see the table above).
    ///
    /// ```
    /// use collectors_processors::{Interval, PeakDetection, PeakDetectionConfig};
    ///
    /// let peaks = PeakDetection::new(
    ///     PeakDetectionConfig::new(Some("sensor"), "v").with_prominence(Interval::Min(1.0)),
    /// )?;
    /// assert_eq!(
    ///     peaks.output_columns(),
    ///     ["sensor", "index", "value", "prominence", "left_base", "right_base"]
    /// );
    /// # Ok::<(), collectors_core::Error>(())
    /// ```
    pub fn output_columns(&self) -> Vec<String> {
        output::names(&self.config)
    }

    /// Ends the series of `id` (a source id, or an item id with
    /// [`per_item`](PeakDetectionConfig::per_item)) as if no sample followed: returns the
    /// peaks still undecided, in the same table shape as
    /// [`process_in`](Processor::process_in), and forgets the series.
    pub fn finish(&self, id: &str) -> Result<Payload> {
        let state = self.states.remove(id);
        let mut peaks = Vec::new();
        let mut int_keys = false;
        if let Some(state) = state {
            let mut groups = state.lock().unwrap_or_else(PoisonError::into_inner);
            for (at, (key, series)) in groups.series.iter_mut().enumerate() {
                int_keys |= matches!(key, groups::GroupKey::Int(_));
                let mut found = Vec::new();
                series.finish(&self.rules, &mut found);
                peaks.extend(found.into_iter().map(|p| (at, p)));
            }
            return self.output(&groups, &peaks, int_keys);
        }
        self.output(&Groups::default(), &peaks, int_keys)
    }

    fn invalid(&self, message: String) -> Error {
        Error::validation(message).with_component(self.name.clone())
    }

    /// The batch, its values as floats and its keys.
    fn prepare<'p>(&self, input: &'p Payload) -> Result<(&'p RecordBatch, ArrayRef, Keys)> {
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
        let strict = CastOptions {
            safe: false,
            ..Default::default()
        };
        let value = cast_with_options(value, &DataType::Float64, &strict).map_err(|e| {
            self.invalid(format!("cannot read {:?} as Float64", self.config.value))
                .with_source(e)
        })?;
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
                let cannot = || {
                    self.invalid(format!(
                        "cannot group by {name:?} of type {}",
                        key.data_type()
                    ))
                };
                if !can_cast_types(key.data_type(), &target) {
                    return Err(cannot());
                }
                let cast = cast_with_options(key, &target, &strict)
                    .map_err(|e| cannot().with_source(e))?;
                if target == DataType::Int64 {
                    Keys::Int(cast)
                } else {
                    Keys::Text(cast)
                }
            }
        };
        Ok((batch, value, keys))
    }

    /// Feeds one batch to `groups` and returns the peaks it decided; `end`: the batch ends
    /// the input.
    fn run(&self, input: &Payload, groups: &mut Groups, end: bool) -> Result<Payload> {
        let (batch, values, keys) = self.prepare(input)?;
        let values = values.as_primitive::<Float64Type>();
        let mut touched = vec![false; groups.series.len()];
        let mut order = Vec::new();
        for row in 0..batch.num_rows() {
            let at = groups.slot(&keys, row);
            if touched.len() <= at {
                touched.resize(at + 1, false);
            }
            if !touched[at] {
                touched[at] = true;
                order.push(at);
            }
            let x = if values.is_null(row) {
                f64::NAN
            } else {
                values.value(row)
            };
            if let Some((_, series)) = groups.series.get_mut(at) {
                series.push(x, &self.rules);
            }
        }
        if end {
            order = (0..groups.series.len()).collect();
        }
        let mut peaks: Vec<(usize, Peak)> = Vec::new();
        for at in order {
            let Some((_, series)) = groups.series.get_mut(at) else {
                continue;
            };
            let mut found = Vec::new();
            if end {
                series.finish(&self.rules, &mut found);
            } else {
                series.emit(false, &self.rules, &mut found);
            }
            peaks.extend(found.into_iter().map(|p| (at, p)));
        }
        let int_keys = matches!(keys, Keys::Int(_));
        self.output(groups, &peaks, int_keys)
    }

    fn output(&self, groups: &Groups, peaks: &[(usize, Peak)], int_keys: bool) -> Result<Payload> {
        output::table(
            self.config.key.as_deref(),
            &self.config,
            groups,
            peaks,
            int_keys,
        )
        .map(Payload::Table)
        .map_err(|e| {
            Error::processing("cannot build the peaks table")
                .with_component(self.name.clone())
                .with_source(e)
        })
    }

    /// How many samples the series of `id` (a source id, or an item id with `per_item`)
    /// have seen, per key in first-seen order; empty when none is held.
    pub fn samples_seen(&self, id: &str) -> Vec<u64> {
        let state = self.states.get(id);
        state.map_or_else(Vec::new, |state| {
            let groups = state.lock().unwrap_or_else(PoisonError::into_inner);
            groups.series.iter().map(|(_, s)| s.len()).collect()
        })
    }
}

#[async_trait]
impl Processor for PeakDetection {
    fn name(&self) -> &str {
        &self.name
    }

    fn validate_input(&self, input: &Payload) -> Result<()> {
        self.prepare(input).map(|_| ())
    }

    /// Takes `input` as a whole series (per key): every peak is decided.
    async fn process(&self, input: Payload) -> Result<Payload> {
        self.run(&input, &mut Groups::default(), true)
    }

    async fn process_in(&self, context: &ItemContext, input: Payload) -> Result<Payload> {
        let state = self.states.for_batch(context);
        let mut groups = state.lock().unwrap_or_else(PoisonError::into_inner);
        self.run(&input, &mut groups, false)
    }

    /// With [`per_item`](PeakDetectionConfig::per_item) the series ends with the item: the
    /// peaks still undecided come out (see [`finish`](Self::finish)). A series that spans
    /// the source's items keeps them until later samples decide them.
    async fn flush_item(&self, context: &ItemContext) -> Result<Option<Payload>> {
        if self.states.scope() != StateScope::Item {
            return Ok(None);
        }
        let peaks = self.finish(&context.item_id)?;
        Ok((peaks.as_table().is_ok_and(|t| t.num_rows() > 0)).then_some(peaks))
    }

    fn finish_item(&self, item_id: &str) {
        self.states.finish_item(item_id);
    }

    fn state_scope(&self) -> StateScope {
        self.states.scope()
    }

    fn save_state(&self, source_id: &str) -> Result<Option<serde_json::Value>> {
        self.states.save(source_id)
    }

    fn restore_state(&self, source_id: &str, state: Option<serde_json::Value>) -> Result<()> {
        self.states.restore(source_id, state, Groups::reindex)
    }
}
