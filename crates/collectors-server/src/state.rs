//! [`AppState`]: what every handler reaches.

use std::sync::Arc;

use collectors_backends::ObjectStoreConnector;
use collectors_backends::registry::DataSourceRegistry;
use collectors_pipeline::Registry;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::ServerConfig;
use crate::etl::EtlRunner;
use crate::files::FileCatalog;
use crate::jobs::JobQueue;
use crate::pipelines::PipelineCatalog;

/// The shared state of the API (cheap to clone).
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: ServerConfig,
    pub(crate) files: FileCatalog,
    pub(crate) store: Arc<ObjectStoreConnector>,
    pub(crate) queue: JobQueue,
    pub(crate) pipelines: PipelineCatalog,
    pub(crate) registry: Arc<Registry>,
    pub(crate) data_sources: Arc<DataSourceRegistry>,
    pub(crate) runner: EtlRunner,
    pub(crate) metrics: PrometheusHandle,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("data_dir", &self.inner.config.data_dir)
            .field("database", &self.inner.config.database.shown())
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}
