//! # collectors-mocks
//!
//! Test doubles for every contract of `collectors-core`, two ways:
//!
//! - **Hand-written, configurable mocks** (`MockDataSource` for a live source,
//!   `MockListedSource` for a listed one, `MockStorageBackend`, `MockCheckpointStore`,
//!   `MockDeadLetterSink`, …): real behaviour (an in-memory store that is idempotent by key,
//!   a source that yields scripted data) plus a [`MockControl`] handle to fail the next N
//!   calls with a chosen error type, add latency, and read back the calls made. They pass
//!   the conformance suites.
//! - **`mockall` mocks** in [`auto`] (feature `mockall`), for expectation-style tests.
//!
//! ```
//! use std::sync::Arc;
//! use collectors_core::{DataSource, ErrorType};
//! use collectors_mocks::MockDataSource;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let mock = MockDataSource::new("sensor_001", "temperature:25.5");
//! let control = mock.control();
//! control.fail_next(1, ErrorType::Timeout);
//! let source: Arc<dyn DataSource> = Arc::new(mock);
//!
//! source.connect().await.unwrap_err();          // the injected timeout
//! source.connect().await.unwrap();
//! assert_eq!(control.call_count("connect"), 2);
//! # });
//! ```

mod checkpoint_store;
mod connector;
mod control;
mod data_source;
mod dead_letter_sink;
mod decoder;
mod error_handler;
mod event_emitter;
mod listed_source;
mod managers;
mod metadata_parser;
mod processor;
mod storage_backend;
mod task_tracker;

#[cfg(feature = "mockall")]
pub mod auto;
pub mod services;

pub use checkpoint_store::MockCheckpointStore;
pub use connector::MockConnector;
pub use control::{Call, MockControl};
pub use data_source::MockDataSource;
pub use dead_letter_sink::MockDeadLetterSink;
pub use decoder::MockDecoder;
pub use error_handler::MockErrorHandler;
pub use event_emitter::MockEventEmitter;
pub use listed_source::MockListedSource;
pub use managers::{MockCollectionManager, MockProcessingManager, MockStorageManager};
pub use metadata_parser::MockMetadataParser;
pub use processor::{MockPipeline, MockProcessor};
pub use storage_backend::MockStorageBackend;
pub use task_tracker::MockTaskTracker;
