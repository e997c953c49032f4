//! [`Decoder`]: bytes of an item into Arrow record batches, row errors kept aside.

use arrow_array::RecordBatch;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::models::SourceItem;

/// A row that could not be decoded: where it was and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    /// 1-based line number within the item.
    pub line: u64,
    /// The row's bytes exactly as read, without its line terminator (never re-encoded, so a
    /// replay sees the original bytes). Only the first bytes of a row longer than the
    /// decoder's line limit are kept, and `complete` is then `false`.
    pub raw: Bytes,
    /// Whether `raw` holds the whole row. An incomplete row can be inspected but not replayed.
    pub complete: bool,
    /// Why it was rejected.
    pub reason: String,
}

impl RejectedRow {
    /// A rejected row whose bytes were all kept.
    pub fn new(line: u64, raw: impl Into<Bytes>, reason: impl Into<String>) -> Self {
        Self {
            line,
            raw: raw.into(),
            complete: true,
            reason: reason.into(),
        }
    }
}

/// What one call to an [`ItemDecoder`] produced.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Complete batches, in input order.
    pub batches: Vec<RecordBatch>,
    /// Rows that do not fit the schema, in input order.
    pub rejects: Vec<RejectedRow>,
}

impl Decoded {
    /// Rows decoded plus rows rejected.
    pub fn rows(&self) -> u64 {
        self.batches
            .iter()
            .map(|b| b.num_rows() as u64)
            .sum::<u64>()
            + self.rejects.len() as u64
    }
}

/// Makes one [`ItemDecoder`] per item.
pub trait Decoder: Send + Sync {
    /// The format's name (`"csv"`, `"jsonl"`).
    fn name(&self) -> &str;

    /// A fresh decoder for one item.
    fn decoder_for(&self, item: &SourceItem) -> Result<Box<dyn ItemDecoder>>;

    /// How many lines at the start of an item are a header rather than rows (a CSV header:
    /// 1). A replayed row is put back behind the original item's header lines. Default 0.
    fn header_lines(&self) -> usize {
        0
    }
}

/// Decodes one item, chunk by chunk.
///
/// # Contract
///
/// - Chunks are fed in order; a row may span chunks. Memory stays bounded by the batch size
///   and the longest row accepted: rows longer than the decoder's limit are rejected without
///   being buffered whole.
/// - Rows that do not fit the schema (wrong column count, unparsable value, invalid UTF-8) go
///   to `rejects` with their line number; the rest of the item goes on.
/// - `Err` means the item as a whole cannot be decoded (no header, not the expected format).
/// - Batches hold at most the configured number of rows; `finish` emits the last one.
pub trait ItemDecoder: Send {
    /// Consumes one chunk.
    fn feed(&mut self, chunk: &[u8], out: &mut Decoded) -> Result<()>;

    /// Flushes what is left after the last chunk.
    fn finish(&mut self, out: &mut Decoded) -> Result<()>;
}
