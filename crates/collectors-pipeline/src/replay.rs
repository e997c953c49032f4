//! Dead-letter replay: the letters of a pipeline run through its decoders, processors and
//! store again, once the cause is fixed. A letter is removed only after its records are
//! durably stored (or skipped, or dead-lettered again with the new error).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use collectors_core::{
    CancellationToken, CheckpointStore, DataSource, DeadLetter, DeadLetterStore, Decoded, Decoder,
    Engine, Error, InMemoryCheckpointStore, InMemoryDeadLetterSink, ItemDecoder, Payload, Result,
    RetryingErrorHandler, RunOutcome, SourceItem, async_trait,
};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::build::Components;

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Letters of the pipeline before the replay.
    pub letters_before: usize,
    /// Letters replayed (the others could not be: see `not_replayable`).
    pub replayed: usize,
    /// Records stored by the replay.
    pub stored: u64,
    /// Records skipped (filtered) by the replay.
    pub skipped: u64,
    /// Letters that failed again; they stay, with the new error.
    pub failed_again: usize,
    /// Letters kept without being replayed, each with why.
    pub not_replayable: Vec<String>,
    /// Letters of the pipeline after the replay.
    pub letters_after: usize,
    /// Whether the replay run completed. When it did not, the letters are left exactly as
    /// they were: every letter stays.
    pub completed: bool,
    /// Why the replay run did not complete.
    pub abort_reason: Option<String>,
}

/// Replays the dead letters of the pipeline in `letters` through `components` (decoders,
/// processors, stores), then replaces, in one step, the letters that were replayed with
/// those that failed again. `letters` is usually [`Components::dead_letters`]: the store's
/// own database, or the configured file.
///
/// - Each replayed record is keyed after its letter (`source/item#line:17#0`,
///   `source/item#batch:3#0`), so a second replay of other letters never overwrites the
///   first, and replaying the same letter again replaces instead of duplicating.
/// - A letter is removed only when its item was acknowledged by the replay run: its records
///   are durably stored, skipped, or dead-lettered again (the new letter, with the new error
///   and the original line, takes its place).
/// - When the replay run does not complete (the store is read-only, say), the letters are
///   not touched: every letter stays, and [`ReplayReport::completed`] is `false`.
/// - Letters that cannot be replayed stay: a row cut at the decoder's line limit, a source
///   the pipeline no longer has, an item whose header is gone.
///
/// # Errors
///
/// When the letters cannot be read or replaced, or the store cannot be reached at all.
pub async fn replay_dead_letters(
    components: &Components,
    store: &dyn DeadLetterStore,
) -> Result<ReplayReport> {
    let pipeline = &components.spec().name;
    let letters = store.letters(pipeline).await?;
    let mut report = ReplayReport {
        letters_before: letters.len(),
        ..ReplayReport::default()
    };
    // Replay item id → the letter it replays, per source and per pass.
    let mut passes: [BTreeMap<String, ReplaySet>; 2] = [BTreeMap::new(), BTreeMap::new()];
    let mut views: HashMap<String, SourceView> = HashMap::new();
    for letter in letters {
        let Some(bound) = components
            .sources
            .iter()
            .find(|s| s.source.source_id() == letter.source_id)
        else {
            report.not_replayable.push(format!(
                "{}: source `{}` is not in the pipeline",
                letter.key(),
                letter.source_id
            ));
            continue;
        };
        let view = views
            .entry(letter.source_id.clone())
            .or_insert_with(|| SourceView::new(bound));
        let (pass, item_id, how) = match plan(&letter, view).await {
            Ok(planned) => planned,
            Err(why) => {
                report
                    .not_replayable
                    .push(format!("{}: {why}", letter.key()));
                continue;
            }
        };
        let set = passes[pass]
            .entry(letter.source_id.clone())
            .or_insert_with(|| ReplaySet {
                source: bound.source.clone(),
                decoder: bound.decoder.clone(),
                items: BTreeMap::new(),
            });
        set.items.insert(item_id, (letter, how));
    }
    for view in views.values() {
        view.close().await;
    }

    // The letters whose items the replay acknowledged, and the letters that replace them.
    let mut replayed: Vec<String> = Vec::new();
    let mut results: Vec<DeadLetter> = Vec::new();
    for (pass, sets) in passes.into_iter().enumerate() {
        if sets.is_empty() {
            continue;
        }
        report.replayed += sets.values().map(|s| s.items.len()).sum::<usize>();
        let outcome = run_pass(components, sets, pass == 0).await?;
        report.stored += outcome.stored;
        report.skipped += outcome.skipped;
        report.failed_again += outcome.failed_again;
        replayed.extend(outcome.done);
        results.extend(outcome.new_letters);
        if let Some(reason) = outcome.abort_reason {
            // Leave the letters exactly as they were.
            report.letters_after = report.letters_before;
            report.abort_reason = Some(reason);
            return Ok(report);
        }
    }
    // The replay runs disconnected the store, and the letters may be in its database.
    components.store().connect().await?;
    store.replace(pipeline, &replayed, &results).await?;
    report.letters_after = store.letters(pipeline).await?.len();
    report.completed = true;
    Ok(report)
}

