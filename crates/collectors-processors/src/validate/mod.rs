//! [`Validate`]: rows checked against declared rules; the invalid ones are refused with
//! their reasons, the valid ones go on.

mod config;

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, Float64Array, RecordBatch, Scalar, StringArray};
use arrow_cast::cast::{CastOptions, can_cast_types, cast_with_options};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_ord::cmp;
use arrow_row::{RowConverter, SortField};
use arrow_schema::{DataType, Field, Schema};
use arrow_select::filter::filter_record_batch;
use arrow_string::regexp::regexp_is_match_scalar;
use async_trait::async_trait;
use collectors_core::{Error, ItemContext, Payload, Processor, RejectedRows, Result, StateScope};

pub use config::{ColumnRule, ValidateConfig};

/// Checks each row of a table against declared rules — column types, required columns,
/// nullability, ranges, allowed values, regular expressions, a unique key, a JSON Schema —
/// and refuses the invalid rows with the reasons of each, while the valid rows go on.
///
/// Through the engine ([`process_rows`](Processor::process_rows)) the refused rows are
/// dead-lettered, one letter per batch holding them as they arrived, the reasons in row
/// order in its error's `reasons` detail (`"value: 120 > 85; status: null"`); the valid
/// rows go on, their typed columns cast to the declared types. [`process`](Processor::process)
/// and [`process_in`](Processor::process_in), which have no dead-letter path, fail instead
/// when a row is invalid (a validation error quoting the first reasons).
///
/// A [`Payload::Json`] document is checked against [`json_schema`](ValidateConfig::json_schema)
/// and fails whole; the rows of a table are checked as JSON objects.
///
/// The [`unique`](ValidateConfig::unique) key holds across a source's items, in order
/// ([`StateScope::Source`], checkpointed): the keys seen are kept as 64-bit hashes of
/// Arrow's row format (8 bytes a key), so a source with 10 million keys keeps 80 MB.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch, StringArray};
/// use collectors_core::{ItemContext, Payload, Processor};
/// use collectors_processors::{ColumnRule, ColumnType, Validate, ValidateConfig};
///
/// let validate = Validate::new(
///     ValidateConfig::new()
///         .with_column(ColumnRule::new("value").with_type(ColumnType::Float64).with_range(Some(0.0), Some(100.0)))
///         .with_column(ColumnRule::new("status").with_nullable(false).with_allowed(vec!["ok".into()])),
/// )?;
/// let batch = RecordBatch::try_from_iter([
///     ("value", Arc::new(StringArray::from(vec!["1.5", "abc", "300", "7"])) as _),
///     ("status", Arc::new(StringArray::from(vec![Some("ok"), Some("ok"), Some("ok"), None])) as _),
/// ])
/// .unwrap();
/// let context = ItemContext { source_id: "s".into(), item_id: "a.csv".into(), batch_index: 0 };
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (valid, refused) = validate.process_rows(&context, batch.into()).await?;
/// assert_eq!(valid.num_rows(), Some(1));
/// let refused = refused.unwrap();
/// assert_eq!(refused.reasons(), [
///     "value: \"abc\" is not a float64",
///     "value: 300.0 > 100",
///     "status: null",
/// ]);
/// # Ok::<(), collectors_core::Error>(())
/// # })?;
/// # Ok::<(), collectors_core::Error>(())
/// ```
pub struct Validate {
    config: ValidateConfig,
    name: String,
    schema: Option<jsonschema::Validator>,
    /// The unique keys seen, per source (or item).
    keys: Mutex<HashMap<String, Arc<Mutex<HashSet<u64>>>>>,
}

impl std::fmt::Debug for Validate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validate")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish()
    }
}

/// The reasons found so far, per row.
struct Reasons(Vec<Option<String>>);

impl Reasons {
    fn add(&mut self, row: usize, reason: impl FnOnce() -> String) {
        if let Some(slot) = self.0.get_mut(row) {
            match slot {
                Some(reasons) => {
                    reasons.push_str("; ");
                    reasons.push_str(&reason());
                }
                None => *slot = Some(reason()),
            }
        }
    }

