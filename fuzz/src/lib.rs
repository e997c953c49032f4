//! What the fuzz targets share: how an input is cut into a configuration and chunks, and the
//! properties every line decoder must keep whatever the bytes.
//!
//! An input of a decoder target is `[config, chunking, data…]`: the first byte picks the
//! decoder's options ([`csv_options`], [`jsonl_options`]), the second how `data` is cut into
//! chunks ([`chunks`]). The committed seeds (`examples/make_seeds.rs`) are real files behind
//! these two bytes.

pub mod chunks;
pub mod decode;
pub mod lines;
pub mod options;
pub mod spec;

pub use chunks::chunks;
pub use decode::{Outcome, decode_in_chunks};
pub use lines::{LineRules, check_line_decoder};
pub use options::{csv_options, jsonl_options, parquet_options};
pub use spec::offline_registry;

/// Splits a decoder target's input into its configuration byte, its chunking byte and the
/// data; `None` when it is shorter than the two bytes.
pub fn split_input(input: &[u8]) -> Option<(u8, u8, &[u8])> {
    match input {
        [config, chunking, data @ ..] => Some((*config, *chunking, data)),
        _ => None,
    }
}
