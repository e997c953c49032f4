//! The Parquet layouts. Version 1, one record per file: the table as the file's rows, the
//! rest of the record in the file's key-value metadata (`collectors.key`,
//! `collectors.metadata` as JSON, `collectors.created_at` in RFC 3339,
//! `collectors.version`). Version 2, one source item per file: its records' batches as row
//! groups, and their keys, metadata and row groups in `collectors.records` (see
//! [`super::item_file`]). The Arrow writer also embeds the Arrow schema, so types Parquet
//! lacks (time zones, second timestamps) come back exactly.

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
use super::item_file::{IndexEntry, ItemStamp};

/// The prefix of our key-value metadata entries (kept out of the schema read back).
const PREFIX: &str = "collectors.";
const KEY: &str = "collectors.key";
const METADATA: &str = "collectors.metadata";
const CREATED_AT: &str = "collectors.created_at";
const VERSION_KEY: &str = "collectors.version";
const VERSION: &str = "1";
const ITEM_VERSION: &str = "2";
const ITEM: &str = "collectors.item";
const RECORDS: &str = "collectors.records";
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

/// A Parquet writer for one item's records into `file` (see [`super::item_file`]).
pub(crate) fn item_writer(
    file: std::fs::File,
    schema: arrow_schema::SchemaRef,
) -> Result<ArrowWriter<std::fs::File>> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        // One record, one row group: never split a batch.
        .set_max_row_group_row_count(None)
        .set_max_row_group_bytes(None)
        .set_key_value_metadata(Some(vec![KeyValue::new(
            VERSION_KEY.to_owned(),
            ITEM_VERSION.to_owned(),
        )]));
    let properties = dictionary_for_text_only(properties, &schema).build();
    ArrowWriter::try_new(file, schema, Some(properties)).map_err(|e| {
        Error::validation(format!("the schema cannot be written as Parquet: {e}")).with_source(e)
    })
}

/// Dictionary encoding for text columns only. Repeated strings (ids, statuses) are what it
/// is for; numbers and timestamps are mostly distinct, so a dictionary of them costs a hash
/// of every value and is then dropped or kept larger than the plain page.
fn dictionary_for_text_only(
    properties: parquet::file::properties::WriterPropertiesBuilder,
    schema: &arrow_schema::Schema,
) -> parquet::file::properties::WriterPropertiesBuilder {
    use arrow_schema::DataType;
    schema
        .fields()
        .iter()
        .fold(properties, |properties, field| {
            let text = matches!(
                field.data_type(),
                DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Utf8View
                    | DataType::Binary
                    | DataType::LargeBinary
                    | DataType::BinaryView
                    | DataType::Dictionary(..)
            );
            if text {
                properties
            } else {
                let path = parquet::schema::types::ColumnPath::from(field.name().as_str());
                properties.set_column_dictionary_enabled(path, false)
            }
        })
}

/// Writes the index and the footer; the file is flushed, not synced.
pub(crate) fn finish_item_writer(
    mut writer: ArrowWriter<std::fs::File>,
    index: &[IndexEntry],
    stamp: &ItemStamp,
) -> Result<std::fs::File> {
    let stamp = serde_json::to_string(stamp)
        .map_err(|e| Error::validation(format!("item stamp: {e}")).with_source(e))?;
    writer.append_key_value_metadata(KeyValue::new(ITEM.to_owned(), stamp));
    let index = serde_json::to_string(index)
        .map_err(|e| Error::validation(format!("record index: {e}")).with_source(e))?;
    writer.append_key_value_metadata(KeyValue::new(RECORDS.to_owned(), index));
    writer
        .into_inner()
        .map_err(|e| Error::storage(format!("finishing the Parquet file: {e}")).with_source(e))
}

/// The records of a Parquet file of either layout, in order, without their rows.
pub(crate) fn read_index<R: ChunkReader + 'static>(
    file: R,
    path: &Path,
) -> Result<Vec<IndexEntry>> {
    let builder = open(file, path)?;
    index_of(&builder, path)
}

fn kv<'a, R: ChunkReader + 'static>(
    builder: &'a ParquetRecordBatchReaderBuilder<R>,
    name: &str,
) -> Option<&'a str> {
    builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|e| e.key == name))
        .and_then(|e| e.value.as_deref())
}

