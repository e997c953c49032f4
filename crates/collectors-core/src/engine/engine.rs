//! [`Engine`]: runs sources through a pipeline into a store, with the run's guarantees.

use std::sync::Arc;

use std::collections::HashMap;

use futures::StreamExt;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::data_source::DataSource;
use crate::engine::checkpoint_store::{
    CheckpointStore, Claim, ItemCheckpoint, TransactionalCheckpoints,
};
use crate::engine::config::EngineConfig;
use crate::engine::counters::{EngineCounters, RunOutcome, RunSummary, add};
use crate::engine::dead_letter::DeadLetterSink;
use crate::engine::decoder::Decoder;
use crate::engine::item_key::ItemKey;
use crate::engine::item_worker::{ItemWorker, Turn};
use crate::engine::lease_owner::{is_gone, owner_id};
use crate::engine::run_context::RunContext;
use crate::engine::store_stage::{InFlight, StoreMessage, StoreStage};
use crate::error::{Error, Result};
use crate::error_handler::ErrorHandler;
use crate::event_emitter::EventEmitter;
use crate::metadata_parser::MetadataParser;
use crate::models::{ErrorInfo, EventType, Metadata, SourceItem};
use crate::pipeline::Pipeline;
use crate::processor::StateScope;
use crate::storage_backend::StorageBackend;
use crate::task_tracker::TaskTracker;

/// Whether a run continues from its checkpoints or starts over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResumeMode {
    /// Skip items whose checkpoint matches their current version (the default).
    #[default]
    Resume,
    /// Forget the pipeline's checkpoints first and process everything again.
    Restart,
}

pub(crate) struct SourceBinding {
    pub(crate) source: Arc<dyn DataSource>,
    pub(crate) decoder: Arc<dyn Decoder>,
}

/// Moves data from [`DataSource`]s through a decoder and a pipeline into a store.
///
/// What a run guarantees:
/// - **Backpressure**: at most `max_items_in_flight` items are read but not acknowledged, and
///   at most `channel_capacity` batches wait for the store; a slow store slows reading.
/// - **At-least-once**: an item is acknowledged only after every record from it is stored,
///   skipped or dead-lettered: a listed item is checkpointed, then told to
///   [`DataSource::commit`]; a live item (one that carries its content) is told to `commit`
///   alone. Records are keyed `source/item#batch`, so a replay after a crash replaces instead
///   of duplicating. A rerun skips checkpointed items whose version did not change.
/// - **Failures are data**: decode rejects are dead-lettered with their line; processing,
///   storage and read failures go to the [`ErrorHandler`] (retry with backoff, skip,
///   dead-letter, abort). A panicking processor fails its batch, not the run.
/// - **Every record ends in a typed terminal state**: `collected = stored + skipped +
///   dead_lettered + failed` (see [`RunSummary`]).
/// - **Shutdown**: cancelling the token stops reading at the next chunk, drains what was
///   decoded, flushes the store stage and writes checkpoints for the items that finished.
/// - **Observability**: events on the emitter, [`EngineCounters`], a tracked task, a
///   `tracing` span per item.
///
/// ```no_run
/// # use std::sync::Arc;
/// # use collectors_core::*;
/// # async fn demo(source: Arc<dyn DataSource>, decoder: Arc<dyn Decoder>, store: Arc<dyn StorageBackend>,
/// #   checkpoints: Arc<dyn CheckpointStore>, dead_letters: Arc<dyn DeadLetterSink>) -> Result<()> {
/// let engine = Engine::builder("sensors")
///     .source(source, decoder)
///     .store(store)
///     .checkpoints(checkpoints)
///     .dead_letters(dead_letters)
///     .build()?;
/// let summary = engine.run(CancellationToken::new()).await?;
/// assert!(summary.counts.adds_up());
/// # Ok(()) }
/// ```
pub struct Engine {
    pub(crate) name: String,
    pub(crate) sources: Vec<SourceBinding>,
    pub(crate) pipeline: Option<Arc<dyn Pipeline>>,
    pub(crate) store: Arc<dyn StorageBackend>,
    /// The store's own ledger commits checkpoints with records.
    pub(crate) transactional: Option<Arc<dyn TransactionalCheckpoints>>,
    /// The checkpoints are the store's ledger: reading them needs the store connected.
    pub(crate) checkpoints_in_store: bool,
    pub(crate) parser: Option<Arc<dyn MetadataParser>>,
    pub(crate) checkpoints: Arc<dyn CheckpointStore>,
    pub(crate) dead_letters: Arc<dyn DeadLetterSink>,
    pub(crate) errors: Arc<dyn ErrorHandler>,
    pub(crate) events: Arc<dyn EventEmitter>,
    pub(crate) tasks: Arc<dyn TaskTracker>,
    pub(crate) config: EngineConfig,
    pub(crate) resume: ResumeMode,
    pub(crate) fingerprint: Option<String>,
    pub(crate) counters: Arc<EngineCounters>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("name", &self.name)
            .field(
                "sources",
                &self
                    .sources
                    .iter()
                    .map(|s| s.source.source_id().to_owned())
                    .collect::<Vec<_>>(),
            )
            .field("store", &self.store.backend_id())
            .field("config", &self.config)
            .finish()
    }
}

