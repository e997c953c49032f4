//! Rows of a result into Arrow record batches, column by column.

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BinaryBuilder, BooleanBuilder, Date32Builder, Float32Builder, Float64Builder,
    Int16Builder, Int32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use collectors_core::{Error, Result};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::columns::{ColumnKind, ExportColumn};

/// One growing column.
enum Builder {
    Boolean(BooleanBuilder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Text(StringBuilder),
    Binary(BinaryBuilder),
    Timestamp(TimestampMicrosecondBuilder, bool),
    Date(Date32Builder),
}

impl Builder {
    fn new(kind: ColumnKind, capacity: usize) -> Self {
        match kind {
            ColumnKind::Boolean => Self::Boolean(BooleanBuilder::with_capacity(capacity)),
            ColumnKind::Int16 => Self::Int16(Int16Builder::with_capacity(capacity)),
            ColumnKind::Int32 => Self::Int32(Int32Builder::with_capacity(capacity)),
            ColumnKind::Int64 => Self::Int64(Int64Builder::with_capacity(capacity)),
            ColumnKind::Float32 => Self::Float32(Float32Builder::with_capacity(capacity)),
            ColumnKind::Float64 => Self::Float64(Float64Builder::with_capacity(capacity)),
            ColumnKind::Text => Self::Text(StringBuilder::with_capacity(capacity, capacity * 16)),
            ColumnKind::Binary => Self::Binary(BinaryBuilder::with_capacity(capacity, capacity)),
            ColumnKind::TimestampUtc => {
                Self::Timestamp(TimestampMicrosecondBuilder::with_capacity(capacity), true)
            }
            ColumnKind::Timestamp => {
                Self::Timestamp(TimestampMicrosecondBuilder::with_capacity(capacity), false)
            }
            ColumnKind::Date => Self::Date(Date32Builder::with_capacity(capacity)),
        }
    }

    fn push(&mut self, row: &PgRow, i: usize) -> std::result::Result<(), sqlx::Error> {
        match self {
            Self::Boolean(b) => b.append_option(row.try_get::<Option<bool>, _>(i)?),
            Self::Int16(b) => b.append_option(row.try_get::<Option<i16>, _>(i)?),
            Self::Int32(b) => b.append_option(row.try_get::<Option<i32>, _>(i)?),
            Self::Int64(b) => b.append_option(row.try_get::<Option<i64>, _>(i)?),
            Self::Float32(b) => b.append_option(row.try_get::<Option<f32>, _>(i)?),
            Self::Float64(b) => b.append_option(row.try_get::<Option<f64>, _>(i)?),
            Self::Text(b) => b.append_option(row.try_get::<Option<&str>, _>(i)?),
            Self::Binary(b) => b.append_option(row.try_get::<Option<&[u8]>, _>(i)?),
            Self::Timestamp(b, _) => b.append_option(row.try_get::<Option<i64>, _>(i)?),
            Self::Date(b) => b.append_option(row.try_get::<Option<i32>, _>(i)?),
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Boolean(b) => Arc::new(b.finish()),
            Self::Int16(b) => Arc::new(b.finish()),
            Self::Int32(b) => Arc::new(b.finish()),
            Self::Int64(b) => Arc::new(b.finish()),
            Self::Float32(b) => Arc::new(b.finish()),
            Self::Float64(b) => Arc::new(b.finish()),
            Self::Text(b) => Arc::new(b.finish()),
            Self::Binary(b) => Arc::new(b.finish()),
            Self::Timestamp(b, true) => Arc::new(b.finish().with_timezone("UTC")),
            Self::Timestamp(b, false) => Arc::new(b.finish()),
            Self::Date(b) => Arc::new(b.finish()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Boolean(b) => b.len(),
            Self::Int16(b) => b.len(),
            Self::Int32(b) => b.len(),
            Self::Int64(b) => b.len(),
            Self::Float32(b) => b.len(),
            Self::Float64(b) => b.len(),
            Self::Text(b) => b.len(),
            Self::Binary(b) => b.len(),
            Self::Timestamp(b, _) => b.len(),
            Self::Date(b) => b.len(),
        }
    }
}

/// Collects rows into record batches of at most `batch_rows` rows.
pub(crate) struct BatchBuilder {
    schema: SchemaRef,
    kinds: Vec<ColumnKind>,
    builders: Vec<Builder>,
    batch_rows: usize,
}

impl BatchBuilder {
    pub(crate) fn new(columns: &[ExportColumn], schema: SchemaRef, batch_rows: usize) -> Self {
        let kinds: Vec<ColumnKind> = columns.iter().map(|c| c.kind).collect();
        let batch_rows = batch_rows.max(1);
        let builders = kinds.iter().map(|k| Builder::new(*k, batch_rows)).collect();
        Self {
            schema,
            kinds,
            builders,
            batch_rows,
        }
    }

    /// Adds one row; returns a full batch when this row completed one.
    pub(crate) fn push(&mut self, row: &PgRow) -> Result<Option<RecordBatch>> {
        for (i, builder) in self.builders.iter_mut().enumerate() {
            builder.push(row, i).map_err(|e| {
                Error::data_fetch(format!("decoding column {} of a row: {e}", i + 1)).with_source(e)
            })?;
        }
        if self.rows() >= self.batch_rows {
            return self.finish().map(Some);
        }
        Ok(None)
    }

    /// Rows waiting in the builders.
    pub(crate) fn rows(&self) -> usize {
        self.builders.first().map_or(0, Builder::len)
    }

    /// The rows collected so far as one batch (possibly empty), and fresh builders.
    pub(crate) fn finish(&mut self) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        self.builders = self
            .kinds
            .iter()
            .map(|k| Builder::new(*k, self.batch_rows))
            .collect();
        RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| {
            Error::invalid_state(format!("assembling a record batch: {e}")).with_source(e)
        })
    }
}
