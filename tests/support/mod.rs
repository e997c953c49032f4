//! Test parts shared by the engine tests: a tiny `key,value` line decoder.

#![allow(dead_code)]

use std::sync::Arc;

use collectors::arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use collectors::{Decoded, Decoder, Error, ItemDecoder, RejectedRow, Result, SourceItem};

/// Decodes `key,value` lines (value an integer) into batches of `batch_size` rows; other lines
/// are rejected with their line number. A line `FATAL` fails the whole item; a line `PANIC`
/// panics.
pub(crate) struct KeyValueDecoder {
    pub(crate) batch_size: usize,
}

impl Decoder for KeyValueDecoder {
    fn name(&self) -> &str {
        "key-value"
    }

    fn decoder_for(&self, _item: &SourceItem) -> Result<Box<dyn ItemDecoder>> {
        Ok(Box::new(KeyValueItem {
            batch_size: self.batch_size,
            pending: Vec::new(),
            line: 0,
            keys: vec![],
            values: vec![],
        }))
    }
}

struct KeyValueItem {
    batch_size: usize,
    pending: Vec<u8>,
    line: u64,
    keys: Vec<String>,
    values: Vec<i64>,
}

impl KeyValueItem {
    fn line(&mut self, text: &[u8], out: &mut Decoded) -> Result<()> {
        self.line += 1;
        let text = String::from_utf8_lossy(text).to_string();
        if text == "FATAL" {
            return Err(Error::validation(format!("fatal line {}", self.line)));
        }
        if text == "PANIC" {
            panic!("the decoder panicked at line {}", self.line);
        }
        match text
            .split_once(',')
            .and_then(|(k, v)| Some((k.to_owned(), v.trim().parse::<i64>().ok()?)))
        {
            Some((k, v)) => {
                self.keys.push(k);
                self.values.push(v);
                if self.keys.len() == self.batch_size {
                    self.emit(out);
                }
            }
            None => out
                .rejects
                .push(RejectedRow::new(self.line, text, "not key,int")),
        }
        Ok(())
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
        self.pending.extend_from_slice(chunk);
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            self.line(&line[..line.len() - 1], out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Decoded) -> Result<()> {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.line(&line, out)?;
        }
        self.emit(out);
        Ok(())
    }
}

/// `n` lines `k{i % keys},{i}`.
pub(crate) fn lines(n: usize, keys: usize) -> String {
    (0..n).map(|i| format!("k{},{i}\n", i % keys)).collect()
}
