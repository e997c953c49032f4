//! [`TableEncoder`]: record batches into Parquet or CSV bytes, handed out as they are made
//! so that a file of any size is written with bounded memory.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use collectors_core::{Error, Result};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::format::ExportFormat;

/// Rows per Parquet row group: what the writer holds in memory before it writes them out.
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// Encodes batches of one schema; [`push`](Self::push) returns the bytes ready to be written.
pub(crate) enum TableEncoder {
    Parquet(Box<ArrowWriter<Vec<u8>>>),
    Csv {
        schema: SchemaRef,
        header_done: bool,
    },
}

fn encoding(e: impl std::fmt::Display) -> Error {
    Error::invalid_state(format!("encoding the rows: {e}"))
}

impl TableEncoder {
    pub(crate) fn new(format: ExportFormat, schema: SchemaRef) -> Result<Self> {
        match format {
            ExportFormat::Parquet => {
                let properties = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                    .build();
                let writer = ArrowWriter::try_new(Vec::new(), schema, Some(properties))
                    .map_err(|e| encoding(&e).with_source(e))?;
                Ok(Self::Parquet(Box::new(writer)))
            }
            ExportFormat::Csv => Ok(Self::Csv {
                schema,
                header_done: false,
            }),
        }
    }

    /// Encodes `batch`; returns the bytes the encoder has finished (a Parquet writer keeps
    /// the current row group until it is full).
    pub(crate) fn push(&mut self, batch: &RecordBatch) -> Result<Vec<u8>> {
        match self {
            Self::Parquet(writer) => {
                writer
                    .write(batch)
                    .map_err(|e| encoding(&e).with_source(e))?;
                // Only the bytes the writer has passed down (its offsets count them itself).
                Ok(std::mem::take(writer.inner_mut()))
            }
            Self::Csv { header_done, .. } => {
                let batch = utc_as_offset(batch)?;
                let batch = &batch;
                let mut out = Vec::new();
                let mut writer = arrow_csv::WriterBuilder::new()
                    .with_header(!*header_done)
                    .build(&mut out);
                writer
                    .write(batch)
                    .map_err(|e| encoding(&e).with_source(e))?;
                drop(writer);
                *header_done = true;
                Ok(out)
            }
        }
    }

    /// The last bytes: the rest of the Parquet file and its footer, or the CSV header of a
    /// result without rows.
    pub(crate) fn finish(self) -> Result<Vec<u8>> {
        match self {
            Self::Parquet(writer) => writer.into_inner().map_err(|e| encoding(&e).with_source(e)),
            Self::Csv {
                schema,
                header_done,
            } => {
                if header_done {
                    return Ok(Vec::new());
                }
                let mut encoder = Self::Csv {
                    schema: schema.clone(),
                    header_done: false,
                };
                encoder.push(&RecordBatch::new_empty(schema))
            }
        }
    }
}

/// The batch with its UTC timestamps labelled `+00:00`: the CSV writer formats offsets
/// without a time-zone database, and prints them as `…Z`.
fn utc_as_offset(batch: &RecordBatch) -> Result<RecordBatch> {
    let utc = |t: &DataType| matches!(t, DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if tz.as_ref() == "UTC");
    if !batch.schema().fields().iter().any(|f| utc(f.data_type())) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if utc(field.data_type()) {
            let relabelled = column
                .as_primitive::<TimestampMicrosecondType>()
                .clone()
                .with_timezone("+00:00");
            fields.push(Field::new(
                field.name(),
                relabelled.data_type().clone(),
                field.is_nullable(),
            ));
            columns.push(Arc::new(relabelled));
        } else {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| encoding(&e).with_source(e))
}
