//! `collectors data-source list|ingest`: browse an object store, a directory or (feature
//! `postgres`) a PostgreSQL database by URI (or an object store by the name it is
//! registered under), and download what a pattern selects. The registry's subcommands are
//! in `data_source_registry.rs`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::SecondsFormat;
use clap::{Args, Subcommand};
use collectors_backends::object_store::{ObjectStoreConfig, get_connector};
use collectors_core::{Connector, DataItem, Error, ListOptions, Result};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Browse and download the objects of a store.
#[derive(Debug, Args)]
pub(crate) struct DataSourceArgs {
    /// Where registered data sources are kept (default: `COLLECTORS_DATA_DIR`, else the
    /// platform's data directory).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Lists the objects under a URI (`s3://bucket/prefix`, `gs://…`, `az://…`, `file:///…`,
    /// a directory), sorted by path; or the tables and views of `postgres://…` (as
    /// `schema.name`).
    List {
        /// Where to list (or a registered data source's name).
        uri: String,
        /// Only objects the glob selects: without a `/` it matches names at any depth
        /// (`*.csv`), with one the path under the URI (`2024/*.csv`, `**/*.parquet`).
        /// Default: every object (seed 000 defaulted to `*.fcs`).
        #[arg(long)]
        pattern: Option<String>,
        /// Also show size, modification time and e-tag.
        #[arg(long, short = 'l')]
        long: bool,
        /// One JSON array of the objects, for scripts.
        #[arg(long, conflicts_with = "long")]
        json: bool,
        /// Store options (credentials, endpoint, region): a TOML or JSON file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Downloads the objects a pattern selects into a directory, keeping their paths.
    /// A rerun skips the files already there with the same size. From `postgres://…`,
    /// exports each table a pattern selects as `schema.name.parquet`.
    Ingest {
        /// Where to read (or a registered data source's name).
        uri: String,
        /// Which objects (as for `list`); default: every object.
        #[arg(long)]
        pattern: Option<String>,
        /// The directory to download into (created if missing).
        #[arg(long)]
        output_dir: PathBuf,
        /// Downloads at once (1 to 256).
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Download every object again, even when a file of the same size is there.
        #[arg(long, conflicts_with = "skip_existing")]
        overwrite: bool,
        /// Skip every object whose file exists, whatever its size.
        #[arg(long)]
        skip_existing: bool,
        /// Store options (credentials, endpoint, region): a TOML or JSON file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    #[command(flatten)]
    Registry(super::data_source_registry::RegistryAction),
}

/// Exit code when some objects could not be downloaded.
const EXIT_FAILED: u8 = 1;

pub(crate) async fn run(args: DataSourceArgs) -> Result<ExitCode> {
    let data_dir = args.data_dir.as_deref();
    match args.action {
        Action::Registry(action) => super::data_source_registry::run(action, data_dir).await,
        Action::List {
            uri,
            pattern,
            long,
            json,
            config,
        } => {
            let connector = connect(&uri, config.as_deref(), data_dir).await?;
            let items = connector.list_items(&options(pattern)).await?;
            print_list(&items, long, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Action::Ingest {
            uri,
            pattern,
            output_dir,
            concurrency,
            overwrite,
            skip_existing,
            config,
            quiet,
        } => {
            if !(1..=256).contains(&concurrency) {
                return Err(Error::configuration(format!(
                    "--concurrency must be from 1 to 256, not {concurrency}"
                )));
            }
            let connector = connect(&uri, config.as_deref(), data_dir).await?;
            let items = connector.list_items(&options(pattern)).await?;
            let policy = if overwrite {
                Existing::Overwrite
            } else if skip_existing {
                Existing::Skip
            } else {
                Existing::SkipSameSize
            };
            ingest(connector, items, &output_dir, concurrency, policy, quiet).await
        }
    }
}

fn options(pattern: Option<String>) -> ListOptions {
    let mut options = ListOptions::new();
    options.pattern = pattern;
    options
}

/// The connector of `uri`'s scheme (or of the data source registered under that name), its
/// connection tested.
async fn connect(
    uri: &str,
    config: Option<&Path>,
    data_dir: Option<&Path>,
) -> Result<Arc<dyn Connector>> {
    #[cfg(feature = "postgres")]
    if uri.starts_with("postgres://") || uri.starts_with("postgresql://") {
        if config.is_some() {
            return Err(Error::configuration(
                "--config is for object stores: a PostgreSQL URL carries its own settings",
            ));
        }
        let connector = collectors_backends::postgres::PostgresConnector::new(uri)?;
        connector.test_connection().await?;
        return Ok(Arc::new(connector));
    }
    if let Some(connector) =
        super::data_source_registry::registered_connector(uri, data_dir, config).await?
    {
        connector.test_connection().await?;
        return Ok(connector);
    }
    let config = match config {
        Some(path) => ObjectStoreConfig::from_path(path)?,
        None => ObjectStoreConfig::new(),
    };
    let connector = get_connector(uri, &config)?;
    connector.test_connection().await?;
    Ok(Arc::new(connector))
}

fn print_list(items: &[DataItem], long: bool, json: bool) -> Result<()> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let write = |e: std::io::Error| Error::invalid_state(format!("writing to stdout: {e}"));
    if json {
        let rows: Vec<_> = items
            .iter()
            .map(|i| {
                serde_json::json!({
                    "name": i.name,
                    "path": i.path,
                    "size": i.size,
                    "modified_at": i.modified_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                    "e_tag": i.metadata.get("e_tag"),
                    "content_type": i.metadata.get("content_type"),
                    "uri": i.metadata.get("uri"),
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&rows)
            .map_err(|e| Error::invalid_state(format!("encoding the list: {e}")))?;
        writeln!(out, "{text}").map_err(write)?;
        return Ok(());
    }
    for item in items {
        if long {
            writeln!(
                out,
                "{:>12}  {}  {}",
                item.size,
                item.modified_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                item.path
            )
            .map_err(write)?;
        } else {
            writeln!(out, "{}", item.path).map_err(write)?;
        }
    }
    if long {
        let total: u64 = items.iter().map(|i| i.size).sum();
        writeln!(out, "{} objects, {total} bytes", items.len()).map_err(write)?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Existing {
    Overwrite,
    Skip,
    SkipSameSize,
}

enum Outcome {
    Fetched(u64),
    Skipped,
    Failed(String, Error),
}

async fn ingest(
    connector: Arc<dyn Connector>,
    items: Vec<DataItem>,
    output_dir: &Path,
    concurrency: usize,
    policy: Existing,
    quiet: bool,
) -> Result<ExitCode> {
    tokio::fs::create_dir_all(output_dir).await.map_err(|e| {
        Error::configuration(format!("cannot create {}: {e}", output_dir.display())).with_source(e)
    })?;
    let total_bytes: u64 = items.iter().map(|i| i.size).sum();
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let files_done = Arc::new(AtomicU64::new(0));
    let count = items.len();
    let started = Instant::now();
    let outcomes: Vec<Outcome> = futures::stream::iter(items)
        .map(|item| {
            let (connector, bar, files_done) = (connector.clone(), bar.clone(), files_done.clone());
            let output_dir = output_dir.to_path_buf();
            async move {
                let outcome = fetch_one(connector.as_ref(), &item, &output_dir, policy).await;
                bar.inc(item.size);
                let done = files_done.fetch_add(1, Ordering::Relaxed) + 1;
                bar.set_message(format!("files {done}/{count}"));
                outcome
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    bar.finish_and_clear();

    let (mut fetched, mut bytes, mut skipped) = (0u64, 0u64, 0u64);
    let mut failures = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Fetched(n) => {
                fetched += 1;
                bytes += n;
            }
            Outcome::Skipped => skipped += 1,
            Outcome::Failed(path, e) => failures.push((path, e)),
        }
    }
    failures.sort_by(|a, b| a.0.cmp(&b.0));
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    eprintln!(
        "{fetched} fetched ({bytes} bytes, {:.1} MB/s), {skipped} skipped, {} failed, in {:.2}s",
        bytes as f64 / 1e6 / seconds,
        failures.len(),
        seconds
    );
    for (path, error) in &failures {
        eprintln!("failed: {path}: {error}");
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

async fn fetch_one(
    connector: &dyn Connector,
    item: &DataItem,
    output_dir: &Path,
    policy: Existing,
) -> Outcome {
    // A table is exported under a file name of its own; an object keeps its path.
    let local = item
        .metadata
        .get("file_name")
        .and_then(|v| v.as_str())
        .unwrap_or(&item.path);
    let target = match collectors_core::resolve_in_workspace(output_dir, local) {
        Ok(target) => target,
        Err(e) => return Outcome::Failed(item.path.clone(), e),
    };
    if policy != Existing::Overwrite
        && let Ok(meta) = tokio::fs::metadata(&target).await
        && meta.is_file()
        && (policy == Existing::Skip || meta.len() == item.size)
    {
        return Outcome::Skipped;
    }
    match connector.fetch_data(&item.path, output_dir).await {
        Ok(_) => Outcome::Fetched(item.size),
        Err(e) => Outcome::Failed(item.path.clone(), e),
    }
}
