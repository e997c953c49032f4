//! What the line-based decoders (CSV, JSON lines) share: splitting an item into numbered
//! lines in bounded memory, the [`LineDriver`] that takes each line to a batch or a
//! rejection, and the size limits of their options.
//!
//! A format plugs in with two traits: [`LineFormat`] (its checks of a line, its header, how
//! it fixes the schema) and [`LineDecoder`] (whole lines to one record batch).

mod batches;
mod driver;
mod limits;
mod line_decoder;
mod pending;
mod rejects;
mod splitter;

pub(crate) use driver::{DriverLimits, LineDriver, LineFormat};
pub(crate) use limits::check_limits;
pub use limits::{MAX_BATCH_SIZE, MAX_INFER_ROWS, MAX_LINE_BYTES};
pub(crate) use line_decoder::{LineDecoder, LineError};
pub(crate) use pending::PendingLines;
pub(crate) use rejects::bare_cr_hint;
