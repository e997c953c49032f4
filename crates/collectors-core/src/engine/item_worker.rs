//! Reads one item: streams its bytes through the decoder and the pipeline, and hands the
//! records to the store stage in order.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};

use crate::data_source::DataSource;
use crate::engine::counters::{add, sub};
use crate::engine::dead_letter::DeadLetter;
use crate::engine::decode_ahead::DecodeAhead;
use crate::engine::decoder::{Decoded, Decoder};
use crate::engine::item_key::ItemKey;
use crate::engine::run_context::RunContext;
use crate::engine::store_stage::{InFlight, ItemEnd, StoreMessage, rows_of};
use crate::error::{Error, Result};
use crate::error_handler::ErrorDecision;
use crate::metadata_parser::MetadataParser;
use crate::models::{
    CollectedData, ErrorInfo, ErrorType, EventType, Layer, Metadata, Payload, Record, RejectedRows,
    SourceItem,
};
use crate::processor::{ItemContext, StateScope};
use crate::runtime::GaveUp;

/// Rejected rows gathered before they are written to the dead-letter sink.
const LETTERS_PER_WRITE: usize = 1024;

pub(crate) struct ItemWorker {
    pub(crate) run: Arc<RunContext>,
    pub(crate) source: Arc<dyn DataSource>,
    pub(crate) decoder: Arc<dyn Decoder>,
    pub(crate) parser: Option<Arc<dyn MetadataParser>>,
    pub(crate) item: SourceItem,
    /// The item's name in the run, made once.
    pub(crate) key: ItemKey,
    pub(crate) outbox: mpsc::Sender<StoreMessage>,
    /// With source state: the previous item of the source ends its reading first.
    pub(crate) turn: Option<Turn>,
}

/// An item's place in its source's order, when processors carry state across items.
pub(crate) struct Turn {
    /// Fires when the previous item of the source has been read (`None`: the first).
    pub(crate) after: Option<oneshot::Receiver<()>>,
    /// Fired when this item has been read.
    pub(crate) done: oneshot::Sender<()>,
}

/// How reading an item ended, before the store stage acknowledges it.
enum Reading {
    /// Every chunk was read and handed on.
    Complete,
    /// Stopped early (cancel or abort): the item is not acknowledged and is redone next run.
    Interrupted,
    /// The item failed as a whole and the handler decided: its letter is written (or it was
    /// skipped), so the item is acknowledged.
    GaveUp,
}

struct Progress {
    /// The item's parsed metadata, attached to its records.
    item_metadata: Option<Metadata>,
    batch_index: u64,
    skipped: u64,
    letters: Vec<DeadLetter>,
    dead_lettered: u64,
    /// Records were handed on: a whole-item retry would count them twice.
    emitted: bool,
    /// The item as a whole was dead-lettered (it could not be read or decoded).
    rejected: bool,
}

impl ItemWorker {
    fn key(&self) -> ItemKey {
        self.key.clone()
    }

    pub(crate) async fn run(mut self, in_flight: InFlight) {
        let turn = self.turn.take();
        let mut done_reading = None;
        if let Some(turn) = turn {
            if let Some(after) = turn.after {
                // Err: the previous worker is gone (the run is stopping): go on and stop.
                let _ = after.await;
            }
            done_reading = Some(turn.done);
        }
        let key = self.key();
        let mut progress = Progress {
            item_metadata: None,
            batch_index: 0,
            skipped: 0,
            letters: Vec::new(),
            dead_lettered: 0,
            emitted: false,
            rejected: false,
        };
        let start_state = self.source_state();
        let reading = self.read_with_retries(&mut progress, &start_state).await;
        let letters_written = self.flush_letters(&mut progress).await;
        let state = if done_reading.is_some() {
            self.source_state()
        } else {
            None
        };
        if let Some(done) = done_reading {
            let _ = done.send(());
        }
        if letters_written && progress.rejected {
            add(&self.run.counters.items_rejected, 1);
        }
        if let Some(pipeline) = &self.run.pipeline {
            pipeline.finish_item(&self.item.item_id);
        }
        let complete = letters_written && matches!(reading, Reading::Complete | Reading::GaveUp);
        self.run
            .emit(
                EventType::DataCollected,
                serde_json::json!({ "source": key.source_id, "item": key.item_id, "complete": complete }),
            )
            .await;
        let item_id = self.item.item_id.clone();
        let end = ItemEnd {
            item: self.item,
            complete,
            skipped: progress.skipped,
            dead_lettered: progress.dead_lettered,
            state,
            _in_flight: in_flight,
        };
        // The store stage outlives every worker, so this send only fails if it panicked.
        if self
            .outbox
            .send(StoreMessage::ItemEnd { item: key, end })
            .await
            .is_err()
        {
            tracing::error!(item = %item_id, "store stage is gone; item not acknowledged");
        }
    }

