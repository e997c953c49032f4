//! The one driver of every line decoder: it splits an item into lines, rejects the lines
//! every format rejects, holds lines back until the schema is fixed, decodes full batches,
//! and fails every call after a failed one. A format only says what is special about it.

use collectors_core::{Decoded, Error, Result};

use super::line_decoder::LineDecoder;
use super::pending::PendingLines;
use super::rejects::{is_blank, not_utf8, rejected_line, too_long};
use super::splitter::{Line, LineSplitter};

/// What a line format (CSV, JSON lines) adds to the [`LineDriver`].
///
/// For each line the driver: rejects it when over-long (after
/// [`on_too_long`](Self::on_too_long)); skips it when blank; offers it to
/// [`take_header`](Self::take_header); rejects it when not UTF-8 or when
/// [`check_row`](Self::check_row) gives a reason; else queues it for decoding.
pub(crate) trait LineFormat: std::fmt::Debug {
    /// The format's decoder of whole lines, built once the schema is fixed.
    type Decoder: LineDecoder + std::fmt::Debug;

    /// A whitespace byte that is data, not blank space (a tab delimiter), if any.
    fn significant_whitespace(&self) -> Option<u8> {
        None
    }

    /// Sees line `number`, over the limit, before it is rejected as a row; an error fails
    /// the item instead (an over-long header).
    fn on_too_long(
        &self,
        number: u64,
        prefix: &[u8],
        len: u64,
        max_line_bytes: usize,
    ) -> Result<()> {
        let _ = (number, prefix, len, max_line_bytes);
        Ok(())
    }

    /// Offers a non-blank line before any other check: `true` when the format took it (a
    /// header), which is then not a row.
    fn take_header(&mut self, number: u64, bytes: &[u8]) -> Result<bool> {
        let _ = (number, bytes);
        Ok(false)
    }

    /// Why a UTF-8 data line is rejected before it is decoded, or `None` to queue it.
    /// `inferring`: the schema is still to be inferred, and the line will be in the sample.
    fn check_row(&mut self, bytes: &[u8], inferring: bool) -> Option<String>;

    /// Fixes the schema (explicit, or inferred from the `pending` lines, some of which it
    /// may reject) and builds the decoder.
    fn start_decoding(&mut self, pending: &mut PendingLines) -> Result<Self::Decoder>;
}

/// The sizes a [`LineDriver`] works with (checked by
/// [`check_limits`](super::check_limits) beforehand).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DriverLimits {
    /// The most rows in one batch.
    pub(crate) batch_size: usize,
    /// The longest line decoded, terminator excluded.
    pub(crate) max_line_bytes: usize,
    /// How many lines to hold before inferring the schema; `None`: the schema is explicit.
    pub(crate) infer_rows: Option<usize>,
}

/// Decodes one item of a line format, chunk by chunk; see the module documentation.
#[derive(Debug)]
pub(crate) struct LineDriver<F: LineFormat> {
    splitter: LineSplitter,
    rows: Rows<F>,
}

impl<F: LineFormat> LineDriver<F> {
    /// A driver for one item of `format`.
    pub(crate) fn new(format: F, limits: DriverLimits) -> Self {
        Self {
            splitter: LineSplitter::new(limits.max_line_bytes),
            rows: Rows {
                format,
                limits,
                decoder: None,
                pending: PendingLines::default(),
                failed: None,
            },
        }
    }

    /// The most bytes of one partial line held at once so far.
    pub(crate) fn peak_buffered(&self) -> usize {
        self.splitter.peak_buffered()
    }

    /// Decodes the lines `chunk` completes; see [`ItemDecoder::feed`](collectors_core::ItemDecoder::feed).
    pub(crate) fn feed(&mut self, chunk: &[u8], out: &mut Decoded) -> Result<()> {
        self.rows.check_not_failed()?;
        let rows = &mut self.rows;
        let result = self.splitter.feed(chunk, |line| rows.on_line(line, out));
        self.rows.remember_failure(result)
    }

    /// Decodes the rest of the item; see
    /// [`ItemDecoder::finish`](collectors_core::ItemDecoder::finish).
    pub(crate) fn finish(&mut self, out: &mut Decoded) -> Result<()> {
        self.rows.check_not_failed()?;
        let rows = &mut self.rows;
        let result = self
            .splitter
            .finish(|line| rows.on_line(line, out))
            .and_then(|()| rows.finish(out));
        self.rows.remember_failure(result)
    }
}

/// Everything of a driver but the line splitter (borrowed apart from it while splitting).
#[derive(Debug)]
struct Rows<F: LineFormat> {
    format: F,
    limits: DriverLimits,
    /// Set once the schema is known (explicit, or inferred from the first lines).
    decoder: Option<F::Decoder>,
    pending: PendingLines,
    /// Why the item failed; every later call fails the same way.
    failed: Option<String>,
}

impl<F: LineFormat> Rows<F> {
    fn check_not_failed(&self) -> Result<()> {
        match &self.failed {
            Some(message) => Err(Error::validation(message.clone())),
            None => Ok(()),
        }
    }

    fn remember_failure(&mut self, result: Result<()>) -> Result<()> {
        if let Err(e) = &result {
            self.failed = Some(e.message().to_owned());
        }
        result
    }

    fn on_line(&mut self, line: Line<'_>, out: &mut Decoded) -> Result<()> {
        let (number, bytes) = match line {
            Line::TooLong {
                number,
                prefix,
                len,
            } => {
                let max_line_bytes = self.limits.max_line_bytes;
                self.format
                    .on_too_long(number, prefix, len, max_line_bytes)?;
                let row = too_long(number, prefix, len, max_line_bytes);
                self.pending.reject(row, out);
                return Ok(());
            }
            Line::Complete { number, bytes } => (number, bytes),
        };
        if is_blank(bytes, self.format.significant_whitespace())
            || self.format.take_header(number, bytes)?
        {
            return Ok(());
        }
        if let Err(e) = std::str::from_utf8(bytes) {
            self.pending.reject(not_utf8(number, bytes, e), out);
            return Ok(());
        }
        let inferring = self.decoder.is_none() && self.limits.infer_rows.is_some();
        if let Some(reason) = self.format.check_row(bytes, inferring) {
            self.pending
                .reject(rejected_line(number, bytes, reason), out);
            return Ok(());
        }
        self.pending.push(number, bytes);

        let decoder = match &mut self.decoder {
            Some(decoder) => decoder,
            None => {
                if let Some(infer_rows) = self.limits.infer_rows
                    && self.pending.len() < infer_rows
                {
                    return Ok(()); // more lines for the sample
                }
                let decoder = self.format.start_decoding(&mut self.pending)?;
                self.decoder.insert(decoder)
            }
        };
        self.pending
            .decode_full_batches(self.limits.batch_size, decoder, out)
    }

    fn finish(&mut self, out: &mut Decoded) -> Result<()> {
        if self.pending.is_empty() {
            self.pending.release_rejects(out);
            return Ok(());
        }
        let decoder = match &mut self.decoder {
            Some(decoder) => decoder,
            None => {
                let decoder = self.format.start_decoding(&mut self.pending)?;
                self.decoder.insert(decoder)
            }
        };
        self.pending
            .decode_all(self.limits.batch_size, decoder, out)
    }
}