/// Which pass replays `letter` (0: through the pipeline, 1: straight to the store), under
/// which item id, and what is fed; `Err` says why it cannot be replayed.
async fn plan(
    letter: &DeadLetter,
    view: &mut SourceView,
) -> std::result::Result<(usize, String, Content), String> {
    if let (Some(line), Some(raw)) = (letter.line, &letter.raw) {
        if !letter.raw_complete {
            return Err(format!(
                "line {line} was longer than the decoder's limit and only its start was kept; fix the source file and run the pipeline again"
            ));
        }
        // The row goes back behind the item's header.
        let mut content = view.header(&letter.item_id).await?;
        content.extend_from_slice(raw);
        content.push(b'\n');
        return Ok((
            0,
            format!("{}#line:{line}", letter.item_id),
            Content::Bytes(Bytes::from(content)),
        ));
    }
    if let Some(payload) = &letter.payload {
        let Payload::Table(batch) = payload else {
            return Err("its payload is not a table".to_owned());
        };
        let at = match (letter.line, letter.batch) {
            (Some(line), _) => format!("line:{line}"),
            (None, batch) => format!("batch:{}", batch.unwrap_or(0)),
        };
        let pass = usize::from(letter.processed);
        return Ok((
            pass,
            format!("{}#{at}", letter.item_id),
            Content::Batch(batch.clone()),
        ));
    }
    match view.item(&letter.item_id).await {
        Some(item) => Ok((0, letter.item_id.clone(), Content::Item(item))),
        None if view.source.is_live() => Err(format!(
            "source `{}` is live: item `{}` was read once and cannot be read again",
            view.source.source_id(),
            letter.item_id
        )),
        None => Err(format!(
            "item `{}` is no longer in source `{}`",
            letter.item_id,
            view.source.source_id()
        )),
    }
}

/// One source as the replay sees it: connected and listed once, each item's header read
/// once, however many letters name them. A live source is never listed (that would take its
/// messages): its items cannot be read again.
struct SourceView {
    source: Arc<dyn DataSource>,
    header_lines: usize,
    items: Option<HashMap<String, SourceItem>>,
    headers: HashMap<String, std::result::Result<Vec<u8>, String>>,
    connected: bool,
}

impl SourceView {
    fn new(bound: &crate::build::BoundSource) -> Self {
        Self {
            source: bound.source.clone(),
            header_lines: bound.decoder.header_lines(),
            items: None,
            headers: HashMap::new(),
            connected: false,
        }
    }

    async fn item(&mut self, item_id: &str) -> Option<SourceItem> {
        if self.items.is_none() {
            let listed = if self.source.is_live() {
                Vec::new()
            } else {
                self.list().await
            };
            self.items = Some(listed.into_iter().map(|i| (i.item_id.clone(), i)).collect());
        }
        self.items.as_ref()?.get(item_id).cloned()
    }

    /// Connects the source and lists it; a source that cannot be listed has no items left.
    async fn list(&mut self) -> Vec<SourceItem> {
        if let Err(e) = self.source.connect().await {
            tracing::warn!(source = %self.source.source_id(), error = %e, "source not connected for the replay");
            return Vec::new();
        }
        self.connected = true;
        self.source.list().try_concat().await.unwrap_or_default()
    }

    /// Disconnects the source if it was connected (the replay run connects it again).
    async fn close(&self) {
        if self.connected
            && let Err(e) = self.source.disconnect().await
        {
            tracing::warn!(source = %self.source.source_id(), error = %e, "source disconnect failed");
        }
    }