    /// The pipeline's state for this item's source (none without source state).
    fn source_state(&self) -> Option<serde_json::Value> {
        let pipeline = self.run.pipeline.as_ref()?;
        if pipeline.state_scope() != StateScope::Source {
            return None;
        }
        match pipeline.save_state(&self.item.source_id) {
            Ok(state) => state,
            Err(e) => {
                self.run
                    .abort(&ErrorInfo::from(&e.with_operation("save_state")));
                None
            }
        }
    }

    async fn read_with_retries(
        &self,
        progress: &mut Progress,
        start_state: &Option<serde_json::Value>,
    ) -> Reading {
        // A stop request ends the wait for a retry: the item is redone by the next run.
        let retry = self
            .run
            .retry(&self.item.item_id)
            .cancelled_by(&self.run.stop);
        // Once records were handed on, reading the item again would count them twice.
        let outcome = retry
            .run_while(
                &mut (self, &mut *progress, start_state),
                |(_, p, _)| !p.emitted,
                |state, attempt| {
                    let (worker, progress, start_state) = state;
                    Box::pin(async move {
                        if attempt > 1 {
                            // A retried item starts from the state its first attempt saw.
                            worker.restore_source_state(start_state)?;
                        }
                        worker.read(progress).await
                    })
                },
            )
            .await;
        let gave_up = match outcome {
            Ok(reading) => return reading,
            Err(gave_up) => gave_up,
        };
        if self.run.gave_up_aborts(&gave_up) {
            return Reading::Interrupted;
        }
        if gave_up.decision == ErrorDecision::DeadLetter {
            progress
                .letters
                .push(self.run.letter(&self.key(), gave_up.info));
            progress.rejected = true;
        }
        Reading::GaveUp
    }

    fn restore_source_state(&self, state: &Option<serde_json::Value>) -> Result<()> {
        match &self.run.pipeline {
            Some(p) if p.state_scope() == StateScope::Source => p
                .restore_state(&self.item.source_id, state.clone())
                .map_err(|e| e.with_operation("restore_state")),
            _ => Ok(()),
        }
    }

    /// Streams the item once. `Err` is a failure of the item as a whole.
    async fn read(&self, progress: &mut Progress) -> Result<Reading> {
        let mut chunks = self
            .source
            .open(&self.item)
            .await
            .map_err(|e| e.with_operation("open"))?;
        // The parser sees the real item: its metadata and its first bytes (a header, a
        // magic number), before anything is decoded.
        let mut first = None;
        if let Some(parser) = &self.parser {
            first = chunks.next().await;
            let head = match &first {
                Some(Ok(chunk)) => chunk.clone(),
                _ => Bytes::new(),
            };
            progress.item_metadata = Some(self.parse_metadata(parser.as_ref(), head).await?);
        }
        let decoder = self.decoder.decoder_for(&self.item)?;
        let mut decoded = DecodeAhead::spawn(first, chunks, decoder, self.run.counters.clone());
        loop {
            let next = tokio::select! {
                biased;
                () = self.run.stop.cancelled() => return Ok(Reading::Interrupted),
                next = decoded.next() => next,
            };
            let Some(next) = next else { break };
            if !self.hand_on(&mut next?, progress).await {
                return Ok(Reading::Interrupted);
            }
        }
        Ok(if self.flush_held(progress).await {
            Reading::Complete
        } else {
            Reading::Interrupted
        })
    }

    /// The item's metadata, parsed and validated from its listing and its first bytes;
    /// `Err` keeps the item from being decoded.
    async fn parse_metadata(&self, parser: &dyn MetadataParser, head: Bytes) -> Result<Metadata> {
        let item = &self.item;
        let mut data = CollectedData::new(&item.source_id, self.decoder.name(), "stream", head);
        data.metadata = item.metadata.clone();
        data.metadata
            .insert("item_id".into(), item.item_id.clone().into());
        data.metadata
            .insert("version".into(), item.version.clone().into());
        if let Some(size) = item.size {
            data.metadata.insert("size".into(), size.into());
        }
        let parsed = parser
            .parse(&data)
            .await
            .map_err(|e| e.with_operation("parse_metadata"))?;
        parser
            .validate(&parsed)
            .await
            .map_err(|e| e.with_operation("validate_metadata"))?;
        Ok(parsed.fields)
    }

