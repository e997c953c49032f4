//! The engine: sources ([`DataSource`](crate::DataSource)) → decoder → pipeline → storage,
//! with bounded channels, batching, acknowledgement after store, dead letters and
//! checkpoints. See [`Engine`].

mod builder;
mod checkpoint_store;
mod config;
mod counters;
mod dead_letter;
mod decode_ahead;
mod decoder;
#[allow(clippy::module_inception)]
mod engine;
mod in_memory_source;
mod item_key;
mod item_worker;
mod lease_owner;
mod run_context;
mod store_ledger;
mod store_stage;

pub use builder::EngineBuilder;
pub use checkpoint_store::{
    CheckpointStore, Claim, InMemoryCheckpointStore, ItemCheckpoint, TransactionalCheckpoints,
};
pub use config::EngineConfig;
pub use counters::{EngineCounters, RecordCounts, RunOutcome, RunSummary};
pub use dead_letter::{
    DeadLetter, DeadLetterSink, DeadLetterStore, InMemoryDeadLetterSink, latest_per_key,
};
pub use decoder::{Decoded, Decoder, ItemDecoder, RejectedRow};
pub use engine::{Engine, ResumeMode};
pub use in_memory_source::InMemorySource;
pub use store_ledger::StoreLedger;
