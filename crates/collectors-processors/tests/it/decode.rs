//! `Decode`: bytes to a table inside a pipeline, with the rows that do not fit refused one by
//! one and documents that are not the format refused whole.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt64Type};
use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use collectors_core::{ErrorType, ItemContext, Payload, Processor};
use collectors_processors::{CsvOptions, Decode, DecodeConfig, DecodeFormat};

fn decode(format: DecodeFormat, csv: Option<CsvOptions>) -> Decode {
    Decode::new(DecodeConfig {
        format,
        csv,
        jsonl: None,
        parquet: None,
    })
    .unwrap()
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn context() -> ItemContext {
    ItemContext {
        source_id: "uploads".into(),
        item_id: "readings.csv".into(),
        batch_index: 0,
    }
}

#[test]
fn csv_rows_that_do_not_fit_are_refused_with_their_line_and_bytes() {
    let options: CsvOptions =
        serde_json::from_value(serde_json::json!({"schema": [{"name": "v", "type": "float64"}]}))
            .unwrap();
    let decode = decode(DecodeFormat::Csv, Some(options));
    let input = Payload::Bytes("v\n1.5\nabc\n2.5\n".into());
    let (table, refused) = block_on(decode.process_rows(&context(), input.clone())).unwrap();
    let table = table.as_table().unwrap();
    let values: Vec<f64> = table
        .column(0)
        .as_primitive::<Float64Type>()
        .values()
        .to_vec();
    assert_eq!(values, vec![1.5, 2.5]);
    let refused = refused.expect("the bad row");
    assert_eq!(refused.processor(), "decode");
    assert_eq!(refused.len(), 1);
    assert!(
        refused.reasons()[0].contains("abc"),
        "{:?}",
        refused.reasons()
    );
    assert_eq!(
        refused
            .rows()
            .column(0)
            .as_primitive::<UInt64Type>()
            .value(0),
        3
    );
    assert_eq!(refused.rows().column(1).as_binary::<i32>().value(0), b"abc");
    // Without the engine, one bad row fails the document, naming the processor.
    let error = block_on(decode.process(input)).unwrap_err();
    assert_eq!(error.error_type(), ErrorType::Validation);
    assert_eq!(error.context().component.as_deref(), Some("decode"));
}

#[test]
fn json_lines_from_a_json_string_and_an_inferred_schema() {
    let decode = decode(DecodeFormat::Jsonl, None);
    let input = Payload::Json(serde_json::Value::String(
        "{\"id\": 1, \"v\": 2.5}\n{\"id\": 2, \"v\": 4}\n".into(),
    ));
    let table = block_on(decode.process(input)).unwrap();
    let table = table.as_table().unwrap();
    assert_eq!(table.num_rows(), 2);
    assert_eq!(table.schema().field(0).name(), "id");
}

#[test]
fn parquet_bytes_decode_to_their_rows() {
    let batch = RecordBatch::try_from_iter([(
        "v",
        Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])) as ArrayRef,
    )])
    .unwrap();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(Vec::new(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    let bytes = writer.into_inner().unwrap();
    let table = block_on(decode(DecodeFormat::Parquet, None).process(Payload::Bytes(bytes.into())))
        .unwrap();
    assert_eq!(table.as_table().unwrap(), &batch);
}

#[test]
fn what_is_not_the_format_or_not_bytes_is_a_typed_error() {
    let parquet = decode(DecodeFormat::Parquet, None);
    let garbage = block_on(parquet.process(Payload::Bytes("not parquet".into()))).unwrap_err();
    assert_eq!(garbage.error_type(), ErrorType::Validation);
    assert!(garbage.message().contains("cannot be decoded"), "{garbage}");
    let table =
        RecordBatch::try_from_iter([("v", Arc::new(Float64Array::from(vec![1.0])) as ArrayRef)])
            .unwrap();
    let csv = decode(DecodeFormat::Csv, None);
    let not_bytes = csv.validate_input(&Payload::Table(table)).unwrap_err();
    assert_eq!(not_bytes.error_type(), ErrorType::Validation);
    assert!(not_bytes.message().contains("takes bytes"), "{not_bytes}");
    // An empty document is no table, not an error.
    assert_eq!(
        block_on(csv.process(Payload::Bytes("".into()))).unwrap(),
        Payload::Empty
    );
}
