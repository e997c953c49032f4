//! `SqliteStorage` against a real SQLite file in a temp dir.
#![cfg(feature = "sqlite")]

use std::sync::Arc;
use std::time::Instant;

use arrow_array::types::Date32Type;
use arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int8Array, Int64Array, LargeStringArray,
    PrimitiveArray, RecordBatch, StringArray, TimestampMicrosecondArray, TimestampNanosecondArray,
    TimestampSecondArray, UInt16Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use chrono::{Duration, Utc};
use collectors_backends::{SqliteCheckpointStore, SqliteStorage};
use collectors_core::conformance;
use collectors_core::{
    CheckpointStore, ErrorType, ItemCheckpoint, Payload, PayloadKind, QueryCriteria, Record,
    StorageBackend,
};

fn storage(dir: &tempfile::TempDir, table: &str) -> SqliteStorage {
    let path = dir.path().join("store.db");
    SqliteStorage::builder("sqlite", path.to_str().unwrap())
        .table(table)
        .build()
        .unwrap()
}

fn readings(start: i64, rows: usize) -> RecordBatch {
    let ids: Vec<i64> = (start..start + rows as i64).collect();
    let sensors: Vec<String> = ids.iter().map(|i| format!("s-{}", i % 17)).collect();
    let values: Vec<f64> = ids.iter().map(|i| *i as f64 * 0.5).collect();
    let ts: Vec<i64> = ids
        .iter()
        .map(|i| 1_700_000_000_000_000 + i * 1_000)
        .collect();
    RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
        ("sensor", Arc::new(StringArray::from(sensors)) as ArrayRef),
        ("value", Arc::new(Float64Array::from(values)) as ArrayRef),
        (
            "ts",
            Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")) as ArrayRef,
        ),
    ])
    .unwrap()
}

#[tokio::test]
async fn meets_the_storage_backend_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = storage(&dir, "readings");
    conformance::storage_backend(
        &store,
        &[
            PayloadKind::Table,
            PayloadKind::Json,
            PayloadKind::Bytes,
            PayloadKind::Empty,
        ],
    )
    .await;
}

#[tokio::test]
async fn meets_the_contract_in_memory_too() {
    let store = SqliteStorage::builder("memory", "sqlite::memory:")
        .build()
        .unwrap();
    conformance::storage_backend(&store, &[PayloadKind::Json, PayloadKind::Table]).await;
}

#[tokio::test]
async fn ten_batches_of_ten_thousand_rows_and_replays_do_not_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let store = storage(&dir, "readings");
    store.connect().await.unwrap();
    let batches: Vec<Vec<Record>> = (0..10)
        .map(|b| {
            // Four records of 2,500 rows each: 10k rows per store_batch.
            (0..4)
                .map(|r| {
                    let start = (b * 4 + r) * 2_500;
                    Record::keyed(
                        format!("file-{b}.csv#{r}"),
                        Payload::Table(readings(start, 2_500)),
                    )
                    .unwrap()
                })
                .collect()
        })
        .collect();

    let started = Instant::now();
    for batch in &batches {
        store.store_batch(batch).await.unwrap();
    }
    let elapsed = started.elapsed();
    assert_eq!(store.row_count().await.unwrap(), 100_000);
    eprintln!(
        "stored 100000 rows in {elapsed:?}: {:.0} rows/s",
        100_000.0 / elapsed.as_secs_f64()
    );

    // A replay of every batch replaces instead of duplicating.
    let started = Instant::now();
    for batch in &batches {
        store.store_batch(batch).await.unwrap();
    }
    let elapsed = started.elapsed();
    eprintln!(
        "re-stored 100000 rows in {elapsed:?}: {:.0} rows/s",
        100_000.0 / elapsed.as_secs_f64()
    );
    assert_eq!(store.row_count().await.unwrap(), 100_000);
    let all = store.query(&QueryCriteria::new()).await.unwrap();
    assert_eq!(all.len(), 40);
    assert_eq!(
        all.iter()
            .map(|s| s.record.payload.num_rows().unwrap())
            .sum::<usize>(),
        100_000
    );
    let one = store
        .query(&QueryCriteria::new().key("file-3.csv#2"))
        .await
        .unwrap();
    assert_eq!(one[0].record.payload, batches[3][2].payload);
    store.disconnect().await.unwrap();
}

