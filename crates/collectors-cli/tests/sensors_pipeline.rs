//! The example pipeline end to end: exact rows, exact dead letters, rolling means equal to a
//! hand computation; a rerun does nothing new.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_example_pipeline_stores_exactly_the_valid_ok_rows() {
    let dir = tempfile::tempdir().unwrap();
    copy_pipeline(dir.path());
    generate(dir.path(), 5_000, 3, 7);

    let out = collectors(dir.path(), &["run", "pipeline.toml", "--quiet"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("completed"), "{stdout}");

    let expected = expected_rows(&dir.path().join("data"));
    let stored = stored_rows(&dir.path().join("out/sensors.db")).await;
    assert_rows_match(&stored, &expected);

    // Dead letters: exactly the malformed lines, with their line numbers.
    let manifest = manifest(&dir.path().join("data"));
    let mut expected_letters: Vec<(String, u64)> = manifest
        .files
        .iter()
        .flat_map(|f| f.malformed_lines.iter().map(|l| (f.name.clone(), *l)))
        .collect();
    expected_letters.sort();
    assert!(
        !expected_letters.is_empty(),
        "the data set has malformed rows to test with"
    );
    // They are kept in the store's own database.
    assert!(!dir.path().join("out/dead_letters.jsonl").exists());
    let letters = stored_letters(&dir.path().join("out/sensors.db")).await;
    let mut got: Vec<(String, u64)> = letters
        .iter()
        .map(|v| {
            (
                v["item_id"].as_str().unwrap().to_owned(),
                v["line"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, expected_letters);

    // The summary adds up and names the same numbers.
    let total: u64 = manifest.files.iter().map(|f| f.rows).sum();
    assert_eq!(summary_value(&stdout, "collected"), total, "{stdout}");
    assert_eq!(
        summary_value(&stdout, "stored"),
        expected.len() as u64,
        "{stdout}"
    );
    assert_eq!(
        summary_value(&stdout, "dead-lettered"),
        expected_letters.len() as u64,
        "{stdout}"
    );
    assert_eq!(summary_value(&stdout, "failed"), 0, "{stdout}");

    // A rerun skips every acknowledged file and stores nothing new.
    let again = collectors(dir.path(), &["run", "pipeline.toml", "--quiet"]);
    let again_out = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success());
    assert!(again_out.contains("3 already done"), "{again_out}");
    assert_eq!(
        stored_rows(&dir.path().join("out/sensors.db")).await.len(),
        expected.len()
    );

    // --fail-on-dead-letter turns dead letters into a failing exit code.
    let strict = collectors(
        dir.path(),
        &[
            "run",
            "pipeline.toml",
            "--quiet",
            "--restart",
            "--fail-on-dead-letter",
        ],
    );
    assert_eq!(strict.status.code(), Some(3));
}

#[test]
fn dry_run_validates_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    copy_pipeline(dir.path());
    generate(dir.path(), 100, 2, 1);
    let out = collectors(dir.path(), &["run", "pipeline.toml", "--dry-run"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("2 items"), "{stdout}");
    assert!(!dir.path().join("out").exists(), "a dry run writes nothing");
}

#[test]
fn dead_letters_can_be_listed_and_replayed_after_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    copy_pipeline(dir.path());
    generate(dir.path(), 2_000, 1, 11);
    assert!(
        collectors(dir.path(), &["run", "pipeline.toml", "--quiet"])
            .status
            .success()
    );
    let db = dir.path().join("out/sensors.db");
    let before = stored_letters_blocking(&db).len();
    assert!(before > 0);

    let list = collectors(
        dir.path(),
        &["dead-letter", "list", "--pipeline", "pipeline.toml"],
    );
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success());
    assert!(
        listed.contains(&format!("{before} dead letters")),
        "{listed}"
    );
    assert!(
        listed.contains("sensors-000.csv:"),
        "letters show item and line: {listed}"
    );

    // The fix: make the value column text, so "not-a-number" rows decode; the other malformed
    // rows (wrong column count, invalid UTF-8) still fail and stay.
    let pipeline = std::fs::read_to_string(dir.path().join("pipeline.toml")).unwrap();
    let relaxed = pipeline
        .replace(r#"{ name = "value", type = "float64" }"#, r#"{ name = "value", type = "utf8" }"#)
        .replace("[[processor]]\ntype = \"rolling_mean\"\nkey = \"sensor_id\"\nvalue = \"value\"\nwindow = 5\n", "")
        .replace("table = \"readings\"", "table = \"replayed\"");
    std::fs::write(dir.path().join("relaxed.toml"), relaxed).unwrap();
    let replay = collectors(
        dir.path(),
        &["dead-letter", "replay", "--pipeline", "relaxed.toml"],
    );
    let replayed = String::from_utf8_lossy(&replay.stdout);
    assert!(
        replay.status.success(),
        "{replayed}\n{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    let after = stored_letters_blocking(&db).len();
    assert!(
        after < before,
        "fixed letters are removed ({before} -> {after}): {replayed}"
    );
    assert!(
        replayed.contains(&format!("{after} letters remain")),
        "{replayed}"
    );
    assert!(after > 0, "letters that still fail stay");
}

async fn file_store_rows(dir: &std::path::Path, format: collectors_backends::FileFormat) -> usize {
    use collectors_core::StorageBackend;
    let sink = collectors_backends::FileSink::builder("check", dir)
        .format(format)
        .build()
        .unwrap();
    sink.connect().await.unwrap();
    let records = sink
        .query(&collectors_core::QueryCriteria::new())
        .await
        .unwrap();
    records
        .iter()
        .map(|r| r.record.payload.num_rows().unwrap_or(0))
        .sum()
}

async fn run_with_file_store(format: &str, kind: collectors_backends::FileFormat) {
    let dir = tempfile::tempdir().unwrap();
    copy_pipeline(dir.path());
    let pipeline = std::fs::read_to_string(dir.path().join("pipeline.toml"))
        .unwrap()
        .replace(
            "kind = \"sqlite\"\npath = \"out/sensors.db\"\ntable = \"readings\"",
            &format!("kind = \"file\"\npath = \"out/readings\"\nformat = \"{format}\""),
        );
    std::fs::write(dir.path().join("pipeline.toml"), pipeline).unwrap();
    generate(dir.path(), 3_000, 2, 5);
    let out = collectors(dir.path(), &["run", "pipeline.toml", "--quiet"]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = expected_rows(&dir.path().join("data")).len();
    assert_eq!(
        file_store_rows(&dir.path().join("out/readings"), kind).await,
        expected
    );
    assert!(dir.path().join("out/readings.checkpoints.db").exists());
    // One file per input file, named after it, under the source's folder.
    let mut inputs: Vec<String> = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".csv"))
        .map(|n| format!("{n}.{format}"))
        .collect();
    inputs.sort();
    let mut outputs: Vec<String> = std::fs::read_dir(dir.path().join("out/readings/sensor-files"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    outputs.sort();
    assert_eq!(outputs, inputs);
    assert_eq!(
        std::fs::read_dir(dir.path().join("out/readings"))
            .unwrap()
            .count(),
        1,
        "nothing but the source's folder"
    );
    // Rerun with --restart: the same keys, the same files, no duplicates.
    assert!(
        collectors(
            dir.path(),
            &["run", "pipeline.toml", "--quiet", "--restart"]
        )
        .status
        .success()
    );
    assert_eq!(
        file_store_rows(&dir.path().join("out/readings"), kind).await,
        expected
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pipeline_can_write_json_lines_files() {
    run_with_file_store("jsonl", collectors_backends::FileFormat::Jsonl).await;
}

#[cfg(feature = "parquet")]
#[tokio::test(flavor = "multi_thread")]
async fn the_pipeline_can_write_parquet_files() {
    run_with_file_store("parquet", collectors_backends::FileFormat::Parquet).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_store_receives_every_row_too() {
    let dir = tempfile::tempdir().unwrap();
    copy_pipeline(dir.path());
    let mut pipeline = std::fs::read_to_string(dir.path().join("pipeline.toml")).unwrap();
    pipeline
        .push_str("\n[[replica]]\nkind = \"file\"\npath = \"out/replica\"\nformat = \"jsonl\"\n");
    std::fs::write(dir.path().join("pipeline.toml"), pipeline).unwrap();
    generate(dir.path(), 2_000, 2, 8);
    let out = collectors(dir.path(), &["run", "pipeline.toml", "--quiet"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = expected_rows(&dir.path().join("data"));
    assert_eq!(
        stored_rows(&dir.path().join("out/sensors.db")).await.len(),
        expected.len()
    );
    assert_eq!(
        file_store_rows(
            &dir.path().join("out/replica"),
            collectors_backends::FileFormat::Jsonl
        )
        .await,
        expected.len()
    );

    // A replica with a key of the wrong kind is refused before anything runs.
    let bad = std::fs::read_to_string(dir.path().join("pipeline.toml"))
        .unwrap()
        .replace("format = \"jsonl\"", "table = \"t\"");
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let refused = collectors(dir.path(), &["run", "bad.toml", "--quiet"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("replica[0].table"));
}

#[test]
fn quality_history_shows_one_report_per_file_and_the_trend() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/a.csv"), "id,v\na,1\nb,2\nc,3\nd,4\n").unwrap();
    std::fs::write(dir.path().join("data/b.csv"), "id,v\ne,5\nf,\ng,\nh,6\n").unwrap();
    std::fs::write(
        dir.path().join("pipeline.toml"),
        r#"
name = "watched"
[[source]]
id = "in"
kind = "local"
path = "data"
pattern = "*.csv"
format = "csv"
[source.csv]
schema = [{ name = "id", type = "utf8" }, { name = "v", type = "float64" }]
[[processor]]
type = "data_quality"
columns = ["v"]
[store]
kind = "sqlite"
path = "out/watched.db"
table = "readings"
"#,
    )
    .unwrap();
    let empty = collectors(dir.path(), &["quality", "history", "pipeline.toml"]);
    assert!(empty.status.success());
    assert!(String::from_utf8_lossy(&empty.stdout).contains("no quality reports yet"));
    assert!(
        !dir.path().join("out").exists(),
        "reading the history creates nothing"
    );

    let run = collectors(dir.path(), &["run", "pipeline.toml", "--quiet"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = collectors(dir.path(), &["quality", "history", "pipeline.toml"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines[1].contains("in/a.csv\t4\t1.0000"), "{stdout}");
    // b.csv brings two nulls: 2 bad cells of 8 so far.
    assert!(
        lines[2].contains("in/b.csv\t8\t0.7500\t-0.2500\tv (2 bad of 8)"),
        "{stdout}"
    );
    assert!(
        lines[3].contains("2 reports: score 1.0000 → 0.7500 (worsening)"),
        "{stdout}"
    );

    let json = collectors(
        dir.path(),
        &[
            "quality",
            "history",
            "pipeline.toml",
            "--json",
            "--limit",
            "1",
        ],
    );
    let line = String::from_utf8_lossy(&json.stdout);
    let entry: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(entry["item_id"], "b.csv");
    assert_eq!(entry["report"]["columns"][0]["name"], "v");
    assert_eq!(entry["report"]["columns"][0]["nulls"], 2);
}
