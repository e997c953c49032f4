//! [`JobTracker`], the persistent `TaskTracker` over the jobs table, against SQLite in a
//! temp dir and the real PostgreSQL of `scripts/postgres` (one fresh database per test;
//! with `CI=true` a missing server fails). `collectors_core::conformance` has no
//! `TaskTracker` suite, so these tests check the points of the trait's contract one by one,
//! as `InMemoryTaskTracker`'s tests do, plus what persistence adds.

mod common;

use std::time::Duration;

use collectors_backends::any_db::AnyLocation;
use collectors_core::{ErrorInfo, ErrorType, Layer, Metadata, TaskFilter, TaskStatus, TaskTracker};
use collectors_server::jobs::{Heartbeat, JobQueue, JobStatus, JobTracker, QueueConfig};
use futures::StreamExt;
use serde_json::json;
use uuid::Uuid;

use common::databases::on_both;

on_both!(
    lifecycle_and_illegal_transitions,
    cancelled_and_failed_tasks_are_final,
    list_filters_newest_first,
    watch_yields_changes_and_ends_after_a_terminal_state,
    tasks_persist_and_are_jobs_of_the_queue,
);

async fn tracker(location: &AnyLocation) -> JobTracker {
    JobTracker::new(
        JobQueue::open(location, QueueConfig::default())
            .await
            .unwrap(),
    )
}

fn metadata() -> Metadata {
    let mut metadata = Metadata::new();
    metadata.insert("source".into(), json!("sensors"));
    metadata
}

async fn lifecycle_and_illegal_transitions(location: &AnyLocation) {
    let tracker = tracker(location).await;
    let task = tracker
        .create("import", "ingest", metadata())
        .await
        .unwrap();
    assert_eq!(task.status, TaskStatus::Pending);
    assert_eq!(
        (task.name.as_str(), task.task_type.as_str()),
        ("import", "ingest")
    );
    assert_eq!(task.metadata, metadata());
    assert!(task.started_at.is_none());

    let running = tracker
        .update_progress(task.task_id, 10.0, Some("reading".into()))
        .await
        .unwrap();
    assert_eq!(running.status, TaskStatus::Running);
    assert_eq!(
        (running.progress, running.message.as_deref()),
        (10.0, Some("reading"))
    );
    assert!(running.started_at.is_some());

    for bad in [100.5, -1.0, f64::NAN] {
        let err = tracker
            .update_progress(task.task_id, bad, None)
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Validation);
    }
    assert_eq!(tracker.get(task.task_id).await.unwrap().progress, 10.0);

    let done = tracker
        .complete(task.task_id, json!({"rows": 3}))
        .await
        .unwrap();
    assert_eq!((done.status, done.progress), (TaskStatus::Completed, 100.0));
    assert_eq!(done.result, Some(json!({"rows": 3})));
    assert!(done.completed_at.is_some());

    let error = ErrorInfo::new(ErrorType::Unknown, Layer::Runtime, "x", "y");
    for err in [
        tracker
            .update_progress(task.task_id, 50.0, None)
            .await
            .unwrap_err(),
        tracker.cancel(task.task_id).await.unwrap_err(),
        tracker.fail(task.task_id, error.clone()).await.unwrap_err(),
        tracker
            .complete(task.task_id, json!(null))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.error_type(), ErrorType::InvalidState, "{err}");
    }
    let unknown = Uuid::new_v4();
    for err in [
        tracker.get(unknown).await.unwrap_err(),
        tracker
            .update_progress(unknown, 1.0, None)
            .await
            .unwrap_err(),
        tracker.complete(unknown, json!(null)).await.unwrap_err(),
        tracker.fail(unknown, error).await.unwrap_err(),
        tracker.cancel(unknown).await.unwrap_err(),
        tracker.watch(unknown).await.err().unwrap(),
    ] {
        assert_eq!(err.error_type(), ErrorType::NotFound, "{err}");
    }
    let err = tracker.create(" ", "x", Metadata::new()).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation);
}

async fn cancelled_and_failed_tasks_are_final(location: &AnyLocation) {
    let tracker = tracker(location).await;
    let task = tracker
        .create("t", "ingest", Metadata::new())
        .await
        .unwrap();
    let cancelled = tracker.cancel(task.task_id).await.unwrap();
    assert_eq!(cancelled.status, TaskStatus::Cancelled);
    let err = tracker.complete(task.task_id, json!(1)).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::InvalidState);
    let task = tracker.get(task.task_id).await.unwrap();
    assert_eq!(task.status, TaskStatus::Cancelled);
    assert!(task.result.is_none());

    let other = tracker
        .create("u", "ingest", Metadata::new())
        .await
        .unwrap();
    tracker
        .update_progress(other.task_id, 30.0, None)
        .await
        .unwrap();
    let error = ErrorInfo::new(ErrorType::Storage, Layer::Storage, "store", "disk full");
    let failed = tracker.fail(other.task_id, error.clone()).await.unwrap();
    assert_eq!(failed.status, TaskStatus::Failed);
    assert_eq!(failed.message.as_deref(), Some("disk full"));
    let stored = failed.error.unwrap();
    assert_eq!(
        (stored.id, stored.error_type),
        (error.id, ErrorType::Storage)
    );
    assert_eq!(stored.message, "disk full");
    assert_eq!(
        tracker
            .cancel(other.task_id)
            .await
            .unwrap_err()
            .error_type(),
        ErrorType::InvalidState
    );
}

