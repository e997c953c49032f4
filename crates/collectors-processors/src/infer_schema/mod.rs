//! [`InferSchema`]: column types inferred from text, fixed per source, with a
//! schema-evolution report and dlt-style contracts for later changes.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, new_null_array};
use arrow_cast::cast::{CastOptions, cast_with_options};
use arrow_schema::{DataType, Field, Schema};
use arrow_select::filter::filter_record_batch;
use async_trait::async_trait;
use collectors_core::{
    Error, EventEmitter, EventType, ItemContext, Payload, Processor, RejectedRows, Result,
    StateScope, SystemEvent,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ColumnType;
use crate::keyed_state::KeyedState;

/// What [`InferSchema`] does when a later batch does not fit the schema fixed so far (as
/// dlt's schema contracts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SchemaPolicy {
    /// Accept the change: a new column is added, a missing one is null, a value that does
    /// not fit widens the column's type (`int64` → `float64` → `utf8`, `boolean` or
    /// `timestamp` → `utf8`). Default.
    #[default]
    Evolve,
    /// Refuse the change: the batch fails with a validation error naming the column.
    Freeze,
    /// Keep the schema and refuse the rows that do not fit it (dead-lettered with the
    /// reason): a value that cannot be read as its column's type, or any value in a new
    /// column. A missing column is null.
    DiscardRow,
}

/// What an [`InferSchema`] infers and how it treats changes.
///
/// ```
/// use collectors_processors::{InferSchemaConfig, SchemaPolicy};
///
/// let config: InferSchemaConfig = serde_json::from_str(r#"{"policy": "freeze"}"#).unwrap();
/// assert_eq!(config.policy, SchemaPolicy::Freeze);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct InferSchemaConfig {
    /// What a change does (default `evolve`).
    #[serde(default)]
    pub policy: SchemaPolicy,
    /// Schema per item instead of per source (default `false`: the first item fixes it and
    /// later items are checked against it).
    #[serde(default)]
    pub per_item: bool,
}

/// One change of the schema, as the evolution report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaChange {
    /// The column.
    pub column: String,
    /// `added`, `dropped` (missing from a batch) or `type_changed`.
    pub change: String,
    /// The type before (`None` for an added column).
    pub from: Option<ColumnType>,
    /// The type after (`None` for a dropped column).
    pub to: Option<ColumnType>,
    /// Where it was seen first.
    pub item_id: String,
    /// The batch of the item.
    pub batch_index: u64,
    /// What the policy did: `evolved`, `refused` or `rows_discarded`.
    pub outcome: String,
}

/// The schema of one source (or item), and its history.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Known {
    columns: Vec<(String, ColumnType)>,
    changes: Vec<SchemaChange>,
    /// Whether a batch fixed the schema yet.
    fixed: bool,
}

/// Reads text columns as the narrowest type all their values fit — `int64`, `float64`,
/// `boolean`, `timestamp` (RFC 3339 or `YYYY-MM-DD HH:MM:SS`, UTC), else `utf8` — and keeps
/// that schema for the rest of the source (the first batch with a column fixes its type).
/// Columns that already have a type keep it. Later batches are checked against the schema:
/// a new column, a missing one, or a value that does not fit its column's type is a change,
/// handled by [`SchemaPolicy`] and recorded in the schema-evolution report
/// ([`changes`](InferSchema::changes), checkpointed with the schema).
///
/// The output has the schema's columns in order (a missing one as nulls under `evolve` and
/// `discard_row`), each cast with arrow-cast; inference tries each type with a safe cast of
/// the whole column, never row by row.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{RecordBatch, StringArray};
/// use arrow_schema::DataType;
/// use collectors_core::{ItemContext, Payload, Processor};
/// use collectors_processors::{InferSchema, InferSchemaConfig};
///
/// let infer = InferSchema::new(InferSchemaConfig::default());
/// let batch = |n: &str| -> Payload {
///     RecordBatch::try_from_iter([("n", Arc::new(StringArray::from(vec![n])) as _)]).unwrap().into()
/// };
/// let context = |item: &str| ItemContext { source_id: "s".into(), item_id: item.into(), batch_index: 0 };
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let out = infer.process_in(&context("a.csv"), batch("7")).await?;
/// assert_eq!(out.as_table()?.schema().field(0).data_type(), &DataType::Int64);
/// let out = infer.process_in(&context("b.csv"), batch("7.5")).await?;
/// assert_eq!(out.as_table()?.schema().field(0).data_type(), &DataType::Float64);
/// assert_eq!(infer.changes("s")[0].change, "type_changed");
/// # Ok::<(), collectors_core::Error>(())
/// # })?;
/// # Ok::<(), collectors_core::Error>(())
/// ```
pub struct InferSchema {
    config: InferSchemaConfig,
    name: String,
    events: Option<Arc<dyn EventEmitter>>,
    states: KeyedState<Known>,
}

