//! Workers: claim a job, keep its lease alive with a heartbeat (which also carries progress
//! and notices a cancel request), run it, and record how it ended — fenced by the lease's
//! token, so a worker that lost its lease cannot overwrite the re-run's result.

use std::time::{Duration, Instant};

use collectors_core::{CancellationToken, Error};
use serde_json::json;
use tokio::sync::watch;

use crate::etl::EtlRunner;
use crate::etl::runner::RunEnd;
use crate::jobs::{Heartbeat, JobQueue, Lease};

/// Runs `count` workers named `{prefix}-{n}` until `shutdown` fires, plus one reaper that
/// re-queues expired leases and purges old jobs every `reap_interval`. A job still running
/// at shutdown is stopped and handed back to the queue.
pub(crate) async fn run_workers(
    queue: JobQueue,
    runner: EtlRunner,
    prefix: String,
    count: usize,
    reap_interval: Duration,
    shutdown: CancellationToken,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..count {
        let (queue, runner, shutdown) = (queue.clone(), runner.clone(), shutdown.clone());
        let name = format!("{prefix}-{n}");
        tasks.spawn(async move { worker_loop(&queue, &runner, &name, &shutdown).await });
    }
    {
        let (queue, shutdown) = (queue.clone(), shutdown.clone());
        tasks.spawn(async move { reaper_loop(&queue, reap_interval, &shutdown).await });
    }
    while tasks.join_next().await.is_some() {}
}

async fn reaper_loop(queue: &JobQueue, every: Duration, shutdown: &CancellationToken) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match queue.reap().await {
            Ok(report) if report.requeued + report.failed > 0 => {
                tracing::info!(
                    requeued = report.requeued,
                    failed = report.failed,
                    "expired leases reaped"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reaping expired leases failed"),
        }
        if let Err(e) = queue.purge_finished().await {
            tracing::warn!(error = %e, "purging old jobs failed");
        }
    }
}

async fn worker_loop(
    queue: &JobQueue,
    runner: &EtlRunner,
    name: &str,
    shutdown: &CancellationToken,
) {
    let poll = queue.config().poll_interval;
    while !shutdown.is_cancelled() {
        match queue.claim(name).await {
            Ok(Some(lease)) => run_one(queue, runner, lease, shutdown).await,
            Ok(None) => {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = queue.wait_for_work(poll) => {}
                }
            }
            Err(e) => {
                tracing::warn!(worker = name, error = %e, "claiming a job failed");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(poll) => {}
                }
            }
        }
    }
}

/// Why a job's token fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Running,
    CancelRequested,
    LeaseLost,
    Shutdown,
}

async fn run_one(queue: &JobQueue, runner: &EtlRunner, lease: Lease, shutdown: &CancellationToken) {
    let started = Instant::now();
    let job = lease.job().clone();
    tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, "job started");
    let (progress_tx, mut progress_rx) = watch::channel((0.0, None));
    let cancel = CancellationToken::new();
    let (stop_tx, stop_rx) = watch::channel(Stop::Running);
    let beat_every = queue.config().lease_ttl / 3;
    let heartbeat = {
        let (queue, lease, cancel, shutdown) = (
            queue.clone(),
            lease.clone(),
            cancel.clone(),
            shutdown.clone(),
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(beat_every);
            tick.tick().await;
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = shutdown.cancelled() => {
                        stop_tx.send_replace(Stop::Shutdown);
                        cancel.cancel();
                        return;
                    }
                    _ = tick.tick() => {}
                    changed = progress_rx.changed() => {
                        if changed.is_err() { return; }
                    }
                }
                let progress = progress_rx.borrow_and_update().clone();
                match queue.heartbeat(&lease, Some(progress)).await {
                    Ok(Heartbeat::Continue) => {}
                    Ok(Heartbeat::CancelRequested) => {
                        stop_tx.send_replace(Stop::CancelRequested);
                        cancel.cancel();
                        return;
                    }
                    Ok(Heartbeat::Lost) => {
                        stop_tx.send_replace(Stop::LeaseLost);
                        cancel.cancel();
                        return;
                    }
                    Err(e) => tracing::warn!(job = %lease.id(), error = %e, "heartbeat failed"),
                }
            }
        })
    };
    // Its own task: a panic fails this job, not the worker.
    let run = {
        let (runner, job, cancel) = (runner.clone(), job.clone(), cancel.clone());
        tokio::spawn(async move { runner.run(&job, progress_tx, cancel).await })
    };
    let ended = run.await;
    let stop = *stop_rx.borrow();
    cancel.cancel();
    heartbeat.await.ok();
    let status = match (ended, stop) {
        (_, Stop::LeaseLost) => {
            tracing::warn!(job = %job.id, "the lease was lost: the job runs elsewhere, its result here is dropped");
            "lost"
        }
        (Ok(Ok(RunEnd::Completed(result))), _) => match queue.complete(&lease, result).await {
            Ok(true) => "completed",
            Ok(false) => "lost",
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "recording the result failed");
                "error"
            }
        },
        (Ok(Ok(RunEnd::Cancelled)), Stop::CancelRequested) => {
            queue.acknowledge_cancel(&lease).await.ok();
            "cancelled"
        }
        (Ok(Ok(RunEnd::Cancelled)), _) => {
            // Shut down while running: hand it back (it counts as an attempt).
            let error = json!({"error_type": "shutdown", "message": "the worker shut down"});
            queue.fail(&lease, error, true).await.ok();
            "requeued"
        }
        (Ok(Err(e)), _) => fail(queue, &lease, &e, e.is_retryable()).await,
        (Err(panic), _) => {
            let e = Error::processing(format!("the job panicked: {panic}"));
            fail(queue, &lease, &e, false).await
        }
    };
    metrics::counter!("collectors_jobs_finished_total", "status" => status).increment(1);
    metrics::histogram!("collectors_job_duration_seconds", "kind" => job.kind.clone())
        .record(started.elapsed().as_secs_f64());
    tracing::info!(job = %job.id, status, elapsed_ms = started.elapsed().as_millis() as u64, "job ended");
    runner.clear_scratch(&job).await;
}

async fn fail(queue: &JobQueue, lease: &Lease, e: &Error, retryable: bool) -> &'static str {
    let error = json!({
        "error_type": e.error_type(),
        "message": e.to_string(),
        "retryable": retryable,
    });
    match queue.fail(lease, error, retryable).await {
        Ok(Some(job)) if job.status.is_terminal() => "failed",
        Ok(Some(_)) => "retrying",
        Ok(None) => "lost",
        Err(e) => {
            tracing::error!(job = %lease.id(), error = %e, "recording the failure failed");
            "error"
        }
    }
}
