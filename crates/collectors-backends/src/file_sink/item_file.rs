//! [`ItemFileWriter`]: the records of one source item streamed into one file, in their
//! order: a Parquet file whose row groups are the records' batches, or JSON-lines sections.
//!
//! - **Parquet** (layout version 2): the rows are plain Parquet rows (one schema for the whole
//!   item; each record is flushed as its own row group, so memory holds one batch at a time).
//!   The file's key-value metadata holds `collectors.version = "2"` and, written when the
//!   file is closed, `collectors.item` (the item's source, id and version, as JSON) and
//!   `collectors.records`: one entry per record, in row-group order, with its key, metadata,
//!   created_at, rows and the number of row groups it took.
//! - **JSON lines**: one section per record, each exactly the single-record layout of
//!   [`super::jsonl`] (a header line, then its rows), one after another. No item stamp.
//! - **CSV**: one header row, then every record's rows; the index, schema and item stamp go
//!   to the sidecar index that [`finish`](ItemFileWriter::finish) hands back (see
//!   [`super::csv_file`]).

use std::fs::File;
use std::io::{BufWriter, Write};

use chrono::{DateTime, Utc};
use collectors_core::{Error, Metadata, Record, Result};
use serde::{Deserialize, Serialize};

use super::format::FileFormat;

/// One record of an item file, as its index lists it (Parquet) or its section header says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IndexEntry {
    pub(crate) key: String,
    #[serde(default)]
    pub(crate) metadata: Metadata,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) rows: u64,
    /// Row groups the record took (Parquet; 0 for an empty batch).
    #[serde(default)]
    pub(crate) row_groups: usize,
}

impl IndexEntry {
    /// The entry of `record`, which took `row_groups` row groups.
    pub(crate) fn of(record: &Record, row_groups: usize) -> Self {
        Self {
            key: record.key.clone(),
            metadata: record.metadata.clone(),
            created_at: record.created_at,
            rows: record.payload.num_rows().unwrap_or(0) as u64,
            row_groups,
        }
    }

    /// The record this entry describes, with the rows read back for it.
    pub(crate) fn record(&self, rows: arrow_array::RecordBatch) -> Record {
        Record {
            key: self.key.clone(),
            payload: collectors_core::Payload::Table(rows),
            metadata: self.metadata.clone(),
            created_at: self.created_at,
        }
    }
}

/// The item an item file holds, in its key-value metadata (Parquet) or its index (CSV).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ItemStamp {
    pub(crate) source_id: String,
    pub(crate) item_id: String,
    pub(crate) version: String,
}

impl ItemStamp {
    /// The stamp of a file that names no item (a record stored on its own, or JSON lines).
    pub(crate) fn unknown() -> Self {
        Self {
            source_id: String::new(),
            item_id: String::new(),
            version: String::new(),
        }
    }
}

/// Streams the records of one item into `file`; [`finish`](Self::finish) completes it.
pub(crate) struct ItemFileWriter {
    inner: Inner,
    index: Vec<IndexEntry>,
    /// The columns every record must have (Parquet: one schema per file).
    schema: Option<arrow_schema::SchemaRef>,
}

/// A completed item file: flushed, not yet synced, and its sidecar index (CSV).
pub(crate) struct Finished {
    pub(crate) file: File,
    pub(crate) sidecar: Option<Vec<u8>>,
}

enum Inner {
    Jsonl(BufWriter<File>),
    Csv(Box<arrow_csv::Writer<BufWriter<File>>>),
    #[cfg(feature = "parquet")]
    Parquet {
        /// Opened with the first record's schema.
        file: Option<File>,
        writer: Option<Box<parquet::arrow::ArrowWriter<File>>>,
    },
}

impl ItemFileWriter {
    pub(crate) fn new(format: FileFormat, file: File) -> Result<Self> {
        let inner = match format {
            FileFormat::Jsonl => Inner::Jsonl(BufWriter::with_capacity(256 * 1024, file)),
            FileFormat::Csv => Inner::Csv(Box::new(super::csv_file::writer(
                BufWriter::with_capacity(256 * 1024, file),
            ))),
            FileFormat::Parquet => {
                #[cfg(feature = "parquet")]
                {
                    Inner::Parquet {
                        file: Some(file),
                        writer: None,
                    }
                }
                #[cfg(not(feature = "parquet"))]
                {
                    drop(file);
                    return Err(Error::configuration(
                        "the Parquet format needs collectors-backends built with the `parquet` feature",
                    ));
                }
            }
        };
        Ok(Self {
            inner,
            index: Vec::new(),
            schema: None,
        })
    }