impl std::fmt::Debug for InferSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InferSchema")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("events", &self.events.is_some())
            .finish()
    }
}

/// The `kind` of the data of the events an [`InferSchema`] emits when a batch changes the
/// schema: `{"kind": "schema_evolution", "source_id", "item_id", "batch_index", "changes":
/// [SchemaChange, …]}`.
pub const SCHEMA_EVENT_KIND: &str = "schema_evolution";

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// The column type of an Arrow type, when it is one of ours.
fn column_type_of(t: &DataType) -> Option<ColumnType> {
    [
        ColumnType::Int64,
        ColumnType::Float64,
        ColumnType::Boolean,
        ColumnType::Timestamp,
        ColumnType::Utf8,
    ]
    .into_iter()
    .find(|c| &c.data_type() == t)
}

/// The types a value of `from` may widen to, narrowest first.
fn wider(from: ColumnType) -> &'static [ColumnType] {
    match from {
        ColumnType::Int64 => &[ColumnType::Int64, ColumnType::Float64, ColumnType::Utf8],
        ColumnType::Float64 => &[ColumnType::Float64, ColumnType::Utf8],
        ColumnType::Boolean => &[ColumnType::Boolean, ColumnType::Utf8],
        ColumnType::Timestamp => &[ColumnType::Timestamp, ColumnType::Utf8],
        ColumnType::Utf8 => &[ColumnType::Utf8],
    }
}

const INFERRED: &[ColumnType] = &[
    ColumnType::Int64,
    ColumnType::Float64,
    ColumnType::Boolean,
    ColumnType::Timestamp,
    ColumnType::Utf8,
];

/// `column` read as `to`; the rows present in `column` but not readable as `to`.
fn read_as(column: &ArrayRef, to: ColumnType) -> Result<(ArrayRef, Vec<usize>)> {
    let target = to.data_type();
    if column.data_type() == &target {
        return Ok((column.clone(), Vec::new()));
    }
    let lenient = CastOptions::default();
    let read = cast_with_options(column, &target, &lenient).map_err(|e| {
        Error::validation(format!("cannot read {} as {target}", column.data_type())).with_source(e)
    })?;
    let unread = (0..column.len())
        .filter(|&r| column.is_valid(r) && read.is_null(r))
        .collect();
    Ok((read, unread))
}

/// The first of `candidates` every value of `column` fits, and the column read as it.
fn narrowest(column: &ArrayRef, candidates: &[ColumnType]) -> Result<(ColumnType, ArrayRef)> {
    for &candidate in candidates {
        if let Ok((read, unread)) = read_as(column, candidate)
            && unread.is_empty()
        {
            return Ok((candidate, read));
        }
    }
    let (read, _) = read_as(column, ColumnType::Utf8)?;
    Ok((ColumnType::Utf8, read))
}

impl InferSchema {
    /// A processor named `"infer_schema"`.
    pub fn new(config: InferSchemaConfig) -> Self {
        Self {
            states: KeyedState::new(config.per_item, "inferred schema"),
            config,
            name: "infer_schema".to_owned(),
            events: None,
        }
    }

    /// The same processor under another name (names must be unique in a pipeline).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Emits each batch's schema changes on `events`, as a [`SystemEvent`] of type
    /// [`EventType::Custom`] from the processor's name (see [`SCHEMA_EVENT_KIND`]).
    #[must_use]
    pub fn with_events(mut self, events: Arc<dyn EventEmitter>) -> Self {
        self.events = Some(events);
        self
    }

    /// The schema-evolution report of `id` (a source id, or an item id with `per_item`):
    /// every change seen, in order.
    pub fn changes(&self, id: &str) -> Vec<SchemaChange> {
        self.states
            .entry(id, false)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .changes
            .clone()
    }

    /// The schema fixed so far for `id`, in column order.
    pub fn schema(&self, id: &str) -> Vec<(String, ColumnType)> {
        self.states
            .entry(id, false)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .columns
            .clone()
    }

