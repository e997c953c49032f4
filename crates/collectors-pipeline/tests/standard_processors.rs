//! The analysis processors from a pipeline file: quality reports reach the components' event
//! bus, and the peaks of a series split into parts are stored as one file's peaks.

use collectors_core::{CancellationToken, EventEmitter, EventFilter, EventType};
use collectors_pipeline::{PipelineSpec, Registry};
use sqlx::{Connection, Row};

const SPEC: &str = r#"
name = "analysis"
[[source]]
id = "series"
kind = "local"
path = "data"
pattern = "*.csv"
format = "csv"
[source.csv]
batch_size = 16
schema = [
  { name = "sensor_id", type = "utf8" },
  { name = "value", type = "float64" },
]
[[processor]]
type = "data_quality"
ranges = { value = { min = 0, max = 50 } }
[[processor]]
type = "peak_detection"
key = "sensor_id"
value = "value"
height = 2
threshold = 0.5
[store]
kind = "sqlite"
path = "out/peaks.db"
table = "peaks"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quality_events_and_peaks_of_a_partitioned_series() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    // s1: 0 3 0 | 1 5 1 | 99 0  -> peaks at 1, 4, 6 (height >= 2); s2 flat but one bump.
    let parts = [
        "sensor_id,value\ns1,0\ns2,1\ns1,3\ns1,0\n",
        "sensor_id,value\ns1,1\ns2,4\ns1,5\ns2,1\ns1,1\n",
        "sensor_id,value\ns1,99\ns1,0\ns2,1\n",
    ];
    for (i, text) in parts.iter().enumerate() {
        std::fs::write(dir.path().join(format!("data/part-{i:02}.csv")), text).unwrap();
    }
    std::fs::write(dir.path().join("pipeline.toml"), SPEC).unwrap();
    let spec = PipelineSpec::from_path(dir.path().join("pipeline.toml")).unwrap();
    let components = spec.components(&Registry::standard()).unwrap();
    let mut quality = components
        .events()
        .subscribe(
            EventFilter::all()
                .event_type(EventType::Custom)
                .source("data_quality"),
        )
        .await
        .unwrap();
    let engine = components.engine_builder().await.unwrap().build().unwrap();
    let summary = engine.run(CancellationToken::new()).await.unwrap();
    assert!(summary.counts.adds_up());

    let mut last = None;
    while let Some(event) = quality.try_recv() {
        last = Some(event);
    }
    let report = &last.expect("quality reports on the bus").data["report"];
    assert_eq!(report["rows"], 12);
    let value = report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "value")
        .unwrap();
    assert_eq!(value["out_of_range"], 1);
    assert_eq!(value["max"], 99.0);

    // One report kept per part as it ended, the source's profile so far, in the
    // checkpoint database; the last is the report the bus saw last.
    let history = components
        .quality_history()
        .expect("kept beside the checkpoints");
    let kept = history.entries("analysis", None, 10).await.unwrap();
    let rows: Vec<(u64, &str)> = kept.iter().map(|e| (e.rows, e.item_id.as_str())).collect();
    assert_eq!(
        rows,
        vec![(4, "part-00.csv"), (9, "part-01.csv"), (12, "part-02.csv")]
    );
    assert_eq!(kept[2].score, report["score"].as_f64());
    assert_eq!(kept[2].report["columns"], report["columns"]);
    // A later run over a new part continues the history (and the profile).
    std::fs::write(
        dir.path().join("data/part-03.csv"),
        "sensor_id,value\ns1,\n",
    )
    .unwrap();
    let components = spec.components(&Registry::standard()).unwrap();
    let engine = components.engine_builder().await.unwrap().build().unwrap();
    engine.run(CancellationToken::new()).await.unwrap();
    let kept = history.entries("analysis", None, 10).await.unwrap();
    assert_eq!(kept.len(), 4);
    assert_eq!(kept[3].rows, 13);
    assert!(kept[3].score < kept[2].score, "a null lowers the score");
    assert_eq!(
        history.entries("analysis", None, 2).await.unwrap()[1],
        kept[3]
    );

    let url = format!("sqlite://{}", dir.path().join("out/peaks.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let mut peaks: Vec<(String, i64, f64)> =
        sqlx::query("SELECT sensor_id, \"index\", value FROM peaks")
            .fetch_all(&mut db)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
    peaks.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    assert_eq!(
        peaks,
        vec![
            ("s1".to_owned(), 1, 3.0),
            ("s1".to_owned(), 4, 5.0),
            ("s1".to_owned(), 6, 99.0),
            ("s2".to_owned(), 1, 4.0),
        ]
    );
}

const VALIDATE_SPEC: &str = r#"
name = "checked"
[[source]]
id = "readings"
kind = "local"
path = "data"
pattern = "*.csv"
format = "csv"
[source.csv]
batch_size = 4
schema = [
  { name = "sensor_id", type = "utf8" },
  { name = "value", type = "utf8" },
]
[[processor]]
type = "validate"
unique = ["sensor_id"]
columns = [
  { name = "value", type = "float64", nullable = false, min = 0, max = 100 },
  { name = "sensor_id", pattern = "^s[0-9]+$" },
]
[store]
kind = "sqlite"
path = "out/checked.db"
table = "readings"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_rows_are_dead_lettered_with_their_reasons() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(
        dir.path().join("data/a.csv"),
        "sensor_id,value\ns1,1.5\ns2,abc\ns3,\ns4,150\nx5,2\ns6,3\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("data/b.csv"),
        "sensor_id,value\ns1,4\ns7,5\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("pipeline.toml"), VALIDATE_SPEC).unwrap();
    let spec = PipelineSpec::from_path(dir.path().join("pipeline.toml")).unwrap();
    let components = spec.components(&Registry::standard()).unwrap();
    let engine = components.engine_builder().await.unwrap().build().unwrap();
    let summary = engine.run(CancellationToken::new()).await.unwrap();
    assert!(summary.counts.adds_up(), "{:?}", summary.counts);
    assert_eq!(summary.counts.collected, 8);
    assert_eq!(summary.counts.stored, 3);
    assert_eq!(summary.counts.dead_lettered, 5);
    assert_eq!(summary.counts.skipped, 0);

    let letters = components
        .dead_letters()
        .await
        .unwrap()
        .letters("checked")
        .await
        .unwrap();
    let mut reasons: Vec<String> = letters
        .iter()
        .inspect(|l| assert_eq!(l.rejected_by.as_deref(), Some("validate")))
        .flat_map(|l| {
            l.error.details["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        vec![
            "duplicate key (\"s1\")",
            "sensor_id: \"x5\" does not match /^s[0-9]+$/",
            "value: \"abc\" is not a float64",
            "value: 150.0 > 100",
            "value: null",
        ]
    );
    let records: u64 = letters.iter().map(|l| l.records).sum();
    assert_eq!(records, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_and_filter_expressions_from_a_pipeline_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(
        dir.path().join("data/a.csv"),
        "sensor_id,value\ns1,10\ns2,-40\ns3,\ns4,100\n",
    )
    .unwrap();
    let spec = SPEC
        .split("[[processor]]")
        .next()
        .unwrap()
        .replace("name = \"analysis\"", "name = \"mapped\"")
        + r#"
[[processor]]
type = "map"
derive = [{ name = "fahrenheit", expr = "round(coalesce(value, 0) * 1.8 + 32, 1)" }]
rename = { sensor_id = "sensor" }
[[processor]]
type = "filter"
expr = "fahrenheit > 0 and sensor != 's4'"
[store]
kind = "sqlite"
path = "out/mapped.db"
table = "readings"
"#;
    std::fs::write(dir.path().join("pipeline.toml"), &spec).unwrap();
    let spec = PipelineSpec::from_path(dir.path().join("pipeline.toml")).unwrap();
    let summary = spec
        .build(&Registry::standard())
        .await
        .unwrap()
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert!(summary.counts.adds_up());
    assert_eq!((summary.counts.stored, summary.counts.skipped), (2, 2));
    let url = format!("sqlite://{}", dir.path().join("out/mapped.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let mut rows: Vec<(String, f64)> = sqlx::query("SELECT sensor, fahrenheit FROM readings")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(rows, vec![("s1".to_owned(), 50.0), ("s3".to_owned(), 32.0)]);

    // A filter naming a column the schema lacks is refused at load, on its line.
    let bad = std::fs::read_to_string(dir.path().join("pipeline.toml"))
        .unwrap()
        .replace("sensor != 's4'", "station != 's4'");
    let err = PipelineSpec::from_toml_str(&bad, dir.path())
        .and_then(|s| s.components(&Registry::standard()).map(|_| ()))
        .unwrap_err();
    assert!(err.to_string().contains("station"), "{err}");
}

/// CSV → Parquet files (the `file` store), then those files as a `parquet` source → SQLite.
#[cfg(feature = "parquet")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_files_are_a_source_too() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let mut csv = String::from("sensor_id,value\n");
    for i in 0..100 {
        csv.push_str(&format!("s{},{}\n", i % 3, i as f64 / 2.0));
    }
    std::fs::write(dir.path().join("data/a.csv"), csv).unwrap();
    let to_parquet = SPEC.split("[[processor]]").next().unwrap().to_owned()
        + "[store]\nkind = \"file\"\npath = \"parquet\"\nformat = \"parquet\"\n";
    let spec = PipelineSpec::from_toml_str(&to_parquet, dir.path()).unwrap();
    let summary = spec
        .build(&Registry::standard())
        .await
        .unwrap()
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(summary.counts.stored, 100);

    let from_parquet = r#"
name = "from-parquet"
[[source]]
id = "files"
kind = "local"
path = "parquet"
pattern = "**/*.parquet"   # the file store writes {source}/{item}.parquet
format = "parquet"
[source.parquet]
batch_size = 7
columns = ["sensor_id", "value"]
[[processor]]
type = "filter"
expr = "value >= 25"
[store]
kind = "sqlite"
path = "out/back.db"
table = "readings"
"#;
    let spec = PipelineSpec::from_toml_str(from_parquet, dir.path()).unwrap();
    let summary = spec
        .build(&Registry::standard())
        .await
        .unwrap()
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert!(summary.counts.adds_up());
    assert_eq!((summary.counts.stored, summary.counts.skipped), (50, 50));
    let url = format!("sqlite://{}", dir.path().join("out/back.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let total: f64 = sqlx::query("SELECT SUM(value) FROM readings")
        .fetch_one(&mut db)
        .await
        .unwrap()
        .get(0);
    assert_eq!(total, (50..100).map(|i| i as f64 / 2.0).sum::<f64>());
}

const PER_ITEM_PEAKS_SPEC: &str = r#"
name = "per-file-peaks"
[[source]]
id = "runs"
kind = "local"
path = "data"
pattern = "*.csv"
format = "csv"
[source.csv]
batch_size = 2
schema = [{ name = "value", type = "float64" }]
[[processor]]
type = "peak_detection"
value = "value"
distance = 3
per_item = true
[store]
kind = "sqlite"
path = "out/peaks.db"
table = "peaks"
"#;

/// Each file is a series of its own: the peaks still undecided when a file ends (a higher
/// sample could have followed within `distance`) are stored with that file, as SciPy finds
/// them on the file taken whole, and the counters still add up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_item_peaks_undecided_at_the_end_of_a_file_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    // scipy.signal.find_peaks([0, 5, 0, 1, 6, 2], distance=3) -> [1, 4];
    // find_peaks([0, 7, 1]) -> [1]. Index 4 and the 7 are decided only by the end.
    std::fs::write(dir.path().join("data/a.csv"), "value\n0\n5\n0\n1\n6\n2\n").unwrap();
    std::fs::write(dir.path().join("data/b.csv"), "value\n0\n7\n1\n").unwrap();
    std::fs::write(dir.path().join("pipeline.toml"), PER_ITEM_PEAKS_SPEC).unwrap();
    let spec = PipelineSpec::from_path(dir.path().join("pipeline.toml")).unwrap();
    let components = spec.components(&Registry::standard()).unwrap();
    let engine = components.engine_builder().await.unwrap().build().unwrap();
    let summary = engine.run(CancellationToken::new()).await.unwrap();
    assert!(summary.counts.adds_up(), "{:?}", summary.counts);
    assert_eq!(summary.counts.collected, 9);
    assert_eq!(summary.counts.processed, 3);
    assert_eq!(summary.counts.skipped, 6);

    let url = format!("sqlite://{}", dir.path().join("out/peaks.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let mut peaks: Vec<(String, i64, f64)> = sqlx::query(
        "SELECT r.key, p.\"index\", p.value FROM peaks p \
         JOIN _collectors_records r ON r.id = p._id >> 32",
    )
    .fetch_all(&mut db)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        let key: String = r.get(0);
        let file = if key.contains("a.csv") { "a" } else { "b" };
        (file.to_owned(), r.get(1), r.get(2))
    })
    .collect();
    peaks.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    assert_eq!(
        peaks,
        vec![
            ("a".to_owned(), 1, 5.0),
            ("a".to_owned(), 4, 6.0),
            ("b".to_owned(), 1, 7.0),
        ]
    );
}
