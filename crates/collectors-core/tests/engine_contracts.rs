//! The engine's own contracts, run against the in-memory implementations of core.

use collectors_core::conformance;
use collectors_core::{InMemoryCheckpointStore, InMemoryDeadLetterSink};

#[tokio::test]
async fn in_memory_checkpoints_meet_the_contract() {
    conformance::checkpoint_store(&InMemoryCheckpointStore::new(), true).await;
}

#[tokio::test]
async fn in_memory_dead_letters_meet_the_contract() {
    conformance::dead_letter_store(&InMemoryDeadLetterSink::new()).await;
}

#[tokio::test]
async fn in_memory_source_meets_the_listed_source_contract() {
    let source = collectors_core::InMemorySource::new("memory")
        .with_item("b.csv", "x,1\ny,2\n")
        .with_item("a.csv", "")
        .with_chunk_size(3);
    conformance::data_source_listed(&source, &[("a.csv", b""), ("b.csv", b"x,1\ny,2\n")]).await;
}
