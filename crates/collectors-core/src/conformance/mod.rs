//! Shared behaviour suites: one per contract, run by every implementation (mocks included).
//!
//! Each suite is an `async fn` that drives an implementation through its contract and panics
//! with a message naming the broken rule, so it is called from a test:
//!
//! ```ignore
//! #[tokio::test]
//! async fn my_store_meets_the_contract() {
//!     let store = MyStore::new(/* a real, empty service */);
//!     collectors_core::conformance::storage_backend(&store, &[PayloadKind::Json]).await;
//! }
//! ```
//!
//! A backend is done when it passes its suite against the real service.

mod checkpoint_store;
mod connector;
mod data_source;
mod dead_letter_sink;
mod decoder;
mod processor;
mod storage_backend;

pub use checkpoint_store::checkpoint_store;
pub use connector::{ConnectorFixture, connector};
pub use data_source::{data_source_listed, data_source_live};
pub use dead_letter_sink::{dead_letter_sink, dead_letter_store, sample_letters};
pub use decoder::{DecoderFixture, decoder};
pub use processor::processor;
pub use storage_backend::storage_backend;

use crate::error::{Error, Result};
use crate::models::ErrorType;

/// Asserts that `result` is an error of type `expected`.
#[track_caller]
pub(crate) fn assert_error<T: std::fmt::Debug>(
    result: Result<T>,
    expected: ErrorType,
    rule: &str,
) -> Error {
    match result {
        Ok(value) => panic!("{rule}: expected a {expected:?} error, got Ok({value:?})"),
        Err(e) => {
            assert_eq!(e.error_type(), expected, "{rule}: wrong error type for {e}");
            e
        }
    }
}
