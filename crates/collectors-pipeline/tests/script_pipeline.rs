//! `[[processor]] type = "script"` from a pipeline file: the two worked example scripts of
//! `examples/scripts/` run CSV → script → SQLite, and a bad script fails the build with an
//! error on the right line.
#![cfg(feature = "scripts")]

use std::path::Path;

use collectors_core::CancellationToken;
use collectors_pipeline::{PipelineSpec, Registry};
use sqlx::{Connection, Row};

/// A pipeline directory with `data/readings.csv` and the example scripts in `scripts/`.
fn workspace(spec: &str, csv: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
    std::fs::write(dir.path().join("data/readings.csv"), csv).unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/scripts");
    for name in ["example_custom_processor", "flag_out_of_range"] {
        std::fs::copy(
            examples.join(format!("{name}.rhai")),
            dir.path().join(format!("scripts/{name}.rhai")),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("pipeline.toml"), spec).unwrap();
    dir
}

async fn run(dir: &Path) -> collectors_core::RunSummary {
    let spec = PipelineSpec::from_path(dir.join("pipeline.toml")).unwrap();
    let engine = spec.build(&Registry::standard()).await.unwrap();
    let summary = engine.run(CancellationToken::new()).await.unwrap();
    assert!(summary.counts.adds_up(), "{:?}", summary.counts);
    summary
}

async fn db(dir: &Path, file: &str) -> sqlx::SqliteConnection {
    let url = format!("sqlite://{}", dir.join(file).display());
    sqlx::SqliteConnection::connect(&url).await.unwrap()
}

const SEED_SPEC: &str = r#"
name = "seed-custom"
[[source]]
id = "readings"
kind = "local"
path = "data"
format = "csv"
[source.csv]
schema = [
  { name = "sensor_id", type = "utf8" },
  { name = "voltage", type = "float64" },
]
[[processor]]
type = "script"
custom_script_name = "example_custom_processor"
scripts_dir = "scripts"
custom_params = { target_column = "voltage", multiplier = 2.5 }
[store]
kind = "sqlite"
path = "out/results.db"
table = "unused"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_example_stores_its_result_document() {
    let dir = workspace(
        SEED_SPEC,
        "sensor_id,voltage\ns1,1.0\ns1,2.0\ns2,\ns2,4.0\n",
    );
    let summary = run(dir.path()).await;
    assert_eq!(summary.counts.collected, 4);
    assert_eq!(summary.counts.stored, 1, "one result document");

    let mut db = db(dir.path(), "out/results.db").await;
    let rows =
        sqlx::query("SELECT CAST(payload AS TEXT) FROM _collectors_records WHERE kind = 'json'")
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    let result: serde_json::Value = serde_json::from_str(&rows[0].get::<String, _>(0)).unwrap();
    assert_eq!(result["message"], "Custom script executed!");
    assert_eq!(result["processed_rows"], 4);
    assert_eq!(result["target_column"], "voltage");
    assert_eq!(result["multiplier"], 2.5);
    assert_eq!(result["count"], 3);
    assert_eq!(result["skipped"], 1);
    assert_eq!(result["sum"], 17.5);
    assert_eq!(result["min"], 2.5);
    assert_eq!(result["max"], 10.0);
    let mean = result["mean"].as_f64().unwrap();
    assert!((mean - 17.5 / 3.0).abs() < 1e-12, "{mean}");
}

const FLAG_SPEC: &str = r#"
name = "flagged"
[[source]]
id = "readings"
kind = "local"
path = "data"
format = "csv"
[source.csv]
batch_size = 2
schema = [
  { name = "sensor_id", type = "utf8" },
  { name = "value", type = "float64" },
]
[[processor]]
type = "script"
name = "flag_out_of_range"
params = { column = "value", min = 0.0, max = 50.0 }
limits = { timeout_ms = 5000 }
# A column the script added: known only once the script ran, so not checked at build.
[[processor]]
type = "map"
rename = { value_excess = "excess" }
[store]
kind = "sqlite"
path = "out/flagged.db"
table = "readings"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flag_example_stores_its_derived_columns() {
    let dir = workspace(
        FLAG_SPEC,
        "sensor_id,value\ns1,10\ns1,60\ns2,-5\ns2,\ns3,50\n",
    );
    let summary = run(dir.path()).await;
    assert_eq!(summary.counts.stored, 5);

    let mut db = db(dir.path(), "out/flagged.db").await;
    let rows: Vec<(String, Option<f64>, i64, Option<f64>)> =
        sqlx::query("SELECT sensor_id, value, value_flag, excess FROM readings ORDER BY _id")
            .fetch_all(&mut db)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect();
    assert_eq!(
        rows,
        vec![
            ("s1".to_owned(), Some(10.0), 0, Some(0.0)),
            ("s1".to_owned(), Some(60.0), 1, Some(10.0)),
            ("s2".to_owned(), Some(-5.0), 1, Some(5.0)),
            ("s2".to_owned(), None, 1, None),
            ("s3".to_owned(), Some(50.0), 0, Some(0.0)),
        ]
    );
}

fn build_error(spec: &str, script: Option<&str>) -> String {
    let dir = workspace(spec, "sensor_id,value\ns1,1\n");
    if let Some(source) = script {
        std::fs::write(dir.path().join("scripts/custom.rhai"), source).unwrap();
    }
    let spec = PipelineSpec::from_path(dir.path().join("pipeline.toml")).unwrap();
    match spec.components(&Registry::standard()) {
        Ok(_) => panic!("the build should fail"),
        Err(e) => e.to_string(),
    }
}

fn spec_with(name: &str) -> String {
    format!(
        r#"name = "bad"
[[source]]
id = "readings"
kind = "local"
path = "data"
format = "csv"
[[processor]]
type = "script"
name = "{name}"
[store]
kind = "sqlite"
path = "out/x.db"
table = "t"
"#
    )
}

#[test]
fn a_missing_script_fails_the_build_naming_its_path() {
    let message = build_error(&spec_with("absent"), None);
    assert!(message.contains("absent.rhai"), "{message}");
    assert!(message.contains("name"), "{message}");
}

#[test]
fn a_hostile_script_name_fails_the_build() {
    let message = build_error(&spec_with("../data/readings"), None);
    assert!(message.contains("is not a script name"), "{message}");
}

#[test]
fn a_syntax_error_fails_the_build_naming_the_line() {
    let message = build_error(
        &spec_with("custom"),
        Some("fn process(table, params) {\n    #{ a: 1,, }\n}\n"),
    );
    assert!(message.contains("script `custom`"), "{message}");
    assert!(message.contains("at line 2: syntax error"), "{message}");
}

#[test]
fn the_script_type_has_a_schema() {
    let registry = Registry::standard();
    let schema = registry.processor_schema("script").expect("registered");
    let properties = &schema["properties"];
    for key in ["name", "params", "scripts_dir", "limits"] {
        assert!(properties.get(key).is_some(), "{key} in {schema}");
    }
}
