//! [`PipelineSpec`]: a whole pipeline as data, read from TOML or JSON with the same structure.

use crate::redact::{Redacted, redact_url_password};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use collectors_core::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::defaults::{EngineSpec, RetrySpec};
use crate::locate::{Origin, Segment};

/// Parameters of a component: every key of its table except the ones the spec itself reads
/// (`type`/`kind`, a source's `id` and `format`). The component's factory checks them.
pub type Params = serde_json::Map<String, serde_json::Value>;

/// A pipeline described as data: where items come from, the processors every batch runs
/// through, where records go, and the run's settings.
///
/// The same structure reads from TOML (`pipeline.toml`, tables `[[source]]`, `[[processor]]`,
/// `[store]` …) and from JSON (keys `source`, `processor`, `store` …), so a host app, the CLI
/// and the REST service all accept the same documents. Only `name`, `[[source]]` and
/// `[store]` are required: dead letters, checkpoints and retries have documented defaults
/// (see [`DeadLetterSpec`], [`CheckpointsSpec`], [`RetrySpec`]).
///
/// Relative paths are resolved against the directory of the file the spec was read from
/// ([`from_path`](Self::from_path)), or the directory given to
/// [`from_toml_str`](Self::from_toml_str) / [`from_json_str`](Self::from_json_str).
///
/// ```
/// use collectors_pipeline::PipelineSpec;
///
/// let toml = r#"
/// name = "sensors"
///
/// [[source]]
/// id = "incoming"
/// kind = "local"
/// path = "data"
/// format = "csv"
///
/// [[processor]]
/// type = "rolling_mean"
/// key = "sensor_id"
/// value = "value"
/// window = 10
///
/// [store]
/// kind = "sqlite"
/// path = "out/sensors.db"
/// table = "readings"
/// "#;
/// let spec = PipelineSpec::from_toml_str(toml, "/srv/pipelines")?;
/// assert_eq!(spec.processors[0].kind, "rolling_mean");
///
/// // The same pipeline as JSON.
/// let json = serde_json::to_string(&spec)?;
/// let again = PipelineSpec::from_json_str(&json, "/srv/pipelines")?;
/// assert_eq!(again.sources[0].id, "incoming");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// The pipeline's name: the namespace of its checkpoints.
    #[schemars(regex(pattern = r"\S"))]
    pub name: String,
    /// Bounds, batching, concurrency.
    #[serde(default)]
    pub engine: EngineSpec,
    /// Where items come from (at least one).
    #[serde(rename = "source")]
    #[schemars(length(min = 1))]
    pub sources: Vec<SourceSpec>,
    /// The processors every batch runs through, in order.
    #[serde(default, rename = "processor", skip_serializing_if = "Vec::is_empty")]
    pub processors: Vec<ProcessorSpec>,
    /// Where records go.
    pub store: StoreSpec,
    /// More stores every record is also written to (`[[replica]]`, same keys as `[store]`).
    #[serde(default, rename = "replica", skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<StoreSpec>,
    /// Where acknowledgements go. Default: the store's own database when it has one (SQLite:
    /// records and checkpoints then commit in one transaction), else a SQLite file
    /// `<store path>.checkpoints.db` beside the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<CheckpointsSpec>,
    /// Where rejected records go. Default: the store's own database when it has one and
    /// no replicas (SQLite: table `_collectors_dead_letters`, one row per letter), else a
    /// JSON-lines file `<store path>.dead_letters.jsonl` beside the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<DeadLetterSpec>,
    /// Retries of transient failures.
    #[serde(default)]
    pub retry: RetrySpec,
    /// Where the spec came from: relative paths and error lines.
    #[serde(skip)]
    #[schemars(skip)]
    pub(crate) origin: Arc<Origin>,
}

/// One source of items and the format of its items.
#[derive(Clone, Serialize, Deserialize, JsonSchema)]
pub struct SourceSpec {
    /// The source's unique id (part of every storage key).
    #[schemars(regex(pattern = r"\S"))]
    pub id: String,
    /// The source kind, a name in the registry (`local`).
    pub kind: String,
    /// The item format, a decoder name in the registry (`csv`, `jsonl`). The decoder's
    /// options go in a table of the same name (`[source.csv]`).
    pub format: String,
    /// The source's parameters (`path`, `pattern` …) and the decoder's options table.
    #[serde(flatten)]
    pub params: Params,
}

