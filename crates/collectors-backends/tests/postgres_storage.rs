//! `PostgresStorage` against a real PostgreSQL: the storage, checkpoint and dead-letter
//! contracts, every mapped type in both COPY formats, replays that never duplicate, hostile
//! identifiers, refused values that leave the table as it was, checkpoints committed with
//! the rows, and an engine killed half-way whose rerun stores every record exactly once.
//!
//! The server is the throwaway cluster `scripts/postgres` starts (`COLLECTORS_TEST_POSTGRES_URL`).
//! With `CI=true` a missing server fails these tests; otherwise they say they were skipped.
#![cfg(feature = "postgres")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array,
    Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, LargeBinaryArray,
    LargeStringArray, RecordBatch, StringArray, TimestampMicrosecondArray,
    TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray, UInt8Array,
    UInt16Array, UInt32Array, UInt64Array,
};
use collectors_backends::postgres::{CopyFormat, PostgresStorage};
use collectors_core::{
    CancellationToken, DataSource, Engine, EngineConfig, ErrorType, InMemorySource, ItemCheckpoint,
    Payload, PayloadKind, QueryCriteria, Record, Result, StorageBackend, StorageLocation,
    StoreLedger, StoredRecord, TransactionalCheckpoints, async_trait, conformance,
};
use collectors_mocks::MockDecoder;

use collectors_mocks::services::postgres_url as server;

/// A table name no other test uses.
fn fresh_table() -> String {
    format!("t_{}", uuid::Uuid::new_v4().simple())
}

fn store(url: &str, table: &str, format: CopyFormat) -> PostgresStorage {
    PostgresStorage::builder("pg", url)
        .table(table)
        .copy_format(format)
        .build()
        .unwrap()
}

fn readings(start: i64, rows: usize) -> RecordBatch {
    let ids: Vec<i64> = (start..start + rows as i64).collect();
    RecordBatch::try_from_iter([
        ("seq", Arc::new(Int64Array::from(ids.clone())) as ArrayRef),
        (
            "sensor",
            Arc::new(StringArray::from(
                ids.iter()
                    .map(|i| format!("s-{}", i % 7))
                    .collect::<Vec<_>>(),
            )) as _,
        ),
        (
            "value",
            Arc::new(Float64Array::from(
                ids.iter().map(|i| *i as f64 * 0.5).collect::<Vec<_>>(),
            )) as _,
        ),
    ])
    .unwrap()
}

