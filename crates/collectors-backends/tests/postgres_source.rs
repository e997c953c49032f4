//! `PostgresConnector` and `PostgresSource` against a real PostgreSQL: listing, metadata,
//! streamed exports to Parquet and CSV, read-only queries, hostile names, the listed-source
//! contract and incremental chunks.
//!
//! The server is the throwaway cluster `scripts/postgres` starts (`COLLECTORS_TEST_POSTGRES_URL`).
//! With `CI=true` a missing server fails these tests; otherwise they say they were skipped.
#![cfg(feature = "postgres")]

use std::collections::BTreeSet;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use bytes::Bytes;
use collectors_backends::postgres::{ExportFormat, PostgresConnector, PostgresSource};
use collectors_core::{Connector, DataSource, ErrorType, ListOptions, SourceItem};
use futures::TryStreamExt;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sqlx::PgPool;

use collectors_mocks::services::postgres_url as server;

/// A fresh schema of its own for one test, and a pool to set it up.
async fn schema(url: &str) -> (PgPool, String) {
    let pool = PgPool::connect(url).await.unwrap();
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE SCHEMA {name}"))
        .execute(&pool)
        .await
        .unwrap();
    (pool, name)
}

async fn run(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn parquet_batches(bytes: Vec<u8>) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes))
        .unwrap()
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

