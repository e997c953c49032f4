//! The `mockall` checkpoint store mocks the lease methods too: a test scripts a held item.
#![cfg(feature = "mockall")]

use std::collections::HashMap;
use std::sync::Arc;

use collectors_core::{
    CancellationToken, CheckpointStore, Claim, DeadLetterSink, Engine, InMemoryDeadLetterSink,
    ItemSource, RunOutcome, StorageBackend,
};
use collectors_mocks::auto::{MockCheckpointStore, MockDecoder};
use collectors_mocks::{MockItemSource, MockStorageBackend};

#[tokio::test]
async fn an_item_leased_elsewhere_is_left_to_its_holder() {
    let mut checkpoints = MockCheckpointStore::new();
    checkpoints.expect_done().returning(|_| Ok(HashMap::new()));
    checkpoints
        .expect_claim()
        .times(2)
        .returning(|_, _, _, _| Ok(Claim::Held));
    checkpoints
        .expect_lease_holder()
        .returning(|_, _| Ok(Some("another-host/1/run".to_owned())));
    checkpoints.expect_renew().returning(|_, _, _| Ok(()));
    checkpoints.expect_release().returning(|_, _| Ok(()));
    checkpoints.expect_mark_done().never();
    let mut decoder = MockDecoder::new();
    decoder.expect_name().return_const("never-used".to_owned());
    decoder.expect_decoder_for().never();

    let source = Arc::new(
        MockItemSource::new("files")
            .with_item("a", "k,1\n")
            .with_item("b", "k,2\n"),
    );
    let summary = Engine::builder("test")
        .source(source.clone() as Arc<dyn ItemSource>, Arc::new(decoder))
        .store(Arc::new(MockStorageBackend::new("store")) as Arc<dyn StorageBackend>)
        .checkpoints(Arc::new(checkpoints) as Arc<dyn CheckpointStore>)
        .dead_letters(Arc::new(InMemoryDeadLetterSink::new()) as Arc<dyn DeadLetterSink>)
        .build()
        .expect("a valid engine")
        .run(CancellationToken::new())
        .await
        .expect("the run starts");

    assert_eq!(summary.outcome, RunOutcome::Completed, "{summary:?}");
    assert_eq!(
        summary.counts.items_leased_elsewhere, 2,
        "{:?}",
        summary.counts
    );
    assert_eq!(
        source.control().call_count("open"),
        0,
        "held items are not read"
    );
}
