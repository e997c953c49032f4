//! The Parquet layout: the table as the file's rows, the rest of the record in the file's
//! key-value metadata (`collectors.key`, `collectors.metadata` as JSON, `collectors.created_at`
//! in RFC 3339, `collectors.version`). The Arrow writer also embeds the Arrow schema, so
//! types Parquet lacks (time zones, second timestamps) come back exactly.

use std::path::Path;

use arrow_schema::Schema;
use chrono::{DateTime, SecondsFormat, Utc};
use collectors_core::{Error, Metadata, Payload, PayloadKind, Record, Result};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::ChunkReader;

use super::codec::{Header, corrupt, kind_name};

/// The prefix of our key-value metadata entries (kept out of the schema read back).
const PREFIX: &str = "collectors.";
const KEY: &str = "collectors.key";
const METADATA: &str = "collectors.metadata";
const CREATED_AT: &str = "collectors.created_at";
const VERSION_KEY: &str = "collectors.version";
const VERSION: &str = "1";
/// Rows decoded per batch when reading a file back; the batches are then concatenated.
const MAX_BATCH_ROWS: usize = 64 * 1024;

/// Only tables, whose schema metadata does not use our prefix.
pub(crate) fn check(record: &Record) -> Result<()> {
    let Payload::Table(batch) = &record.payload else {
        return Err(Error::validation(format!(
            "record {:?}: the Parquet format holds table payloads only, not {}",
            record.key,
            kind_name(record.payload.kind())
        )));
    };
    if let Some(reserved) = batch
        .schema_ref()
        .metadata()
        .keys()
        .find(|k| k.starts_with(PREFIX))
    {
        return Err(Error::validation(format!(
            "record {:?}: schema metadata key {reserved:?} is reserved (`{PREFIX}*`)",
            record.key
        )));
    }
    Ok(())
}

pub(crate) fn encode(record: &Record) -> Result<Vec<u8>> {
    check(record)?;
    let Payload::Table(batch) = &record.payload else {
        return Err(Error::invalid_state("checked to be a table"));
    };
    let invalid = |what: &str, e: parquet::errors::ParquetError| {
        Error::validation(format!("record {:?}: {what}: {e}", record.key)).with_source(e)
    };
    let metadata = serde_json::to_string(&record.metadata).map_err(|e| {
        Error::validation(format!("record {:?}: metadata: {e}", record.key)).with_source(e)
    })?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_key_value_metadata(Some(vec![
            KeyValue::new(VERSION_KEY.to_owned(), VERSION.to_owned()),
            KeyValue::new(KEY.to_owned(), record.key.clone()),
            KeyValue::new(METADATA.to_owned(), metadata),
            KeyValue::new(
                CREATED_AT.to_owned(),
                record
                    .created_at
                    .to_rfc3339_opts(SecondsFormat::AutoSi, true),
            ),
        ]))
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(properties))
        .map_err(|e| invalid("the schema cannot be written as Parquet", e))?;
    writer
        .write(batch)
        .map_err(|e| invalid("the rows cannot be written as Parquet", e))?;
    writer
        .into_inner()
        .map_err(|e| invalid("finishing the Parquet file", e))
}

pub(crate) fn read_header<R: ChunkReader + 'static>(file: R, path: &Path) -> Result<Header> {
    let builder = open(file, path)?;
    header_of(&builder, path)
}

pub(crate) fn read_record<R: ChunkReader + 'static>(file: R, path: &Path) -> Result<Record> {
    let builder = open(file, path)?;
    let header = header_of(&builder, path)?;
    let unreadable = |e: parquet::errors::ParquetError| {
        corrupt(path, format!("unreadable rows: {e}")).with_source(e)
    };
    let rows = usize::try_from(builder.metadata().file_metadata().num_rows())
        .map_err(|_| corrupt(path, "a negative row count"))?;
    let schema = schema_without_ours(builder.schema());
    // The count comes from the file's footer: it must not size an allocation by itself.
    let reader = builder
        .with_batch_size(rows.clamp(1, MAX_BATCH_ROWS))
        .build()
        .map_err(unreadable)?;
    let mut batches = Vec::with_capacity(1);
    for batch in reader {
        let batch =
            batch.map_err(|e| corrupt(path, format!("unreadable rows: {e}")).with_source(e))?;
        batches.push(batch);
    }
    let batch = arrow_select::concat::concat_batches(&schema, &batches)
        .map_err(|e| corrupt(path, format!("unreadable rows: {e}")).with_source(e))?;
    Ok(Record {
        key: header.key,
        payload: Payload::Table(batch),
        metadata: header.metadata,
        created_at: header.created_at,
    })
}

fn open<R: ChunkReader + 'static>(
    file: R,
    path: &Path,
) -> Result<ParquetRecordBatchReaderBuilder<R>> {
    ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| corrupt(path, format!("not a readable Parquet file: {e}")).with_source(e))
}

fn header_of<R: ChunkReader + 'static>(
    builder: &ParquetRecordBatchReaderBuilder<R>,
    path: &Path,
) -> Result<Header> {
    let entries = builder.metadata().file_metadata().key_value_metadata();
    let get = |name: &str| {
        entries
            .and_then(|kv| kv.iter().find(|e| e.key == name))
            .and_then(|e| e.value.as_deref())
            .ok_or_else(|| corrupt(path, format!("no {name:?} in the file metadata")))
    };
    let version = get(VERSION_KEY)?;
    if version != VERSION {
        return Err(corrupt(
            path,
            format!("layout version {version} (this build reads {VERSION})"),
        ));
    }
    let metadata: Metadata = serde_json::from_str(get(METADATA)?)
        .map_err(|e| corrupt(path, format!("unreadable metadata: {e}")).with_source(e))?;
    let created_at = get(CREATED_AT)?;
    let created_at = DateTime::parse_from_rfc3339(created_at)
        .map_err(|e| corrupt(path, format!("unreadable created_at {created_at:?}: {e}")))?
        .with_timezone(&Utc);
    Ok(Header {
        key: get(KEY)?.to_owned(),
        kind: PayloadKind::Table,
        metadata,
        created_at,
    })
}

/// The Arrow reader merges the file's key-value metadata into the schema's: take ours out,
/// so the batch has the schema it was written with.
fn schema_without_ours(schema: &Schema) -> std::sync::Arc<Schema> {
    let metadata: std::collections::HashMap<String, String> = schema
        .metadata()
        .iter()
        .filter(|(k, _)| !k.starts_with(PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    std::sync::Arc::new(Schema::new_with_metadata(schema.fields().clone(), metadata))
}
