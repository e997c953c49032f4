//! Scale-out on PostgreSQL: two `collectors run` processes on one pipeline file and one
//! database, started at once; one is `kill -9`ed once it holds leases and has stored rows
//! (seen in the database, not guessed from a delay). The other takes over its leased items
//! and finishes the run: every row is stored exactly once, and the counters add up.
//!
//! The server is the throwaway cluster `scripts/postgres` starts (`COLLECTORS_TEST_POSTGRES_URL`).
//! With `CI=true` a missing server fails this test; otherwise it says it was skipped.
#![cfg(feature = "postgres")]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

use collectors_mocks::services::postgres_url as server;

/// CSV files → keep `status = ok` → a PostgreSQL table, with its checkpoints and leases in
/// the same database; small store batches so that a run commits often, a short lease.
fn pipeline(name: &str, url: &str, table: &str) -> String {
    format!(
        r#"name = "{name}"

[engine]
max_items_in_flight = 2
store_batch_rows = 2000
lease_ttl_ms = 1000

[[source]]
id = "files"
kind = "local"
path = "data"
pattern = "*.csv"
format = "csv"

[source.csv]
schema = [
  {{ name = "ts", type = "timestamp" }},
  {{ name = "sensor_id", type = "utf8" }},
  {{ name = "value", type = "float64" }},
  {{ name = "status", type = "utf8" }},
]

[[processor]]
type = "filter"
column = "status"
op = "eq"
value = "ok"

[store]
kind = "postgres"
url = "{url}"
table = "{table}"
"#
    )
}

/// A run whose connections are tagged `app` (sqlx reads `PGAPPNAME`, as libpq does).
fn start(dir: &Path, app: &str) -> Child {
    Command::new(BIN)
        .args(["run", "pipeline.toml", "--quiet"])
        .current_dir(dir)
        .env("COLLECTORS_LOG", "warn")
        .env("PGAPPNAME", app)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a run")
}

/// In one snapshot: the items leased by the process `pid`, and the items checkpointed with
/// their stored rows (a checkpoint and the end of its lease commit together).
async fn progress(
    db: &sqlx::PgPool,
    pipeline: &str,
    pid: u32,
) -> (Vec<String>, Vec<(String, i64)>) {
    let mut tx = db.begin().await.unwrap();
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *tx)
        .await
        .unwrap();
    let leased: Vec<String> = sqlx::query_scalar(
        "SELECT item_id FROM _collectors_leases \
         WHERE pipeline = $1 AND owner LIKE '%/' || $2 || '/%' ORDER BY item_id",
    )
    .bind(pipeline)
    .bind(pid.to_string())
    .fetch_all(&mut *tx)
    .await
    .unwrap_or_default();
    let done: Vec<(String, i64)> = sqlx::query_as(
        "SELECT item_id, stored FROM _collectors_checkpoints WHERE pipeline = $1 ORDER BY item_id",
    )
    .bind(pipeline)
    .fetch_all(&mut *tx)
    .await
    .unwrap_or_default();
    tx.rollback().await.unwrap();
    (leased, done)
}

