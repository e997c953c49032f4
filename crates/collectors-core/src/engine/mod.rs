//! The engine: sources → decoder → pipeline → storage, with bounded channels, batching,
//! acknowledgement after store, dead letters and checkpoints.

mod checkpoint_store;
mod dead_letter;
mod decoder;
mod item_source;

pub use checkpoint_store::{CheckpointStore, InMemoryCheckpointStore, ItemCheckpoint};
pub use dead_letter::{DeadLetter, DeadLetterSink, InMemoryDeadLetterSink};
pub use decoder::{Decoded, Decoder, ItemDecoder, RejectedRow};
pub use item_source::{ItemSource, SourceItem};