    /// Adds `reason` to each row where `mask` is true.
    fn flag(&mut self, mask: &BooleanArray, mut reason: impl FnMut(usize) -> String) {
        for (row, hit) in mask.iter().enumerate() {
            if hit == Some(true) {
                self.add(row, || reason(row));
            }
        }
    }

    fn valid(&self, row: usize) -> bool {
        self.0.get(row).is_some_and(Option::is_none)
    }
}

/// The text of one value, for a reason (strings quoted).
fn shown(array: &dyn Array, row: usize) -> String {
    let options = FormatOptions::default();
    let text = ArrayFormatter::try_new(array, &options)
        .map(|f| f.value(row).to_string())
        .unwrap_or_else(|_| "?".to_owned());
    if matches!(
        array.data_type(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    ) {
        format!("{text:?}")
    } else {
        text
    }
}

fn type_name(column_type: crate::ColumnType) -> String {
    serde_json::to_value(column_type)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Validate {
    /// A processor named `"validate"`, or a configuration error (a rule without a name or
    /// with two rules for one column, a NaN or inverted range, an `allowed` value that is
    /// not a scalar, a bad regular expression, a bad JSON Schema) naming the key.
    pub fn new(config: ValidateConfig) -> Result<Self> {
        config.check()?;
        for (i, rule) in config.columns.iter().enumerate() {
            if let Some(pattern) = &rule.pattern {
                regexp_is_match_scalar(&StringArray::from(Vec::<&str>::new()), pattern, None)
                    .map_err(|e| {
                        Error::configuration(format!(
                            "`columns[{i}].pattern` is not a valid regular expression: {e}"
                        ))
                    })?;
            }
        }
        let schema = match &config.json_schema {
            None => None,
            Some(schema) => Some(jsonschema::validator_for(schema).map_err(|e| {
                Error::configuration(format!("`json_schema` is not a valid JSON Schema: {e}"))
            })?),
        };
        Ok(Self {
            config,
            name: "validate".to_owned(),
            schema,
            keys: Mutex::new(HashMap::new()),
        })
    }

    /// The same processor under another name (names must be unique in a pipeline).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ValidateConfig {
        &self.config
    }

    fn invalid(&self, message: String) -> Error {
        Error::validation(message).with_component(self.name.clone())
    }

    /// A JSON document against the schema.
    fn check_document(&self, document: &serde_json::Value) -> Result<()> {
        let Some(schema) = &self.schema else {
            return Ok(());
        };
        let errors: Vec<String> = schema
            .iter_errors(document)
            .take(10)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(self.invalid(format!(
                "the document does not match the JSON Schema: {}",
                errors.join("; ")
            )))
        }
    }

    /// Checks `batch`: the valid rows (typed columns cast) and the invalid ones with their
    /// reasons. `keys`: the unique keys seen before.
    fn split(
        &self,
        batch: &RecordBatch,
        keys: &mut HashSet<u64>,
    ) -> Result<(RecordBatch, Option<RejectedRows>)> {
        let rows = batch.num_rows();
        let mut reasons = Reasons(vec![None; rows]);
        let mut columns = batch.columns().to_vec();
        let mut fields: Vec<Field> = batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        for rule in &self.config.columns {
            let Some((at, _)) = batch.schema_ref().column_with_name(&rule.name) else {
                if rule.required {
                    for row in 0..rows {
                        reasons.add(row, || format!("{}: missing column", rule.name));
                    }
                }
                continue;
            };
            let typed = self.check_column(rule, &batch.columns()[at], &mut reasons)?;
            if let (Some(field), Some(column)) = (fields.get_mut(at), columns.get_mut(at)) {
                let nullable = field.is_nullable() || typed.null_count() > 0;
                *field = Field::new(&rule.name, typed.data_type().clone(), nullable);
                *column = typed;
            }
        }
        let typed = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .map_err(|e| Error::processing("cannot rebuild the batch").with_source(e))?;
        if self.schema.is_some() && rows > 0 {
            self.check_rows_as_json(batch, &mut reasons)?;
        }
        if !self.config.unique.is_empty() {
            self.check_unique(&typed, keys, &mut reasons)?;
        }
        let keep = BooleanArray::from((0..rows).map(|r| reasons.valid(r)).collect::<Vec<_>>());
        let valid = filter_record_batch(&typed, &keep)
            .map_err(|e| Error::processing("cannot select the valid rows").with_source(e))?;
        if valid.num_rows() == rows {
            return Ok((valid, None));
        }
        let refuse = arrow_arith::boolean::not(&keep)
            .map_err(|e| Error::processing("cannot select the invalid rows").with_source(e))?;
        let refused = filter_record_batch(batch, &refuse)
            .map_err(|e| Error::processing("cannot select the invalid rows").with_source(e))?;
        let why: Vec<String> = reasons.0.into_iter().flatten().collect();
        tracing::debug!(processor = %self.name, refused = why.len(), rows, "rows refused");
        Ok((
            valid,
            Some(RejectedRows::new(self.name.clone(), refused, why)?),
        ))
    }

    /// One column's rules; returns the column in its declared type.
    fn check_column(
        &self,
        rule: &ColumnRule,
        column: &ArrayRef,
        reasons: &mut Reasons,
    ) -> Result<ArrayRef> {
        let name = &rule.name;
        let lenient = CastOptions::default();
        let typed = match rule.column_type {
            Some(column_type) if column.data_type() != &column_type.data_type() => {
                let target = column_type.data_type();
                if !can_cast_types(column.data_type(), &target) {
                    return Err(self.invalid(format!(
                        "column {name:?} of type {} cannot be read as {}",
                        column.data_type(),
                        type_name(column_type)
                    )));
                }
                let typed = cast_with_options(column, &target, &lenient).map_err(|e| {
                    self.invalid(format!("cannot read column {name:?}"))
                        .with_source(e)
                })?;
                for row in 0..column.len() {
                    if column.is_valid(row) && typed.is_null(row) {
                        reasons.add(row, || {
                            format!(
                                "{name}: {} is not a {}",
                                shown(column.as_ref(), row),
                                type_name(column_type)
                            )
                        });
                    }
                }
                typed
            }
            _ => column.clone(),
        };
        if !rule.nullable {
            for row in 0..column.len() {
                if column.is_null(row) {
                    reasons.add(row, || format!("{name}: null"));
                }
            }
        }
        let numeric = typed.data_type().is_numeric();
        if rule.min.is_some() || rule.max.is_some() {
            if !numeric {
                return Err(self.invalid(format!(
                    "column {name:?} has a range but is {}, not numeric",
                    typed.data_type()
                )));
            }
            let numbers = cast_with_options(&typed, &DataType::Float64, &lenient).map_err(|e| {
                self.invalid(format!("cannot compare {name:?}"))
                    .with_source(e)
            })?;
            for (bound, below) in [(rule.min, true), (rule.max, false)] {
                let Some(bound) = bound else { continue };
                let scalar = Scalar::new(Float64Array::from(vec![bound]));
                let outside = if below {
                    cmp::lt(&numbers, &scalar)
                } else {
                    cmp::gt(&numbers, &scalar)
                }
                .map_err(|e| {
                    self.invalid(format!("cannot compare {name:?}"))
                        .with_source(e)
                })?;
                let op = if below { "<" } else { ">" };
                reasons.flag(&outside, |row| {
                    format!("{name}: {} {op} {bound}", shown(typed.as_ref(), row))
                });
            }
        }
        if let Some(allowed) = &rule.allowed {
            let (values, choices): (ArrayRef, ArrayRef) = if numeric {
                let numbers: Vec<f64> = allowed
                    .iter()
                    .filter_map(serde_json::Value::as_f64)
                    .collect();
                (
                    cast_with_options(&typed, &DataType::Float64, &lenient).map_err(|e| {
                        self.invalid(format!("cannot compare {name:?}"))
                            .with_source(e)
                    })?,
                    Arc::new(Float64Array::from(numbers)),
                )
            } else {
                let texts: Vec<String> = allowed
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect();
                (
                    cast_with_options(&typed, &DataType::Utf8, &lenient).map_err(|e| {
                        self.invalid(format!("cannot compare {name:?}"))
                            .with_source(e)
                    })?,
                    Arc::new(StringArray::from(texts)),
                )
            };
            let mut any = BooleanArray::from(vec![false; values.len()]);
            for i in 0..choices.len() {
                let hit = cmp::eq(&values, &Scalar::new(choices.slice(i, 1)))
                    .and_then(|hit| arrow_arith::boolean::or_kleene(&any, &hit))
                    .map_err(|e| {
                        self.invalid(format!("cannot compare {name:?}"))
                            .with_source(e)
                    })?;
                any = hit;
            }
            let outside = arrow_arith::boolean::not(&any).map_err(|e| {
                self.invalid(format!("cannot compare {name:?}"))
                    .with_source(e)
            })?;
            let list = serde_json::Value::Array(allowed.clone());
            reasons.flag(&outside, |row| {
                format!(
                    "{name}: {} is not one of {list}",
                    shown(typed.as_ref(), row)
                )
            });
        }
        if let Some(pattern) = &rule.pattern {
            let text = cast_with_options(&typed, &DataType::Utf8, &lenient).map_err(|e| {
                self.invalid(format!("cannot read {name:?} as text"))
                    .with_source(e)
            })?;
            let matched =
                regexp_is_match_scalar(text.as_string::<i32>(), pattern, None).map_err(|e| {
                    self.invalid(format!("cannot match {name:?}"))
                        .with_source(e)
                })?;
            let missed = arrow_arith::boolean::not(&matched).map_err(|e| {
                self.invalid(format!("cannot match {name:?}"))
                    .with_source(e)
            })?;
            reasons.flag(&missed, |row| {
                format!(
                    "{name}: {} does not match /{pattern}/",
                    shown(typed.as_ref(), row)
                )
            });
        }
        Ok(typed)
    }

    /// Each row as a JSON object against the schema.
    fn check_rows_as_json(&self, batch: &RecordBatch, reasons: &mut Reasons) -> Result<()> {
        let Some(schema) = &self.schema else {
            return Ok(());
        };
        let mut writer = arrow_json::ArrayWriter::new(Vec::new());
        writer
            .write(batch)
            .and_then(|()| writer.finish())
            .map_err(|e| Error::processing("cannot write the rows as JSON").with_source(e))?;
        let documents: Vec<serde_json::Value> = serde_json::from_slice(&writer.into_inner())
            .map_err(|e| Error::processing("cannot read the rows as JSON").with_source(e))?;
        for (row, document) in documents.iter().enumerate() {
            let errors: Vec<String> = schema
                .iter_errors(document)
                .take(5)
                .map(|e| {
                    let at = e.instance_path().to_string();
                    if at.is_empty() {
                        format!("json schema: {e}")
                    } else {
                        format!("json schema at {at}: {e}")
                    }
                })
                .collect();
            if !errors.is_empty() {
                reasons.add(row, || errors.join("; "));
            }
        }
        Ok(())
    }

    /// Rows whose key was seen before (in earlier batches or above in this one).
    fn check_unique(
        &self,
        batch: &RecordBatch,
        keys: &mut HashSet<u64>,
        reasons: &mut Reasons,
    ) -> Result<()> {
        let mut columns = Vec::with_capacity(self.config.unique.len());
        for name in &self.config.unique {
            let column = batch
                .column_by_name(name)
                .ok_or_else(|| self.invalid(format!("no column {name:?} of the unique key")))?;
            columns.push(column.clone());
        }
        let fields = columns
            .iter()
            .map(|c| SortField::new(c.data_type().clone()))
            .collect();
        let converter = RowConverter::new(fields).map_err(|e| {
            self.invalid("cannot key the rows".to_owned())
                .with_source(e)
        })?;
        let encoded = converter.convert_columns(&columns).map_err(|e| {
            self.invalid("cannot key the rows".to_owned())
                .with_source(e)
        })?;
        for row in 0..batch.num_rows() {
            if !reasons.valid(row) {
                continue;
            }
            let mut hasher = DefaultHasher::new();
            encoded.row(row).as_ref().hash(&mut hasher);
            if !keys.insert(hasher.finish()) {
                reasons.add(row, || {
                    let key: Vec<String> = columns.iter().map(|c| shown(c.as_ref(), row)).collect();
                    format!("duplicate key ({})", key.join(", "))
                });
            }
        }
        Ok(())
    }

    fn keys_of(&self, id: &str, fresh: bool) -> Arc<Mutex<HashSet<u64>>> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if fresh {
            keys.remove(id);
        }
        keys.entry(id.to_owned()).or_default().clone()
    }

    fn run(
        &self,
        input: Payload,
        keys: &mut HashSet<u64>,
    ) -> Result<(Payload, Option<RejectedRows>)> {
        match &input {
            Payload::Json(document) => {
                self.check_document(document)?;
                Ok((input, None))
            }
            Payload::Table(batch) => {
                let (valid, refused) = self.split(batch, keys)?;
                Ok((Payload::Table(valid), refused))
            }
            other => Err(self.invalid(format!(
                "expected a table or a JSON document, got {:?}",
                other.kind()
            ))),
        }
    }

    fn refuse_all(&self, refused: Option<RejectedRows>, output: Payload) -> Result<Payload> {
        match refused {
            None => Ok(output),
            Some(refused) => {
                let first: Vec<&str> = refused
                    .reasons()
                    .iter()
                    .take(3)
                    .map(String::as_str)
                    .collect();
                Err(self.invalid(format!(
                    "{} invalid rows: {}",
                    refused.len(),
                    first.join(" | ")
                )))
            }
        }
    }
}

