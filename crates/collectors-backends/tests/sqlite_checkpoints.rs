//! `SqliteCheckpointStore` against a real SQLite file.
#![cfg(feature = "sqlite")]

use chrono::{Duration, Utc};
use collectors_backends::SqliteCheckpointStore;
use collectors_core::{CheckpointStore, ErrorType, ItemCheckpoint};

fn checkpoint(item: &str, version: &str, stored: u64) -> ItemCheckpoint {
    ItemCheckpoint {
        source_id: "incoming".into(),
        item_id: item.into(),
        version: version.into(),
        stored,
        skipped: 2,
        dead_lettered: 1,
        completed_at: Utc::now() - Duration::seconds(stored as i64),
        state: None,
    }
}

fn key(item: &str) -> (String, String) {
    ("incoming".to_string(), item.to_string())
}

#[tokio::test]
async fn round_trip_replace_and_isolation_between_pipelines() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteCheckpointStore::open(dir.path().join("state.db"))
        .await
        .unwrap();
    assert!(store.done("p").await.unwrap().is_empty());

    let a = checkpoint("a.csv", "v1", 10);
    let b = checkpoint("b.csv", "v1", 20);
    store.mark_done("p", &[a.clone(), b.clone()]).await.unwrap();
    store.mark_done("p", &[]).await.unwrap();
    let done = store.done("p").await.unwrap();
    assert_eq!(done.len(), 2);
    assert_eq!(done[&key("a.csv")], a, "every field round-trips");

    let a2 = checkpoint("a.csv", "v2", 11);
    store
        .mark_done("p", std::slice::from_ref(&a2))
        .await
        .unwrap();
    let done = store.done("p").await.unwrap();
    assert_eq!(done.len(), 2, "marking again replaces");
    assert_eq!(done[&key("a.csv")], a2);
    assert_eq!(done[&key("b.csv")], b);

    assert!(store.done("other").await.unwrap().is_empty());
}

#[tokio::test]
async fn reset_forgets_checkpoints_and_fingerprint_of_one_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteCheckpointStore::open(dir.path().join("state.db"))
        .await
        .unwrap();
    store
        .mark_done("p", &[checkpoint("a.csv", "v1", 1)])
        .await
        .unwrap();
    store
        .mark_done("q", &[checkpoint("a.csv", "v1", 1)])
        .await
        .unwrap();
    store.set_fingerprint("p", "fp-1").await.unwrap();
    store.set_fingerprint("q", "fp-q").await.unwrap();
    store.reset("p").await.unwrap();
    assert!(store.done("p").await.unwrap().is_empty());
    assert_eq!(store.fingerprint("p").await.unwrap(), None);
    assert_eq!(store.done("q").await.unwrap().len(), 1);
    assert_eq!(
        store.fingerprint("q").await.unwrap().as_deref(),
        Some("fp-q")
    );
}

#[tokio::test]
async fn fingerprints_are_stored_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteCheckpointStore::open(dir.path().join("state.db"))
        .await
        .unwrap();
    assert_eq!(store.fingerprint("p").await.unwrap(), None);
    store.set_fingerprint("p", "fp-1").await.unwrap();
    assert_eq!(
        store.fingerprint("p").await.unwrap().as_deref(),
        Some("fp-1")
    );
    store.set_fingerprint("p", "fp-2").await.unwrap();
    assert_eq!(
        store.fingerprint("p").await.unwrap().as_deref(),
        Some("fp-2")
    );
}

#[tokio::test]
async fn checkpoints_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/state.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let items: Vec<_> = (0..1_234)
        .map(|i| checkpoint(&format!("{i:05}.csv"), "v1", i))
        .collect();
    {
        let store = SqliteCheckpointStore::open(&path).await.unwrap();
        store.mark_done("p", &items).await.unwrap();
        store.set_fingerprint("p", "fp").await.unwrap();
        store.close().await;
        let err = store.done("p").await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Connection, "{err}");
    }
    let reopened = SqliteCheckpointStore::open(&path).await.unwrap();
    let done = reopened.done("p").await.unwrap();
    assert_eq!(done.len(), items.len());
    assert_eq!(done[&key("01000.csv")], items[1000]);
    assert_eq!(
        reopened.fingerprint("p").await.unwrap().as_deref(),
        Some("fp")
    );
}

