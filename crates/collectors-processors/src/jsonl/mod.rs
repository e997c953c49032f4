//! [`JsonLinesDecoder`]: JSON lines (one object per line) into Arrow record batches, bad lines
//! rejected with their line number.
//!
//! The lines come from the shared [line driver](crate::lines); this folder holds what is
//! JSON's own: the options, the nesting limit, inference from parsed objects and
//! arrow-json's side.

mod decoder;
mod format;
mod line_decoder;
mod nesting;
mod options;

pub use decoder::{JsonLinesDecoder, JsonLinesItemDecoder};
pub use nesting::MAX_JSON_DEPTH;
pub use options::JsonLinesOptions;
