//! Splitting an item's bytes into numbered lines, in bounded memory, for the line-based
//! decoders (CSV, JSON lines).
//!
//! Chunks arrive with arbitrary boundaries. A line that lies inside one chunk is handed out as
//! a slice of that chunk; only a line that spans chunks is copied, and never more than
//! `max_line_bytes` of it: past the limit the splitter drops what it holds and skips bytes
//! until the next newline, so a 1 GB line costs `max_line_bytes` of memory, not 1 GB.

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, SchemaRef};
use arrow_select::concat::concat_batches;
use collectors_core::{Decoded, Error, RejectedRow, Result};

/// The longest `raw` text kept in a [`RejectedRow`], in bytes.
pub(crate) const MAX_RAW_BYTES: usize = 1024;

/// One line of an item, without its `\n` or `\r\n` terminator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// A line within the length limit.
    Complete {
        /// 1-based line number within the item.
        number: u64,
        /// The line's bytes.
        bytes: &'a [u8],
    },
    /// A line over the length limit, which was skipped.
    TooLong {
        /// 1-based line number within the item.
        number: u64,
        /// The line's first bytes (at most [`MAX_RAW_BYTES`]).
        prefix: &'a [u8],
        /// The line's full length in bytes.
        len: u64,
    },
}

/// Splits a stream of chunks into lines; see the module documentation.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    max_line_bytes: usize,
    /// The start of a line that spans chunks (at most `max_line_bytes + 1` bytes, the `+ 1`
    /// for a `\r` that may turn out to be part of the terminator).
    partial: Vec<u8>,
    /// Set while skipping the rest of an over-long line: its first bytes and length so far.
    skipping: Option<(Vec<u8>, u64)>,
    /// The number the next line gets.
    next_line: u64,
    /// The most bytes `partial` ever held.
    peak_buffered: usize,
    /// How many bytes of a UTF-8 byte order mark the item has started with so far, until
    /// the start is decided (`None`: decided, the mark was dropped or there was none).
    bom_matched: Option<usize>,
}

/// The UTF-8 byte order mark that spreadsheets write at the start of a file.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

impl LineSplitter {
    /// A splitter that skips lines longer than `max_line_bytes` (terminator excluded).
    pub(crate) fn new(max_line_bytes: usize) -> Self {
        Self {
            max_line_bytes,
            partial: Vec::new(),
            skipping: None,
            next_line: 1,
            peak_buffered: 0,
            bom_matched: Some(0),
        }
    }

    /// The most bytes of a partial line held at once since the splitter was created.
    pub(crate) fn peak_buffered(&self) -> usize {
        self.peak_buffered
    }

