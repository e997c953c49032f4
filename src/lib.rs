//! # collectors
//!
//! Collect → process → store: the facade of the collectors framework.
//!
//! Everything of [`collectors_core`] is re-exported at the root. With features: the test
//! doubles of `collectors-mocks` at `mocks`, the connectors and stores of
//! `collectors-backends` at `backends`, the decoders and processors of
//! `collectors-processors` at `processors`.
//!
//! See the crate README and `examples/` for how to wire sources, pipelines and stores.

pub use collectors_core::*;

/// Test doubles for every contract (feature `mocks`).
#[cfg(feature = "mocks")]
pub use collectors_mocks as mocks;

/// Connectors and stores: local files, SQLite, file sinks (feature `backends`).
#[cfg(feature = "backends")]
pub use collectors_backends as backends;

/// Decoders (CSV, JSON lines) and processors (feature `processors`).
#[cfg(feature = "processors")]
pub use collectors_processors as processors;

/// Pipelines as data: `PipelineSpec`, the component `Registry`, dead-letter replay (feature
/// `pipeline`).
#[cfg(feature = "pipeline")]
pub use collectors_pipeline as pipeline;
