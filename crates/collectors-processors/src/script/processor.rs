//! [`ScriptProcessor`]: runs a user's Rhai script on each batch, in the sandbox.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use async_trait::async_trait;
use collectors_core::{Error, Payload, Processor, Result};
use rhai::{AST, CallFnOptions, Dynamic, Map, Scope};
use serde::{Deserialize, Serialize};

use super::cache::ScriptCache;
use super::convert::{map_to_table, table_to_map, to_json};
use super::sandbox::{ScriptLimits, Tracker, eval_error, on_script_thread, parse_error};

/// The schema metadata key under which a table's `result` travels (JSON text), when a
/// script returns both a table and a result.
pub const SCRIPT_RESULT_METADATA_KEY: &str = "collectors.script.result";

/// The longest script name accepted.
const MAX_NAME_LEN: usize = 128;

fn default_scripts_dir() -> PathBuf {
    PathBuf::from("scripts")
}

/// Which script to run, with which parameters and limits (pipeline.toml
/// `[[processor]] type = "script"`).
///
/// ```
/// use collectors_processors::ScriptConfig;
///
/// let config: ScriptConfig = serde_json::from_str(r#"{
///     "name": "example_custom_processor",
///     "params": {"target_column": "voltage", "multiplier": 2.5},
///     "limits": {"timeout_ms": 2000}
/// }"#)
/// .unwrap();
/// assert_eq!(config.scripts_dir, std::path::Path::new("scripts"));
/// assert_eq!(config.params["multiplier"], 2.5);
/// assert_eq!(config.limits.timeout_ms, 2000);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ScriptConfig {
    /// The script's name (the seed's `custom_script_name`): the file
    /// `<scripts_dir>/<name>.rhai`. Letters, digits, `_` and `-` only, so a name cannot
    /// leave the scripts directory.
    #[serde(alias = "custom_script_name")]
    pub name: String,
    /// The parameters given to `process` as its second argument (the seed's
    /// `custom_params`).
    #[serde(default, alias = "custom_params")]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// The directory of the scripts (default `scripts`; in a pipeline file, relative to
    /// the file).
    #[serde(default = "default_scripts_dir")]
    pub scripts_dir: PathBuf,
    /// The sandbox's limits (each defaults as documented on [`ScriptLimits`]).
    #[serde(default)]
    pub limits: ScriptLimits,
}

impl ScriptConfig {
    /// The script `name` in `./scripts`, without parameters, with the default limits.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            params: serde_json::Map::new(),
            scripts_dir: default_scripts_dir(),
            limits: ScriptLimits::default(),
        }
    }

    /// Another scripts directory.
    #[must_use]
    pub fn with_scripts_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.scripts_dir = dir.into();
        self
    }

    /// Adds a parameter.
    #[must_use]
    pub fn with_param(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.params.insert(key.into(), value.into());
        self
    }

    /// Other limits.
    #[must_use]
    pub fn with_limits(mut self, limits: ScriptLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The script's file, or a configuration error when the name could leave the scripts
    /// directory (`../x`, `/etc/x`, `a/b`, an empty name).
    ///
    /// ```
    /// use collectors_processors::ScriptConfig;
    ///
    /// let path = ScriptConfig::new("clean-up_2").with_scripts_dir("/srv/s").path().unwrap();
    /// assert_eq!(path, std::path::Path::new("/srv/s/clean-up_2.rhai"));
    /// assert!(ScriptConfig::new("../etc/passwd").path().is_err());
    /// assert!(ScriptConfig::new("/etc/passwd").path().is_err());
    /// ```
    pub fn path(&self) -> Result<PathBuf> {
        let name = &self.name;
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if name.is_empty() || name.len() > MAX_NAME_LEN || !name.chars().all(allowed) {
            return Err(Error::configuration(format!(
                "`name`: {name:?} is not a script name (1 to {MAX_NAME_LEN} letters, digits, \
                 `_` or `-`; no paths)"
            )));
        }
        Ok(self.scripts_dir.join(format!("{name}.rhai")))
    }
}

