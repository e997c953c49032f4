//! [`DataQuality`]: per-column profile of the data flowing through, reported as events.

mod config;
mod stats;

use std::sync::{Arc, PoisonError};

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::cast::{CastOptions, can_cast_types, cast_with_options};
use async_trait::async_trait;
use collectors_core::{
    Error, EventEmitter, EventType, ItemContext, Payload, Processor, QualityEntry, QualityHistory,
    Result, StateScope, SystemEvent,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::keyed_state::KeyedState;
pub use config::{DataQualityConfig, ValueRange};
use stats::ColumnStats;
pub use stats::MAX_DISTINCT;

/// The `kind` of the data of the events a [`DataQuality`] emits.
pub const QUALITY_EVENT_KIND: &str = "data_quality";

/// Profiles the columns of the tables flowing through and passes them on unchanged.
///
/// Per column it counts rows, nulls (and their rate), NaN, distinct values and duplicates
/// (present values that repeat an earlier one), type errors (values that cannot be read as
/// the type declared in [`types`](DataQualityConfig::types)) and values outside the declared
/// [`ranges`](DataQualityConfig::ranges), and for numeric columns min, max, mean and the
/// sample standard deviation (ddof 1, as pandas), NaN left out. The statistics accumulate
/// over the batches of a source's items, in order ([`StateScope::Source`], checkpointed with
/// each item), or per item with [`per_item`](DataQualityConfig::per_item).
///
/// # The report
///
/// After every batch (or once [`report_every_rows`](DataQualityConfig::report_every_rows)
/// rows came since the last), the report so far is emitted on the event bus given to
/// [`with_events`](DataQuality::with_events), as a [`SystemEvent`] of type
/// [`EventType::Custom`] from the processor's name, whose data is
/// `{"kind": "data_quality", "report": REPORT}`; [`report`](DataQuality::report) returns
/// the latest. `REPORT` is a JSON document:
///
/// ```json
/// {"source_id": "sensors", "item_id": "part-01.csv", "batch_index": 3, "rows": 40000,
///  "score": 0.9987,
///  "columns": [{"name": "value", "type": "Float64", "rows": 40000, "nulls": 12,
///               "null_rate": 0.0003, "nan": 0, "type_errors": 0, "out_of_range": 40,
///               "distinct": 3921, "distinct_exact": true, "duplicates": 36067,
///               "min": -3.5, "max": 99.0, "mean": 21.4, "stddev": 4.2}]}
/// ```
///
/// `score` is the share of good cells: 1 − (nulls + NaN + type errors + values out of range +
/// duplicates of [`unique`](DataQualityConfig::unique) columns) / (rows × columns profiled).
/// Distinct values are counted exactly through 64-bit hashes, up to [`MAX_DISTINCT`] per
/// column (then `distinct_exact` is false and `duplicates` null); a statistic that does not
/// apply (`mean` of text) is absent, one without data (`stddev` of one value) is null.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch, StringArray};
/// use collectors_core::{Payload, Processor};
/// use collectors_processors::{DataQuality, DataQualityConfig};
///
/// let quality = DataQuality::new(DataQualityConfig::new().with_range("v", Some(0.0), Some(10.0)))?;
/// let batch = RecordBatch::try_from_iter([
///     ("id", Arc::new(StringArray::from(vec![Some("a"), Some("b"), Some("b"), None])) as _),
///     ("v", Arc::new(Float64Array::from(vec![Some(1.0), Some(20.0), Some(3.0), Some(4.0)])) as _),
/// ])
/// .unwrap();
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let out = quality.process(Payload::Table(batch.clone())).await?;
/// assert_eq!(out, Payload::Table(batch)); // passed on unchanged
/// let report = quality.report("").unwrap();
/// assert_eq!(report["columns"][0]["nulls"], 1);
/// assert_eq!(report["columns"][0]["duplicates"], 1);
/// assert_eq!(report["columns"][1]["out_of_range"], 1);
/// assert_eq!(report["columns"][1]["mean"], 7.0);
/// assert_eq!(report["score"], 1.0 - 2.0 / 8.0);
/// # Ok::<(), collectors_core::Error>(())
/// # })?;
/// # Ok::<(), collectors_core::Error>(())
/// ```
pub struct DataQuality {
    config: DataQualityConfig,
    name: String,
    events: Option<Arc<dyn EventEmitter>>,
    /// Where the report is kept when an item ends, and the pipeline it is kept under.
    history: Option<(Arc<dyn QualityHistory>, String)>,
    /// The profile of each source (or item); `""`: the last plain `process`.
    states: KeyedState<Profile>,
}

impl std::fmt::Debug for DataQuality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataQuality")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("events", &self.events.is_some())
            .field(
                "history",
                &self.history.as_ref().map(|(_, pipeline)| pipeline),
            )
            .finish()
    }
}

