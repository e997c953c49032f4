//! `collectors data-source configure|sources|remove|test`: data sources registered by name in
//! the data directory's registry (secrets encrypted), and the lookup that lets `list` and
//! `ingest` take a registered name where they take a URI.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use collectors_backends::registry::{
    ConnectorFactories, DataSourceRegistry, REGISTRY_DB_FILE, REGISTRY_URL_ENV, read_settings_file,
    resolve_data_dir,
};
use collectors_core::{Connector, DataSourceConfig, DataSourceType, Error, Result};

/// The registry's subcommands of `collectors data-source`.
#[derive(Debug, Subcommand)]
pub(crate) enum RegistryAction {
    /// Registers a data source under a name: checks the settings, tests the connection,
    /// encrypts the secret settings and stores it in the data directory's registry.
    Configure {
        /// What to register: `s3://bucket/prefix`, `gs://…`, `az://…`, `file:///…`, a
        /// directory.
        uri: String,
        /// The name other commands (and pipeline files) use for it: letters, digits, `-`,
        /// `_`, `.`.
        #[arg(long)]
        name: String,
        /// Its settings (credentials, endpoint, region …): a `.yaml`/`.yml`, `.toml` or
        /// `.json` file of the store's keys. Unknown keys are refused.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Register without testing the connection.
        #[arg(long)]
        no_test: bool,
    },
    /// Lists the registered data sources; secret settings show as `***`.
    Sources {
        /// One JSON array, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Disconnects and removes a registered data source.
    Remove {
        /// Its name.
        name: String,
    },
    /// Tests the connection of a registered data source (exit 1 when it fails).
    Test {
        /// Its name.
        name: String,
    },
}

fn registry_exists(data_dir: &Path) -> bool {
    data_dir.join(REGISTRY_DB_FILE).is_file()
        || std::env::var(REGISTRY_URL_ENV).is_ok_and(|url| !url.trim().is_empty())
}

/// Whether `name` can be a registered name: never a path or a URI.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::configuration(format!(
            "--name {name:?}: a data source name is letters, digits, `-`, `_` and `.` (no `/`, \
             so it is never taken for a path)"
        )))
    }
}

