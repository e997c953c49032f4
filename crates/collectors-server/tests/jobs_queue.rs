//! The durable job queue against SQLite in a temp dir and against the real PostgreSQL that
//! `scripts/postgres` starts (`COLLECTORS_TEST_POSTGRES_URL`; one fresh database per test).
//! With `CI=true` a missing server fails the PostgreSQL tests; otherwise they say they were
//! skipped. Waits are on the database's state (reap or claim in a loop, with a deadline),
//! never a bare sleep that wins a race.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use collectors_backends::any_db::{AnyLocation, Dialect};
use collectors_core::ErrorType;
use collectors_server::jobs::{
    Heartbeat, JobEvent, JobFilter, JobQueue, JobStatus, Lease, NewJob, QueueConfig,
};
use serde_json::json;
use uuid::Uuid;

use common::databases::on_both;

on_both!(
    lifecycle_and_fencing,
    backoff_delays_retries_and_the_last_attempt_fails,
    a_job_that_kills_its_worker_fails_after_max_attempts,
    cancel_pending_processing_terminal_unknown,
    an_expired_lease_with_a_cancel_request_is_cancelled,
    concurrent_workers_complete_every_job_exactly_once,
    complete_many_fences_each_lease,
    list_filters_pages_counts_and_purge,
    events_and_wake_up_in_one_process,
    bad_input_is_a_typed_error,
);

fn config(lease_ttl_ms: u64) -> QueueConfig {
    QueueConfig {
        lease_ttl: Duration::from_millis(lease_ttl_ms),
        ..QueueConfig::default()
    }
}

async fn open(location: &AnyLocation, config: QueueConfig) -> JobQueue {
    JobQueue::open(location, config).await.unwrap()
}

