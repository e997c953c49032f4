//! The store stage: gathers records into store batches, writes them, and acknowledges items
//! once every record from them reached a terminal state.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::future::join_all;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::data_source::DataSource;
use crate::engine::checkpoint_store::{CheckpointStore, ItemCheckpoint, TransactionalCheckpoints};
use crate::engine::config::EngineConfig;
use crate::engine::counters::{EngineCounters, add, sub};
use crate::engine::item_key::ItemKey;
use crate::engine::run_context::RunContext;
use crate::error_handler::ErrorDecision;
use crate::models::{ErrorInfo, EventType, Payload, Record, SourceItem};

/// Holds an in-flight slot; releasing it (on drop) lets the next item start.
pub(crate) struct InFlight {
    _permit: tokio::sync::OwnedSemaphorePermit,
    counters: Arc<EngineCounters>,
}

impl InFlight {
    pub(crate) fn new(
        permit: tokio::sync::OwnedSemaphorePermit,
        counters: Arc<EngineCounters>,
    ) -> Self {
        counters.item_started();
        Self {
            _permit: permit,
            counters,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.counters.item_ended();
    }
}

/// How an item's reading ended.
pub(crate) struct ItemEnd {
    /// The item as listed: its version is checkpointed, whether it is live decides how it
    /// is acknowledged, and its source is told of it as it is.
    pub(crate) item: SourceItem,
    /// Every record of the item was read and handed on (or dead-lettered, or skipped).
    pub(crate) complete: bool,
    pub(crate) skipped: u64,
    pub(crate) dead_lettered: u64,
    /// The pipeline's source state after this item, checkpointed with it.
    pub(crate) state: Option<serde_json::Value>,
    /// Held until the item is acknowledged; dropping it frees the slot.
    pub(crate) _in_flight: InFlight,
}

pub(crate) enum StoreMessage {
    Record {
        item: ItemKey,
        /// The item's batch the record was made from.
        batch: u64,
        record: Record,
        rows: u64,
    },
    ItemEnd {
        item: ItemKey,
        end: ItemEnd,
    },
}

/// Where the records of one store batch ended.
#[derive(Debug, Clone, PartialEq)]
enum Fate {
    Stored,
    Skipped,
    /// The handler chose the dead-letter path; the letters are not written yet.
    DeadLetter(ErrorInfo),
    DeadLettered,
    Failed,
}

#[derive(Default)]
struct ItemState {
    pending: usize,
    stored: u64,
    skipped: u64,
    dead_lettered: u64,
    failed: bool,
    /// Its checkpoint was committed with its last records.
    checkpointed: bool,
    end: Option<ItemEnd>,
}

/// Where a buffered record came from.
struct Origin {
    item: ItemKey,
    /// The item's batch the record was made from.
    batch: u64,
    rows: u64,
}

/// Records waiting in the store stage, with their origins. The records are kept apart so
/// that a store batch is written from the buffer as it is, without a copy of each record.
#[derive(Default)]
struct Buffer {
    records: Vec<Record>,
    origins: Vec<Origin>,
}

impl Buffer {
    fn push(&mut self, record: Record, origin: Origin) {
        self.records.push(record);
        self.origins.push(origin);
    }

    fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Whether the records come from more than one item.
    fn spans_items(&self) -> bool {
        self.origins.iter().any(|o| o.item != self.origins[0].item)
    }

    /// The records grouped by item, in the order of each item's first record.
    fn by_item(self) -> Vec<Buffer> {
        let mut groups: Vec<Buffer> = Vec::new();
        for (record, origin) in self.records.into_iter().zip(self.origins) {
            match groups.iter_mut().find(|g| g.origins[0].item == origin.item) {
                Some(group) => group.push(record, origin),
                None => {
                    let mut group = Buffer::default();
                    group.push(record, origin);
                    groups.push(group);
                }
            }
        }
        groups
    }
}

pub(crate) struct StoreStage {
    run: Arc<RunContext>,
    checkpoints: Arc<dyn CheckpointStore>,
    /// The store again, when it commits checkpoints with records.
    transactional: Option<Arc<dyn TransactionalCheckpoints>>,
    config: EngineConfig,
    buffer: Buffer,
    buffered_rows: u64,
    first_buffered: Option<Instant>,
    items: HashMap<ItemKey, ItemState>,
    /// The sources by id: told when their items are acknowledged.
    sources: HashMap<String, Arc<dyn DataSource>>,
}

impl StoreStage {
    pub(crate) fn new(
        run: Arc<RunContext>,
        checkpoints: Arc<dyn CheckpointStore>,
        transactional: Option<Arc<dyn TransactionalCheckpoints>>,
        config: EngineConfig,
        sources: Vec<Arc<dyn DataSource>>,
    ) -> Self {
        Self {
            sources: sources
                .into_iter()
                .map(|s| (s.source_id().to_owned(), s))
                .collect(),
            run,
            checkpoints,
            transactional,
            config,
            buffer: Buffer::default(),
            buffered_rows: 0,
            first_buffered: None,
            items: HashMap::new(),
        }
    }

