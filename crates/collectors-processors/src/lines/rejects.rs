//! The rejections every line decoder makes the same way, and the checks behind them.

use collectors_core::RejectedRow;

/// The rejection of a line that is over the limit.
pub(crate) fn too_long(number: u64, prefix: &[u8], len: u64, max_line_bytes: usize) -> RejectedRow {
    RejectedRow {
        line: number,
        raw: bytes::Bytes::copy_from_slice(prefix),
        complete: (prefix.len() as u64) >= len,
        reason: format!(
            "line is {len} bytes long, over the limit of {max_line_bytes} bytes{}",
            bare_cr_hint(prefix)
        ),
    }
}

/// A hint for a line that holds a `\r`: the file probably ends its lines with a bare `\r`
/// (classic Mac OS), which only `\n` and `\r\n` are read as.
pub(crate) fn bare_cr_hint(bytes: &[u8]) -> &'static str {
    if bytes.contains(&b'\r') {
        " (it holds a `\\r`: lines ending in a bare `\\r` (old Mac line endings) are not \
         split; only `\\n` and `\\r\\n` end a line)"
    } else {
        ""
    }
}

/// The rejection of a whole line (`bytes`, its `\n` dropped if it has one) for `reason`.
pub(crate) fn rejected_line(number: u64, bytes: &[u8], reason: String) -> RejectedRow {
    RejectedRow {
        line: number,
        raw: bytes::Bytes::copy_from_slice(bytes.strip_suffix(b"\n").unwrap_or(bytes)),
        complete: true,
        reason,
    }
}

/// The rejection of a line that is not valid UTF-8.
pub(crate) fn not_utf8(number: u64, bytes: &[u8], error: std::str::Utf8Error) -> RejectedRow {
    let at = error.valid_up_to() + 1;
    rejected_line(
        number,
        bytes,
        format!("invalid UTF-8 at byte {at} of the line"),
    )
}

/// Whether a line holds nothing but ASCII whitespace other than `significant` (a CSV
/// delimiter may be a tab, which makes a line of tabs a row of empty fields).
pub(crate) fn is_blank(bytes: &[u8], significant: Option<u8>) -> bool {
    bytes
        .iter()
        .all(|&b| b.is_ascii_whitespace() && Some(b) != significant)
}
