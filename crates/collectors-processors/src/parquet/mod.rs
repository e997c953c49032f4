//! [`ParquetDecoder`]: Parquet files into Arrow record batches (feature `parquet`).

use std::panic::AssertUnwindSafe;

use arrow_array::RecordBatch;
use bytes::Bytes;
use collectors_core::{Decoded, Decoder, Error, ItemDecoder, Result, SourceItem};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use crate::MAX_BATCH_SIZE;

/// The largest `max_item_bytes` a [`ParquetDecoder`] accepts: 16 GiB.
pub const MAX_PARQUET_ITEM_BYTES: u64 = 16 << 30;

/// Options of the [`ParquetDecoder`]; every field has a default, unknown fields are rejected.
///
/// ```
/// use collectors_processors::ParquetOptions;
///
/// let options: ParquetOptions =
///     serde_json::from_str(r#"{"batch_size": 1000, "columns": ["ts", "value"]}"#).unwrap();
/// assert_eq!(options.max_item_bytes, 1 << 30);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ParquetOptions {
    /// The most rows in one record batch, 1 to 1 048 576. Default 8192.
    pub batch_size: usize,
    /// The largest file read, in bytes (a Parquet file is read whole: its index is at its
    /// end). 1 byte to 16 GiB; default 1 GiB. A larger item fails as a whole.
    pub max_item_bytes: u64,
    /// The columns to read, by name (top-level columns); `None`: all.
    pub columns: Option<Vec<String>>,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        Self {
            batch_size: 8192,
            max_item_bytes: 1 << 30,
            columns: None,
        }
    }
}

/// Decodes Parquet items with the `parquet` crate's Arrow reader: the schema is the file's,
/// every row group is read, and the batches hold at most
/// [`batch_size`](ParquetOptions::batch_size) rows.
///
/// A Parquet file keeps its index (the footer) at its end, so the item's bytes are gathered
/// and decoded at [`finish`](ItemDecoder::finish): memory is the file plus its decoded
/// batches, bounded by [`max_item_bytes`](ParquetOptions::max_item_bytes). Values are typed
/// in the file, so there are no rejected rows: a file that is not Parquet, is truncated, uses
/// a compression other than Snappy or none, or names an unknown column fails as a whole.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch};
/// use collectors_core::{Decoded, ItemDecoder};
/// use collectors_processors::{ParquetDecoder, ParquetOptions};
///
/// let batch = RecordBatch::try_from_iter([(
///     "value",
///     Arc::new(Float64Array::from(vec![1.5, 2.5, 3.5])) as _,
/// )])
/// .unwrap();
/// let mut file = Vec::new();
/// let mut writer = parquet::arrow::ArrowWriter::try_new(&mut file, batch.schema(), None).unwrap();
/// writer.write(&batch).unwrap();
/// writer.close().unwrap();
///
/// let decoder = ParquetDecoder::new(ParquetOptions { batch_size: 2, ..Default::default() })?;
/// let mut item = decoder.item_decoder();
/// let mut out = Decoded::default();
/// for chunk in file.chunks(7) {
///     item.feed(chunk, &mut out)?;
/// }
/// item.finish(&mut out)?;
/// assert_eq!(out.batches.len(), 2);
/// assert_eq!(out.rows(), 3);
/// # Ok::<(), collectors_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ParquetDecoder {
    options: ParquetOptions,
}

impl ParquetDecoder {
    /// A decoder, or a configuration error starting with the key when `batch_size` or
    /// `max_item_bytes` is out of bounds or a column name is empty.
    pub fn new(options: ParquetOptions) -> Result<Self> {
        if !(1..=MAX_BATCH_SIZE).contains(&options.batch_size) {
            return Err(Error::configuration(format!(
                "`batch_size` must be between 1 and {MAX_BATCH_SIZE}, got {}",
                options.batch_size
            )));
        }
        if !(1..=MAX_PARQUET_ITEM_BYTES).contains(&options.max_item_bytes) {
            return Err(Error::configuration(format!(
                "`max_item_bytes` must be between 1 and {MAX_PARQUET_ITEM_BYTES}, got {}",
                options.max_item_bytes
            )));
        }
        if options.columns.iter().flatten().any(String::is_empty) {
            return Err(Error::configuration("`columns`: names must not be empty"));
        }
        Ok(Self { options })
    }

    /// The options.
    pub fn options(&self) -> &ParquetOptions {
        &self.options
    }

    /// A decoder for one item.
    pub fn item_decoder(&self) -> ParquetItemDecoder {
        ParquetItemDecoder {
            options: self.options.clone(),
            bytes: Vec::new(),
        }
    }
}

impl Decoder for ParquetDecoder {
    fn name(&self) -> &str {
        "parquet"
    }

    fn decoder_for(&self, item: &SourceItem) -> Result<Box<dyn ItemDecoder>> {
        if let Some(size) = item.size
            && size > self.options.max_item_bytes
        {
            return Err(Error::validation(format!(
                "the Parquet file is {size} bytes, more than `max_item_bytes` ({})",
                self.options.max_item_bytes
            ))
            .with_component("parquet"));
        }
        Ok(Box::new(self.item_decoder()))
    }
}

