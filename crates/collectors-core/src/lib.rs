//! # collectors-core
//!
//! The contracts, models, error type and in-process runtime of the `collectors` framework:
//! **collect → process → store**, with an event bus, an error handler and a task tracker.
//!
//! Host applications depend on the traits and inject implementations as `Arc<dyn Trait>`;
//! tests inject the doubles of `collectors-mocks`; concrete backends live in their own crates.
//!
//! ## The flow of one item
//!
//! ```text
//! DataSource ──CollectedData──▶ MetadataParser ──▶ Pipeline[Processor…] ──ProcessingResult──▶ StorageBackend ──▶ StorageLocation
//!  EventEmitter: every stage emits a SystemEvent   ErrorHandler: every failure becomes ErrorInfo → ErrorDecision
//!  TaskTracker: a run is a TaskInfo with progress, status and result
//! ```
//!
//! | layer | contracts | runtime implementation |
//! |---|---|---|
//! | collection | [`DataSource`], [`Connector`], [`MetadataParser`], [`CollectionManager`] | [`DefaultCollectionManager`] |
//! | processing | [`Processor`], [`Pipeline`], [`ProcessingManager`] | [`SequentialPipeline`], [`DefaultProcessingManager`] |
//! | storage | [`StorageBackend`], [`StorageManager`] | [`DefaultStorageManager`] |
//! | cross-cutting | [`ErrorHandler`], [`EventEmitter`], [`TaskTracker`] | [`RetryingErrorHandler`], [`EventBus`], [`InMemoryTaskTracker`] |
//!
//! ## One source contract
//!
//! [`DataSource`] is the one trait a source implements, in either of two shapes: a **live**
//! source (a socket, a queue, a sensor) implements `collect`, the pull of the seed, as in the
//! example below; a **listed** source (files, objects) implements `list` and `open`. The
//! [`Engine`] runs both: each [`SourceItem`] that carries its content is live (read once,
//! acknowledged through [`DataSource::commit`]), any other is listed (reopened, leased and
//! checkpointed, then committed). [`InMemorySource`] is a listed source over bytes in memory.
//!
//! Raw bytes travel as [`bytes::Bytes`]; tabular data as Arrow record batches inside
//! [`Payload::Table`]; documents as JSON in [`Payload::Json`]. Every failure is one [`Error`]
//! whose [`ErrorInfo`] the error handler decides on.
//!
//! ## Example: one item through the three layers
//!
//! ```
//! use std::sync::Arc;
//! use async_trait::async_trait;
//! use collectors_core::*;
//!
//! // A source of one reading, a processor that parses it, a store that keeps it in memory.
//! struct OneReading(std::sync::atomic::AtomicBool);
//! #[async_trait]
//! impl DataSource for OneReading {
//!     fn source_id(&self) -> &str { "thermometer" }
//!     async fn connect(&self) -> Result<()> { Ok(()) }
//!     async fn disconnect(&self) -> Result<()> { Ok(()) }
//!     async fn collect(&self) -> Result<Option<CollectedData>> {
//!         let first = !self.0.swap(true, std::sync::atomic::Ordering::SeqCst);
//!         Ok(first.then(|| CollectedData::new("thermometer", "text", "poll", "21.5")))
//!     }
//! }
//!
//! struct ParseCelsius;
//! #[async_trait]
//! impl Processor for ParseCelsius {
//!     fn name(&self) -> &str { "parse-celsius" }
//!     fn validate_input(&self, input: &Payload) -> Result<()> { input.as_bytes().map(|_| ()) }
//!     async fn process(&self, input: Payload) -> Result<Payload> {
//!         let text = std::str::from_utf8(input.as_bytes()?)
//!             .map_err(|e| Error::validation("not UTF-8").with_source(e))?;
//!         let celsius: f64 = text.trim().parse()
//!             .map_err(|e| Error::validation(format!("not a number: {text:?}")).with_source(e))?;
//!         Ok(Payload::Json(serde_json::json!({ "celsius": celsius })))
//!     }
//! }
//!
//! #[derive(Default)]
//! struct Memory(std::sync::Mutex<Vec<Record>>);
//! #[async_trait]
//! impl StorageBackend for Memory {
//!     fn backend_id(&self) -> &str { "memory" }
//!     async fn connect(&self) -> Result<()> { Ok(()) }
//!     async fn disconnect(&self) -> Result<()> { Ok(()) }
//!     // The one write to implement: a whole batch, borrowed.
//!     async fn store_batch(&self, records: &[Record]) -> Result<()> {
//!         self.0.lock().unwrap().extend_from_slice(records);
//!         Ok(())
//!     }
//!     async fn query(&self, _: &QueryCriteria) -> Result<Vec<StoredRecord>> { Ok(vec![]) }
//!     async fn delete(&self, _: &str) -> Result<bool> { Ok(false) }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let source: Arc<dyn DataSource> = Arc::new(OneReading(Default::default()));
//! let pipeline = SequentialPipeline::builder("readings").processor(Arc::new(ParseCelsius)).build()?;
//! let store: Arc<dyn StorageBackend> = Arc::new(Memory::default());
//! let events = EventBus::new();
//!
//! source.connect().await?;
//! while let Some(item) = source.collect().await? {
//!     let result = pipeline.execute(Payload::Bytes(item.raw_data.clone())).await;
//!     let output = result.processed_data.expect("the reading parses");
//!     // A stable key (source + reading), so storing the same reading twice replaces it.
//!     let record = Record::keyed(format!("{}/{}", item.source_id, item.timestamp.timestamp()), output)?;
//!     let location = store.store(record).await?;
//!     events.emit(SystemEvent::new(EventType::StorageComplete, "readings")
//!         .with_data(serde_json::json!({ "path": location.path }))).await?;
//! }
//! source.disconnect().await?;
//! # Ok::<(), Error>(())
//! # }).unwrap();
//! ```
//!
//! ## Features
//!
//! - `conformance`: the shared behaviour suites of [`conformance`] that every implementation of
//!   [`StorageBackend`], [`DataSource`], [`Connector`] and [`Processor`] runs.

mod collection_manager;
mod connector;
mod data_source;
pub mod engine;
mod error;
mod error_handler;
mod event_emitter;
mod metadata_parser;
pub mod models;
mod path_safety;
mod pipeline;
mod processing_manager;
mod processor;
mod quality_history;
pub mod runtime;
mod storage_backend;
mod storage_manager;
pub mod sync;
mod task_tracker;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use collection_manager::{CollectionManager, SourceStatus};
pub use connector::{Connector, ListOptions};
pub use data_source::DataSource;
pub use engine::*;
pub use error::{BoxError, Error, ErrorContext, Result};
pub use error_handler::{ErrorDecision, ErrorHandler};
pub use event_emitter::{EventEmitter, EventFilter, Subscription, SubscriptionId};
pub use metadata_parser::MetadataParser;
pub use models::*;
pub use path_safety::resolve_in_workspace;
pub use pipeline::Pipeline;
pub use processing_manager::ProcessingManager;
pub use processor::{ItemContext, Processor, StateScope};
pub use quality_history::{InMemoryQualityHistory, QualityEntry, QualityHistory};
pub use runtime::*;
pub use storage_backend::StorageBackend;
pub use storage_manager::{RouteCondition, StorageManager, StorageRoute};
pub use task_tracker::TaskTracker;

// Re-exported so implementors and users name the same versions.
pub use arrow_array;
pub use arrow_schema;
pub use async_trait::async_trait;
pub use bytes;
pub use tokio_util::sync::CancellationToken;
