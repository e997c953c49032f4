//! The [`Decoder`] suite: chunking, line numbers, rejects, batch size, line limit, header.

use arrow_array::RecordBatch;
use bytes::Bytes;

use crate::engine::{Decoded, Decoder, RejectedRow};
use crate::models::SourceItem;

/// Sample input a decoder accepts, and what decoding it must give.
///
/// The suite builds its inputs from these parts: the header, the valid rows, the malformed
/// row put between them and at the end, an over-long row. Keep the sample small (a few
/// hundred bytes): it is decoded once per chunk size, from 1 byte to the whole input.
///
/// Rows are separated by `\n` (a `\r\n` ending is the row's business: the suite counts lines
/// by `\n`). Use a decoder with a fixed schema, so one row decodes alone as it does among the
/// others (the suite replays each row behind the header).
///
/// ```
/// use collectors_core::conformance::DecoderFixture;
///
/// let fixture = DecoderFixture::new("s1,1\ns2,2\ns3,3\n", 3, "s4,not-a-number", 2)
///     .with_header("sensor,value\n", 1)
///     .with_line_limit(64);
/// assert_eq!(fixture.header_lines, 1);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DecoderFixture {
    /// The header lines, each with its terminator (empty for a format without a header).
    pub header: Bytes,
    /// How many lines `header` holds: what [`Decoder::header_lines`] must answer.
    pub header_lines: usize,
    /// Valid rows, one per line, each with its terminator.
    pub rows: Bytes,
    /// How many rows `rows` decodes to (more than `batch_size`, so batches are split).
    pub row_count: u64,
    /// One row the decoder rejects (wrong column count, unparsable value), without a
    /// terminator.
    pub malformed: Bytes,
    /// The decoder's configured batch size: no batch may hold more rows.
    pub batch_size: usize,
    /// The decoder's line limit in bytes, terminator excluded, when it has one: a longer row
    /// is rejected with `complete == false`.
    pub line_limit: Option<usize>,
    /// The most bytes of an over-long row a reject keeps (a decoder may keep a fixed-size
    /// prefix whatever the limit). `None`: the line limit.
    pub max_kept_bytes: Option<usize>,
}

impl DecoderFixture {
    /// A fixture without a header and without a line limit.
    pub fn new(
        rows: impl Into<Bytes>,
        row_count: u64,
        malformed: impl Into<Bytes>,
        batch_size: usize,
    ) -> Self {
        let mut rows = rows.into();
        if !rows.is_empty() && !rows.ends_with(b"\n") {
            rows = [&rows[..], b"\n"].concat().into();
        }
        Self {
            header: Bytes::new(),
            header_lines: 0,
            rows,
            row_count,
            malformed: malformed.into(),
            batch_size,
            line_limit: None,
            max_kept_bytes: None,
        }
    }

    /// The header lines (each with its terminator) and how many they are.
    #[must_use]
    pub fn with_header(mut self, header: impl Into<Bytes>, lines: usize) -> Self {
        self.header = header.into();
        self.header_lines = lines;
        self
    }

    /// The decoder's line limit, in bytes, terminator excluded.
    #[must_use]
    pub fn with_line_limit(mut self, limit: usize) -> Self {
        self.line_limit = Some(limit);
        self
    }

    /// The most bytes of an over-long row the decoder keeps in its reject, when that is not
    /// the line limit.
    #[must_use]
    pub fn with_max_kept_bytes(mut self, bytes: usize) -> Self {
        self.max_kept_bytes = Some(bytes);
        self
    }

    /// The valid rows, each with its terminator.
    fn row_lines(&self) -> Vec<&[u8]> {
        self.rows.split_inclusive(|b| *b == b'\n').collect()
    }

