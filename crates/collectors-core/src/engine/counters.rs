//! [`EngineCounters`] and [`RunSummary`]: what a run did, live and at the end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Live counters of a run, readable while it runs (a progress bar polls them).
///
/// Record counters obey, once the run has ended:
/// `collected = stored + skipped + dead_lettered + failed`.
#[derive(Debug, Default)]
pub struct EngineCounters {
    /// Items listed by the sources.
    pub items_listed: AtomicU64,
    /// Items skipped because a checkpoint says they are done.
    pub items_already_done: AtomicU64,
    /// Items acknowledged (checkpointed) in this run.
    pub items_done: AtomicU64,
    /// Items that ended without acknowledgement (failed, aborted, cancelled).
    pub items_failed: AtomicU64,
    /// Items dead-lettered as a whole: they could not be read or decoded (a header that does
    /// not match the schema, say). Their records are unknown, so they are not in `collected`.
    pub items_rejected: AtomicU64,
    /// Items left to a concurrent run of the same pipeline, which holds their lease.
    pub items_leased_elsewhere: AtomicU64,
    /// Items read but not yet acknowledged, now.
    pub items_in_flight: AtomicU64,
    /// The most items in flight at any moment.
    pub items_in_flight_peak: AtomicU64,
    /// Bytes read from sources.
    pub bytes_read: AtomicU64,
    /// Bytes of the items to read (known sizes only), for progress.
    pub bytes_total: AtomicU64,
    /// Records decoded or rejected by the decoder.
    pub collected: AtomicU64,
    /// Records decoded successfully.
    pub parsed: AtomicU64,
    /// Records that came out of the pipeline.
    pub processed: AtomicU64,
    /// Records stored.
    pub stored: AtomicU64,
    /// Records dropped on purpose (filters, skip decisions).
    pub skipped: AtomicU64,
    /// Records sent to the dead-letter sink.
    pub dead_lettered: AtomicU64,
    /// Records that reached no allowed terminal state (abort).
    pub failed: AtomicU64,
    /// Retries made (processing, storage, item reads).
    pub retried: AtomicU64,
}

pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Takes back what [`add`] counted (rows counted skipped that a flush later hands on).
pub(crate) fn sub(counter: &AtomicU64, n: u64) {
    counter.fetch_sub(n, Ordering::Relaxed);
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl EngineCounters {
    /// Sets every counter back to zero (at the start of a run).
    pub(crate) fn reset(&self) {
        for counter in [
            &self.items_listed,
            &self.items_already_done,
            &self.items_done,
            &self.items_failed,
            &self.items_rejected,
            &self.items_leased_elsewhere,
            &self.items_in_flight,
            &self.items_in_flight_peak,
            &self.bytes_read,
            &self.bytes_total,
            &self.collected,
            &self.parsed,
            &self.processed,
            &self.stored,
            &self.skipped,
            &self.dead_lettered,
            &self.failed,
            &self.retried,
        ] {
            counter.store(0, Ordering::SeqCst);
        }
    }

    pub(crate) fn item_started(&self) {
        let now = self.items_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.items_in_flight_peak.fetch_max(now, Ordering::SeqCst);
    }

    pub(crate) fn item_ended(&self) {
        self.items_in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// A consistent-enough snapshot for display.
    pub fn snapshot(&self) -> RecordCounts {
        RecordCounts {
            collected: get(&self.collected),
            parsed: get(&self.parsed),
            processed: get(&self.processed),
            stored: get(&self.stored),
            skipped: get(&self.skipped),
            dead_lettered: get(&self.dead_lettered),
            failed: get(&self.failed),
            retried: get(&self.retried),
            bytes_read: get(&self.bytes_read),
            bytes_total: get(&self.bytes_total),
            items_listed: get(&self.items_listed),
            items_already_done: get(&self.items_already_done),
            items_done: get(&self.items_done),
            items_failed: get(&self.items_failed),
            items_rejected: get(&self.items_rejected),
            items_leased_elsewhere: get(&self.items_leased_elsewhere),
            items_in_flight_peak: get(&self.items_in_flight_peak),
        }
    }
}

/// Record and item counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordCounts {
    /// Records decoded or rejected.
    pub collected: u64,
    /// Records decoded.
    pub parsed: u64,
    /// Records out of the pipeline.
    pub processed: u64,
    /// Records stored.
    pub stored: u64,
    /// Records skipped on purpose.
    pub skipped: u64,
    /// Records dead-lettered.
    pub dead_lettered: u64,
    /// Records failed.
    pub failed: u64,
    /// Retries made.
    pub retried: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Bytes to read.
    pub bytes_total: u64,
    /// Items listed.
    pub items_listed: u64,
    /// Items skipped thanks to checkpoints.
    pub items_already_done: u64,
    /// Items acknowledged.
    pub items_done: u64,
    /// Items not acknowledged.
    pub items_failed: u64,
    /// Items dead-lettered as a whole (unreadable, or rejected by the decoder).
    #[serde(default)]
    pub items_rejected: u64,
    /// Items left to a concurrent run that holds their lease.
    #[serde(default)]
    pub items_leased_elsewhere: u64,
    /// Most items in flight at once.
    pub items_in_flight_peak: u64,
}

impl RecordCounts {
    /// Whether every collected record reached a terminal state.
    pub fn adds_up(&self) -> bool {
        self.collected == self.stored + self.skipped + self.dead_lettered + self.failed
    }

    /// Whether anything went to the dead-letter path: records, or whole rejected items.
    pub fn has_dead_letters(&self) -> bool {
        self.dead_lettered > 0 || self.items_rejected > 0
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every item was handled.
    Completed,
    /// Stopped on request; unfinished items stay unacknowledged and are redone next time.
    Cancelled,
    /// Stopped by an abort decision of the error handler.
    Aborted,
}

/// The result of [`Engine::run`](crate::Engine::run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// How the run ended.
    pub outcome: RunOutcome,
    /// The counts.
    pub counts: RecordCounts,
    /// Wall time.
    pub elapsed: Duration,
    /// The task that tracked the run.
    pub task_id: Uuid,
    /// The error that aborted the run, if it was aborted.
    pub abort_reason: Option<String>,
}
