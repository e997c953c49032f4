//! [`DeadLetterSink`]: where records that cannot be stored go, with their error.

use std::sync::Mutex;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::models::{ErrorInfo, Payload};
use crate::sync::lock;

/// A record (or a whole item) that could not be processed, kept with its error so it can be
/// inspected and replayed.
///
/// Every letter has an identity of its own ([`key`](Self::key)): the item and its version,
/// plus the line (a rejected row), the batch (a decoded batch that failed later) or the
/// failed operation (a whole item). Two letters share a key only when they are the same
/// letter written twice (an item redone after a crash).
///
/// The raw bytes of a rejected row are kept exactly: in JSON they are the `raw` string when
/// they are UTF-8, else `raw_base64`.
///
/// ```
/// use collectors_core::{DeadLetter, Error, ErrorInfo};
///
/// let error = ErrorInfo::from(&Error::validation("3 columns, expected 4"));
/// let letter = DeadLetter::new("sensors", "incoming", "a.csv", error)
///     .with_version("v1")
///     .with_row(7, &b"s-\xff,1"[..], true);
/// let json = serde_json::to_value(&letter).unwrap();
/// assert!(json.get("raw").is_none(), "not UTF-8: kept as base64");
/// let back: DeadLetter = serde_json::from_value(json).unwrap();
/// assert_eq!(back.raw.as_deref(), Some(&b"s-\xff,1"[..]));
/// assert_eq!(back.key(), "incoming/a.csv@v1#line:7");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "DeadLetterRepr", try_from = "DeadLetterRepr")]
#[non_exhaustive]
pub struct DeadLetter {
    /// The pipeline that rejected it.
    pub pipeline: String,
    /// The source of the item.
    pub source_id: String,
    /// The item's stable id.
    pub item_id: String,
    /// The item's version when it was read (empty when unknown).
    pub version: String,
    /// 1-based line within the item, for a rejected row.
    pub line: Option<u64>,
    /// The index of the item's decoded batch, for a batch that failed after decoding.
    pub batch: Option<u64>,
    /// How many records this letter stands for (1 for a row, a batch's row count, 0 for a
    /// whole item that could not be read).
    pub records: u64,
    /// The raw row, exactly as read, when the record was rejected before decoding.
    pub raw: Option<Bytes>,
    /// Whether `raw` is the whole row (`false`: the row was longer than the decoder's limit
    /// and only its start was kept; such a letter cannot be replayed).
    pub raw_complete: bool,
    /// The decoded data, when it failed later (processing, storage).
    pub payload: Option<Payload>,
    /// Whether `payload` already went through the pipeline (it failed in the store): a
    /// replay stores it without processing it again.
    pub processed: bool,
    /// The step that refused these rows of the batch while the others went on
    /// ([`RejectedRows`](crate::RejectedRows)); `payload` holds them as they reached it, and
    /// the error's `reasons` detail the reason of each.
    pub rejected_by: Option<String>,
    /// Why.
    pub error: ErrorInfo,
    /// When it was dead-lettered.
    pub at: DateTime<Utc>,
}

impl DeadLetter {
    /// A letter for a whole item of `source_id` (add a row, a batch or a payload with the
    /// `with_*` methods).
    pub fn new(
        pipeline: impl Into<String>,
        source_id: impl Into<String>,
        item_id: impl Into<String>,
        error: ErrorInfo,
    ) -> Self {
        Self {
            pipeline: pipeline.into(),
            source_id: source_id.into(),
            item_id: item_id.into(),
            version: String::new(),
            line: None,
            batch: None,
            records: 0,
            raw: None,
            raw_complete: true,
            payload: None,
            processed: false,
            rejected_by: None,
            error,
            at: Utc::now(),
        }
    }

    /// The version of the item the letter comes from.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// A rejected row: its line, its bytes, and whether they are the whole row.
    pub fn with_row(mut self, line: u64, raw: impl Into<Bytes>, complete: bool) -> Self {
        self.line = Some(line);
        self.raw = Some(raw.into());
        self.raw_complete = complete;
        self.records = 1;
        self
    }

    /// A decoded batch of the item that failed later: its index and its data.
    pub fn with_batch(mut self, batch: u64, payload: Payload, records: u64) -> Self {
        self.batch = Some(batch);
        self.payload = Some(payload);
        self.records = records;
        self
    }

    /// Marks the payload as the rows of the batch that the step `processor` refused.
    pub fn rejected_by(mut self, processor: impl Into<String>) -> Self {
        self.rejected_by = Some(processor.into());
        self
    }

    /// Marks the payload as the pipeline's output (it failed in the store).
    pub fn processed(mut self) -> Self {
        self.processed = true;
        self
    }

    /// The letter's identity: `source/item@version#line:N`, `#batch:N`,
    /// `#batch:N/rejected:STEP` (rows a step refused) or `#item:OPERATION`. Only repeats of
    /// the same letter share it.
    pub fn key(&self) -> String {
        let at = match (self.line, self.batch) {
            (Some(line), _) => format!("line:{line}"),
            (None, Some(batch)) if self.rejected_by.is_some() => format!(
                "batch:{batch}/rejected:{}",
                self.rejected_by.as_deref().unwrap_or_default()
            ),
            (None, Some(batch)) => format!("batch:{batch}"),
            (None, None) => format!("item:{}", self.error.operation),
        };
        format!("{}/{}@{}#{at}", self.source_id, self.item_id, self.version)
    }
}