/// One processor: its `type`, a name in the registry, and its parameters.
#[derive(Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProcessorSpec {
    /// The processor type (`filter`, `map`, `rolling_mean`, `peak_detection`, `data_quality`,
    /// `validate`, `infer_schema`, or one a host app registered).
    #[serde(rename = "type")]
    pub kind: String,
    /// Its parameters, checked against the type's schema.
    #[serde(flatten)]
    pub params: Params,
}

/// A store: its `kind`, a name in the registry, and its parameters.
#[derive(Clone, Serialize, Deserialize, JsonSchema)]
pub struct StoreSpec {
    /// The store kind (`sqlite`, `file`).
    pub kind: String,
    /// Its parameters (`path`, `table`, `format` …).
    #[serde(flatten)]
    pub params: Params,
}

/// `[checkpoints]`: where item acknowledgements (and the runs' leases) are kept: `path` or
/// `url`, one of the two.
#[derive(Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointsSpec {
    /// A SQLite file, relative to the pipeline file. The same file as a SQLite store: records
    /// and checkpoints commit in one transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// A PostgreSQL database (`postgres://user@host:5432/db`) that runs on several machines
    /// share: each takes the items the others have not claimed. Leave the password out of
    /// the file: like `psql`, the connection reads `PGPASSWORD` or `~/.pgpass`. Needs the
    /// `postgres` feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The connection pool of `url` (`max_size`, `min_size`, `acquire_timeout_ms`,
    /// `idle_timeout_ms`, `max_lifetime_ms`, `health_check`). Default: 4 connections, 10 s
    /// to acquire one.
    #[cfg(feature = "postgres")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<collectors_backends::pool::PoolConfig>,
}

/// `[dead_letter]`: where rejected records go.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterSpec {
    /// A JSON-lines file, relative to the pipeline file.
    pub path: PathBuf,
}

