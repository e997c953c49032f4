//! The engine stores' mocks inject failures where the engine relies on them: a dead-letter
//! sink or a checkpoint store that fails stops the run without acknowledging anything.

use std::sync::Arc;

use collectors_core::conformance::{self, DecoderFixture};
use collectors_core::{
    CancellationToken, CheckpointStore, DataSource, DeadLetterSink, Engine, EngineBuilder,
    ErrorType, RunOutcome, RunSummary, StorageBackend,
};
use collectors_mocks::{
    MockCheckpointStore, MockDeadLetterSink, MockDecoder, MockListedSource, MockStorageBackend,
};

#[test]
fn the_mock_decoder_meets_the_decoder_contract() {
    let fixture = DecoderFixture::new("a,1\nb,2\n\nc,3\r\n", 3, "d,four", 2);
    conformance::decoder(&MockDecoder::new(2), &fixture);
}

struct Parts {
    source: Arc<MockListedSource>,
    store: Arc<MockStorageBackend>,
    checkpoints: Arc<MockCheckpointStore>,
    letters: Arc<MockDeadLetterSink>,
}

fn parts(items: &[(&str, &str)]) -> Parts {
    let source = MockListedSource::new("files").with_chunk_size(5);
    for (id, content) in items {
        source.put(*id, content.to_string());
    }
    Parts {
        source: Arc::new(source),
        store: Arc::new(MockStorageBackend::new("store")),
        checkpoints: Arc::new(MockCheckpointStore::new()),
        letters: Arc::new(MockDeadLetterSink::new()),
    }
}

fn engine(p: &Parts) -> EngineBuilder {
    Engine::builder("test")
        .source(
            p.source.clone() as Arc<dyn DataSource>,
            Arc::new(MockDecoder::new(10)),
        )
        .store(p.store.clone() as Arc<dyn StorageBackend>)
        .checkpoints(p.checkpoints.clone() as Arc<dyn CheckpointStore>)
        .dead_letters(p.letters.clone() as Arc<dyn DeadLetterSink>)
}

async fn run(p: &Parts) -> RunSummary {
    engine(p)
        .build()
        .expect("a valid engine")
        .run(CancellationToken::new())
        .await
        .expect("the run starts")
}

async fn acknowledged(p: &Parts) -> Vec<String> {
    let mut ids: Vec<String> = p
        .checkpoints
        .inner()
        .done("test")
        .await
        .expect("in memory")
        .into_values()
        .map(|c| c.item_id)
        .collect();
    ids.sort();
    ids
}

fn stored_rows(store: &MockStorageBackend) -> usize {
    store
        .records()
        .iter()
        .map(|r| r.payload.num_rows().unwrap_or(0))
        .sum()
}

#[tokio::test]
async fn a_failing_dead_letter_sink_aborts_the_run_and_acknowledges_nothing() {
    let p = parts(&[("a", "k,1\nbad\nk,2\n"), ("b", "k,3\nworse\n")]);
    p.letters
        .control()
        .fail_method("write", 100, ErrorType::Storage);

    let summary = run(&p).await;

    assert_eq!(summary.outcome, RunOutcome::Aborted, "{summary:?}");
    assert!(
        summary
            .abort_reason
            .as_deref()
            .is_some_and(|r| r.contains("injected failure")),
        "the sink's error is the reason: {summary:?}"
    );
    assert!(p.letters.control().call_count("write") >= 1);
    assert!(p.letters.letters().is_empty(), "no letter was kept");
    assert_eq!(
        acknowledged(&p).await,
        Vec::<String>::new(),
        "an item whose dead letters are not durable is not acknowledged"
    );
    assert_eq!(summary.counts.dead_lettered, 0, "{:?}", summary.counts);
}

#[tokio::test]
async fn a_failing_checkpoint_aborts_and_the_rerun_redoes_the_item_once() {
    let p = parts(&[("a", "k,1\nk,2\nk,3\n")]);
    let control = p.checkpoints.control();
    control.fail_method("mark_done", 1, ErrorType::Storage);

    let first = run(&p).await;
    assert_eq!(first.outcome, RunOutcome::Aborted, "{first:?}");
    assert_eq!(acknowledged(&p).await, Vec::<String>::new());
    assert_eq!(
        stored_rows(&p.store),
        3,
        "stored before the checkpoint failed"
    );

    let second = run(&p).await;
    assert_eq!(second.outcome, RunOutcome::Completed, "{second:?}");
    assert_eq!(acknowledged(&p).await, ["a"]);
    assert_eq!(second.counts.stored, 3, "the unacknowledged item is redone");
    assert_eq!(
        stored_rows(&p.store),
        3,
        "and its records are not duplicated"
    );
    assert_eq!(control.call_count("mark_done"), 2);
}

#[tokio::test]
async fn a_failing_claim_aborts_before_the_item_is_read() {
    let p = parts(&[("a", "k,1\n")]);
    p.checkpoints
        .control()
        .fail_method("claim", 1, ErrorType::Connection);

    let summary = run(&p).await;

    assert_eq!(summary.outcome, RunOutcome::Aborted, "{summary:?}");
    assert_eq!(p.source.control().call_count("open"), 0, "nothing was read");
    assert_eq!(stored_rows(&p.store), 0);
    assert_eq!(acknowledged(&p).await, Vec::<String>::new());
}

#[tokio::test]
async fn unreadable_checkpoints_stop_the_run_from_starting() {
    let p = parts(&[("a", "k,1\n")]);
    p.checkpoints
        .control()
        .fail_method("done", 1, ErrorType::Timeout);

    let err = engine(&p)
        .build()
        .expect("a valid engine")
        .run(CancellationToken::new())
        .await
        .expect_err("the run cannot start without its checkpoints");

    assert_eq!(err.error_type(), ErrorType::Timeout);
    assert_eq!(p.source.control().call_count("open"), 0);
}

#[tokio::test]
async fn a_run_records_its_store_calls_and_tolerates_latency() {
    let p = parts(&[("a", "k,1\nbad\n"), ("b", "k,2\n")]);
    let checkpoints = p.checkpoints.control();
    let letters = p.letters.control();
    checkpoints.set_latency(std::time::Duration::from_millis(2));
    letters.set_latency(std::time::Duration::from_millis(2));

    let summary = run(&p).await;

    assert_eq!(summary.outcome, RunOutcome::Completed, "{summary:?}");
    assert_eq!(acknowledged(&p).await, ["a", "b"]);
    let claimed: Vec<String> = checkpoints
        .calls()
        .into_iter()
        .filter(|c| c.method == "claim")
        .map(|c| c.detail)
        .collect();
    assert_eq!(
        claimed,
        ["test: a", "test: b"],
        "each item claimed once, in order"
    );
    assert!(
        checkpoints.call_count("release") >= 1,
        "leases are released"
    );
    let letters = p.letters.letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].raw.as_deref(), Some(&b"bad"[..]));
    assert_eq!(letters[0].line, Some(2));
}