#[tokio::test]
async fn every_supported_type_round_trips_with_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let store = storage(&dir, "typed");
    store.connect().await.unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("i8", DataType::Int8, true),
        Field::new("u16", DataType::UInt16, false),
        Field::new("u64", DataType::UInt64, true),
        Field::new("f32", DataType::Float32, true),
        Field::new("flag", DataType::Boolean, true),
        Field::new("big_text", DataType::LargeUtf8, true),
        Field::new(
            "ts_s",
            DataType::Timestamp(arrow_schema::TimeUnit::Second, None),
            true,
        ),
        Field::new(
            "ts_ns",
            DataType::Timestamp(arrow_schema::TimeUnit::Nanosecond, Some("+02:00".into())),
            true,
        ),
        Field::new("day", DataType::Date32, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int8Array::from(vec![Some(-128), None, Some(127)])),
            Arc::new(UInt16Array::from(vec![0, 1, u16::MAX])),
            Arc::new(UInt64Array::from(vec![
                Some(i64::MAX as u64),
                None,
                Some(0),
            ])),
            Arc::new(Float32Array::from(vec![Some(1.25), Some(-0.1), None])),
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
            Arc::new(LargeStringArray::from(vec![Some("ü\"'"), None, Some("")])),
            Arc::new(TimestampSecondArray::from(vec![
                Some(-86_400),
                None,
                Some(0),
            ])),
            Arc::new(
                TimestampNanosecondArray::from(vec![
                    Some(1_700_000_000_123_456_789),
                    None,
                    Some(-1),
                ])
                .with_timezone("+02:00"),
            ),
            Arc::new(PrimitiveArray::<Date32Type>::from(vec![
                Some(19_723),
                None,
                Some(-719_162),
            ])),
        ],
    )
    .unwrap();
    let record = Record::keyed("typed#0", Payload::Table(batch.clone())).unwrap();
    store.store(record).await.unwrap();
    let found = store
        .query(&QueryCriteria::new().key("typed#0"))
        .await
        .unwrap();
    assert_eq!(found[0].record.payload, Payload::Table(batch));
    assert_eq!(found[0].location.metadata["rows"], 3);

    // An empty batch is a record with no rows.
    let empty = readings(0, 0);
    let other = storage(&dir, "empty_rows");
    other.connect().await.unwrap();
    other
        .store(Record::keyed("none", Payload::Table(empty.clone())).unwrap())
        .await
        .unwrap();
    let found = other
        .query(&QueryCriteria::new().key("none"))
        .await
        .unwrap();
    assert_eq!(found[0].record.payload, Payload::Table(empty));
}

#[tokio::test]
async fn schema_changes_unsupported_types_and_bad_values_are_validation_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = storage(&dir, "readings");
    store.connect().await.unwrap();
    store
        .store(Record::keyed("a", Payload::Table(readings(0, 3))).unwrap())
        .await
        .unwrap();

    let other =
        RecordBatch::try_from_iter([("id", Arc::new(StringArray::from(vec!["x"])) as ArrayRef)])
            .unwrap();
    let err = store
        .store(Record::keyed("b", Payload::Table(other)).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation, "{err}");
    assert!(!err.is_retryable());

    let binary = RecordBatch::try_from_iter([(
        "blob",
        Arc::new(arrow_array::BinaryArray::from(vec![&b"x"[..]])) as ArrayRef,
    )])
    .unwrap();
    let fresh = storage(&dir, "binary");
    fresh.connect().await.unwrap();
    let err = fresh
        .store(Record::keyed("c", Payload::Table(binary)).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation, "{err}");

    // A bad value fails the whole batch: nothing of it is stored.
    let overflow = RecordBatch::try_from_iter([(
        "n",
        Arc::new(UInt64Array::from(vec![u64::MAX])) as ArrayRef,
    )])
    .unwrap();
    let unsigned = storage(&dir, "unsigned");
    unsigned.connect().await.unwrap();
    let fine =
        RecordBatch::try_from_iter([("n", Arc::new(UInt64Array::from(vec![1])) as ArrayRef)])
            .unwrap();
    let err = unsigned
        .store_batch(&[
            Record::keyed("ok", Payload::Table(fine)).unwrap(),
            Record::keyed("json", Payload::Json(serde_json::json!(1))).unwrap(),
            Record::keyed("bad", Payload::Table(overflow)).unwrap(),
        ])
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation, "{err}");
    assert_eq!(unsigned.row_count().await.unwrap(), 0);
    assert!(
        unsigned
            .query(&QueryCriteria::new().key("json"))
            .await
            .unwrap()
            .is_empty(),
        "a failed batch stores none of its records"
    );
}

