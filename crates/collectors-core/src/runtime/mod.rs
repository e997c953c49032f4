//! The in-process runtime: real implementations of the contracts that need no I/O.

mod default_collection_manager;
mod default_processing_manager;
mod default_storage_manager;
mod event_bus;
mod in_memory_task_tracker;
mod metered_storage;
mod replicated_storage;
mod retry;
mod retry_policy;
mod retrying_error_handler;
mod retrying_storage;
mod sequential_pipeline;

pub use default_collection_manager::DefaultCollectionManager;
pub use default_processing_manager::DefaultProcessingManager;
pub use default_storage_manager::DefaultStorageManager;
pub use event_bus::{DEFAULT_SUBSCRIBER_CAPACITY, EventBus, EventBusStats};
pub use in_memory_task_tracker::InMemoryTaskTracker;
pub use metered_storage::{MeteredStorage, StorageMetrics, StorageMetricsSnapshot};
pub use replicated_storage::ReplicatedStorage;
pub use retry::{GaveUp, Retry, RetryObserver};
pub use retry_policy::{Backoff, ErrorAction, ErrorPolicy, FinalAction};
pub use retrying_error_handler::{ErrorHandlerStats, RetryingErrorHandler};
pub use retrying_storage::RetryingStorage;
pub use sequential_pipeline::{SequentialPipeline, SequentialPipelineBuilder};
