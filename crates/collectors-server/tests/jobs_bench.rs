//! Job-queue throughput, on SQLite and (with `COLLECTORS_TEST_POSTGRES_URL`) PostgreSQL:
//! `enqueue_many` of 10,000 jobs in one transaction, then 10,000 trivial jobs claimed (one at a
//! time, and 16 at a time with `claim_many`) and completed by 1, 2 and 4 workers (each worker its own `JobQueue`, so its own pool, as
//! separate processes would be). Ignored by default; one command runs it:
//!
//! ```text
//! source scripts/postgres && postgres_start && \
//!   cargo test --release -p collectors-server --features postgres --test jobs_bench -- --ignored --nocapture; \
//!   postgres_stop
//! ```
//!
//! It prints one line per figure (jobs/s); the queue alone, without the REST API or the
//! worker loop of the service.

use std::time::{Duration, Instant};

use collectors_backends::any_db::AnyLocation;
use collectors_server::jobs::{JobQueue, NewJob, QueueConfig};
use serde_json::json;

const JOBS: usize = 10_000;

async fn bench(label: &str, location: &AnyLocation, workers: &[usize], batch: u32) {
    for &n in workers {
        let queue = JobQueue::open(location, QueueConfig::default())
            .await
            .unwrap();
        let jobs: Vec<NewJob> = (0..JOBS)
            .map(|i| NewJob::new("noop", format!("job {i}")).with_payload(json!({"i": i})))
            .collect();
        let started = Instant::now();
        queue.enqueue_many(jobs).await.unwrap();
        let enqueued = started.elapsed();
        println!(
            "{label}: enqueue_many {JOBS} jobs: {:.0} ms ({:.0} jobs/s)",
            ms(enqueued),
            rate(enqueued)
        );
        let mut queues = Vec::new();
        for _ in 0..n {
            queues.push(
                JobQueue::open(location, QueueConfig::default())
                    .await
                    .unwrap(),
            );
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (w, queue) in queues.into_iter().enumerate() {
            tasks.push(tokio::spawn(async move {
                let name = format!("bench-{w}");
                let mut done = 0_usize;
                loop {
                    let leases: Vec<_> = if batch == 1 {
                        queue.claim(&name).await.unwrap().into_iter().collect()
                    } else {
                        queue.claim_many(&name, batch).await.unwrap()
                    };
                    if leases.is_empty() {
                        return done;
                    }
                    for lease in leases {
                        assert!(queue.complete(&lease, json!({"ok": true})).await.unwrap());
                        done += 1;
                    }
                }
            }));
        }
        let mut done = 0;
        for task in tasks {
            done += task.await.unwrap();
        }
        let elapsed = started.elapsed();
        assert_eq!(done, JOBS);
        println!(
            "{label}: claim{} + complete {JOBS} jobs, {n} worker(s): {:.0} ms ({:.0} jobs/s)",
            if batch == 1 {
                String::new()
            } else {
                format!("_many({batch})")
            },
            ms(elapsed),
            rate(elapsed)
        );
        // The next round starts from an empty queue.
        let purge = JobQueue::open(
            location,
            QueueConfig {
                retention: Duration::ZERO,
                ..QueueConfig::default()
            },
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        purge.purge_finished().await.unwrap();
    }
}

fn ms(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1000.0
}

fn rate(elapsed: Duration) -> f64 {
    JOBS as f64 / elapsed.as_secs_f64()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: run with --ignored --nocapture"]
async fn job_rate() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = AnyLocation::File(dir.path().join("jobs.db"));
    bench("sqlite", &sqlite, &[1, 2], 1).await;
    bench("sqlite", &sqlite, &[1, 2], 16).await;
    #[cfg(feature = "postgres")]
    if let Ok(server) = std::env::var(collectors_mocks::services::POSTGRES_URL_ENV) {
        let admin = sqlx::postgres::PgPool::connect(&server).await.unwrap();
        let name = format!("jobs_bench_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        let (base, _) = server.rsplit_once('/').unwrap();
        let postgres = AnyLocation::Postgres(format!("{base}/{name}"));
        bench("postgres", &postgres, &[1, 2, 4], 1).await;
        bench("postgres", &postgres, &[1, 2, 4], 16).await;
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&admin)
            .await
            .unwrap();
    }
}
