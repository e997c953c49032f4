//! [`MockDecoder`]: a tiny line decoder (`key,int` per line) for engine tests.

use std::sync::Arc;

use collectors_core::arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use collectors_core::{Decoded, Decoder, Error, ItemDecoder, RejectedRow, Result, SourceItem};

/// Decodes `key,int` lines into batches of `batch_size` rows (columns `key` Utf8 and
/// `value` Int64). Other lines are rejected with their 1-based line number and exact bytes;
/// blank lines are skipped and a `\r` before the `\n` is dropped. Two lines steer a test:
/// `FATAL` fails the whole item, `PANIC` panics (a bug in a decoder).
///
/// It passes `collectors_core::conformance::decoder`.
///
/// ```
/// use collectors_core::{Decoded, Decoder, SourceItem};
/// use collectors_mocks::MockDecoder;
///
/// let item = SourceItem::listed("s", "a", "1");
/// let mut decoder = MockDecoder::new(10).decoder_for(&item)?;
/// let mut out = Decoded::default();
/// decoder.feed(b"a,1\nnot a row\nb,2\n", &mut out)?;
/// decoder.finish(&mut out)?;
/// assert_eq!(out.batches[0].num_rows(), 2);
/// assert_eq!(out.rejects[0].line, 2);
/// # Ok::<(), collectors_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MockDecoder {
    batch_size: usize,
}

impl MockDecoder {
    /// Batches of at most `batch_size` rows (at least 1).
    pub fn new(batch_size: usize) -> Self {
        Self {
            batch_size: batch_size.max(1),
        }
    }
}

impl Decoder for MockDecoder {
    fn name(&self) -> &str {
        "key-value"
    }

    fn decoder_for(&self, _item: &SourceItem) -> Result<Box<dyn ItemDecoder>> {
        Ok(Box::new(MockItemDecoder {
            batch_size: self.batch_size,
            pending: Vec::new(),
            line: 0,
            keys: Vec::new(),
            values: Vec::new(),
        }))
    }
}

struct MockItemDecoder {
    batch_size: usize,
    pending: Vec<u8>,
    line: u64,
    keys: Vec<String>,
    values: Vec<i64>,
}

impl MockItemDecoder {
    fn line(&mut self, raw: Vec<u8>, out: &mut Decoded) -> Result<()> {
        self.line += 1;
        let raw = raw.strip_suffix(b"\r").map(<[u8]>::to_vec).unwrap_or(raw);
        match raw.as_slice() {
            b"" => return Ok(()),
            b"FATAL" => return Err(Error::validation(format!("fatal line {}", self.line))),
            b"PANIC" => panic!("the decoder panicked at line {}", self.line),
            _ => {}
        }
        let parsed = std::str::from_utf8(&raw)
            .ok()
            .and_then(|t| t.split_once(','))
            .and_then(|(k, v)| Some((k.to_owned(), v.trim().parse::<i64>().ok()?)));
        match parsed {
            Some((k, v)) => {
                self.keys.push(k);
                self.values.push(v);
                if self.keys.len() == self.batch_size {
                    self.emit(out);
                }
            }
            None => out
                .rejects
                .push(RejectedRow::new(self.line, raw, "not key,int")),
        }
        Ok(())
    }

    fn emit(&mut self, out: &mut Decoded) {
        if self.keys.is_empty() {
            return;
        }
        let keys: ArrayRef = Arc::new(StringArray::from(std::mem::take(&mut self.keys)));
        let values: ArrayRef = Arc::new(Int64Array::from(std::mem::take(&mut self.values)));
        if let Ok(batch) = RecordBatch::try_from_iter([("key", keys), ("value", values)]) {
            out.batches.push(batch);
        }
    }
}

impl ItemDecoder for MockItemDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Decoded) -> Result<()> {
        for &byte in chunk {
            if byte == b'\n' {
                let line = std::mem::take(&mut self.pending);
                self.line(line, out)?;
            } else {
                self.pending.push(byte);
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Decoded) -> Result<()> {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.line(line, out)?;
        }
        self.emit(out);
        Ok(())
    }
}
