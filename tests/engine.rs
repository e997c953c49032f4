//! The engine end to end on in-memory parts: terminal states, acknowledgement, resume,
//! backpressure, cancellation, failures.

mod support;

use std::sync::Arc;
use std::time::Duration;

use collectors::arrow_array::{Array, Int64Array};
use collectors::{
    CancellationToken, CheckpointStore, DataSource, DeadLetterSink, Engine, EngineConfig,
    ErrorDecision, ErrorType, InMemoryCheckpointStore, InMemoryDeadLetterSink, Payload, Pipeline,
    QueryCriteria, ResumeMode, RunOutcome, SequentialPipeline, StorageBackend,
};
use collectors_mocks::{
    MockDecoder, MockErrorHandler, MockListedSource, MockProcessor, MockStorageBackend,
};
use support::lines;

/// Builds and runs an engine to its end.
trait Finish {
    async fn finish(self) -> collectors::RunSummary;
}

impl Finish for collectors::EngineBuilder {
    async fn finish(self) -> collectors::RunSummary {
        self.build()
            .expect("a valid engine")
            .run(CancellationToken::new())
            .await
            .expect("the run starts")
    }
}

struct Parts {
    source: Arc<MockListedSource>,
    store: Arc<MockStorageBackend>,
    checkpoints: Arc<InMemoryCheckpointStore>,
    letters: Arc<InMemoryDeadLetterSink>,
}

fn parts(items: &[(&str, String)]) -> Parts {
    let source = MockListedSource::new("files").with_chunk_size(7);
    for (id, content) in items {
        source.put(*id, content.clone());
    }
    Parts {
        source: Arc::new(source),
        store: Arc::new(MockStorageBackend::new("store")),
        checkpoints: Arc::new(InMemoryCheckpointStore::new()),
        letters: Arc::new(InMemoryDeadLetterSink::new()),
    }
}

fn engine(p: &Parts, config: EngineConfig) -> collectors::EngineBuilder {
    Engine::builder("test")
        .source(
            p.source.clone() as Arc<dyn DataSource>,
            Arc::new(MockDecoder::new(10)),
        )
        .store(p.store.clone() as Arc<dyn StorageBackend>)
        .checkpoints(p.checkpoints.clone() as Arc<dyn CheckpointStore>)
        .dead_letters(p.letters.clone() as Arc<dyn DeadLetterSink>)
        .config(config)
}

fn stored_rows(store: &MockStorageBackend) -> usize {
    store
        .records()
        .iter()
        .map(|r| r.payload.num_rows().unwrap_or(0))
        .sum()
}

#[tokio::test]
async fn every_record_ends_in_a_terminal_state_and_items_are_checkpointed() {
    let bad = "k1,1\nnot a row\nk2,2\nk3,x\nk4,4\n".to_string();
    let p = parts(&[("a", lines(95, 3)), ("b", bad), ("empty", String::new())]);
    // A filter written by hand (the real one lives in collectors-processors).
    let keep_even = MockProcessor::new("keep-even").with_transform(|payload| {
        let batch = payload.as_table()?;
        let values = batch
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("int column");
        let kept: Vec<usize> = (0..values.len())
            .filter(|i| values.value(*i) % 2 == 0)
            .collect();
        let columns = batch.columns().iter().map(|c| take(c, &kept)).collect();
        let filtered = collectors::arrow_array::RecordBatch::try_new(batch.schema(), columns)
            .expect("same schema");
        Ok(Payload::Table(filtered))
    });
    let pipeline = SequentialPipeline::builder("even")
        .processor(Arc::new(keep_even))
        .build()
        .unwrap();
    let summary = engine(&p, EngineConfig::default())
        .pipeline(Arc::new(pipeline) as Arc<dyn Pipeline>)
        .finish()
        .await;

    let c = summary.counts;
    assert_eq!(summary.outcome, RunOutcome::Completed);
    assert_eq!(c.collected, 95 + 5);
    assert_eq!(c.dead_lettered, 2, "the two bad lines of b");
    // a: 0..95 has 48 even values; b: 2 and 4 are even, 1 is not.
    assert_eq!(c.stored, 48 + 2);
    assert_eq!(c.skipped, 47 + 1);
    assert!(c.adds_up(), "{c:?}");
    assert_eq!(stored_rows(&p.store), 50);
    let lines: Vec<_> = p
        .letters
        .letters()
        .iter()
        .map(|l| (l.item_id.clone(), l.line))
        .collect();
    assert_eq!(
        lines,
        vec![("b".to_string(), Some(2)), ("b".to_string(), Some(4))]
    );
    let done = p.checkpoints.done("test").await.unwrap();
    assert_eq!(done.len(), 3);
    let b = &done[&("files".to_string(), "b".to_string())];
    assert_eq!((b.stored, b.skipped, b.dead_lettered), (2, 1, 2));
    assert_eq!(c.items_done, 3);
}

