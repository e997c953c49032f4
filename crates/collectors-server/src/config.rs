//! [`ServerConfig`]: where the service keeps its state and how it answers.

use std::path::PathBuf;
use std::time::Duration;

use collectors_backends::any_db::AnyLocation;
use secrecy::SecretString;

use crate::jobs::QueueConfig;

/// The variable that gives the API token (else `--token`, else the data directory's
/// `api-token` file, else one generated at first start).
pub const API_TOKEN_ENV: &str = "COLLECTORS_API_TOKEN";

/// How a service is set up. [`ServerConfig::new`] gives the embedded default: everything
/// under one data directory (SQLite `service.db`, uploaded files in `files/`, results in
/// `results/`), one worker per core, uploads up to 1 GiB.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where the SQLite database, the token file, the default file store and the workers'
    /// scratch space are.
    pub data_dir: PathBuf,
    /// The database of files, pipelines and jobs: `data_dir/service.db` by default, or a
    /// PostgreSQL URL shared by every process of the service.
    pub database: AnyLocation,
    /// Where uploaded files and results go: a directory or an object-store URI
    /// (`s3://bucket/prefix`, …); `data_dir/store` by default.
    pub store_uri: String,
    /// Settings of the object store (credentials, endpoint …), as for `get_connector`.
    pub store_config: collectors_backends::ObjectStoreConfig,
    /// The largest upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// The bearer token every route but `/health` requires; `None` reads or creates the
    /// data directory's `api-token`.
    pub token: Option<SecretString>,
    /// Origins allowed by CORS (`*` for any); none by default (same-origin only).
    pub cors_origins: Vec<String>,
    /// Jobs run at once in this process, its worker slots (`collectors serve`); 0 for an
    /// API-only process.
    pub workers: usize,
    /// Where custom scripts (`processing_type = "custom"`) are read from, by name.
    pub scripts_dir: Option<PathBuf>,
    /// Lease, backoff, attempts and retention of the job queue.
    pub queue: QueueConfig,
    /// How often each process looks for expired leases and old jobs.
    pub reap_interval: Duration,
}

impl ServerConfig {
    /// The embedded default under `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        let workers = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            database: AnyLocation::File(data_dir.join("service.db")),
            store_uri: data_dir.join("store").display().to_string(),
            store_config: collectors_backends::ObjectStoreConfig::new(),
            max_upload_bytes: 1 << 30,
            token: None,
            cors_origins: Vec::new(),
            workers,
            scripts_dir: None,
            queue: QueueConfig::default(),
            reap_interval: Duration::from_secs(5),
            data_dir,
        }
    }
}
