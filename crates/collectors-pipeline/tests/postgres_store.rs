//! `[store] kind = "postgres"` in a pipeline file: CSV files in, rows in PostgreSQL, the
//! checkpoints and dead letters in the same database; a rerun adds nothing and a restart
//! duplicates nothing. Against the throwaway cluster `scripts/postgres` starts
//! (`COLLECTORS_TEST_POSTGRES_URL`); with `CI=true` a missing server fails.
#![cfg(feature = "postgres")]

use collectors_core::{CancellationToken, ResumeMode};
use collectors_pipeline::{PipelineSpec, Registry};

use collectors_mocks::services::postgres_url as server;

/// The pipeline file: CSV files in, rows into `table` at `url`, `[store]` last.
fn spec_text(url: &str, table: &str) -> String {
    format!(
        r#"
name = "pg-{table}"
[[source]]
id = "sensors"
kind = "local"
path = "data"
pattern = "*.csv"
format = "csv"
[source.csv]
schema = [
  {{ name = "ts", type = "timestamp" }},
  {{ name = "sensor_id", type = "utf8" }},
  {{ name = "value", type = "float64" }},
]
[store]
kind = "postgres"
url = "{url}"
table = "{table}"
copy_format = "csv"
"#
    )
}

fn spec(dir: &std::path::Path, url: &str, table: &str) -> PipelineSpec {
    PipelineSpec::from_toml_str(&spec_text(url, table), dir).unwrap()
}

