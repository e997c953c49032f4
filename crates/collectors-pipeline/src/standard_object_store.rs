//! `kind = "object_store"`: sources and stores on any object store by URI
//! (`s3://bucket/raw/`, `az://container/out`, `gs://…`, `file:///…`, a plain path).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use collectors_backends::FileFormat;
use collectors_backends::object_store::{
    ObjectStoreConfig, ObjectStoreSource, ObjectStoreStorage, StoreScheme, StoreUri, get_connector,
};
use collectors_backends::registry::{DataSourceRegistry, object_store_config};
use collectors_core::{Error, Result};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::registry::{BuildContext, BuiltSource, BuiltStore, LocalInputs, Registry};

/// `kind = "object_store"` source: the objects under a URI.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SourceParams {
    /// Where: `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix`,
    /// `file:///abs/dir`, or a plain directory relative to the pipeline file; or, when the
    /// registry is given a data-source registry
    /// ([`Registry::with_data_sources`](crate::Registry::with_data_sources)), the name of a
    /// registered data source (which wins over a directory of the same name: write
    /// `./name` for that).
    path: String,
    /// Which objects: a glob. Without a `/` it matches names at any depth (`*.csv`); with
    /// one, paths under `path` (`2024/*.csv`, `**/*.parquet`). Default: every object.
    #[serde(default)]
    pattern: Option<String>,
    /// A TOML or JSON file of store options (credentials, endpoint, region), relative to the
    /// pipeline file. What is not set comes from the environment (`AWS_*`, `AZURE_*`,
    /// `GOOGLE_*`).
    #[serde(default)]
    config: Option<PathBuf>,
    /// Store options given inline (they win over `config`); keep secrets in `config` or the
    /// environment.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    options: BTreeMap<String, serde_json::Value>,
}

/// `kind = "object_store"` store: one object per source item under a URI
/// (`{source}/{item}.{ext}`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct StoreParams {
    /// Where: as the source's `path`. A URI store keeps no local files, so `[checkpoints]`
    /// and `[dead_letter]` must name theirs.
    path: String,
    /// `parquet` (default), `jsonl` or `csv` (plain CSV with a hidden index object beside
    /// each).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    format: Option<FileFormat>,
    /// Never replace an object: a redone item whose object exists (same item version) is left
    /// as it was; one written for another version of the item fails the item.
    #[serde(default)]
    create_only: bool,
    /// As the source's `config`.
    #[serde(default)]
    config: Option<PathBuf>,
    /// As the source's `options`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    options: BTreeMap<String, serde_json::Value>,
}

/// The URI to connect to: plain local paths are resolved against the pipeline file.
fn resolve_uri(ctx: &BuildContext<'_>, path: &str) -> Result<(String, Option<PathBuf>)> {
    let uri = StoreUri::parse(path)
        .map_err(|e| Error::configuration(format!("`path`: {}", e.message())))?;
    match uri.scheme() {
        StoreScheme::Local => {
            let dir = ctx.resolve(uri.local_root().unwrap_or_else(|| Path::new(".")));
            Ok((dir.to_string_lossy().into_owned(), Some(dir)))
        }
        _ => Ok((path.to_owned(), None)),
    }
}

fn config_of(
    ctx: &BuildContext<'_>,
    file: Option<&Path>,
    inline: &BTreeMap<String, serde_json::Value>,
) -> Result<ObjectStoreConfig> {
    let mut config = match file {
        Some(path) => ObjectStoreConfig::from_path(ctx.resolve(path))
            .map_err(|e| Error::configuration(format!("`config`: {}", e.message())))?,
        None => ObjectStoreConfig::new(),
    };
    for (key, value) in inline {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Bool(_) | serde_json::Value::Number(_) => value.to_string(),
            _ => {
                return Err(Error::configuration(format!(
                    "`options.{key}` must be a string, a boolean or a number"
                )));
            }
        };
        config.set(key, text);
    }
    Ok(config)
}

/// Where `path` points and with which options: a data source registered under that name in
/// `names` (which then carries its own settings), else a URI or a directory.
fn locate(
    ctx: &BuildContext<'_>,
    path: &str,
    file: Option<&Path>,
    inline: &BTreeMap<String, serde_json::Value>,
    names: Option<&DataSourceRegistry>,
) -> Result<(String, Option<PathBuf>, ObjectStoreConfig)> {
    if let Some(names) = names
        && names.contains(path)
    {
        if file.is_some() || !inline.is_empty() {
            return Err(Error::configuration(format!(
                "`path` names the registered data source `{path}`, which carries its own \
                 settings: drop `config` and `options`"
            )));
        }
        let (uri, config) = object_store_config(&names.settings(path)?)?;
        let parsed = StoreUri::parse(&uri)?;
        let local = match parsed.scheme() {
            StoreScheme::Local => parsed.local_root().map(Path::to_path_buf),
            _ => None,
        };
        return Ok((uri, local, config));
    }
    let (uri, local) = resolve_uri(ctx, path)?;
    let config = config_of(ctx, file, inline)?;
    Ok((uri, local, config))
}

pub(crate) fn register(registry: &mut Registry) {
    register_with(registry, None);
}

/// The `object_store` kinds, whose `path` may also name a data source of `names`.
pub(crate) fn register_with(registry: &mut Registry, names: Option<Arc<DataSourceRegistry>>) {
    let store_names = names.clone();
    registry
        .source("object_store", move |id, p: SourceParams, ctx| {
            let (uri, local, config) = locate(
                ctx,
                &p.path,
                p.config.as_deref(),
                &p.options,
                names.as_deref(),
            )?;
            let connector = Arc::new(get_connector(&uri, &config)?);
            let mut source = ObjectStoreSource::new(id, connector);
            if let Some(pattern) = &p.pattern {
                source = source
                    .with_pattern(pattern)
                    .map_err(|e| Error::configuration(format!("`pattern`: {}", e.message())))?;
            }
            // For the check that no output is an input: which local files are read.
            let reads = match local {
                Some(dir) => {
                    let glob = match p.pattern.as_deref() {
                        Some(pattern) if pattern.contains('/') => pattern.to_owned(),
                        Some(pattern) => format!("**/{pattern}"),
                        None => "**/*".to_owned(),
                    };
                    let patterns = globset::GlobSet::builder()
                        .add(globset::Glob::new(&glob).map_err(|e| {
                            Error::configuration(format!("`pattern` is not a valid glob: {e}"))
                        })?)
                        .build()
                        .map_err(|e| Error::configuration(format!("`pattern`: {e}")))?;
                    Some(LocalInputs { dir, patterns })
                }
                None => None,
            };
            Ok(BuiltSource {
                source: Arc::new(source),
                reads,
            })
        })
        .store("object_store", move |id, p: StoreParams, ctx| {
            let (uri, local, config) = locate(
                ctx,
                &p.path,
                p.config.as_deref(),
                &p.options,
                store_names.as_deref(),
            )?;
            if let Some(dir) = &local {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Error::configuration(format!("`path`: cannot create {}", dir.display()))
                        .with_source(e)
                })?;
            }
            let connector = Arc::new(get_connector(&uri, &config)?);
            let store =
                ObjectStoreStorage::new(id, connector, p.format.unwrap_or(FileFormat::Parquet))
                    .create_only(p.create_only);
            Ok(BuiltStore {
                store: Arc::new(store),
                outputs: local.into_iter().collect(),
                ledger_db: None,
                quality_history: None,
            })
        });
}