async fn list_filters_newest_first(location: &AnyLocation) {
    let tracker = tracker(location).await;
    let a = tracker
        .create("a", "ingest", Metadata::new())
        .await
        .unwrap();
    let b = tracker
        .create("b", "export", Metadata::new())
        .await
        .unwrap();
    let c = tracker
        .create("c", "ingest", Metadata::new())
        .await
        .unwrap();
    tracker.complete(a.task_id, json!(null)).await.unwrap();
    tracker.update_progress(c.task_id, 5.0, None).await.unwrap();

    let ids = |tasks: Vec<collectors_core::TaskInfo>| -> Vec<Uuid> {
        tasks.into_iter().map(|t| t.task_id).collect()
    };
    assert_eq!(
        ids(tracker.list(&TaskFilter::new()).await),
        vec![c.task_id, b.task_id, a.task_id]
    );
    assert_eq!(
        ids(tracker
            .list(&TaskFilter::new().status(TaskStatus::Completed))
            .await),
        vec![a.task_id]
    );
    assert_eq!(
        ids(tracker
            .list(
                &TaskFilter::new()
                    .status(TaskStatus::Running)
                    .status(TaskStatus::Pending)
            )
            .await),
        vec![c.task_id, b.task_id]
    );
    assert_eq!(
        ids(tracker.list(&TaskFilter::new().task_type("ingest")).await),
        vec![c.task_id, a.task_id]
    );
    assert_eq!(tracker.list(&TaskFilter::new().limit(1)).await.len(), 1);
}

/// The next state of a watch, within 5 s.
async fn next(
    watch: &mut futures::stream::BoxStream<'static, collectors_core::TaskInfo>,
) -> Option<collectors_core::TaskInfo> {
    tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .expect("a state within 5 s")
}

async fn watch_yields_changes_and_ends_after_a_terminal_state(location: &AnyLocation) {
    let tracker = tracker(location).await;
    let task = tracker
        .create("t", "ingest", Metadata::new())
        .await
        .unwrap();
    let mut watch = tracker.watch(task.task_id).await.unwrap();
    assert_eq!(next(&mut watch).await.unwrap().status, TaskStatus::Pending);

    // Another task's changes are not this watch's.
    let other = tracker
        .create("o", "ingest", Metadata::new())
        .await
        .unwrap();
    tracker
        .update_progress(other.task_id, 1.0, None)
        .await
        .unwrap();

    tracker
        .update_progress(task.task_id, 40.0, Some("reading".into()))
        .await
        .unwrap();
    let seen = next(&mut watch).await.unwrap();
    assert_eq!(seen.task_id, task.task_id);
    assert_eq!(
        (seen.progress, seen.message.as_deref()),
        (40.0, Some("reading"))
    );

    let error = ErrorInfo::new(ErrorType::Storage, Layer::Storage, "store", "disk full");
    tracker.fail(task.task_id, error).await.unwrap();
    let last = next(&mut watch).await.unwrap();
    assert_eq!(last.status, TaskStatus::Failed);
    assert_eq!(last.error.unwrap().message, "disk full");
    assert!(
        next(&mut watch).await.is_none(),
        "ends after a terminal state"
    );

    // Watching a finished task yields its state and ends.
    let mut finished = tracker.watch(task.task_id).await.unwrap();
    assert_eq!(
        next(&mut finished).await.unwrap().status,
        TaskStatus::Failed
    );
    assert!(next(&mut finished).await.is_none());
}

async fn tasks_persist_and_are_jobs_of_the_queue(location: &AnyLocation) {
    let config = QueueConfig::default();
    let task_id = {
        let tracker = tracker(location).await;
        let task = tracker.create("kept", "noop", metadata()).await.unwrap();
        tracker
            .update_progress(task.task_id, 20.0, None)
            .await
            .unwrap();
        task.task_id
    };
    // A new process (a new queue on the same database) finds it.
    let queue = JobQueue::open(location, config).await.unwrap();
    let tracker = JobTracker::new(queue.clone());
    let task = tracker.get(task_id).await.unwrap();
    assert_eq!((task.status, task.progress), (TaskStatus::Running, 20.0));
    assert_eq!(task.metadata, metadata());
    let job = queue.get(task_id).await.unwrap();
    assert_eq!(
        (job.status, job.kind.as_str()),
        (JobStatus::Processing, "noop")
    );

    // A pending task is a job a worker may claim; the tracker's cancel ends it at once and
    // the worker's lease is lost.
    let queued = tracker
        .create("queued", "noop", Metadata::new())
        .await
        .unwrap();
    let lease = queue.claim("w").await.unwrap().expect("the pending task");
    assert_eq!(lease.id(), queued.task_id);
    assert_eq!(
        tracker.get(queued.task_id).await.unwrap().status,
        TaskStatus::Running
    );
    tracker.cancel(queued.task_id).await.unwrap();
    assert_eq!(
        queue.heartbeat(&lease, None).await.unwrap(),
        Heartbeat::Lost
    );
    assert!(!queue.complete(&lease, json!({})).await.unwrap());
    assert_eq!(
        tracker.get(queued.task_id).await.unwrap().status,
        TaskStatus::Cancelled
    );
}
