//! The collection manager drives `Arc<dyn DataSource>` mocks: start, pause, resume, stop,
//! backpressure and error handling.
//!
//! Tests that check that nothing happens run on tokio's paused clock: a sleep only advances
//! once every task is idle, so "nothing happened during the sleep" is deterministic.

use std::sync::Arc;
use std::time::Duration;

use collectors::{
    CollectionManager, CollectionStatus, DataSource, DefaultCollectionManager, ErrorDecision,
    ErrorType, EventEmitter, EventType,
};
use collectors_mocks::{MockDataSource, MockErrorHandler, MockEventEmitter};

#[tokio::test]
async fn a_finite_source_is_collected_to_completion_through_the_channel() {
    let (manager, mut output) = DefaultCollectionManager::with_channel(8).unwrap();
    let events = Arc::new(MockEventEmitter::new());
    let manager = manager.with_events(events.clone() as Arc<dyn EventEmitter>);
    let source: Arc<dyn DataSource> = Arc::new(MockDataSource::scripted("files", ["a", "b", "c"]));
    manager.register_source(source).await.unwrap();
    manager.start_collection("files").await.unwrap();

    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(output.recv().await.unwrap().raw_data);
    }
    assert_eq!(got, vec!["a", "b", "c"]);
    // The task ends by itself; wait for its completion event rather than sleeping.
    let mut done = events
        .subscribe(collectors::EventFilter::all().event_type(EventType::CollectionComplete))
        .await
        .unwrap();
    if manager.status("files").await.unwrap().status != CollectionStatus::Completed {
        done.recv().await.unwrap();
    }
    let status = manager.status("files").await.unwrap();
    assert_eq!(
        (status.status, status.items_collected),
        (CollectionStatus::Completed, 3)
    );
    assert_eq!(events.emitted_of(EventType::DataCollected).len(), 3);
}

#[tokio::test(start_paused = true)]
async fn pause_resume_and_stop_are_honoured_within_one_collect() {
    let (manager, mut output) = DefaultCollectionManager::with_channel(1).unwrap();
    let mock = MockDataSource::new("sensor", "21.5");
    let control = mock.control();
    manager.register_source(Arc::new(mock)).await.unwrap();
    manager.start_collection("sensor").await.unwrap();
    output.recv().await.unwrap();

    manager.pause_collection("sensor").await.unwrap();
    assert_eq!(
        manager.status("sensor").await.unwrap().status,
        CollectionStatus::Paused
    );
    // Drain what was in flight at the pause: the buffered item and at most one collect.
    let mut drained = 0;
    while tokio::time::timeout(Duration::from_millis(50), output.recv())
        .await
        .is_ok()
    {
        drained += 1;
    }
    assert!(drained <= 2, "{drained} items arrived after pause");
    let collects_when_paused = control.call_count("collect");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        control.call_count("collect"),
        collects_when_paused,
        "a paused source is not polled"
    );

    let illegal = manager.resume_collection("nope").await.unwrap_err();
    assert_eq!(illegal.error_type(), ErrorType::NotFound);
    manager.resume_collection("sensor").await.unwrap();
    output.recv().await.unwrap();
    assert_eq!(
        manager
            .resume_collection("sensor")
            .await
            .unwrap_err()
            .error_type(),
        ErrorType::InvalidState
    );

    manager.stop_collection("sensor").await.unwrap();
    let status = manager.status("sensor").await.unwrap();
    assert_eq!(status.status, CollectionStatus::Stopped);
    assert_eq!(
        control.call_count("disconnect"),
        1,
        "stop disconnects the source before returning"
    );
    let collects_at_stop = control.call_count("collect");
    while output.try_recv().is_ok() {}
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        output.try_recv().is_err(),
        "nothing is collected after stop returns"
    );
    assert_eq!(control.call_count("collect"), collects_at_stop);
}