    /// Runs until every sender is gone, then flushes and acknowledges what is left.
    pub(crate) async fn run(mut self, mut inbox: mpsc::Receiver<StoreMessage>) {
        // One timer, moved when the buffer's linger starts: a timer made and dropped for
        // every message would cost a timer-wheel update each.
        let linger = tokio::time::sleep(self.config.linger);
        tokio::pin!(linger);
        let mut armed_at = None;
        loop {
            if self.first_buffered != armed_at {
                armed_at = self.first_buffered;
                if let Some(first) = armed_at {
                    linger.as_mut().reset(first + self.config.linger);
                }
            }
            let message = tokio::select! {
                message = inbox.recv() => message,
                () = &mut linger, if armed_at.is_some() => {
                    self.flush().await;
                    continue;
                }
            };
            match message {
                None => break,
                Some(StoreMessage::Record {
                    item,
                    batch,
                    record,
                    rows,
                }) => {
                    self.items.entry(item.clone()).or_default().pending += 1;
                    self.first_buffered.get_or_insert_with(Instant::now);
                    self.buffer.push(record, Origin { item, batch, rows });
                    self.buffered_rows += rows;
                    if self.buffered_rows >= self.config.store_batch_rows as u64 {
                        self.flush().await;
                    }
                }
                Some(StoreMessage::ItemEnd { item, end }) => {
                    self.items.entry(item.clone()).or_default().end = Some(end);
                    self.acknowledge(&[item]).await;
                    // When every item in flight has ended, nothing can join the buffer until
                    // one is acknowledged: waiting for the linger would only stall the run.
                    let ended = self.items.values().filter(|s| s.end.is_some()).count() as u64;
                    let in_flight = self
                        .run
                        .counters
                        .items_in_flight
                        .load(std::sync::atomic::Ordering::SeqCst);
                    if !self.buffer.is_empty() && ended >= in_flight {
                        self.flush().await;
                    }
                }
            }
        }
        self.flush().await;
        let left: Vec<ItemKey> = self.items.keys().cloned().collect();
        self.acknowledge(&left).await;
    }

    async fn flush(&mut self) {
        self.first_buffered = None;
        if self.buffer.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.buffer);
        self.buffered_rows = 0;
        let fate = self.write(&batch).await;
        if fate != Fate::Stored && fate != Fate::Failed && batch.spans_items() {
            // One item's records must not take another item's down with them (a value that
            // does not fit the table, say): write each item's records on their own, so only
            // the records at fault are dead-lettered, each with its own error.
            for group in batch.by_item() {
                let fate = self.write(&group).await;
                self.settle(fate, group).await;
            }
            return;
        }
        self.settle(fate, batch).await;
    }

    /// Writes `batch` (with the checkpoints it completes), retrying as the handler decides.
    /// Records that end dead-lettered or skipped are not yet counted (see [`settle`]).
    async fn write(&self, batch: &Buffer) -> Fate {
        if self.run.is_aborted() {
            return Fate::Failed;
        }
        let records = batch.records.as_slice();
        let completing = self.completed_by(&batch.origins);
        let written = self
            .run
            .retry(self.run.store.backend_id())
            .run(&mut (self, records, &completing), |state, _| {
                Box::pin(async move {
                    let (stage, records, completing) = *state;
                    let stored = match (&stage.transactional, completing.is_empty()) {
                        (Some(store), false) => {
                            store
                                .store_batch_with_checkpoints(
                                    records,
                                    &stage.run.pipeline_name,
                                    completing,
                                )
                                .await
                        }
                        _ => stage.run.store.store_batch(records).await,
                    };
                    stored.map_err(|e| e.with_operation("store_batch"))
                })
            })
            .await;
        match written {
            Ok(()) => Fate::Stored,
            Err(gave_up) => match gave_up.decision {
                ErrorDecision::DeadLetter => Fate::DeadLetter(gave_up.info),
                ErrorDecision::Skip => Fate::Skipped,
                _ => {
                    // Even while draining after a stop request: the store refuses to go on.
                    self.run.abort(&gave_up.info);
                    Fate::Failed
                }
            },
        }
    }

