//! `kill -9` at random points, then rerun to completion: no row is missing, none duplicated.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// The example pipeline on a generated data set, with small store batches so interruptions
/// land between many commits; returns the directory and the rows it must end with.
fn large_run(rows: u64, files: u64, seed: u64) -> (tempfile::TempDir, i64) {
    let dir = tempfile::tempdir().unwrap();
    copy_pipeline(dir.path());
    let pipeline = std::fs::read_to_string(dir.path().join("pipeline.toml")).unwrap();
    let small_batches = pipeline.replace("store_batch_rows = 50000", "store_batch_rows = 5000");
    std::fs::write(dir.path().join("pipeline.toml"), small_batches).unwrap();
    generate(dir.path(), rows, files, seed);
    let expected = expected_rows(&dir.path().join("data")).len() as i64;
    (dir, expected)
}

#[test]
fn killing_the_process_at_random_points_loses_and_duplicates_nothing() {
    let (dir, expected) = large_run(200_000, 8, 2026);

    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let mut kills = 0;
    for _ in 0..5 {
        let mut child = Command::new(BIN)
            .args(["run", "pipeline.toml", "--quiet"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the run");
        // The kill point: a seeded random moment of the run.
        std::thread::sleep(Duration::from_millis(rng.u64(50..1500)));
        if child.try_wait().expect("poll the child").is_none() {
            child.kill().expect("SIGKILL");
            kills += 1;
        }
        child.wait().expect("reap the child");
    }
    let last = collectors(dir.path(), &["run", "pipeline.toml", "--quiet"]);
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stdout)
    );
    assert!(kills > 0, "no run was killed: the test proved nothing");

    let (total, distinct) = count_rows_blocking(&dir.path().join("out/sensors.db"));
    assert_eq!(
        total, expected,
        "no row missing or extra after {kills} kills"
    );
    assert_eq!(distinct, total, "no row duplicated");
    // And the rolling means, whose windows carry across the files, are those of one
    // uninterrupted run: the state is checkpointed with each file.
    let stored = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(stored_rows(&dir.path().join("out/sensors.db")));
    assert_rows_match(&stored, &expected_rows(&dir.path().join("data")));
}

#[test]
fn ctrl_c_drains_checkpoints_and_the_next_run_finishes() {
    let (dir, expected) = large_run(600_000, 12, 99);

    let child = Command::new(BIN)
        .args(["run", "pipeline.toml", "--quiet"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the run");
    // Interrupt once rows are being written: mid-run.
    let wal = dir.path().join("out/sensors.db-wal");
    while std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) < 512 * 1024 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let out = child.wait_with_output().expect("the run ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("cancelled"), "{stdout}");
    assert!(
        stdout.contains("failed: ok") || stdout.contains("dead-lettered + failed: ok"),
        "counts add up: {stdout}"
    );
    assert_eq!(summary_value(&stdout, "failed"), 0);

    let rest = collectors(dir.path(), &["run", "pipeline.toml", "--quiet"]);
    let rest_out = String::from_utf8_lossy(&rest.stdout);
    assert!(rest.status.success(), "{rest_out}");
    assert!(
        summary_value(&stdout, "stored") > 0,
        "the interrupt came mid-run: {stdout}"
    );
    let (total, distinct) = count_rows_blocking(&dir.path().join("out/sensors.db"));
    assert_eq!((total, distinct), (expected, expected));
}
