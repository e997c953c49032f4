//! A series split into parts gives the same rolling mean as one file, also after an
//! interrupted run; two runs of one pipeline at once share the items and store nothing twice.

use std::collections::HashMap;
use std::path::Path;

use collectors_core::{CancellationToken, EventBus, EventEmitter, EventFilter, EventType};
use collectors_pipeline::{PipelineSpec, Registry};
use futures::StreamExt;
use sqlx::{Connection, Row};

fn spec_text(processors: &str, in_flight: usize) -> String {
    format!(
        r#"
name = "parts"
[engine]
max_items_in_flight = {in_flight}
store_batch_rows = 500
linger_ms = 5
[[source]]
id = "series"
kind = "local"
path = "data"
pattern = "*.csv"
format = "csv"
[source.csv]
batch_size = 64
schema = [
  {{ name = "ts", type = "timestamp" }},
  {{ name = "sensor_id", type = "utf8" }},
  {{ name = "value", type = "float64" }},
]
{processors}
[store]
kind = "sqlite"
path = "out/parts.db"
table = "readings"
"#
    )
}

const ROLLING: &str =
    "[[processor]]\ntype = \"rolling_mean\"\nkey = \"sensor_id\"\nvalue = \"value\"\nwindow = 10\n";

/// `parts` files of `rows` rows each, three sensors, one malformed row per part.
fn write_parts(dir: &Path, parts: usize, rows: usize) -> Vec<(String, String, f64)> {
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut series = Vec::new();
    for part in 0..parts {
        let mut text = String::from("ts,sensor_id,value\n");
        for i in 0..rows {
            let n = part * rows + i;
            let sensor = format!("s{}", rng.usize(..3));
            let value = (rng.f64() * 100.0).round() / 4.0;
            text.push_str(&format!(
                "2026-01-01T{:02}:{:02}:{:02}Z,{sensor},{value}\n",
                n / 3600 % 24,
                n / 60 % 60,
                n % 60
            ));
            series.push((format!("part-{part:02}.csv"), sensor, value));
        }
        text.push_str("2026-01-01T00:00:00Z,broken\n");
        std::fs::write(dir.join(format!("data/part-{part:02}.csv")), text).unwrap();
    }
    series
}

/// pandas `df.groupby("sensor_id").rolling(10, min_periods=1).mean()` over the parts
/// concatenated in name order, computed by hand.
fn expected_means(series: &[(String, String, f64)]) -> Vec<f64> {
    let mut windows: HashMap<&str, Vec<f64>> = HashMap::new();
    series
        .iter()
        .map(|(_, sensor, value)| {
            let w = windows.entry(sensor).or_default();
            w.push(*value);
            let last: Vec<f64> = w.iter().rev().take(10).copied().collect();
            last.iter().sum::<f64>() / last.len() as f64
        })
        .collect()
}

/// The stored rows as (item, batch, row) → mean, in series order.
async fn stored_means(dir: &Path) -> Vec<f64> {
    let url = format!("sqlite://{}", dir.join("out/parts.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let rows = sqlx::query(
        "SELECT r.key AS _key, t._id & 4294967295 AS _row, value_rolling_mean \
         FROM readings t JOIN _collectors_records r ON r.id = t._id >> 32",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut keyed: Vec<((String, u64), i64, f64)> = rows
        .iter()
        .map(|r| {
            let key: String = r.get("_key");
            let (item, batch) = key.rsplit_once('#').unwrap();
            (
                (item.to_owned(), batch.parse().unwrap()),
                r.get::<i64, _>("_row"),
                r.get("value_rolling_mean"),
            )
        })
        .collect();
    keyed.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    keyed.into_iter().map(|(_, _, mean)| mean).collect()
}

fn assert_means(got: &[f64], expected: &[f64], what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: rows");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!((g - e).abs() < 1e-9, "{what}: row {i}: {g} != {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_series_gives_the_means_of_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let series = write_parts(dir.path(), 8, 300);
    std::fs::write(dir.path().join("pipeline.toml"), spec_text(ROLLING, 4)).unwrap();
    let spec = PipelineSpec::from_path(dir.path().join("pipeline.toml")).unwrap();
    let summary = spec
        .build(&Registry::standard())
        .await
        .unwrap()
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert!(summary.counts.adds_up());
    assert_eq!(summary.counts.dead_lettered, 8);
    assert_means(
        &stored_means(dir.path()).await,
        &expected_means(&series),
        "one run",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_resumes_with_the_checkpointed_state() {
    let dir = tempfile::tempdir().unwrap();
    let series = write_parts(dir.path(), 8, 300);
    std::fs::write(dir.path().join("pipeline.toml"), spec_text(ROLLING, 2)).unwrap();
    let spec = PipelineSpec::from_path(dir.path().join("pipeline.toml")).unwrap();
    let registry = Registry::standard();

    // Stop the run as soon as its third item has been read: items after it are not done.
    for round in 0..3 {
        let events = std::sync::Arc::new(EventBus::new());
        let mut read = events
            .subscribe(EventFilter::all().event_type(EventType::DataCollected))
            .await
            .unwrap();
        let engine = spec
            .engine_builder(&registry)
            .await
            .unwrap()
            .events(events.clone())
            .build()
            .unwrap();
        let cancel = CancellationToken::new();
        let stopper = cancel.clone();
        let watcher = tokio::spawn(async move {
            let mut seen = 0;
            while read.next().await.is_some() {
                seen += 1;
                if seen == 3 {
                    stopper.cancel();
                }
            }
        });
        let summary = engine.run(cancel).await.unwrap();
        watcher.abort();
        assert!(
            summary.counts.adds_up(),
            "round {round}: {:?}",
            summary.counts
        );
    }
    let summary = spec
        .build(&registry)
        .await
        .unwrap()
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        summary.outcome,
        collectors_core::RunOutcome::Completed,
        "{summary:?}"
    );
    assert_means(
        &stored_means(dir.path()).await,
        &expected_means(&series),
        "interrupted three times, then finished",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_at_once_share_the_items_and_store_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let series = write_parts(dir.path(), 24, 200);
    // Stateless, so the two runs may split the items between them. A short lease: a run
    // that is done with its share waits a third of it before it looks at the other's again.
    let spec = spec_text("", 2).replace("linger_ms = 5", "linger_ms = 5\nlease_ttl_ms = 600");
    std::fs::write(dir.path().join("pipeline.toml"), spec).unwrap();
    let spec = PipelineSpec::from_path(dir.path().join("pipeline.toml")).unwrap();
    let registry = Registry::standard();
    let a = spec.build(&registry).await.unwrap();
    let b = spec.build(&registry).await.unwrap();
    let (ra, rb) = tokio::join!(
        a.run(CancellationToken::new()),
        b.run(CancellationToken::new())
    );
    let (ra, rb) = (ra.unwrap().counts, rb.unwrap().counts);
    assert!(ra.adds_up() && rb.adds_up());
    assert_eq!(
        ra.items_done + rb.items_done,
        24,
        "every item done once in all: {ra:?} {rb:?}"
    );
    assert_eq!(
        ra.collected + rb.collected,
        series.len() as u64 + 24,
        "no item read twice"
    );
    let url = format!("sqlite://{}", dir.path().join("out/parts.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let letters: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _collectors_dead_letters")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        letters, 24,
        "the dead letters, in the store's database, once each"
    );
    assert_eq!(
        ra.dead_lettered + rb.dead_lettered,
        24,
        "each dead letter written by one run only"
    );
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM readings")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows as usize, series.len());
}
