//! `PostgresCheckpointStore` against a real PostgreSQL: the checkpoint and lease contract,
//! runs on two engines sharing one pipeline's items, and passwords kept out of errors.
//!
//! The server is the throwaway cluster `scripts/postgres` starts (`COLLECTORS_TEST_POSTGRES_URL`).
//! With `CI=true` a missing server fails these tests; otherwise they say they were skipped.
#![cfg(feature = "postgres")]

use std::sync::Arc;

use collectors_backends::{PostgresCheckpointStore, SqliteStorage};
use collectors_core::{
    CancellationToken, CheckpointStore, DataSource, Engine, EngineConfig, ErrorType,
    InMemoryDeadLetterSink, InMemorySource, StorageBackend,
};
use collectors_mocks::MockDecoder;

use collectors_mocks::services::postgres_url as server;

#[tokio::test]
async fn the_postgres_checkpoint_store_meets_the_contract() {
    let Some(url) = server() else { return };
    let store = PostgresCheckpointStore::connect(&url).await.unwrap();
    collectors_core::conformance::checkpoint_store(&store, true).await;
    store.close().await;
}

#[tokio::test]
async fn two_runs_on_one_postgres_share_the_items_and_store_each_once() {
    let Some(url) = server() else { return };
    let pipeline = format!("scale-out-{}", uuid::Uuid::new_v4());
    let mut source = InMemorySource::new("files");
    let mut expected_rows = 0;
    for i in 0..24 {
        let rows: String = (0..100).map(|r| format!("k{i},{r}\n")).collect();
        expected_rows += 100;
        source = source.with_item(format!("part-{i:02}.csv"), rows);
    }
    let source: Arc<dyn DataSource> = Arc::new(source);
    let dir = tempfile::tempdir().unwrap();
    // Each run writes its own database, as two machines would; the leases in PostgreSQL
    // split the items between them.
    let dbs = [dir.path().join("a.db"), dir.path().join("b.db")];
    let (a, b) = (
        engine(&pipeline, &url, &source, &dbs[0]).await,
        engine(&pipeline, &url, &source, &dbs[1]).await,
    );
    let (ra, rb) = tokio::join!(
        a.run(CancellationToken::new()),
        b.run(CancellationToken::new())
    );
    let (ra, rb) = (ra.unwrap().counts, rb.unwrap().counts);
    assert!(ra.adds_up() && rb.adds_up());
    assert_eq!(
        ra.items_done + rb.items_done,
        24,
        "every item done once: {ra:?} {rb:?}"
    );
    assert_eq!(
        ra.stored + rb.stored,
        expected_rows,
        "no row stored twice: {ra:?} {rb:?}"
    );

    let checkpoints = PostgresCheckpointStore::connect(&url).await.unwrap();
    assert_eq!(checkpoints.done(&pipeline).await.unwrap().len(), 24);
    let mut rows = 0;
    for db in &dbs {
        let store = SqliteStorage::builder("check", db.to_string_lossy())
            .build()
            .unwrap();
        store.connect().await.unwrap();
        rows += store.row_count().await.unwrap();
        store.disconnect().await.unwrap();
    }
    assert_eq!(rows, expected_rows, "the two databases hold every row once");
}

#[tokio::test]
async fn a_wrong_password_is_an_authentication_error_that_does_not_echo_it() {
    let Some(url) = server() else { return };
    // The test cluster asks for passwords (scram-sha-256): swap the right one for another.
    let (user, host) = url
        .strip_prefix("postgres://")
        .and_then(|rest| rest.split_once('@'))
        .map(|(userinfo, host)| (userinfo.split(':').next().unwrap_or(userinfo), host))
        .expect("the test URL is postgres://user:password@host:port/db");
    let secret = "correct-horse-battery-staple";
    let wrong = format!("postgres://{user}:{secret}@{host}");
    let err = PostgresCheckpointStore::connect(&wrong).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Authentication, "{err}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(secret), "the password leaked: {shown}");
    assert!(shown.contains(&format!("{user}:***")), "{shown}");
}