    /// `header`, then the rows before `at`, then `middle`, then the rest, then `end`.
    fn input(&self, at: usize, middle: &[u8], end: &[u8]) -> Vec<u8> {
        let lines = self.row_lines();
        let mut input = self.header.to_vec();
        lines[..at].iter().for_each(|l| input.extend_from_slice(l));
        input.extend_from_slice(middle);
        lines[at..].iter().for_each(|l| input.extend_from_slice(l));
        input.extend_from_slice(end);
        input
    }
}

/// Runs the [`Decoder`] / [`ItemDecoder`](crate::ItemDecoder) contract against `decoder`,
/// configured as `fixture` says (its batch size, its line limit):
///
/// - [`header_lines`](Decoder::header_lines) matches the fixture;
/// - an empty input (and a header alone) yields no rows and no error;
/// - every valid row is decoded once `finish` returns, a last row without a terminator too;
/// - the malformed row is rejected, in the middle and at the end, with its 1-based line
///   number (header lines count), its exact bytes without terminator and `complete ==
///   true`, and the rest of the item goes on;
/// - feeding the input in chunks of every size from 1 byte to all of it gives the same rows
///   (same values, same schema) and the same rejects;
/// - no batch holds more than the batch size;
/// - a row longer than the line limit (if any) is rejected with `complete == false`, at most
///   [`max_kept_bytes`](DecoderFixture::max_kept_bytes) (else the limit) of its bytes kept,
///   a prefix of the row, and the lines after it keep their numbers;
/// - a valid row replayed behind the header lines decodes alone to the same row.
///
/// How much a decoder buffers cannot be seen through the trait: the suite checks what an
/// over-long row leaves behind (a bounded prefix of a row several times longer), not the
/// peak memory.
///
/// # Panics
///
/// At the first rule the decoder breaks, naming the rule; or when the fixture cannot test
/// the rules (fewer rows than one batch plus one, a malformed row holding a line break).
pub fn decoder(decoder: &dyn Decoder, fixture: &DecoderFixture) {
    check_fixture(fixture);
    let suite = Suite { decoder, fixture };
    assert!(!decoder.name().is_empty(), "name() is not empty");
    assert_eq!(
        decoder.header_lines(),
        fixture.header_lines,
        "header_lines() matches the fixture"
    );
    suite.empty_input();
    let reference = suite.valid_rows();
    suite.rejects_and_chunking(&reference);
    suite.line_limit();
    suite.replay(&reference);
}

fn check_fixture(fixture: &DecoderFixture) {
    assert!(fixture.batch_size > 0, "fixture: batch_size is at least 1");
    assert!(
        fixture.row_count > fixture.batch_size as u64,
        "fixture: more rows ({}) than one batch ({}), so batches are split",
        fixture.row_count,
        fixture.batch_size
    );
    assert!(
        !fixture.malformed.is_empty() && !fixture.malformed.contains(&b'\n'),
        "fixture: the malformed row is one non-empty line without terminator"
    );
    assert_eq!(
        fixture.header.iter().filter(|b| **b == b'\n').count(),
        fixture.header_lines,
        "fixture: `header` holds `header_lines` terminated lines"
    );
    if let Some(limit) = fixture.line_limit {
        assert!(limit > 0, "fixture: line_limit is at least 1");
        assert!(
            fixture.row_lines().iter().all(|l| l.len() <= limit + 2),
            "fixture: every valid row fits the line limit"
        );
    }
}

struct Suite<'a> {
    decoder: &'a dyn Decoder,
    fixture: &'a DecoderFixture,
}