#[tokio::test(start_paused = true)]
async fn a_full_channel_holds_the_source_back() {
    let (manager, mut output) = DefaultCollectionManager::with_channel(2).unwrap();
    let mock = MockDataSource::new("fast", "x");
    let control = mock.control();
    manager.register_source(Arc::new(mock)).await.unwrap();
    manager.start_collection("fast").await.unwrap();
    // Nobody reads: the source fills the channel (2), holds one item waiting to send, then stops.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        control.call_count("collect"),
        3,
        "two items buffered, one waiting to be sent"
    );
    assert_eq!(manager.status("fast").await.unwrap().items_collected, 2);
    output.recv().await.unwrap();
    manager.stop_collection("fast").await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn collect_errors_are_retried_after_the_handlers_delay() {
    let (manager, mut output) = DefaultCollectionManager::with_channel(4).unwrap();
    let handler = Arc::new(
        MockErrorHandler::new()
            .then(ErrorDecision::Retry {
                after: Duration::from_secs(1),
            })
            .then(ErrorDecision::Retry {
                after: Duration::from_secs(2),
            })
            .otherwise(ErrorDecision::Skip),
    );
    let manager = manager.with_error_handler(handler.clone());
    let mock = MockDataSource::scripted("flaky", ["ok"]);
    mock.control().fail_method("collect", 3, ErrorType::Timeout);
    manager.register_source(Arc::new(mock)).await.unwrap();
    let started = tokio::time::Instant::now();
    manager.start_collection("flaky").await.unwrap();

    // Fails, waits 1 s, fails, waits 2 s, fails and is skipped, then collects the item.
    assert_eq!(output.recv().await.unwrap().raw_data, "ok");
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "retries waited {:?}",
        started.elapsed()
    );
    let attempts: Vec<_> = handler
        .handled()
        .iter()
        .map(|(e, a)| (e.error_type, *a))
        .collect();
    assert_eq!(
        attempts,
        vec![
            (ErrorType::Timeout, 1),
            (ErrorType::Timeout, 2),
            (ErrorType::Timeout, 3)
        ]
    );
    let status = manager.status("flaky").await.unwrap();
    assert_eq!(status.errors, 3);
    assert!(status.last_error.unwrap().contains("injected failure"));
}

#[tokio::test]
async fn an_abort_decision_ends_the_source_in_error() {
    let (manager, _output) = DefaultCollectionManager::with_channel(4).unwrap();
    let handler = Arc::new(MockErrorHandler::new().otherwise(ErrorDecision::Abort));
    let manager = manager.with_error_handler(handler.clone());
    let mock = MockDataSource::new("broken", "x");
    mock.control()
        .fail_method("collect", 1, ErrorType::Authentication);
    let control = mock.control();
    manager.register_source(Arc::new(mock)).await.unwrap();
    manager.start_collection("broken").await.unwrap();
    // Wait for the task to act on the decision (it disconnects last), without a timed sleep.
    while control.call_count("disconnect") == 0 {
        tokio::task::yield_now().await;
    }
    let status = manager.status("broken").await.unwrap();
    assert_eq!(
        (status.status, status.errors, status.items_collected),
        (CollectionStatus::Error, 1, 0)
    );
    assert_eq!(handler.handled().len(), 1);
    // A failed source may be started again.
    manager.start_collection("broken").await.unwrap();
    manager.stop_collection("broken").await.unwrap();
}

#[tokio::test]
async fn registration_rules() {
    let (manager, _output) = DefaultCollectionManager::with_channel(1).unwrap();
    manager
        .register_source(Arc::new(MockDataSource::new("s", "x")))
        .await
        .unwrap();
    let duplicate = manager
        .register_source(Arc::new(MockDataSource::new("s", "y")))
        .await
        .unwrap_err();
    assert_eq!(duplicate.error_type(), ErrorType::InvalidState);
    assert_eq!(
        manager.stop_collection("s").await.unwrap_err().error_type(),
        ErrorType::InvalidState
    );
    let empty = manager
        .register_source(Arc::new(MockDataSource::new("", "x")))
        .await
        .unwrap_err();
    assert_eq!(empty.error_type(), ErrorType::Configuration);
    assert!(DefaultCollectionManager::with_channel(0).is_err());

    let refusing = MockDataSource::new("down", "x");
    refusing.control().fail_next(1, ErrorType::Connection);
    manager.register_source(Arc::new(refusing)).await.unwrap();
    assert_eq!(
        manager
            .start_collection("down")
            .await
            .unwrap_err()
            .error_type(),
        ErrorType::Connection
    );
    assert_eq!(
        manager.status("down").await.unwrap().status,
        CollectionStatus::Error
    );
    manager.unregister_source("s").await.unwrap();
    assert_eq!(manager.list_sources().await.len(), 1);
}
