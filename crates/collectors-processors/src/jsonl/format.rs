//! [`JsonLinesFormat`]: what the line driver needs to know about JSON lines — the nesting
//! limit, and the sample of parsed objects the schema is inferred from.

use std::sync::Arc;

use arrow_json::reader::infer_json_schema_from_iterator;
use arrow_schema::{Field, Schema, SchemaRef};
use collectors_core::{Error, Result};

use super::line_decoder::JsonLineDecoder;
use super::nesting::{MAX_JSON_DEPTH, nested_deeper_than};
use crate::lines::{LineFormat, PendingLines};
use crate::schema::inferred_field;
use crate::values::TimestampUnit;

/// The JSON-lines state of one item: the inference sample, while there is one.
#[derive(Debug)]
pub(super) struct JsonLinesFormat {
    timestamp_unit: TimestampUnit,
    explicit: Option<SchemaRef>,
    /// The parsed pending lines while the schema is being inferred, one per pending line.
    sample: Vec<serde_json::Value>,
}

impl JsonLinesFormat {
    /// The state of an item with this explicit schema, or to infer one when `None`.
    pub(super) fn new(timestamp_unit: TimestampUnit, explicit: Option<SchemaRef>) -> Self {
        Self {
            timestamp_unit,
            explicit,
            sample: Vec::new(),
        }
    }

    /// arrow-json's inference over the sample. Objects whose types conflict with the objects
    /// before them are rejected (a greedy pass, only when the whole sample does not infer).
    fn infer(&mut self, pending: &mut PendingLines) -> Result<SchemaRef> {
        let sample = std::mem::take(&mut self.sample);
        let inferred = match infer_json_schema_from_iterator(sample.iter().map(Ok)) {
            Ok(schema) => schema,
            Err(_) => {
                let mut accepted: Vec<&serde_json::Value> = Vec::with_capacity(sample.len());
                let mut rejected = Vec::new();
                for (index, value) in sample.iter().enumerate() {
                    accepted.push(value);
                    if let Err(e) =
                        infer_json_schema_from_iterator(accepted.iter().copied().map(Ok))
                    {
                        accepted.pop();
                        rejected.push((
                            index,
                            format!("types conflict with the lines before it: {e}"),
                        ));
                    }
                }
                pending.reject_pending(rejected);
                infer_json_schema_from_iterator(accepted.into_iter().map(Ok))
                    .map_err(|e| Error::processing("cannot infer the JSON schema").with_source(e))?
            }
        };
        let fields: Vec<Field> = inferred
            .fields()
            .iter()
            .map(|field| inferred_field(field.name(), field.data_type()))
            .collect();
        Ok(Arc::new(Schema::new(fields)))
    }
}

impl LineFormat for JsonLinesFormat {
    type Decoder = JsonLineDecoder;

    /// The nesting limit; while inferring, also one JSON object (parsed now, so that a bad
    /// line never reaches the inference).
    #[inline] // called for every line
    fn check_row(&mut self, bytes: &[u8], inferring: bool) -> Option<String> {
        if nested_deeper_than(bytes, MAX_JSON_DEPTH) {
            return Some(format!(
                "the JSON value is nested deeper than {MAX_JSON_DEPTH} arrays and objects"
            ));
        }
        if !inferring {
            return None;
        }
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(value @ serde_json::Value::Object(_)) => {
                self.sample.push(value);
                None
            }
            Ok(other) => Some(format!("expected a JSON object, found {}", kind(&other))),
            Err(e) => Some(format!("invalid JSON: {e}")),
        }
    }

    fn start_decoding(&mut self, pending: &mut PendingLines) -> Result<JsonLineDecoder> {
        let schema = match &self.explicit {
            Some(schema) => schema.clone(),
            None => self.infer(pending)?,
        };
        JsonLineDecoder::new(schema, self.timestamp_unit).map_err(|e| {
            Error::processing("arrow-json cannot decode the inferred schema").with_source(e)
        })
    }
}

/// The JSON kind of a value, for messages.
fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
