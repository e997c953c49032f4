//! Splitting an item's bytes into numbered lines, in bounded memory.
//!
//! Chunks arrive with arbitrary boundaries. A line that lies inside one chunk is handed out as
//! a slice of that chunk; only a line that spans chunks is copied, and never more than
//! `max_line_bytes` of it: past the limit the splitter drops what it holds and skips bytes
//! until the next newline, so a 1 GB line costs `max_line_bytes` of memory, not 1 GB.

/// The longest `raw` text kept in a [`RejectedRow`](collectors_core::RejectedRow), in bytes.
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

/// What is kept of an over-long line while the rest of it is skipped.
#[derive(Debug)]
struct Skipped {
    /// Its first bytes (at most [`MAX_RAW_BYTES`]).
    prefix: Vec<u8>,
    /// Its length so far.
    len: u64,
    /// Whether its last byte so far is a `\r` (part of a `\r\n` terminator if a `\n` comes
    /// next).
    ends_with_cr: bool,
}

impl Skipped {
    fn new(start: &[u8], piece: &[u8]) -> Self {
        let mut skipped = Self {
            prefix: Vec::with_capacity(MAX_RAW_BYTES),
            len: 0,
            ends_with_cr: false,
        };
        skipped.extend(start);
        skipped.extend(piece);
        skipped
    }

    fn extend(&mut self, piece: &[u8]) {
        keep_prefix(&mut self.prefix, piece);
        self.len += piece.len() as u64;
        if let Some(&last) = piece.last() {
            self.ends_with_cr = last == b'\r';
        }
    }

    /// The line, ended: a last `\r` is its terminator's, so it counts neither in its length
    /// nor in its bytes (as for a line within one chunk, see [`LineSplitter::emit`]).
    fn line(&mut self, number: u64) -> Line<'_> {
        if self.ends_with_cr {
            self.len -= 1;
            if self.prefix.len() as u64 > self.len {
                self.prefix.pop();
            }
        }
        Line::TooLong {
            number,
            prefix: &self.prefix,
            len: self.len,
        }
    }
}

/// Splits a stream of chunks into lines; see the module documentation.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    max_line_bytes: usize,
    /// The start of a line that spans chunks (at most `max_line_bytes + 1` bytes, the `+ 1`
    /// for a `\r` that may turn out to be part of the terminator).
    partial: Vec<u8>,
    /// Set while skipping the rest of an over-long line.
    skipping: Option<Skipped>,
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
            let newline = memchr::memchr(b'\n', rest);
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
        if let Some(skipped) = &mut self.skipping {
            skipped.extend(piece);
            return;
        }
        if self.partial.len() + piece.len() > self.max_line_bytes + 1 {
            // Over the limit: keep only what a rejection needs, then skip to the newline.
            self.skipping = Some(Skipped::new(&self.partial, piece));
            self.partial = Vec::new();
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

        if let Some(mut skipped) = self.skipping.take() {
            skipped.extend(piece);
            return on_line(skipped.line(number));
        }

        if self.partial.is_empty() {
            self.emit(number, piece, on_line)
        } else if self.partial.len() + piece.len() > self.max_line_bytes + 1 {
            let mut skipped = Skipped::new(&self.partial, piece);
            self.partial.clear();
            on_line(skipped.line(number))
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

/// Appends to `prefix` as much of `bytes` as fits in [`MAX_RAW_BYTES`].
fn keep_prefix(prefix: &mut Vec<u8>, bytes: &[u8]) {
    let room = MAX_RAW_BYTES.saturating_sub(prefix.len());
    prefix.extend_from_slice(&bytes[..bytes.len().min(room)]);
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

    /// Found by the `csv_decoder` fuzz target: an over-long `\r\n` line that spanned chunks
    /// counted its `\r` in its length and kept it in its bytes, unlike the same line within
    /// one chunk.
    #[test]
    fn an_over_long_crlf_line_is_the_same_whatever_the_chunking() {
        let input = b"0123456789ab\r\nok\r\n";
        let expected = vec!["1:too long (12) 0123456789ab", "2:ok"];
        for sizes in [&[1000][..], &[1], &[5], &[13, 1], &[12, 1, 1], &[3, 4]] {
            let mut splitter = LineSplitter::new(8);
            let mut out = Vec::new();
            let mut record = |line: Line<'_>| -> Result<(), ()> {
                out.push(match line {
                    Line::Complete { number, bytes } => {
                        format!("{number}:{}", String::from_utf8_lossy(bytes))
                    }
                    Line::TooLong {
                        number,
                        prefix,
                        len,
                    } => {
                        format!(
                            "{number}:too long ({len}) {}",
                            String::from_utf8_lossy(prefix)
                        )
                    }
                });
                Ok(())
            };
            let mut rest = &input[..];
            let mut cycle = sizes.iter().cycle();
            while !rest.is_empty() {
                let size = (*cycle.next().unwrap_or(&1)).min(rest.len());
                splitter.feed(&rest[..size], &mut record).unwrap();
                rest = &rest[size..];
            }
            splitter.finish(&mut record).unwrap();
            assert_eq!(out, expected, "chunk sizes {sizes:?}");
        }
    }

    #[test]
    fn a_line_of_exactly_the_limit_passes_with_either_terminator() {
        let (lines, _) = split(b"12345678\r\n12345678\n123456789\n", &[3], 8);
        assert_eq!(lines, vec!["1:12345678", "2:12345678", "3:too long (9)"]);
    }
}