#[tokio::test]
async fn counts_beyond_i64_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteCheckpointStore::open(dir.path().join("state.db"))
        .await
        .unwrap();
    let err = store
        .mark_done("p", &[checkpoint("a.csv", "v1", u64::MAX)])
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation);
}

mod transactional {
    use std::sync::Arc;

    use collectors_backends::{SqliteCheckpointStore, SqliteStorage};
    use collectors_core::arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use collectors_core::{
        CheckpointStore, Payload, QueryCriteria, Record, StorageBackend, TransactionalCheckpoints,
    };

    use super::{checkpoint, key};

    fn table(n: i64) -> Payload {
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![n, n + 1]));
        Payload::Table(RecordBatch::try_from_iter([("id", ids)]).unwrap())
    }

    #[tokio::test]
    async fn records_and_checkpoints_commit_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("one.db");
        let store = SqliteStorage::builder("store", db.to_string_lossy())
            .table("t")
            .build()
            .unwrap();
        store.connect().await.unwrap();
        let records = vec![Record::keyed("a#0", table(1)).unwrap()];
        store
            .store_batch_with_checkpoints(&records, "p", &[checkpoint("a", "v1", 2)])
            .await
            .unwrap();
        let checkpoints = SqliteCheckpointStore::open(&db).await.unwrap();
        let done = checkpoints.done("p").await.unwrap();
        assert_eq!(done[&key("a")].stored, 2);
        assert_eq!(store.row_count().await.unwrap(), 2);

        // A batch that fails (a table of another schema) writes neither its rows nor the
        // checkpoint it would have completed.
        let strings: ArrayRef = Arc::new(StringArray::from(vec!["x"]));
        let wrong = Payload::Table(RecordBatch::try_from_iter([("name", strings)]).unwrap());
        let records = vec![
            Record::keyed("b#0", table(5)).unwrap(),
            Record::keyed("b#1", wrong).unwrap(),
        ];
        assert!(
            store
                .store_batch_with_checkpoints(&records, "p", &[checkpoint("b", "v1", 3)])
                .await
                .is_err()
        );
        assert!(!checkpoints.done("p").await.unwrap().contains_key(&key("b")));
        assert_eq!(store.row_count().await.unwrap(), 2);
        assert!(
            store
                .query(&QueryCriteria::new().key("b#0"))
                .await
                .unwrap()
                .is_empty()
        );
    }
}

/// Disk full, simulated as in `sqlite_storage.rs`: the store's connections are capped with
/// `open_with_max_size`, another connection fills the file past the cap, and dropping the
/// filler frees pages the store reuses.
mod disk_full {
    use std::path::Path;

    use collectors_backends::SqliteCheckpointStore;
    use collectors_core::{CheckpointStore, ErrorType};
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool};

    use super::{checkpoint, key};

    async fn run(db: &Path, sql: &str) {
        let options = SqliteConnectOptions::new()
            .filename(db)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePool::connect_with(options).await.unwrap();
        sqlx::raw_sql(sql).execute(&pool).await.unwrap();
        pool.close().await;
    }

    #[tokio::test]
    async fn checkpoints_that_fill_the_disk_fail_retryably_and_the_next_ones_work_once_space_is_back()
     {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state.db");
        let store = SqliteCheckpointStore::open_with_max_size(&db, 128 * 1024)
            .await
            .unwrap();
        store
            .mark_done("p", &[checkpoint("a", "v1", 1)])
            .await
            .unwrap();
        run(
            &db,
            "CREATE TABLE filler (b BLOB); INSERT INTO filler VALUES (zeroblob(1048576))",
        )
        .await;

        // One checkpoint too big for the free room: one single-row insert, which SQLite
        // answers by rolling the whole transaction back on its own.
        let long = "x".repeat(20_000);
        for _ in 0..3 {
            let err = store
                .mark_done("p", &[checkpoint(&long, "v1", 2)])
                .await
                .unwrap_err();
            assert_eq!(err.error_type(), ErrorType::Storage, "{err}");
            assert!(err.is_retryable());
            assert!(
                err.to_string().contains("database or disk is full"),
                "{err}"
            );
            assert_eq!(store.done("p").await.unwrap().len(), 1, "nothing kept");
        }

        run(&db, "DROP TABLE filler").await;
        store
            .mark_done("p", &[checkpoint(&long, "v1", 2)])
            .await
            .unwrap();
        let done = store.done("p").await.unwrap();
        assert_eq!(done.len(), 2);
        assert_eq!(done[&key(&long)].stored, 2);
        store.reset("p").await.unwrap();
        assert!(store.done("p").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_cap_below_64_kib_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = SqliteCheckpointStore::open_with_max_size(dir.path().join("x.db"), 1024)
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration);
    }
}