fn ids_of(batches: &[RecordBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("id")
                .unwrap()
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn the_connector_lists_tables_and_views_with_estimates_and_sizes() {
    let Some(url) = server() else { return };
    let (pool, s) = schema(&url).await;
    run(
        &pool,
        &format!(
            "CREATE TABLE {s}.readings (id BIGINT PRIMARY KEY, v FLOAT8);
             INSERT INTO {s}.readings SELECT i, i * 0.5 FROM generate_series(1, 1000) i;
             ANALYZE {s}.readings;
             CREATE TABLE {s}.notes (body TEXT);
             CREATE VIEW {s}.hot AS SELECT * FROM {s}.readings WHERE v > 400;"
        ),
    )
    .await;
    let db = PostgresConnector::new(&url).unwrap();
    db.connect().await.unwrap();
    db.connect().await.unwrap();
    db.test_connection().await.unwrap();

    let items = db.list_items(&ListOptions::new().under(&s)).await.unwrap();
    let paths: Vec<&str> = items.iter().map(|i| i.path.as_str()).collect();
    let want = [
        format!("{s}.hot"),
        format!("{s}.notes"),
        format!("{s}.readings"),
    ];
    assert_eq!(paths, want.iter().map(String::as_str).collect::<Vec<_>>());
    let readings = &items[2];
    assert_eq!(readings.name, "readings");
    assert_eq!(readings.metadata["kind"], "table");
    assert_eq!(readings.metadata["estimated_rows"], 1000);
    assert!(
        readings.size > 0,
        "pg_total_relation_size: {}",
        readings.size
    );
    assert_eq!(items[0].metadata["kind"], "view");
    assert!(items[0].metadata["estimated_rows"].is_null());

    let by_name = db
        .list_items(&ListOptions::new().under(&s).matching("*o*s"))
        .await
        .unwrap();
    assert_eq!(
        by_name.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
        ["notes"]
    );
    let qualified = db
        .list_items(&ListOptions::new().matching(format!("{s}.r*")))
        .await
        .unwrap();
    assert_eq!(qualified.len(), 1);
    assert_eq!(qualified[0].path, format!("{s}.readings"));
    let err = db
        .list_items(&ListOptions::new().matching("[unclosed"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation, "{err}");

    db.disconnect().await.unwrap();
    db.disconnect().await.unwrap();
    // A disconnected connector connects again on next use.
    db.test_connection().await.unwrap();
}

#[tokio::test]
async fn get_metadata_gives_columns_types_primary_key_and_estimate() {
    let Some(url) = server() else { return };
    let (pool, s) = schema(&url).await;
    run(
        &pool,
        &format!(
            "CREATE TABLE {s}.readings (sensor TEXT NOT NULL, ts TIMESTAMPTZ NOT NULL,
                 value NUMERIC(10, 2), PRIMARY KEY (sensor, ts));
             INSERT INTO {s}.readings VALUES ('a', '2026-01-01T00:00:00Z', 1.5);
             ANALYZE {s}.readings;"
        ),
    )
    .await;
    let db = PostgresConnector::new(&url).unwrap();
    let meta = db.get_metadata(&format!("{s}.readings")).await.unwrap();
    assert_eq!(meta["primary_key"], serde_json::json!(["sensor", "ts"]));
    assert_eq!(meta["estimated_rows"], 1);
    assert_eq!(
        meta["columns"],
        serde_json::json!([
            { "name": "sensor", "type": "text", "nullable": false },
            { "name": "ts", "type": "timestamp with time zone", "nullable": false },
            { "name": "value", "type": "numeric(10,2)", "nullable": true },
        ])
    );
    let query = db
        .get_metadata(&format!("SELECT sensor, value FROM {s}.readings"))
        .await
        .unwrap();
    assert_eq!(query["kind"], "query");
    assert_eq!(query["columns"][1]["name"], "value");
    let err = db.get_metadata(&format!("{s}.nope")).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::NotFound, "{err}");
}

#[tokio::test]
async fn fetch_data_streams_a_table_into_parquet_in_batches_keeping_types() {
    let Some(url) = server() else { return };
    let (pool, s) = schema(&url).await;
    run(
        &pool,
        &format!(
            "CREATE TABLE {s}.readings (id BIGINT PRIMARY KEY, value FLOAT8, ts TIMESTAMPTZ,
                 price NUMERIC, tag TEXT, ok BOOLEAN, day DATE, raw BYTEA);
             INSERT INTO {s}.readings
             SELECT i, i * 0.25, TIMESTAMPTZ '2026-01-01T00:00:00Z' + i * INTERVAL '1 second',
                    i / 3.0, CASE WHEN i % 10 = 0 THEN NULL ELSE 'tag' || i END, i % 2 = 0,
                    DATE '2026-01-01' + i % 30, decode('00ff', 'hex')
             FROM generate_series(1, 150000) i;"
        ),
    )
    .await;
    let workspace = tempfile::tempdir().unwrap();
    // Small batches: the export is many batches and row groups, never the whole table.
    let db = PostgresConnector::new(&url).unwrap().with_batch_rows(1000);
    let path = db
        .fetch_data(&format!("{s}.readings"), workspace.path())
        .await
        .unwrap();
    assert_eq!(path, workspace.path().join(format!("{s}.readings.parquet")));
    assert_eq!(
        files_in(workspace.path()),
        [format!("{s}.readings.parquet")]
    );
    let bytes = std::fs::read(&path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes.clone())).unwrap();
    assert_eq!(
        reader.metadata().num_row_groups(),
        3,
        "row groups of 64 Ki rows were written as they filled"
    );
    let batches = parquet_batches(bytes);
    let ids = ids_of(&batches);
    assert_eq!(ids.len(), 150_000);
    assert_eq!(ids.iter().sum::<i64>(), 150_000 * 150_001 / 2);
    let first = &batches[0];
    let schema = first.schema();
    assert_eq!(
        schema
            .field_with_name("ts")
            .unwrap()
            .data_type()
            .to_string(),
        "Timestamp(µs, \"UTC\")"
    );
    let ts = first
        .column_by_name("ts")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    assert_eq!(ts.value(0), 1_767_225_601_000_000, "2026-01-01T00:00:01Z");
    let value = first
        .column_by_name("value")
        .unwrap()
        .as_primitive::<Float64Type>();
    assert_eq!(value.value(3), 1.0);
    let price = first.column_by_name("price").unwrap().as_string::<i32>();
    assert_eq!(
        price.value(2),
        "1.00000000000000000000",
        "numeric as its exact text"
    );
    let tag = first.column_by_name("tag").unwrap();
    assert!(tag.is_null(9) && !tag.is_null(8));
    let raw = first.column_by_name("raw").unwrap().as_binary::<i32>();
    assert_eq!(raw.value(0), [0x00, 0xff]);
}