    /// Counts decoded rows, dead-letters rejects, runs batches through the pipeline and sends
    /// them on. `false` when the run is aborting and this item must stop.
    async fn hand_on(&self, out: &mut Decoded, progress: &mut Progress) -> bool {
        let counters = &self.run.counters;
        add(&counters.collected, out.rows());
        for reject in out.rejects.drain(..) {
            let error = ErrorInfo::new(
                ErrorType::Validation,
                Layer::Collection,
                "decode",
                reject.reason,
            )
            .with_detail("line", reject.line);
            let letter = self.run.letter(&self.key(), error).with_row(
                reject.line,
                reject.raw,
                reject.complete,
            );
            progress.letters.push(letter);
        }
        if progress.letters.len() >= LETTERS_PER_WRITE && !self.flush_letters(progress).await {
            return false;
        }
        for batch in std::mem::take(&mut out.batches) {
            let rows = batch.num_rows() as u64;
            add(&counters.parsed, rows);
            if !self
                .process_batch(Payload::Table(batch), rows, progress)
                .await
            {
                return false;
            }
        }
        true
    }

    /// The context of the item's next batch.
    fn next_context(&self, progress: &mut Progress) -> ItemContext {
        let context = ItemContext {
            source_id: self.item.source_id.clone(),
            item_id: self.item.item_id.clone(),
            batch_index: progress.batch_index,
        };
        progress.batch_index += 1;
        context
    }

    async fn process_batch(&self, input: Payload, rows: u64, progress: &mut Progress) -> bool {
        let counters = &self.run.counters;
        let context = self.next_context(progress);
        let (output, rejected) = match self.run_pipeline(&context, &input).await {
            Ok(output) => output,
            Err(gave_up) if gave_up.decision == ErrorDecision::Skip => {
                add(&counters.skipped, rows);
                progress.skipped += rows;
                return true;
            }
            Err(gave_up) if self.run.gave_up_aborts(&gave_up) => {
                add(&counters.failed, rows);
                return false;
            }
            Err(GaveUp { info, .. }) => {
                let letter =
                    self.run
                        .letter(&self.key(), info)
                        .with_batch(context.batch_index, input, rows);
                progress.letters.push(letter);
                return true;
            }
        };
        // Refused rows are dead-lettered (counted when their letters are written).
        let refused = self.letter_refused(&context, rejected, progress);
        let rows_left = rows.saturating_sub(refused);
        let rows_out = rows_of(&output).min(rows_left);
        add(&counters.processed, rows_out);
        add(&counters.skipped, rows_left - rows_out);
        progress.skipped += rows_left - rows_out;
        self.send_output(&context, output, rows_out, progress).await
    }

    /// The item was read whole: runs the rows the steps still hold back (see
    /// [`Processor::flush_item`](crate::Processor::flush_item)) through the later steps and
    /// sends them on. They were counted skipped with their batches: the rows that come out
    /// move to processed, the ones a later step refuses to dead-lettered. Not retried: a
    /// flush hands its rows over once. `false` when the run is aborting.
    async fn flush_held(&self, progress: &mut Progress) -> bool {
        let Some(pipeline) = &self.run.pipeline else {
            return true;
        };
        let counters = &self.run.counters;
        let context = self.next_context(progress);
        for result in pipeline.flush_item(&context).await {
            if !result.success {
                let error = result
                    .error
                    .map(|info| info.to_error())
                    .unwrap_or_else(|| Error::processing("flushing held rows failed"));
                // A flush hands its rows over once: a retry would find nothing held.
                let (decision, info) = self.run.retry(pipeline.name()).decide(&error, 1).await;
                match decision {
                    ErrorDecision::Skip => {}
                    ErrorDecision::Abort => {
                        if !self.run.stop.is_cancelled() {
                            self.run.abort(&info);
                        }
                        return false;
                    }
                    _ => progress.letters.push(self.run.letter(&self.key(), info)),
                }
                continue;
            }
            let refused = self.letter_refused(&context, result.rejected, progress);
            let output = result.processed_data.unwrap_or(Payload::Empty);
            let rows_out = rows_of(&output);
            // Held rows were counted skipped; what comes out of them is no longer skipped.
            let moved = (rows_out + refused).min(progress.skipped);
            progress.skipped -= moved;
            sub(&counters.skipped, moved);
            add(&counters.processed, rows_out);
            if !self.send_output(&context, output, rows_out, progress).await {
                return false;
            }
        }
        true
    }

