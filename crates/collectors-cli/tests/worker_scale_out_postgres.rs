//! Scale-out of the ETL service on PostgreSQL: two `collectors worker` processes share one
//! queue; one is `kill -9`ed while it runs jobs (seen in the jobs table, not guessed from a
//! delay). Its jobs are re-run by the other once their leases expire, and every one of the
//! 1,004 jobs enqueued ends COMPLETED exactly once: none lost, none doubled.
//!
//! The server is the throwaway cluster `scripts/postgres` starts; with `CI=true` a missing
//! server fails this test, otherwise it says it was skipped.
#![cfg(feature = "postgres")]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use collectors_backends::any_db::AnyLocation;
use collectors_mocks::services::fresh_postgres_database;
use collectors_server::etl::EtlPayload;
use collectors_server::jobs::{JobFilter, JobQueue, JobStatus, NewJob, QueueConfig};

const BIN: &str = env!("CARGO_BIN_EXE_collectors");

struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn worker(url: &str, data: &Path, store: &Path) -> Worker {
    let child = Command::new(BIN)
        .args([
            "worker",
            "--workers",
            "2",
            "--lease-ms",
            "1500",
            "--database",
            url,
        ])
        .arg("--data-dir")
        .arg(data)
        .arg("--store")
        .arg(store)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Worker(child)
}

fn noop(delay_ms: u64) -> NewJob {
    NewJob {
        kind: "noop".into(),
        name: format!("noop {delay_ms} ms"),
        data_file_id: None,
        payload: serde_json::to_value(EtlPayload::Noop { delay_ms }).unwrap(),
        max_attempts: Some(5),
    }
}

/// The jobs `pid`'s workers are running now.
async fn running_on(queue: &JobQueue, pid: u32) -> Vec<uuid::Uuid> {
    let filter = JobFilter {
        status: Some(JobStatus::Processing),
        limit: 1000,
        ..JobFilter::default()
    };
    let page = queue.list(&filter).await.unwrap();
    // Workers lease under `{host}/{pid}`.
    let mark = format!("/{pid}");
    page.jobs
        .into_iter()
        .filter(|j| j.worker.as_deref().is_some_and(|w| w.ends_with(&mark)))
        .map(|j| j.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_workers_jobs_are_rerun_by_the_other_and_complete_exactly_once() {
    let Some(url) = fresh_postgres_database("workers").await else {
        return;
    };
    let queue = JobQueue::open(&AnyLocation::Postgres(url.clone()), QueueConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir_all(&store).unwrap();

    let slow = queue
        .enqueue_many((0..4).map(|_| noop(3000)).collect())
        .await
        .unwrap();
    let mut victim = worker(&url, &dir.path().join("a"), &store);
    let victim_pid = victim.0.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    let held = loop {
        let held = running_on(&queue, victim_pid).await;
        if !held.is_empty() {
            break held;
        }
        assert!(
            Instant::now() < deadline,
            "the first worker never took a job"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let survivor = worker(&url, &dir.path().join("b"), &store);
    queue
        .enqueue_many((0..1000).map(|_| noop(0)).collect())
        .await
        .unwrap();
    victim.0.kill().unwrap();
    victim.0.wait().unwrap();

    let total = slow.len() as u64 + 1000;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let counts = queue.counts_by_status().await.unwrap();
        let completed = counts.get(&JobStatus::Completed).copied().unwrap_or(0);
        assert_eq!(
            counts.get(&JobStatus::Failed).copied().unwrap_or(0),
            0,
            "{counts:?}"
        );
        if completed == total {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all jobs completed: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all = queue
        .list(&JobFilter {
            limit: 1000,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(all.total, total, "no job was lost or added");
    let survivor_mark = format!("/{}", survivor.0.id());
    for id in held {
        let job = queue.get(id).await.unwrap();
        assert_eq!(job.status, JobStatus::Completed);
        assert!(job.attempts >= 2, "the killed run was retried: {job:?}");
        assert!(
            job.worker
                .as_deref()
                .is_some_and(|w| w.ends_with(&survivor_mark)),
            "the survivor completed it: {job:?}"
        );
        assert_eq!(job.result_data.as_ref().unwrap()["delay_ms"], 3000);
    }
}
