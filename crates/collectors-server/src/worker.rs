//! Workers: claim a job, keep its lease alive with a heartbeat (which also carries progress
//! and notices a cancel request), run it, and record how it ended — fenced by the lease's
//! token, so a worker that lost its lease cannot overwrite the re-run's result.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use collectors_core::{CancellationToken, Error};
use futures::FutureExt;
use serde_json::json;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use crate::etl::EtlRunner;
use crate::etl::runner::RunEnd;
use crate::jobs::{Heartbeat, JobQueue, Lease};

/// Runs up to `slots` jobs at once, leased under the name `prefix`, until `shutdown` fires,
/// plus one reaper that re-queues expired leases and purges old jobs every
/// `reap_interval`. A job still running at shutdown is stopped and handed back to the
/// queue.
///
/// One producer leases as many due jobs as there are free slots in one statement
/// (`claim_many`), and one [`Completer`] records the results of the jobs that end together
/// in one statement (`complete_many`): at many short jobs the database sees a few
/// statements a batch instead of two a job (River's producer and batch completer).
pub(crate) async fn run_workers(
    queue: JobQueue,
    runner: EtlRunner,
    prefix: String,
    slots: usize,
    reap_interval: Duration,
    shutdown: CancellationToken,
) {
    let mut tasks = tokio::task::JoinSet::new();
    if slots > 0 {
        let (queue, shutdown) = (queue.clone(), shutdown.clone());
        tasks.spawn(async move { producer(queue, runner, prefix, slots, shutdown).await });
    }
    tasks.spawn(async move { reaper_loop(&queue, reap_interval, &shutdown).await });
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

/// Most jobs leased in one statement.
const MAX_CLAIM: usize = 1000;

/// Leases due jobs into free slots and runs each in a task of its own until `shutdown`;
/// then waits for the running ones (which hand their jobs back) and the last results.
async fn producer(
    queue: JobQueue,
    runner: EtlRunner,
    name: String,
    slots: usize,
    shutdown: CancellationToken,
) {
    let poll = queue.config().poll_interval;
    let free = Arc::new(Semaphore::new(slots));
    let (completer, completing) = Completer::start(queue.clone());
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.try_join_next().is_some() {}
        let first = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = free.clone().acquire_owned() => permit,
        };
        let Ok(first) = first else { break };
        // Jobs that end together free their slots together: lease for all of them at once.
        tokio::task::yield_now().await;
        let mut permits = vec![first];
        while permits.len() < MAX_CLAIM.min(slots) {
            match free.clone().try_acquire_owned() {
                Ok(permit) => permits.push(permit),
                Err(_) => break,
            }
        }
        let want = u32::try_from(permits.len()).unwrap_or(1);
        match queue.claim_many(&name, want).await {
            Ok(leases) if leases.is_empty() => {
                drop(permits);
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = queue.wait_for_work(poll) => {}
                }
            }
            Ok(leases) => {
                // Never more leases than slots asked for; were there, the extra ones run
                // anyway rather than wait out their lease.
                let mut permits = permits.into_iter();
                for lease in leases {
                    let permit = permits.next();
                    let (queue, runner, completer, shutdown) = (
                        queue.clone(),
                        runner.clone(),
                        completer.clone(),
                        shutdown.clone(),
                    );
                    running.spawn(async move {
                        run_one(&queue, &runner, &completer, lease, &shutdown).await;
                        drop(permit);
                    });
                }
            }
            Err(e) => {
                drop(permits);
                tracing::warn!(worker = %name, error = %e, "claiming jobs failed");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(poll) => {}
                }
            }
        }
    }
    while running.join_next().await.is_some() {}
    drop(completer);
    completing.await.ok();
}

/// A job's result on its way to the database, and who waits for the answer.
type Completion = (
    Lease,
    serde_json::Value,
    oneshot::Sender<Result<bool, String>>,
);

/// Records the results of the jobs that end together in one `complete_many` (group
/// commit): a job hands its result over and waits for its own answer (whether its lease
/// still held), so its slot is freed only once its result is stored.
#[derive(Clone)]
struct Completer {
    tx: mpsc::Sender<Completion>,
}