impl Engine {
    /// The live counters (read them while [`run`](Self::run) is going, e.g. for a progress
    /// bar). They restart at zero with every run.
    pub fn counters(&self) -> Arc<EngineCounters> {
        self.counters.clone()
    }

    /// Lists every listed source's items and drops those already checkpointed at their
    /// version (counted in the `items_*` and `bytes_total` counters): what a run would
    /// process, with nothing read or written (a dry run). Each source is connected before it
    /// is listed and disconnected after; when the checkpoints are the store's own, the store
    /// is connected first.
    ///
    /// A live source ([`DataSource::is_live`]) is left out: listing it would take its
    /// messages, or wait for the next one forever; what a run would read from it is only
    /// known when it arrives.
    pub async fn pending_items(&self) -> Result<Vec<(usize, SourceItem)>> {
        if self.checkpoints_in_store {
            self.store.connect().await?;
        }
        let done = self.checkpoints.done(&self.name).await?;
        let mut pending = Vec::new();
        for (index, binding) in self.sources.iter().enumerate() {
            if binding.source.is_live() {
                continue;
            }
            binding
                .source
                .connect()
                .await
                .map_err(|e| source_error(e, binding, "connect"))?;
            let listed = self.pending_of(index, binding, &done, &mut pending).await;
            if let Err(e) = binding.source.disconnect().await {
                tracing::warn!(source = %binding.source.source_id(), error = %e, "source disconnect failed");
            }
            listed?;
        }
        Ok(pending)
    }

    async fn pending_of(
        &self,
        index: usize,
        binding: &SourceBinding,
        done: &HashMap<(String, String), ItemCheckpoint>,
        pending: &mut Vec<(usize, SourceItem)>,
    ) -> Result<()> {
        let mut pages = binding.source.list();
        while let Some(page) = pages.next().await {
            for item in page? {
                if self.is_pending(&item, done) {
                    pending.push((index, item));
                }
            }
        }
        Ok(())
    }

    /// Whether `item` still needs processing (not checkpointed at its version), counted in
    /// the `items_*` and `bytes_total` counters.
    fn is_pending(
        &self,
        item: &SourceItem,
        done: &HashMap<(String, String), ItemCheckpoint>,
    ) -> bool {
        add(&self.counters.items_listed, 1);
        let key = (item.source_id.clone(), item.item_id.clone());
        if done.get(&key).is_some_and(|c| c.version == item.version) {
            add(&self.counters.items_already_done, 1);
            return false;
        }
        add(&self.counters.bytes_total, item.size.unwrap_or(0));
        true
    }