    /// Counts where `batch` ended, dead-letters it if so decided, and acknowledges the items
    /// it completes.
    async fn settle(&mut self, fate: Fate, batch: Buffer) {
        let rows: u64 = batch.origins.iter().map(|o| o.rows).sum();
        let counters = &self.run.counters;
        let fate = match fate {
            Fate::DeadLetter(info) => {
                let letters: Vec<_> = batch
                    .records
                    .iter()
                    .zip(&batch.origins)
                    .map(|(record, o)| {
                        self.run
                            .letter(&o.item, info.clone())
                            .with_batch(o.batch, record.payload.clone(), o.rows)
                            .processed()
                    })
                    .collect();
                // Counted by `dead_letter`, as dead-lettered or failed.
                if self.run.dead_letter(&letters).await {
                    Fate::DeadLettered
                } else {
                    Fate::Failed
                }
            }
            other => other,
        };
        match fate {
            Fate::Stored => {
                add(&counters.stored, rows);
                self.run
                    .emit(
                        EventType::StorageComplete,
                        serde_json::json!({ "records": batch.records.len(), "rows": rows }),
                    )
                    .await;
            }
            Fate::Skipped => add(&counters.skipped, rows),
            Fate::Failed => add(&counters.failed, rows),
            Fate::DeadLettered | Fate::DeadLetter(_) => {}
        }
        let completing = if fate == Fate::Stored {
            self.completed_by(&batch.origins)
        } else {
            Vec::new()
        };
        let mut touched = Vec::new();
        for b in batch.origins {
            let state = self.items.entry(b.item.clone()).or_default();
            state.pending -= 1;
            if completing
                .iter()
                .any(|c| c.source_id == b.item.source_id && c.item_id == b.item.item_id)
            {
                state.checkpointed = true;
            }
            match fate {
                Fate::Stored => state.stored += b.rows,
                Fate::Skipped => state.skipped += b.rows,
                Fate::DeadLettered | Fate::DeadLetter(_) => state.dead_lettered += b.rows,
                Fate::Failed => state.failed = true,
            }
            touched.push(b.item);
        }
        self.acknowledge(&touched).await;
    }

    /// With a transactional store: the checkpoints of the items whose last records are in
    /// `batch`, as they will be once it is stored.
    fn completed_by(&self, batch: &[Origin]) -> Vec<ItemCheckpoint> {
        if self.transactional.is_none() {
            return Vec::new();
        }
        let mut in_batch: HashMap<&ItemKey, (usize, u64)> = HashMap::new();
        for b in batch {
            let entry = in_batch.entry(&b.item).or_default();
            entry.0 += 1;
            entry.1 += b.rows;
        }
        in_batch
            .into_iter()
            .filter_map(|(key, (records, rows))| {
                let state = self.items.get(key)?;
                let end = state.end.as_ref()?;
                let last = state.pending == records && end.complete && !state.failed;
                // A live item has no checkpoint.
                (last && !end.item.is_live()).then(|| {
                    checkpoint(
                        key,
                        end,
                        state.stored + rows,
                        state.skipped,
                        state.dead_lettered,
                    )
                })
            })
            .collect()
    }