fn take(
    column: &collectors::arrow_array::ArrayRef,
    rows: &[usize],
) -> collectors::arrow_array::ArrayRef {
    use collectors::arrow_array::{ArrayRef, StringArray};
    if let Some(ints) = column.as_any().downcast_ref::<Int64Array>() {
        Arc::new(Int64Array::from(
            rows.iter().map(|i| ints.value(*i)).collect::<Vec<_>>(),
        )) as ArrayRef
    } else {
        let strings = column
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("string column");
        Arc::new(StringArray::from(
            rows.iter().map(|i| strings.value(*i)).collect::<Vec<_>>(),
        )) as ArrayRef
    }
}

#[tokio::test]
async fn a_rerun_skips_acknowledged_items_and_redoes_changed_ones() {
    let p = parts(&[("a", lines(30, 2)), ("b", lines(20, 2))]);
    let first = engine(&p, EngineConfig::default()).finish().await;
    assert_eq!(first.counts.stored, 50);

    p.source.put("b", lines(25, 2));
    let second = engine(&p, EngineConfig::default()).finish().await;
    assert_eq!(
        (second.counts.items_already_done, second.counts.stored),
        (1, 25)
    );
    // Keys are item + batch: replaying b replaced its records, it did not add to them.
    assert_eq!(stored_rows(&p.store), 30 + 25);

    let restarted = engine(&p, EngineConfig::default())
        .resume(ResumeMode::Restart)
        .finish()
        .await;
    assert_eq!(
        (restarted.counts.items_already_done, restarted.counts.stored),
        (0, 55)
    );
    assert_eq!(stored_rows(&p.store), 55);
}

#[tokio::test]
async fn a_changed_fingerprint_is_refused_unless_restarting() {
    let p = parts(&[("a", lines(3, 1))]);
    engine(&p, EngineConfig::default())
        .fingerprint("v1")
        .finish()
        .await;
    let err = engine(&p, EngineConfig::default())
        .fingerprint("v2")
        .build()
        .unwrap()
        .run(CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Configuration);
    assert!(err.to_string().contains("--restart"));
    engine(&p, EngineConfig::default())
        .fingerprint("v2")
        .resume(ResumeMode::Restart)
        .finish()
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_slow_store_bounds_the_items_in_flight() {
    let items: Vec<(String, String)> = (0..12)
        .map(|i| (format!("item-{i:02}"), lines(25, 2)))
        .collect();
    let borrowed: Vec<(&str, String)> =
        items.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let p = parts(&borrowed);
    p.store.control().set_latency(Duration::from_millis(50));
    let config = EngineConfig {
        max_items_in_flight: 3,
        channel_capacity: 2,
        store_batch_rows: 10,
        ..EngineConfig::default()
    };
    let engine = engine(&p, config).build().unwrap();
    let summary = engine.run(CancellationToken::new()).await.unwrap();
    assert_eq!(summary.counts.stored, 12 * 25);
    assert!(
        summary.counts.items_in_flight_peak <= 3,
        "peak {}",
        summary.counts.items_in_flight_peak
    );
    assert!(
        summary.counts.items_in_flight_peak >= 2,
        "the bound was never reached: not a test of it"
    );
}

#[tokio::test(start_paused = true)]
async fn cancellation_drains_what_was_read_and_leaves_the_rest_unacknowledged() {
    let items: Vec<(String, String)> = (0..6)
        .map(|i| (format!("item-{i}"), lines(400, 4)))
        .collect();
    let borrowed: Vec<(&str, String)> =
        items.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let p = parts(&borrowed);
    p.store.control().set_latency(Duration::from_millis(20));
    let cancel = CancellationToken::new();
    let engine = engine(
        &p,
        EngineConfig {
            max_items_in_flight: 2,
            store_batch_rows: 20,
            ..EngineConfig::default()
        },
    )
    .build()
    .unwrap();
    let counters = engine.counters();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        // Cancel once some data is stored, mid-run.
        while counters.snapshot().stored < 100 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        trigger.cancel();
    });
    let summary = engine.run(cancel).await.unwrap();
    assert_eq!(summary.outcome, RunOutcome::Cancelled);
    let c = summary.counts;
    assert!(
        c.adds_up(),
        "everything read reached a terminal state: {c:?}"
    );
    assert_eq!(c.failed, 0);
    assert_eq!(
        stored_rows(&p.store) as u64,
        c.stored,
        "everything collected was flushed"
    );
    assert!(c.items_done < 6, "the run was cut short");
    let done = p.checkpoints.done("test").await.unwrap();
    assert_eq!(done.len() as u64, c.items_done);
    for checkpoint in done.values() {
        assert_eq!(checkpoint.stored, 400, "a checkpointed item is complete");
    }

    // The rerun finishes the job without duplicates.
    let rest = engine_again(&p)
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(rest.outcome, RunOutcome::Completed);
    assert_eq!(stored_rows(&p.store), 6 * 400);
}

