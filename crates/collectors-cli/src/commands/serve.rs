//! `collectors serve` (the API and in-process workers: the embedded default, SQLite and
//! local files) and `collectors worker` (workers only, sharing a PostgreSQL queue and an
//! object store with any number of other processes).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use collectors_backends::any_db::AnyLocation;
use collectors_backends::registry::resolve_data_dir;
use collectors_core::{CancellationToken, Error, Result};
use collectors_server::{API_TOKEN_ENV, ServerConfig, Service, TokenOrigin};
use secrecy::{ExposeSecret, SecretString};

/// What both commands share.
#[derive(Debug, Args)]
pub(crate) struct ServiceArgs {
    /// The service's state: SQLite database, token file, default file store
    /// (default: `COLLECTORS_DATA_DIR`, else the platform's data directory).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The database of files, pipelines and jobs: a SQLite path or `postgres://…`
    /// (default: `DATA_DIR/service.db`).
    #[arg(long)]
    database: Option<String>,
    /// Where uploads and results are stored: a directory or an object-store URI
    /// (default: `DATA_DIR/store`).
    #[arg(long)]
    store: Option<String>,
    /// Jobs run at once in this process, its worker slots (default: one per core, for
    /// CPU-bound pipelines; raise it for many short jobs).
    #[arg(long)]
    workers: Option<usize>,
    /// The lease of a running job, in milliseconds: a worker that dies has its job re-run
    /// this long after its last heartbeat.
    #[arg(long, default_value_t = 30_000)]
    lease_ms: u64,
    /// Where `custom` scripts are read from.
    #[arg(long)]
    scripts_dir: Option<PathBuf>,
}

/// `collectors serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    service: ServiceArgs,
    /// The address to listen on (port 0: any free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// The largest upload accepted, in bytes.
    #[arg(long, default_value_t = 1 << 30)]
    max_upload_bytes: u64,
    /// An origin allowed by CORS (repeat; `*` for any). None by default.
    #[arg(long = "cors-origin")]
    cors_origins: Vec<String>,
}

/// `collectors worker`.
#[derive(Debug, Args)]
pub(crate) struct WorkerArgs {
    #[command(flatten)]
    service: ServiceArgs,
}

fn config(args: &ServiceArgs) -> Result<ServerConfig> {
    let data_dir = resolve_data_dir(args.data_dir.as_deref())?;
    let mut config = ServerConfig::new(&data_dir);
    if let Some(database) = &args.database {
        config.database = AnyLocation::parse(database)?;
    }
    if let Some(store) = &args.store {
        config.store_uri = store.clone();
    }
    if let Some(workers) = args.workers {
        config.workers = workers;
    }
    if args.lease_ms < 300 {
        return Err(Error::configuration("--lease-ms must be at least 300"));
    }
    config.queue.lease_ttl = Duration::from_millis(args.lease_ms);
    // Backoff stays below the lease, and the reaper looks twice per lease.
    config.queue.backoff_cap = config.queue.backoff_cap.min(config.queue.lease_ttl / 2);
    config.reap_interval = (config.queue.lease_ttl / 2).min(config.reap_interval);
    config.scripts_dir = args.scripts_dir.clone();
    Ok(config)
}

/// Runs `collectors serve`.
pub(crate) async fn serve(args: ServeArgs) -> Result<ExitCode> {
    let mut config = config(&args.service)?;
    config.max_upload_bytes = args.max_upload_bytes;
    config.cors_origins = args.cors_origins.clone();
    config.token = std::env::var(API_TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .map(SecretString::from);
    let data_dir = config.data_dir.clone();
    let (service, origin) = Service::open(config).await?;
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| Error::connection(format!("cannot listen on {}: {e}", args.bind)))?;
    let address = listener
        .local_addr()
        .map_err(|e| Error::connection(format!("the listening address: {e}")))?;
    match origin {
        TokenOrigin::Generated(token) => println!(
            "API token (shown once; kept in {}): {}",
            data_dir.join(collectors_server::auth::TOKEN_FILE).display(),
            token.expose_secret()
        ),
        TokenOrigin::Stored => println!(
            "API token: the one in {}",
            data_dir.join(collectors_server::auth::TOKEN_FILE).display()
        ),
        TokenOrigin::Configured => println!("API token: from {API_TOKEN_ENV}"),
    }
    println!("listening on http://{address}");
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    service.serve(listener, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `collectors worker`.
pub(crate) async fn worker(args: WorkerArgs) -> Result<ExitCode> {
    let mut config = config(&args.service)?;
    // A worker serves no API: it needs no token (and must not create one).
    config.token = Some(SecretString::from(uuid::Uuid::new_v4().to_string()));
    let workers = config.workers;
    let database = config.database.shown();
    let (service, _) = Service::open(config).await?;
    println!("{workers} workers on {database}");
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    service
        .run_workers(&collectors_server::worker_prefix(), shutdown)
        .await;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C or SIGTERM: stop taking work, hand running jobs back, exit.
async fn stop_on_signal(shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        } else {
            tokio::signal::ctrl_c().await.ok();
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.ok();
    eprintln!("stopping: running jobs are handed back to the queue");
    shutdown.cancel();
}
