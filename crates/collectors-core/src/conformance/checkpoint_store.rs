//! The [`CheckpointStore`] suite: checkpoints, fingerprints and leases.

use std::time::Duration;

use uuid::Uuid;

use crate::engine::{CheckpointStore, Claim, ItemCheckpoint};
use crate::models::SourceItem;

fn item(id: &str, version: &str) -> SourceItem {
    SourceItem::listed("conformance", id, version)
}

fn checkpoint(item: &SourceItem, stored: u64) -> ItemCheckpoint {
    ItemCheckpoint {
        source_id: item.source_id.clone(),
        item_id: item.item_id.clone(),
        version: item.version.clone(),
        stored,
        skipped: 1,
        dead_lettered: 2,
        completed_at: chrono::Utc::now(),
        state: Some(serde_json::json!({"rolling_mean": {"sum_bits": u64::MAX}})),
    }
}

/// Runs the [`CheckpointStore`] contract against `store`, under a fresh pipeline name (so it
/// can run against a shared database).
///
/// `leases`: whether the store implements leases (`false` for a store that keeps the
/// provided methods, which grant every claim).
///
/// # Panics
///
/// At the first rule the store breaks, naming the rule.
pub async fn checkpoint_store(store: &dyn CheckpointStore, leases: bool) {
    let pipeline = format!("conformance-{}", Uuid::new_v4());
    let (a, b) = (item("a.csv", "v1"), item("b.csv", "v1"));

    let done = store
        .done(&pipeline)
        .await
        .expect("done() on an empty pipeline");
    assert!(done.is_empty(), "a new pipeline has no checkpoints");

    store
        .mark_done(&pipeline, &[checkpoint(&a, 10)])
        .await
        .expect("mark_done");
    let done = store.done(&pipeline).await.expect("done()");
    let key = (a.source_id.clone(), a.item_id.clone());
    assert_eq!(
        done.get(&key).map(|c| c.stored),
        Some(10),
        "mark_done is read back"
    );
    assert_eq!(done[&key].skipped, 1, "skipped is kept");
    assert_eq!(done[&key].dead_lettered, 2, "dead_lettered is kept");
    assert_eq!(
        done[&key].state,
        checkpoint(&a, 10).state,
        "the processor state is kept exactly"
    );
    store
        .mark_done(&pipeline, &[checkpoint(&item("a.csv", "v2"), 11)])
        .await
        .expect("mark_done again");
    let done = store.done(&pipeline).await.expect("done()");
    assert_eq!(
        done.len(),
        1,
        "marking an item again replaces its checkpoint"
    );
    assert_eq!(done[&key].version, "v2", "the new version wins");

    let other = format!("{pipeline}-other");
    assert!(
        store.done(&other).await.expect("done()").is_empty(),
        "pipelines do not share checkpoints"
    );

    assert_eq!(
        store.fingerprint(&pipeline).await.expect("fingerprint"),
        None
    );
    store
        .set_fingerprint(&pipeline, "f1")
        .await
        .expect("set_fingerprint");
    assert_eq!(
        store
            .fingerprint(&pipeline)
            .await
            .expect("fingerprint")
            .as_deref(),
        Some("f1"),
        "the fingerprint is read back"
    );

    let ttl = Duration::from_secs(60);
    assert_eq!(
        store
            .claim(&pipeline, &b, "run-1", ttl)
            .await
            .expect("claim"),
        Claim::Granted,
        "a free item is granted"
    );
    if leases {
        assert_eq!(
            store
                .claim(&pipeline, &b, "run-2", ttl)
                .await
                .expect("claim"),
            Claim::Held,
            "an item leased to another run is held"
        );
        assert_eq!(
            store
                .claim(&pipeline, &b, "run-1", ttl)
                .await
                .expect("claim"),
            Claim::Granted,
            "the holder may claim again"
        );
        assert_eq!(
            store
                .claim(&pipeline, &item("a.csv", "v2"), "run-2", ttl)
                .await
                .expect("claim"),
            Claim::Done,
            "an item done at this version is not claimed"
        );
        assert_eq!(
            store
                .claim(&pipeline, &item("a.csv", "v3"), "run-2", ttl)
                .await
                .expect("claim"),
            Claim::Granted,
            "a changed item is claimed again"
        );
        // An expired lease is taken over.
        let c = item("c.csv", "v1");
        store
            .claim(&pipeline, &c, "run-1", Duration::ZERO)
            .await
            .expect("claim");
        assert_eq!(
            store
                .claim(&pipeline, &c, "run-2", ttl)
                .await
                .expect("claim"),
            Claim::Granted,
            "an expired lease is taken over"
        );
        // Renewal keeps a lease alive; release ends it.
        store
            .claim(&pipeline, &item("d.csv", "v1"), "run-3", Duration::ZERO)
            .await
            .expect("claim");
        store.renew(&pipeline, "run-3", ttl).await.expect("renew");
        assert_eq!(
            store
                .claim(&pipeline, &item("d.csv", "v1"), "run-4", ttl)
                .await
                .expect("claim"),
            Claim::Held,
            "a renewed lease is held"
        );
        store.release(&pipeline, "run-3").await.expect("release");
        assert_eq!(
            store
                .claim(&pipeline, &item("d.csv", "v1"), "run-4", ttl)
                .await
                .expect("claim"),
            Claim::Granted,
            "a released lease is free"
        );
        // Marking an item done ends its lease.
        store
            .mark_done(&pipeline, &[checkpoint(&b, 1)])
            .await
            .expect("mark_done");
        assert_eq!(
            store
                .claim(&pipeline, &b, "run-2", ttl)
                .await
                .expect("claim"),
            Claim::Done,
            "a done item is not claimed"
        );
    }

    store.reset(&pipeline).await.expect("reset");
    assert!(
        store.done(&pipeline).await.expect("done()").is_empty(),
        "reset forgets the checkpoints"
    );
    assert_eq!(
        store.fingerprint(&pipeline).await.expect("fingerprint"),
        None,
        "reset forgets the fingerprint"
    );
}