/// Runs `step` until it returns `Some`, failing after `limit`.
async fn until<T, F, Fut>(what: &str, limit: Duration, mut step: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = step().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reaps until the reaper took back at least one job; returns its report.
async fn reap_until_taken_back(queue: &JobQueue) -> collectors_server::jobs::ReapReport {
    until("the reaper", Duration::from_secs(5), || async {
        let report = queue.reap().await.unwrap();
        (report.requeued + report.failed > 0).then_some(report)
    })
    .await
}

async fn claim_until(queue: &JobQueue, worker: &str) -> Lease {
    until("a claim", Duration::from_secs(5), || async {
        queue.claim(worker).await.unwrap()
    })
    .await
}

fn ms(time: chrono::DateTime<chrono::Utc>) -> i64 {
    time.timestamp_millis()
}

async fn lifecycle_and_fencing(location: &AnyLocation) {
    let queue = open(location, config(300)).await;
    let job = queue
        .enqueue(NewJob::new("noop", "first").with_payload(json!({"n": 1})))
        .await
        .unwrap();
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!((job.attempts, job.max_attempts), (0, 3));
    assert_eq!(job.payload, json!({"n": 1}));
    assert!(job.lease_until.is_none() && job.started_at.is_none());
    assert_eq!(
        queue.get(job.id).await.unwrap(),
        job,
        "the enqueued job is the stored one"
    );

    let first = queue.claim("w1").await.unwrap().expect("the job is due");
    assert_eq!(first.id(), job.id);
    let claimed = first.job();
    assert_eq!(claimed.status, JobStatus::Processing);
    assert_eq!(claimed.attempts, 1);
    assert_eq!(claimed.worker.as_deref(), Some("w1"));
    let lease_until = claimed.lease_until.expect("leased");
    assert!(
        ms(lease_until) - ms(claimed.updated_at) >= 299,
        "lease of the ttl"
    );
    assert!(claimed.started_at.is_some());

    // Leased: a second worker gets nothing.
    assert!(queue.claim("w2").await.unwrap().is_none());

    assert_eq!(
        queue
            .heartbeat(&first, Some((40.0, Some("reading".into()))))
            .await
            .unwrap(),
        Heartbeat::Continue
    );
    let beaten = queue.get(job.id).await.unwrap();
    assert_eq!(
        (beaten.progress, beaten.message.as_deref()),
        (40.0, Some("reading"))
    );
    assert!(beaten.lease_until.unwrap() >= lease_until, "extended");
    // A heartbeat without progress keeps the progress.
    assert_eq!(
        queue.heartbeat(&first, None).await.unwrap(),
        Heartbeat::Continue
    );
    assert_eq!(queue.get(job.id).await.unwrap().progress, 40.0);

    // w1 stops heartbeating: the reaper requeues the job once the lease expired.
    let report = reap_until_taken_back(&queue).await;
    assert_eq!((report.requeued, report.failed), (1, 0));
    let requeued = queue.get(job.id).await.unwrap();
    assert_eq!(requeued.status, JobStatus::Pending);
    assert!(requeued.lease_until.is_none());

    let second = queue.claim("w2").await.unwrap().expect("requeued, due now");
    assert_eq!(second.id(), job.id);
    assert_ne!(second.token(), first.token());
    assert_eq!(second.job().attempts, 2);

    // The first worker is fenced out everywhere, and writes nothing.
    assert_eq!(
        queue
            .heartbeat(&first, Some((99.0, Some("stale".into()))))
            .await
            .unwrap(),
        Heartbeat::Lost
    );
    assert!(!queue.complete(&first, json!({"by": "w1"})).await.unwrap());
    assert!(
        queue
            .fail(&first, json!({"message": "stale"}), true)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!queue.acknowledge_cancel(&first).await.unwrap());
    let running = queue.get(job.id).await.unwrap();
    assert_eq!(running.status, JobStatus::Processing);
    assert_eq!(running.worker.as_deref(), Some("w2"));
    assert_eq!(running.progress, 0.0);
    assert!(running.result_data.is_none() && running.error.is_none());

    assert_eq!(
        queue.heartbeat(&second, None).await.unwrap(),
        Heartbeat::Continue
    );
    assert!(queue.complete(&second, json!({"by": "w2"})).await.unwrap());
    let done = queue.get(job.id).await.unwrap();
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.progress, 100.0);
    assert_eq!(done.result_data, Some(json!({"by": "w2"})));
    assert!(done.finished_at.is_some() && done.lease_until.is_none());

    // Done: neither worker can write again, and nothing is due.
    assert!(
        !queue
            .complete(&second, json!({"again": true}))
            .await
            .unwrap()
    );
    assert!(!queue.complete(&first, json!({"by": "w1"})).await.unwrap());
    assert_eq!(
        queue.heartbeat(&second, None).await.unwrap(),
        Heartbeat::Lost
    );
    assert_eq!(
        queue.get(job.id).await.unwrap().result_data,
        Some(json!({"by": "w2"}))
    );
    assert!(queue.claim("w3").await.unwrap().is_none());
    assert_eq!(queue.reap().await.unwrap().requeued, 0);
}

