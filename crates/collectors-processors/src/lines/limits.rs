//! The size options every line decoder has, and their bounds.

use collectors_core::{Error, Result};

/// The largest `batch_size` a line decoder accepts.
pub const MAX_BATCH_SIZE: usize = 1 << 20;
/// The largest `max_line_bytes` a line decoder accepts (1 GiB).
pub const MAX_LINE_BYTES: usize = 1 << 30;
/// The largest `infer_rows` a line decoder accepts.
pub const MAX_INFER_ROWS: usize = 1 << 20;

/// Checks the limits shared by the line decoders; the message starts with the key.
pub(crate) fn check_limits(
    batch_size: usize,
    max_line_bytes: usize,
    infer_rows: usize,
) -> Result<()> {
    check_range("batch_size", batch_size, 1, MAX_BATCH_SIZE)?;
    check_range("max_line_bytes", max_line_bytes, 1, MAX_LINE_BYTES)?;
    check_range("infer_rows", infer_rows, 1, MAX_INFER_ROWS)
}

/// A configuration error unless `min <= value <= max`, naming `key` first, in backticks.
fn check_range(key: &str, value: usize, min: usize, max: usize) -> Result<()> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(Error::configuration(format!(
        "`{key}` must be between {min} and {max}, got {value}"
    )))
}