#[tokio::test]
async fn fetch_to_writes_csv_by_extension_and_an_empty_table_has_its_header() {
    let Some(url) = server() else { return };
    let (pool, s) = schema(&url).await;
    run(
        &pool,
        &format!(
            "CREATE TABLE {s}.t (id INT, name TEXT, ts TIMESTAMPTZ, raw BYTEA);
             INSERT INTO {s}.t VALUES (1, 'a, \"quoted\"', '2026-01-01T00:00:00Z', '\\x0aff'),
                                      (2, NULL, NULL, NULL);
             CREATE TABLE {s}.empty (id INT, name TEXT);"
        ),
    )
    .await;
    let workspace = tempfile::tempdir().unwrap();
    let db = PostgresConnector::new(&url).unwrap();
    let path = db
        .fetch_to(&format!("{s}.t"), workspace.path(), "t.csv")
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "id,name,ts,raw\n1,\"a, \"\"quoted\"\"\",2026-01-01T00:00:00Z,\\x0aff\n2,,,\n"
    );
    let csv = PostgresConnector::new(&url)
        .unwrap()
        .with_format(ExportFormat::Csv);
    let empty = csv
        .fetch_data(&format!("{s}.empty"), workspace.path())
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&empty).unwrap(), "id,name\n");
    let err = db
        .fetch_to(&format!("{s}.t"), workspace.path(), "t.xlsx")
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation, "{err}");
    let err = db
        .fetch_to(&format!("{s}.t"), workspace.path(), "../t.csv")
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation, "{err}");
    assert!(!workspace.path().parent().unwrap().join("t.csv").exists());
}

#[tokio::test]
async fn a_select_runs_read_only_and_a_query_failing_half_way_leaves_nothing() {
    let Some(url) = server() else { return };
    let (pool, s) = schema(&url).await;
    run(
        &pool,
        &format!(
            "CREATE TABLE {s}.t (id INT); INSERT INTO {s}.t SELECT generate_series(1, 10);
             CREATE SEQUENCE {s}.seq;"
        ),
    )
    .await;
    let workspace = tempfile::tempdir().unwrap();
    let db = PostgresConnector::new(&url).unwrap();
    let query = format!("SELECT id, id * 2 AS twice FROM {s}.t WHERE id <= 3 ORDER BY id;");
    let path = db.fetch_data(&query, workspace.path()).await.unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("query-") && name.ends_with(".parquet"),
        "{name}"
    );
    let batches = parquet_batches(std::fs::read(&path).unwrap());
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 3);
    // The same query gets the same name.
    assert_eq!(db.fetch_data(&query, workspace.path()).await.unwrap(), path);

    // A write is refused by the read-only transaction.
    let err = db
        .fetch_to(
            &format!("SELECT nextval('{s}.seq')"),
            workspace.path(),
            "w.csv",
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation, "{err}");
    let err = db
        .fetch_to(
            &format!("WITH d AS (DELETE FROM {s}.t RETURNING *) SELECT * FROM d"),
            workspace.path(),
            "w.csv",
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation, "{err}");
    let left: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {s}.t"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 10, "nothing was deleted");

    // Fails at row 50 000 of 100 000, after batches were written: no file, no temp file.
    let err = db
        .with_batch_rows(100)
        .fetch_to(
            "SELECT i, 1 / (i - 50000) AS boom FROM generate_series(1, 100000) i",
            workspace.path(),
            "boom.csv",
        )
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation, "{err}");
    assert!(err.to_string().contains("division by zero"), "{err}");
    assert_eq!(files_in(workspace.path()), [name]);
}

#[tokio::test]
async fn hostile_table_names_are_names_never_sql() {
    let Some(url) = server() else { return };
    let (pool, s) = schema(&url).await;
    let hostile = "x\"; DROP TABLE t; --";
    let quoted = hostile.replace('"', "\"\"");
    run(
        &pool,
        &format!(
            "CREATE TABLE {s}.t (id INT); INSERT INTO {s}.t VALUES (1);
             CREATE TABLE {s}.\"{quoted}\" (id INT); INSERT INTO {s}.\"{quoted}\" VALUES (7);
             CREATE TABLE {s}.\"a/../../b\" (id INT);"
        ),
    )
    .await;
    let workspace = tempfile::tempdir().unwrap();
    let db = PostgresConnector::new(&url)
        .unwrap()
        .with_format(ExportFormat::Csv);
    // A table that really has that name is exported, as a name.
    let path = db
        .fetch_data(&format!("{s}.{hostile}"), workspace.path())
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "id\n7\n");
    // One that does not is not found, and runs nothing.
    for missing in [
        format!("{s}.t\"; DROP TABLE {s}.t; --"),
        format!("{s}.t; DROP TABLE {s}.t"),
        "../../etc/passwd".to_owned(),
        "/etc/passwd".to_owned(),
    ] {
        let err = db.fetch_data(&missing, workspace.path()).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::NotFound, "{missing}: {err}");
        let err = db.get_metadata(&missing).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::NotFound, "{missing}: {err}");
    }
    let still: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {s}.t"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(still, 1, "the table is still there");
    // A name with path separators stays one file inside the workspace.
    let path = db
        .fetch_data(&format!("{s}.a/../../b"), workspace.path())
        .await
        .unwrap();
    assert_eq!(path.parent(), Some(workspace.path()));
    assert_eq!(files_in(workspace.path()).len(), 2);
}