    /// Checkpoints the items among `keys` whose records have all reached a terminal state.
    async fn acknowledge(&mut self, keys: &[ItemKey]) {
        let mut finished = Vec::new();
        for key in keys {
            let ready = self
                .items
                .get(key)
                .is_some_and(|s| s.pending == 0 && s.end.is_some());
            if ready && let Some(state) = self.items.remove(key) {
                finished.push((key.clone(), state));
            }
        }
        if finished.is_empty() {
            return;
        }
        // Before any checkpoint: the store publishes what it holds for complete items.
        let unpublished = self.finish_items(&finished).await;
        let mut checkpoints = Vec::new();
        let mut failed = 0;
        let mut committed = 0;
        // Items whose end is durable: committed with their records, checkpointed below, or
        // live (nothing to checkpoint).
        let mut acknowledged: Vec<&SourceItem> = Vec::new();
        let mut checkpointing: Vec<&SourceItem> = Vec::new();
        for (key, state) in &finished {
            let Some(end) = &state.end else { continue };
            let complete = end.complete && !state.failed && !unpublished.contains(key);
            if state.checkpointed || (complete && end.item.is_live()) {
                committed += 1;
                acknowledged.push(&end.item);
            } else if complete {
                checkpointing.push(&end.item);
                checkpoints.push(checkpoint(
                    key,
                    end,
                    state.stored,
                    state.skipped,
                    state.dead_lettered,
                ));
            } else {
                failed += 1;
            }
        }
        add(&self.run.counters.items_done, committed);
        let counters = &self.run.counters;
        if !checkpoints.is_empty() {
            match self
                .checkpoints
                .mark_done(&self.run.pipeline_name, &checkpoints)
                .await
            {
                Ok(()) => {
                    add(&counters.items_done, checkpoints.len() as u64);
                    acknowledged.extend(checkpointing);
                }
                Err(e) => {
                    add(&counters.items_failed, checkpoints.len() as u64);
                    self.run
                        .abort(&ErrorInfo::from(&e.with_operation("checkpoint")));
                }
            }
        }
        add(&counters.items_failed, failed);
        self.tell_sources(&acknowledged).await;
        // Dropping the states releases their in-flight slots.
        drop(finished);
    }

    /// Calls the store's [`finish_item`](crate::StorageBackend::finish_item) for each
    /// complete item of `finished` (at once, each retried as the handler decides) and
    /// [`abandon_item`](crate::StorageBackend::abandon_item) for the others. Returns the
    /// items whose records could not be published: they are not checkpointed, and their
    /// rows move from stored to failed. A give-up the handler calls `Abort` aborts the run.
    async fn finish_items(&self, finished: &[(ItemKey, ItemState)]) -> HashSet<ItemKey> {
        let store = self.run.store.as_ref();
        let calls = finished.iter().filter_map(|(key, state)| {
            let end = state.end.as_ref()?;
            let complete = end.complete && !state.failed;
            Some(async move {
                if !complete {
                    store.abandon_item(&end.item).await;
                    return None;
                }
                let finished = self
                    .run
                    .retry(store.backend_id())
                    .run(&mut (store, &end.item), |s, _| {
                        let (store, item) = *s;
                        Box::pin(async move {
                            store
                                .finish_item(item)
                                .await
                                .map_err(|e| e.with_operation("finish_item"))
                        })
                    })
                    .await;
                let gave_up = finished.err()?;
                if state.checkpointed {
                    // Committed with its records already: nothing to take back.
                    tracing::warn!(item = %key.item_id, error = %gave_up.error, "finish_item failed after the checkpoint");
                    return None;
                }
                tracing::warn!(item = %key.item_id, error = %gave_up.error, "the item's records could not be published; it is redone by a later run");
                self.run.gave_up_aborts(&gave_up);
                store.abandon_item(&end.item).await;
                let counters = &self.run.counters;
                sub(&counters.stored, state.stored);
                add(&counters.failed, state.stored);
                Some(key.clone())
            })
        });
        join_all(calls).await.into_iter().flatten().collect()
    }

    /// Tells the sources of acknowledged items ([`DataSource::commit`]). A failure there is
    /// logged: the records are stored, and a source that redelivers gives them again (keys
    /// make that safe).
    async fn tell_sources(&self, items: &[&SourceItem]) {
        let mut by_source: HashMap<&str, Vec<SourceItem>> = HashMap::new();
        for item in items {
            by_source
                .entry(item.source_id.as_str())
                .or_default()
                .push((*item).clone());
        }
        for (source_id, items) in by_source {
            if let Some(source) = self.sources.get(source_id)
                && let Err(e) = source.commit(&items).await
            {
                tracing::warn!(source = source_id, error = %e, "acknowledgement not delivered to the source");
            }
        }
    }
}

fn checkpoint(
    key: &ItemKey,
    end: &ItemEnd,
    stored: u64,
    skipped: u64,
    dead_lettered: u64,
) -> ItemCheckpoint {
    ItemCheckpoint {
        source_id: key.source_id.clone(),
        item_id: key.item_id.clone(),
        version: end.item.version.clone(),
        stored,
        skipped: skipped + end.skipped,
        dead_lettered: dead_lettered + end.dead_lettered,
        completed_at: chrono::Utc::now(),
        state: end.state.clone(),
    }
}

/// The number of records a payload stands for.
pub(crate) fn rows_of(payload: &Payload) -> u64 {
    match payload {
        Payload::Table(batch) => batch.num_rows() as u64,
        Payload::Empty => 0,
        _ => 1,
    }
}