#[tokio::test]
async fn sqlite_checkpoints_meet_the_contract_leases_included() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteCheckpointStore::open(dir.path().join("c.db"))
        .await
        .unwrap();
    collectors_core::conformance::checkpoint_store(&store, true).await;
}

#[tokio::test]
async fn a_database_from_before_processor_state_gains_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query(
            "CREATE TABLE _collectors_checkpoints (pipeline TEXT NOT NULL, source_id TEXT NOT NULL, \
             item_id TEXT NOT NULL, version TEXT NOT NULL, stored INTEGER NOT NULL, \
             skipped INTEGER NOT NULL, dead_lettered INTEGER NOT NULL, completed_at TEXT NOT NULL, \
             PRIMARY KEY (pipeline, source_id, item_id))",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let store = SqliteCheckpointStore::open(&path).await.unwrap();
    let mut c = checkpoint("a.csv", "v1", 3);
    c.state = Some(serde_json::json!({"w": [1, 2]}));
    store.mark_done("p", &[c.clone()]).await.unwrap();
    let done = store.done("p").await.unwrap();
    assert_eq!(
        done[&("incoming".to_owned(), "a.csv".to_owned())].state,
        c.state
    );
}

#[tokio::test]
async fn a_sqlite_stores_ledger_meets_the_checkpoint_and_dead_letter_contracts() {
    use collectors_core::StorageBackend;
    let dir = tempfile::tempdir().unwrap();
    let store = collectors_backends::SqliteStorage::builder(
        "store",
        dir.path().join("s.db").to_string_lossy(),
    )
    .build()
    .unwrap();
    let ledger = store.ledger().expect("a SQLite store keeps a ledger");
    let err = ledger.checkpoints.done("p").await.unwrap_err();
    assert_eq!(
        err.error_type(),
        collectors_core::ErrorType::Connection,
        "usable once the store is connected: {err}"
    );
    store.connect().await.unwrap();
    collectors_core::conformance::checkpoint_store(ledger.checkpoints.as_ref(), true).await;
    collectors_core::conformance::dead_letter_store(ledger.dead_letters.as_ref()).await;
    store.disconnect().await.unwrap();
}

#[tokio::test]
async fn an_in_memory_sqlite_stores_ledger_shares_its_database() {
    use collectors_core::StorageBackend;
    let store = collectors_backends::SqliteStorage::builder("store", "sqlite::memory:")
        .build()
        .unwrap();
    store.connect().await.unwrap();
    let ledger = store.ledger().unwrap();
    collectors_core::conformance::dead_letter_store(ledger.dead_letters.as_ref()).await;
    // Checkpoints committed with records are read back through the ledger.
    let checkpoint = collectors_core::ItemCheckpoint {
        source_id: "src".into(),
        item_id: "a.csv".into(),
        version: "v1".into(),
        stored: 0,
        skipped: 0,
        dead_lettered: 0,
        completed_at: chrono::Utc::now(),
        state: None,
    };
    ledger
        .commit
        .store_batch_with_checkpoints(&[], "p", std::slice::from_ref(&checkpoint))
        .await
        .unwrap();
    let done = ledger.checkpoints.done("p").await.unwrap();
    assert_eq!(
        done[&("src".to_string(), "a.csv".to_string())].version,
        "v1"
    );
    store.disconnect().await.unwrap();
}