impl PipelineSpec {
    /// Reads a pipeline file: JSON when its name ends in `.json`, TOML otherwise. Relative
    /// paths in it are resolved against the file's directory.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] naming the file (and the line and key where it can) when the
    /// file cannot be read, does not parse, or a value is out of bounds. Components are
    /// checked when the spec is built ([`build`](Self::build)).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::configuration(format!("cannot read pipeline file {}", path.display()))
                .with_source(e)
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let origin = Origin::file(path, base, text);
        if path.extension().is_some_and(|e| e == "json") {
            Self::parse_json(origin)
        } else {
            Self::parse_toml(origin)
        }
    }

    /// Parses a TOML document; relative paths resolve against `base_dir`.
    ///
    /// # Errors
    ///
    /// As [`from_path`](Self::from_path).
    pub fn from_toml_str(text: &str, base_dir: impl Into<PathBuf>) -> Result<Self> {
        Self::parse_toml(Origin::text_named(
            "pipeline.toml",
            base_dir.into(),
            text.to_owned(),
            false,
        ))
    }

    /// Parses a JSON document; relative paths resolve against `base_dir`.
    ///
    /// # Errors
    ///
    /// As [`from_path`](Self::from_path).
    pub fn from_json_str(text: &str, base_dir: impl Into<PathBuf>) -> Result<Self> {
        Self::parse_json(Origin::text_named(
            "pipeline.json",
            base_dir.into(),
            text.to_owned(),
            true,
        ))
    }

    fn parse_toml(origin: Origin) -> Result<Self> {
        let mut spec: Self = toml::from_str(origin.text()).map_err(|e| {
            Error::configuration(format!("{}: {}", origin.name(), e.to_string().trim_end()))
        })?;
        spec.origin = Arc::new(origin);
        spec.check_settings()?;
        Ok(spec)
    }

    fn parse_json(origin: Origin) -> Result<Self> {
        let mut spec: Self = serde_path_to_error::deserialize(
            &mut serde_json::Deserializer::from_str(origin.text()),
        )
        .map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            Error::configuration(format!(
                "{}:{}: `{path}`: {inner}",
                origin.name(),
                inner.line()
            ))
        })?;
        spec.origin = Arc::new(origin);
        spec.check_settings()?;
        Ok(spec)
    }

    /// The JSON Schema of the spec's structure (components' parameters are described by
    /// their factories: see [`Registry::schemas`](crate::Registry::schemas)).
    pub fn json_schema() -> serde_json::Value {
        crate::schema::bounded_schema_for::<PipelineSpec>()
    }

    /// The directory relative paths are resolved against.
    pub fn base_dir(&self) -> &Path {
        self.origin.base()
    }

    /// Sets the directory relative paths are resolved against.
    pub fn with_base_dir(mut self, base: impl Into<PathBuf>) -> Self {
        let mut origin = (*self.origin).clone();
        origin.set_base(base.into());
        self.origin = Arc::new(origin);
        self
    }

    /// Resolves a path of the spec against [`base_dir`](Self::base_dir).
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir().join(path)
        }
    }

    /// A configuration error about the value at `path` (e.g. `["processor", 1, "window"]`),
    /// naming the file, the line when it can be found, and the key.
    pub(crate) fn error_at(&self, path: &[Segment<'_>], message: &str) -> Error {
        self.origin.error_at(path, message)
    }

    /// The settings that need no component: name, engine bounds, retry, source ids.
    fn check_settings(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(self.error_at(&[Segment::Key("name")], "must not be empty"));
        }
        self.engine.check(self)?;
        self.retry.check(self)?;
        if let Some(c) = &self.checkpoints
            && c.path.is_some() == c.url.is_some()
        {
            return Err(self.error_at(
                &[Segment::Key("checkpoints")],
                "needs one of `path` (a SQLite file) or `url` (PostgreSQL)",
            ));
        }
        #[cfg(feature = "postgres")]
        if let Some(c) = &self.checkpoints
            && let Some(pool) = &c.pool
        {
            let at = [Segment::Key("checkpoints"), Segment::Key("pool")];
            if c.url.is_none() {
                return Err(self.error_at(&at, "is the pool of `url`; a SQLite `path` has none"));
            }
            pool.validate()
                .map_err(|e| self.error_at(&at, e.message()))?;
        }
        if self.sources.is_empty() {
            return Err(Error::configuration(format!(
                "{}: at least one [[source]] is needed",
                self.origin.name()
            )));
        }
        for (i, source) in self.sources.iter().enumerate() {
            if source.id.trim().is_empty() {
                return Err(self.error_at(
                    &[
                        Segment::Key("source"),
                        Segment::Index(i),
                        Segment::Key("id"),
                    ],
                    "must not be empty",
                ));
            }
            if let Some(j) = self.sources[..i].iter().position(|s| s.id == source.id) {
                return Err(self.error_at(
                    &[
                        Segment::Key("source"),
                        Segment::Index(i),
                        Segment::Key("id"),
                    ],
                    &format!("two sources are named `{}` (source[{j}] too)", source.id),
                ));
            }
        }
        Ok(())
    }

    /// The store's `path` parameter, resolved.
    pub(crate) fn store_path(&self) -> Result<PathBuf> {
        match self.store.params.get("path") {
            Some(serde_json::Value::String(path)) if path.contains("://") => Err(self.error_at(
                &[Segment::Key("store"), Segment::Key("path")],
                &format!(
                    "is the URI {path:?}, which has no local place for the default checkpoint and dead-letter files: set [checkpoints] path and [dead_letter] path"
                ),
            )),
            Some(serde_json::Value::String(path)) => Ok(self.resolve(Path::new(path))),
            _ => Err(self.error_at(
                &[Segment::Key("store"), Segment::Key("path")],
                "is missing (a path is needed to place the default dead-letter and checkpoint files; set [dead_letter] and [checkpoints] otherwise)",
            )),
        }
    }

    /// A digest of the settings that shape storage keys and stored values: sources'
    /// formats, processors, the store's table. Resuming with another fingerprint is refused.
    pub fn fingerprint(&self) -> String {
        let shaping = serde_json::json!({
            "sources": self.sources.iter().map(|s| serde_json::json!({
                "id": s.id,
                "format": s.format,
                "options": s.params.get(&s.format),
            })).collect::<Vec<_>>(),
            "processors": self.processors,
            "table": self.store.params.get("table"),
        });
        let text = shaping.to_string();
        let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("{hash:016x}")
    }
}

/// `path` with `suffix` appended to its file name (`out/sensors.db` → `out/sensors.db.x`).
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

// Parameters may hold secrets (a store's `url` with a password, a script's params): `Debug`
// shows them redacted.
impl std::fmt::Debug for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceSpec")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("format", &self.format)
            .field("params", &Redacted(&self.params))
            .finish()
    }
}

impl std::fmt::Debug for ProcessorSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessorSpec")
            .field("kind", &self.kind)
            .field("params", &Redacted(&self.params))
            .finish()
    }
}

impl std::fmt::Debug for StoreSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSpec")
            .field("kind", &self.kind)
            .field("params", &Redacted(&self.params))
            .finish()
    }
}

impl std::fmt::Debug for CheckpointsSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointsSpec")
            .field("path", &self.path)
            .field("url", &self.url.as_deref().map(redact_url_password))
            .finish_non_exhaustive()
    }
}