async fn backoff_delays_retries_and_the_last_attempt_fails(location: &AnyLocation) {
    let config = QueueConfig {
        lease_ttl: Duration::from_secs(5),
        backoff_base: Duration::from_millis(400),
        backoff_cap: Duration::from_millis(600),
        max_attempts: 3,
        ..QueueConfig::default()
    };
    let queue = open(location, config.clone()).await;
    let job = queue
        .enqueue(NewJob::new("flaky", "retried"))
        .await
        .unwrap();

    // Attempt n fails: due again at now + min(400·2^(n-1), 600) ms.
    let mut expected_delays = [400_i64, 600].into_iter();
    let mut lease = queue.claim("w").await.unwrap().unwrap();
    for attempt in 1..=2_u32 {
        assert_eq!(lease.job().attempts, attempt);
        let failed = queue
            .fail(&lease, json!({"message": format!("boom {attempt}")}), true)
            .await
            .unwrap()
            .expect("the lease held");
        assert_eq!(failed.status, JobStatus::Pending);
        assert!(failed.lease_until.is_none() && failed.finished_at.is_none());
        assert_eq!(
            failed.error,
            Some(json!({"message": format!("boom {attempt}")}))
        );
        let delay = ms(failed.run_at) - ms(failed.updated_at);
        let expected = expected_delays.next().unwrap();
        assert!(
            (expected..=expected + 3).contains(&delay),
            "attempt {attempt}: run_at is {delay} ms after the failure, expected {expected}"
        );
        // Not claimable before run_at.
        assert!(
            queue.claim("w").await.unwrap().is_none(),
            "claimed before run_at"
        );
        lease = claim_until(&queue, "w").await;
        let claimed_at = ms(lease.job().lease_until.unwrap()) - 5000;
        assert!(
            claimed_at >= ms(failed.run_at),
            "claimed at {claimed_at}, due at {}",
            ms(failed.run_at)
        );
    }
    // The third attempt is the last: FAILED, even though retryable.
    assert_eq!(lease.job().attempts, 3);
    let failed = queue
        .fail(&lease, json!({"message": "boom 3"}), true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(failed.finished_at.is_some());
    assert_eq!(queue.get(job.id).await.unwrap().status, JobStatus::Failed);
    assert!(queue.claim("w").await.unwrap().is_none());

    // Not retryable: FAILED at the first attempt.
    let other = queue.enqueue(NewJob::new("bad", "no retry")).await.unwrap();
    let lease = queue.claim("w").await.unwrap().unwrap();
    assert_eq!(lease.id(), other.id);
    let failed = queue
        .fail(&lease, json!("bad input"), false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((failed.status, failed.attempts), (JobStatus::Failed, 1));
    assert_eq!(failed.message.as_deref(), Some("failed: bad input"));
}

async fn a_job_that_kills_its_worker_fails_after_max_attempts(location: &AnyLocation) {
    let queue = open(location, config(150)).await;
    let job = queue
        .enqueue(NewJob::new("poison", "kills its worker"))
        .await
        .unwrap();
    let mut requeued = 0;
    let mut failed = 0;
    for attempt in 1..=3 {
        let lease = claim_until(&queue, &format!("w{attempt}")).await;
        assert_eq!(lease.job().attempts, attempt);
        // The worker dies: no heartbeat, no complete.
        drop(lease);
        let report = reap_until_taken_back(&queue).await;
        requeued += report.requeued;
        failed += report.failed;
    }
    assert_eq!((requeued, failed), (2, 1));
    let dead = queue.get(job.id).await.unwrap();
    assert_eq!(dead.status, JobStatus::Failed);
    assert!(dead.finished_at.is_some());
    let error = dead.error.expect("the reaper says why");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("expired 3 times"), "{message}");
    assert_eq!(error["attempts"], json!(3));
    // Not forever: nothing is due any more.
    assert!(queue.claim("w4").await.unwrap().is_none());
    assert_eq!(queue.reap().await.unwrap(), Default::default());
}

async fn cancel_pending_processing_terminal_unknown(location: &AnyLocation) {
    let queue = open(location, config(30_000)).await;
    // Pending: cancelled at once, never claimed.
    let pending = queue.enqueue(NewJob::new("noop", "a")).await.unwrap();
    let cancelled = queue.cancel(pending.id).await.unwrap();
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    assert!(cancelled.finished_at.is_some());
    assert!(queue.claim("w").await.unwrap().is_none());

    // Processing: flagged; the heartbeat tells the worker, which acknowledges.
    let running = queue.enqueue(NewJob::new("noop", "b")).await.unwrap();
    let lease = queue.claim("w").await.unwrap().unwrap();
    assert_eq!(
        queue.heartbeat(&lease, None).await.unwrap(),
        Heartbeat::Continue
    );
    let flagged = queue.cancel(running.id).await.unwrap();
    assert_eq!(flagged.status, JobStatus::Processing);
    assert!(flagged.cancel_requested);
    assert_eq!(
        queue.heartbeat(&lease, Some((10.0, None))).await.unwrap(),
        Heartbeat::CancelRequested
    );
    // Asking again changes nothing.
    assert!(queue.cancel(running.id).await.unwrap().cancel_requested);
    assert!(queue.acknowledge_cancel(&lease).await.unwrap());
    let acknowledged = queue.get(running.id).await.unwrap();
    assert_eq!(acknowledged.status, JobStatus::Cancelled);
    assert!(acknowledged.lease_until.is_none() && acknowledged.finished_at.is_some());
    assert_eq!(
        queue.heartbeat(&lease, None).await.unwrap(),
        Heartbeat::Lost
    );

    // No cancel was asked: acknowledging does nothing.
    let busy = queue.enqueue(NewJob::new("noop", "c")).await.unwrap();
    let busy_lease = queue.claim("w").await.unwrap().unwrap();
    assert!(!queue.acknowledge_cancel(&busy_lease).await.unwrap());
    assert_eq!(
        queue.get(busy.id).await.unwrap().status,
        JobStatus::Processing
    );

    // Terminal and unknown.
    for id in [pending.id, running.id] {
        let err = queue.cancel(id).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::InvalidState, "{err}");
    }
    assert!(queue.complete(&busy_lease, json!(null)).await.unwrap());
    let err = queue.cancel(busy.id).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::InvalidState);
    let unknown = Uuid::new_v4();
    for err in [
        queue.cancel(unknown).await.unwrap_err(),
        queue.get(unknown).await.unwrap_err(),
        queue.delete(unknown).await.unwrap_err(),
    ] {
        assert_eq!(err.error_type(), ErrorType::NotFound, "{err}");
    }

    // Delete: only finished jobs.
    let live = queue.enqueue(NewJob::new("noop", "d")).await.unwrap();
    let err = queue.delete(live.id).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::InvalidState, "{err}");
    queue.delete(pending.id).await.unwrap();
    assert_eq!(
        queue.get(pending.id).await.unwrap_err().error_type(),
        ErrorType::NotFound
    );
}

