//! The engine's own contracts, run against the in-memory implementations of core.

use collectors_core::conformance;
use collectors_core::{InMemoryCheckpointStore, InMemoryDeadLetterSink};

#[tokio::test]
async fn in_memory_checkpoints_meet_the_contract() {
    conformance::checkpoint_store(&InMemoryCheckpointStore::new(), true).await;
}

#[tokio::test]
async fn in_memory_dead_letters_meet_the_contract() {
    let sink = InMemoryDeadLetterSink::new();
    // The in-memory sink keeps every write; read back as a reader would, one per key.
    conformance::dead_letter_sink(&sink, || async {
        let mut seen = std::collections::HashMap::new();
        for letter in sink.letters() {
            seen.insert(letter.key(), letter);
        }
        seen.into_values().collect()
    })
    .await;
}
