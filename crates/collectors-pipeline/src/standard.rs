//! The factories of the components this workspace ships (see [`Registry::standard`]).

use std::path::PathBuf;
use std::sync::Arc;

use collectors_backends::{FileFormat, FileSink, LocalDirectorySource, SqliteStorage};
use collectors_core::{Error, Processor, Result};
use collectors_processors::{
    ColumnSpec, CsvDecoder, CsvOptions, DataQuality, DataQualityConfig, Decode, DecodeConfig,
    DecodeFormat, Encode, EncodeConfig, Filter, FilterConfig, InferSchema, InferSchemaConfig,
    JsonLinesDecoder, JsonLinesOptions, Map, MapConfig, PeakDetection, PeakDetectionConfig,
    RollingMean, RollingMeanConfig, Validate, ValidateConfig,
};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::registry::{BuiltDecoder, BuiltSource, BuiltStore, LocalInputs, Registry};

/// `kind = "local"`: the files of a local directory.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LocalParams {
    /// The directory, relative to the pipeline file.
    path: PathBuf,
    /// Which files, relative to `path` (a glob; default: every file).
    #[serde(default = "all_files")]
    pattern: String,
}

fn all_files() -> String {
    "**/*".to_owned()
}

/// `kind = "sqlite"`: rows into a table of a SQLite database file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SqliteParams {
    /// The database file, relative to the pipeline file (created if missing).
    path: PathBuf,
    /// The table rows go to (created from the first batch's columns).
    table: String,
}

/// `kind = "file"`: one file per source item in a directory (`{source}/{item}.{ext}`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct FileParams {
    /// The directory, relative to the pipeline file.
    path: PathBuf,
    /// `jsonl` (default), `csv` (plain CSV with a hidden index beside each file) or
    /// `parquet` (needs the `parquet` feature).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    format: Option<FileFormat>,
}

fn columns_of(schema: Option<&Vec<ColumnSpec>>) -> Option<Vec<String>> {
    schema.map(|s| s.iter().map(|c| c.name.clone()).collect())
}