fn engine_again(p: &Parts) -> Engine {
    engine(p, EngineConfig::default()).build().unwrap()
}

#[tokio::test]
async fn a_panicking_processor_dead_letters_its_batch_and_the_run_goes_on() {
    let p = parts(&[("a", lines(25, 1))]);
    let pipeline = SequentialPipeline::builder("buggy")
        .processor(Arc::new(MockProcessor::new("explodes").panicking("boom")))
        .build()
        .unwrap();
    let summary = engine(&p, EngineConfig::default())
        .pipeline(Arc::new(pipeline) as Arc<dyn Pipeline>)
        .finish()
        .await;
    assert_eq!(summary.outcome, RunOutcome::Completed);
    assert_eq!(
        (summary.counts.dead_lettered, summary.counts.stored),
        (25, 0)
    );
    let letters = p.letters.letters();
    assert_eq!(letters.len(), 3, "one letter per batch of 10");
    assert!(letters[0].error.message.contains("boom"));
    assert!(
        matches!(letters[0].payload, Some(Payload::Table(_))),
        "the batch is kept for replay"
    );
}

#[tokio::test(start_paused = true)]
async fn store_failures_are_retried_then_dead_lettered() {
    let p = parts(&[("a", lines(10, 1))]);
    p.store
        .control()
        .fail_method("store_batch", 2, ErrorType::Timeout);
    let summary = engine(&p, EngineConfig::default()).finish().await;
    assert_eq!((summary.counts.stored, summary.counts.retried), (10, 2));

    let p = parts(&[("a", lines(10, 1))]);
    p.store
        .control()
        .fail_method("store_batch", 100, ErrorType::Storage);
    let handler = Arc::new(
        MockErrorHandler::new()
            .then(ErrorDecision::Retry {
                after: Duration::from_secs(1),
            })
            .otherwise(ErrorDecision::DeadLetter),
    );
    let summary = engine(&p, EngineConfig::default())
        .error_handler(handler)
        .finish()
        .await;
    let c = summary.counts;
    assert_eq!((c.stored, c.dead_lettered, c.retried), (0, 10, 1));
    assert!(c.adds_up());
    assert_eq!(
        p.checkpoints.done("test").await.unwrap().len(),
        1,
        "dead-lettered is terminal: the item is acknowledged"
    );
}

