//! [`Service`]: the ETL service opened from a [`ServerConfig`]: its API router, its workers.

use std::sync::Arc;

use axum::Router;
use collectors_backends::registry::{ConnectorFactories, DataSourceRegistry};
use collectors_core::{CancellationToken, Error, Result};
use collectors_pipeline::Registry;

use crate::auth::{ApiToken, TokenOrigin};
use crate::config::ServerConfig;
use crate::etl::EtlRunner;
use crate::files::FileCatalog;
use crate::jobs::JobQueue;
use crate::pipelines::PipelineCatalog;
use crate::state::{AppState, Inner};

/// The ETL service: files, pipelines and jobs in one database, bytes in one object store.
///
/// ```no_run
/// # async fn demo() -> collectors_core::Result<()> {
/// use collectors_core::CancellationToken;
/// use collectors_server::{ServerConfig, Service};
///
/// let (service, _token) = Service::open(ServerConfig::new("state")).await?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.map_err(|e| {
///     collectors_core::Error::connection(e.to_string())
/// })?;
/// service.serve(listener, CancellationToken::new()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Service {
    state: AppState,
    token: ApiToken,
    router: Router,
    document: Arc<serde_json::Value>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("state", &self.state)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// Opens the service with the standard processors and connectors. The token origin says
    /// whether a token was generated now (show it to the operator once).
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for a bad database location, store URI or token;
    /// [`Error::Storage`] when the database or the data directory cannot be opened.
    pub async fn open(config: ServerConfig) -> Result<(Self, TokenOrigin)> {
        Self::open_with(config, Registry::standard()).await
    }

    /// As [`open`](Self::open), with a host app's own component registry (its processors
    /// become processing types of the API).
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub async fn open_with(
        config: ServerConfig,
        mut registry: Registry,
    ) -> Result<(Self, TokenOrigin)> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| Error::storage(format!("creating {}: {e}", config.data_dir.display())))?;
        let (token, origin) = ApiToken::resolve(config.token.as_ref(), &config.data_dir)?;
        let pool = collectors_backends::any_db::open_any_pool(&config.database, 8).await?;
        let files = FileCatalog::open(pool.clone()).await?;
        let pipelines = PipelineCatalog::open(pool).await?;
        let queue = JobQueue::open(&config.database, config.queue.clone()).await?;
        if !config.store_uri.contains("://") {
            // A local directory is created, as the data directory is.
            std::fs::create_dir_all(&config.store_uri)
                .map_err(|e| Error::storage(format!("creating {}: {e}", config.store_uri)))?;
        }
        let store = Arc::new(collectors_backends::get_connector(
            &config.store_uri,
            &config.store_config,
        )?);
        let data_sources = Arc::new(
            DataSourceRegistry::open(&config.data_dir, ConnectorFactories::standard()).await?,
        );
        registry.with_data_sources(Arc::clone(&data_sources));
        let registry = Arc::new(registry);
        let runner = EtlRunner::new(
            files.clone(),
            Arc::clone(&store),
            Arc::clone(&registry),
            Arc::clone(&data_sources),
            config.max_upload_bytes,
            &config.data_dir,
            config.scripts_dir.clone(),
        );
        let state = AppState {
            inner: Arc::new(Inner {
                config,
                files,
                store,
                queue,
                pipelines,
                registry,
                data_sources,
                runner,
                metrics: crate::metrics::prometheus(),
            }),
        };
        let (router, document) = crate::routes::build(state.clone(), token.clone())?;
        let service = Self {
            state,
            token,
            router,
            document: Arc::new(document),
        };
        Ok((service, origin))
    }

    /// The API: every route, `/api/openapi.json` included.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The OpenAPI document the API serves at `/api/openapi.json`.
    pub fn openapi(&self) -> serde_json::Value {
        (*self.document).clone()
    }

    /// The job queue.
    pub fn queue(&self) -> &JobQueue {
        &self.state.queue
    }

    /// Runs the configured number of workers (and a reaper) until `shutdown`.
    pub async fn run_workers(&self, prefix: &str, shutdown: CancellationToken) {
        crate::worker::run_workers(
            self.state.queue.clone(),
            self.state.runner.clone(),
            prefix.to_owned(),
            self.state.config.workers,
            self.state.config.reap_interval,
            shutdown,
        )
        .await;
    }

    /// Serves the API on `listener`, with the in-process workers, until `shutdown`; then
    /// stops taking requests, lets running requests finish, and hands running jobs back.
    ///
    /// # Errors
    ///
    /// [`Error::Connection`] when the server fails.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: CancellationToken,
    ) -> Result<()> {
        let workers = {
            let service = self.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move { service.run_workers(&worker_prefix(), shutdown).await })
        };
        let stop = shutdown.clone();
        let served = axum::serve(listener, self.router())
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        shutdown.cancel();
        workers.await.ok();
        served.map_err(|e| Error::connection(format!("the HTTP server failed: {e}")))
    }
}

/// Workers of this process are named `{host}/{pid}`-`n`.
pub fn worker_prefix() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned());
    format!("{host}/{}", std::process::id())
}