fn index_of<R: ChunkReader + 'static>(
    builder: &ParquetRecordBatchReaderBuilder<R>,
    path: &Path,
) -> Result<Vec<IndexEntry>> {
    if kv(builder, VERSION_KEY) != Some(ITEM_VERSION) {
        let header = header_of(builder, path)?;
        let rows = u64::try_from(builder.metadata().file_metadata().num_rows())
            .map_err(|_| corrupt(path, "a negative row count"))?;
        return Ok(vec![IndexEntry {
            key: header.key,
            metadata: header.metadata,
            created_at: header.created_at,
            rows,
            row_groups: builder.metadata().num_row_groups(),
        }]);
    }
    let index = kv(builder, RECORDS)
        .ok_or_else(|| corrupt(path, "an item file without its record index"))?;
    let index: Vec<IndexEntry> = serde_json::from_str(index)
        .map_err(|e| corrupt(path, format!("unreadable record index: {e}")).with_source(e))?;
    let groups: usize = index.iter().map(|e| e.row_groups).sum();
    if groups != builder.metadata().num_row_groups() {
        return Err(corrupt(
            path,
            format!(
                "the index names {groups} row groups, the file has {}",
                builder.metadata().num_row_groups()
            ),
        ));
    }
    Ok(index)
}

/// The records at `wanted` (positions in the index, ascending) of a Parquet file of either
/// layout, each with its position. Reads only their row groups.
pub(crate) fn read_records<R: ChunkReader + 'static>(
    file: &dyn Fn() -> Result<R>,
    path: &Path,
    wanted: &[usize],
) -> Result<Vec<(usize, Record)>> {
    let builder = open(file()?, path)?;
    let index = index_of(&builder, path)?;
    if kv(&builder, VERSION_KEY) != Some(ITEM_VERSION) {
        drop(builder);
        return if wanted.contains(&0) {
            Ok(vec![(0, read_record(file()?, path)?)])
        } else {
            Ok(Vec::new())
        };
    }
    let schema = schema_without_ours(builder.schema());
    drop(builder);
    let mut starts = Vec::with_capacity(index.len());
    let mut next = 0;
    for entry in &index {
        starts.push(next);
        next += entry.row_groups;
    }
    let unreadable = |e: parquet::errors::ParquetError| {
        corrupt(path, format!("unreadable rows: {e}")).with_source(e)
    };
    let mut out = Vec::with_capacity(wanted.len());
    for &position in wanted {
        let Some(entry) = index.get(position) else {
            continue;
        };
        let groups: Vec<usize> = (starts[position]..starts[position] + entry.row_groups).collect();
        let batch =
            if groups.is_empty() {
                arrow_array::RecordBatch::new_empty(schema.clone())
            } else {
                let rows = usize::try_from(entry.rows).unwrap_or(MAX_BATCH_ROWS);
                let reader = open(file()?, path)?
                    .with_row_groups(groups)
                    .with_batch_size(rows.clamp(1, MAX_BATCH_ROWS))
                    .build()
                    .map_err(unreadable)?;
                let mut batches = Vec::with_capacity(1);
                for batch in reader {
                    batches.push(batch.map_err(|e| {
                        corrupt(path, format!("unreadable rows: {e}")).with_source(e)
                    })?);
                }
                arrow_select::concat::concat_batches(&schema, &batches)
                    .map_err(|e| corrupt(path, format!("unreadable rows: {e}")).with_source(e))?
            };
        out.push((position, entry.record(batch)));
    }
    Ok(out)
}

/// The item a Parquet item file holds; `None` for a single-record file.
pub(crate) fn read_stamp<R: ChunkReader + 'static>(
    file: R,
    path: &Path,
) -> Result<Option<ItemStamp>> {
    let builder = open(file, path)?;
    match kv(&builder, ITEM) {
        Some(stamp) => serde_json::from_str(stamp)
            .map(Some)
            .map_err(|e| corrupt(path, format!("unreadable item stamp: {e}")).with_source(e)),
        None => Ok(None),
    }
}