    fn invalid(&self, message: String) -> Error {
        Error::validation(message).with_component(self.name.clone())
    }

    /// Fits `batch` to the schema of `known`, evolving it as the policy allows.
    fn fit(
        &self,
        batch: &RecordBatch,
        known: &mut Known,
        context: &ItemContext,
    ) -> Result<(RecordBatch, Option<RejectedRows>)> {
        let policy = self.config.policy;
        let first = !known.fixed;
        let mut refused: Vec<Option<String>> = vec![None; batch.num_rows()];
        let mut refuse = |row: usize, reason: String| {
            if let Some(slot) = refused.get_mut(row) {
                match slot {
                    Some(r) => {
                        r.push_str("; ");
                        r.push_str(&reason);
                    }
                    None => *slot = Some(reason),
                }
            }
        };
        let mut changes = Vec::new();
        let change = |column: &str, change: &str, from, to, outcome: &str| SchemaChange {
            column: column.to_owned(),
            change: change.to_owned(),
            from,
            to,
            item_id: context.item_id.clone(),
            batch_index: context.batch_index,
            outcome: outcome.to_owned(),
        };
        let mut out: HashMap<String, ArrayRef> = HashMap::new();
        for (field, column) in batch.schema_ref().fields().iter().zip(batch.columns()) {
            let name = field.name();
            let position = known.columns.iter().position(|(n, _)| n == name);
            match position {
                None => {
                    let (column_type, read) = if is_text(column.data_type()) {
                        narrowest(column, INFERRED)?
                    } else {
                        match column_type_of(column.data_type()) {
                            Some(t) => (t, column.clone()),
                            None => (ColumnType::Utf8, read_as(column, ColumnType::Utf8)?.0),
                        }
                    };
                    if first {
                        known.columns.push((name.clone(), column_type));
                        out.insert(name.clone(), read);
                        continue;
                    }
                    match policy {
                        SchemaPolicy::Evolve => {
                            changes.push(change(name, "added", None, Some(column_type), "evolved"));
                            known.columns.push((name.clone(), column_type));
                            out.insert(name.clone(), read);
                        }
                        SchemaPolicy::Freeze => {
                            return Err(
                                self.invalid(format!("new column {name:?} (the schema is frozen)"))
                            );
                        }
                        SchemaPolicy::DiscardRow => {
                            for row in (0..column.len()).filter(|&r| column.is_valid(r)) {
                                refuse(row, format!("{name}: not in the schema"));
                            }
                            let reported = known
                                .changes
                                .iter()
                                .any(|c| &c.column == name && c.change == "added");
                            if !reported {
                                known_change(
                                    &mut changes,
                                    change(
                                        name,
                                        "added",
                                        None,
                                        Some(column_type),
                                        "rows_discarded",
                                    ),
                                );
                            }
                        }
                    }
                }
                Some(at) => {
                    let current = known.columns[at].1;
                    let (read, unread) = read_as(column, current)?;
                    if unread.is_empty() {
                        out.insert(name.clone(), read);
                        continue;
                    }
                    match policy {
                        SchemaPolicy::Evolve => {
                            let (widened, read) = narrowest(column, wider(current))?;
                            changes.push(change(
                                name,
                                "type_changed",
                                Some(current),
                                Some(widened),
                                "evolved",
                            ));
                            known.columns[at].1 = widened;
                            out.insert(name.clone(), read);
                        }
                        SchemaPolicy::Freeze => {
                            return Err(self.invalid(format!(
                                "column {name:?} has values that are not {current:?} (the schema is frozen)"
                            )));
                        }
                        SchemaPolicy::DiscardRow => {
                            for row in unread {
                                refuse(row, format!("{name}: not a {current:?} value"));
                            }
                            out.insert(name.clone(), read);
                        }
                    }
                }
            }
        }
        known.fixed = true;
        let mut fields = Vec::with_capacity(known.columns.len());
        let mut columns = Vec::with_capacity(known.columns.len());
        for (name, column_type) in &known.columns {
            let column = match out.remove(name) {
                Some(column) => column,
                None => {
                    if policy == SchemaPolicy::Freeze {
                        return Err(self.invalid(format!(
                            "column {name:?} is missing (the schema is frozen)"
                        )));
                    }
                    let outcome = "evolved";
                    if !known
                        .changes
                        .iter()
                        .chain(&changes)
                        .any(|c| &c.column == name && c.change == "dropped")
                    {
                        changes.push(change(name, "dropped", Some(*column_type), None, outcome));
                    }
                    new_null_array(&column_type.data_type(), batch.num_rows())
                }
            };
            fields.push(Field::new(name, column_type.data_type(), true));
            columns.push(column);
        }
        for c in &changes {
            tracing::info!(processor = %self.name, column = %c.column, change = %c.change, outcome = %c.outcome, "schema change");
        }
        known.changes.extend(changes);
        let typed = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .map_err(|e| Error::processing("cannot build the typed batch").with_source(e))?;
        if refused.iter().all(Option::is_none) {
            return Ok((typed, None));
        }
        let keep = BooleanArray::from(refused.iter().map(Option::is_none).collect::<Vec<_>>());
        let drop = BooleanArray::from(refused.iter().map(Option::is_some).collect::<Vec<_>>());
        let valid = filter_record_batch(&typed, &keep)
            .map_err(|e| Error::processing("cannot select rows").with_source(e))?;
        let rejected = filter_record_batch(batch, &drop)
            .map_err(|e| Error::processing("cannot select rows").with_source(e))?;
        let reasons = refused.into_iter().flatten().collect();
        Ok((
            valid,
            Some(RejectedRows::new(self.name.clone(), rejected, reasons)?),
        ))
    }