/// The statistics of one source (or item). Serializable, floats bit for bit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Profile {
    columns: Vec<(String, ColumnStats)>,
    rows: u64,
    rows_since_report: u64,
    last_report: Option<serde_json::Value>,
}

impl DataQuality {
    /// A processor named `"data_quality"`, or a configuration error (a NaN or inverted
    /// range, an empty column name, `report_every_rows` 0) starting with the key in
    /// backticks.
    pub fn new(config: DataQualityConfig) -> Result<Self> {
        config.check()?;
        Ok(Self {
            states: KeyedState::new(config.per_item, "data quality state"),
            config,
            name: "data_quality".to_owned(),
            events: None,
            history: None,
        })
    }

    /// The same processor under another name (names must be unique in a pipeline).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Emits the reports on `events`.
    #[must_use]
    pub fn with_events(mut self, events: Arc<dyn EventEmitter>) -> Self {
        self.events = Some(events);
        self
    }

    /// Keeps the report in `history`, under `pipeline`, each time an item ends (through the
    /// engine: [`Processor::flush_item`]), so quality can be followed from item to item and
    /// run to run. With source state the report kept is the source's profile so far. A
    /// report that cannot be kept is logged (a warning) and the data goes on: the history
    /// watches the data, it is not the data.
    #[must_use]
    pub fn with_history(
        mut self,
        history: Arc<dyn QualityHistory>,
        pipeline: impl Into<String>,
    ) -> Self {
        self.history = Some((history, pipeline.into()));
        self
    }

    /// The configuration.
    pub fn config(&self) -> &DataQualityConfig {
        &self.config
    }

    /// The latest report of `id` (a source id, an item id with `per_item`, or `""` for
    /// plain [`process`](Processor::process)).
    pub fn report(&self, id: &str) -> Option<serde_json::Value> {
        let state = self.states.get(id)?;
        let profile = state.lock().unwrap_or_else(PoisonError::into_inner);
        profile.last_report.clone()
    }

    fn invalid(&self, message: String) -> Error {
        Error::validation(message).with_component(self.name.clone())
    }