    /// The item's header lines, terminators included (empty when the format has none).
    async fn header(&mut self, item_id: &str) -> std::result::Result<Vec<u8>, String> {
        if self.header_lines == 0 {
            return Ok(Vec::new());
        }
        if !self.headers.contains_key(item_id) {
            let read = match self.item(item_id).await {
                Some(item) => read_header(self.source.as_ref(), &item, self.header_lines).await,
                None => None,
            };
            let header = read.ok_or_else(|| {
                format!(
                    "its header is needed and item `{item_id}` is no longer readable in source `{}`",
                    self.source.source_id()
                )
            });
            self.headers.insert(item_id.to_owned(), header);
        }
        self.headers[item_id].clone()
    }
}

/// The first `lines` non-blank lines of `item` (and the blank lines before them),
/// terminators included; `None` when they cannot be read.
async fn read_header(source: &dyn DataSource, item: &SourceItem, lines: usize) -> Option<Vec<u8>> {
    let mut chunks = source.open(item).await.ok()?;
    let mut out = Vec::new();
    let mut seen = 0;
    let mut line_start = 0;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.ok()?;
        let offset = out.len();
        out.extend_from_slice(&chunk);
        for i in offset..out.len() {
            if out[i] == b'\n' {
                if !out[line_start..i].trim_ascii().is_empty() {
                    seen += 1;
                }
                line_start = i + 1;
                if seen == lines {
                    out.truncate(i + 1);
                    return Some(out);
                }
            }
        }
        if out.len() > 16 * 1024 * 1024 {
            return None;
        }
    }
    None
}

enum Content {
    Bytes(Bytes),
    Batch(arrow_array::RecordBatch),
    Item(SourceItem),
}

/// The letters of one source replayed in one pass.
struct ReplaySet {
    source: Arc<dyn DataSource>,
    decoder: Arc<dyn Decoder>,
    items: BTreeMap<String, (DeadLetter, Content)>,
}

struct PassOutcome {
    stored: u64,
    skipped: u64,
    failed_again: usize,
    /// Keys of the letters whose items were acknowledged.
    done: Vec<String>,
    new_letters: Vec<DeadLetter>,
    abort_reason: Option<String>,
}

async fn run_pass(
    components: &Components,
    sets: BTreeMap<String, ReplaySet>,
    through_pipeline: bool,
) -> Result<PassOutcome> {
    let name = format!("{}#dead-letter-replay", components.spec().name);
    let checkpoints = Arc::new(InMemoryCheckpointStore::new());
    let sink = Arc::new(InMemoryDeadLetterSink::new());
    let mut builder = Engine::builder(&name)
        .checkpoints(checkpoints.clone())
        .dead_letters(sink.clone())
        .error_handler(Arc::new(RetryingErrorHandler::new(replay_policy(
            components,
        )?)))
        .config(components.spec().engine.config());
    // Replayed records go wherever the pipeline's records go: the store and its replicas.
    for store in components.stores() {
        builder = builder.store(store);
    }
    if through_pipeline && let Some(p) = &components.pipeline {
        builder = builder.pipeline(p.clone());
    }
    let mut originals: HashMap<(String, String), DeadLetter> = HashMap::new();
    for (source_id, set) in sets {
        let mut items = Vec::new();
        let mut contents = HashMap::new();
        for (item_id, (letter, content)) in set.items {
            let version = match &content {
                Content::Item(item) => item.version.clone(),
                _ => letter.version.clone(),
            };
            items.push(SourceItem::listed(&source_id, &item_id, version));
            originals.insert((source_id.clone(), item_id.clone()), letter);
            contents.insert(item_id, content);
        }
        let contents = Arc::new(contents);
        builder = builder.source(
            Arc::new(ReplaySource {
                id: source_id,
                inner: set.source,
                items,
                contents: contents.clone(),
            }),
            Arc::new(ReplayDecoder {
                inner: set.decoder,
                contents,
            }),
        );
    }
    let summary = builder.build()?.run(CancellationToken::new()).await?;
    let done = checkpoints.done(&name).await?;
    let mut outcome = PassOutcome {
        stored: summary.counts.stored,
        skipped: summary.counts.skipped,
        failed_again: 0,
        done: Vec::new(),
        new_letters: Vec::new(),
        abort_reason: (summary.outcome != RunOutcome::Completed).then(|| {
            summary
                .abort_reason
                .clone()
                .unwrap_or_else(|| "the replay run was cancelled".to_owned())
        }),
    };
    let mut failed: HashMap<(String, String), Vec<DeadLetter>> = HashMap::new();
    for letter in sink.letters() {
        failed
            .entry((letter.source_id.clone(), letter.item_id.clone()))
            .or_default()
            .push(letter);
    }
    for (key, original) in originals {
        if !done.contains_key(&key) {
            continue;
        }
        outcome.done.push(original.key());
        if let Some(again) = failed.remove(&key) {
            outcome.failed_again += 1;
            for letter in again {
                outcome.new_letters.push(map_back(letter, &original));
            }
        }
    }
    Ok(outcome)
}