#[tokio::test]
async fn replacing_and_deleting_remove_the_old_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = storage(&dir, "readings");
    store.connect().await.unwrap();
    store
        .store_batch(&[
            Record::keyed("k", Payload::Table(readings(0, 5))).unwrap(),
            Record::keyed("other", Payload::Table(readings(100, 2))).unwrap(),
        ])
        .await
        .unwrap();
    assert_eq!(store.row_count().await.unwrap(), 7);

    // The same key twice in one batch: the last one wins.
    store
        .store_batch(&[
            Record::keyed("k", Payload::Table(readings(0, 3))).unwrap(),
            Record::keyed("k", Payload::Table(readings(0, 4))).unwrap(),
        ])
        .await
        .unwrap();
    assert_eq!(store.row_count().await.unwrap(), 6);

    // A table record replaced by a document loses its rows.
    store
        .store(Record::keyed("k", Payload::Json(serde_json::json!({"done": true}))).unwrap())
        .await
        .unwrap();
    assert_eq!(store.row_count().await.unwrap(), 2);

    assert!(store.delete("other").await.unwrap());
    assert!(!store.delete("other").await.unwrap());
    assert_eq!(store.row_count().await.unwrap(), 0);
}

#[tokio::test]
async fn queries_filter_in_sql() {
    let dir = tempfile::tempdir().unwrap();
    let store = storage(&dir, "readings");
    store.connect().await.unwrap();
    let now = Utc::now();
    let mut records = Vec::new();
    for (i, meta) in [
        serde_json::json!({"n": 1, "ok": true, "tags": ["a"], "f": 1.5}),
        serde_json::json!({"n": 2, "ok": false, "tags": ["a", "b"], "f": 1.0}),
        serde_json::json!({"n": "1", "ok": null, "nested": {"x": 1}}),
    ]
    .into_iter()
    .enumerate()
    {
        let mut record = Record::keyed(format!("p/{i}"), Payload::Empty).unwrap();
        record.metadata = meta.as_object().unwrap().clone();
        record.created_at = now + Duration::seconds(i as i64);
        records.push(record);
    }
    records.push(Record::keyed("p0", Payload::Empty).unwrap());
    records.push(Record::keyed("q/0", Payload::Empty).unwrap());
    store.store_batch(&records).await.unwrap();

    let keys = |found: Vec<collectors_core::StoredRecord>| -> Vec<String> {
        found.into_iter().map(|s| s.record.key).collect()
    };
    let q = |c: QueryCriteria| {
        let store = &store;
        async move { keys(store.query(&c).await.unwrap()) }
    };
    assert_eq!(
        q(QueryCriteria::new().key_prefix("p/")).await,
        ["p/0", "p/1", "p/2"]
    );
    assert_eq!(
        q(QueryCriteria::new().metadata("n", 1)).await,
        ["p/0"],
        "1 is not \"1\""
    );
    assert_eq!(q(QueryCriteria::new().metadata("n", "1")).await, ["p/2"]);
    assert_eq!(q(QueryCriteria::new().metadata("ok", false)).await, ["p/1"]);
    assert_eq!(
        q(QueryCriteria::new().metadata("ok", serde_json::Value::Null)).await,
        ["p/2"]
    );
    assert_eq!(q(QueryCriteria::new().metadata("f", 1.0)).await, ["p/1"]);
    assert_eq!(
        q(QueryCriteria::new().metadata("tags", serde_json::json!(["a", "b"]))).await,
        ["p/1"]
    );
    assert_eq!(
        q(QueryCriteria::new().metadata("nested", serde_json::json!({"x": 1}))).await,
        ["p/2"]
    );
    assert_eq!(
        q(QueryCriteria::new()
            .key_prefix("p/")
            .created_after(now + Duration::seconds(1)))
        .await,
        ["p/1", "p/2"]
    );
    assert_eq!(
        q(QueryCriteria::new()
            .key_prefix("p/")
            .created_before(now + Duration::seconds(1)))
        .await,
        ["p/0"]
    );
    assert_eq!(q(QueryCriteria::new().offset(3)).await, ["p0", "q/0"]);
    let found = store.query(&QueryCriteria::new().key("p/1")).await.unwrap();
    assert_eq!(
        found[0].record.created_at,
        now + Duration::seconds(1),
        "exact to the nanosecond"
    );
}