/// Decodes one Parquet item; see [`ParquetDecoder`].
#[derive(Debug)]
pub struct ParquetItemDecoder {
    options: ParquetOptions,
    bytes: Vec<u8>,
}

fn not_parquet(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::validation(format!("not a readable Parquet file: {e}"))
        .with_component("parquet")
        .with_source(e)
}

impl ItemDecoder for ParquetItemDecoder {
    fn feed(&mut self, chunk: &[u8], _out: &mut Decoded) -> Result<()> {
        if (self.bytes.len() + chunk.len()) as u64 > self.options.max_item_bytes {
            return Err(Error::validation(format!(
                "the Parquet file is larger than `max_item_bytes` ({})",
                self.options.max_item_bytes
            ))
            .with_component("parquet"));
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    fn finish(&mut self, out: &mut Decoded) -> Result<()> {
        let bytes = Bytes::from(std::mem::take(&mut self.bytes));
        // The parquet crate panics on some malformed files (a footer with a negative column
        // offset, found by fuzzing): such a file fails as a whole, as any unreadable one.
        // The batches go to `out` only once the whole file is read.
        let mut batches = Vec::new();
        let read = std::panic::catch_unwind(AssertUnwindSafe(|| {
            read_file(bytes, &self.options, &mut batches)
        }));
        match read {
            Ok(result) => result?,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "the reader panicked".to_owned());
                return Err(
                    Error::validation(format!("not a readable Parquet file: {message}"))
                        .with_component("parquet"),
                );
            }
        }
        out.batches.append(&mut batches);
        Ok(())
    }
}

/// Reads a whole Parquet file into `batches`.
fn read_file(bytes: Bytes, options: &ParquetOptions, batches: &mut Vec<RecordBatch>) -> Result<()> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(not_parquet)?;
    // In i128: a hostile footer's counts may overflow an i64 sum (found by fuzzing too).
    let expected: i128 = builder
        .metadata()
        .row_groups()
        .iter()
        .map(|group| i128::from(group.num_rows()))
        .sum();
    let builder = match &options.columns {
        None => builder,
        Some(columns) => {
            let schema = builder.schema().clone();
            let mut indices = Vec::with_capacity(columns.len());
            for name in columns {
                let (index, _) = schema.column_with_name(name).ok_or_else(|| {
                    let names: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
                    Error::validation(format!(
                        "the Parquet file has no column {name:?} (columns: {names:?})"
                    ))
                    .with_component("parquet")
                })?;
                indices.push(index);
            }
            let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
            builder.with_projection(mask)
        }
    };
    let reader = builder
        .with_batch_size(options.batch_size)
        .build()
        .map_err(not_parquet)?;
    let mut read = 0i128;
    for batch in reader {
        let batch = batch.map_err(not_parquet)?;
        read += batch.num_rows() as i128;
        batches.push(batch);
    }
    // A corrupt file can hold fewer values than its footer says, and the reader then stops
    // early without an error: such a file fails rather than losing rows silently.
    if expected != read {
        return Err(Error::validation(format!(
            "not a readable Parquet file: its row groups hold {expected} rows, {read} could be read"
        ))
        .with_component("parquet"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `file` as one item that must fail at `finish` and emit no batch; its error.
    fn failed_item(file: &[u8]) -> Error {
        let decoder = ParquetDecoder::new(ParquetOptions::default()).unwrap();
        let mut item = decoder.item_decoder();
        let mut out = Decoded::default();
        item.feed(file, &mut out).unwrap();
        let err = item.finish(&mut out).unwrap_err();
        assert!(out.batches.is_empty(), "a failed item emits no batch");
        err
    }

    /// Found by the `parquet_decoder` fuzz target: a footer whose column chunk has a negative
    /// offset made the parquet crate panic ("column start and length should not be
    /// negative") instead of failing the item.
    #[test]
    fn a_footer_with_a_negative_column_offset_fails_the_item() {
        let file = include_bytes!("../../tests/fixtures/parquet-negative-column-offset.parquet");
        let err = failed_item(file);
        assert!(
            err.message().starts_with("not a readable Parquet file"),
            "{err}"
        );
    }

    /// Found by the `parquet_decoder` fuzz target: a file whose pages hold fewer values than
    /// its row groups claim (9 of 17) decoded without an error, the missing rows silently
    /// lost.
    #[test]
    fn a_file_with_fewer_rows_than_its_footer_says_fails_the_item() {
        let file = include_bytes!("../../tests/fixtures/parquet-row-count-mismatch.parquet");
        let err = failed_item(file);
        assert!(err.message().contains("row groups hold 17 rows"), "{err}");
    }

    /// Found by the `parquet_decoder` fuzz target: row counts in the footer whose sum
    /// overflows (a panic of the parquet crate in a build with overflow checks).
    #[test]
    fn row_counts_that_overflow_fail_the_item() {
        let file = include_bytes!("../../tests/fixtures/parquet-row-count-overflow.parquet");
        let err = failed_item(file);
        assert!(
            err.message().starts_with("not a readable Parquet file"),
            "{err}"
        );
    }
}