pub(crate) async fn run(action: RegistryAction, data_dir: Option<&Path>) -> Result<ExitCode> {
    let data_dir = resolve_data_dir(data_dir)?;
    match action {
        RegistryAction::Configure {
            uri,
            name,
            config,
            no_test,
        } => {
            check_name(&name)?;
            let factories = ConnectorFactories::standard();
            let source_type = factories.type_for_uri(&uri)?;
            let mut settings = match &config {
                Some(path) => read_settings_file(path)?,
                None => serde_json::Map::new(),
            };
            if settings.contains_key("uri") {
                return Err(Error::configuration(
                    "the settings file sets `uri`, which is given on the command line",
                ));
            }
            settings.insert("uri".into(), absolute_uri(&uri, source_type)?.into());
            let mut source = DataSourceConfig::new(&name, source_type, &name)?;
            source.config = settings;
            let registry = DataSourceRegistry::open(&data_dir, factories).await?;
            let result = registry.register_data_source(source, !no_test).await;
            registry.close().await;
            result?;
            println!(
                "registered `{name}` ({}) in {}",
                type_label(source_type),
                data_dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        RegistryAction::Sources { json } => {
            let sources = if registry_exists(&data_dir) {
                let registry =
                    DataSourceRegistry::open(&data_dir, ConnectorFactories::standard()).await?;
                let sources = registry.list_data_sources();
                registry.close().await;
                sources
            } else {
                Vec::new()
            };
            print_sources(&sources, json)?;
            Ok(ExitCode::SUCCESS)
        }
        RegistryAction::Remove { name } => {
            let registry = open_existing(&data_dir, &name).await?;
            let result = registry.unregister(&name).await;
            registry.close().await;
            result?;
            println!("removed `{name}`");
            Ok(ExitCode::SUCCESS)
        }
        RegistryAction::Test { name } => {
            let registry = open_existing(&data_dir, &name).await?;
            let result = registry.test_connection(&name).await;
            registry.close().await;
            match result {
                Ok(()) => {
                    println!("`{name}`: connection ok");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("`{name}`: connection failed: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

async fn open_existing(data_dir: &Path, name: &str) -> Result<DataSourceRegistry> {
    if !registry_exists(data_dir) {
        return Err(Error::not_found(format!(
            "no data source `{name}` is registered (no registry in {})",
            data_dir.display()
        )));
    }
    let registry = DataSourceRegistry::open(data_dir, ConnectorFactories::standard()).await?;
    if !registry.contains(name) {
        registry.close().await;
        return Err(Error::not_found(format!(
            "no data source `{name}` is registered in {}",
            data_dir.display()
        )));
    }
    Ok(registry)
}

/// A local directory is registered by its absolute path, so the name works from anywhere.
fn absolute_uri(uri: &str, source_type: DataSourceType) -> Result<String> {
    if source_type != DataSourceType::LocalFile || uri.contains("://") {
        return Ok(uri.to_owned());
    }
    std::path::absolute(uri)
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|e| Error::configuration(format!("cannot resolve {uri:?}: {e}")).with_source(e))
}

fn type_label(source_type: DataSourceType) -> String {
    match serde_json::to_value(source_type) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{source_type:?}"),
    }
}

fn print_sources(sources: &[DataSourceConfig], json: bool) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let write = |e: std::io::Error| Error::invalid_state(format!("writing to stdout: {e}"));
    if json {
        let text = serde_json::to_string_pretty(sources)
            .map_err(|e| Error::invalid_state(format!("encoding the list: {e}")))?;
        return writeln!(out, "{text}").map_err(write);
    }
    for source in sources {
        let uri = source
            .config
            .get("uri")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let settings: Vec<String> = source
            .config
            .iter()
            .filter(|(k, _)| k.as_str() != "uri")
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect();
        writeln!(
            out,
            "{}\t{}\t{}\t{}",
            source.id,
            type_label(source.source_type),
            uri,
            settings.join(" ")
        )
        .map_err(write)?;
    }
    Ok(())
}

/// The connector of a registered data source named `name`, when `name` is one (not a URI
/// or a path, and registered in the data directory's registry); `None` otherwise, and then
/// the caller treats it as a URI. A registered name takes no `--config`: its settings are
/// registered with it.
pub(crate) async fn registered_connector(
    name: &str,
    data_dir: Option<&Path>,
    config: Option<&Path>,
) -> Result<Option<Arc<dyn Connector>>> {
    if check_name(name).is_err() {
        return Ok(None);
    }
    let data_dir = resolve_data_dir(data_dir)?;
    if !registry_exists(&data_dir) {
        return Ok(None);
    }
    let registry = DataSourceRegistry::open(&data_dir, ConnectorFactories::standard()).await?;
    let settings = registry.settings(name);
    registry.close().await;
    let Ok(settings) = settings else {
        return Ok(None);
    };
    if config.is_some() {
        return Err(Error::configuration(format!(
            "`{name}` is a registered data source with its own settings: drop --config \
             (or `data-source remove {name}` and configure it again)"
        )));
    }
    Ok(Some(ConnectorFactories::standard().build(&settings)?))
}

/// Gives `registry` the data directory's data sources, so pipeline files can name them; a
/// registry that cannot be opened (a wrong key) is reported and left out.
pub(crate) async fn attach(registry: &mut collectors_pipeline::Registry) {
    let Ok(data_dir) = resolve_data_dir(None) else {
        return;
    };
    if !registry_exists(&data_dir) {
        return;
    }
    match DataSourceRegistry::open(&data_dir, ConnectorFactories::standard()).await {
        Ok(sources) => {
            registry.with_data_sources(std::sync::Arc::new(sources));
        }
        Err(e) => {
            tracing::warn!("registered data sources are not available to the pipeline file: {e}")
        }
    }
}