#[tokio::test]
async fn a_malformed_url_is_a_configuration_error() {
    let err = PostgresCheckpointStore::connect("postgres://user:pw@[bad")
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Configuration, "{err}");
    assert!(!err.to_string().contains("pw@"), "{err}");
}

/// One run of the scale-out pipeline: its own SQLite output and PostgreSQL connections, as
/// another machine would have.
async fn engine(
    pipeline: &str,
    url: &str,
    source: &Arc<dyn DataSource>,
    db: &std::path::Path,
) -> Engine {
    let store = SqliteStorage::builder("store", db.to_string_lossy())
        .build()
        .unwrap();
    Engine::builder(pipeline)
        .source(source.clone(), Arc::new(MockDecoder::new(50)))
        .store(Arc::new(store))
        .checkpoints(
            Arc::new(PostgresCheckpointStore::connect(url).await.unwrap())
                as Arc<dyn CheckpointStore>,
        )
        .dead_letters(Arc::new(InMemoryDeadLetterSink::new()))
        .config(EngineConfig {
            max_items_in_flight: 2,
            // A run done with its share looks at the other's again after a third of this.
            lease_ttl: std::time::Duration::from_millis(600),
            ..EngineConfig::default()
        })
        .build()
        .unwrap()
}

/// A claim that waits on the lease row of a run which is finishing the item (its checkpoint
/// and lease delete commit while the claim waits) must see the item done, not take it.
#[tokio::test]
async fn a_claim_that_waits_for_the_holders_commit_sees_the_item_done() {
    use collectors_core::{Claim, SourceItem};
    let Some(url) = server() else { return };
    let store = PostgresCheckpointStore::connect(&url).await.unwrap();
    let pipeline = format!("race-{}", uuid::Uuid::new_v4());
    let item = SourceItem::listed("files", "a.csv", "v1");
    let ttl = std::time::Duration::from_secs(60);
    assert_eq!(
        store.claim(&pipeline, &item, "run-a", ttl).await.unwrap(),
        Claim::Granted
    );
    // Run a finishes the item, by hand: checkpoint and lease delete, not yet committed.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let mut finishing = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO _collectors_checkpoints (pipeline, source_id, item_id, version, stored, \
         skipped, dead_lettered, completed_at) VALUES ($1, 'files', 'a.csv', 'v1', 1, 0, 0, now())",
    )
    .bind(&pipeline)
    .execute(&mut *finishing)
    .await
    .unwrap();
    sqlx::query("DELETE FROM _collectors_leases WHERE pipeline = $1")
        .bind(&pipeline)
        .execute(&mut *finishing)
        .await
        .unwrap();
    // Run b claims meanwhile: it waits for the lease row.
    let claim = {
        let (store, pipeline, item) = (store.clone(), pipeline.clone(), item.clone());
        tokio::spawn(async move { store.claim(&pipeline, &item, "run-b", ttl).await })
    };
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
             AND query LIKE '%_collectors_leases%'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    finishing.commit().await.unwrap();
    assert_eq!(claim.await.unwrap().unwrap(), Claim::Done);
    assert_eq!(store.lease_holder(&pipeline, &item).await.unwrap(), None);
}

/// The checkpoint store's pool takes a `PoolConfig`: a one-connection pool serves every
/// call, and a config that cannot hold is refused before connecting.
#[tokio::test]
async fn the_checkpoint_store_takes_a_pool_config() {
    use collectors_backends::pool::PoolConfig;

    let refused = PostgresCheckpointStore::connect_with_pool(
        "postgres://db/x",
        PoolConfig::new().max_size(0),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.error_type(), ErrorType::Configuration, "{refused}");

    let Some(url) = server() else { return };
    let store = PostgresCheckpointStore::connect_with_pool(&url, PoolConfig::new().max_size(1))
        .await
        .unwrap();
    let pipeline = format!("pool-{}", uuid::Uuid::new_v4().simple());
    // Two calls at once on one connection: the second waits for the first.
    let (a, b) = tokio::join!(store.done(&pipeline), store.done(&pipeline));
    assert!(a.unwrap().is_empty() && b.unwrap().is_empty());
    store.close().await;
}
