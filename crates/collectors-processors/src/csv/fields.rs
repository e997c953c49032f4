//! A small CSV field scanner: enough to count and split the fields of one line the way
//! arrow-csv (csv-core) will read them, double quotes included.
//!
//! Rules (those of csv-core with its defaults): a field that starts with `"` is quoted, `""`
//! inside it is one `"`, and the closing `"` may be followed by more unquoted bytes; a `"`
//! anywhere else is an ordinary byte. A line whose last quoted field is not closed is an
//! error: a quoted field cannot contain a line break here, because lines are split first.

/// A line ended inside a quoted field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnterminatedQuote;

const QUOTE: u8 = b'"';

/// Receives the scanner's output.
trait FieldSink {
    /// One byte of the current field's value.
    fn byte(&mut self, byte: u8);
    /// The current field ended.
    fn end_field(&mut self);
}

#[derive(Clone, Copy)]
enum State {
    StartField,
    InField,
    InQuotes,
    QuoteInQuotes,
}

fn scan(line: &[u8], delimiter: u8, sink: &mut impl FieldSink) -> Result<(), UnterminatedQuote> {
    let mut state = State::StartField;
    for &b in line {
        state = match state {
            State::StartField if b == QUOTE => State::InQuotes,
            State::StartField | State::InField | State::QuoteInQuotes if b == delimiter => {
                sink.end_field();
                State::StartField
            }
            State::StartField | State::InField => {
                sink.byte(b);
                State::InField
            }
            State::InQuotes if b == QUOTE => State::QuoteInQuotes,
            State::InQuotes => {
                sink.byte(b);
                State::InQuotes
            }
            State::QuoteInQuotes if b == QUOTE => {
                sink.byte(QUOTE);
                State::InQuotes
            }
            State::QuoteInQuotes => {
                sink.byte(b);
                State::InField
            }
        };
    }
    if matches!(state, State::InQuotes) {
        return Err(UnterminatedQuote);
    }
    sink.end_field();
    Ok(())
}

/// The number of fields of `line`.
pub(crate) fn count_fields(line: &[u8], delimiter: u8) -> Result<usize, UnterminatedQuote> {
    if memchr::memchr(QUOTE, line).is_none() {
        // No quote, no quoted delimiter: every delimiter ends a field (the common case,
        // counted with SIMD instead of the byte-by-byte scan).
        return Ok(memchr::memchr_iter(delimiter, line).count() + 1);
    }
    struct Count(usize);
    impl FieldSink for Count {
        fn byte(&mut self, _: u8) {}
        fn end_field(&mut self) {
            self.0 += 1;
        }
    }
    let mut count = Count(0);
    scan(line, delimiter, &mut count)?;
    Ok(count.0)
}

/// Calls `visit` with the index and unquoted value of each field of `line`, reusing
/// `scratch` for the values (no allocation per field).
pub(crate) fn visit_fields(
    line: &[u8],
    delimiter: u8,
    scratch: &mut Vec<u8>,
    visit: impl FnMut(usize, &[u8]),
) -> Result<(), UnterminatedQuote> {
    struct Visit<'s, F> {
        scratch: &'s mut Vec<u8>,
        index: usize,
        visit: F,
    }
    impl<F: FnMut(usize, &[u8])> FieldSink for Visit<'_, F> {
        fn byte(&mut self, byte: u8) {
            self.scratch.push(byte);
        }
        fn end_field(&mut self) {
            (self.visit)(self.index, self.scratch);
            self.scratch.clear();
            self.index += 1;
        }
    }
    scratch.clear();
    scan(
        line,
        delimiter,
        &mut Visit {
            scratch,
            index: 0,
            visit,
        },
    )
}

/// The unquoted values of the fields of `line`.
pub(crate) fn split_fields(line: &[u8], delimiter: u8) -> Result<Vec<Vec<u8>>, UnterminatedQuote> {
    #[derive(Default)]
    struct Split {
        fields: Vec<Vec<u8>>,
        current: Vec<u8>,
    }
    impl FieldSink for Split {
        fn byte(&mut self, byte: u8) {
            self.current.push(byte);
        }
        fn end_field(&mut self) {
            self.fields.push(std::mem::take(&mut self.current));
        }
    }
    let mut split = Split::default();
    scan(line, delimiter, &mut split)?;
    Ok(split.fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Result<Vec<String>, UnterminatedQuote> {
        split_fields(line.as_bytes(), b',').map(|fields| {
            fields
                .into_iter()
                .map(|f| String::from_utf8(f).unwrap())
                .collect()
        })
    }

    #[test]
    fn quotes_follow_csv_core_rules() {
        assert_eq!(split("a,b,c").unwrap(), ["a", "b", "c"]);
        assert_eq!(split(r#""a,b",c"#).unwrap(), ["a,b", "c"]);
        assert_eq!(split(r#""say ""hi""",x"#).unwrap(), [r#"say "hi""#, "x"]);
        assert_eq!(split(r#"ab"c,d"#).unwrap(), [r#"ab"c"#, "d"]);
        assert_eq!(split(r#""ab"c,d"#).unwrap(), ["abc", "d"]);
        assert_eq!(split(",,").unwrap(), ["", "", ""]);
        assert_eq!(split(r#""""#).unwrap(), [""]);
        assert_eq!(split(r#"a,"open"#), Err(UnterminatedQuote));
    }

    #[test]
    fn counting_agrees_with_splitting() {
        for line in ["a", "a,b", r#""x,y",z,"#, r#"1,"2""3",4"#] {
            assert_eq!(
                count_fields(line.as_bytes(), b','),
                split(line).map(|f| f.len())
            );
        }
        assert_eq!(count_fields(b"a;b;c", b';'), Ok(3));
        let mut seen = Vec::new();
        visit_fields(b"x,\"y,z\",\"\"", b',', &mut Vec::new(), |i, v| {
            seen.push((i, String::from_utf8(v.to_vec()).unwrap()))
        })
        .unwrap();
        assert_eq!(
            seen,
            [(0, "x".into()), (1, "y,z".into()), (2, String::new())]
        );
        assert_eq!(count_fields(b"a\tb", b'\t'), Ok(2));
    }
}