async fn an_expired_lease_with_a_cancel_request_is_cancelled(location: &AnyLocation) {
    let queue = open(location, config(150)).await;
    let job = queue.enqueue(NewJob::new("noop", "hung")).await.unwrap();
    let lease = queue.claim("w").await.unwrap().unwrap();
    assert!(queue.cancel(job.id).await.unwrap().cancel_requested);
    // The worker hangs and never acknowledges: once its lease expired, the reaper cancels.
    until("the reaper to cancel", Duration::from_secs(5), || async {
        queue.reap().await.unwrap();
        let now = queue.get(job.id).await.unwrap();
        (now.status != JobStatus::Processing).then_some(now)
    })
    .await;
    let cancelled = queue.get(job.id).await.unwrap();
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    assert_eq!(
        queue.heartbeat(&lease, None).await.unwrap(),
        Heartbeat::Lost
    );
    assert!(queue.claim("w").await.unwrap().is_none(), "not requeued");
}

async fn concurrent_workers_complete_every_job_exactly_once(location: &AnyLocation) {
    const JOBS: usize = 1000;
    // On PostgreSQL two queues, two pools, as two processes would be; SQLite has one
    // writer at a time anyway.
    let first = open(location, config(30_000)).await;
    let second = match location.dialect() {
        Dialect::Postgres => open(location, config(30_000)).await,
        Dialect::Sqlite => first.clone(),
    };
    let enqueued = first
        .enqueue_many(
            (0..JOBS)
                .map(|i| NewJob::new("noop", format!("job {i}")).with_payload(json!(i)))
                .collect(),
        )
        .await
        .unwrap();
    assert_eq!(enqueued.len(), JOBS);
    assert_eq!(enqueued[7].payload, json!(7), "in the caller's order");

    let mut workers = Vec::new();
    for w in 0..8 {
        let queue = if w % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        workers.push(tokio::spawn(async move {
            let name = format!("w{w}");
            let mut completed = Vec::new();
            loop {
                // Half the workers claim one job at a time, half in batches.
                let leases: Vec<Lease> = if w < 4 {
                    queue.claim(&name).await.unwrap().into_iter().collect()
                } else {
                    let leases = queue.claim_many(&name, 7).await.unwrap();
                    assert!(leases.len() <= 7, "{} leases for 7 asked", leases.len());
                    leases
                };
                if leases.is_empty() {
                    let counts = queue.counts_by_status().await.unwrap();
                    if counts[&JobStatus::Pending] == 0 {
                        return completed;
                    }
                }
                if w < 4 {
                    for lease in leases {
                        if queue.complete(&lease, json!({"by": name})).await.unwrap() {
                            completed.push(lease.id());
                        }
                    }
                } else {
                    let done: Vec<_> = leases
                        .into_iter()
                        .map(|l| (l, json!({"by": name})))
                        .collect();
                    let held = queue.complete_many(&done).await.unwrap();
                    for ((lease, _), held) in done.iter().zip(held) {
                        if held {
                            completed.push(lease.id());
                        }
                    }
                }
            }
        }));
    }
    let mut completes: HashMap<Uuid, usize> = HashMap::new();
    let mut busy_workers = 0;
    for worker in workers {
        let completed = worker.await.unwrap();
        busy_workers += usize::from(!completed.is_empty());
        for id in completed {
            *completes.entry(id).or_default() += 1;
        }
    }
    assert_eq!(completes.len(), JOBS, "every job completed");
    assert!(completes.values().all(|&n| n == 1), "exactly once each");
    let ids: HashSet<Uuid> = enqueued.iter().map(|j| j.id).collect();
    assert!(completes.keys().all(|id| ids.contains(id)));
    assert!(busy_workers > 1, "the work was shared");
    let counts = second.counts_by_status().await.unwrap();
    assert_eq!(counts[&JobStatus::Completed], JOBS as u64);
    assert_eq!(counts.values().sum::<u64>(), JOBS as u64, "none lost");
    assert_eq!(counts[&JobStatus::Processing], 0);
}

