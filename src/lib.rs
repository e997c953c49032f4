//! # collectors
//!
//! Collect → process → store: the facade of the collectors framework.
//!
//! Everything of [`collectors_core`] is re-exported at the root; the test doubles of
//! `collectors-mocks` are at [`mocks`] with the `mocks` feature.
//!
//! See the crate README and `examples/` for how to wire sources, pipelines and stores.

pub use collectors_core::*;

/// Test doubles for every contract (feature `mocks`).
#[cfg(feature = "mocks")]
pub use collectors_mocks as mocks;
