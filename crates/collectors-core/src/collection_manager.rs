//! [`CollectionManager`]: runs collection for many sources.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::data_source::DataSource;
use crate::error::Result;
use crate::models::CollectionStatus;

/// The state and counters of one registered source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// The source's id.
    pub source_id: String,
    /// Its state.
    pub status: CollectionStatus,
    /// Items collected and handed on since registration.
    pub items_collected: u64,
    /// Collection errors since registration.
    pub errors: u64,
    /// The last error message, if any.
    pub last_error: Option<String>,
}

/// Registers sources and starts, pauses, resumes and stops their collection.
///
/// # Contract
///
/// - Source ids are unique: registering a second source with the same id is an
///   [`Error::InvalidState`](crate::Error::InvalidState); an unknown id is an
///   [`Error::NotFound`](crate::Error::NotFound).
/// - `pause`, `resume` and `stop` take effect within one `collect` call of the source: no item
///   is collected after `pause`/`stop` returns, beyond the one already in flight.
/// - Illegal transitions (resume a running source, start a running or paused one, stop an
///   idle one) are `Error::InvalidState`. A stopped, completed or failed source may be
///   started again.
#[doc(alias = "ICollectionManager")]
#[async_trait]
pub trait CollectionManager: Send + Sync {
    /// Adds a source, in state [`CollectionStatus::Idle`].
    async fn register_source(&self, source: Arc<dyn DataSource>) -> Result<()>;

    /// Stops (if running) and removes a source.
    async fn unregister_source(&self, source_id: &str) -> Result<()>;

    /// Connects the source and starts collecting from it.
    async fn start_collection(&self, source_id: &str) -> Result<()>;

    /// Pauses collection; the source stays connected.
    async fn pause_collection(&self, source_id: &str) -> Result<()>;

    /// Resumes a paused source.
    async fn resume_collection(&self, source_id: &str) -> Result<()>;

    /// Stops collection and disconnects the source.
    async fn stop_collection(&self, source_id: &str) -> Result<()>;

    /// The state of one source.
    async fn status(&self, source_id: &str) -> Result<SourceStatus>;

    /// The state of every source, sorted by id.
    async fn list_sources(&self) -> Vec<SourceStatus>;
}