#[async_trait]
impl Processor for Validate {
    fn name(&self) -> &str {
        &self.name
    }

    fn validate_input(&self, input: &Payload) -> Result<()> {
        match input {
            Payload::Table(_) | Payload::Json(_) => Ok(()),
            other => Err(self.invalid(format!(
                "expected a table or a JSON document, got {:?}",
                other.kind()
            ))),
        }
    }

    async fn process(&self, input: Payload) -> Result<Payload> {
        let (output, refused) = self.run(input, &mut HashSet::new())?;
        self.refuse_all(refused, output)
    }

    async fn process_in(&self, context: &ItemContext, input: Payload) -> Result<Payload> {
        let (output, refused) = self.process_rows(context, input).await?;
        self.refuse_all(refused, output)
    }

    async fn process_rows(
        &self,
        context: &ItemContext,
        input: Payload,
    ) -> Result<(Payload, Option<RejectedRows>)> {
        let (id, fresh) = if self.config.per_item {
            (&context.item_id, context.batch_index == 0)
        } else {
            (&context.source_id, false)
        };
        let keys = self.keys_of(id, fresh);
        let mut keys = keys.lock().unwrap_or_else(PoisonError::into_inner);
        self.run(input, &mut keys)
    }

    fn finish_item(&self, item_id: &str) {
        if self.config.per_item {
            self.keys
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(item_id);
        }
    }

