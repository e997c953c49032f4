//! [`ProcessRequest`]: `POST /api/etl/process`, checked against the registry before it is
//! queued, so a bad parameter is a 400 now rather than a failed job later.

use collectors_core::{Error, Result};
use collectors_pipeline::Registry;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::jobs::{JobStatus, NewJob};

/// The processing type that runs a user's script from the scripts directory.
pub const CUSTOM: &str = "custom";
/// The processing type that runs a whole pipeline spec.
pub const PIPELINE: &str = "pipeline";
/// The job type of `POST /api/data-sources/{id}/ingest` (not a processing type one can
/// request at `/api/etl/process`).
pub(crate) const INGEST: &str = "ingest";
/// The processing type that does nothing (benchmarks of the queue, smoke tests).
pub const NOOP: &str = "noop";

/// A request to process a data file.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessRequest {
    /// The file to process (every type but `pipeline` and `noop` needs one).
    #[serde(default)]
    pub data_file_id: Option<Uuid>,
    /// A processor of the registry (`rolling_mean`, `peak_detection`, `data_quality`, …, see
    /// the `processor.*` schemas), `custom` (a script), `pipeline` (a whole spec) or `noop`.
    pub processing_type: String,
    /// The processor's parameters, checked against its JSON Schema (for `noop`: an optional
    /// `delay_ms`, how long the job takes).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub parameters: serde_json::Map<String, serde_json::Value>,
    /// Options of the file's decoder, as the `[source.csv]` table of a pipeline file
    /// (`schema`, `has_header`, `delimiter` …); by default the columns are inferred.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub decoder: serde_json::Map<String, serde_json::Value>,
    /// For `custom`: the script's name in the scripts directory.
    #[serde(default)]
    pub custom_script_name: Option<String>,
    /// For `custom`: the script's parameters.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub custom_params: Option<serde_json::Value>,
    /// For `pipeline`: a registered pipeline, or a spec inline.
    #[serde(default)]
    pub pipeline: Option<PipelineRef>,
    /// How many times the job may run before it is failed (default: the queue's).
    #[serde(default, deserialize_with = "crate::lenient::option_u32")]
    #[schema(minimum = 1, maximum = 100)]
    pub max_attempts: Option<u32>,
}

impl crate::routes::extract::DocumentedBody for ProcessRequest {
    const SCHEMA: &'static str = "ProcessRequest";
    const VERBATIM: &'static [&'static str] = VERBATIM;
}

/// The free-form values of a request: a script's parameters (`custom_params`, and a
/// `script` processor's `params`), which reach the script as sent.
pub(crate) const VERBATIM: &[&str] = &["custom_params", "params"];

/// A pipeline by name or inline.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineRef {
    /// A pipeline registered with `POST /api/pipelines`.
    #[serde(default)]
    pub name: Option<String>,
    /// A pipeline spec, as pipeline.toml in JSON.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub spec: Option<serde_json::Value>,
}

/// The answer to an accepted request: the result to follow.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProcessAccepted {
    /// The processing result's id (`GET /api/etl/results/{id}`).
    pub result_id: Uuid,
    /// The task's id: the same job (one table holds the queue and the results).
    pub task_id: Uuid,
    /// `PENDING`.
    pub status: JobStatus,
}

/// What a worker needs to run the job, kept in the job's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EtlPayload {
    /// One processor of the registry over the data file.
    Processor {
        /// The processor type.
        kind: String,
        /// Its parameters.
        parameters: serde_json::Map<String, serde_json::Value>,
        /// The decoder's options.
        #[serde(default)]
        decoder: serde_json::Map<String, serde_json::Value>,
    },
    /// A user's script over the data file.
    Custom {
        /// The script's name.
        script: String,
        /// Its parameters.
        params: serde_json::Value,
        /// The decoder's options.
        #[serde(default)]
        decoder: serde_json::Map<String, serde_json::Value>,
    },
    /// A whole pipeline.
    Pipeline {
        /// Its name (registered or the spec's own).
        name: String,
        /// The spec, in JSON.
        spec: serde_json::Value,
    },
    /// A data source's matching items, each stored as a data file.
    Ingest {
        /// The data source's id in the registry.
        source: String,
        /// Only items under this prefix.
        #[serde(default)]
        prefix: Option<String>,
        /// Only items whose name matches this glob.
        #[serde(default)]
        pattern: Option<String>,
        /// At most this many items.
        limit: usize,
    },
    /// Nothing, after an optional delay (load tests, smoke tests, crash tests).
    Noop {
        /// How long the job takes, in milliseconds.
        #[serde(default)]
        delay_ms: u64,
    },
}

