//! [`DeadLetterSink`]: where records that cannot be stored go, with their error.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::models::{ErrorInfo, Payload};
use crate::sync::lock;

/// A record (or a whole item) that could not be processed, kept with its error so it can be
/// inspected and replayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The pipeline that rejected it.
    pub pipeline: String,
    /// The source of the item.
    pub source_id: String,
    /// The item's stable id.
    pub item_id: String,
    /// 1-based line within the item, for a rejected row.
    #[serde(default)]
    pub line: Option<u64>,
    /// How many records this letter stands for (1 for a row, a batch's row count, 0 for a
    /// whole item that could not be read).
    pub records: u64,
    /// The raw row, when the record was rejected before decoding.
    #[serde(default)]
    pub raw: Option<String>,
    /// The decoded data, when it failed later (processing, storage).
    #[serde(default)]
    pub payload: Option<Payload>,
    /// Why.
    pub error: ErrorInfo,
    /// When it was dead-lettered.
    pub at: DateTime<Utc>,
}

impl DeadLetter {
    /// A stable identity: replays of the same item write letters with the same key.
    pub fn key(&self) -> String {
        match self.line {
            Some(line) => format!("{}/{}#{line}", self.source_id, self.item_id),
            None => format!(
                "{}/{}#{}",
                self.source_id, self.item_id, self.error.operation
            ),
        }
    }
}

/// Durable storage for dead letters.
///
/// # Contract
///
/// `write` is durable when it returns: the engine acknowledges an item only after its dead
/// letters are written. Letters are at-least-once: an item replayed after a crash writes its
/// letters again (same [`DeadLetter::key`]); readers deduplicate by key.
#[async_trait]
pub trait DeadLetterSink: Send + Sync {
    /// Writes letters.
    async fn write(&self, letters: &[DeadLetter]) -> Result<()>;
}

/// A [`DeadLetterSink`] in memory, for tests.
#[derive(Debug, Default)]
pub struct InMemoryDeadLetterSink {
    letters: Mutex<Vec<DeadLetter>>,
}

impl InMemoryDeadLetterSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every letter written, in order.
    pub fn letters(&self) -> Vec<DeadLetter> {
        lock(&self.letters).clone()
    }
}

#[async_trait]
impl DeadLetterSink for InMemoryDeadLetterSink {
    async fn write(&self, letters: &[DeadLetter]) -> Result<()> {
        lock(&self.letters).extend_from_slice(letters);
        Ok(())
    }
}
