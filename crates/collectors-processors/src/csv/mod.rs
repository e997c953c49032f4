//! [`CsvDecoder`]: CSV into Arrow record batches, bad rows rejected with their line number.
//!
//! The lines come from the shared [line driver](crate::lines); this folder holds what is
//! CSV's own: the options, the header, the field scanner and arrow-csv's side.

mod decoder;
mod fields;
mod format;
mod header;
mod line_decoder;
mod options;

pub use decoder::{CsvDecoder, CsvItemDecoder};
pub use options::CsvOptions;