async fn count(url: &str, sql: &str) -> i64 {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

#[tokio::test]
async fn meets_the_storage_backend_contract_in_both_copy_formats() {
    let Some(url) = server() else { return };
    for format in [CopyFormat::Binary, CopyFormat::Csv] {
        let store = store(&url, &fresh_table(), format);
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
}

#[tokio::test]
async fn its_ledger_meets_the_checkpoint_and_dead_letter_contracts() {
    let Some(url) = server() else { return };
    let store = store(&url, &fresh_table(), CopyFormat::Binary);
    let ledger = store.ledger().expect("a PostgreSQL store keeps a ledger");
    let err = ledger.checkpoints.done("p").await.unwrap_err();
    assert_eq!(
        err.error_type(),
        ErrorType::Connection,
        "usable once the store is connected: {err}"
    );
    store.connect().await.unwrap();
    conformance::checkpoint_store(ledger.checkpoints.as_ref(), true).await;
    // The dead-letter suite writes fixed pipeline names: start from none of them.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query("DELETE FROM _collectors_dead_letters WHERE pipeline IN ('conformance', 'other')")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    conformance::dead_letter_store(ledger.dead_letters.as_ref()).await;
    store.disconnect().await.unwrap();
}

/// One column of every mapped type, with a null in each, and the edge values.
fn every_type() -> RecordBatch {
    let tz = "+00:00";
    RecordBatch::try_from_iter([
        (
            "i8",
            Arc::new(Int8Array::from(vec![Some(i8::MIN), None, Some(i8::MAX)])) as ArrayRef,
        ),
        (
            "i16",
            Arc::new(Int16Array::from(vec![Some(i16::MIN), None, Some(7)])) as _,
        ),
        (
            "i32",
            Arc::new(Int32Array::from(vec![Some(i32::MIN), None, Some(i32::MAX)])) as _,
        ),
        (
            "i64",
            Arc::new(Int64Array::from(vec![Some(i64::MIN), None, Some(i64::MAX)])) as _,
        ),
        (
            "u8",
            Arc::new(UInt8Array::from(vec![Some(0), None, Some(u8::MAX)])) as _,
        ),
        (
            "u16",
            Arc::new(UInt16Array::from(vec![Some(0), None, Some(u16::MAX)])) as _,
        ),
        (
            "u32",
            Arc::new(UInt32Array::from(vec![Some(0), None, Some(u32::MAX)])) as _,
        ),
        (
            "u64",
            Arc::new(UInt64Array::from(vec![
                Some(0),
                None,
                Some(i64::MAX as u64),
            ])) as _,
        ),
        (
            "f32",
            Arc::new(Float32Array::from(vec![
                Some(0.1),
                None,
                Some(f32::INFINITY),
            ])) as _,
        ),
        (
            "f64",
            Arc::new(Float64Array::from(vec![
                Some(-1e-300),
                None,
                Some(f64::NEG_INFINITY),
            ])) as _,
        ),
        (
            "bool",
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])) as _,
        ),
        (
            "utf8",
            Arc::new(StringArray::from(vec![
                Some("é \"q\", \\ \n"),
                None,
                Some(""),
            ])) as _,
        ),
        (
            "large_utf8",
            Arc::new(LargeStringArray::from(vec![Some("x"), None, Some("y,z")])) as _,
        ),
        (
            "bin",
            Arc::new(BinaryArray::from(vec![
                Some(&b"\x00\xff"[..]),
                None,
                Some(b""),
            ])) as _,
        ),
        (
            "large_bin",
            Arc::new(LargeBinaryArray::from(vec![
                Some(&b"\\x"[..]),
                None,
                Some(b"z"),
            ])) as _,
        ),
        (
            "ts_s",
            Arc::new(TimestampSecondArray::from(vec![
                Some(-62_135_596_801),
                None,
                Some(253_402_300_799),
            ])) as _,
        ),
        (
            "ts_ms",
            Arc::new(
                TimestampMillisecondArray::from(vec![Some(1_700_000_000_123), None, Some(0)])
                    .with_timezone(tz),
            ) as _,
        ),
        (
            "ts_us",
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(1_700_000_000_123_456),
                None,
                Some(-1),
            ])) as _,
        ),
        (
            "ts_ns",
            Arc::new(
                TimestampNanosecondArray::from(vec![
                    Some(1_700_000_000_123_456_000),
                    None,
                    Some(0),
                ])
                .with_timezone(tz),
            ) as _,
        ),
        (
            "date",
            Arc::new(Date32Array::from(vec![Some(19_000), None, Some(-719_163)])) as _,
        ),
    ])
    .unwrap()
}

#[tokio::test]
async fn every_mapped_type_round_trips_with_nulls_in_both_copy_formats() {
    let Some(url) = server() else { return };
    for format in [CopyFormat::Binary, CopyFormat::Csv] {
        let table = fresh_table();
        let store = store(&url, &table, format);
        store.connect().await.unwrap();
        let batch = every_type();
        store
            .store(Record::keyed("types", Payload::Table(batch.clone())).unwrap())
            .await
            .unwrap();
        let found = store
            .query(&QueryCriteria::new().key("types"))
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].record.payload, Payload::Table(batch), "{format:?}");
        // SQL sees the real types and values.
        let typed = count(
            &url,
            &format!(
                "SELECT count(*) FROM information_schema.columns WHERE table_name = '{table}' \
                 AND data_type IN ('timestamp without time zone', 'timestamp with time zone', \
                 'date', 'bytea', 'double precision', 'real', 'smallint', 'boolean')"
            ),
        )
        .await;
        assert_eq!(typed, 13, "{format:?}");
        let at = count(
            &url,
            &format!(
                "SELECT count(*) FROM {table} WHERE ts_ms = '2023-11-14 22:13:20.123+00' \
                 AND ts_us = '2023-11-14 22:13:20.123456' AND date = '2022-01-08' \
                 AND utf8 = E'é \"q\", \\\\ \\n' AND bin = '\\x00ff'::bytea"
            ),
        )
        .await;
        assert_eq!(at, 1, "{format:?}: values are stored as PostgreSQL values");
        store.disconnect().await.unwrap();
    }
}