#[tokio::test]
async fn a_wrong_password_fails_as_authentication_without_echoing_it() {
    let Some(url) = server() else { return };
    let (user, host) = url
        .strip_prefix("postgres://")
        .and_then(|rest| rest.split_once('@'))
        .map(|(userinfo, host)| (userinfo.split(':').next().unwrap_or(userinfo), host))
        .expect("the test URL is postgres://user:password@host:port/db");
    let secret = "correct-horse-battery-staple";
    let wrong = format!("postgres://{user}:{secret}@{host}");
    let db = PostgresConnector::new(&wrong).unwrap();
    let err = db.test_connection().await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Authentication, "{err}");
    let source = PostgresSource::table("s", &wrong, "t", "id").unwrap();
    let err2 = source.connect().await.unwrap_err();
    assert_eq!(err2.error_type(), ErrorType::Authentication, "{err2}");
    let shown = format!("{err} {err:?} {err2} {err2:?} {db:?} {source:?}");
    assert!(!shown.contains(secret), "the password leaked: {shown}");
}

async fn read_item(source: &PostgresSource, item: &SourceItem) -> Vec<u8> {
    let chunks: Vec<Bytes> = source
        .open(item)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    chunks.concat()
}

async fn list(source: &PostgresSource) -> Vec<SourceItem> {
    source.list().try_concat().await.unwrap()
}

#[tokio::test]
async fn the_postgres_source_meets_the_listed_source_contract() {
    let Some(url) = server() else { return };
    let (pool, s) = schema(&url).await;
    run(
        &pool,
        &format!(
            "CREATE TABLE {s}.t (id INT PRIMARY KEY, name TEXT);
             INSERT INTO {s}.t VALUES (1, 'a'), (2, 'b'), (3, 'c'), (5, 'e'), (8, NULL);"
        ),
    )
    .await;
    let source = PostgresSource::table("people", &url, format!("{s}.t"), "id")
        .unwrap()
        .with_chunk_rows(2)
        .with_format(ExportFormat::Csv);
    let p = format!("{s}.t");
    let expected = [
        (format!("{p}@0000000001:(,2]"), "id,name\n1,a\n2,b\n"),
        (format!("{p}@0000000002:(2,5]"), "id,name\n3,c\n5,e\n"),
        (format!("{p}@0000000003:(5,8]"), "id,name\n8,\n"),
    ];
    let expected: Vec<(&str, &[u8])> = expected
        .iter()
        .map(|(id, bytes)| (id.as_str(), bytes.as_bytes()))
        .collect();
    collectors_core::conformance::data_source_listed(&source, &expected).await;
}

#[tokio::test]
async fn a_rerun_lists_the_same_chunks_and_reads_only_the_new_rows() {
    let Some(url) = server() else { return };
    let (pool, s) = schema(&url).await;
    run(
        &pool,
        &format!(
            "CREATE TABLE {s}.readings (id BIGSERIAL PRIMARY KEY, v FLOAT8);
             INSERT INTO {s}.readings (v) SELECT i FROM generate_series(1, 25) i;"
        ),
    )
    .await;
    let make = || {
        PostgresSource::table("readings", &url, format!("{s}.readings"), "id")
            .unwrap()
            .with_chunk_rows(10)
    };
    let source = make();
    source.connect().await.unwrap();
    let first = list(&source).await;
    assert_eq!(first.len(), 3, "10 + 10 + 5 rows");
    let mut read = Vec::new();
    for item in &first {
        read.extend(ids_of(&parquet_batches(read_item(&source, item).await)));
    }
    assert_eq!(read, (1..=25).collect::<Vec<i64>>());
    source.disconnect().await.unwrap();

    run(
        &pool,
        &format!("INSERT INTO {s}.readings (v) SELECT i FROM generate_series(26, 37) i;"),
    )
    .await;
    // A new process: the chunks come from the bounds kept in the database.
    let again = make();
    again.connect().await.unwrap();
    let second = list(&again).await;
    assert_eq!(
        &second[..3],
        &first[..],
        "the chunks already listed are unchanged"
    );
    let new: Vec<&SourceItem> = second[3..].iter().collect();
    assert_eq!(new.len(), 2, "12 new rows: 10 + 2");
    let mut fresh = Vec::new();
    for item in new {
        fresh.extend(ids_of(&parquet_batches(read_item(&again, item).await)));
    }
    assert_eq!(fresh, (26..=37).collect::<Vec<i64>>(), "only the new rows");
    // Nothing new: the same listing.
    assert_eq!(list(&again).await, second);
}

