//! The [`StorageBackend`] suite.

use std::sync::Arc;

use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
use bytes::Bytes;
use uuid::Uuid;

use super::assert_error;
use crate::models::{ErrorType, Payload, PayloadKind, QueryCriteria, Record};
use crate::storage_backend::StorageBackend;

fn sample(kind: PayloadKind, n: i64) -> Payload {
    match kind {
        PayloadKind::Empty => Payload::Empty,
        PayloadKind::Bytes => Payload::Bytes(Bytes::from(format!("raw-{n}\0\u{fffd}"))),
        PayloadKind::Json => Payload::Json(
            serde_json::json!({ "n": n, "tags": ["a", "b"], "nested": { "ok": true } }),
        ),
        PayloadKind::Table => Payload::Table(
            RecordBatch::try_from_iter([
                ("id", Arc::new(Int64Array::from(vec![n, n + 1])) as _),
                (
                    "sensor",
                    Arc::new(StringArray::from(vec![Some("s-1"), None])) as _,
                ),
                ("value", Arc::new(Float64Array::from(vec![1.5, -2.25])) as _),
            ])
            .unwrap_or_else(|e| panic!("building the sample batch: {e}")),
        ),
    }
}

/// Runs the [`StorageBackend`] contract against `backend`, storing payloads of the given
/// kinds (the ones the backend accepts; at least one).
///
/// Records are written under a fresh random key prefix, so the suite can run against a shared
/// service; it deletes what it wrote. The backend is left disconnected.
///
/// # Panics
///
/// On the first broken rule, with a message naming it.
pub async fn storage_backend(backend: &dyn StorageBackend, kinds: &[PayloadKind]) {
    assert!(
        !kinds.is_empty(),
        "give the suite at least one payload kind the backend accepts"
    );
    let id = backend.backend_id().to_owned();
    assert!(!id.is_empty(), "backend_id must not be empty");
    let prefix = format!("conformance-{}/", Uuid::new_v4().simple());
    let key = |name: &str| format!("{prefix}{name}");

    backend
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    backend
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect must be idempotent: {e}"));

    // store, then read back by key.
    let first = Record::keyed(key("a"), sample(kinds[0], 1))
        .expect("key")
        .with_metadata("sensor", "s-1");
    let location = backend
        .store(first.clone())
        .await
        .unwrap_or_else(|e| panic!("store: {e}"));
    assert_eq!(
        location.backend_id, id,
        "a location names the backend that stored it"
    );
    let found = backend
        .query(&QueryCriteria::new().key(key("a")))
        .await
        .unwrap_or_else(|e| panic!("query: {e}"));
    assert_eq!(found.len(), 1, "query by key returns the stored record");
    assert_eq!(
        found[0].record.payload, first.payload,
        "payload round-trips"
    );
    assert_eq!(
        found[0].record.metadata, first.metadata,
        "metadata round-trips"
    );

    // storing the same key again replaces: replays never duplicate.
    let replaced = Record::keyed(key("a"), sample(kinds[0], 2))
        .expect("key")
        .with_metadata("sensor", "s-1");
    backend
        .store(replaced.clone())
        .await
        .unwrap_or_else(|e| panic!("store again: {e}"));
    let found = backend
        .query(&QueryCriteria::new().key(key("a")))
        .await
        .unwrap_or_else(|e| panic!("query: {e}"));
    assert_eq!(found.len(), 1, "storing a key twice must not duplicate it");
    assert_eq!(
        found[0].record.payload, replaced.payload,
        "storing a key again replaces the record"
    );

    // store_batch: every record stored, every kind round-trips.
    let batch: Vec<Record> = (0..4)
        .map(|i| {
            let kind = kinds[i % kinds.len()];
            Record::keyed(key(&format!("b{i}")), sample(kind, i as i64 * 10))
                .expect("key")
                .with_metadata("sensor", if i % 2 == 0 { "s-2" } else { "s-3" })
        })
        .collect();
    backend
        .store_batch(&batch)
        .await
        .unwrap_or_else(|e| panic!("store_batch: {e}"));
    backend
        .store_batch(&[])
        .await
        .unwrap_or_else(|e| panic!("empty store_batch: {e}"));

    // query: sorted by key, filtered by prefix and metadata, paged.
    let all = backend
        .query(&QueryCriteria::new().key_prefix(&prefix))
        .await
        .unwrap_or_else(|e| panic!("query: {e}"));
    let keys: Vec<_> = all.iter().map(|s| s.record.key.clone()).collect();
    let mut expected: Vec<_> = ["a", "b0", "b1", "b2", "b3"]
        .iter()
        .map(|k| key(k))
        .collect();
    expected.sort();
    assert_eq!(keys, expected, "query returns every match, ordered by key");
    for stored in &all[1..] {
        let original = batch
            .iter()
            .find(|r| r.key == stored.record.key)
            .expect("a batch record");
        assert_eq!(
            stored.record.payload,
            original.payload,
            "{:?} payload round-trips",
            original.payload.kind()
        );
    }
    let s2 = backend
        .query(
            &QueryCriteria::new()
                .key_prefix(&prefix)
                .metadata("sensor", "s-2"),
        )
        .await
        .unwrap_or_else(|e| panic!("query by metadata: {e}"));
    assert_eq!(
        s2.iter().map(|s| s.record.key.clone()).collect::<Vec<_>>(),
        vec![key("b0"), key("b2")],
        "metadata criteria filter"
    );
    let page = backend
        .query(&QueryCriteria::new().key_prefix(&prefix).offset(1).limit(2))
        .await
        .unwrap_or_else(|e| panic!("paged query: {e}"));
    assert_eq!(
        page.iter()
            .map(|s| s.record.key.clone())
            .collect::<Vec<_>>(),
        expected[1..3].to_vec(),
        "offset and limit page through the ordered matches"
    );

    // delete: true once, then false; the record is gone.
    let target = &all[0].location.location_id;
    assert!(
        backend
            .delete(target)
            .await
            .unwrap_or_else(|e| panic!("delete: {e}")),
        "delete of a stored record returns true"
    );
    assert!(
        !backend
            .delete(target)
            .await
            .unwrap_or_else(|e| panic!("delete again: {e}")),
        "deleting a missing record returns false"
    );
    let gone = backend
        .query(&QueryCriteria::new().key(&all[0].record.key))
        .await
        .unwrap_or_else(|e| panic!("query: {e}"));
    assert!(gone.is_empty(), "a deleted record is not returned");
    for stored in &all[1..] {
        backend
            .delete(&stored.location.location_id)
            .await
            .unwrap_or_else(|e| panic!("cleanup delete: {e}"));
    }

    // disconnected: calls fail with a connection error; disconnect is idempotent.
    backend
        .disconnect()
        .await
        .unwrap_or_else(|e| panic!("disconnect: {e}"));
    backend
        .disconnect()
        .await
        .unwrap_or_else(|e| panic!("disconnect must be idempotent: {e}"));
    let late = Record::keyed(key("late"), sample(kinds[0], 3)).expect("key");
    assert_error(
        backend.store(late).await,
        ErrorType::Connection,
        "store on a disconnected backend",
    );
}