/// The pipeline's retries, but a transient failure that outlasts them stops the replay
/// instead of writing a new letter: a store that cannot be written (read-only, full) says
/// nothing about the data, and every letter must stay as it was.
fn replay_policy(components: &Components) -> Result<collectors_core::ErrorPolicy> {
    let mut retry = components.spec().retry.clone();
    retry.on_exhausted = collectors_core::FinalAction::Abort;
    retry.policy()
}

/// A letter of the replay run, put back on the original item, line and batch. A rejected
/// row keeps its exact bytes whatever stage failed this time, with the new error.
fn map_back(mut letter: DeadLetter, original: &DeadLetter) -> DeadLetter {
    if original.raw.is_some() {
        let mut kept = original.clone();
        kept.error = letter.error;
        kept.at = letter.at;
        return kept;
    }
    letter.pipeline = original.pipeline.clone();
    letter.item_id = original.item_id.clone();
    letter.version = original.version.clone();
    if original.batch.is_some() {
        letter.batch = original.batch;
    }
    letter
}

/// The replay items of one source: rows behind their header, batches, or whole items read
/// from the real source. Listed, so the run's checkpoints say which were acknowledged.
struct ReplaySource {
    id: String,
    inner: Arc<dyn DataSource>,
    items: Vec<SourceItem>,
    contents: Arc<HashMap<String, Content>>,
}

#[async_trait]
impl DataSource for ReplaySource {
    fn source_id(&self) -> &str {
        &self.id
    }

    /// Whole items are read from the real source: it is connected for the run.
    async fn connect(&self) -> Result<()> {
        self.inner.connect().await
    }

    async fn disconnect(&self) -> Result<()> {
        self.inner.disconnect().await
    }

    fn is_live(&self) -> bool {
        false
    }

    fn list(&self) -> BoxStream<'_, Result<Vec<SourceItem>>> {
        stream::iter([Ok(self.items.clone())]).boxed()
    }

    async fn open(&self, item: &SourceItem) -> Result<BoxStream<'static, Result<Bytes>>> {
        match self.contents.get(&item.item_id) {
            Some(Content::Bytes(bytes)) => Ok(stream::iter([Ok(bytes.clone())]).boxed()),
            Some(Content::Batch(_)) => Ok(stream::empty().boxed()),
            Some(Content::Item(original)) => self.inner.open(original).await,
            None => Err(Error::not_found(format!(
                "replay item `{}` is unknown",
                item.item_id
            ))),
        }
    }
}

/// The source's decoder, except for batches, which are handed on as they are.
struct ReplayDecoder {
    inner: Arc<dyn Decoder>,
    contents: Arc<HashMap<String, Content>>,
}

impl Decoder for ReplayDecoder {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn decoder_for(&self, item: &SourceItem) -> Result<Box<dyn ItemDecoder>> {
        match self.contents.get(&item.item_id) {
            Some(Content::Batch(batch)) => Ok(Box::new(OneBatch(Some(batch.clone())))),
            _ => self.inner.decoder_for(item),
        }
    }

    fn header_lines(&self) -> usize {
        self.inner.header_lines()
    }
}

/// Emits one batch it already holds.
struct OneBatch(Option<arrow_array::RecordBatch>);

impl ItemDecoder for OneBatch {
    fn feed(&mut self, _chunk: &[u8], _out: &mut Decoded) -> Result<()> {
        Ok(())
    }

    fn finish(&mut self, out: &mut Decoded) -> Result<()> {
        out.batches.extend(self.0.take());
        Ok(())
    }
}