#[tokio::test]
async fn nan_and_empty_batches_are_kept() {
    let Some(url) = server() else { return };
    for format in [CopyFormat::Binary, CopyFormat::Csv] {
        let store = store(&url, &fresh_table(), format);
        store.connect().await.unwrap();
        let batch = RecordBatch::try_from_iter([(
            "v",
            Arc::new(Float64Array::from(vec![f64::NAN, 1.0])) as ArrayRef,
        )])
        .unwrap();
        store
            .store_batch(&[
                Record::keyed("nan", Payload::Table(batch)).unwrap(),
                Record::keyed("none", Payload::Table(every_type().slice(0, 0)))
                    .unwrap()
                    .with_metadata("empty", true),
            ])
            .await
            .map(|_| ())
            .unwrap_err();
        // One schema per table: the mixed batch is refused and nothing is kept.
        assert_eq!(store.row_count().await.unwrap(), 0);
        let batch = RecordBatch::try_from_iter([(
            "v",
            Arc::new(Float64Array::from(vec![f64::NAN, 1.0])) as ArrayRef,
        )])
        .unwrap();
        store
            .store(Record::keyed("nan", Payload::Table(batch)).unwrap())
            .await
            .unwrap();
        let found = store.query(&QueryCriteria::new().key("nan")).await.unwrap();
        let Payload::Table(back) = &found[0].record.payload else {
            panic!("a table")
        };
        let values = back
            .column(0)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert!(
            values.value(0).is_nan() && values.is_valid(0),
            "NaN stays NaN, not NULL"
        );
        store.disconnect().await.unwrap();
    }
}

#[tokio::test]
async fn replays_and_replacements_never_duplicate_rows() {
    let Some(url) = server() else { return };
    for stage_new in [false, true] {
        let table = fresh_table();
        let store = PostgresStorage::builder("pg", &url)
            .table(&table)
            .stage_new_records(stage_new)
            .build()
            .unwrap();
        store.connect().await.unwrap();
        let records: Vec<Record> = (0..10)
            .map(|i| {
                Record::keyed(
                    format!("part-{i}"),
                    Payload::Table(readings(i * 1000, 1000)),
                )
                .unwrap()
            })
            .collect();
        store.store_batch(&records).await.unwrap();
        assert_eq!(store.row_count().await.unwrap(), 10_000);
        // A redone batch replaces itself.
        store.store_batch(&records).await.unwrap();
        assert_eq!(
            store.row_count().await.unwrap(),
            10_000,
            "stage_new={stage_new}"
        );
        // Replacements with fewer rows, more rows, and no table at all.
        store
            .store_batch(&[
                Record::keyed("part-0", Payload::Table(readings(0, 10))).unwrap(),
                Record::keyed("part-1", Payload::Table(readings(5000, 1500))).unwrap(),
                Record::keyed("part-2", Payload::Json(serde_json::json!({"gone": true}))).unwrap(),
            ])
            .await
            .unwrap();
        assert_eq!(store.row_count().await.unwrap(), 10_000 - 990 + 500 - 1000);
        let found = store
            .query(&QueryCriteria::new().key("part-1"))
            .await
            .unwrap();
        assert_eq!(
            found[0].record.payload,
            Payload::Table(readings(5000, 1500))
        );
        // Two records of one key in a batch: the last wins.
        store
            .store_batch(&[
                Record::keyed("dup", Payload::Table(readings(0, 3))).unwrap(),
                Record::keyed("dup", Payload::Table(readings(100, 2))).unwrap(),
            ])
            .await
            .unwrap();
        let found = store.query(&QueryCriteria::new().key("dup")).await.unwrap();
        assert_eq!(found[0].record.payload, Payload::Table(readings(100, 2)));
        let distinct = count(
            &url,
            &format!("SELECT count(*) - count(DISTINCT _id) FROM {table}"),
        )
        .await;
        assert_eq!(distinct, 0);
        assert!(store.delete("part-1").await.unwrap());
        assert_eq!(
            store.row_count().await.unwrap(),
            10_000 - 990 + 500 - 1000 - 1500 + 2
        );
        store.disconnect().await.unwrap();
    }
}