impl ProcessRequest {
    /// Checks the request against `registry` and turns it into a job. `registered` finds a
    /// pipeline spec by name; `file_exists` is checked by the caller beforehand.
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] for an unknown processing type, parameters that do not match
    /// the processor's schema (every violation, with its JSON pointer), a missing file id or
    /// script name, or a pipeline given both or neither by name and inline.
    pub fn into_job(
        self,
        registry: &Registry,
        registered: Option<serde_json::Value>,
    ) -> Result<NewJob> {
        let kind = self.processing_type.trim().to_owned();
        if self.max_attempts.is_some_and(|n| !(1..=100).contains(&n)) {
            return Err(Error::validation("max_attempts must be from 1 to 100"));
        }
        let needs_file = kind != PIPELINE && kind != NOOP;
        if needs_file && self.data_file_id.is_none() {
            return Err(Error::validation(format!(
                "processing_type `{kind}` needs a data_file_id"
            )));
        }
        let payload = match kind.as_str() {
            NOOP => EtlPayload::Noop {
                delay_ms: noop_delay(&self.parameters)?,
            },
            CUSTOM => {
                let script = self.custom_script_name.ok_or_else(|| {
                    Error::validation("processing_type `custom` needs a custom_script_name")
                })?;
                crate::files::checked_file_name(&script)?;
                EtlPayload::Custom {
                    script,
                    params: self.custom_params.unwrap_or(serde_json::json!({})),
                    decoder: self.decoder,
                }
            }
            PIPELINE => {
                let reference = self.pipeline.ok_or_else(|| {
                    Error::validation(
                        "processing_type `pipeline` needs `pipeline`: {name} or {spec}",
                    )
                })?;
                let spec = match (reference.spec, registered) {
                    (Some(spec), None) if reference.name.is_none() => spec,
                    (None, Some(spec)) => spec,
                    _ => {
                        return Err(Error::validation(
                            "`pipeline` takes a registered `name` or an inline `spec`, not both",
                        ));
                    }
                };
                let name = spec
                    .get("name")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("pipeline")
                    .to_owned();
                // Parsed now for its errors; run from the JSON by the worker.
                collectors_pipeline::PipelineSpec::from_json_str(&spec.to_string(), ".")?;
                EtlPayload::Pipeline { name, spec }
            }
            _ => {
                let schema = registry.processor_schema(&kind).ok_or_else(|| {
                    Error::validation(format!(
                        "unknown processing_type `{kind}` (one of: {}, {CUSTOM}, {PIPELINE}, {NOOP})",
                        registry.processor_kinds().join(", ")
                    ))
                })?;
                check_against(schema, &kind, &self.parameters)?;
                EtlPayload::Processor {
                    kind: kind.clone(),
                    parameters: self.parameters,
                    decoder: self.decoder,
                }
            }
        };
        let name = match &payload {
            EtlPayload::Pipeline { name, .. } => name.clone(),
            EtlPayload::Custom { script, .. } => format!("{CUSTOM}:{script}"),
            _ => kind.clone(),
        };
        Ok(NewJob {
            kind,
            name,
            data_file_id: self.data_file_id,
            payload: serde_json::to_value(&payload)
                .map_err(|e| Error::validation(format!("the request: {e}")))?,
            max_attempts: self.max_attempts,
        })
    }
}

/// The one parameter of `noop`: `delay_ms`, at most an hour.
fn noop_delay(parameters: &serde_json::Map<String, serde_json::Value>) -> Result<u64> {
    if let Some(key) = parameters.keys().find(|k| *k != "delay_ms") {
        return Err(Error::validation(format!(
            "parameters of `{NOOP}`: unknown parameter `{key}` (only `delay_ms`)"
        )));
    }
    match parameters.get("delay_ms") {
        None => Ok(0),
        Some(value) => value
            .as_u64()
            .filter(|ms| *ms <= 3_600_000)
            .ok_or_else(|| {
                Error::validation(format!(
                    "parameters of `{NOOP}`: `delay_ms` must be an integer from 0 to 3600000, not {value}"
                ))
            }),
    }
}

/// Every violation of `schema` by `parameters`, in one error.
fn check_against(
    schema: &serde_json::Value,
    kind: &str,
    parameters: &serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| Error::configuration(format!("the schema of `{kind}`: {e}")))?;
    let instance = serde_json::Value::Object(parameters.clone());
    let problems: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| {
            let at = e.instance_path().to_string();
            if at.is_empty() {
                e.to_string()
            } else {
                format!("{at}: {e}")
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::validation(format!(
            "parameters of `{kind}`: {}",
            problems.join("; ")
        )))
    }
}