    /// Splits `chunk`, calling `on_line` for every line it completes, in order. A UTF-8 byte
    /// order mark at the very start of the item (even split across chunks) is dropped.
    pub(crate) fn feed<E>(
        &mut self,
        chunk: &[u8],
        mut on_line: impl FnMut(Line<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let chunk = match self.bom_matched {
            None => chunk,
            Some(matched) => {
                let take = (UTF8_BOM.len() - matched).min(chunk.len());
                if chunk[..take] == UTF8_BOM[matched..matched + take] {
                    if matched + take < UTF8_BOM.len() {
                        self.bom_matched = Some(matched + take);
                        return Ok(()); // still undecided
                    }
                    self.bom_matched = None;
                    &chunk[take..]
                } else {
                    // Not a mark: the bytes held back are data.
                    self.bom_matched = None;
                    self.split(&UTF8_BOM[..matched], &mut on_line)?;
                    chunk
                }
            }
        };
        self.split(chunk, &mut on_line)
    }

    fn split<E>(
        &mut self,
        chunk: &[u8],
        on_line: &mut impl FnMut(Line<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut rest = chunk;
        while !rest.is_empty() {
            let newline = rest.iter().position(|&b| b == b'\n');
            let (piece, after) = match newline {
                Some(at) => (&rest[..at], Some(&rest[at + 1..])),
                None => (rest, None),
            };
            match after {
                Some(after) => {
                    self.end_line(piece, on_line)?;
                    rest = after;
                }
                None => {
                    self.extend_partial(piece);
                    rest = &[];
                }
            }
        }
        Ok(())
    }

    /// Ends the item: hands out a last line that has no terminator.
    pub(crate) fn finish<E>(
        &mut self,
        mut on_line: impl FnMut(Line<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some(matched) = self.bom_matched.take() {
            // The item is shorter than a mark and began like one: those bytes are data.
            self.split(&UTF8_BOM[..matched], &mut on_line)?;
        }
        if self.skipping.is_some() || !self.partial.is_empty() {
            self.end_line(&[], &mut on_line)?;
        }
        Ok(())
    }

    /// Adds bytes of a line whose end is not in this chunk.
    fn extend_partial(&mut self, piece: &[u8]) {
        if let Some((prefix, len)) = &mut self.skipping {
            keep_prefix(prefix, piece);
            *len += piece.len() as u64;
            return;
        }
        if self.partial.len() + piece.len() > self.max_line_bytes + 1 {
            // Over the limit: keep only what a rejection needs, then skip to the newline.
            let mut prefix = Vec::with_capacity(MAX_RAW_BYTES);
            keep_prefix(&mut prefix, &self.partial);
            keep_prefix(&mut prefix, piece);
            let len = (self.partial.len() + piece.len()) as u64;
            self.partial = Vec::new();
            self.skipping = Some((prefix, len));
            return;
        }
        self.partial.extend_from_slice(piece);
        self.peak_buffered = self.peak_buffered.max(self.partial.len());
    }

    /// Completes the current line with its last `piece` (the bytes before the newline).
    fn end_line<E>(
        &mut self,
        piece: &[u8],
        on_line: &mut impl FnMut(Line<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let number = self.next_line;
        self.next_line += 1;

        if let Some((mut prefix, len)) = self.skipping.take() {
            keep_prefix(&mut prefix, piece);
            let len = len + piece.len() as u64;
            return on_line(Line::TooLong {
                number,
                prefix: &prefix,
                len,
            });
        }

        if self.partial.is_empty() {
            self.emit(number, piece, on_line)
        } else if self.partial.len() + piece.len() > self.max_line_bytes + 1 {
            let mut prefix = Vec::with_capacity(MAX_RAW_BYTES);
            keep_prefix(&mut prefix, &self.partial);
            keep_prefix(&mut prefix, piece);
            let len = (self.partial.len() + piece.len()) as u64;
            self.partial.clear();
            on_line(Line::TooLong {
                number,
                prefix: &prefix,
                len,
            })
        } else {
            let mut line = std::mem::take(&mut self.partial);
            line.extend_from_slice(piece);
            self.peak_buffered = self.peak_buffered.max(line.len());
            let result = self.emit(number, &line, on_line);
            // Keep the allocation for the next spanning line.
            line.clear();
            self.partial = line;
            result
        }
    }

    /// Hands out one whole line, stripping a `\r` terminator and checking the limit.
    fn emit<E>(
        &self,
        number: u64,
        line: &[u8],
        on_line: &mut impl FnMut(Line<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let bytes = line.strip_suffix(b"\r").unwrap_or(line);
        if bytes.len() > self.max_line_bytes {
            let cut = bytes.len().min(MAX_RAW_BYTES);
            return on_line(Line::TooLong {
                number,
                prefix: &bytes[..cut],
                len: bytes.len() as u64,
            });
        }
        on_line(Line::Complete { number, bytes })
    }
}

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
pub(crate) fn check_range(key: &str, value: usize, min: usize, max: usize) -> Result<()> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(Error::configuration(format!(
        "`{key}` must be between {min} and {max}, got {value}"
    )))
}

/// Appends to `prefix` as much of `bytes` as fits in [`MAX_RAW_BYTES`].
fn keep_prefix(prefix: &mut Vec<u8>, bytes: &[u8]) {
    let room = MAX_RAW_BYTES.saturating_sub(prefix.len());
    prefix.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

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

/// The rejection of a line that is not valid UTF-8.
pub(crate) fn not_utf8(number: u64, bytes: &[u8], error: std::str::Utf8Error) -> RejectedRow {
    RejectedRow {
        line: number,
        raw: bytes::Bytes::copy_from_slice(bytes),
        complete: true,
        reason: format!(
            "invalid UTF-8 at byte {} of the line",
            error.valid_up_to() + 1
        ),
    }
}

/// Whether a line holds nothing but ASCII whitespace other than `significant` (a CSV
/// delimiter may be a tab, which makes a line of tabs a row of empty fields).
pub(crate) fn is_blank(bytes: &[u8], significant: Option<u8>) -> bool {
    bytes
        .iter()
        .all(|&b| b.is_ascii_whitespace() && Some(b) != significant)
}

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

    /// Why `line` (ending in `\n`) failed to decode with `error`, for a [`RejectedRow`].
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

/// Lines waiting to be decoded together (their bytes, each followed by `\n`, and numbers),
/// and the rejections found among them, held back so rejects come out in line order.
#[derive(Debug, Default)]
pub(crate) struct PendingLines {
    data: Vec<u8>,
    /// End offset in `data` (after the `\n`) and line number of each line.
    lines: Vec<(usize, u64)>,
    /// Rejections of lines that come after the first pending line, in line order.
    deferred: Vec<RejectedRow>,
}

impl PendingLines {
    /// Adds one line.
    pub(crate) fn push(&mut self, number: u64, bytes: &[u8]) {
        self.data.extend_from_slice(bytes);
        self.data.push(b'\n');
        self.lines.push((self.data.len(), number));
    }

    /// Rejects a line that comes after every pending line.
    pub(crate) fn reject(&mut self, row: RejectedRow, out: &mut Decoded) {
        if self.lines.is_empty() {
            out.rejects.push(row);
        } else {
            self.deferred.push(row);
        }
    }

    /// How many lines wait.
    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether no line waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The bytes of the first `count` lines, newlines included.
    pub(crate) fn bytes_of_first(&self, count: usize) -> &[u8] {
        self.range_bytes(0, count)
    }

    /// The `index`-th line: its number and bytes, newline included.
    pub(crate) fn line(&self, index: usize) -> Option<(u64, &[u8])> {
        let &(end, number) = self.lines.get(index)?;
        let start = match index.checked_sub(1) {
            Some(previous) => self.lines[previous].0,
            None => 0,
        };
        Some((number, &self.data[start..end]))
    }

    /// Removes the pending lines at `indexes` (ascending), rejecting each with its reason.
    pub(crate) fn reject_pending(&mut self, mut indexes: Vec<(usize, String)>) {
        if indexes.is_empty() {
            return;
        }
        indexes.sort_by_key(|(index, _)| *index);
        let old = std::mem::take(self);
        let mut rejected = indexes.into_iter().peekable();
        for index in 0..old.len() {
            let Some((number, line)) = old.line(index) else {
                break;
            };
            match rejected.next_if(|(at, _)| *at == index) {
                Some((_, reason)) => self.deferred.push(RejectedRow {
                    line: number,
                    raw: bytes::Bytes::copy_from_slice(line.strip_suffix(b"\n").unwrap_or(line)),
                    complete: true,
                    reason,
                }),
                None => self.push(number, line.strip_suffix(b"\n").unwrap_or(line)),
            }
        }
        self.deferred.extend(old.deferred);
        self.deferred.sort_by_key(|row| row.line);
    }

    /// Decodes every full batch of `batch_size` lines.
    pub(crate) fn decode_full_batches(
        &mut self,
        batch_size: usize,
        decoder: &mut impl LineDecoder,
        out: &mut Decoded,
    ) -> Result<()> {
        while self.len() >= batch_size {
            self.decode_first(batch_size, decoder, out)?;
        }
        Ok(())
    }

    /// Decodes every pending line, in batches of at most `batch_size`, and releases every
    /// held-back rejection.
    pub(crate) fn decode_all(
        &mut self,
        batch_size: usize,
        decoder: &mut impl LineDecoder,
        out: &mut Decoded,
    ) -> Result<()> {
        while !self.is_empty() {
            self.decode_first(batch_size.min(self.len()), decoder, out)?;
        }
        out.rejects.append(&mut self.deferred);
        Ok(())
    }

    /// Releases the held-back rejections when no line is pending (nothing to decode).
    pub(crate) fn release_rejects(&mut self, out: &mut Decoded) {
        if self.lines.is_empty() {
            out.rejects.append(&mut self.deferred);
        }
    }

    /// Decodes the first `count` lines into one batch. Fast path: all lines at once; when
    /// that fails (a bad value), line by line, rejecting the bad ones and keeping the good ones
    /// in order.
    fn decode_first(
        &mut self,
        count: usize,
        decoder: &mut impl LineDecoder,
        out: &mut Decoded,
    ) -> Result<()> {
        let mut rejects = Vec::new();
        match decoder.decode_lines(self.bytes_of_first(count), count) {
            Ok(batch) => out.batches.push(batch),
            Err(error) => {
                tracing::debug!(%error, lines = count, "batch has bad rows, looking for them");
                let mut kept = Vec::new();
                self.find_bad_lines(count, decoder, &mut kept, &mut rejects);
                if !kept.is_empty() {
                    let batch = concat_batches(decoder.schema(), &kept).map_err(|e| {
                        Error::processing("cannot join the rows of a batch").with_source(e)
                    })?;
                    out.batches.push(batch);
                }
            }
        }
        self.drain_first(count);

        // Rejections before the next pending line can go out now, merged in line order.
        let boundary = self.lines.first().map_or(u64::MAX, |&(_, number)| number);
        let ready = self.deferred.partition_point(|row| row.line < boundary);
        if ready > 0 || !rejects.is_empty() {
            rejects.extend(self.deferred.drain(..ready));
            rejects.sort_by_key(|row| row.line);
            out.rejects.append(&mut rejects);
        }
        Ok(())
    }

    /// Splits the first `count` lines, which fail to decode together, into good rows (`kept`,
    /// in order) and rejections.
    ///
    /// First the decoder screens each line cheaply; the lines it passes are decoded together.
    /// What still fails is bisected: halves that decode go through in one call, so a batch
    /// with k bad lines among n costs about n·(log₂k + 2) decoded lines, not n decoder calls.
    fn find_bad_lines(
        &self,
        count: usize,
        decoder: &mut impl LineDecoder,
        kept: &mut Vec<RecordBatch>,
        rejects: &mut Vec<RejectedRow>,
    ) {
        let mut survivors = PendingLines::default();
        for index in 0..count {
            let Some((number, line)) = self.line(index) else {
                break;
            };
            match decoder.screen(line) {
                Some(reason) => rejects.push(RejectedRow {
                    line: number,
                    raw: bytes::Bytes::copy_from_slice(line.strip_suffix(b"\n").unwrap_or(line)),
                    complete: true,
                    reason,
                }),
                None => survivors.push(number, line.strip_suffix(b"\n").unwrap_or(line)),
            }
        }
        if rejects.is_empty() {
            // Screening found nothing: the whole range is known to fail, start with halves.
            let mid = count / 2;
            self.bisect(0, mid, decoder, kept, rejects);
            self.bisect(mid, count, decoder, kept, rejects);
        } else {
            survivors.bisect(0, survivors.len(), decoder, kept, rejects);
        }
    }

    /// Decodes lines `from..to` together, or each half apart when that fails, down to single
    /// lines, which are rejected.
    fn bisect(
        &self,
        from: usize,
        to: usize,
        decoder: &mut impl LineDecoder,
        kept: &mut Vec<RecordBatch>,
        rejects: &mut Vec<RejectedRow>,
    ) {
        if from >= to {
            return;
        }
        let error = match decoder.decode_lines(self.range_bytes(from, to), to - from) {
            Ok(batch) => {
                kept.push(batch);
                return;
            }
            Err(error) => error,
        };
        if to - from == 1 {
            if let Some((number, line)) = self.line(from) {
                let reason = match error {
                    LineError::Row(reason) => reason,
                    LineError::Arrow(error) => decoder.explain(line, &error),
                };
                rejects.push(RejectedRow {
                    line: number,
                    raw: bytes::Bytes::copy_from_slice(line.strip_suffix(b"\n").unwrap_or(line)),
                    complete: true,
                    reason,
                });
            }
            return;
        }
        let mid = from + (to - from) / 2;
        self.bisect(from, mid, decoder, kept, rejects);
        self.bisect(mid, to, decoder, kept, rejects);
    }

    /// The bytes of lines `from..to`, newlines included.
    fn range_bytes(&self, from: usize, to: usize) -> &[u8] {
        let start = match from.checked_sub(1).and_then(|i| self.lines.get(i)) {
            Some(&(end, _)) => end,
            None => 0,
        };
        let end = match to.checked_sub(1).and_then(|i| self.lines.get(i)) {
            Some(&(end, _)) => end,
            None => start,
        };
        &self.data[start..end.max(start)]
    }

    /// Drops the first `count` lines.
    fn drain_first(&mut self, count: usize) {
        let count = count.min(self.lines.len());
        if count == self.lines.len() {
            self.data.clear();
            self.lines.clear();
            return;
        }
        if count == 0 {
            return;
        }
        let cut = self.lines[count - 1].0;
        self.data.drain(..cut);
        self.lines.drain(..count);
        for (end, _) in &mut self.lines {
            *end -= cut;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `input` fed in chunks of the given sizes (cycled), returning what came out.
    fn split(input: &[u8], chunk_sizes: &[usize], max: usize) -> (Vec<String>, usize) {
        let mut splitter = LineSplitter::new(max);
        let mut out = Vec::new();
        let mut record = |line: Line<'_>| -> Result<(), ()> {
            out.push(match line {
                Line::Complete { number, bytes } => {
                    format!("{number}:{}", String::from_utf8_lossy(bytes))
                }
                Line::TooLong { number, len, .. } => format!("{number}:too long ({len})"),
            });
            Ok(())
        };
        let mut rest = input;
        let mut sizes = chunk_sizes.iter().cycle();
        while !rest.is_empty() {
            let size = (*sizes.next().unwrap_or(&1)).clamp(1, rest.len());
            splitter.feed(&rest[..size], &mut record).unwrap();
            rest = &rest[size..];
        }
        splitter.finish(&mut record).unwrap();
        (out, splitter.peak_buffered())
    }

    #[test]
    fn lines_are_numbered_whatever_the_chunking() {
        let input = b"a,b\r\n\r\nccc\nlong line here\nlast";
        let expected = vec!["1:a,b", "2:", "3:ccc", "4:too long (14)", "5:last"];
        for sizes in [&[1][..], &[2, 3], &[5, 1, 7], &[1000]] {
            let (lines, peak) = split(input, sizes, 8);
            assert_eq!(lines, expected, "chunk sizes {sizes:?}");
            assert!(peak <= 9, "peak {peak} over the limit + 1");
        }
    }

    #[test]
    fn a_crlf_split_between_chunks_is_one_terminator() {
        let (lines, _) = split(b"abc\r\ndef\r\n", &[4, 1, 5], 100);
        assert_eq!(lines, vec!["1:abc", "2:def"]);
    }

    #[test]
    fn a_line_of_exactly_the_limit_passes_with_either_terminator() {
        let (lines, _) = split(b"12345678\r\n12345678\n123456789\n", &[3], 8);
        assert_eq!(lines, vec!["1:12345678", "2:12345678", "3:too long (9)"]);
    }

    #[test]
    fn pending_lines_drain_from_the_front() {
        let mut pending = PendingLines::default();
        pending.push(1, b"a");
        pending.push(3, b"bb");
        pending.push(4, b"ccc");
        assert_eq!(pending.bytes_of_first(2), b"a\nbb\n");
        pending.drain_first(2);
        assert_eq!(pending.len(), 1);
        assert_eq!(pending.line(0), Some((4, &b"ccc\n"[..])));
        pending.drain_first(1);
        assert!(pending.is_empty());
    }

    /// Decodes lines of integers; counts the lines it was asked to decode.
    struct Integers {
        schema: SchemaRef,
        decoded_lines: usize,
        screen: bool,
    }

    impl Integers {
        fn new(screen: bool) -> Self {
            let field = arrow_schema::Field::new("n", arrow_schema::DataType::Int64, true);
            Self {
                schema: std::sync::Arc::new(arrow_schema::Schema::new(vec![field])),
                decoded_lines: 0,
                screen,
            }
        }
    }

    impl LineDecoder for Integers {
        fn schema(&self) -> &SchemaRef {
            &self.schema
        }

        fn decode_lines(
            &mut self,
            bytes: &[u8],
            count: usize,
        ) -> std::result::Result<RecordBatch, LineError> {
            self.decoded_lines += count;
            let values = std::str::from_utf8(bytes)
                .map_err(|e| ArrowError::ParseError(e.to_string()))?
                .lines()
                .map(|l| {
                    l.parse::<i64>()
                        .map_err(|e| ArrowError::ParseError(format!("{l}: {e}")))
                })
                .collect::<std::result::Result<Vec<_>, _>>()?;
            assert_eq!(values.len(), count);
            let array = arrow_array::Int64Array::from(values);
            Ok(RecordBatch::try_new(
                self.schema.clone(),
                vec![std::sync::Arc::new(array)],
            )?)
        }

        fn screen(&mut self, line: &[u8]) -> Option<String> {
            let text = std::str::from_utf8(line).ok()?.trim_end();
            (self.screen && text.parse::<i64>().is_err()).then(|| format!("screened {text}"))
        }
    }

    fn decode_batch(lines: &[String], decoder: &mut Integers) -> Decoded {
        let mut pending = PendingLines::default();
        for (i, line) in lines.iter().enumerate() {
            pending.push(i as u64 + 1, line.as_bytes());
        }
        let mut out = Decoded::default();
        pending.decode_all(lines.len(), decoder, &mut out).unwrap();
        out
    }

    #[test]
    fn bisection_keeps_good_lines_in_order_at_bounded_cost() {
        let n = 4096;
        for k in [1usize, 3, 16, 200] {
            let mut rng = fastrand::Rng::with_seed(k as u64);
            let bad: std::collections::BTreeSet<usize> =
                std::iter::repeat_with(|| rng.usize(0..n)).take(k).collect();
            let lines: Vec<String> = (0..n)
                .map(|i| {
                    if bad.contains(&i) {
                        format!("x{i}")
                    } else {
                        i.to_string()
                    }
                })
                .collect();

            let mut decoder = Integers::new(false);
            let out = decode_batch(&lines, &mut decoder);
            let rejected: Vec<u64> = out.rejects.iter().map(|r| r.line).collect();
            let expected: Vec<u64> = bad.iter().map(|&i| i as u64 + 1).collect();
            assert_eq!(rejected, expected, "k {k}");
            let kept: Vec<i64> = out
                .batches
                .iter()
                .flat_map(|b| {
                    arrow_array::cast::AsArray::as_primitive::<arrow_array::types::Int64Type>(
                        b.column(0),
                    )
                    .values()
                    .to_vec()
                })
                .collect();
            let good: Vec<i64> = (0..n)
                .filter(|i| !bad.contains(i))
                .map(|i| i as i64)
                .collect();
            assert_eq!(kept, good, "k {k}");
            assert_eq!(out.batches.len(), 1, "the good rows form one batch");
            let k = bad.len() as f64;
            let bound = n as f64 * (k.log2() + 3.0);
            assert!(
                (decoder.decoded_lines as f64) <= bound,
                "k {k}: decoded {} lines, bound {bound}",
                decoder.decoded_lines
            );

            // A screen that spots every bad line needs one more decode of the rest only.
            let mut screened = Integers::new(true);
            let out = decode_batch(&lines, &mut screened);
            assert_eq!(out.rejects.len(), bad.len());
            assert!(out.rejects[0].reason.starts_with("screened"));
            assert_eq!(screened.decoded_lines, 2 * n - bad.len());
        }
    }
}