#[tokio::test]
async fn hostile_table_and_column_names_are_harmless() {
    let Some(url) = server() else { return };
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let victim = fresh_table();
    sqlx::query(&format!("CREATE TABLE {victim} (x INT)"))
        .execute(&pool)
        .await
        .unwrap();
    let hostile = format!("x\"; DROP TABLE {victim}; --");

    // A table name is a plain identifier or nothing: refused before any connection.
    let err = PostgresStorage::builder("pg", &url)
        .table(&hostile)
        .build()
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Configuration, "{err}");

    // A column name is quoted: it becomes a column with exactly that name.
    let table = fresh_table();
    let store = store(&url, &table, CopyFormat::Binary);
    store.connect().await.unwrap();
    let batch = RecordBatch::try_from_iter([
        (
            hostile.as_str(),
            Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef,
        ),
        (
            "'); DELETE FROM _collectors_records; --",
            Arc::new(StringArray::from(vec!["a", "b"])) as _,
        ),
    ])
    .unwrap();
    let record = Record::keyed(
        format!("k'; DROP TABLE {victim}; --"),
        Payload::Table(batch.clone()),
    )
    .unwrap()
    .with_metadata("m'); DROP TABLE x; --", "v'--");
    store.store(record.clone()).await.unwrap();
    store.store(record.clone()).await.unwrap();
    let found = store
        .query(
            &QueryCriteria::new()
                .key_prefix("k'; DROP")
                .metadata("m'); DROP TABLE x; --", "v'--"),
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].record.payload, Payload::Table(batch));
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::TEXT FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
    )
    .bind(&table)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        columns,
        vec![
            "_id".to_owned(),
            hostile.clone(),
            "'); DELETE FROM _collectors_records; --".to_owned()
        ]
    );
    let victim_left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = $1")
            .bind(&victim)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(victim_left, 1, "the victim table is still there");
    assert!(store.delete(&record.key).await.unwrap());
    store.disconnect().await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn refused_batches_are_typed_errors_and_leave_the_table_as_it_was() {
    let Some(url) = server() else { return };
    for format in [CopyFormat::Binary, CopyFormat::Csv] {
        let store = store(&url, &fresh_table(), format);
        store.connect().await.unwrap();
        store
            .store(Record::keyed("good", Payload::Table(readings(0, 5))).unwrap())
            .await
            .unwrap();
        let text = |values: Vec<&str>| {
            RecordBatch::try_from_iter([
                (
                    "seq",
                    Arc::new(Int64Array::from(vec![1; values.len()])) as ArrayRef,
                ),
                ("sensor", Arc::new(StringArray::from(values)) as _),
                ("value", Arc::new(Float64Array::from(vec![1.0; 2])) as _),
            ])
            .unwrap()
        };
        let one =
            |name: &str, array: ArrayRef| RecordBatch::try_from_iter([(name, array)]).unwrap();
        let cases: Vec<(&str, Vec<Record>)> = vec![
            (
                "a NUL in text (refused by the server, half-way through the COPY)",
                vec![
                    Record::keyed("ok-first", Payload::Table(readings(10, 5))).unwrap(),
                    Record::keyed("nul", Payload::Table(text(vec!["fine", "bad\0"]))).unwrap(),
                ],
            ),
            (
                "another schema",
                vec![
                    Record::keyed(
                        "other",
                        Payload::Table(one("x", Arc::new(Int32Array::from(vec![1])))),
                    )
                    .unwrap(),
                ],
            ),
            (
                "an unsupported type",
                vec![
                    Record::keyed(
                        "dec",
                        Payload::Table(one(
                            "d",
                            Arc::new(
                                Decimal128Array::from(vec![1])
                                    .with_precision_and_scale(5, 2)
                                    .unwrap(),
                            ),
                        )),
                    )
                    .unwrap(),
                ],
            ),
        ];
        for (what, records) in cases {
            let err = store.store_batch(&records).await.unwrap_err();
            assert_eq!(
                err.error_type(),
                ErrorType::Validation,
                "{format:?} {what}: {err}"
            );
            assert_eq!(
                store.row_count().await.unwrap(),
                5,
                "{format:?} {what}: nothing kept"
            );
            assert!(
                store
                    .query(&QueryCriteria::new().key("ok-first"))
                    .await
                    .unwrap()
                    .is_empty(),
                "{format:?} {what}: no record row kept"
            );
        }
        // Values the columns check refuses before the COPY starts.
        for (what, batch) in [
            (
                "u64 above i64::MAX",
                one("u", Arc::new(UInt64Array::from(vec![u64::MAX]))),
            ),
            (
                "a fraction of a microsecond",
                one("t", Arc::new(TimestampNanosecondArray::from(vec![1_001]))),
            ),
        ] {
            let store = self::store(&url, &fresh_table(), format);
            store.connect().await.unwrap();
            let err = store
                .store(Record::keyed("v", Payload::Table(batch)).unwrap())
                .await
                .unwrap_err();
            assert_eq!(err.error_type(), ErrorType::Validation, "{what}: {err}");
            assert_eq!(store.row_count().await.unwrap(), 0, "{what}");
            store.disconnect().await.unwrap();
        }
        // The store still works after the failures.
        store
            .store(Record::keyed("good-2", Payload::Table(readings(5, 5))).unwrap())
            .await
            .unwrap();
        assert_eq!(store.row_count().await.unwrap(), 10);
        store.disconnect().await.unwrap();
    }
}