#[tokio::test]
async fn rows_of_equal_cursor_values_never_straddle_two_chunks() {
    let Some(url) = server() else { return };
    let (pool, s) = schema(&url).await;
    // 60 rows over 12 timestamps, 5 rows each; chunks of 3 rows.
    run(
        &pool,
        &format!(
            "CREATE TABLE {s}.events (id BIGINT PRIMARY KEY, at TIMESTAMPTZ NOT NULL);
             INSERT INTO {s}.events
             SELECT i, TIMESTAMPTZ '2026-01-01T00:00:00Z' + (i / 5) * INTERVAL '1 minute'
             FROM generate_series(0, 59) i;"
        ),
    )
    .await;
    let source = PostgresSource::table("events", &url, format!("{s}.events"), "at")
        .unwrap()
        .with_chunk_rows(3);
    source.connect().await.unwrap();
    let items = list(&source).await;
    assert_eq!(
        items.len(),
        12,
        "one chunk per timestamp: each holds all 5 rows of it"
    );
    let mut seen = BTreeSet::new();
    let mut stamps_seen = BTreeSet::new();
    for item in &items {
        let batches = parquet_batches(read_item(&source, item).await);
        let stamps: BTreeSet<i64> = batches
            .iter()
            .flat_map(|b| {
                b.column_by_name("at")
                    .unwrap()
                    .as_primitive::<TimestampMicrosecondType>()
                    .values()
                    .to_vec()
            })
            .collect();
        assert!(
            stamps.is_disjoint(&stamps_seen),
            "{}: a value in two chunks",
            item.item_id
        );
        stamps_seen.extend(stamps);
        for id in ids_of(&batches) {
            assert!(seen.insert(id), "row {id} read twice");
        }
    }
    assert_eq!(seen.len(), 60, "every row read once");
}

#[tokio::test]
async fn concurrent_listings_agree_on_the_chunks() {
    let Some(url) = server() else { return };
    let (pool, s) = schema(&url).await;
    run(
        &pool,
        &format!(
            "CREATE TABLE {s}.t (id INT PRIMARY KEY);
             INSERT INTO {s}.t SELECT generate_series(1, 95);"
        ),
    )
    .await;
    let make = || {
        PostgresSource::table("t", &url, format!("{s}.t"), "id")
            .unwrap()
            .with_chunk_rows(10)
    };
    let (a, b) = (make(), make());
    a.connect().await.unwrap();
    b.connect().await.unwrap();
    let (la, lb) = tokio::join!(list(&a), list(&b));
    assert_eq!(la.len(), 10);
    assert_eq!(la, lb, "two runs listing at once see one set of chunks");
}

#[tokio::test]
async fn a_query_source_and_bad_cursors() {
    let Some(url) = server() else { return };
    let (pool, s) = schema(&url).await;
    run(
        &pool,
        &format!(
            "CREATE TABLE {s}.t (id INT PRIMARY KEY, v INT);
             INSERT INTO {s}.t SELECT i, i % 3 FROM generate_series(1, 30) i;"
        ),
    )
    .await;
    // A long query (its text is far larger than a key can hold): its bounds are keyed by MD5.
    let long = "x".repeat(5000);
    let source = PostgresSource::query(
        "odd",
        &url,
        &format!("SELECT id, v FROM {s}.t WHERE v = 1 AND '{long}' <> ''"),
        "id",
    )
    .unwrap()
    .with_chunk_rows(4)
    .with_format(ExportFormat::Csv);
    source.connect().await.unwrap();
    let items = list(&source).await;
    assert_eq!(items.len(), 3, "10 rows, 4 a chunk");
    assert!(
        items[0].item_id.starts_with("query@0000000001:(,"),
        "{}",
        items[0].item_id
    );
    let text = String::from_utf8(read_item(&source, &items[2]).await).unwrap();
    assert_eq!(text, "id,v\n25,1\n28,1\n");

    let bad = PostgresSource::table("t", &url, format!("{s}.t"), "nope").unwrap();
    let err = bad.connect().await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Configuration, "{err}");
    let missing = PostgresSource::table("t", &url, format!("{s}.missing"), "id").unwrap();
    let err = missing.connect().await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::NotFound, "{err}");
}