async fn rows(url: &str, table: &str) -> (i64, i64) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let counts = sqlx::query_as(&format!(
        "SELECT count(*), count(DISTINCT (ts, sensor_id, value)) FROM {table}"
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    counts
}

#[tokio::test]
async fn a_csv_to_postgres_pipeline_reruns_without_duplicates() {
    let Some(url) = server() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    for f in 0..3 {
        let mut text = String::from("ts,sensor_id,value\n");
        for r in 0..400 {
            text.push_str(&format!(
                "2026-03-01T10:{:02}:{:02}Z,s-{f},{r}.5\n",
                r / 60,
                r % 60
            ));
        }
        // One malformed row per file: dead-lettered into the store's database.
        text.push_str("not a time,s-x,1\n");
        std::fs::write(dir.path().join(format!("data/part-{f}.csv")), text).unwrap();
    }
    let table = format!("readings_{}", uuid::Uuid::new_v4().simple());
    // (`scripts/bench-postgres` runs the CLI with the password in PGPASSWORD only.)
    let password = url
        .rsplit_once('@')
        .and_then(|(userinfo, _)| userinfo.rsplit_once(':'))
        .map(|(_, password)| password.to_owned())
        .unwrap();
    let spec = spec(dir.path(), &url, &table);
    let registry = Registry::standard();
    assert!(
        registry.schemas()["stores"]["postgres"]["properties"]["url"].is_object(),
        "the postgres store has a JSON Schema of its parameters"
    );
    let components = spec.components(&registry).unwrap();
    assert!(
        components
            .dead_letter_location()
            .contains("_collectors_dead_letters"),
        "{}",
        components.dead_letter_location()
    );
    assert!(!format!("{components:?}").contains(&password));

    let first = spec.build(&registry).await.unwrap();
    let report = first.run(CancellationToken::new()).await.unwrap();
    assert!(report.counts.adds_up(), "{:?}", report.counts);
    assert_eq!(report.counts.stored, 1200, "{:?}", report.counts);
    assert_eq!(report.counts.dead_lettered, 3, "{:?}", report.counts);
    assert_eq!(rows(&url, &table).await, (1200, 1200));
    // A dry run reads the checkpoints in the store's database.
    let done = spec
        .components(&registry)
        .unwrap()
        .existing_checkpoints()
        .await
        .unwrap()
        .done(&spec.name)
        .await
        .unwrap();
    assert_eq!(done.len(), 3);

    // Nothing new: every file is skipped, nothing is written again.
    let again = spec.build(&registry).await.unwrap();
    let report = again.run(CancellationToken::new()).await.unwrap();
    assert_eq!(report.counts.stored, 0, "{:?}", report.counts);
    assert_eq!(rows(&url, &table).await, (1200, 1200));

    // A restart redoes every file: the upserts replace, they do not duplicate.
    let restart = spec
        .engine_builder(&registry)
        .await
        .unwrap()
        .resume(ResumeMode::Restart)
        .build()
        .unwrap();
    let report = restart.run(CancellationToken::new()).await.unwrap();
    assert_eq!(report.counts.stored, 1200, "{:?}", report.counts);
    assert_eq!(rows(&url, &table).await, (1200, 1200));

    // The letters are in the store's database, one per malformed row (rewritten, not
    // added, by the restart).
    let letters = spec
        .components(&registry)
        .unwrap()
        .dead_letters()
        .await
        .unwrap();
    assert_eq!(letters.letters(&spec.name).await.unwrap().len(), 3);
}

#[tokio::test]
async fn quality_reports_of_a_postgres_pipeline_are_kept_in_its_database() {
    let Some(url) = server() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/a.csv"), "id,v\na,1\nb,2\n").unwrap();
    std::fs::write(dir.path().join("data/b.csv"), "id,v\nc,\nd,4\n").unwrap();
    let table = format!("watched_{}", uuid::Uuid::new_v4().simple());
    let name = format!("quality-{table}");
    let text = format!(
        r#"
name = "{name}"
[[source]]
id = "in"
kind = "local"
path = "data"
pattern = "*.csv"
format = "csv"
[source.csv]
schema = [{{ name = "id", type = "utf8" }}, {{ name = "v", type = "float64" }}]
[[processor]]
type = "data_quality"
columns = ["v"]
[store]
kind = "postgres"
url = "{url}"
table = "{table}"
"#
    );
    let spec = PipelineSpec::from_toml_str(&text, dir.path()).unwrap();
    let registry = Registry::standard();
    let engine = spec.build(&registry).await.unwrap();
    let report = engine.run(CancellationToken::new()).await.unwrap();
    assert_eq!(report.counts.stored, 4, "{:?}", report.counts);

    // Read back through a fresh build, as `collectors quality history` does.
    let history = spec
        .components(&registry)
        .unwrap()
        .quality_history()
        .expect("a PostgreSQL pipeline keeps a quality history");
    let entries = history.entries(&name, None, 10).await.unwrap();
    let items: Vec<&str> = entries.iter().map(|e| e.item_id.as_str()).collect();
    assert_eq!(items, ["a.csv", "b.csv"]);
    assert_eq!(entries[0].score, Some(1.0));
    // b.csv brings one null: 1 bad cell of 4 so far.
    assert_eq!(entries[1].score, Some(0.75));
    assert_eq!(entries[1].report["columns"][0]["nulls"], 1);
    assert!(
        history
            .entries("another-pipeline", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// `[store] pool = {…}` reaches the store; `max_connections` with it, or a pool that cannot
/// hold, is refused when the spec is built, naming the key.
#[test]
fn the_store_pool_comes_from_the_pipeline_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let with = |extra: &str| {
        let mut text = spec_text("postgres://loader@db.internal/x", "readings");
        text.push_str(extra);
        PipelineSpec::from_toml_str(&text, dir.path())
            .and_then(|s| s.components(&Registry::standard()).map(|_| ()))
    };
    with("pool = { max_size = 2, min_size = 1, acquire_timeout_ms = 500 }\n").unwrap();
    let both = with("max_connections = 3\npool = { max_size = 2 }\n").unwrap_err();
    assert!(both.to_string().contains("give one"), "{both}");
    let bad = with("pool = { max_size = 0 }\n").unwrap_err();
    assert!(bad.to_string().contains("max_size"), "{bad}");
    let unknown = with("pool = { max_sise = 2 }\n").unwrap_err();
    assert!(unknown.to_string().contains("max_sise"), "{unknown}");
}

/// `[checkpoints] url` with its `pool`: the records go to a local file store, the
/// acknowledgements to PostgreSQL, and a second run (another process, another machine)
/// finds every item done there.
#[tokio::test]
async fn checkpoints_in_postgres_with_their_own_pool_are_shared_by_the_next_run() {
    let Some(url) = server() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    for f in 0..4 {
        let text = format!("ts,sensor_id,value\n2026-03-01T10:00:0{f}Z,s-{f},{f}.5\n");
        std::fs::write(dir.path().join(format!("data/part-{f}.csv")), text).unwrap();
    }
    let name = format!("pg-checkpoints-{}", uuid::Uuid::new_v4().simple());
    let text = format!(
        r#"
name = "{name}"
[[source]]
id = "sensors"
kind = "local"
path = "data"
format = "csv"
[store]
kind = "file"
path = "out"
[dead_letter]
path = "dead.jsonl"
[checkpoints]
url = "{url}"
pool = {{ max_size = 2, min_size = 1, acquire_timeout_ms = 5000 }}
"#
    );
    let registry = Registry::standard();
    let first = PipelineSpec::from_toml_str(&text, dir.path())
        .unwrap()
        .build(&registry)
        .await
        .unwrap();
    let report = first.run(CancellationToken::new()).await.unwrap();
    assert_eq!(report.counts.stored, 4, "{:?}", report.counts);
    // A fresh process: nothing local says what is done, PostgreSQL does.
    let again = PipelineSpec::from_toml_str(&text, dir.path())
        .unwrap()
        .build(&registry)
        .await
        .unwrap();
    let report = again.run(CancellationToken::new()).await.unwrap();
    assert_eq!(
        report.counts.stored, 0,
        "every item was done: {:?}",
        report.counts
    );
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let acknowledged: i64 =
        sqlx::query_scalar("SELECT count(*) FROM _collectors_checkpoints WHERE pipeline = $1")
            .bind(&name)
            .fetch_one(&pool)
            .await
            .unwrap_or(-1);
    pool.close().await;
    assert_eq!(
        acknowledged, 4,
        "one acknowledgement per item in PostgreSQL"
    );
}