#[tokio::test]
async fn records_survive_reconnecting_and_disconnected_calls_fail() {
    let dir = tempfile::tempdir().unwrap();
    let store = storage(&dir, "readings");
    let err = store.query(&QueryCriteria::new()).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Connection);
    assert_eq!(
        store.delete("x").await.unwrap_err().error_type(),
        ErrorType::Connection
    );

    store.connect().await.unwrap();
    store
        .store(Record::keyed("a", Payload::Table(readings(0, 3))).unwrap())
        .await
        .unwrap();
    store.disconnect().await.unwrap();

    let reopened = storage(&dir, "readings");
    reopened.connect().await.unwrap();
    // The stored schema is read back: a matching batch appends, a different one is refused.
    reopened
        .store(Record::keyed("b", Payload::Table(readings(3, 3))).unwrap())
        .await
        .unwrap();
    assert_eq!(reopened.row_count().await.unwrap(), 6);
    let found = reopened
        .query(&QueryCriteria::new().key("a"))
        .await
        .unwrap();
    assert_eq!(found[0].record.payload, Payload::Table(readings(0, 3)));
}

#[tokio::test]
async fn shares_its_file_with_the_checkpoint_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = storage(&dir, "readings");
    store.connect().await.unwrap();
    let checkpoints = SqliteCheckpointStore::open(dir.path().join("store.db"))
        .await
        .unwrap();
    store
        .store(Record::keyed("a", Payload::Table(readings(0, 10))).unwrap())
        .await
        .unwrap();
    checkpoints
        .mark_done(
            "p",
            &[ItemCheckpoint {
                source_id: "s".into(),
                item_id: "a.csv".into(),
                version: "1".into(),
                stored: 10,
                skipped: 0,
                dead_lettered: 0,
                completed_at: Utc::now(),
                state: None,
            }],
        )
        .await
        .unwrap();
    assert_eq!(store.row_count().await.unwrap(), 10);
    assert_eq!(checkpoints.done("p").await.unwrap().len(), 1);
    assert!(
        dir.path().join("store.db-wal").exists(),
        "the database runs in WAL mode"
    );
}

#[tokio::test]
async fn connecting_to_an_unreachable_file_is_a_connection_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir/store.db");
    let store = SqliteStorage::builder("sqlite", path.to_str().unwrap())
        .build()
        .unwrap();
    let err = store.connect().await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Connection, "{err}");
    assert!(err.to_string().contains("missing-dir"), "{err}");

    let strict = SqliteStorage::builder("sqlite", dir.path().join("new.db").to_str().unwrap())
        .create_if_missing(false)
        .build()
        .unwrap();
    assert_eq!(
        strict.connect().await.unwrap_err().error_type(),
        ErrorType::Connection
    );
}