    /// Letters the rows the steps refused (counted when the letters are written); returns how
    /// many rows they hold.
    fn letter_refused(
        &self,
        context: &ItemContext,
        rejected: Vec<RejectedRows>,
        progress: &mut Progress,
    ) -> u64 {
        let mut refused = 0;
        for rows in rejected {
            let count = rows.len() as u64;
            refused += count;
            let error = ErrorInfo::new(
                ErrorType::Validation,
                Layer::Processing,
                "process_rows",
                format!("{count} rows refused by {}", rows.processor()),
            )
            .with_detail("reasons", rows.reasons().to_vec());
            let letter = self
                .run
                .letter(&self.key(), error)
                .with_batch(
                    context.batch_index,
                    Payload::Table(rows.rows().clone()),
                    count,
                )
                .rejected_by(rows.processor());
            progress.letters.push(letter);
        }
        refused
    }

    /// Sends `rows_out` processed rows on to the store stage as one record keyed by the
    /// batch. `false` when the run is aborting.
    async fn send_output(
        &self,
        context: &ItemContext,
        output: Payload,
        rows_out: u64,
        progress: &mut Progress,
    ) -> bool {
        let counters = &self.run.counters;
        if rows_out == 0 {
            return true;
        }
        let key = format!(
            "{}/{}#{}",
            context.source_id, context.item_id, context.batch_index
        );
        let record = match Record::keyed(key, output) {
            Ok(record) => {
                let record = record
                    .with_metadata("source_id", context.source_id.as_str())
                    .with_metadata("item_id", context.item_id.as_str())
                    .with_metadata("batch", context.batch_index);
                match &progress.item_metadata {
                    Some(fields) if !fields.is_empty() => record
                        .with_metadata("item_metadata", serde_json::Value::Object(fields.clone())),
                    _ => record,
                }
            }
            Err(e) => {
                add(&counters.failed, rows_out);
                self.run.abort(&ErrorInfo::from(&e));
                return false;
            }
        };
        progress.emitted = true;
        if self
            .outbox
            .send(StoreMessage::Record {
                item: self.key(),
                batch: context.batch_index,
                record,
                rows: rows_out,
            })
            .await
            .is_err()
        {
            add(&counters.failed, rows_out);
            return false;
        }
        // With other items in flight, let the store stage take the record now. Otherwise
        // the worker runs on until the channel is full, every batch in it stays in memory
        // (and out of cache), and on two cores both workers then wait for the store stage
        // at once. A lone worker does not yield: it could be moved to the other thread,
        // away from its cache, while the store stage works on this one.
        if self.run.counters.items_in_flight.load(Ordering::Relaxed) > 1 {
            tokio::task::yield_now().await;
        }
        true
    }

    /// The pipeline's output, or the handler's final decision about its failure.
    async fn run_pipeline(
        &self,
        context: &ItemContext,
        input: &Payload,
    ) -> std::result::Result<(Payload, Vec<RejectedRows>), GaveUp> {
        let Some(pipeline) = &self.run.pipeline else {
            return Ok((input.clone(), Vec::new()));
        };
        self.run
            .retry(pipeline.name())
            .run(&mut (pipeline.as_ref(), context, input), |state, _| {
                Box::pin(async move {
                    let (pipeline, context, input) = *state;
                    let result = pipeline.execute_in(context, input.clone()).await;
                    if result.success {
                        let output = result.processed_data.unwrap_or(Payload::Empty);
                        return Ok((output, result.rejected));
                    }
                    Err(result
                        .error
                        .map(|info| info.to_error())
                        .unwrap_or_else(|| Error::processing("pipeline failed")))
                })
            })
            .await
    }

    /// Writes the gathered letters; `false` if the write failed (the run is then aborting).
    async fn flush_letters(&self, progress: &mut Progress) -> bool {
        let letters = std::mem::take(&mut progress.letters);
        let records: u64 = letters.iter().map(|l| l.records).sum();
        if self.run.dead_letter(&letters).await {
            progress.dead_lettered += records;
            true
        } else {
            add(&self.run.counters.failed, records);
            false
        }
    }
}