async fn complete_many_fences_each_lease(location: &AnyLocation) {
    let queue = open(location, config(30_000)).await;
    let mut events = queue.subscribe();
    for i in 0..3 {
        queue
            .enqueue(NewJob::new("noop", format!("job {i}")))
            .await
            .unwrap();
    }
    let leases = queue.claim_many("w", 3).await.unwrap();
    assert_eq!(leases.len(), 3);
    // The middle one ends another way first: its lease no longer holds.
    assert!(
        queue
            .complete(&leases[1], json!({"by": "alone"}))
            .await
            .unwrap()
    );
    let done: Vec<_> = leases
        .iter()
        .enumerate()
        .map(|(i, l)| (l.clone(), json!({"n": i})))
        .collect();
    assert_eq!(
        queue.complete_many(&done).await.unwrap(),
        vec![true, false, true]
    );
    for (i, lease) in leases.iter().enumerate() {
        let job = queue.get(lease.id()).await.unwrap();
        assert_eq!(job.status, JobStatus::Completed);
        assert_eq!(job.progress, 100.0);
        let expected = if i == 1 {
            json!({"by": "alone"})
        } else {
            json!({"n": i})
        };
        assert_eq!(job.result_data, Some(expected), "job {i}");
        assert_eq!(job.message.as_deref(), Some("completed"), "job {i}");
    }
    // Published like single completions: the two written by complete_many are seen.
    let mut seen: HashMap<Uuid, Vec<JobStatus>> = HashMap::new();
    for _ in 0..9 {
        let event = next_event(&mut events).await;
        seen.entry(event.id).or_default().push(event.status);
    }
    for lease in &leases {
        assert_eq!(
            seen[&lease.id()],
            [
                JobStatus::Pending,
                JobStatus::Processing,
                JobStatus::Completed
            ]
        );
    }
    assert!(queue.complete_many(&[]).await.unwrap().is_empty());
}