impl Completer {
    /// The completer and its task, which ends when every clone is dropped.
    fn start(queue: JobQueue) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<Completion>(MAX_CLAIM);
        let task = tokio::spawn(async move {
            let mut batch = Vec::new();
            while rx.recv_many(&mut batch, MAX_CLAIM).await > 0 {
                let (done, waiting): (Vec<_>, Vec<_>) =
                    batch.drain(..).map(|(l, r, w)| ((l, r), w)).unzip();
                match queue.complete_many(&done).await {
                    Ok(held) => {
                        for (w, h) in waiting.into_iter().zip(held) {
                            w.send(Ok(h)).ok();
                        }
                    }
                    Err(e) => {
                        for w in waiting {
                            w.send(Err(e.to_string())).ok();
                        }
                    }
                }
            }
        });
        (Self { tx }, task)
    }

    /// Stores `result` as the leased job's; whether the lease still held.
    async fn complete(&self, lease: Lease, result: serde_json::Value) -> Result<bool, String> {
        let (answer, answered) = oneshot::channel();
        self.tx
            .send((lease, result, answer))
            .await
            .map_err(|_| "the completer stopped".to_owned())?;
        answered
            .await
            .map_err(|_| "the completer stopped".to_owned())?
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

async fn run_one(
    queue: &JobQueue,
    runner: &EtlRunner,
    completer: &Completer,
    lease: Lease,
    shutdown: &CancellationToken,
) {
    let started = Instant::now();
    let job = lease.job().clone();
    tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, "job started");
    let (progress_tx, mut progress_rx) = watch::channel((0.0, None));
    let cancel = CancellationToken::new();
    // One task runs the job and keeps its lease alive (every third of the lease, and at
    // each progress report); a panic fails this job, not the worker.
    let beat_every = queue.config().lease_ttl / 3;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + beat_every, beat_every);
    let run = AssertUnwindSafe(runner.run(&job, progress_tx, cancel.clone())).catch_unwind();
    tokio::pin!(run);
    let mut stop = Stop::Running;
    let mut reporting = true;
    let ended = loop {
        let running = stop == Stop::Running;
        tokio::select! {
            ended = &mut run => break ended,
            () = shutdown.cancelled(), if running => {
                stop = Stop::Shutdown;
                cancel.cancel();
                continue;
            }
            _ = tick.tick(), if running => {}
            changed = progress_rx.changed(), if running && reporting => {
                if changed.is_err() {
                    reporting = false;
                    continue;
                }
            }
        }
        let progress = progress_rx.borrow_and_update().clone();
        match queue.heartbeat(&lease, Some(progress)).await {
            Ok(Heartbeat::Continue) => {}
            Ok(Heartbeat::CancelRequested) => {
                stop = Stop::CancelRequested;
                cancel.cancel();
            }
            Ok(Heartbeat::Lost) => {
                stop = Stop::LeaseLost;
                cancel.cancel();
            }
            Err(e) => tracing::warn!(job = %lease.id(), error = %e, "heartbeat failed"),
        }
    };
    let status = match (ended, stop) {
        (_, Stop::LeaseLost) => {
            tracing::warn!(job = %job.id, "the lease was lost: the job runs elsewhere, its result here is dropped");
            "lost"
        }
        (Ok(Ok(RunEnd::Completed(result))), _) => {
            match completer.complete(lease.clone(), result).await {
                Ok(true) => "completed",
                Ok(false) => "lost",
                Err(e) => {
                    tracing::error!(job = %job.id, error = %e, "recording the result failed");
                    "error"
                }
            }
        }
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
            let e = Error::processing(format!("the job panicked: {}", panic_message(&*panic)));
            fail(queue, &lease, &e, false).await
        }
    };
    metrics::counter!("collectors_jobs_finished_total", "status" => status).increment(1);
    metrics::histogram!("collectors_job_duration_seconds", "kind" => job.kind.clone())
        .record(started.elapsed().as_secs_f64());
    tracing::info!(job = %job.id, status, elapsed_ms = started.elapsed().as_millis() as u64, "job ended");
    runner.clear_scratch(&job).await;
}

/// What a panic said, when it said it with a string.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
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