/// Runs a user script written in [Rhai](https://rhai.rs) on each table, in a sandbox: the
/// seed's custom processors (`process(df, params) -> dict`).
///
/// # The script API
///
/// A script is the file `<scripts_dir>/<name>.rhai` and defines
/// `fn process(table, params)`, called once per batch:
///
/// - `table` is a map: `columns` (column name → array of the column's values, a null as
///   `()`), `num_rows` (an integer) and `schema` (an array of `#{name, type}`, `type` being
///   Arrow's name of the column type, e.g. `"Float64"`). Integers (of any width) are
///   integers, floats are floats (NaN and infinities included), booleans are booleans,
///   strings are strings; timestamps, dates, times and durations are integers in their
///   column's unit (a `Timestamp(ms)` column gives milliseconds since the epoch); other
///   types are given as their text.
/// - `params` is the map of [`params`](ScriptConfig::params), as JSON maps to Rhai (objects
///   are maps, arrays arrays, `null` is `()`).
///
/// `process` returns a map, in one of two shapes:
///
/// - **a result** — any map without a `table` key: it becomes the processor's output, a
///   [`Payload::Json`] document (the seed's `result_data`), stored as one record. `()`
///   becomes `null`, and so do NaN and infinities (JSON has no such numbers).
/// - **a table** — `#{table: #{columns: #{name: [..], ..}}, result: #{..}}`: the output is
///   a [`Payload::Table`] built from `table.columns` (all arrays of one length; `num_rows`
///   and `schema` of a table passed back are ignored). The optional `result` travels with
///   it as JSON text in the schema metadata under [`SCRIPT_RESULT_METADATA_KEY`] (Parquet
///   files keep it). No other key is allowed next to `table`.
///
/// Columns of a returned table keep the input's order; new columns follow in name order.
/// A column's Arrow type is inferred from its values: integers → `Int64`, floats (or
/// integers mixed with floats) → `Float64`, booleans → `Boolean`, strings → `Utf8`, `()`
/// → null. A column named like an input column whose values are of the kind the input was
/// given as keeps the input's type (an `Int32` column passed through stays `Int32`, a
/// timestamp stays a timestamp); an all-`()` column takes the input's type, or `Utf8`.
/// Other mixtures (a string among integers), nested arrays or maps as values, and columns
/// of different lengths are a processing error naming the column and row.
///
/// # The sandbox
///
/// The engine is Rhai's raw engine with its standard packages (arithmetic, strings,
/// arrays, maps, math): no module resolver (`import` finds nothing), `eval` disabled,
/// `sleep` an error (no deadline reaches a sleeping thread), and no function that reaches
/// files, the network or processes. Undeclared variables are a
/// compile error. `print` and `debug` go to `tracing` (target `collectors::script`). Each
/// call has the [`ScriptLimits`]: operations, wall time, call depth, expression depth,
/// and the sizes of strings, arrays and maps. A script that loops, allocates or recurses
/// without bound, or `throw`s, is stopped with an [`Error::Processing`] such as
/// ``script `spin` stopped at line 3: ran longer than `limits.timeout_ms` = 50 ms``; the
/// batch fails and the engine's error handler decides (retry, dead letter), the process
/// goes on.
///
/// Scripts see one batch at a time and keep no state between calls; they run row by row
/// in an interpreter, so they suit custom logic rather than the hot path of large data
/// (use `map` and `filter` expressions there).
///
/// The script is read and compiled when the processor is built (a missing file or a syntax
/// error is a configuration error naming the file and line), and read again before each
/// batch: its compiled form is cached by the SHA-256 of its text, so an unchanged script is
/// compiled once and a changed one is picked up by the next batch. Each call runs on a
/// thread of its own with the [`ScriptLimits`]; a script stopped by a limit, an error or a
/// `throw` fails the batch with an [`Error::Processing`] naming the script and the line.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch};
/// use collectors_core::{Payload, Processor};
/// use collectors_processors::{ScriptConfig, ScriptProcessor};
///
/// let dir = std::env::temp_dir().join(format!("doc-script-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("total.rhai"), r#"
///     fn process(table, params) {
///         let sum = 0.0;
///         for v in table.columns[params.column] { if v != () { sum += v; } }
///         #{ rows: table.num_rows, total: sum }
///     }
/// "#).unwrap();
/// let script = ScriptProcessor::new(
///     ScriptConfig::new("total").with_scripts_dir(&dir).with_param("column", "v"),
/// )?;
/// let batch = RecordBatch::try_from_iter([(
///     "v",
///     Arc::new(Float64Array::from(vec![Some(1.5), None, Some(2.0)])) as _,
/// )])
/// .unwrap();
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let out = script.process(Payload::Table(batch)).await?;
/// assert_eq!(out.as_json()?, &serde_json::json!({"rows": 3, "total": 3.5}));
/// # Ok::<(), collectors_core::Error>(())
/// # })?;
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), collectors_core::Error>(())
/// ```
#[derive(Debug)]
pub struct ScriptProcessor {
    config: ScriptConfig,
    path: PathBuf,
    params: Dynamic,
    cache: ScriptCache,
    name: String,
}

impl ScriptProcessor {
    /// Reads and compiles the script; a configuration error naming the key, the file or the
    /// line: a hostile or empty name, a missing file, a syntax error, no
    /// `fn process(table, params)`, a limit of 0, parameters Rhai cannot hold.
    pub fn new(config: ScriptConfig) -> Result<Self> {
        config.limits.check()?;
        let path = config.path()?;
        let params = rhai::serde::to_dynamic(serde_json::Value::Object(config.params.clone()))
            .map_err(|e| Error::configuration(format!("`params`: {e}")))?;
        let processor = Self {
            name: config.name.clone(),
            path,
            params,
            cache: ScriptCache::default(),
            config,
        };
        let source = processor.read().map_err(|e| {
            Error::configuration(format!(
                "`name`: cannot read the script {}",
                processor.path.display()
            ))
            .with_source(e)
        })?;
        processor.compiled(&source)?;
        Ok(processor)
    }