pub(crate) fn register(registry: &mut Registry) {
    #[cfg(feature = "postgres")]
    crate::standard_postgres::register(registry);
    #[cfg(feature = "object-store")]
    crate::standard_object_store::register(registry);
    #[cfg(feature = "scripts")]
    crate::standard_script::register(registry);
    registry
        .source("local", |id, p: LocalParams, ctx| {
            let dir = ctx.resolve(&p.path);
            if !dir.is_dir() {
                return Err(Error::configuration(format!(
                    "`path`: {} is not a directory",
                    dir.display()
                )));
            }
            let glob = globset::Glob::new(&p.pattern)
                .map_err(|e| Error::configuration(format!("`pattern` is not a valid glob: {e}")))?;
            let patterns = globset::GlobSet::builder()
                .add(glob)
                .build()
                .map_err(|e| Error::configuration(format!("`pattern`: {e}")))?;
            let source = LocalDirectorySource::builder(id, &dir)
                .pattern(&p.pattern)
                .build()?;
            Ok(BuiltSource {
                source: Arc::new(source),
                reads: Some(LocalInputs { dir, patterns }),
            })
        })
        .decoder("csv", |options: CsvOptions| {
            let columns = columns_of(options.schema.as_ref());
            Ok(BuiltDecoder {
                decoder: Arc::new(CsvDecoder::new(options)?),
                columns,
            })
        })
        .decoder("jsonl", |options: JsonLinesOptions| {
            let columns = columns_of(options.schema.as_ref());
            Ok(BuiltDecoder {
                decoder: Arc::new(JsonLinesDecoder::new(options)?),
                columns,
            })
        })
        .processor("filter", |config: FilterConfig, columns| {
            let filter = Filter::new(config)?;
            match &filter.config().expr {
                Some(expr) => {
                    for column in collectors_processors::Expression::parse(expr)?.columns() {
                        columns.require("expr", column);
                    }
                }
                None => columns.require("column", &filter.config().column),
            }
            Ok(Arc::new(filter) as Arc<dyn Processor>)
        })
        .processor("rolling_mean", |config: RollingMeanConfig, columns| {
            if let Some(key) = &config.key {
                columns.require("key", key);
            }
            columns.require("value", &config.value);
            if let Some(on) = &config.on {
                columns.require("on", on);
            }
            columns.add(&config.output_column());
            Ok(Arc::new(RollingMean::new(config)?) as Arc<dyn Processor>)
        })
        .processor_with_context("data_quality", |config: DataQualityConfig, ctx, columns| {
            for column in config.named_columns() {
                columns.require("columns", column);
            }
            let mut quality = DataQuality::new(config)?.with_events(ctx.events());
            if let Some(history) = ctx.quality_history() {
                quality = quality.with_history(history, ctx.pipeline_name());
            }
            Ok(Arc::new(quality) as Arc<dyn Processor>)
        })
        .processor("map", |config: MapConfig, columns| {
            let map = Map::new(config)?;
            let config = map.config();
            for column in config.cast.keys() {
                columns.require("cast", column);
            }
            for (i, derived) in config.derive.iter().enumerate() {
                for column in collectors_processors::Expression::parse(&derived.expr)?.columns() {
                    columns.require(&format!("derive[{i}].expr"), column);
                }
                columns.add(&derived.name);
            }
            for column in &config.drop {
                columns.require("drop", column);
                columns.remove(column);
            }
            for (from, to) in &config.rename {
                columns.require("rename", from);
                columns.remove(from);
                columns.add(to);
            }
            Ok(Arc::new(map) as Arc<dyn Processor>)
        })
        // The columns stay; only their types are decided by the data.
        .processor_with_context(
            "infer_schema",
            |config: InferSchemaConfig, ctx, _columns| {
                let infer = InferSchema::new(config).with_events(ctx.events());
                Ok(Arc::new(infer) as Arc<dyn Processor>)
            },
        )
        // The table's columns come from the bytes: unknown until they are decoded.
        .processor("decode", |config: DecodeConfig, columns| {
            let decode = Decode::new(config)?;
            let config = decode.config();
            let known = match config.format {
                DecodeFormat::Csv => config
                    .csv
                    .as_ref()
                    .and_then(|c| columns_of(c.schema.as_ref())),
                DecodeFormat::Jsonl => config
                    .jsonl
                    .as_ref()
                    .and_then(|c| columns_of(c.schema.as_ref())),
                DecodeFormat::Parquet => None,
            };
            columns.replace(known);
            Ok(Arc::new(decode) as Arc<dyn Processor>)
        })
        // A table in, bytes out: no columns after it.
        .processor("encode", |config: EncodeConfig, columns| {
            columns.replace(Some(Vec::new()));
            Ok(Arc::new(Encode::new(config)?) as Arc<dyn Processor>)
        })
        .processor("validate", |config: ValidateConfig, columns| {
            for (i, rule) in config.columns.iter().enumerate() {
                if rule.required {
                    columns.require(&format!("columns[{i}].name"), &rule.name);
                }
            }
            for column in &config.unique {
                columns.require("unique", column);
            }
            Ok(Arc::new(Validate::new(config)?) as Arc<dyn Processor>)
        })
        .processor("peak_detection", |config: PeakDetectionConfig, columns| {
            if let Some(key) = &config.key {
                columns.require("key", key);
            }
            columns.require("value", &config.value);
            let detector = PeakDetection::new(config)?;
            // One row per peak: the output has the peak table's columns only.
            let out = detector.output_columns();
            for column in columns.known().map(<[String]>::to_vec).unwrap_or_default() {
                if !out.contains(&column) {
                    columns.remove(&column);
                }
            }
            for column in &out {
                columns.add(column);
            }
            Ok(Arc::new(detector) as Arc<dyn Processor>)
        })
        .store("sqlite", |id, p: SqliteParams, ctx| {
            let path = ctx.resolve(&p.path);
            let store = Arc::new(
                SqliteStorage::builder(id, path.to_string_lossy())
                    .table(p.table)
                    .build()?,
            );
            Ok(BuiltStore {
                outputs: sqlite_files(&path),
                ledger_db: Some(path),
                quality_history: None,
                store,
            })
        })
        .store("file", |id, p: FileParams, ctx| {
            let path = ctx.resolve(&p.path);
            let sink = FileSink::builder(id, &path)
                .format(p.format.unwrap_or(FileFormat::Jsonl))
                .build()?;
            Ok(BuiltStore {
                store: Arc::new(sink),
                outputs: vec![path],
                ledger_db: None,
                quality_history: None,
            })
        });
    #[cfg(feature = "parquet")]
    register_parquet(registry);
}

/// `format = "parquet"` sources (feature `parquet`).
#[cfg(feature = "parquet")]
fn register_parquet(registry: &mut Registry) {
    registry.decoder(
        "parquet",
        |options: collectors_processors::ParquetOptions| {
            Ok(BuiltDecoder {
                decoder: Arc::new(collectors_processors::ParquetDecoder::new(options)?),
                columns: None,
            })
        },
    );
}

/// A SQLite database and the files SQLite keeps beside it.
pub(crate) fn sqlite_files(path: &std::path::Path) -> Vec<PathBuf> {
    let mut files = vec![path.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        files.push(crate::spec::sibling(path, suffix));
    }
    files
}

/// Checks that `path`'s parent directory exists or can be created.
pub(crate) fn ensure_parent(path: &std::path::Path) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            Error::configuration(format!("cannot create {}", parent.display())).with_source(e)
        })?;
    }
    Ok(())
}
