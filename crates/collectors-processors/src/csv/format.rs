//! [`CsvFormat`]: what the line driver needs to know about CSV — the header, the field
//! count of each line, and how the schema is fixed.

use std::io::Cursor;
use std::sync::Arc;

use arrow_csv::reader::Format;
use arrow_schema::{Field, Schema, SchemaRef};
use collectors_core::{Error, Result};

use super::fields::count_fields;
use super::header::{self, not_csv};
use super::line_decoder::CsvLineDecoder;
use crate::lines::{LineFormat, PendingLines, bare_cr_hint};
use crate::schema::inferred_field;
use crate::values::TimestampUnit;

/// The CSV state of one item: the header once read, the expected field count.
#[derive(Debug)]
pub(super) struct CsvFormat {
    delimiter: u8,
    timestamp_unit: TimestampUnit,
    explicit: Option<SchemaRef>,
    awaiting_header: bool,
    /// For each file column, its explicit schema column (from the header).
    positions: Option<Vec<usize>>,
    /// The header's column names, once read.
    names: Option<Vec<String>>,
    /// Fields per line: from the schema, the header or the first data line.
    num_fields: Option<usize>,
}

impl CsvFormat {
    /// The state of an item that starts with a header line when `has_header`.
    pub(super) fn new(
        delimiter: u8,
        timestamp_unit: TimestampUnit,
        explicit: Option<SchemaRef>,
        has_header: bool,
    ) -> Self {
        let num_fields = explicit.as_ref().map(|s| s.fields().len());
        Self {
            delimiter,
            timestamp_unit,
            explicit,
            awaiting_header: has_header,
            positions: None,
            names: None,
            num_fields,
        }
    }

    /// Reads the header line: the column names, matched with the explicit schema by name.
    fn read_header(&mut self, number: u64, bytes: &[u8]) -> Result<()> {
        let mut names = header::read_names(number, bytes, self.delimiter)?;
        match &self.explicit {
            Some(schema) => {
                self.positions = Some(header::match_schema(&names, schema)?);
            }
            None => {
                for (i, name) in names.iter_mut().enumerate() {
                    // An unnamed column (e.g. a written index) gets arrow-csv's name for it.
                    if name.is_empty() {
                        *name = format!("column_{}", i + 1);
                    }
                }
                header::check_unique(number, &names)?;
            }
        }
        self.num_fields = Some(names.len());
        self.names = Some(names);
        self.awaiting_header = false;
        Ok(())
    }

    /// arrow-csv's inference over the pending lines (the first `infer_rows` good lines).
    fn infer(&self, pending: &PendingLines) -> Result<SchemaRef> {
        let sample = pending.bytes_of_first(pending.len());
        let format = Format::default()
            .with_header(false)
            .with_delimiter(self.delimiter)
            .with_terminator(b'\n');
        let (inferred, _) = format
            .infer_schema(Cursor::new(sample), None)
            .map_err(|e| Error::validation("cannot infer the CSV schema").with_source(e))?;
        let names: Vec<String> = match &self.names {
            Some(names) => names.clone(),
            None => (1..=inferred.fields().len())
                .map(|i| format!("column_{i}"))
                .collect(),
        };
        if names.len() != inferred.fields().len() {
            return Err(Error::processing(format!(
                "csv: inference found {} columns, the header names {}",
                inferred.fields().len(),
                names.len()
            )));
        }
        let fields: Vec<Field> = inferred
            .fields()
            .iter()
            .zip(names)
            .map(|(field, name)| inferred_field(name, field.data_type()))
            .collect();
        Ok(Arc::new(Schema::new(fields)))
    }
}

impl LineFormat for CsvFormat {
    type Decoder = CsvLineDecoder;

    /// A tab delimiter makes a line of tabs a row of empty fields.
    #[inline] // called for every line
    fn significant_whitespace(&self) -> Option<u8> {
        Some(self.delimiter)
    }

    /// An over-long header fails the item: without it no line can be read.
    fn on_too_long(
        &self,
        number: u64,
        prefix: &[u8],
        len: u64,
        max_line_bytes: usize,
    ) -> Result<()> {
        if !self.awaiting_header {
            return Ok(());
        }
        Err(not_csv(format!(
            "the header (line {number}) is {len} bytes long, over the limit of {max_line_bytes} \
             bytes{}",
            bare_cr_hint(prefix)
        )))
    }

    #[inline] // called for every line
    fn take_header(&mut self, number: u64, bytes: &[u8]) -> Result<bool> {
        if !self.awaiting_header {
            return Ok(false);
        }
        self.read_header(number, bytes)?;
        Ok(true)
    }

    /// The field count: that of the schema, the header or else the first data line.
    #[inline] // called for every line
    fn check_row(&mut self, bytes: &[u8], _inferring: bool) -> Option<String> {
        let Ok(count) = count_fields(bytes, self.delimiter) else {
            return Some(
                "wrong number of fields: a quoted field is not closed on this line \
                 (quoted fields cannot span lines)"
                    .to_owned(),
            );
        };
        let expected = *self.num_fields.get_or_insert(count);
        (count != expected)
            .then(|| format!("wrong number of fields: expected {expected}, found {count}"))
    }

    fn start_decoding(&mut self, pending: &mut PendingLines) -> Result<CsvLineDecoder> {
        let schema = match &self.explicit {
            Some(schema) => schema.clone(),
            None => self.infer(pending)?,
        };
        tracing::debug!(schema = %schema_summary(&schema), "csv: schema fixed");
        Ok(CsvLineDecoder::new(
            schema,
            self.positions.as_deref(),
            self.delimiter,
            self.timestamp_unit,
        ))
    }
}

/// `name: type, …` for logs.
fn schema_summary(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| format!("{}: {}", f.name(), f.data_type()))
        .collect::<Vec<_>>()
        .join(", ")
}