    /// The same processor under another name (names must be unique in a pipeline; the
    /// default is the script's name).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ScriptConfig {
        &self.config
    }

    /// The script's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many versions of the script are compiled and cached (by content hash).
    pub fn cached_versions(&self) -> usize {
        self.cache.len()
    }

    fn read(&self) -> std::io::Result<String> {
        std::fs::read_to_string(&self.path)
    }

    /// The compiled script, from the cache or compiled now (on the script thread, whose
    /// stack holds the deepest expression the limits allow).
    fn compiled(&self, source: &str) -> Result<Arc<AST>> {
        let script = self.config.name.as_str();
        self.cache.get_or_compile(source, |source| {
            let limits = &self.config.limits;
            let ast = on_script_thread(script, || {
                limits
                    .engine(None, None)
                    .compile(source)
                    .map_err(|e| parse_error(script, &self.path, e))
            })?;
            let has_process = ast
                .iter_functions()
                .any(|f| f.name == "process" && f.params.len() == 2);
            if !has_process {
                return Err(Error::configuration(format!(
                    "script `{script}` ({}) defines no `fn process(table, params)`",
                    self.path.display()
                )));
            }
            Ok(ast)
        })
    }

    fn run(&self, batch: &RecordBatch) -> Result<Payload> {
        let script = self.config.name.as_str();
        let limits = &self.config.limits;
        if batch.num_rows() > limits.max_array_size {
            return Err(Error::processing(format!(
                "script `{script}`: a batch of {} rows is larger than `limits.max_array_size` \
                 = {}",
                batch.num_rows(),
                limits.max_array_size
            )));
        }
        if batch.num_columns() > limits.max_map_size {
            return Err(Error::processing(format!(
                "script `{script}`: a batch of {} columns is larger than `limits.max_map_size` \
                 = {}",
                batch.num_columns(),
                limits.max_map_size
            )));
        }
        let source = self.read().map_err(|e| {
            Error::processing(format!(
                "script `{script}`: cannot read {}",
                self.path.display()
            ))
            .with_source(e)
        })?;
        let ast = self.compiled(&source)?;
        let output = on_script_thread(script, || {
            let table = table_to_map(script, batch)?;
            let tracker = Tracker::default();
            let engine = limits.engine(Some(limits.deadline()), Some(&tracker));
            engine
                .call_fn_with_options::<Dynamic>(
                    CallFnOptions::new().eval_ast(false),
                    &mut Scope::new(),
                    &ast,
                    "process",
                    (Dynamic::from_map(table), self.params.clone()),
                )
                .map_err(|e| eval_error(script, limits, &e, &tracker))
        })?;
        self.output(output, batch)
    }

    /// The payload of what `process` returned (see the module documentation).
    fn output(&self, output: Dynamic, input: &RecordBatch) -> Result<Payload> {
        let script = self.config.name.as_str();
        let invalid = |message: String| Error::processing(format!("script `{script}`: {message}"));
        let type_name = output.type_name();
        let mut map = output.try_cast::<Map>().ok_or_else(|| {
            invalid(format!(
                "`process` returned a {type_name}; it must return a map"
            ))
        })?;
        let Some(table) = map.remove("table") else {
            return Ok(Payload::Json(to_json(script, &Dynamic::from_map(map))?));
        };
        let result = map.remove("result");
        if let Some(key) = map.keys().next() {
            return Err(invalid(format!(
                "`{key}` next to `table`: a map with a table holds only `table` and `result`"
            )));
        }
        let type_name = table.type_name();
        let table = table
            .try_cast::<Map>()
            .ok_or_else(|| invalid(format!("`table` is a {type_name}, not a map")))?;
        let batch = map_to_table(script, table, input)?;
        let Some(result) = result else {
            return Ok(Payload::Table(batch));
        };
        let json = to_json(script, &result)?;
        let metadata = HashMap::from([(SCRIPT_RESULT_METADATA_KEY.to_owned(), json.to_string())]);
        let schema = batch.schema().as_ref().clone().with_metadata(metadata);
        batch
            .with_schema(Arc::new(schema))
            .map(Payload::Table)
            .map_err(|e| invalid("cannot attach the result to its table".into()).with_source(e))
    }
}

#[async_trait]
impl Processor for ScriptProcessor {
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
        self.run(batch)
            .map_err(|e| e.with_component(self.name.clone()))
    }
}
