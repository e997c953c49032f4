//! The properties of a line decoder (CSV, JSON lines) that hold for any bytes, checked
//! against a plain model of the item's lines.

use collectors_core::ItemDecoder;

use crate::chunks::chunks;
use crate::decode::{Outcome, decode_in_chunks};

/// The UTF-8 byte order mark a decoder drops at the start of an item.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The longest `raw` a rejection keeps (`MAX_RAW_BYTES` of the line splitter).
const MAX_RAW_BYTES: usize = 1024;

/// How a line format reads its lines, for the model.
#[derive(Debug, Clone, Copy)]
pub struct LineRules {
    /// The first line that is neither blank nor too long is a header, not a row.
    pub header: bool,
    /// A whitespace byte that makes a line not blank (a tab delimiter).
    pub significant: Option<u8>,
    /// The decoder's `max_line_bytes`.
    pub max_line_bytes: usize,
}

/// The item's lines as the decoders define them: split at `\n`, one `\r` before it dropped,
/// a last line without terminator kept when not empty, a leading byte order mark dropped.
fn model_lines(data: &[u8]) -> Vec<&[u8]> {
    let data = data.strip_prefix(UTF8_BOM).unwrap_or(data);
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
        .into_iter()
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

fn is_blank(line: &[u8], significant: Option<u8>) -> bool {
    line.iter()
        .all(|&b| b.is_ascii_whitespace() && Some(b) != significant)
}

/// Decodes `data` whole and in the chunks `chunking` picks, with fresh decoders from `make`,
/// and asserts that:
///
/// 1. the chunking changes nothing: both fail, or both give the same rows and the same
///    rejected rows (line, bytes, reason);
/// 2. rejections are in line order, each line at most once, and each keeps the exact bytes
///    of its line (or, when marked incomplete, its first bytes, at most 1 KiB);
/// 3. nothing is lost: rows decoded + rows rejected = the lines that are neither blank nor
///    the header (a line over the limit counts, as it is rejected).
///
/// Panics (which libFuzzer reports as a crash) when one of them does not hold.
pub fn check_line_decoder(
    make: impl Fn() -> Box<dyn ItemDecoder>,
    data: &[u8],
    chunking: u8,
    rules: LineRules,
) {
    let whole = decode_in_chunks(make().as_mut(), &[data]);
    let parts = chunks(data, chunking);
    let chunked = decode_in_chunks(make().as_mut(), &parts);
    compare(&whole, &chunked, &parts);
    if whole.error.is_some() {
        return;
    }

    let lines = model_lines(data);
    let mut previous = 0;
    for reject in whole.rejects() {
        assert!(
            reject.line > previous,
            "rejections out of order: line {} after line {previous}",
            reject.line
        );
        previous = reject.line;
        let line = usize::try_from(reject.line - 1)
            .ok()
            .and_then(|i| lines.get(i))
            .unwrap_or_else(|| panic!("rejected line {} does not exist", reject.line));
        if reject.complete {
            assert_eq!(
                &reject.raw[..],
                *line,
                "line {}: the rejection's bytes are not the line's",
                reject.line
            );
        } else {
            assert!(
                line.starts_with(&reject.raw) && reject.raw.len() <= MAX_RAW_BYTES,
                "line {}: an incomplete rejection must keep the line's first bytes",
                reject.line
            );
            assert!(reject.raw.len() < line.len());
        }
    }

    let counted = lines
        .iter()
        .filter(|l| l.len() > rules.max_line_bytes || !is_blank(l, rules.significant))
        .count() as u64;
    let header = u64::from(rules.header && counted > 0);
    assert_eq!(
        whole.decoded.rows(),
        counted - header,
        "rows decoded + rejected ({}) != lines that are rows ({counted} with {header} header)",
        whole.decoded.rows()
    );
}

fn compare(whole: &Outcome, chunked: &Outcome, parts: &[&[u8]]) {
    let sizes: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    assert_eq!(
        whole.error, chunked.error,
        "the item fails differently in chunks of {sizes:?}"
    );
    if whole.error.is_some() {
        return;
    }
    assert_eq!(
        whole.rejects(),
        chunked.rejects(),
        "other rejections in chunks of {sizes:?}"
    );
    assert_eq!(
        whole.rows(),
        chunked.rows(),
        "other rows in chunks of {sizes:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_splits_as_the_decoders_do() {
        assert_eq!(
            model_lines(b"\xEF\xBB\xBFa\r\n\nb\r"),
            vec![&b"a"[..], b"", b"b"]
        );
        assert_eq!(model_lines(b"a\n"), vec![&b"a"[..]]);
        assert!(model_lines(b"").is_empty());
    }
}
