//! Helpers shared by the command-line tests: run the binary, read the results.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

pub const BIN: &str = env!("CARGO_BIN_EXE_collectors");

/// The repository's example directory.
pub fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sensors")
}

/// Runs `collectors` with `args` in `dir`.
pub fn collectors(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("COLLECTORS_LOG", "warn")
        .output()
        .expect("the binary runs")
}

/// Copies the example pipeline file into `dir`.
pub fn copy_pipeline(dir: &Path) -> PathBuf {
    let target = dir.join("pipeline.toml");
    std::fs::copy(example_dir().join("pipeline.toml"), &target).expect("copy pipeline.toml");
    target
}

/// Generates a sensor data set into `dir/data`.
pub fn generate(dir: &Path, rows: u64, files: u64, seed: u64) {
    let out = collectors(
        dir,
        &[
            "gen",
            "sensors",
            "--rows",
            &rows.to_string(),
            "--files",
            &files.to_string(),
            "--seed",
            &seed.to_string(),
            "--out",
            "data",
        ],
    );
    assert!(
        out.status.success(),
        "gen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub files: Vec<FileManifest>,
}

#[derive(Debug, Deserialize)]
pub struct FileManifest {
    pub name: String,
    pub rows: u64,
    pub malformed_lines: Vec<u64>,
}

pub fn manifest(data: &Path) -> Manifest {
    serde_json::from_str(&std::fs::read_to_string(data.join("manifest.json")).expect("manifest"))
        .expect("manifest json")
}

/// One expected stored row, computed by hand from the CSV text.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub item: String,
    pub sensor: String,
    pub value: f64,
    pub rolling_mean: f64,
}

/// What the sensor pipeline must store, in file and row order: the well-formed rows with status
/// `ok`, each with the mean of the last 5 such values of its sensor, the files read as one
/// series in name order (windows carry from one file to the next).
pub fn expected_rows(data: &Path) -> Vec<Expected> {
    let mut manifest = manifest(data);
    manifest.files.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = Vec::new();
    let mut windows: HashMap<String, Vec<f64>> = HashMap::new();
    for file in &manifest.files {
        let bytes = std::fs::read(data.join(&file.name)).expect("data file");
        for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
            let line_no = i as u64 + 1;
            if line_no == 1 || line.is_empty() || file.malformed_lines.contains(&line_no) {
                continue;
            }
            let text = std::str::from_utf8(line).expect("well-formed lines are UTF-8");
            let fields: Vec<&str> = text.split(',').collect();
            if fields[3] != "ok" {
                continue;
            }
            let value: f64 = fields[2].parse().expect("well-formed value");
            let window = windows.entry(fields[1].to_owned()).or_default();
            window.push(value);
            let last: Vec<f64> = window.iter().rev().take(5).copied().collect();
            out.push(Expected {
                item: file.name.clone(),
                sensor: fields[1].to_owned(),
                value,
                rolling_mean: last.iter().sum::<f64>() / last.len() as f64,
            });
        }
    }
    out
}

/// The rows in SQLite, in file, batch and row order.
pub async fn stored_rows(db: &Path) -> Vec<Expected> {
    use sqlx::Row;
    let url = format!("sqlite://{}?mode=ro", db.display());
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("open the database");
    // A row's record key is in `_collectors_records`, its index in the low bits of `_id`.
    let rows = sqlx::query(
        "SELECT r.key AS _key, t._id & 4294967295 AS _row, sensor_id, value, value_rolling_mean \
         FROM readings t JOIN _collectors_records r ON r.id = t._id >> 32",
    )
    .fetch_all(&pool)
    .await
    .expect("query readings");
    let mut out: Vec<(String, u64, u64, Expected)> = rows
        .iter()
        .map(|r| {
            let key: String = r.get("_key");
            // Keys are `source/item#batch`.
            let (item_part, batch) = key.rsplit_once('#').expect("key has a batch");
            let item = item_part
                .rsplit('/')
                .next()
                .expect("key has an item")
                .to_owned();
            let row: i64 = r.get("_row");
            (
                item.clone(),
                batch.parse().expect("numeric batch"),
                row as u64,
                Expected {
                    item,
                    sensor: r.get("sensor_id"),
                    value: r.get("value"),
                    rolling_mean: r.get("value_rolling_mean"),
                },
            )
        })
        .collect();
    out.sort_by(|a, b| (&a.0, a.1, a.2).cmp(&(&b.0, b.1, b.2)));
    pool.close().await;
    out.into_iter().map(|(_, _, _, e)| e).collect()
}

/// Asserts that `stored` equals `expected`, row by row, means within 1e-9.
pub fn assert_rows_match(stored: &[Expected], expected: &[Expected]) {
    assert_eq!(stored.len(), expected.len(), "exact row count");
    for (i, (s, e)) in stored.iter().zip(expected).enumerate() {
        assert_eq!((&s.item, &s.sensor), (&e.item, &e.sensor), "row {i}");
        assert!(
            (s.value - e.value).abs() < 1e-9,
            "row {i}: value {} != {}",
            s.value,
            e.value
        );
        assert!(
            (s.rolling_mean - e.rolling_mean).abs() < 1e-9,
            "row {i}: mean {} != {}",
            s.rolling_mean,
            e.rolling_mean
        );
    }
}

pub fn count_rows_blocking(db: &Path) -> (i64, i64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let url = format!("sqlite://{}?mode=ro", db.display());
        let pool = sqlx::SqlitePool::connect(&url)
            .await
            .expect("open the database");
        let total: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM readings")
            .fetch_one(&pool)
            .await
            .expect("count");
        let distinct: (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM (SELECT DISTINCT ts, sensor_id FROM readings)")
                .fetch_one(&pool)
                .await
                .expect("distinct");
        pool.close().await;
        (total.0, distinct.0)
    })
}

/// A number from the summary table, e.g. the `stored` line.
pub fn summary_value(stdout: &str, name: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some(name)).then(|| words.next()).flatten()
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no `{name}` line in:\n{stdout}"))
}

/// The dead letters a SQLite store keeps in its database, as JSON, in the order written.
pub async fn stored_letters(db: &Path) -> Vec<serde_json::Value> {
    let url = format!("sqlite://{}?mode=ro", db.display());
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("open the database");
    let letters: Vec<(String,)> =
        sqlx::query_as("SELECT letter FROM _collectors_dead_letters ORDER BY rowid")
            .fetch_all(&pool)
            .await
            .expect("read the dead letters");
    pool.close().await;
    letters
        .into_iter()
        .map(|(json,)| serde_json::from_str(&json).expect("a letter is JSON"))
        .collect()
}

/// [`stored_letters`], for a test without a runtime.
pub fn stored_letters_blocking(db: &Path) -> Vec<serde_json::Value> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(stored_letters(db))
}