#[tokio::test]
async fn a_table_it_did_not_create_is_not_reused() {
    let Some(url) = server() else { return };
    let table = fresh_table();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(&format!("CREATE TABLE {table} (other TEXT)"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let store = store(&url, &table, CopyFormat::Binary);
    store.connect().await.unwrap();
    let err = store
        .store(Record::keyed("a", Payload::Table(readings(0, 2))).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::InvalidState, "{err}");
    assert!(
        err.to_string()
            .contains("not created by a collectors store"),
        "{err}"
    );
    store.disconnect().await.unwrap();
}

fn checkpoint(item: &str, stored: u64) -> ItemCheckpoint {
    ItemCheckpoint {
        source_id: "src".into(),
        item_id: item.into(),
        version: "v1".into(),
        stored,
        skipped: 0,
        dead_lettered: 0,
        completed_at: chrono::Utc::now(),
        state: None,
    }
}

#[tokio::test]
async fn checkpoints_commit_in_the_same_transaction_as_the_rows() {
    let Some(url) = server() else { return };
    let store = store(&url, &fresh_table(), CopyFormat::Binary);
    store.connect().await.unwrap();
    let ledger = store.ledger().unwrap();
    let pipeline = format!("tx-{}", uuid::Uuid::new_v4());
    ledger
        .commit
        .store_batch_with_checkpoints(
            &[Record::keyed("a", Payload::Table(readings(0, 3))).unwrap()],
            &pipeline,
            &[checkpoint("a.csv", 3)],
        )
        .await
        .unwrap();
    let done = ledger.checkpoints.done(&pipeline).await.unwrap();
    assert_eq!(done[&("src".to_owned(), "a.csv".to_owned())].stored, 3);

    // A batch refused by the server keeps neither its rows nor its checkpoint.
    let bad = RecordBatch::try_from_iter([
        ("seq", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
        ("sensor", Arc::new(StringArray::from(vec!["\0"])) as _),
        ("value", Arc::new(Float64Array::from(vec![1.0])) as _),
    ])
    .unwrap();
    let err = ledger
        .commit
        .store_batch_with_checkpoints(
            &[
                Record::keyed("b", Payload::Table(readings(10, 3))).unwrap(),
                Record::keyed("c", Payload::Table(bad)).unwrap(),
            ],
            &pipeline,
            &[checkpoint("b.csv", 4)],
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation, "{err}");
    let done = ledger.checkpoints.done(&pipeline).await.unwrap();
    assert_eq!(done.len(), 1, "the failed batch's checkpoint is not kept");
    assert_eq!(store.row_count().await.unwrap(), 3);
    store.disconnect().await.unwrap();
}

#[tokio::test]
async fn the_password_never_shows() {
    let Some(url) = server() else { return };
    let secret = "correct-horse-battery-staple";
    let (user, host) = url
        .strip_prefix("postgres://")
        .and_then(|rest| rest.split_once('@'))
        .map(|(userinfo, host)| (userinfo.split(':').next().unwrap_or(userinfo), host))
        .expect("the test URL is postgres://user:password@host:port/db");
    let wrong = format!("postgres://{user}:{secret}@{host}");
    let store = PostgresStorage::builder("pg", &wrong).build().unwrap();
    let shown = format!("{store:?} {:?}", PostgresStorage::builder("pg", &wrong));
    assert!(!shown.contains(secret), "{shown}");
    let err = store.connect().await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Authentication, "{err}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(secret), "the password leaked: {shown}");
    let err = PostgresStorage::builder("pg", format!("mysql://{user}:{secret}@{host}"))
        .build()
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Configuration);
    assert!(!format!("{err} {err:?}").contains(secret));
}

/// A store that commits `commits` batches, then stores the next one's records without its
/// checkpoints (the rows are in, the acknowledgement is not) and hangs, as a process killed
/// at that moment would.
#[derive(Clone)]
struct DiesAfter {
    inner: PostgresStorage,
    commits: Arc<AtomicUsize>,
    dead: Arc<tokio::sync::Notify>,
}

impl DiesAfter {
    async fn maybe_die(&self, records: &[Record]) -> bool {
        if self.commits.fetch_sub(1, Ordering::SeqCst) > 0 {
            return false;
        }
        self.inner.store_batch(records).await.unwrap();
        self.dead.notify_one();
        futures::future::pending::<()>().await;
        true
    }
}

#[async_trait]
impl StorageBackend for DiesAfter {
    fn backend_id(&self) -> &str {
        self.inner.backend_id()
    }
    async fn connect(&self) -> Result<()> {
        self.inner.connect().await
    }
    async fn disconnect(&self) -> Result<()> {
        self.inner.disconnect().await
    }
    async fn store_batch(&self, records: &[Record]) -> Result<()> {
        self.maybe_die(records).await;
        self.inner.store_batch(records).await
    }
    fn location_of(&self, record: &Record) -> StorageLocation {
        self.inner.location_of(record)
    }
    async fn query(&self, criteria: &QueryCriteria) -> Result<Vec<StoredRecord>> {
        self.inner.query(criteria).await
    }
    async fn delete(&self, location_id: &str) -> Result<bool> {
        self.inner.delete(location_id).await
    }
    fn ledger(&self) -> Option<StoreLedger> {
        let inner = self.inner.ledger()?;
        Some(StoreLedger::new(
            Arc::new(self.clone()),
            inner.checkpoints,
            inner.dead_letters,
        ))
    }
}

#[async_trait]
impl TransactionalCheckpoints for DiesAfter {
    async fn store_batch_with_checkpoints(
        &self,
        records: &[Record],
        pipeline: &str,
        checkpoints: &[ItemCheckpoint],
    ) -> Result<()> {
        self.maybe_die(records).await;
        self.inner
            .store_batch_with_checkpoints(records, pipeline, checkpoints)
            .await
    }
}

fn engine(pipeline: &str, source: &Arc<dyn DataSource>, store: Arc<dyn StorageBackend>) -> Engine {
    Engine::builder(pipeline)
        .source(source.clone(), Arc::new(MockDecoder::new(40)))
        .store(store)
        .config(EngineConfig {
            max_items_in_flight: 2,
            store_batch_rows: 100,
            ..EngineConfig::default()
        })
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_killed_half_way_stores_every_record_exactly_once_on_rerun() {
    let Some(url) = server() else { return };
    let pipeline = format!("kill-{}", uuid::Uuid::new_v4());
    let table = fresh_table();
    let mut source = InMemorySource::new("files");
    for i in 0..12 {
        let rows: String = (0..250).map(|r| format!("k{i},{r}\n")).collect();
        source = source.with_item(format!("part-{i:02}.csv"), rows);
    }
    let source: Arc<dyn DataSource> = Arc::new(source);
    let expected = 12 * 250;

    // First run: the store dies on its fifth batch, after writing that batch's rows but
    // not its checkpoints. The run is dropped there, mid-flight.
    let dying = DiesAfter {
        inner: store(&url, &table, CopyFormat::Binary),
        commits: Arc::new(AtomicUsize::new(4)),
        dead: Arc::new(tokio::sync::Notify::new()),
    };
    let dead = dying.dead.clone();
    let first = engine(&pipeline, &source, Arc::new(dying.clone()));
    tokio::select! {
        outcome = first.run(CancellationToken::new()) => panic!("the run should have died: {outcome:?}"),
        () = dead.notified() => {}
    }
    drop(first);
    dying.inner.disconnect().await.unwrap();
    let partial = count(&url, &format!("SELECT count(*) FROM {table}")).await;
    assert!(
        partial > 0 && partial < expected,
        "killed half-way: {partial} rows"
    );

    // Second run: a healthy store on the same database finishes the job.
    let store = store(&url, &table, CopyFormat::Binary);
    let report = engine(&pipeline, &source, Arc::new(store.clone()))
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert!(report.counts.adds_up(), "{:?}", report.counts);
    assert!(
        report.counts.items_done < 12,
        "items done before the kill are skipped: {:?}",
        report.counts
    );
    let rows = count(&url, &format!("SELECT count(*) FROM {table}")).await;
    assert_eq!(rows, expected, "every record stored, none twice");
    // Each source row once: the key column and the value say which line it was.
    let distinct = count(
        &url,
        &format!("SELECT count(DISTINCT (key, value)) FROM {table}"),
    )
    .await;
    assert_eq!(distinct, expected);
    let done = store.ledger().unwrap().checkpoints.done(&pipeline).await;
    // The engine disconnected the store at the end of its run.
    assert_eq!(done.unwrap_err().error_type(), ErrorType::Connection);
    store.connect().await.unwrap();
    assert_eq!(
        store
            .ledger()
            .unwrap()
            .checkpoints
            .done(&pipeline)
            .await
            .unwrap()
            .len(),
        12
    );
    store.disconnect().await.unwrap();
}

#[tokio::test]
async fn two_stores_on_one_database_keep_their_keys_apart() {
    let Some(url) = server() else { return };
    let (a, b) = (
        store(&url, &fresh_table(), CopyFormat::Binary),
        store(&url, &fresh_table(), CopyFormat::Csv),
    );
    a.connect().await.unwrap();
    b.connect().await.unwrap();
    // Two pipelines whose sources name their items alike.
    let key = "incoming/a.csv#0";
    a.store(Record::keyed(key, Payload::Table(readings(0, 4))).unwrap())
        .await
        .unwrap();
    b.store(Record::keyed(key, Payload::Table(readings(100, 2))).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (a.row_count().await.unwrap(), b.row_count().await.unwrap()),
        (4, 2)
    );
    let found = a.query(&QueryCriteria::new().key(key)).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].record.payload, Payload::Table(readings(0, 4)));
    assert!(b.delete(key).await.unwrap());
    assert_eq!(
        (a.row_count().await.unwrap(), b.row_count().await.unwrap()),
        (4, 0)
    );
    assert_eq!(
        a.query(&QueryCriteria::new().key(key)).await.unwrap().len(),
        1
    );
    a.disconnect().await.unwrap();
    b.disconnect().await.unwrap();
}

/// The store's pool takes a `PoolConfig`: its size bounds the connections, the health check
/// is counted, and a config that cannot hold is refused before anything connects.
#[tokio::test]
async fn the_pool_config_shapes_the_stores_connections() {
    use collectors_backends::pool::PoolConfig;
    use std::time::Duration;

    let refused = PostgresStorage::builder("pg", "postgres://db/x")
        .pool(PoolConfig::new().max_size(0))
        .build()
        .unwrap_err();
    assert_eq!(refused.error_type(), ErrorType::Configuration, "{refused}");
    let too_many = PostgresStorage::builder("pg", "postgres://db/x")
        .max_connections(1000)
        .build()
        .unwrap_err();
    assert!(too_many.to_string().contains("max_size"), "{too_many}");

    let Some(url) = server() else { return };
    let store = PostgresStorage::builder("pg", &url)
        .table(fresh_table())
        .pool(
            PoolConfig::new()
                .max_size(1)
                .acquire_timeout(Duration::from_secs(5)),
        )
        .build()
        .unwrap();
    assert_eq!(store.pool_config().max_size, 1);
    assert_eq!(store.pool_stats().total, 0, "nothing open before connect");
    store.connect().await.unwrap();
    for i in 0..3 {
        store
            .store(Record::keyed(format!("k{i}"), Payload::Table(readings(i * 10, 10))).unwrap())
            .await
            .unwrap();
    }
    assert_eq!(store.row_count().await.unwrap(), 30);
    let stats = store.pool_stats();
    assert_eq!(stats.max_size, 1);
    assert_eq!(stats.total, 1, "one connection at most: {stats:?}");
    assert_eq!(stats.created, 1, "made once, then reused: {stats:?}");
    assert!(
        stats.recycled >= 3,
        "health-checked on each acquire: {stats:?}"
    );
    store.disconnect().await.unwrap();
}
