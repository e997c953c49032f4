//! Lines waiting to be decoded together, and the rejections held back behind them.

use collectors_core::{Decoded, RejectedRow};

use super::rejects::rejected_line;

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
            // Rejections held back behind lines that were rejected since come first.
            out.rejects.append(&mut self.deferred);
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
                Some((_, reason)) => self.deferred.push(rejected_line(number, line, reason)),
                None => self.push(number, line.strip_suffix(b"\n").unwrap_or(line)),
            }
        }
        self.deferred.extend(old.deferred);
        self.deferred.sort_by_key(|row| row.line);
    }

    /// Releases the held-back rejections when no line is pending (nothing to decode).
    pub(crate) fn release_rejects(&mut self, out: &mut Decoded) {
        if self.lines.is_empty() {
            out.rejects.append(&mut self.deferred);
        }
    }

    /// Takes the held-back rejections of lines before the first pending line: those can go
    /// out now.
    pub(super) fn take_ready_rejects(&mut self) -> std::vec::Drain<'_, RejectedRow> {
        let boundary = self.lines.first().map_or(u64::MAX, |&(_, number)| number);
        let ready = self.deferred.partition_point(|row| row.line < boundary);
        self.deferred.drain(..ready)
    }

    /// The bytes of lines `from..to`, newlines included.
    pub(super) fn range_bytes(&self, from: usize, to: usize) -> &[u8] {
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
    pub(super) fn drain_first(&mut self, count: usize) {
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

    /// Found by the `jsonl_decoder` fuzz target: when schema inference rejected every
    /// pending line, the rejections held back behind them came out after those of later
    /// lines.
    #[test]
    fn rejections_stay_in_line_order_when_every_pending_line_is_rejected() {
        let mut pending = PendingLines::default();
        let mut out = Decoded::default();
        pending.push(1, b"a");
        pending.reject(rejected_line(2, b"b", "bad".into()), &mut out);
        pending.reject_pending(vec![(0, "does not fit".into())]);
        assert!(pending.is_empty());
        pending.reject(rejected_line(3, b"c", "bad".into()), &mut out);
        pending.release_rejects(&mut out);
        let lines: Vec<u64> = out.rejects.iter().map(|r| r.line).collect();
        assert_eq!(lines, [1, 2, 3]);
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
}
