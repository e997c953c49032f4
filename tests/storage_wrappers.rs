//! `RetryingStorage` and `MeteredStorage` wrap any store, as tower middleware wraps a service.

use std::sync::Arc;
use std::time::Duration;

use collectors::{
    Backoff, ErrorAction, ErrorPolicy, ErrorType, FinalAction, MeteredStorage, Payload, Record,
    RetryingErrorHandler, RetryingStorage, StorageBackend,
};
use collectors_mocks::MockStorageBackend;

fn records(n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| Record::keyed(format!("k{i}"), Payload::Json(serde_json::json!(i))).unwrap())
        .collect()
}

fn quick_retries() -> Arc<RetryingErrorHandler> {
    let backoff = Backoff::new(Duration::from_millis(1), Duration::from_millis(2), 4).unwrap();
    Arc::new(RetryingErrorHandler::new(ErrorPolicy::default().on(
        ErrorType::Timeout,
        ErrorAction::Retry {
            backoff,
            exhausted: FinalAction::DeadLetter,
        },
    )))
}

#[tokio::test]
async fn transient_failures_are_retried_and_others_are_not() {
    let mock = Arc::new(MockStorageBackend::new("store"));
    let control = mock.control();
    let store = RetryingStorage::new(mock.clone(), quick_retries());
    store.connect().await.unwrap();

    control.fail_method("store_batch", 2, ErrorType::Timeout);
    store.store_batch(&records(3)).await.unwrap();
    assert_eq!(
        control.call_count("store_batch"),
        3,
        "two failures, then success"
    );
    assert_eq!(mock.len(), 3);

    control.fail_method("store_batch", 4, ErrorType::Timeout);
    let err = store.store_batch(&records(1)).await.unwrap_err();
    assert_eq!(
        err.error_type(),
        ErrorType::Timeout,
        "the last error, once attempts run out"
    );
    assert_eq!(control.call_count("store_batch"), 3 + 4);

    control.fail_method("store_batch", 1, ErrorType::Validation);
    let before = control.call_count("store_batch");
    assert!(store.store_batch(&records(1)).await.is_err());
    assert_eq!(control.call_count("store_batch"), before + 1, "not retried");
}

#[tokio::test]
async fn metered_storage_counts_batches_rows_and_failures() {
    let mock = Arc::new(MockStorageBackend::new("store"));
    let control = mock.control();
    let metered = MeteredStorage::new(mock);
    let metrics = metered.metrics();
    // Composed: each attempt of the retry is metered.
    let store = RetryingStorage::new(Arc::new(metered), quick_retries());
    store.connect().await.unwrap();
    control.fail_method("store_batch", 1, ErrorType::Timeout);
    store.store_batch(&records(5)).await.unwrap();
    let m = metrics.snapshot();
    assert_eq!((m.batches, m.records, m.failures), (1, 5, 1));
}