#[test]
fn build_checks_its_settings() {
    for (id, path, table) in [
        ("", "x.db", "t"),
        ("s", "", "t"),
        ("s", "x.db", "bad name"),
        ("s", "x.db", "_collectors_records"),
        ("s", "sqlite://x.db?mode=nonsense", "t"),
    ] {
        let err = SqliteStorage::builder(id, path)
            .table(table)
            .build()
            .unwrap_err();
        assert_eq!(
            err.error_type(),
            ErrorType::Configuration,
            "{id:?} {path:?} {table:?}"
        );
    }
    // Every number is bounded: none is trusted to size an allocation or a wait.
    let builder = || SqliteStorage::builder("s", "x.db");
    for (what, built) in [
        ("0 connections", builder().max_connections(0).build()),
        ("65 connections", builder().max_connections(65).build()),
        (
            "u32::MAX connections",
            builder().max_connections(u32::MAX).build(),
        ),
        (
            "a 2 h busy timeout",
            builder()
                .busy_timeout(std::time::Duration::from_secs(7_200))
                .build(),
        ),
        (
            "a 1 KiB database",
            builder().max_database_size(1024).build(),
        ),
        (
            "a 129-byte table name",
            builder().table("t".repeat(129)).build(),
        ),
    ] {
        let err = built.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration, "{what}");
    }
    builder()
        .max_connections(64)
        .busy_timeout(std::time::Duration::from_secs(3_600))
        .max_database_size(64 * 1024)
        .table("t".repeat(128))
        .build()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_on_one_file_wait_for_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let first = Arc::new(storage(&dir, "readings"));
    let second = Arc::new(storage(&dir, "readings"));
    first.connect().await.unwrap();
    second.connect().await.unwrap();
    let mut tasks = Vec::new();
    for writer in 0..6i64 {
        let store = if writer % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            for b in 0..10i64 {
                let key = format!("w{writer}/b{b}");
                store
                    .store_batch(&[
                        Record::keyed(key, Payload::Table(readings(b * 100, 100))).unwrap()
                    ])
                    .await
                    .unwrap();
                store
                    .query(&QueryCriteria::new().key_prefix(format!("w{writer}/")))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(first.row_count().await.unwrap(), 6 * 10 * 100);
    assert_eq!(second.query(&QueryCriteria::new()).await.unwrap().len(), 60);
}

/// Disk full, simulated without root: the store caps the file with `max_database_size`
/// (`PRAGMA max_page_count` on its connections), and another connection fills the file
/// past the cap with a filler table. Dropping the filler "frees space": its pages go to the
/// free list, which the store reuses.
mod disk_full {
    use std::path::Path;

    use collectors_backends::SqliteStorage;
    use collectors_core::{
        CheckpointStore, ErrorType, ItemCheckpoint, Payload, QueryCriteria, Record, StorageBackend,
        TransactionalCheckpoints,
    };
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool};

    use std::sync::Arc;

    use arrow_array::{ArrayRef, RecordBatch, StringArray};

    use super::readings;

    const CAP: u64 = 128 * 1024;

    async fn other_connection(db: &Path) -> SqlitePool {
        let options = SqliteConnectOptions::new()
            .filename(db)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(5));
        SqlitePool::connect_with(options).await.unwrap()
    }

    /// Grows the file well past the cap.
    async fn fill(db: &Path) {
        let pool = other_connection(db).await;
        sqlx::raw_sql(
            "CREATE TABLE filler (b BLOB); INSERT INTO filler VALUES (zeroblob(1048576))",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }

    /// Frees the filler's pages inside the file.
    async fn free(db: &Path) {
        let pool = other_connection(db).await;
        sqlx::raw_sql("DROP TABLE filler")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }

    fn capped(db: &Path) -> SqliteStorage {
        // One connection: the one that failed is the one the next batch gets.
        SqliteStorage::builder("sqlite", db.to_string_lossy())
            .table("readings")
            .max_connections(1)
            .max_database_size(CAP)
            .build()
            .unwrap()
    }

    fn batch(prefix: &str) -> Vec<Record> {
        vec![
            Record::keyed(format!("{prefix}#0"), Payload::Table(readings(0, 2_000))).unwrap(),
            Record::keyed(
                format!("{prefix}#1"),
                Payload::Table(readings(2_000, 2_000)),
            )
            .unwrap(),
            Record::keyed(
                format!("{prefix}/meta"),
                Payload::Json(serde_json::json!({"rows": 4_000})),
            )
            .unwrap(),
        ]
    }

    /// One record of one long row: one single-row `INSERT`, which SQLite, failing for lack
    /// of space, answers by rolling the whole transaction back on its own.
    fn one_long_row(key: &str) -> Vec<Record> {
        let batch = readings(0, 1);
        let long: ArrayRef = Arc::new(StringArray::from(vec!["x".repeat(20_000)]));
        let mut columns = batch.columns().to_vec();
        columns[1] = long;
        let batch = RecordBatch::try_new(batch.schema(), columns).unwrap();
        vec![Record::keyed(key, Payload::Table(batch)).unwrap()]
    }

    fn assert_disk_full(err: &collectors_core::Error) {
        assert_eq!(err.error_type(), ErrorType::Storage, "{err}");
        assert!(err.is_retryable(), "{err}");
        assert!(
            err.to_string().contains("database or disk is full"),
            "names the real cause: {err}"
        );
    }

    async fn assert_nothing_stored(store: &SqliteStorage) {
        assert!(
            store.query(&QueryCriteria::new()).await.unwrap().is_empty(),
            "no record of a failed batch is kept"
        );
        assert_eq!(store.row_count().await.unwrap(), 0, "no row either");
    }

    #[tokio::test]
    async fn a_batch_that_fills_the_disk_fails_retryably_and_the_next_one_works_once_space_is_back()
    {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("store.db");
        let store = capped(&db);
        store.connect().await.unwrap();
        fill(&db).await;

        // The first batch creates the data table: SQLite rolls the whole transaction back
        // by itself when that fails for lack of space.
        for _ in 0..3 {
            let err = store.store_batch(&batch("a")).await.unwrap_err();
            assert_disk_full(&err);
            assert_nothing_stored(&store).await;
        }

        free(&db).await;
        store.store_batch(&batch("a")).await.unwrap();
        assert_eq!(store.row_count().await.unwrap(), 4_000);
        assert_eq!(store.query(&QueryCriteria::new()).await.unwrap().len(), 3);

        // Full again with the table in place: the failure is now in the row inserts.
        fill(&db).await;
        for _ in 0..3 {
            let err = store.store_batch(&batch("b")).await.unwrap_err();
            assert_disk_full(&err);
            assert_eq!(store.row_count().await.unwrap(), 4_000, "b left no row");
        }
        // A single-row insert that fails for lack of space makes SQLite roll the whole
        // transaction back by itself (as a failed COMMIT does).
        for _ in 0..3 {
            let err = store.store_batch(&one_long_row("c")).await.unwrap_err();
            assert_disk_full(&err);
            assert!(
                store
                    .query(&QueryCriteria::new().key("c"))
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
        free(&db).await;
        store.store_batch(&batch("b")).await.unwrap();
        store.store_batch(&one_long_row("c")).await.unwrap();
        assert_eq!(store.row_count().await.unwrap(), 8_001);
        assert_eq!(store.query(&QueryCriteria::new()).await.unwrap().len(), 7);
        // Other calls on the same connection work too.
        assert!(store.delete("a#0").await.unwrap());
        assert_eq!(store.row_count().await.unwrap(), 6_001);
    }

    #[tokio::test]
    async fn records_and_checkpoints_that_fill_the_disk_leave_neither_behind() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("store.db");
        let store = capped(&db);
        store.connect().await.unwrap();
        let small = Record::keyed("a", Payload::Table(readings(0, 100))).unwrap();
        store.store_batch(&[small]).await.unwrap();
        fill(&db).await;
        let checkpoint = ItemCheckpoint {
            source_id: "s".into(),
            item_id: "c.csv".into(),
            version: "1".into(),
            stored: 1,
            skipped: 0,
            dead_lettered: 0,
            completed_at: chrono::Utc::now(),
            state: None,
        };

        for _ in 0..3 {
            let err = store
                .store_batch_with_checkpoints(
                    &one_long_row("c"),
                    "p",
                    std::slice::from_ref(&checkpoint),
                )
                .await
                .unwrap_err();
            assert_disk_full(&err);
            assert_eq!(store.row_count().await.unwrap(), 100, "no row of c");
        }

        free(&db).await;
        store
            .store_batch_with_checkpoints(
                &one_long_row("c"),
                "p",
                std::slice::from_ref(&checkpoint),
            )
            .await
            .unwrap();
        assert_eq!(store.row_count().await.unwrap(), 101);
        let checkpoints = collectors_backends::SqliteCheckpointStore::open(&db)
            .await
            .unwrap();
        let done = checkpoints.done("p").await.unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(done[&("s".to_string(), "c.csv".to_string())].stored, 1);
    }
}

/// SQLite has ±infinity but no NaN: infinities round-trip, NaN is stored as NULL (the one
/// lossy case, documented on `SqliteStorage`).
#[tokio::test]
async fn infinities_round_trip_and_nan_becomes_null() {
    let dir = tempfile::tempdir().unwrap();
    let store = storage(&dir, "floats");
    store.connect().await.unwrap();
    let f64s = Float64Array::from(vec![
        Some(f64::NAN),
        Some(f64::INFINITY),
        Some(f64::NEG_INFINITY),
        Some(-0.5),
        None,
    ]);
    let f32s = Float32Array::from(vec![
        Some(f32::NAN),
        Some(f32::INFINITY),
        Some(f32::NEG_INFINITY),
        Some(-0.5),
        None,
    ]);
    let batch = RecordBatch::try_from_iter([
        ("f64", Arc::new(f64s) as ArrayRef),
        ("f32", Arc::new(f32s) as ArrayRef),
    ])
    .unwrap();
    store
        .store(Record::keyed("k", Payload::Table(batch)).unwrap())
        .await
        .unwrap();

    let found = store.query(&QueryCriteria::new().key("k")).await.unwrap();
    let Payload::Table(back) = &found[0].record.payload else {
        panic!("a table");
    };
    let f64s = back
        .column(0)
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    let f32s = back
        .column(1)
        .as_any()
        .downcast_ref::<Float32Array>()
        .unwrap();
    assert_eq!(
        f64s.iter().collect::<Vec<_>>(),
        [
            None,
            Some(f64::INFINITY),
            Some(f64::NEG_INFINITY),
            Some(-0.5),
            None
        ]
    );
    assert_eq!(
        f32s.iter().collect::<Vec<_>>(),
        [
            None,
            Some(f32::INFINITY),
            Some(f32::NEG_INFINITY),
            Some(-0.5),
            None
        ]
    );

    // In the file: REAL infinities that SQL sees as such, and NULL for NaN.
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new().filename(dir.path().join("store.db")),
    )
    .await
    .unwrap();
    let rows: Vec<(String, Option<f64>)> =
        sqlx::query_as("SELECT typeof(f64), f64 FROM floats ORDER BY _id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            ("null".to_string(), None),
            ("real".to_string(), Some(f64::INFINITY)),
            ("real".to_string(), Some(f64::NEG_INFINITY)),
            ("real".to_string(), Some(-0.5)),
            ("null".to_string(), None),
        ]
    );
    let above: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM floats WHERE f64 > 1e308")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(above, 1, "+inf compares above every finite value");
    pool.close().await;
}

