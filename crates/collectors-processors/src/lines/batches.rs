//! Decoding pending lines a batch at a time, and finding the bad lines of a batch that fails.

use arrow_array::RecordBatch;
use arrow_select::concat::concat_batches;
use collectors_core::{Decoded, Error, RejectedRow, Result};

use super::line_decoder::{LineDecoder, LineError};
use super::pending::PendingLines;
use super::rejects::rejected_line;

impl PendingLines {
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
        self.release_rejects(out);
        Ok(())
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
        rejects.extend(self.take_ready_rejects());
        if !rejects.is_empty() {
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
                Some(reason) => rejects.push(rejected_line(number, line, reason)),
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
                rejects.push(rejected_line(number, line, reason));
            }
            return;
        }
        let mid = from + (to - from) / 2;
        self.bisect(from, mid, decoder, kept, rejects);
        self.bisect(mid, to, decoder, kept, rejects);
    }
}

#[cfg(test)]
mod tests {
    use arrow_schema::{ArrowError, SchemaRef};

    use super::*;

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
