//! `[[source]] kind = "postgres"` in a pipeline file: a PostgreSQL table into a SQLite store,
//! run twice with rows added between: the second run stores only the new rows.
//!
//! The server is the throwaway cluster `scripts/postgres` starts (`COLLECTORS_TEST_POSTGRES_URL`).
//! With `CI=true` a missing server fails these tests; otherwise they say they were skipped.
#![cfg(feature = "postgres")]

use collectors_core::{CancellationToken, ErrorType};
use collectors_pipeline::{PipelineSpec, Registry};
use sqlx::PgPool;

use collectors_mocks::services::postgres_url as server;

fn spec_text(table: &str, format: &str) -> String {
    format!(
        r#"
name = "pg-readings"

[[source]]
id = "readings"
kind = "postgres"
format = "{format}"
url_env = "COLLECTORS_TEST_POSTGRES_URL"
table = "{table}"
cursor = "id"
chunk_rows = 10

[[processor]]
type = "filter"
expr = "value >= 0"

[store]
kind = "sqlite"
path = "out/readings.db"
table = "readings"
"#
    )
}

async fn sqlite_rows(db: &std::path::Path) -> (i64, i64) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let row: (i64, i64) = sqlx::query_as("SELECT count(*), sum(id) FROM readings")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    row
}

async fn run_spec(text: &str, dir: &std::path::Path) -> collectors_core::RecordCounts {
    let spec = PipelineSpec::from_toml_str(text, dir).unwrap();
    let summary = spec
        .build(&Registry::standard())
        .await
        .unwrap()
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert!(summary.counts.adds_up(), "{:?}", summary.counts);
    summary.counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_table_into_sqlite_twice_stores_only_the_new_rows() {
    let Some(url) = server() else { return };
    for format in ["parquet", "csv"] {
        let pool = PgPool::connect(&url).await.unwrap();
        let schema = format!("p_{}", uuid::Uuid::new_v4().simple());
        sqlx::raw_sql(&format!(
            "CREATE SCHEMA {schema};
             CREATE TABLE {schema}.readings (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                 sensor TEXT NOT NULL, value FLOAT8 NOT NULL, ts TIMESTAMPTZ NOT NULL);
             INSERT INTO {schema}.readings (sensor, value, ts)
             SELECT 's' || (i % 3), i * 1.5, TIMESTAMPTZ '2026-01-01T00:00:00Z' + i * INTERVAL '1 minute'
             FROM generate_series(1, 25) i;"
        ))
        .execute(&pool)
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let text = spec_text(&format!("{schema}.readings"), format);

        let first = run_spec(&text, dir.path()).await;
        assert_eq!(first.stored, 25, "{format}: {first:?}");
        assert_eq!(
            first.items_done, 3,
            "{format}: chunks of 10, 10, 5: {first:?}"
        );
        let db = dir.path().join("out/readings.db");
        assert_eq!(sqlite_rows(&db).await, (25, 25 * 26 / 2));

        sqlx::raw_sql(&format!(
            "INSERT INTO {schema}.readings (sensor, value, ts)
             SELECT 'new', i * 2.5, TIMESTAMPTZ '2026-02-01T00:00:00Z' + i * INTERVAL '1 minute'
             FROM generate_series(1, 7) i;"
        ))
        .execute(&pool)
        .await
        .unwrap();
        let second = run_spec(&text, dir.path()).await;
        assert_eq!(
            second.collected, 7,
            "{format}: only the new rows are read: {second:?}"
        );
        assert_eq!(second.stored, 7, "{format}: {second:?}");
        assert_eq!(second.items_already_done, 3, "{format}: {second:?}");
        assert_eq!(sqlite_rows(&db).await, (32, 32 * 33 / 2));

        let third = run_spec(&text, dir.path()).await;
        assert_eq!(third.collected, 0, "{format}: nothing new: {third:?}");
        pool.close().await;
    }
}

#[test]
fn bad_postgres_source_params_are_refused_before_any_connection() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::standard();
    let schema = &registry.schemas()["sources"]["postgres"];
    for key in ["url", "url_env", "table", "query", "cursor", "chunk_rows"] {
        assert!(schema["properties"].get(key).is_some(), "{key} in {schema}");
    }
    let base = spec_text("public.readings", "parquet");
    for (text, needle) in [
        (
            base.replace("format = \"parquet\"", "format = \"jsonl\""),
            "parquet",
        ),
        (
            base.replace("chunk_rows = 10", "chunk_rows = 0"),
            "chunk_rows",
        ),
        (
            base.replace("table = ", "query = \"SELECT 1\"\ntable = "),
            "both",
        ),
        (
            base.replace("cursor = \"id\"", "cursor = \"id\"\nlimit = 3"),
            "limit",
        ),
        (
            base.replace(
                "url_env = \"COLLECTORS_TEST_POSTGRES_URL\"",
                "url = \"mysql://u:pw@h/db\"",
            ),
            "PostgreSQL",
        ),
        (
            base.replace(
                "COLLECTORS_TEST_POSTGRES_URL",
                "COLLECTORS_NO_SUCH_VARIABLE",
            ),
            "COLLECTORS_NO_SUCH_VARIABLE",
        ),
    ] {
        let spec = PipelineSpec::from_toml_str(&text, dir.path()).unwrap();
        let err = spec.components(&registry).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration, "{err}");
        assert!(err.to_string().contains(needle), "{needle}: {err}");
        assert!(!err.to_string().contains("pw@"), "{err}");
    }
}

/// `pool = {…}` of a postgres source is checked when the spec is built (nothing connects).
#[test]
fn a_source_pool_is_checked_when_the_spec_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let with = |pool: &str| {
        let text = spec_text("readings", "parquet").replace(
            "url_env = \"COLLECTORS_TEST_POSTGRES_URL\"",
            &format!("url = \"postgres://reader@db.internal/x\"\npool = {pool}"),
        );
        PipelineSpec::from_toml_str(&text, dir.path())
            .and_then(|s| s.components(&Registry::standard()).map(|_| ()))
    };
    with("{ max_size = 2, acquire_timeout_ms = 500 }").unwrap();
    let bad = with("{ max_size = 0 }").unwrap_err();
    assert_eq!(bad.error_type(), ErrorType::Configuration, "{bad}");
    assert!(bad.to_string().contains("source[0]"), "{bad}");
}
