//! Feeding an [`ItemDecoder`] chunk by chunk, as the engine does.

use arrow_array::RecordBatch;
use collectors_core::{Decoded, ItemDecoder, RejectedRow, Result};

/// What decoding one item gave: every batch and rejection, and whether (and how) it failed.
#[derive(Debug)]
pub struct Outcome {
    /// The batches and rejected rows produced before the end or the failure.
    pub decoded: Decoded,
    /// The item's failure, if it failed (the engine then dead-letters the whole item).
    pub error: Option<String>,
}

impl Outcome {
    /// The batches concatenated into one (`None` when there are none), so that outcomes of
    /// different chunkings compare row for row.
    pub fn rows(&self) -> Option<RecordBatch> {
        let first = self.decoded.batches.first()?;
        Some(
            arrow_select::concat::concat_batches(&first.schema(), &self.decoded.batches)
                .expect("batches of one item share their schema"),
        )
    }

    /// The rejected rows.
    pub fn rejects(&self) -> &[RejectedRow] {
        &self.decoded.rejects
    }
}

/// Feeds `chunks` to `decoder` in order, then finishes it; stops at the first error, as the
/// engine does.
pub fn decode_in_chunks(decoder: &mut dyn ItemDecoder, chunks: &[&[u8]]) -> Outcome {
    let mut decoded = Decoded::default();
    let result: Result<()> = chunks
        .iter()
        .try_for_each(|chunk| decoder.feed(chunk, &mut decoded))
        .and_then(|()| decoder.finish(&mut decoded));
    Outcome {
        decoded,
        error: result.err().map(|e| e.to_string()),
    }
}