    async fn run(
        &self,
        context: &ItemContext,
        input: Payload,
    ) -> Result<(Payload, Option<RejectedRows>)> {
        let batch = input
            .as_table()
            .map_err(|e| e.with_component(self.name.clone()))?;
        let state = self.states.for_batch(context);
        let (out, refused, new_changes) = {
            let mut known = state.lock().unwrap_or_else(PoisonError::into_inner);
            let before = known.changes.len();
            let (out, refused) = self.fit(batch, &mut known, context)?;
            (out, refused, known.changes[before..].to_vec())
        };
        if !new_changes.is_empty() {
            self.emit(context, &new_changes).await;
        }
        Ok((Payload::Table(out), refused))
    }

    /// Tells the event bus about the changes a batch brought (see
    /// [`with_events`](Self::with_events)).
    async fn emit(&self, context: &ItemContext, changes: &[SchemaChange]) {
        let Some(events) = &self.events else {
            return;
        };
        let event = SystemEvent::new(EventType::Custom, self.name.clone()).with_data(json!({
            "kind": SCHEMA_EVENT_KIND,
            "source_id": context.source_id,
            "item_id": context.item_id,
            "batch_index": context.batch_index,
            "changes": changes,
        }));
        if let Err(e) = events.emit(event).await {
            tracing::warn!(processor = %self.name, error = %e, "could not emit the schema changes");
        }
    }
}

/// Records a discard-row change once per column.
fn known_change(changes: &mut Vec<SchemaChange>, change: SchemaChange) {
    if !changes
        .iter()
        .any(|c| c.column == change.column && c.change == change.change)
    {
        changes.push(change);
    }
}

#[async_trait]
impl Processor for InferSchema {
    fn name(&self) -> &str {
        &self.name
    }

    fn validate_input(&self, input: &Payload) -> Result<()> {
        input
            .as_table()
            .map(|_| ())
            .map_err(|e| e.with_component(self.name.clone()))
    }

    /// Infers the schema of `input` alone.
    async fn process(&self, input: Payload) -> Result<Payload> {
        let batch = input
            .as_table()
            .map_err(|e| e.with_component(self.name.clone()))?;
        let context = ItemContext {
            source_id: String::new(),
            item_id: String::new(),
            batch_index: 0,
        };
        self.fit(batch, &mut Known::default(), &context)
            .map(|(out, _)| Payload::Table(out))
    }

    async fn process_in(&self, context: &ItemContext, input: Payload) -> Result<Payload> {
        let (out, refused) = self.run(context, input).await?;
        match refused {
            None => Ok(out),
            Some(refused) => Err(self.invalid(format!(
                "{} rows do not fit the schema: {}",
                refused.len(),
                refused
                    .reasons()
                    .first()
                    .map(String::as_str)
                    .unwrap_or_default()
            ))),
        }
    }

    async fn process_rows(
        &self,
        context: &ItemContext,
        input: Payload,
    ) -> Result<(Payload, Option<RejectedRows>)> {
        self.run(context, input).await
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
