//! The `mockall` checkpoint store mocks the lease methods too: a test scripts a held item.
#![cfg(feature = "mockall")]

use std::collections::HashMap;
use std::sync::Arc;

use collectors_core::{
    CancellationToken, CheckpointStore, Claim, DataSource, DeadLetterSink, Engine, EngineConfig,
    InMemoryDeadLetterSink, RunOutcome, StorageBackend,
};
use collectors_mocks::auto::{MockCheckpointStore, MockDecoder};
use collectors_mocks::{MockListedSource, MockStorageBackend};

#[tokio::test]
async fn an_item_leased_elsewhere_is_left_to_its_holder() {
    let mut checkpoints = MockCheckpointStore::new();
    checkpoints.expect_done().returning(|_| Ok(HashMap::new()));
    // Held every time: after the listing the run claims them again for one lease lifetime,
    // and leaves them to their holder, which stays alive.
    let claims = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = claims.clone();
    checkpoints.expect_claim().returning(move |_, _, _, _| {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Claim::Held)
    });
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
        MockListedSource::new("files")
            .with_item("a", "k,1\n")
            .with_item("b", "k,2\n"),
    );
    let summary = Engine::builder("test")
        .source(source.clone() as Arc<dyn DataSource>, Arc::new(decoder))
        .store(Arc::new(MockStorageBackend::new("store")) as Arc<dyn StorageBackend>)
        .checkpoints(Arc::new(checkpoints) as Arc<dyn CheckpointStore>)
        .dead_letters(Arc::new(InMemoryDeadLetterSink::new()) as Arc<dyn DeadLetterSink>)
        .config(EngineConfig {
            lease_ttl: std::time::Duration::from_millis(150),
            ..EngineConfig::default()
        })
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
    assert!(
        claims.load(std::sync::atomic::Ordering::SeqCst) > 2,
        "held items are claimed again after the listing"
    );
}

#[tokio::test]
async fn the_mockall_data_source_scripts_a_listed_source_that_meets_the_contract() {
    use collectors_core::bytes::Bytes;
    use collectors_core::{Error, SourceItem};
    use futures::StreamExt;

    let mut source = collectors_mocks::auto::MockDataSource::new();
    source.expect_source_id().return_const("files".to_owned());
    source.expect_is_live().return_const(false);
    source.expect_connect().returning(|| Ok(()));
    source.expect_disconnect().returning(|| Ok(()));
    source.expect_list().times(2).returning(|| {
        let page = vec![
            SourceItem::listed("files", "a", "1"),
            SourceItem::listed("files", "b", "1"),
        ];
        futures::stream::iter([Ok(page)]).boxed()
    });
    source
        .expect_open()
        .returning(|item| match item.item_id.as_str() {
            "a" => Ok(futures::stream::iter([Ok(Bytes::from("k,1\n"))]).boxed()),
            "b" => Ok(futures::stream::empty().boxed()),
            other => Err(Error::not_found(format!("no item `{other}`"))),
        });
    source
        .expect_commit()
        .times(1)
        .withf(|items| items.len() == 2)
        .returning(|_| Ok(()));
    collectors_core::conformance::data_source_listed(&source, &[("a", b"k,1\n"), ("b", b"")]).await;
}

#[tokio::test]
async fn a_held_item_its_holder_finishes_meanwhile_is_left_to_it() {
    let mut checkpoints = MockCheckpointStore::new();
    checkpoints.expect_done().returning(|_| Ok(HashMap::new()));
    // Held when listed; by the next claim its holder has finished it.
    let claims = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = claims.clone();
    checkpoints.expect_claim().returning(move |_, _, _, _| {
        Ok(
            match counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Claim::Held,
                _ => Claim::Done,
            },
        )
    });
    checkpoints
        .expect_lease_holder()
        .returning(|_, _| Ok(Some("another-host/1/run".to_owned())));
    checkpoints.expect_renew().returning(|_, _, _| Ok(()));
    checkpoints.expect_release().returning(|_, _| Ok(()));
    checkpoints.expect_mark_done().never();
    let mut decoder = MockDecoder::new();
    decoder.expect_name().return_const("never-used".to_owned());
    decoder.expect_decoder_for().never();
    let source = Arc::new(MockListedSource::new("files").with_item("a", "k,1\n"));
    let summary = Engine::builder("test")
        .source(source.clone() as Arc<dyn DataSource>, Arc::new(decoder))
        .store(Arc::new(MockStorageBackend::new("store")) as Arc<dyn StorageBackend>)
        .checkpoints(Arc::new(checkpoints) as Arc<dyn CheckpointStore>)
        .dead_letters(Arc::new(InMemoryDeadLetterSink::new()) as Arc<dyn DeadLetterSink>)
        .config(EngineConfig {
            lease_ttl: std::time::Duration::from_millis(150),
            ..EngineConfig::default()
        })
        .build()
        .expect("a valid engine")
        .run(CancellationToken::new())
        .await
        .expect("the run starts");
    assert_eq!(summary.outcome, RunOutcome::Completed, "{summary:?}");
    assert_eq!(summary.counts.items_leased_elsewhere, 1);
    assert_eq!(source.control().call_count("open"), 0, "it is not read");
    assert_eq!(claims.load(std::sync::atomic::Ordering::SeqCst), 2);
}
