//! Routing and replication across `Arc<dyn StorageBackend>` mocks.

use std::sync::Arc;

use collectors::{
    DefaultStorageManager, ErrorType, Payload, PayloadKind, QueryCriteria, Record, RouteCondition,
    StorageBackend, StorageManager, StorageRoute,
};
use collectors_mocks::MockStorageBackend;

async fn connected(id: &str) -> Arc<MockStorageBackend> {
    let backend = Arc::new(MockStorageBackend::new(id));
    backend.connect().await.unwrap();
    backend
}

#[tokio::test]
async fn records_follow_the_first_matching_route_then_the_default() {
    let (hot, tables, cold) = (
        connected("hot").await,
        connected("tables").await,
        connected("cold").await,
    );
    let manager = DefaultStorageManager::new();
    for b in [&hot, &tables, &cold] {
        manager
            .register_backend(b.clone() as Arc<dyn StorageBackend>)
            .await
            .unwrap();
    }
    let no_default = manager
        .store(Record::new(Payload::Empty))
        .await
        .unwrap_err();
    assert_eq!(no_default.error_type(), ErrorType::Configuration);

    manager
        .add_route(StorageRoute {
            when: RouteCondition::MetadataEquals {
                key: "tier".into(),
                value: "hot".into(),
            },
            backend_id: "hot".into(),
        })
        .await
        .unwrap();
    manager
        .add_route(StorageRoute {
            when: RouteCondition::PayloadKind(PayloadKind::Table),
            backend_id: "tables".into(),
        })
        .await
        .unwrap();
    manager.set_default_backend("cold").await.unwrap();

    let hot_record = Record::keyed("a", Payload::Json(1.into()))
        .unwrap()
        .with_metadata("tier", "hot");
    manager.store(hot_record).await.unwrap();
    let batch = collectors::arrow_array::RecordBatch::new_empty(Arc::new(
        collectors::arrow_schema::Schema::empty(),
    ));
    manager
        .store(Record::keyed("b", Payload::Table(batch)).unwrap())
        .await
        .unwrap();
    manager
        .store(Record::keyed("c", Payload::Json(3.into())).unwrap())
        .await
        .unwrap();

    let keys = |b: &MockStorageBackend| b.records().into_iter().map(|r| r.key).collect::<Vec<_>>();
    assert_eq!(
        (keys(&hot), keys(&tables), keys(&cold)),
        (vec!["a".into()], vec!["b".into()], vec!["c".into()])
    );

    let bad_route = StorageRoute {
        when: RouteCondition::Always,
        backend_id: "nowhere".into(),
    };
    assert_eq!(
        manager.add_route(bad_route).await.unwrap_err().error_type(),
        ErrorType::NotFound
    );
    assert_eq!(
        manager
            .unregister_backend("hot")
            .await
            .unwrap_err()
            .error_type(),
        ErrorType::InvalidState
    );
}

#[tokio::test]
async fn replication_writes_everywhere_and_names_the_backends_that_failed() {
    let (a, b) = (connected("a").await, connected("b").await);
    let manager = DefaultStorageManager::new();
    manager
        .register_backend(a.clone() as Arc<dyn StorageBackend>)
        .await
        .unwrap();
    manager
        .register_backend(b.clone() as Arc<dyn StorageBackend>)
        .await
        .unwrap();
    let both = ["a".to_string(), "b".to_string()];

    let locations = manager
        .replicate(Record::keyed("k1", Payload::Json(1.into())).unwrap(), &both)
        .await
        .unwrap();
    assert_eq!(
        locations
            .iter()
            .map(|l| l.backend_id.as_str())
            .collect::<Vec<_>>(),
        vec!["a", "b"]
    );

    b.control().fail_next(1, ErrorType::Storage);
    let err = manager
        .replicate(Record::keyed("k2", Payload::Json(2.into())).unwrap(), &both)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Storage);
    assert!(
        err.message().contains("1 of 2") && err.message().contains("b:"),
        "{err}"
    );
    // The write that succeeded stays; retrying is safe because keys are idempotent.
    assert_eq!(
        a.query(&QueryCriteria::new().key("k2"))
            .await
            .unwrap()
            .len(),
        1
    );
    manager
        .replicate(Record::keyed("k2", Payload::Json(2.into())).unwrap(), &both)
        .await
        .unwrap();
    assert_eq!((a.len(), b.len()), (2, 2));

    let unknown = manager
        .replicate(Record::new(Payload::Empty), &["zzz".to_string()])
        .await
        .unwrap_err();
    assert_eq!(unknown.error_type(), ErrorType::NotFound);
}
