//! The decoder suite passes a correct decoder and catches broken ones, naming the rule.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use collectors_core::conformance::{self, DecoderFixture};
use collectors_core::{Decoded, Decoder, ItemDecoder, RejectedRow, Result, SourceItem};

/// What a [`KeyValue`] decoder gets wrong, on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bug {
    None,
    /// Treats every chunk end as a line end.
    ChunkIsLine,
    /// Numbers lines from 0.
    ZeroBasedLines,
    /// Keeps the `\n` in a reject's bytes.
    RawWithTerminator,
    /// Never emits the last, partial batch.
    NoFlush,
    /// Emits one batch more than the batch size.
    OversizedBatches,
    /// Holds over-long lines whole and calls them complete.
    NoLineLimit,
    /// Says it has no header although it skips one.
    HeaderLinesZero,
    /// Fails an empty item.
    EmptyIsError,
}

/// `key,int` lines behind one header line; other lines are rejected.
struct KeyValue {
    batch_size: usize,
    limit: usize,
    bug: Bug,
}

impl Decoder for KeyValue {
    fn name(&self) -> &str {
        "key-value"
    }

    fn decoder_for(&self, _item: &SourceItem) -> Result<Box<dyn ItemDecoder>> {
        Ok(Box::new(KeyValueItem {
            batch_size: self.batch_size,
            limit: self.limit,
            bug: self.bug,
            pending: Vec::new(),
            overlong: false,
            line: 0,
            seen: false,
            keys: Vec::new(),
            values: Vec::new(),
        }))
    }

    fn header_lines(&self) -> usize {
        usize::from(self.bug != Bug::HeaderLinesZero)
    }
}

struct KeyValueItem {
    batch_size: usize,
    limit: usize,
    bug: Bug,
    pending: Vec<u8>,
    overlong: bool,
    line: u64,
    seen: bool,
    keys: Vec<String>,
    values: Vec<i64>,
}

impl KeyValueItem {
    fn end_line(&mut self, out: &mut Decoded) {
        let raw = std::mem::take(&mut self.pending);
        let overlong = std::mem::take(&mut self.overlong);
        self.line += 1;
        let line = if self.bug == Bug::ZeroBasedLines {
            self.line - 1
        } else {
            self.line
        };
        if self.line == 1 || (raw.is_empty() && !overlong) {
            return; // The header, or a blank line.
        }
        if overlong {
            out.rejects.push(RejectedRow {
                line,
                raw: raw.into(),
                complete: self.bug == Bug::NoLineLimit,
                reason: "too long".into(),
            });
            return;
        }
        let parsed = std::str::from_utf8(&raw)
            .ok()
            .and_then(|t| t.split_once(','))
            .and_then(|(k, v)| Some((k.to_owned(), v.parse::<i64>().ok()?)));
        match parsed {
            Some((k, v)) => {
                self.keys.push(k);
                self.values.push(v);
                let full = self.batch_size + usize::from(self.bug == Bug::OversizedBatches);
                if self.keys.len() == full {
                    self.emit(out);
                }
            }
            None => {
                let mut raw = raw;
                if self.bug == Bug::RawWithTerminator {
                    raw.push(b'\n');
                }
                out.rejects.push(RejectedRow::new(line, raw, "not key,int"));
            }
        }
    }

    fn emit(&mut self, out: &mut Decoded) {
        if self.keys.is_empty() {
            return;
        }
        let keys: ArrayRef = Arc::new(StringArray::from(std::mem::take(&mut self.keys)));
        let values: ArrayRef = Arc::new(Int64Array::from(std::mem::take(&mut self.values)));
        out.batches.push(
            RecordBatch::try_from_iter([("key", keys), ("value", values)])
                .expect("two equal columns"),
        );
    }
}

impl ItemDecoder for KeyValueItem {
    fn feed(&mut self, chunk: &[u8], out: &mut Decoded) -> Result<()> {
        self.seen |= !chunk.is_empty();
        for &byte in chunk {
            if byte == b'\n' {
                self.end_line(out);
            } else if self.pending.len() < self.limit || self.bug == Bug::NoLineLimit {
                self.pending.push(byte);
            } else {
                self.overlong = true;
            }
        }
        if self.bug == Bug::ChunkIsLine && !self.pending.is_empty() {
            self.end_line(out);
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Decoded) -> Result<()> {
        if self.bug == Bug::EmptyIsError && !self.seen {
            return Err(collectors_core::Error::validation("no header"));
        }
        if !self.pending.is_empty() || self.overlong {
            self.end_line(out);
        }
        if self.bug != Bug::NoFlush {
            self.emit(out);
        }
        Ok(())
    }
}

fn fixture() -> DecoderFixture {
    DecoderFixture::new("a,1\nb,2\nc,3\n\nd,-4\ne,5\n", 5, "f,six", 2)
        .with_header("key,value\n", 1)
        .with_line_limit(16)
}

fn check(bug: Bug) {
    let decoder = KeyValue {
        batch_size: 2,
        limit: 16,
        bug,
    };
    conformance::decoder(&decoder, &fixture());
}

#[test]
fn a_correct_decoder_passes() {
    check(Bug::None);
}

#[test]
#[should_panic(expected = "chunks of 1 bytes give the same rows as one chunk")]
fn a_decoder_that_ends_lines_at_chunk_ends_is_caught() {
    check(Bug::ChunkIsLine);
}

#[test]
#[should_panic(expected = "rejects carry their 1-based line number")]
fn zero_based_line_numbers_are_caught() {
    check(Bug::ZeroBasedLines);
}

#[test]
#[should_panic(expected = "exact raw bytes of its line, without terminator")]
fn a_terminator_kept_in_the_raw_bytes_is_caught() {
    check(Bug::RawWithTerminator);
}

#[test]
#[should_panic(expected = "finish flushes the last rows")]
fn a_finish_that_does_not_flush_is_caught() {
    check(Bug::NoFlush);
}

#[test]
#[should_panic(expected = "batches hold at most the batch size")]
fn oversized_batches_are_caught() {
    check(Bug::OversizedBatches);
}

#[test]
#[should_panic(expected = "is rejected with complete == false")]
fn a_decoder_without_a_line_limit_is_caught() {
    check(Bug::NoLineLimit);
}

#[test]
#[should_panic(expected = "header_lines() matches the fixture")]
fn a_wrong_header_line_count_is_caught() {
    check(Bug::HeaderLinesZero);
}

#[test]
#[should_panic(expected = "an empty input yields no rows and no error")]
fn a_decoder_that_fails_an_empty_item_is_caught() {
    check(Bug::EmptyIsError);
}

#[test]
#[should_panic(expected = "fixture: more rows")]
fn a_fixture_too_small_to_split_batches_is_refused() {
    let decoder = KeyValue {
        batch_size: 8,
        limit: 16,
        bug: Bug::None,
    };
    let fixture = DecoderFixture::new("a,1\nb,2\n", 2, "f,six", 8).with_header("key,value\n", 1);
    conformance::decoder(&decoder, &fixture);
}