impl Suite<'_> {
    /// Decodes `input` fed in chunks of `chunk` bytes (at least 1), checking the batch size.
    fn decode(&self, input: &[u8], chunk: usize, what: &str) -> Decoded {
        let item = SourceItem::listed("conformance", "sample", "v1").with_size(input.len() as u64);
        let mut item_decoder = self
            .decoder
            .decoder_for(&item)
            .unwrap_or_else(|e| panic!("{what}: decoder_for fails: {e}"));
        let mut out = Decoded::default();
        for piece in input.chunks(chunk.max(1)) {
            item_decoder
                .feed(piece, &mut out)
                .unwrap_or_else(|e| panic!("{what}: feed in chunks of {chunk} bytes fails: {e}"));
        }
        item_decoder
            .finish(&mut out)
            .unwrap_or_else(|e| panic!("{what}: finish (chunks of {chunk} bytes) fails: {e}"));
        for (i, batch) in out.batches.iter().enumerate() {
            assert!(
                batch.num_rows() <= self.fixture.batch_size,
                "batches hold at most the batch size: batch {i} of {what} (chunks of {chunk} \
                 bytes) holds {} rows, the batch size is {}",
                batch.num_rows(),
                self.fixture.batch_size
            );
        }
        out
    }

    fn empty_input(&self) {
        let out = self.decode(b"", 1, "an empty input yields no rows and no error");
        assert_eq!(
            (out.rows(), out.rejects.len()),
            (0, 0),
            "an empty input yields no rows and no error"
        );
        if !self.fixture.header.is_empty() {
            let out = self.decode(
                &self.fixture.header,
                self.fixture.header.len(),
                "a header alone yields no rows and no error",
            );
            assert_eq!(
                (out.rows(), out.rejects.len()),
                (0, 0),
                "a header alone yields no rows and no error"
            );
        }
    }

    /// Header and valid rows: every row decoded, nothing rejected. Returns the rows.
    fn valid_rows(&self) -> Vec<RecordBatch> {
        let f = self.fixture;
        let input = f.input(0, b"", b"");
        let rule = "every valid row is decoded once finish returns (finish flushes the last rows)";
        let out = self.decode(&input, input.len(), rule);
        assert_eq!(
            out.rejects,
            Vec::<RejectedRow>::new(),
            "the fixture's valid rows are not rejected"
        );
        assert_eq!(out.rows(), f.row_count, "{rule}");
        let reference = rows(&out);

        let unterminated = input.strip_suffix(b"\n").unwrap_or(&input);
        let rule = "a last row without a terminator is decoded by finish";
        let out = self.decode(unterminated, unterminated.len(), rule);
        assert_eq!(out.rows(), f.row_count, "{rule}");
        assert_rows_eq(&rows(&out), &reference, rule);
        reference
    }

    fn rejects_and_chunking(&self, reference: &[RecordBatch]) {
        let f = self.fixture;
        let lines = f.row_lines();
        let at = lines.len() / 2;
        let middle = [&f.malformed[..], b"\n"].concat();
        let input = f.input(at, &middle, &f.malformed);
        let first = (f.header_lines + at + 1) as u64;
        let last = (f.header_lines + lines.len() + 2) as u64;

        let whole = self.decode(&input, input.len(), "the malformed rows");
        assert_eq!(
            whole.rejects.iter().map(|r| r.line).collect::<Vec<_>>(),
            [first, last],
            "rejects carry their 1-based line number (header lines count), in input order"
        );
        for reject in &whole.rejects {
            assert_eq!(
                reject.raw, f.malformed,
                "a reject carries the exact raw bytes of its line, without terminator (line {})",
                reject.line
            );
            assert!(
                reject.complete,
                "a reject within the line limit has complete == true (line {})",
                reject.line
            );
        }
        assert_eq!(
            whole.rows(),
            f.row_count + 2,
            "a rejected row does not stop the rest of the item"
        );
        let whole_rows = rows(&whole);
        assert_rows_eq(
            &whole_rows,
            reference,
            "a rejected row does not change the other rows",
        );

        for chunk in 1..=input.len() {
            let out = self.decode(&input, chunk, "chunking");
            assert_rows_eq(
                &rows(&out),
                &whole_rows,
                &format!("chunks of {chunk} bytes give the same rows as one chunk"),
            );
            assert_eq!(
                out.rejects, whole.rejects,
                "chunks of {chunk} bytes give the same rejects (lines, bytes) as one chunk"
            );
        }
    }

    fn line_limit(&self) {
        let f = self.fixture;
        let Some(limit) = f.line_limit else {
            return;
        };
        // Far longer than the limit, so a decoder that holds it whole is not merely one byte
        // over: made of valid rows glued together, so only its length is wrong.
        let first = f.row_lines()[0];
        let unit = first.strip_suffix(b"\n").unwrap_or(first);
        let unit = unit.strip_suffix(b"\r").unwrap_or(unit);
        let kept = f.max_kept_bytes.unwrap_or(limit);
        let target = limit.max(kept).saturating_mul(4).max(limit + 4096);
        let mut long = Vec::with_capacity(target + unit.len());
        while long.len() <= target {
            long.extend_from_slice(unit);
        }
        let lines = f.row_lines();
        let at = lines.len() / 2;
        let middle = [&long[..], b"\n"].concat();
        let end = [&f.malformed[..], b"\n"].concat();
        let input = f.input(at, &middle, &end);
        let long_line = (f.header_lines + at + 1) as u64;
        let last = (f.header_lines + lines.len() + 2) as u64;

        let mut chunks = vec![1_000, limit, limit + 1, input.len()];
        if input.len() <= 256 * 1024 {
            chunks.push(1);
        }
        for chunk in chunks {
            let rule =
                format!("a row longer than the line limit ({limit} bytes, chunks of {chunk})");
            let out = self.decode(&input, chunk, &rule);
            assert_eq!(
                out.rejects.iter().map(|r| r.line).collect::<Vec<_>>(),
                [long_line, last],
                "{rule} is rejected, and the lines after it keep their numbers"
            );
            let reject = &out.rejects[0];
            assert!(
                !reject.complete,
                "{rule} is rejected with complete == false"
            );
            assert!(
                reject.raw.len() <= kept,
                "{rule}: at most {kept} of its {} bytes are kept, not {}",
                long.len(),
                reject.raw.len()
            );
            assert!(
                long.starts_with(&reject.raw),
                "{rule}: the bytes kept are the start of the row"
            );
            assert!(
                out.rejects[1].complete && out.rejects[1].raw == f.malformed,
                "{rule}: the row after it is rejected whole"
            );
            assert_eq!(
                out.rows(),
                f.row_count + 2,
                "{rule}: the rest of the item goes on"
            );
        }
    }

    fn replay(&self, reference: &[RecordBatch]) {
        let f = self.fixture;
        let lines: Vec<&[u8]> = f
            .row_lines()
            .into_iter()
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .collect();
        if lines.len() as u64 != f.row_count {
            return; // Rows span lines: no line-to-row map to replay by.
        }
        for (i, line) in lines.iter().enumerate() {
            let input = [&f.header[..], line].concat();
            let rule = format!(
                "row {} replayed behind the header lines decodes alone",
                i + 1
            );
            let out = self.decode(&input, input.len(), &rule);
            assert_eq!(out.rejects.len(), 0, "{rule}: not rejected");
            assert_rows_eq(&rows(&out), &reference[i..=i], &rule);
        }
    }
}

/// Every decoded row as its own one-row batch (zero-copy), in order.
fn rows(out: &Decoded) -> Vec<RecordBatch> {
    out.batches
        .iter()
        .flat_map(|b| (0..b.num_rows()).map(move |i| b.slice(i, 1)))
        .collect()
}

#[track_caller]
fn assert_rows_eq(got: &[RecordBatch], expected: &[RecordBatch], rule: &str) {
    assert_eq!(
        got.len(),
        expected.len(),
        "{rule}: {} rows, expected {}",
        got.len(),
        expected.len()
    );
    if let Some(i) = (0..got.len()).find(|i| got[*i] != expected[*i]) {
        panic!(
            "{rule}: row {} differs:\n got {:?}\n expected {:?}",
            i + 1,
            got[i],
            expected[i]
        );
    }
}