    /// The batch, and a validation error for a named column it lacks or a range on a
    /// column that is not numeric.
    fn check<'p>(&self, input: &'p Payload) -> Result<&'p RecordBatch> {
        let batch = input
            .as_table()
            .map_err(|e| e.with_component(self.name.clone()))?;
        for column in self.config.named_columns() {
            let Some(array) = batch.column_by_name(column) else {
                let names: Vec<&String> = batch
                    .schema_ref()
                    .fields()
                    .iter()
                    .map(|f| f.name())
                    .collect();
                return Err(self.invalid(format!("no column {column:?} (columns: {names:?})")));
            };
            let read_as = self.config.types.get(column).map(|t| t.data_type());
            let read_type = read_as.as_ref().unwrap_or(array.data_type());
            if let Some(target) = &read_as
                && !can_cast_types(array.data_type(), target)
            {
                return Err(self.invalid(format!(
                    "column {column:?} of type {} cannot be read as {target}",
                    array.data_type()
                )));
            }
            if self.config.ranges.contains_key(column) && !read_type.is_numeric() {
                return Err(self.invalid(format!(
                    "column {column:?} has a range but is {read_type}, not numeric"
                )));
            }
        }
        Ok(batch)
    }

    /// Adds `batch` to `profile`; returns the report when one is due.
    fn profile(
        &self,
        batch: &RecordBatch,
        profile: &mut Profile,
        context: Option<&ItemContext>,
    ) -> Result<Option<serde_json::Value>> {
        let names: Vec<String> = match &self.config.columns {
            Some(columns) => columns.clone(),
            None => batch
                .schema_ref()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect(),
        };
        let lenient = CastOptions::default();
        for name in names {
            let Some(column) = batch.column_by_name(&name) else {
                continue;
            };
            let read: Option<ArrayRef> = match self.config.types.get(&name) {
                None => None,
                Some(column_type) => Some(
                    cast_with_options(column, &column_type.data_type(), &lenient).map_err(|e| {
                        self.invalid(format!("cannot read column {name:?} as {column_type:?}"))
                            .with_source(e)
                    })?,
                ),
            };
            let at = match profile.columns.iter().position(|(n, _)| *n == name) {
                Some(at) => at,
                None => {
                    profile.columns.push((name.clone(), ColumnStats::default()));
                    profile.columns.len() - 1
                }
            };
            if let Some((_, stats)) = profile.columns.get_mut(at) {
                stats.add(
                    column,
                    read.as_ref(),
                    self.config.ranges.get(&name).copied(),
                );
            }
        }
        profile.rows += batch.num_rows() as u64;
        profile.rows_since_report += batch.num_rows() as u64;
        if profile.rows_since_report < self.config.report_every_rows.unwrap_or(1) {
            return Ok(None);
        }
        profile.rows_since_report = 0;
        let report = self.build_report(profile, context);
        profile.last_report = Some(report.clone());
        Ok(Some(report))
    }

    fn build_report(&self, profile: &Profile, context: Option<&ItemContext>) -> serde_json::Value {
        let (cells, bad) = profile
            .columns
            .iter()
            .fold((0u64, 0u64), |(cells, bad), (name, s)| {
                (
                    cells + s.rows(),
                    bad + s.bad_cells(self.config.unique.contains(name)),
                )
            });
        let score = if cells == 0 {
            1.0
        } else {
            1.0 - bad.min(cells) as f64 / cells as f64
        };
        let columns: Vec<serde_json::Value> = profile
            .columns
            .iter()
            .map(|(name, stats)| {
                let mut report = stats.report();
                if let Some(fields) = report.as_object_mut() {
                    fields.insert("name".into(), name.clone().into());
                }
                report
            })
            .collect();
        json!({
            "source_id": context.map(|c| c.source_id.as_str()),
            "item_id": context.map(|c| c.item_id.as_str()),
            "batch_index": context.map(|c| c.batch_index),
            "rows": profile.rows,
            "score": score,
            "columns": columns,
        })
    }

    async fn emit(&self, report: serde_json::Value) {
        let Some(events) = &self.events else {
            return;
        };
        let event = SystemEvent::new(EventType::Custom, self.name.clone())
            .with_data(json!({ "kind": QUALITY_EVENT_KIND, "report": report }));
        if let Err(e) = events.emit(event).await {
            tracing::warn!(processor = %self.name, error = %e, "could not emit the quality report");
        }
    }
}

#[async_trait]
impl Processor for DataQuality {
    fn name(&self) -> &str {
        &self.name
    }

    fn validate_input(&self, input: &Payload) -> Result<()> {
        self.check(input).map(|_| ())
    }

    /// Profiles `input` alone (its report is [`report("")`](DataQuality::report)).
    async fn process(&self, input: Payload) -> Result<Payload> {
        let batch = self.check(&input)?;
        let state = self.states.entry("", true);
        let report = {
            let mut profile = state.lock().unwrap_or_else(PoisonError::into_inner);
            self.profile(batch, &mut profile, None)?;
            let report = self.build_report(&profile, None);
            profile.last_report = Some(report.clone());
            report
        };
        self.emit(report).await;
        Ok(input)
    }

    async fn process_in(&self, context: &ItemContext, input: Payload) -> Result<Payload> {
        let batch = self.check(&input)?;
        let state = self.states.for_batch(context);
        let report = {
            let mut profile = state.lock().unwrap_or_else(PoisonError::into_inner);
            self.profile(batch, &mut profile, Some(context))?
        };
        if let Some(report) = report {
            self.emit(report).await;
        }
        Ok(input)
    }

    /// Keeps the report as it stands at the item's end (see
    /// [`with_history`](Self::with_history)); holds no rows back.
    async fn flush_item(&self, context: &ItemContext) -> Result<Option<Payload>> {
        let (Some((history, pipeline)), Some(state)) =
            (&self.history, self.states.current(context))
        else {
            return Ok(None);
        };
        let (rows, report) = {
            let profile = state.lock().unwrap_or_else(PoisonError::into_inner);
            (profile.rows, self.build_report(&profile, Some(context)))
        };
        if rows == 0 {
            return Ok(None);
        }
        let entry = QualityEntry {
            pipeline: pipeline.clone(),
            processor: self.name.clone(),
            source_id: context.source_id.clone(),
            item_id: context.item_id.clone(),
            recorded_at: chrono::Utc::now(),
            rows,
            score: report["score"].as_f64(),
            report,
        };
        if let Err(e) = history.record(&entry).await {
            tracing::warn!(processor = %self.name, item = %context.item_id, error = %e, "the quality report was not kept");
        }
        Ok(None)
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
        self.states.restore(source_id, state, |_| {})
    }
}