/// Whether any backend of `app` is running a statement it has all of (a `COPY` whose data
/// the frozen client has not finished sending waits on it, `ClientRead`, and cannot commit).
async fn busy(db: &sqlx::PgPool, app: &str) -> bool {
    sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
         AND state = 'active' AND wait_event IS DISTINCT FROM 'ClientRead'",
    )
    .bind(app)
    .fetch_one(db)
    .await
    .unwrap()
        > 0
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {sig}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_share_a_pipeline_and_the_survivor_takes_over_the_killed_runs_items() {
    let Some(url) = server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let files = 24;
    generate(dir.path(), 240_000, files, 7);
    let expected = expected_rows(&dir.path().join("data")).len() as i64;
    let tag = format!(
        "{}{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let name = format!("scale-out-{tag}");
    let table = format!("scale_out_{tag}");
    std::fs::write(
        dir.path().join("pipeline.toml"),
        pipeline(&name, &url, &table),
    )
    .unwrap();
    let db = sqlx::PgPool::connect(&url).await.unwrap();

    let victim_app = format!("victim_{tag}");
    let mut victim = start(dir.path(), &victim_app);
    let survivor = start(dir.path(), &format!("survivor_{tag}"));

    // Wait until the victim holds leases and items have been checkpointed: mid-run.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (leased, done) = progress(&db, &name, victim.id()).await;
        if !leased.is_empty() && !done.is_empty() {
            break;
        }
        assert!(
            victim.try_wait().unwrap().is_none(),
            "the victim ended before it could be killed mid-run"
        );
        assert!(Instant::now() < deadline, "the runs never started working");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Freeze it, let the statements it had sent finish, and read what it holds: nothing can
    // change its share after that (its open transactions die with it). Then kill -9.
    signal(&victim, "-STOP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while busy(&db, &victim_app).await {
        assert!(
            Instant::now() < deadline,
            "the frozen run's statements never ended"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (held_at_kill, done_at_kill) = progress(&db, &name, victim.id()).await;
    signal(&victim, "-KILL");
    victim.wait().expect("reap the victim");
    assert!(
        done_at_kill.len() < files as usize,
        "killed mid-run: {} of {files} items done",
        done_at_kill.len()
    );

    let out = tokio::task::spawn_blocking(move || survivor.wait_with_output())
        .await
        .unwrap()
        .expect("the survivor ends");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!(
        "killed holding {held_at_kill:?} with {} of {files} items done; the survivor:\n{stdout}",
        done_at_kill.len()
    );
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("completed"), "{stdout}");
    assert!(stdout.contains("failed: ok"), "its counts add up: {stdout}");
    assert_eq!(summary_value(&stdout, "failed"), 0);

    // Every item is checkpointed once, and the items the killed run held were finished by
    // the survivor: the victim's transactions on them died with it.
    let (leased, done) = progress(&db, &name, victim.id()).await;
    assert!(
        leased.is_empty(),
        "no lease of the dead run is left: {leased:?}"
    );
    assert_eq!(done.len(), files as usize, "every item done once");
    for item in &held_at_kill {
        assert!(
            done.iter().any(|(id, _)| id == item),
            "{item}, leased by the killed run, was taken over"
        );
    }

    // Every row stored exactly once.
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&db)
        .await
        .unwrap();
    let distinct: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM (SELECT DISTINCT ts, sensor_id FROM {table}) d"
    ))
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((total, distinct), (expected, expected));

    // The counters add up to the input: what the survivor stored, plus what the killed run
    // had committed with the checkpoints of the items it finished (the survivor found those
    // already done, or done while it waited for their leases), is every row; the
    // checkpoints' own counts say the same.
    let stored_by_survivor = summary_value(&stdout, "stored") as i64;
    let checkpointed: i64 = done.iter().map(|(_, n)| n).sum();
    assert_eq!(
        checkpointed, expected,
        "the checkpoints count each row once"
    );
    // Items done when the victim died were done by either run; the rest by the survivor.
    let by_victim: i64 = done_at_kill.iter().map(|(_, n)| n).sum();
    assert!(
        stored_by_survivor >= expected - by_victim && stored_by_survivor <= expected,
        "the survivor stored {stored_by_survivor} of {expected}; \
         {by_victim} were in items done when the other run was killed"
    );
    // `items  N listed, N already done, N done, N not finished`
    let counts: Vec<u64> = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("items "))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|w| w.trim_end_matches(',').parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let [listed, already, done_here, unfinished] = counts[..] else {
        panic!("no items line in {stdout}")
    };
    assert_eq!(unfinished, 0);
    let elsewhere = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("leased items"))
        .map_or(0, |l| {
            l.split_whitespace()
                .nth(2)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        });
    assert_eq!(listed, files);
    assert_eq!(
        already + done_here + elsewhere,
        listed,
        "every item was done here or by the killed run: {stdout}"
    );
    assert!(
        done_here >= held_at_kill.len() as u64,
        "the survivor did at least the items the killed run held: {stdout}"
    );

    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
}
