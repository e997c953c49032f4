//! What a format provides to turn whole lines into a record batch.

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, SchemaRef};

/// Why a group of lines failed to decode.
#[derive(Debug)]
pub(crate) enum LineError {
    /// The Arrow decoder refused them; [`LineDecoder::explain`] says why for one line.
    Arrow(ArrowError),
    /// A check of this crate refused a value; for a single line this is its reason.
    Row(String),
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineError::Arrow(error) => error.fmt(f),
            LineError::Row(reason) => f.write_str(reason),
        }
    }
}

impl From<ArrowError> for LineError {
    fn from(error: ArrowError) -> Self {
        LineError::Arrow(error)
    }
}

/// Turns whole lines into one record batch; each format (CSV, JSON lines) has one.
pub(crate) trait LineDecoder {
    /// The schema of the batches.
    fn schema(&self) -> &SchemaRef;

    /// Decodes `count` lines, each ending in `\n`, into one batch of exactly `count` rows.
    ///
    /// After an error the decoder is ready for the next call.
    fn decode_lines(&mut self, bytes: &[u8], count: usize) -> Result<RecordBatch, LineError>;

    /// Why `line` (ending in `\n`) failed to decode with `error`, for a [`RejectedRow`](collectors_core::RejectedRow).
    fn explain(&mut self, line: &[u8], error: &ArrowError) -> String {
        let _ = line;
        error.to_string()
    }

    /// A cheap check of one line (ending in `\n`) that does not decode it: `Some(reason)`
    /// when the line would surely fail, `None` when it looks fine or cannot be told.
    fn screen(&mut self, line: &[u8]) -> Option<String> {
        let _ = line;
        None
    }
}
