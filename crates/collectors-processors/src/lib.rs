//! # collectors-processors
//!
//! The standard decoders and processors of the `collectors` framework.
//!
//! | what | type | contract |
//! |---|---|---|
//! | CSV → Arrow record batches | [`CsvDecoder`] ([`CsvOptions`]) | [`Decoder`](collectors_core::Decoder) |
//! | Parquet → Arrow record batches (feature `parquet`) | `ParquetDecoder` (`ParquetOptions`) | [`Decoder`](collectors_core::Decoder) |
//! | JSON lines → Arrow record batches | [`JsonLinesDecoder`] ([`JsonLinesOptions`]) | [`Decoder`](collectors_core::Decoder) |
//! | a table → a CSV, JSON-lines or Parquet document (gzip, LZ4, Snappy or Zstandard) | [`Encode`] ([`EncodeConfig`], [`encode_batches`]) | [`Processor`](collectors_core::Processor) |
//! | keep the rows where `column op value`, or an [`Expression`], holds | [`Filter`] ([`FilterConfig`]) | [`Processor`](collectors_core::Processor) |
//! | cast, derive (expressions), drop, rename columns | [`Map`] ([`MapConfig`], [`Expression`]) | [`Processor`](collectors_core::Processor) |
//! | mean of the last N values (or of a time window) per key | [`RollingMean`] ([`RollingMeanConfig`]) | [`Processor`](collectors_core::Processor) |
//! | per-column quality profile, as events | [`DataQuality`] ([`DataQualityConfig`]) | [`Processor`](collectors_core::Processor) |
//! | rows checked against rules; invalid ones refused with reasons | [`Validate`] ([`ValidateConfig`]) | [`Processor::process_rows`](collectors_core::Processor::process_rows) |
//! | column types inferred from text, schema-evolution report and contracts | [`InferSchema`] ([`InferSchemaConfig`]) | [`Processor::process_rows`](collectors_core::Processor::process_rows) |
//! | peaks per key, as `scipy.signal.find_peaks` | [`PeakDetection`] ([`PeakDetectionConfig`]) | [`Processor`](collectors_core::Processor) |
//! | a user's sandboxed Rhai script (feature `scripts`) | `ScriptProcessor` (`ScriptConfig`, `ScriptLimits`) | [`Processor`](collectors_core::Processor) |
//!
//! The decoders split an item into lines themselves, so a bad line costs one
//! [`RejectedRow`](collectors_core::RejectedRow) with its line number, never the item, and a
//! huge line costs bounded memory. Explicit schemas are lists of [`ColumnSpec`]s.
//! The processors work on whole Arrow columns with arrow-rs compute kernels.
//!
//! ## Rules the decoders share
//!
//! - A UTF-8 byte order mark at the start of an item is dropped (CSV and JSON lines).
//! - `timestamp` columns take RFC 3339, `YYYY-MM-DD HH:MM:SS[.fff]` (UTC) or an integer epoch
//!   in `timestamp_unit` (seconds by default; `"ms"`, `"us"`, `"ns"`); a leap second is a
//!   rejected row.
//! - `float64`: `NaN`, `inf`, `-inf`, `infinity` are IEEE values (in JSON, as strings); a
//!   number too large for a float (`1e400`) is a rejected row; so is an `int64` outside
//!   the 64-bit range.
//! - A JSON line nested deeper than [`MAX_JSON_DEPTH`] is a rejected row.
//! - A CSV header matches an explicit schema by name, exactly, in any order (see
//!   [`CsvOptions`]).
//! - Size options are bounded ([`MAX_BATCH_SIZE`], [`MAX_LINE_BYTES`], [`MAX_INFER_ROWS`],
//!   [`MAX_WINDOW`]); a bad value is a configuration error whose message starts with the
//!   key in backticks.
//!
//! ## Example: decode, filter, average
//!
//! ```
//! use collectors_core::{Decoded, ItemContext, ItemDecoder, Payload, Processor};
//! use collectors_processors::*;
//! use serde_json::json;
//!
//! let decoder = CsvDecoder::new(CsvOptions::default().with_schema(vec![
//!     ColumnSpec::new("ts", ColumnType::Timestamp),
//!     ColumnSpec::new("sensor_id", ColumnType::Utf8),
//!     ColumnSpec::new("value", ColumnType::Float64),
//!     ColumnSpec::new("status", ColumnType::Utf8),
//! ]))?;
//! let csv = "ts,sensor_id,value,status\n\
//!            2024-05-01 12:00:00,s1,20.0,ok\n\
//!            2024-05-01 12:00:00,s2,30.0,ok\n\
//!            2024-05-01 12:01:00,s1,not-a-number,ok\n\
//!            2024-05-01 12:01:00,s2,99.0,error\n\
//!            2024-05-01 12:02:00,s1,22.0,ok\n";
//! let mut item = decoder.item_decoder();
//! let mut decoded = Decoded::default();
//! item.feed(csv.as_bytes(), &mut decoded)?;
//! item.finish(&mut decoded)?;
//! assert_eq!(decoded.rejects[0].line, 4); // the engine dead-letters it
//!
//! let only_ok = Filter::new(FilterConfig::new("status", FilterOp::Eq, Some(json!("ok"))))?
//!     .named("only-ok");
//! let mean = RollingMean::new(RollingMeanConfig::new(Some("sensor_id"), "value", 2))?;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let context = ItemContext {
//!     source_id: "sensors".into(),
//!     item_id: "2024-05-01.csv".into(),
//!     batch_index: 0,
//! };
//! let batch = Payload::Table(decoded.batches.remove(0));
//! let kept = only_ok.process_in(&context, batch).await?;
//! let out = mean.process_in(&context, kept).await?;
//! mean.finish_item(&context.item_id);
//!
//! let table = out.as_table()?;
//! assert_eq!(table.num_rows(), 3); // s1 20.0, s2 30.0, s1 22.0
//! let means = table
//!     .column_by_name("value_rolling_mean")
//!     .and_then(|c| c.as_any().downcast_ref::<arrow_array::Float64Array>())
//!     .expect("a float column");
//! assert_eq!(means.values().as_ref(), &[20.0, 30.0, 21.0]);
//! # Ok::<(), collectors_core::Error>(())
//! # })?;
//! # Ok::<(), collectors_core::Error>(())
//! ```

