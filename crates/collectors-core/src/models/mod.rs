//! The data that travels through a pipeline and the records the runtime keeps.
//!
//! All models are `serde` round-trippable; ids are [`uuid::Uuid`], times
//! [`chrono::DateTime<Utc>`](chrono::DateTime).

mod collected_data;
mod collection_status;
mod data_item;
mod data_source_config;
mod error_info;
mod parsed_metadata;
mod payload;
mod processing_result;
mod query_criteria;
mod record;
mod source_item;
mod storage_location;
mod system_event;
mod task_info;

pub use collected_data::CollectedData;
pub use collection_status::CollectionStatus;
pub use data_item::DataItem;
pub use data_source_config::{DataSourceConfig, DataSourceType, REDACTED, is_sensitive_key};
pub use error_info::{ErrorInfo, ErrorType, Layer};
pub use parsed_metadata::ParsedMetadata;
pub use payload::{Payload, PayloadKind};
pub use processing_result::{ProcessingResult, RejectedRows, StepOutcome, StepTiming};
pub use query_criteria::QueryCriteria;
pub use record::{Record, StoredRecord};
pub use source_item::SourceItem;
pub use storage_location::StorageLocation;
pub use system_event::{EventType, SystemEvent};
pub use task_info::{TaskFilter, TaskInfo, TaskStatus};

/// Free-form metadata: a JSON object.
pub type Metadata = serde_json::Map<String, serde_json::Value>;