/// The JSON form of a [`DeadLetter`]: raw bytes as text when they are UTF-8, else base64.
#[derive(Serialize, Deserialize)]
struct DeadLetterRepr {
    pipeline: String,
    source_id: String,
    item_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch: Option<u64>,
    records: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    raw: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    raw_base64: Option<String>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    raw_complete: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload: Option<Payload>,
    #[serde(default, skip_serializing_if = "is_false")]
    processed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rejected_by: Option<String>,
    error: ErrorInfo,
    at: DateTime<Utc>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl From<DeadLetter> for DeadLetterRepr {
    fn from(l: DeadLetter) -> Self {
        let (raw, raw_base64) = match l.raw {
            None => (None, None),
            Some(bytes) => match std::str::from_utf8(&bytes) {
                Ok(text) => (Some(text.to_owned()), None),
                Err(_) => (None, Some(BASE64.encode(&bytes))),
            },
        };
        Self {
            pipeline: l.pipeline,
            source_id: l.source_id,
            item_id: l.item_id,
            version: l.version,
            line: l.line,
            batch: l.batch,
            records: l.records,
            raw,
            raw_base64,
            raw_complete: l.raw_complete,
            payload: l.payload,
            processed: l.processed,
            rejected_by: l.rejected_by,
            error: l.error,
            at: l.at,
        }
    }
}

impl TryFrom<DeadLetterRepr> for DeadLetter {
    type Error = String;

    fn try_from(r: DeadLetterRepr) -> std::result::Result<Self, String> {
        let raw = match (r.raw, r.raw_base64) {
            (Some(_), Some(_)) => return Err("both `raw` and `raw_base64` are set".into()),
            (Some(text), None) => Some(Bytes::from(text)),
            (None, Some(b64)) => Some(Bytes::from(
                BASE64
                    .decode(b64.as_bytes())
                    .map_err(|e| format!("`raw_base64` is not base64: {e}"))?,
            )),
            (None, None) => None,
        };
        Ok(Self {
            pipeline: r.pipeline,
            source_id: r.source_id,
            item_id: r.item_id,
            version: r.version,
            line: r.line,
            batch: r.batch,
            records: r.records,
            raw,
            raw_complete: r.raw_complete,
            payload: r.payload,
            processed: r.processed,
            rejected_by: r.rejected_by,
            error: r.error,
            at: r.at,
        })
    }
}

/// Durable storage for dead letters.
///
/// # Contract
///
/// `write` is durable when it returns: the engine acknowledges an item only after its dead
/// letters are written. Letters are at-least-once: an item redone after a crash writes its
/// letters again, with the same [`DeadLetter::key`]; readers keep one letter per key (every
/// distinct letter has a distinct key).
#[async_trait]
pub trait DeadLetterSink: Send + Sync {
    /// Writes letters.
    async fn write(&self, letters: &[DeadLetter]) -> Result<()>;
}

/// Dead letters that can be read back and replaced: what listing and replay work on.
///
/// # Contract
///
/// - `letters` returns one letter per [`DeadLetter::key`] of `pipeline` (the last written),
///   in the order they were first written.
/// - `replace` removes the letters of `pipeline` with the keys in `remove` and writes `add`,
///   all or nothing: after a failure every letter is as it was.
#[async_trait]
pub trait DeadLetterStore: DeadLetterSink {
    /// Every letter of `pipeline`, one per key.
    async fn letters(&self, pipeline: &str) -> Result<Vec<DeadLetter>>;

    /// Removes the letters keyed `remove` and writes `add`, in one step.
    async fn replace(&self, pipeline: &str, remove: &[String], add: &[DeadLetter]) -> Result<()>;
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

#[async_trait]
impl DeadLetterStore for InMemoryDeadLetterSink {
    async fn letters(&self, pipeline: &str) -> Result<Vec<DeadLetter>> {
        Ok(latest_per_key(
            lock(&self.letters)
                .iter()
                .filter(|l| l.pipeline == pipeline)
                .cloned(),
        ))
    }

    async fn replace(&self, pipeline: &str, remove: &[String], add: &[DeadLetter]) -> Result<()> {
        let mut letters = lock(&self.letters);
        letters.retain(|l| l.pipeline != pipeline || !remove.contains(&l.key()));
        letters.extend_from_slice(add);
        Ok(())
    }
}

/// One letter per key, the last written, in the order keys were first seen: how every
/// reader of at-least-once letters sees them.
pub fn latest_per_key(letters: impl IntoIterator<Item = DeadLetter>) -> Vec<DeadLetter> {
    let mut order: Vec<DeadLetter> = Vec::new();
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for letter in letters {
        match at.entry(letter.key()) {
            std::collections::hash_map::Entry::Occupied(slot) => order[*slot.get()] = letter,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(order.len());
                order.push(letter);
            }
        }
    }
    order
}