#[tokio::test]
async fn an_abort_fails_what_is_left_and_acknowledges_nothing_unfinished() {
    let p = parts(&[("a", lines(30, 1)), ("b", lines(30, 1))]);
    p.store
        .control()
        .fail_method("store_batch", 100, ErrorType::Authentication);
    let summary = engine(
        &p,
        EngineConfig {
            store_batch_rows: 10,
            ..EngineConfig::default()
        },
    )
    .finish()
    .await;
    assert_eq!(summary.outcome, RunOutcome::Aborted);
    assert!(summary.abort_reason.unwrap().contains("injected failure"));
    let c = summary.counts;
    assert!(c.adds_up(), "{c:?}");
    assert!(c.failed > 0);
    assert!(p.checkpoints.done("test").await.unwrap().is_empty());
}

#[tokio::test]
async fn an_item_that_cannot_be_read_is_dead_lettered_whole() {
    let p = parts(&[("good", lines(5, 1)), ("fatal", "k,1\nFATAL\nk,2\n".into())]);
    let summary = engine(&p, EngineConfig::default()).finish().await;
    assert_eq!(summary.outcome, RunOutcome::Completed);
    let letters = p.letters.letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(
        (letters[0].item_id.as_str(), letters[0].records),
        ("fatal", 0)
    );
    assert!(letters[0].error.message.contains("fatal line 2"));
    assert_eq!(summary.counts.stored, 5);
    assert!(summary.counts.adds_up());

    let missing = parts(&[("a", lines(5, 1))]);
    missing
        .source
        .control()
        .fail_method("open", 1, ErrorType::NotFound);
    let summary = engine(&missing, EngineConfig::default()).finish().await;
    assert_eq!(summary.counts.collected, 0);
    assert_eq!(
        missing.letters.letters()[0].error.error_type,
        ErrorType::NotFound
    );
}

#[tokio::test]
async fn bad_engine_configurations_are_typed_errors() {
    let p = parts(&[]);
    let zero = engine(
        &p,
        EngineConfig {
            channel_capacity: 0,
            ..EngineConfig::default()
        },
    )
    .build()
    .unwrap_err();
    assert!(zero.to_string().contains("channel_capacity"));
    let no_store = Engine::builder("x")
        .source(
            p.source.clone() as Arc<dyn DataSource>,
            Arc::new(MockDecoder::new(1)),
        )
        .build()
        .unwrap_err();
    assert_eq!(no_store.error_type(), ErrorType::Configuration);
    assert!(
        p.store.query(&QueryCriteria::new()).await.is_err(),
        "never connected"
    );
}

#[tokio::test]
async fn the_metadata_parser_gates_items_and_its_fields_travel_with_the_records() {
    use collectors_mocks::MockMetadataParser;
    let p = parts(&[("a", lines(5, 1))]);
    let summary = engine(&p, EngineConfig::default())
        .metadata_parser(Arc::new(MockMetadataParser::new().require("item_id")))
        .finish()
        .await;
    assert_eq!(summary.counts.stored, 5);
    let record = &p.store.records()[0];
    assert_eq!(record.metadata["item_metadata"]["item_id"], "a");

    let p = parts(&[("a", lines(5, 1)), ("b", lines(5, 1))]);
    let summary = engine(&p, EngineConfig::default())
        .metadata_parser(Arc::new(MockMetadataParser::new().require("owner")))
        .finish()
        .await;
    assert_eq!(
        (summary.counts.collected, summary.counts.stored),
        (0, 0),
        "invalid items are not read"
    );
    let letters = p.letters.letters();
    assert_eq!(letters.len(), 2);
    assert!(letters[0].error.message.contains("missing field `owner`"));
    assert_eq!(letters[0].error.operation, "validate_metadata");
}

#[tokio::test(start_paused = true)]
async fn several_stores_each_receive_every_record() {
    let p = parts(&[("a", lines(20, 2)), ("b", lines(7, 2))]);
    let mirror = Arc::new(MockStorageBackend::new("mirror"));
    mirror
        .control()
        .fail_method("store_batch", 1, ErrorType::Timeout);
    let summary = engine(&p, EngineConfig::default())
        .store(mirror.clone() as Arc<dyn StorageBackend>)
        .finish()
        .await;
    assert_eq!((summary.counts.stored, summary.counts.retried), (27, 1));
    assert_eq!(
        (stored_rows(&p.store), stored_rows(&mirror)),
        (27, 27),
        "the retry re-wrote both without duplicates"
    );
}