async fn list_filters_pages_counts_and_purge(location: &AnyLocation) {
    let config = QueueConfig {
        retention: Duration::from_millis(600),
        ..config(30_000)
    };
    let queue = open(location, config).await;
    let file = Uuid::new_v4();
    let jobs = queue
        .enqueue_many(
            (0..5)
                .map(|i| {
                    let job = NewJob::new(if i % 2 == 0 { "even" } else { "odd" }, format!("{i}"));
                    if i == 3 {
                        job.with_data_file(file)
                    } else {
                        job
                    }
                })
                .collect(),
        )
        .await
        .unwrap();

    let all = queue.list(&JobFilter::default()).await.unwrap();
    assert_eq!(all.total, 5);
    let newest_first: Vec<Uuid> = jobs.iter().rev().map(|j| j.id).collect();
    assert_eq!(
        all.jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        newest_first
    );

    let mut paged = Vec::new();
    for offset in [0, 2, 4] {
        let page = queue
            .list(&JobFilter {
                limit: 2,
                offset,
                ..JobFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(page.total, 5);
        assert!(page.jobs.len() <= 2);
        paged.extend(page.jobs.into_iter().map(|j| j.id));
    }
    assert_eq!(paged, newest_first);
    let huge = queue
        .list(&JobFilter {
            limit: u32::MAX,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(huge.jobs.len(), 5);

    let even = queue
        .list(&JobFilter {
            kind: Some("even".into()),
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(even.total, 3);
    assert!(even.jobs.iter().all(|j| j.kind == "even"));
    let on_file = queue
        .list(&JobFilter {
            data_file_id: Some(file),
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        on_file.jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![jobs[3].id]
    );

    // The oldest due job is claimed first.
    let lease = queue.claim("w").await.unwrap().unwrap();
    assert_eq!(lease.id(), jobs[0].id);
    assert!(queue.complete(&lease, json!({})).await.unwrap());
    queue.cancel(jobs[1].id).await.unwrap();
    assert_eq!(
        queue.purge_finished().await.unwrap(),
        0,
        "finished just now"
    );
    let _running = queue.claim("w").await.unwrap().unwrap();

    let counts = queue.counts_by_status().await.unwrap();
    let expected = [
        (JobStatus::Pending, 2),
        (JobStatus::Processing, 1),
        (JobStatus::Completed, 1),
        (JobStatus::Failed, 0),
        (JobStatus::Cancelled, 1),
    ];
    assert_eq!(counts.into_iter().collect::<Vec<_>>(), expected);
    let completed = queue
        .list(&JobFilter {
            status: Some(JobStatus::Completed),
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        completed.jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![jobs[0].id]
    );
    let odd_cancelled = queue
        .list(&JobFilter {
            status: Some(JobStatus::Cancelled),
            kind: Some("odd".into()),
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(odd_cancelled.total, 1);

    // Retention: only terminal jobs finished longer ago than it go.
    // The two finished at different times: their retention ends at different times too.
    let purged = std::sync::atomic::AtomicU64::new(0);
    until("the retention to pass", Duration::from_secs(5), || async {
        let now = queue.purge_finished().await.unwrap();
        let total = purged.fetch_add(now, std::sync::atomic::Ordering::SeqCst) + now;
        (total >= 2).then_some(())
    })
    .await;
    assert_eq!(purged.into_inner(), 2);
    let counts = queue.counts_by_status().await.unwrap();
    assert_eq!(counts[&JobStatus::Pending], 2);
    assert_eq!(counts[&JobStatus::Processing], 1);
    assert_eq!(counts.values().sum::<u64>(), 3);
    assert_eq!(
        queue.get(jobs[0].id).await.unwrap_err().error_type(),
        ErrorType::NotFound
    );
}

async fn events_and_wake_up_in_one_process(location: &AnyLocation) {
    let queue = open(location, config(30_000)).await;
    let mut events = queue.subscribe();

    // Nothing enqueued: the wait lasts its timeout.
    let started = Instant::now();
    queue.wait_for_work(Duration::from_millis(200)).await;
    assert!(started.elapsed() >= Duration::from_millis(200));

    // An enqueue wakes a waiting worker well before its timeout.
    let waiter = {
        let queue = queue.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            queue.wait_for_work(Duration::from_secs(30)).await;
            started.elapsed()
        })
    };
    let job = queue.enqueue(NewJob::new("noop", "wake")).await.unwrap();
    let waited = waiter.await.unwrap();
    assert!(waited < Duration::from_secs(5), "woken after {waited:?}");

    let lease = queue.claim("w").await.unwrap().unwrap();
    queue
        .heartbeat(&lease, Some((60.0, Some("most".into()))))
        .await
        .unwrap();
    queue.complete(&lease, json!({})).await.unwrap();
    let seen: Vec<JobEvent> = receive(&mut events, job.id, 4).await;
    assert_eq!(
        seen.iter()
            .map(|e| (e.status, e.progress))
            .collect::<Vec<_>>(),
        vec![
            (JobStatus::Pending, 0.0),
            (JobStatus::Processing, 0.0),
            (JobStatus::Processing, 60.0),
            (JobStatus::Completed, 100.0),
        ]
    );
    assert_eq!(seen[2].message.as_deref(), Some("most"));
}

/// The next event, within 5 s.
async fn next_event(events: &mut tokio::sync::broadcast::Receiver<JobEvent>) -> JobEvent {
    tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("an event within 5 s")
        .unwrap()
}

/// The next `n` events of job `id` (others skipped), each within 5 s.
async fn receive(
    events: &mut tokio::sync::broadcast::Receiver<JobEvent>,
    id: Uuid,
    n: usize,
) -> Vec<JobEvent> {
    let mut seen = Vec::new();
    while seen.len() < n {
        let event = next_event(events).await;
        if event.id == id {
            seen.push(event);
        }
    }
    seen
}

async fn bad_input_is_a_typed_error(location: &AnyLocation) {
    for config in [
        QueueConfig {
            lease_ttl: Duration::ZERO,
            ..QueueConfig::default()
        },
        QueueConfig {
            max_attempts: 0,
            ..QueueConfig::default()
        },
    ] {
        let err = JobQueue::open(location, config).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration);
    }
    let queue = open(location, config(30_000)).await;
    let clamped = QueueConfig {
        backoff_cap: Duration::from_secs(60),
        ..config(1000)
    };
    let clamped = JobQueue::open(location, clamped).await.unwrap();
    assert!(clamped.config().backoff_cap < clamped.config().lease_ttl);

    for job in [
        NewJob::new(" ", "blank kind"),
        NewJob::new("noop", "zero attempts").with_max_attempts(0),
        NewJob::new("noop", "too many").with_max_attempts(1_000_000),
    ] {
        let err = queue.enqueue(job).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Validation, "{err}");
    }
    // One bad job in a batch: none is added.
    let err = queue
        .enqueue_many(vec![NewJob::new("noop", "fine"), NewJob::new("", "bad")])
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation);
    assert_eq!(queue.list(&JobFilter::default()).await.unwrap().total, 0);

    queue
        .enqueue(NewJob::new("noop", "ok").with_max_attempts(1))
        .await
        .unwrap();
    for max in [0, 1001] {
        let err = queue.claim_many("w", max).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Validation);
    }
    let lease = queue.claim("w").await.unwrap().unwrap();
    assert_eq!(lease.job().max_attempts, 1);
    for progress in [-1.0, 100.5, f64::NAN, f64::INFINITY] {
        let err = queue
            .heartbeat(&lease, Some((progress, None)))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Validation);
    }
    assert_eq!(queue.get(lease.id()).await.unwrap().progress, 0.0);
    // Heartbeats with and without progress, alternating on the pool's connections (a NULL
    // float once made a prepared statement refuse later floats on PostgreSQL).
    for i in 0..12 {
        let progress = (i % 2 == 1).then_some((f64::from(i), None));
        assert_eq!(
            queue.heartbeat(&lease, progress).await.unwrap(),
            Heartbeat::Continue
        );
    }
    assert_eq!(queue.get(lease.id()).await.unwrap().progress, 11.0);
    // Odd but valid text is stored as given.
    let odd = queue
        .enqueue(
            NewJob::new("noop", "'; DROP TABLE _collectors_jobs; --")
                .with_payload(json!({"k": "\u{0}é"})),
        )
        .await
        .unwrap();
    let back = queue.get(odd.id).await.unwrap();
    assert_eq!(back.name, "'; DROP TABLE _collectors_jobs; --");
    assert_eq!(back.payload, json!({"k": "\u{0}é"}));
    assert!(queue.ping().await.is_ok());
    // A password in the database URL is in no Debug output.
    if let AnyLocation::Postgres(url) = location {
        let (_, rest) = url.split_once("://").unwrap();
        let (credentials, _) = rest.split_once('@').unwrap();
        let (_, password) = credentials.split_once(':').unwrap();
        let shown = format!(
            "{queue:?} {:?}",
            collectors_server::jobs::JobTracker::new(queue.clone())
        );
        assert!(!shown.contains(password), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }
}

/// On PostgreSQL, other processes hear of changes through `LISTEN`/`NOTIFY`.
#[cfg(feature = "postgres")]
mod across_processes {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn an_enqueue_elsewhere_wakes_a_waiting_worker() {
        let Some(db) = crate::common::databases::postgres_db().await else {
            return;
        };
        let producer = open(&db.location, config(30_000)).await;
        let worker = open(&db.location, config(30_000)).await;
        worker.listen().await.unwrap();

        // No wake-up without an enqueue.
        let started = Instant::now();
        worker.wait_for_work(Duration::from_millis(200)).await;
        assert!(started.elapsed() >= Duration::from_millis(200));

        let waiter = {
            let worker = worker.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                worker.wait_for_work(Duration::from_secs(30)).await;
                started.elapsed()
            })
        };
        producer
            .enqueue(NewJob::new("noop", "elsewhere"))
            .await
            .unwrap();
        let waited = waiter.await.unwrap();
        assert!(waited < Duration::from_secs(5), "woken after {waited:?}");
        assert!(worker.claim("w").await.unwrap().is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn subscribers_see_other_processes_changes_once() {
        let Some(db) = crate::common::databases::postgres_db().await else {
            return;
        };
        let a = open(&db.location, config(30_000)).await;
        let b = open(&db.location, config(30_000)).await;
        let mut events = a.subscribe();
        a.listen().await.unwrap();

        // Two changes of a's own (pending, cancelled), then b's.
        let own = a.enqueue(NewJob::new("noop", "a's")).await.unwrap();
        a.cancel(own.id).await.unwrap();
        let theirs = b.enqueue(NewJob::new("noop", "b's")).await.unwrap();
        let lease = b.claim("b").await.unwrap().unwrap();
        assert_eq!(lease.id(), theirs.id);
        b.heartbeat(&lease, Some((50.0, Some("half".into()))))
            .await
            .unwrap();
        assert!(b.complete(&lease, json!({"ok": true})).await.unwrap());

        // Collect until b's job completed: a's own events arrive once each (had a heard
        // its own notifications, they would come before b's, in commit order).
        let mut mine = 0;
        let mut seen = Vec::new();
        while seen
            .last()
            .is_none_or(|e: &JobEvent| e.status != JobStatus::Completed)
        {
            let event = next_event(&mut events).await;
            if event.id == own.id {
                mine += 1;
            } else if event.id == theirs.id {
                seen.push(event);
            }
        }
        assert_eq!(mine, 2, "own events are not doubled");
        assert_eq!(
            seen.iter()
                .map(|e| (e.status, e.progress))
                .collect::<Vec<_>>(),
            vec![
                (JobStatus::Pending, 0.0),
                (JobStatus::Processing, 0.0),
                (JobStatus::Processing, 50.0),
                (JobStatus::Completed, 100.0),
            ]
        );
        assert_eq!(seen[2].message.as_deref(), Some("half"));
    }
}