#[tokio::test]
async fn a_database_of_the_earlier_text_key_layout_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let pool = sqlx::SqlitePool::connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true),
        )
        .await
        .unwrap();
        // The record table as the earlier layout created it: a text primary key, no id.
        sqlx::query(
            "CREATE TABLE _collectors_records (key TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL, \
             metadata TEXT NOT NULL, created_at TEXT NOT NULL, payload BLOB, data_table TEXT, \
             row_count INTEGER)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let store = SqliteStorage::builder("old", path.to_string_lossy())
        .build()
        .unwrap();
    let err = store.connect().await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::InvalidState, "{err}");
    let message = err.to_string();
    assert!(
        message.contains("earlier version") && message.contains("new database file"),
        "{message}"
    );
}

#[tokio::test]
async fn a_records_rows_are_one_range_of_row_ids() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStorage::builder("s", dir.path().join("s.db").to_string_lossy())
        .table("t")
        .build()
        .unwrap();
    store.connect().await.unwrap();
    let batch = |n: i64| {
        let values: arrow_array::ArrayRef =
            std::sync::Arc::new(arrow_array::Int64Array::from_iter_values(0..n));
        arrow_array::RecordBatch::try_from_iter([("v", values)]).unwrap()
    };
    store
        .store_batch(&[
            Record::keyed("a", Payload::Table(batch(3))).unwrap(),
            Record::keyed("b", Payload::Table(batch(2))).unwrap(),
        ])
        .await
        .unwrap();
    // Replacing "a" with fewer rows leaves none of its old ones, and "b" untouched.
    store
        .store_batch(&[Record::keyed("a", Payload::Table(batch(1))).unwrap()])
        .await
        .unwrap();
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new().filename(dir.path().join("s.db")),
    )
    .await
    .unwrap();
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT r.key, t._id & 4294967295, t.v FROM t JOIN _collectors_records r \
         ON r.id = t._id >> 32 ORDER BY r.key, t._id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            ("a".to_string(), 0, 0),
            ("b".to_string(), 0, 0),
            ("b".to_string(), 1, 1)
        ]
    );
    store.disconnect().await.unwrap();
}