/// A store that commits checkpoints with records (as SQLite does), counting them.
#[derive(Clone)]
struct Transactional {
    store: Arc<MockStorageBackend>,
    checkpoints: Arc<InMemoryCheckpointStore>,
    letters: Arc<InMemoryDeadLetterSink>,
    committed: Arc<std::sync::atomic::AtomicUsize>,
}

#[collectors::async_trait]
impl StorageBackend for Transactional {
    fn backend_id(&self) -> &str {
        self.store.backend_id()
    }
    async fn connect(&self) -> collectors::Result<()> {
        self.store.connect().await
    }
    async fn disconnect(&self) -> collectors::Result<()> {
        self.store.disconnect().await
    }
    async fn store_batch(&self, records: &[collectors::Record]) -> collectors::Result<()> {
        self.store.store_batch(records).await
    }
    async fn query(
        &self,
        criteria: &QueryCriteria,
    ) -> collectors::Result<Vec<collectors::StoredRecord>> {
        self.store.query(criteria).await
    }
    async fn delete(&self, id: &str) -> collectors::Result<bool> {
        self.store.delete(id).await
    }
    fn ledger(&self) -> Option<collectors::StoreLedger> {
        Some(collectors::StoreLedger::new(
            Arc::new(self.clone()),
            self.checkpoints.clone(),
            self.letters.clone(),
        ))
    }
}