    /// Records written so far.
    pub(crate) fn records(&self) -> usize {
        self.index.len()
    }

    /// Checks that `record` fits this file (its schema is the item's), before anything of
    /// its batch is written.
    pub(crate) fn check(&self, record: &Record) -> Result<()> {
        if !matches!(self.inner, Inner::Jsonl(_))
            && let (Some(schema), collectors_core::Payload::Table(batch)) =
                (&self.schema, &record.payload)
            && schema.fields() != batch.schema_ref().fields()
        {
            return Err(Error::validation(format!(
                "record {:?}: its columns {:?} differ from the columns {:?} of the item's earlier \
                 batches, and one Parquet or CSV file holds one schema",
                record.key,
                field_names(batch.schema_ref()),
                field_names(schema)
            )));
        }
        Ok(())
    }

    /// Appends one checked record (see [`super::codec::check`] and [`check`](Self::check)).
    pub(crate) fn append(&mut self, record: &Record) -> Result<()> {
        self.check(record)?;
        let row_groups = match &mut self.inner {
            Inner::Jsonl(out) => {
                let bytes = super::jsonl::encode(record)?;
                out.write_all(&bytes).map_err(|e| {
                    Error::storage(format!("writing the item file: {e}")).with_source(e)
                })?;
                0
            }
            Inner::Csv(writer) => {
                let collectors_core::Payload::Table(batch) = &record.payload else {
                    return Err(Error::invalid_state("checked to be a table"));
                };
                super::csv_file::write_rows(writer, record, batch)?;
                self.schema.get_or_insert_with(|| batch.schema());
                0
            }
            #[cfg(feature = "parquet")]
            Inner::Parquet { file, writer } => {
                let collectors_core::Payload::Table(batch) = &record.payload else {
                    return Err(Error::invalid_state("checked to be a table"));
                };
                if writer.is_none() {
                    let file = file
                        .take()
                        .ok_or_else(|| Error::invalid_state("the item file is gone"))?;
                    *writer = Some(Box::new(super::parquet_file::item_writer(
                        file,
                        batch.schema(),
                    )?));
                    self.schema = Some(batch.schema());
                }
                let Some(writer) = writer.as_mut() else {
                    return Err(Error::invalid_state("the item file is gone"));
                };
                let before = writer.flushed_row_groups().len();
                let invalid = |e: parquet::errors::ParquetError| {
                    Error::storage(format!("record {:?}: writing Parquet: {e}", record.key))
                        .with_source(e)
                };
                writer.write(batch).map_err(invalid)?;
                writer.flush().map_err(invalid)?;
                writer.flushed_row_groups().len() - before
            }
        };
        self.index.push(IndexEntry::of(record, row_groups));
        Ok(())
    }

    /// Completes the file (the Parquet footer with the index and the item's stamp; the CSV
    /// sidecar index) and hands it back, flushed but not yet synced. `None` when no record
    /// was written: nothing to publish.
    pub(crate) fn finish(self, stamp: &ItemStamp) -> Result<Option<Finished>> {
        if self.index.is_empty() {
            return Ok(None);
        }
        let failed = |e: std::io::Error| {
            Error::storage(format!("finishing the item file: {e}")).with_source(e)
        };
        match self.inner {
            Inner::Jsonl(out) => {
                let _ = stamp; // JSON lines keep no item stamp.
                let file = out.into_inner().map_err(|e| failed(e.into_error()))?;
                Ok(Some(Finished {
                    file,
                    sidecar: None,
                }))
            }
            Inner::Csv(writer) => {
                let file = writer
                    .into_inner()
                    .into_inner()
                    .map_err(|e| failed(e.into_error()))?;
                let data_bytes = file.metadata().map_err(failed)?.len();
                let Some(schema) = self.schema else {
                    return Err(Error::invalid_state("records but no CSV schema"));
                };
                let sidecar = super::csv_file::Sidecar::new(
                    data_bytes,
                    Some(stamp.clone()),
                    &schema,
                    self.index,
                );
                Ok(Some(Finished {
                    file,
                    sidecar: Some(sidecar.to_bytes()?),
                }))
            }
            #[cfg(feature = "parquet")]
            Inner::Parquet { writer, .. } => {
                let Some(writer) = writer else {
                    return Err(Error::invalid_state("records but no Parquet writer"));
                };
                let file = super::parquet_file::finish_item_writer(*writer, &self.index, stamp)?;
                Ok(Some(Finished {
                    file,
                    sidecar: None,
                }))
            }
        }
    }
}

fn field_names(schema: &arrow_schema::Schema) -> Vec<&str> {
    schema.fields().iter().map(|f| f.name().as_str()).collect()
}
