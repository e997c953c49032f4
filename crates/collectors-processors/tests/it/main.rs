//! Behaviour tests of the decoders and processors.

mod bounds;
mod conformance;
mod csv;
mod data_quality;
mod decode;
mod encode;
mod expr;
mod filter;
mod header;
mod infer_schema;
mod jsonl;
#[cfg(feature = "parquet")]
mod parquet;
mod peak_detection;
mod rolling_mean;
mod standard_conformance;
mod validate;
mod values;

use arrow_array::RecordBatch;
use arrow_select::concat::concat_batches;
use collectors_core::{Decoded, ItemDecoder, Result};

/// Feeds `input` to `decoder` in chunks of 1..=`max_chunk` bytes drawn from `seed`
/// (`max_chunk` 0: one chunk), then finishes.
pub(crate) fn decode_in_chunks(
    decoder: &mut dyn ItemDecoder,
    input: &[u8],
    seed: u64,
    max_chunk: usize,
) -> Result<Decoded> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out = Decoded::default();
    let mut rest = input;
    while !rest.is_empty() {
        let size = if max_chunk == 0 {
            rest.len()
        } else {
            rng.usize(1..=max_chunk).min(rest.len())
        };
        decoder.feed(&rest[..size], &mut out)?;
        rest = &rest[size..];
    }
    decoder.finish(&mut out)?;
    Ok(out)
}

/// All batches as one.
pub(crate) fn concat(batches: &[RecordBatch]) -> RecordBatch {
    assert!(!batches.is_empty(), "no batch");
    concat_batches(&batches[0].schema(), batches).unwrap()
}