#[collectors::async_trait]
impl collectors::TransactionalCheckpoints for Transactional {
    async fn store_batch_with_checkpoints(
        &self,
        records: &[collectors::Record],
        pipeline: &str,
        checkpoints: &[collectors::ItemCheckpoint],
    ) -> collectors::Result<()> {
        self.store.store_batch(records).await?;
        self.checkpoints.mark_done(pipeline, checkpoints).await?;
        self.committed
            .fetch_add(checkpoints.len(), std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn a_transactional_store_commits_each_items_checkpoint_with_its_last_records() {
    let p = parts(&[("a", lines(25, 2)), ("b", lines(25, 2)), ("c", lines(3, 1))]);
    let store = Arc::new(Transactional {
        store: p.store.clone(),
        checkpoints: p.checkpoints.clone(),
        letters: p.letters.clone(),
        committed: Arc::default(),
    });
    // Neither checkpoints nor dead letters are wired: the store's ledger is used by itself.
    let summary = Engine::builder("test")
        .source(
            p.source.clone() as Arc<dyn DataSource>,
            Arc::new(MockDecoder::new(10)),
        )
        .store(store.clone())
        .config(EngineConfig {
            max_items_in_flight: 1,
            ..EngineConfig::default()
        })
        .finish()
        .await;
    assert_eq!((summary.counts.stored, summary.counts.items_done), (53, 3));
    assert_eq!(
        store.committed.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "every checkpoint rode with its records"
    );
    let done = p.checkpoints.done("test").await.unwrap();
    assert_eq!(done[&("files".to_string(), "a".to_string())].stored, 25);

    // With a second store the ledger cannot cover both: checkpoints must be given.
    let replicated = Engine::builder("x")
        .source(
            p.source.clone() as Arc<dyn DataSource>,
            Arc::new(MockDecoder::new(10)),
        )
        .store(store.clone())
        .store(Arc::new(MockStorageBackend::new("other")) as Arc<dyn StorageBackend>)
        .dead_letters(p.letters.clone() as Arc<dyn DeadLetterSink>)
        .build();
    let err = replicated.expect_err("two stores share no ledger");
    assert!(err.to_string().contains("checkpoint store"), "{err}");

    // Checkpoints given elsewhere: the store's transaction is not used for them.
    let before = store.committed.load(std::sync::atomic::Ordering::SeqCst);
    let elsewhere = Arc::new(InMemoryCheckpointStore::new());
    let summary = Engine::builder("y")
        .source(
            p.source.clone() as Arc<dyn DataSource>,
            Arc::new(MockDecoder::new(10)),
        )
        .store(store.clone())
        .checkpoints(elsewhere.clone() as Arc<dyn CheckpointStore>)
        .finish()
        .await;
    assert_eq!(summary.counts.items_done, 3);
    assert_eq!(elsewhere.done("y").await.unwrap().len(), 3);
    assert_eq!(
        store.committed.load(std::sync::atomic::Ordering::SeqCst),
        before,
        "no checkpoint went through the store's transaction"
    );
}

#[tokio::test]
async fn a_panicking_worker_fails_the_run() {
    let p = parts(&[("good", lines(5, 1)), ("boom", "k,1\nPANIC\n".into())]);
    let summary = engine(&p, EngineConfig::default()).finish().await;
    assert_eq!(summary.outcome, RunOutcome::Aborted, "{summary:?}");
    assert!(
        summary
            .abort_reason
            .as_deref()
            .unwrap_or_default()
            .contains("panicked"),
        "{summary:?}"
    );
    let done = p.checkpoints.done("test").await.unwrap();
    assert!(!done.contains_key(&("files".to_owned(), "boom".to_owned())));
}

#[tokio::test]
async fn a_rejected_item_is_a_counted_terminal_state() {
    let p = parts(&[("good", lines(5, 1)), ("fatal", "FATAL\nk,2\n".into())]);
    let summary = engine(&p, EngineConfig::default()).finish().await;
    let c = summary.counts;
    assert_eq!(summary.outcome, RunOutcome::Completed);
    assert_eq!(c.items_rejected, 1);
    assert!(c.has_dead_letters());
    assert!(c.adds_up());
    let letters = p.letters.letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].item_id, "fatal");
    assert!(
        letters[0].key().ends_with("#item:decode"),
        "{}",
        letters[0].key()
    );
}

/// Refuses every batch holding a record of item `bad`, as a store refuses a value that
/// does not fit its table.
struct PickyStore(MockStorageBackend);

#[collectors::async_trait]
impl StorageBackend for PickyStore {
    fn backend_id(&self) -> &str {
        self.0.backend_id()
    }
    async fn connect(&self) -> collectors::Result<()> {
        self.0.connect().await
    }
    async fn disconnect(&self) -> collectors::Result<()> {
        self.0.disconnect().await
    }
    async fn store_batch(&self, records: &[collectors::Record]) -> collectors::Result<()> {
        if records.iter().any(|r| r.key.contains("/bad#")) {
            return Err(collectors::Error::validation(
                "value does not fit column `value`",
            ));
        }
        self.0.store_batch(records).await
    }
    async fn query(&self, c: &QueryCriteria) -> collectors::Result<Vec<collectors::StoredRecord>> {
        self.0.query(c).await
    }
    async fn delete(&self, id: &str) -> collectors::Result<bool> {
        self.0.delete(id).await
    }
}

#[tokio::test]
async fn one_items_bad_records_do_not_take_another_items_records_down() {
    let p = parts(&[("bad", lines(3, 1)), ("good", lines(4, 1))]);
    let store = Arc::new(PickyStore(MockStorageBackend::new("store")));
    let summary = Engine::builder("test")
        .source(
            p.source.clone() as Arc<dyn DataSource>,
            Arc::new(MockDecoder::new(10)),
        )
        .store(store.clone() as Arc<dyn StorageBackend>)
        .checkpoints(p.checkpoints.clone() as Arc<dyn CheckpointStore>)
        .dead_letters(p.letters.clone() as Arc<dyn DeadLetterSink>)
        // Both items land in one store batch.
        .config(EngineConfig {
            linger: Duration::from_secs(5),
            ..EngineConfig::default()
        })
        .finish()
        .await;
    let c = summary.counts;
    assert_eq!((c.stored, c.dead_lettered), (4, 3), "{c:?}");
    assert_eq!(stored_rows(&store.0), 4);
    let letters = p.letters.letters();
    assert!(letters.iter().all(|l| l.item_id == "bad"), "{letters:?}");
    assert!(letters.iter().all(|l| l.processed && l.batch == Some(0)));
}

/// A queue: messages are delivered once and committed by id after they are handled. Only
/// `collect` and `commit` are written: the engine lists it through the default `list`.
struct Queue {
    messages: std::sync::Mutex<std::collections::VecDeque<collectors::CollectedData>>,
    committed: std::sync::Mutex<Vec<String>>,
}

impl Queue {
    fn with(bodies: &[&str]) -> Self {
        Self {
            messages: std::sync::Mutex::new(
                bodies
                    .iter()
                    .map(|b| {
                        collectors::CollectedData::new("queue", "key-value", "push", b.to_string())
                    })
                    .collect(),
            ),
            committed: std::sync::Mutex::new(Vec::new()),
        }
    }
}

#[collectors::async_trait]
impl collectors::DataSource for Queue {
    fn source_id(&self) -> &str {
        "queue"
    }
    async fn collect(&self) -> collectors::Result<Option<collectors::CollectedData>> {
        Ok(self.messages.lock().unwrap().pop_front())
    }
    async fn commit(&self, items: &[collectors::SourceItem]) -> collectors::Result<()> {
        assert!(
            items.iter().all(|i| i.is_live()),
            "a queue's messages are live items"
        );
        self.committed
            .lock()
            .unwrap()
            .extend(items.iter().map(|i| i.item_id.clone()));
        Ok(())
    }
}

#[tokio::test]
async fn a_live_source_is_acknowledged_through_its_commit_hook_after_store() {
    let queue = Arc::new(Queue::with(&["a,1\nb,2\n", "c,3\nnot a row\n", "d,4\n"]));
    let ids: Vec<String> = queue
        .messages
        .lock()
        .unwrap()
        .iter()
        .map(|m| m.id.to_string())
        .collect();
    let store = Arc::new(MockStorageBackend::new("store"));
    let checkpoints = Arc::new(InMemoryCheckpointStore::new());
    let letters = Arc::new(InMemoryDeadLetterSink::new());
    let summary = Engine::builder("live")
        .source(queue.clone(), Arc::new(MockDecoder::new(10)))
        .store(store.clone() as Arc<dyn StorageBackend>)
        .checkpoints(checkpoints.clone() as Arc<dyn CheckpointStore>)
        .dead_letters(letters.clone() as Arc<dyn DeadLetterSink>)
        .finish()
        .await;
    let c = summary.counts;
    assert_eq!((c.collected, c.stored, c.dead_lettered), (5, 4, 1), "{c:?}");
    assert_eq!(stored_rows(&store), 4);
    let mut committed = queue.committed.lock().unwrap().clone();
    committed.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(
        committed, expected,
        "every message committed once, after store"
    );
    assert!(
        checkpoints.done("live").await.unwrap().is_empty(),
        "a live source is acknowledged, not checkpointed"
    );
}

#[tokio::test]
async fn a_live_message_whose_records_were_not_stored_is_not_committed() {
    let queue = Arc::new(Queue::with(&["a,1\n", "b,2\n"]));
    let store = Arc::new(MockStorageBackend::new("store"));
    store
        .control()
        .fail_method("store_batch", 100, ErrorType::Authentication);
    let summary = Engine::builder("live")
        .source(queue.clone(), Arc::new(MockDecoder::new(10)))
        .store(store.clone() as Arc<dyn StorageBackend>)
        .checkpoints(Arc::new(InMemoryCheckpointStore::new()))
        .dead_letters(Arc::new(InMemoryDeadLetterSink::new()))
        .finish()
        .await;
    assert_eq!(summary.outcome, RunOutcome::Aborted, "{summary:?}");
    assert!(queue.committed.lock().unwrap().is_empty());
}

#[tokio::test]
async fn pending_items_leaves_a_live_source_out_without_consuming_it() {
    let queue = Arc::new(Queue::with(&["a,1\n", "b,2\n"]));
    let files = parts(&[("f", lines(3, 1))]);
    let engine = engine(&files, EngineConfig::default())
        .source(queue.clone(), Arc::new(MockDecoder::new(10)))
        .build()
        .expect("a valid engine");
    let pending = engine.pending_items().await.unwrap();
    let ids: Vec<(&str, &str)> = pending
        .iter()
        .map(|(_, i)| (i.source_id.as_str(), i.item_id.as_str()))
        .collect();
    assert_eq!(ids, [("files", "f")], "only the listed source is listed");
    assert_eq!(
        queue.messages.lock().unwrap().len(),
        2,
        "no message was taken"
    );

    let summary = engine.run(CancellationToken::new()).await.unwrap();
    assert_eq!(summary.outcome, RunOutcome::Completed, "{summary:?}");
    assert_eq!(summary.counts.stored, 5, "{:?}", summary.counts);
    assert_eq!(queue.committed.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn every_source_is_connected_before_listing_and_disconnected_at_the_end() {
    let live = collectors_mocks::MockDataSource::scripted("sensor", ["a,1\n", "b,2\n"]);
    let control = live.control();
    let p = parts(&[("f", lines(2, 1))]);
    let summary = engine(&p, EngineConfig::default())
        .source(Arc::new(live), Arc::new(MockDecoder::new(10)))
        .finish()
        .await;
    assert_eq!(summary.outcome, RunOutcome::Completed, "{summary:?}");
    assert_eq!(summary.counts.stored, 4, "{:?}", summary.counts);
    assert_eq!(control.call_count("connect"), 1);
    assert_eq!(control.call_count("disconnect"), 1);
    let committed: usize = control
        .calls()
        .iter()
        .filter(|c| c.method == "commit")
        .map(|c| c.detail.split(',').count())
        .sum();
    assert_eq!(committed, 2, "both readings committed after store");
    let mut listed: Vec<String> = p
        .source
        .control()
        .calls()
        .into_iter()
        .filter(|c| c.method == "commit")
        .flat_map(|c| c.detail.split(',').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        ["f"],
        "a listed item is committed after its checkpoint"
    );
    assert_eq!(
        p.checkpoints.done("test").await.unwrap().len(),
        1,
        "only the listed item is checkpointed"
    );
}

#[tokio::test]
async fn a_source_that_cannot_connect_aborts_the_run_before_anything_is_listed() {
    let live = collectors_mocks::MockDataSource::scripted("sensor", ["a,1\n"]);
    live.control()
        .fail_method("connect", 1, ErrorType::Connection);
    let p = parts(&[("f", lines(2, 1))]);
    let summary = engine(&p, EngineConfig::default())
        .source(Arc::new(live), Arc::new(MockDecoder::new(10)))
        .finish()
        .await;
    assert_eq!(summary.outcome, RunOutcome::Aborted, "{summary:?}");
    let reason = summary.abort_reason.clone().unwrap_or_default();
    assert!(reason.contains("connect"), "{reason}");
    assert_eq!(summary.counts.collected, 0, "{:?}", summary.counts);
    assert_eq!(p.source.control().call_count("list"), 0, "nothing listed");
}

#[tokio::test]
async fn items_of_a_run_that_died_are_taken_over_when_its_leases_expire() {
    let p = parts(&[
        ("a", lines(20, 2)),
        ("b", lines(20, 2)),
        ("c", lines(20, 2)),
    ]);
    let ttl = std::time::Duration::from_millis(300);
    // Another machine's run claimed a and b, then died: its leases are never renewed.
    for id in ["a", "b"] {
        // Leases are per item, whatever its version.
        let item = collectors::SourceItem::listed("files", id, "any");
        let claim = p
            .checkpoints
            .claim("test", &item, "other-host/4242/dead-run", ttl)
            .await
            .unwrap();
        assert_eq!(claim, collectors::Claim::Granted);
    }
    let summary = engine(
        &p,
        EngineConfig {
            lease_ttl: ttl,
            ..EngineConfig::default()
        },
    )
    .finish()
    .await;
    assert_eq!(summary.outcome, RunOutcome::Completed, "{summary:?}");
    assert_eq!(summary.counts.items_done, 3, "{:?}", summary.counts);
    assert_eq!(summary.counts.items_leased_elsewhere, 0);
    assert_eq!(stored_rows(&p.store), 60);
}