/// A batch that fails half-way through its rows (a value that does not fit, after a record
/// was already replaced) leaves the table as it was, names the column, and the store goes on.
#[tokio::test]
async fn a_batch_that_fails_half_way_leaves_the_table_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let store = storage(&dir, "counts");
    store.connect().await.unwrap();
    let counts = |values: Vec<u64>| {
        let n: ArrayRef = Arc::new(UInt64Array::from(values));
        RecordBatch::try_from_iter([("n", n)]).unwrap()
    };
    let a = counts(vec![1, 2, 3]);
    store
        .store_batch(&[
            Record::keyed("a", Payload::Table(a.clone())).unwrap(),
            Record::keyed("b", Payload::Table(counts(vec![4]))).unwrap(),
        ])
        .await
        .unwrap();

    let err = store
        .store_batch(&[
            Record::keyed("a", Payload::Table(counts(vec![10, 11, 12, 13]))).unwrap(),
            Record::keyed("c", Payload::Table(counts(vec![5]))).unwrap(),
            Record::keyed("d", Payload::Table(counts(vec![6, u64::MAX]))).unwrap(),
        ])
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation, "{err}");
    assert!(err.message().contains("column \"n\" row 1"), "{err}");
    assert_eq!(store.row_count().await.unwrap(), 4);
    let found = store.query(&QueryCriteria::new().key("a")).await.unwrap();
    assert_eq!(
        found[0].record.payload,
        Payload::Table(a),
        "a keeps its rows"
    );
    for key in ["c", "d"] {
        let found = store.query(&QueryCriteria::new().key(key)).await.unwrap();
        assert!(found.is_empty(), "{key} was not stored");
    }

    // The write connection is usable again; replacing a record below others keeps both.
    store
        .store_batch(&[
            Record::keyed("a", Payload::Table(counts(vec![7, 8]))).unwrap(),
            Record::keyed("c", Payload::Table(counts(vec![5]))).unwrap(),
        ])
        .await
        .unwrap();
    assert_eq!(store.row_count().await.unwrap(), 4);
    let found = store
        .query(&QueryCriteria::new().key_prefix(""))
        .await
        .unwrap();
    let stored: Vec<(&str, usize)> = found
        .iter()
        .map(|s| (s.record.key.as_str(), s.record.payload.num_rows().unwrap()))
        .collect();
    assert_eq!(stored, [("a", 2), ("b", 1), ("c", 1)]);
    store.disconnect().await.unwrap();
}