    async fn prepare_checkpoints(&self) -> Result<()> {
        if self.resume == ResumeMode::Restart {
            self.checkpoints.reset(&self.name).await?;
        }
        let Some(fingerprint) = &self.fingerprint else {
            return Ok(());
        };
        match self.checkpoints.fingerprint(&self.name).await? {
            Some(stored) if &stored != fingerprint => Err(Error::configuration(format!(
                "pipeline `{}` changed since its last run (settings that shape storage keys differ); \
                 rerun with --restart to process everything again",
                self.name
            ))
            .with_component(&self.name)),
            Some(_) => Ok(()),
            None => self.checkpoints.set_fingerprint(&self.name, fingerprint).await,
        }
    }

    /// Runs the pipeline to the end, or until `cancel` is cancelled.
    ///
    /// Every source is connected ([`DataSource::connect`]) before any is listed, and
    /// disconnected at the end; a source that cannot be connected aborts the run
    /// ([`RunOutcome::Aborted`], the error in [`RunSummary::abort_reason`]) before anything
    /// is read.
    ///
    /// `Err` only when the run could not start (store unreachable, checkpoints unreadable,
    /// changed fingerprint); everything after that is reported in the [`RunSummary`].
    pub async fn run(&self, cancel: CancellationToken) -> Result<RunSummary> {
        let started = Instant::now();
        self.counters.reset();
        self.store.connect().await?;
        self.prepare_checkpoints().await?;
        let done = self.checkpoints.done(&self.name).await?;
        let mut metadata = Metadata::new();
        metadata.insert("pipeline".into(), self.name.clone().into());
        metadata.insert("sources".into(), self.sources.len().into());
        let task = self
            .tasks
            .create(&self.name, "pipeline_run", metadata)
            .await?;

        let run = Arc::new(RunContext::new(
            self.name.clone(),
            self.pipeline.clone(),
            self.store.clone(),
            self.dead_letters.clone(),
            self.errors.clone(),
            self.events.clone(),
            self.counters.clone(),
            cancel.child_token(),
        ));
        run.emit(
            EventType::CollectionStart,
            serde_json::json!({ "sources": self.sources.len() }),
        )
        .await;

        let (outbox, inbox) = mpsc::channel(self.config.channel_capacity);
        let store_stage = tokio::spawn(
            StoreStage::new(
                run.clone(),
                self.checkpoints.clone(),
                self.transactional.clone(),
                self.config.clone(),
                self.sources.iter().map(|b| b.source.clone()).collect(),
            )
            .run(inbox),
        );
        let progress = self.spawn_progress(task.task_id, run.stop.clone());

        // With source state, a source's items are read one after another, each starting
        // from the state the previous one left (the first from its last checkpoint).
        let ordered = self
            .pipeline
            .as_ref()
            .is_some_and(|p| p.state_scope() == StateScope::Source);
        let owner = owner_id(run.run_id);
        let heartbeat = self.spawn_lease_renewal(owner.clone(), run.stop.clone());
        let slots = Arc::new(Semaphore::new(self.config.max_items_in_flight));
        let mut workers = JoinSet::new();
        // Items another run held when they were listed (sources without state).
        let mut held: Vec<(&SourceBinding, SourceItem)> = Vec::new();
        let connected = self.connect_sources(&run).await;
        // Listings are streams of pages: items are dispatched as their page arrives, so a
        // source of millions of items is never held in memory whole.
        'listing: for binding in &connected {
            let mut pages = binding.source.list();
            let source_live = binding.source.is_live();
            let mut warned = false;
            let mut restored = !ordered;
            // With source state: the previous item's turn, and whether the rest of the source
            // is left to a concurrent run that holds one of its items.
            let mut previous_turn: Option<oneshot::Receiver<()>> = None;
            let mut blocked = false;
            loop {
                let page = tokio::select! {
                    biased;
                    () = run.stop.cancelled() => break 'listing,
                    page = pages.next() => page,
                };
                let page = match page {
                    None => break,
                    Some(Ok(page)) => page,
                    Some(Err(e)) => {
                        run.abort(&ErrorInfo::from(&e.with_operation("list")));
                        break 'listing;
                    }
                };
                for item in page {
                    if item.is_live() != source_live && !warned {
                        warned = true;
                        tracing::warn!(
                            source = %binding.source.source_id(),
                            item = %item.item_id,
                            "the source answers is_live() = {source_live} but lists a {} item; \
                             pending_items relies on that answer",
                            if item.is_live() { "live" } else { "listed" }
                        );
                    }
                    if !self.is_pending(&item, &done) {
                        continue;
                    }
                    if blocked {
                        add(&self.counters.items_leased_elsewhere, 1);
                        continue;
                    }
                    if !restored {
                        restored = true;
                        if let Err(e) = self.restore_source_state(binding, &item, &done) {
                            run.abort(&ErrorInfo::from(&e));
                            break 'listing;
                        }
                    }
                    let permit = tokio::select! {
                        biased;
                        () = run.stop.cancelled() => break 'listing,
                        permit = slots.clone().acquire_owned() => match permit {
                            Ok(permit) => permit,
                            Err(_) => break 'listing,
                        },
                    };
                    // Claimed just before it is read, so a concurrent run takes what this one has
                    // not started yet.
                    match self.claim(&item, &owner).await {
                        Ok(Claim::Granted) => {}
                        Ok(Claim::Held) if !ordered => {
                            held.push((binding, item));
                            continue;
                        }
                        Ok(claim) => {
                            if claim == Claim::Held {
                                add(&self.counters.items_leased_elsewhere, 1);
                            } else {
                                add(&self.counters.items_already_done, 1);
                            }
                            // The rest of a stateful source depends on this item: leave it all to
                            // the run that has it.
                            blocked = ordered;
                            continue;
                        }
                        Err(e) => {
                            run.abort(&ErrorInfo::from(&e.with_operation("claim")));
                            break 'listing;
                        }
                    }
                    let turn = ordered.then(|| {
                        let (done, next) = oneshot::channel();
                        Turn {
                            after: previous_turn.replace(next),
                            done,
                        }
                    });
                    self.dispatch(&mut workers, &run, binding, item, &outbox, permit, turn);
                }
            }
        }
        self.take_over(&mut workers, &run, held, &owner, &slots, &outbox)
            .await;
        drop(outbox);
        while let Some(joined) = workers.join_next().await {
            self.reap(&run, joined);
        }
        if let Err(e) = store_stage.await {
            tracing::error!(error = %e, "store stage panicked");
            run.abort(&ErrorInfo::from(&Error::storage(format!(
                "store stage panicked: {e}"
            ))));
        }
        progress.abort();
        heartbeat.abort();
        for binding in &connected {
            if let Err(e) = binding.source.disconnect().await {
                tracing::warn!(source = %binding.source.source_id(), error = %e, "source disconnect failed");
            }
        }
        if let Err(e) = self.checkpoints.release(&self.name, &owner).await {
            tracing::warn!(error = %e, "leases not released; they expire by themselves");
        }
        if let Err(e) = self.store.disconnect().await {
            tracing::warn!(error = %e, "store disconnect failed");
        }
        self.finish(&run, task.task_id, cancel.is_cancelled(), started)
            .await
    }

    /// Starts reading `item` on a worker of its own, holding `permit` until it is acknowledged.
    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        &self,
        workers: &mut JoinSet<()>,
        run: &Arc<RunContext>,
        binding: &SourceBinding,
        item: SourceItem,
        outbox: &mpsc::Sender<StoreMessage>,
        permit: tokio::sync::OwnedSemaphorePermit,
        turn: Option<Turn>,
    ) {
        let span = tracing::info_span!("item", source = %item.source_id, item = %item.item_id);
        let worker = ItemWorker {
            run: run.clone(),
            source: binding.source.clone(),
            decoder: binding.decoder.clone(),
            parser: self.parser.clone(),
            key: ItemKey::new(
                item.source_id.clone(),
                item.item_id.clone(),
                item.version.clone(),
            ),
            item,
            outbox: outbox.clone(),
            turn,
        };
        workers.spawn(
            worker
                .run(InFlight::new(permit, self.counters.clone()))
                .instrument(span),
        );
        // Reap finished workers as we go, so the set stays small.
        while let Some(joined) = workers.try_join_next() {
            self.reap(run, joined);
        }
    }

    /// The items another run held when they were listed: claimed again every third of a
    /// lease's lifetime, for one lifetime, so that the items of a run that died (its leases
    /// stopped being renewed) are taken over and finished here. Items still held after that
    /// belong to a run that is alive, and are left to it; items it finished meanwhile are
    /// left too. Both count as leased elsewhere.
    async fn take_over(
        &self,
        workers: &mut JoinSet<()>,
        run: &Arc<RunContext>,
        mut held: Vec<(&SourceBinding, SourceItem)>,
        owner: &str,
        slots: &Arc<Semaphore>,
        outbox: &mpsc::Sender<StoreMessage>,
    ) {
        let poll = self.config.lease_ttl / 3;
        let deadline = Instant::now() + self.config.lease_ttl + poll;
        while !held.is_empty() && Instant::now() < deadline {
            tokio::select! {
                biased;
                () = run.stop.cancelled() => break,
                () = tokio::time::sleep(poll) => {}
            }
            let mut still = Vec::new();
            for (binding, item) in held {
                if run.stop.is_cancelled() {
                    still.push((binding, item));
                    continue;
                }
                let permit = tokio::select! {
                    biased;
                    () = run.stop.cancelled() => {
                        still.push((binding, item));
                        continue;
                    }
                    permit = slots.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                };
                match self.claim(&item, owner).await {
                    Ok(Claim::Granted) => {
                        tracing::info!(item = %item.item_id, "taking over an item whose lease expired");
                        self.dispatch(workers, run, binding, item, outbox, permit, None);
                    }
                    Ok(Claim::Held) => still.push((binding, item)),
                    Ok(Claim::Done) => add(&self.counters.items_leased_elsewhere, 1),
                    Err(e) => {
                        run.abort(&ErrorInfo::from(&e.with_operation("claim")));
                        return;
                    }
                }
            }
            held = still;
        }
        add(&self.counters.items_leased_elsewhere, held.len() as u64);
    }

    /// Connects every source, in order, before any is listed; a source that cannot be
    /// connected aborts the run (and the rest are not tried). Returns the sources connected.
    async fn connect_sources(&self, run: &RunContext) -> Vec<&SourceBinding> {
        let mut connected = Vec::new();
        for binding in &self.sources {
            let result = tokio::select! {
                biased;
                () = run.stop.cancelled() => break,
                result = binding.source.connect() => result,
            };
            match result {
                Ok(()) => connected.push(binding),
                Err(e) => {
                    run.abort(&ErrorInfo::from(&source_error(e, binding, "connect")));
                    break;
                }
            }
        }
        connected
    }

    /// Gives a source the state its last acknowledged item before `first` (its first
    /// pending item) left, or none (a fresh start), so a rerun continues the series exactly.
    fn restore_source_state(
        &self,
        binding: &SourceBinding,
        first: &SourceItem,
        done: &HashMap<(String, String), ItemCheckpoint>,
    ) -> Result<()> {
        let Some(pipeline) = &self.pipeline else {
            return Ok(());
        };
        let source_id = binding.source.source_id();
        let state = done
            .values()
            .filter(|c| c.source_id == source_id && c.item_id < first.item_id)
            .max_by(|a, b| a.item_id.cmp(&b.item_id))
            .and_then(|c| c.state.clone());
        pipeline
            .restore_state(source_id, state)
            .map_err(|e| e.with_operation("restore_state").with_component(&self.name))
    }

    /// A worker that panicked fails the run: its item stays unacknowledged and its records
    /// are unaccounted for.
    fn reap(&self, run: &RunContext, joined: std::result::Result<(), tokio::task::JoinError>) {
        if let Err(e) = joined {
            add(&self.counters.items_failed, 1);
            run.abort(&ErrorInfo::from(
                &Error::processing(format!("an item worker panicked: {e}"))
                    .with_component(&self.name),
            ));
        }
    }

    /// Claims `item`; a lease held by a process of this machine that is gone (killed) is
    /// taken over at once rather than after it expires. A live item is nobody else's to
    /// take: it was delivered to this run.
    async fn claim(&self, item: &SourceItem, owner: &str) -> Result<Claim> {
        if item.is_live() {
            return Ok(Claim::Granted);
        }
        let ttl = self.config.lease_ttl;
        let claim = self.checkpoints.claim(&self.name, item, owner, ttl).await?;
        if claim != Claim::Held {
            return Ok(claim);
        }
        match self.checkpoints.lease_holder(&self.name, item).await? {
            Some(holder) if is_gone(&holder) => {
                tracing::info!(item = %item.item_id, %holder, "taking over the lease of a process that is gone");
                self.checkpoints.release(&self.name, &holder).await?;
                self.checkpoints.claim(&self.name, item, owner, ttl).await
            }
            _ => Ok(claim),
        }
    }

    /// Renews this run's leases every third of their lifetime until the run stops.
    fn spawn_lease_renewal(
        &self,
        owner: String,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let (checkpoints, name, ttl) = (
            self.checkpoints.clone(),
            self.name.clone(),
            self.config.lease_ttl,
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(ttl / 3);
            tick.tick().await;
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                if let Err(e) = checkpoints.renew(&name, &owner, ttl).await {
                    tracing::warn!(error = %e, "leases not renewed");
                }
            }
        })
    }

    fn spawn_progress(
        &self,
        task_id: uuid::Uuid,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let (tasks, counters, every) = (
            self.tasks.clone(),
            self.counters.clone(),
            self.config.progress_interval,
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.max(std::time::Duration::from_millis(10)));
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let c = counters.snapshot();
                let percent = if c.bytes_total == 0 {
                    0.0
                } else {
                    (c.bytes_read as f64 * 100.0 / c.bytes_total as f64).min(100.0)
                };
                let message = format!(
                    "{} records stored, {} dead-lettered",
                    c.stored, c.dead_lettered
                );
                if tasks
                    .update_progress(task_id, percent, Some(message))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        })
    }

    async fn finish(
        &self,
        run: &RunContext,
        task_id: uuid::Uuid,
        cancelled: bool,
        started: Instant,
    ) -> Result<RunSummary> {
        let counts = self.counters.snapshot();
        let outcome = if run.is_aborted() {
            RunOutcome::Aborted
        } else if cancelled {
            RunOutcome::Cancelled
        } else {
            RunOutcome::Completed
        };
        let summary = RunSummary {
            outcome,
            counts,
            elapsed: started.elapsed(),
            task_id,
            abort_reason: run.abort_reason(),
        };
        let data = serde_json::to_value(&summary).unwrap_or_default();
        let tracked = match outcome {
            RunOutcome::Completed => self.tasks.complete(task_id, data.clone()).await,
            RunOutcome::Cancelled => self.tasks.cancel(task_id).await,
            RunOutcome::Aborted => {
                let reason = summary
                    .abort_reason
                    .clone()
                    .unwrap_or_else(|| "aborted".to_owned());
                self.tasks
                    .fail(
                        task_id,
                        ErrorInfo::from(&Error::processing(reason).with_component(&self.name)),
                    )
                    .await
            }
        };
        if let Err(e) = tracked {
            tracing::warn!(error = %e, "run task not updated");
        }
        run.emit(EventType::CollectionComplete, data).await;
        tracing::info!(pipeline = %self.name, ?outcome, ?counts, "run finished");
        Ok(summary)
    }
}

/// `e` from `operation` on a source, naming the source unless the error already names a
/// component.
fn source_error(e: Error, binding: &SourceBinding, operation: &str) -> Error {
    let e = e.with_operation(operation);
    if e.context().component.is_some() {
        e
    } else {
        e.with_component(binding.source.source_id())
    }
}
