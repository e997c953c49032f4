//! The pipeline file (`pipeline.toml`): parsed, then checked in full before any data is touched.

use std::path::{Path, PathBuf};

use collectors_backends::FileFormat;
use collectors_core::{
    Backoff, EngineConfig, Error, ErrorAction, ErrorPolicy, ErrorType, FinalAction, Result,
};
use collectors_processors::{CsvOptions, FilterConfig, JsonLinesOptions, RollingMeanConfig};
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// A whole pipeline description.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PipelineConfig {
    /// The pipeline's name: the namespace of its checkpoints.
    pub(crate) name: String,
    /// Bounds, batching, concurrency.
    #[serde(default)]
    pub(crate) engine: EngineConfig,
    /// Where items come from.
    #[serde(rename = "source")]
    pub(crate) sources: Vec<SourceConfig>,
    /// The processors every batch runs through, in order; read as tables first so that a
    /// mistake inside one is reported with its key (see [`LoadedPipeline::processors`]).
    #[serde(default, rename = "processor")]
    pub(crate) processors: Vec<Spanned<toml::Table>>,
    /// Where records go.
    pub(crate) store: StoreConfig,
    /// More stores every record is also written to (`[[replica]]`, same keys as `[store]`).
    #[serde(default, rename = "replica")]
    pub(crate) replicas: Vec<StoreConfig>,
    /// Where acknowledgements go (default: the store's database).
    #[serde(default)]
    pub(crate) checkpoints: Option<CheckpointsConfig>,
    /// Where rejected records go.
    pub(crate) dead_letter: DeadLetterConfig,
    /// Retries of transient failures.
    #[serde(default)]
    pub(crate) retry: RetryConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SourceKind {
    /// Files in a local directory.
    Local,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Format {
    Csv,
    Jsonl,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SourceConfig {
    pub(crate) id: String,
    pub(crate) kind: SourceKind,
    /// The directory, relative to the pipeline file.
    pub(crate) path: Spanned<PathBuf>,
    /// Which files, relative to `path` (default: every file).
    #[serde(default = "all_files")]
    pub(crate) pattern: String,
    pub(crate) format: Format,
    #[serde(default)]
    pub(crate) csv: Option<CsvOptions>,
    #[serde(default)]
    pub(crate) jsonl: Option<JsonLinesOptions>,
}

fn all_files() -> String {
    "**/*".to_owned()
}

/// One processor of the pipeline, by its `type`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ProcessorConfig {
    Filter(FilterConfig),
    RollingMean(RollingMeanConfig),
}

/// The processor types a pipeline file may name.
const PROCESSOR_TYPES: [&str; 2] = ["filter", "rolling_mean"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StoreKind {
    /// A SQLite database file; rows go to `table`.
    Sqlite,
    /// A directory with one file per record batch, in `format`.
    File,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoreConfig {
    pub(crate) kind: StoreKind,
    /// The database file (sqlite) or the directory (file), relative to the pipeline file.
    pub(crate) path: Spanned<PathBuf>,
    /// The table rows go to (sqlite only).
    #[serde(default)]
    pub(crate) table: Option<String>,
    /// `jsonl` or `parquet` (file only; default `jsonl`).
    #[serde(default)]
    pub(crate) format: Option<FileFormat>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckpointsConfig {
    /// The SQLite file, relative to the pipeline file.
    pub(crate) path: Spanned<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeadLetterConfig {
    /// The JSON-lines file, relative to the pipeline file.
    pub(crate) path: Spanned<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RetryConfig {
    /// Attempts in all for transient failures (connection, read, storage, timeout).
    pub(crate) max_attempts: u32,
    pub(crate) initial_delay_ms: u64,
    pub(crate) max_delay_ms: u64,
    pub(crate) jitter: f64,
    /// What happens once the attempts are used up.
    pub(crate) on_exhausted: FinalAction,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_delay_ms: 100,
            max_delay_ms: 10_000,
            jitter: 0.5,
            on_exhausted: FinalAction::DeadLetter,
        }
    }
}

impl RetryConfig {
    /// The error policy: the default one, with this backoff for transient failures.
    pub(crate) fn policy(&self) -> Result<ErrorPolicy> {
        let backoff = Backoff::new(
            std::time::Duration::from_millis(self.initial_delay_ms),
            std::time::Duration::from_millis(self.max_delay_ms),
            self.max_attempts,
        )?
        .with_jitter(self.jitter)?;
        let mut policy = ErrorPolicy::default();
        for t in ErrorType::ALL.into_iter().filter(|t| t.is_retryable()) {
            policy = policy.on(
                t,
                ErrorAction::Retry {
                    backoff,
                    exhausted: self.on_exhausted,
                },
            );
        }
        Ok(policy)
    }
}

/// A pipeline file, parsed and checked, with its paths resolved.
#[derive(Debug, Clone)]
pub(crate) struct LoadedPipeline {
    pub(crate) file: PathBuf,
    pub(crate) text: String,
    pub(crate) config: PipelineConfig,
    /// `config.processors`, each checked against its type's options (parsed once, at load).
    pub(crate) processors: Vec<ProcessorConfig>,
}

impl LoadedPipeline {
    /// Reads and checks `file`. Every mistake is a configuration error naming the file, and
    /// the line and key where it can.
    pub(crate) fn load(file: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(file).map_err(|e| {
            Error::configuration(format!("cannot read pipeline file {}", file.display()))
                .with_source(e)
        })?;
        let config: PipelineConfig = toml::from_str(&text).map_err(|e| {
            Error::configuration(format!("{}: {}", file.display(), e.to_string().trim_end()))
        })?;
        let mut loaded = Self {
            file: file.to_path_buf(),
            text,
            config,
            processors: Vec::new(),
        };
        loaded.check()?;
        loaded.processors = loaded.parse_processors()?;
        Ok(loaded)
    }

    /// The directory relative paths are resolved against.
    fn base(&self) -> PathBuf {
        self.file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// Resolves a path of the file against the file's directory.
    pub(crate) fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base().join(path)
        }
    }

    /// An error about the value at `span`, with its line.
    pub(crate) fn error_at(&self, span: std::ops::Range<usize>, key: &str, message: &str) -> Error {
        let line = self.text[..span.start.min(self.text.len())]
            .matches('\n')
            .count()
            + 1;
        self.error_on_line(line, key, message)
    }

    fn error_on_line(&self, line: usize, key: &str, message: &str) -> Error {
        Error::configuration(format!(
            "{}:{line}: `{key}`: {message}",
            self.file.display()
        ))
    }

    /// The line of `key = …` inside the table that starts at `span`, or the table's line.
    fn line_of_key(&self, span: std::ops::Range<usize>, key: &str) -> usize {
        let start = span.start.min(self.text.len());
        let table_line = self.text[..start].matches('\n').count() + 1;
        let end = span.end.min(self.text.len()).max(start);
        self.text[start..end]
            .lines()
            .position(|l| {
                l.trim_start()
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .map_or(table_line, |i| table_line + i)
    }

    /// The processors, each checked against its type's options. A mistake names the
    /// processor, the key and its line.
    fn parse_processors(&self) -> Result<Vec<ProcessorConfig>> {
        self.config
            .processors
            .iter()
            .enumerate()
            .map(|(i, table)| {
                let span = table.span();
                let mut options = table.get_ref().clone();
                let kind = match options.remove("type") {
                    Some(toml::Value::String(kind)) => kind,
                    Some(_) => {
                        return Err(self.error_at(
                            span,
                            &format!("processor[{i}].type"),
                            "must be a string",
                        ));
                    }
                    None => {
                        return Err(self.error_at(
                            span,
                            &format!("processor[{i}].type"),
                            "is missing",
                        ));
                    }
                };
                let options = toml::Value::Table(options);
                let parsed = match kind.as_str() {
                    "filter" => {
                        serde_path_to_error::deserialize(options).map(ProcessorConfig::Filter)
                    }
                    "rolling_mean" => {
                        serde_path_to_error::deserialize(options).map(ProcessorConfig::RollingMean)
                    }
                    other => {
                        let line = self.line_of_key(span, "type");
                        return Err(self.error_on_line(
                            line,
                            &format!("processor[{i}].type"),
                            &format!(
                                "unknown processor `{other}`; known: {}",
                                PROCESSOR_TYPES.join(", ")
                            ),
                        ));
                    }
                };
                parsed.map_err(|e| {
                    let key = e.path().to_string();
                    let first = key.split(['.', '[']).next().unwrap_or_default().to_owned();
                    let line = self.line_of_key(span.clone(), &first);
                    self.error_on_line(
                        line,
                        &format!("processor[{i}].{key}"),
                        &e.inner().to_string(),
                    )
                })
            })
            .collect()
    }

    fn check(&self) -> Result<()> {
        let c = &self.config;
        if c.name.trim().is_empty() {
            return Err(Error::configuration(format!(
                "{}: `name` must not be empty",
                self.file.display()
            )));
        }
        c.engine.validate().map_err(|e| {
            Error::configuration(format!("{}: [engine] {}", self.file.display(), e.message()))
        })?;
        if c.sources.is_empty() {
            return Err(Error::configuration(format!(
                "{}: at least one [[source]] is needed",
                self.file.display()
            )));
        }
        for (i, source) in c.sources.iter().enumerate() {
            let key = |k: &str| format!("source[{i}].{k}");
            let dir = self.resolve(source.path.get_ref());
            if !dir.is_dir() {
                return Err(self.error_at(
                    source.path.span(),
                    &key("path"),
                    &format!("{} is not a directory", dir.display()),
                ));
            }
            match (source.format, &source.csv, &source.jsonl) {
                (Format::Csv, _, Some(_)) => {
                    return Err(Error::configuration(format!(
                        "{}: `{}` is set but the format is csv",
                        self.file.display(),
                        key("jsonl")
                    )));
                }
                (Format::Jsonl, Some(_), _) => {
                    return Err(Error::configuration(format!(
                        "{}: `{}` is set but the format is jsonl",
                        self.file.display(),
                        key("csv")
                    )));
                }
                _ => {}
            }
        }
        let mut ids: Vec<&str> = c.sources.iter().map(|s| s.id.as_str()).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::configuration(format!(
                "{}: two sources are named `{}`",
                self.file.display(),
                w[0]
            )));
        }
        c.retry.policy().map_err(|e| {
            Error::configuration(format!("{}: [retry] {}", self.file.display(), e.message()))
        })?;
        for (i, store) in std::iter::once(&c.store).chain(&c.replicas).enumerate() {
            self.check_store(
                store,
                if i == 0 {
                    "store".to_owned()
                } else {
                    format!("replica[{}]", i - 1)
                },
            )?;
        }
        Ok(())
    }

    fn check_store(&self, store: &StoreConfig, name: String) -> Result<()> {
        let misplaced = match store.kind {
            StoreKind::Sqlite if store.format.is_some() => {
                Some("format (only for kind = \"file\")")
            }
            StoreKind::Sqlite if store.table.is_none() => {
                Some("table (required for kind = \"sqlite\")")
            }
            StoreKind::File if store.table.is_some() => Some("table (only for kind = \"sqlite\")"),
            _ => None,
        };
        if let Some(key) = misplaced {
            return Err(self.error_at(
                store.path.span(),
                &format!("{name}.{key}"),
                "does not fit this store kind",
            ));
        }
        Ok(())
    }

    /// A digest of the settings that shape storage keys and stored values: decoders and
    /// processors. A resumed run with another fingerprint would mix incompatible records.
    pub(crate) fn fingerprint(&self) -> String {
        let c = &self.config;
        let shaping = serde_json::json!({
            "sources": c.sources.iter().map(|s| serde_json::json!({
                "id": s.id, "format": s.format, "csv": s.csv, "jsonl": s.jsonl
            })).collect::<Vec<_>>(),
            "processors": self.processors,
            "table": c.store.table,
        });
        let text = shaping.to_string();
        let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("{hash:016x}")
    }
}