mod csv;
mod data_quality;
mod decode;
mod encode;
mod expr;
mod filter;
mod infer_schema;
mod jsonl;
mod keyed_state;
mod lines;
mod map;
#[cfg(feature = "parquet")]
mod parquet;
mod peak_detection;
mod rolling_mean;
mod schema;
#[cfg(feature = "scripts")]
mod script;
mod validate;
mod values;

pub use csv::{CsvDecoder, CsvItemDecoder, CsvOptions};
pub use data_quality::{
    DataQuality, DataQualityConfig, MAX_DISTINCT, QUALITY_EVENT_KIND, ValueRange,
};
pub use decode::{Decode, DecodeConfig, DecodeFormat};
pub use encode::{Encode, EncodeConfig, EncodeFormat, ParquetCompression, encode_batches};
pub use expr::{Expression, MAX_EXPR_DEPTH};
pub use filter::{Filter, FilterConfig, FilterOp};
pub use infer_schema::{
    InferSchema, InferSchemaConfig, SCHEMA_EVENT_KIND, SchemaChange, SchemaPolicy,
};
pub use jsonl::{JsonLinesDecoder, JsonLinesItemDecoder, JsonLinesOptions, MAX_JSON_DEPTH};
pub use lines::{MAX_BATCH_SIZE, MAX_INFER_ROWS, MAX_LINE_BYTES};
pub use map::{DerivedColumn, Map, MapConfig};
#[cfg(feature = "parquet")]
pub use parquet::{MAX_PARQUET_ITEM_BYTES, ParquetDecoder, ParquetItemDecoder, ParquetOptions};
pub use peak_detection::{Interval, PeakDetection, PeakDetectionConfig};
pub use rolling_mean::{MAX_WINDOW, RollingMean, RollingMeanConfig};
pub use schema::{ColumnSpec, ColumnType, UTC_OFFSET};
#[cfg(feature = "scripts")]
pub use script::{
    MAX_CALL_LEVELS, SCRIPT_RESULT_METADATA_KEY, ScriptConfig, ScriptLimits, ScriptProcessor,
};
pub use validate::{ColumnRule, Validate, ValidateConfig};
pub use values::TimestampUnit;