    fn state_scope(&self) -> StateScope {
        match (self.config.unique.is_empty(), self.config.per_item) {
            (true, _) => StateScope::None,
            (false, true) => StateScope::Item,
            (false, false) => StateScope::Source,
        }
    }

    fn save_state(&self, source_id: &str) -> Result<Option<serde_json::Value>> {
        if self.state_scope() != StateScope::Source {
            return Ok(None);
        }
        let keys = self
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(source_id)
            .cloned();
        let Some(keys) = keys else {
            return Ok(None);
        };
        let keys = keys.lock().unwrap_or_else(PoisonError::into_inner);
        let mut sorted: Vec<u64> = keys.iter().copied().collect();
        sorted.sort_unstable();
        Ok(Some(serde_json::json!({ "keys": sorted })))
    }

    fn restore_state(&self, source_id: &str, state: Option<serde_json::Value>) -> Result<()> {
        if self.state_scope() != StateScope::Source {
            return Ok(());
        }
        let mut all = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        match state {
            None => {
                all.remove(source_id);
            }
            Some(state) => {
                let keys: Vec<u64> = state
                    .get("keys")
                    .cloned()
                    .map(serde_json::from_value)
                    .transpose()
                    .ok()
                    .flatten()
                    .ok_or_else(|| {
                        Error::invalid_state(format!(
                            "the checkpointed validate state of `{source_id}` is unreadable"
                        ))
                    })?;
                all.insert(
                    source_id.to_owned(),
                    Arc::new(Mutex::new(keys.into_iter().collect())),
                );
            }
        }
        Ok(())
    }
}
