//! `Encode` and `encode_batches`: a table written in each format (and each Parquet codec)
//! decodes back to the same rows; what cannot be encoded is a typed error.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use collectors_core::{ErrorType, Payload, Processor};
use collectors_processors::{
    CsvOptions, Decode, DecodeConfig, DecodeFormat, Encode, EncodeConfig, EncodeFormat,
    ParquetCompression, encode_batches,
};

fn table(rows: usize, offset: usize) -> RecordBatch {
    let ids = Int64Array::from_iter_values((offset..offset + rows).map(|i| i as i64));
    let sensors: StringArray = (0..rows).map(|i| Some(format!("s,{}", i % 3))).collect();
    let values: Float64Array = (0..rows)
        .map(|i| (i % 5 != 0).then_some(i as f64 / 4.0))
        .collect();
    RecordBatch::try_from_iter([
        ("id", Arc::new(ids) as ArrayRef),
        ("sensor", Arc::new(sensors) as ArrayRef),
        ("value", Arc::new(values) as ArrayRef),
    ])
    .unwrap()
}

fn decoder(format: EncodeFormat) -> Decode {
    let format = match format {
        EncodeFormat::Csv => DecodeFormat::Csv,
        EncodeFormat::Jsonl => DecodeFormat::Jsonl,
        EncodeFormat::Parquet => DecodeFormat::Parquet,
    };
    Decode::new(DecodeConfig {
        format,
        csv: Some(CsvOptions::default()),
        jsonl: None,
        #[cfg(feature = "parquet")]
        parquet: None,
    })
    .unwrap()
}

async fn round_trip(config: EncodeConfig, batch: &RecordBatch) -> RecordBatch {
    let format = config.format;
    let bytes = Encode::new(config)
        .unwrap()
        .process(Payload::Table(batch.clone()))
        .await
        .unwrap();
    assert!(matches!(bytes, Payload::Bytes(_)));
    let decoded = decoder(format).process(bytes).await.unwrap();
    decoded.as_table().unwrap().clone()
}

#[tokio::test]
async fn csv_and_json_lines_decode_back_to_the_rows() {
    let batch = table(100, 0);
    for format in [EncodeFormat::Csv, EncodeFormat::Jsonl] {
        let back = round_trip(
            EncodeConfig {
                format,
                compression: ParquetCompression::default(),
            },
            &batch,
        )
        .await;
        assert_eq!(back.num_rows(), 100, "{format:?}");
        let ids = back.column_by_name("id").unwrap();
        let ids = arrow_cast::cast(ids, &arrow_schema::DataType::Int64).unwrap();
        assert_eq!(ids.as_ref(), batch.column(0).as_ref(), "{format:?}");
        let sensors = back.column_by_name("sensor").unwrap();
        assert_eq!(
            sensors.as_ref(),
            batch.column(1).as_ref(),
            "{format:?}: quoted commas"
        );
        assert_eq!(
            back.column_by_name("value").unwrap().null_count(),
            batch.column(2).null_count(),
            "{format:?}: nulls stay null"
        );
    }
}

#[cfg(feature = "parquet")]
#[tokio::test]
async fn parquet_with_every_codec_decodes_back_to_the_same_table() {
    let batch = table(2000, 0);
    let mut sizes = Vec::new();
    for compression in [
        ParquetCompression::Uncompressed,
        ParquetCompression::Snappy,
        ParquetCompression::Gzip,
        ParquetCompression::Lz4,
        ParquetCompression::Zstd,
    ] {
        let config = EncodeConfig {
            format: EncodeFormat::Parquet,
            compression,
        };
        assert_eq!(round_trip(config, &batch).await, batch, "{compression:?}");
        let bytes = encode_batches(
            EncodeFormat::Parquet,
            std::slice::from_ref(&batch),
            compression,
        )
        .unwrap();
        // The codec is really applied: the footer names it.
        let reader =
            parquet::file::reader::SerializedFileReader::new(bytes::Bytes::from(bytes.clone()))
                .unwrap();
        use parquet::file::reader::FileReader;
        let codec = reader.metadata().row_group(0).column(2).compression();
        assert_eq!(codec, compression.codec(), "{compression:?}");
        sizes.push((compression, bytes.len()));
    }
    let size = |c| sizes.iter().find(|(x, _)| *x == c).unwrap().1;
    assert!(size(ParquetCompression::Zstd) < size(ParquetCompression::Uncompressed));
}

#[cfg(feature = "parquet")]
#[test]
fn each_batch_is_one_row_group() {
    let batches = [table(10, 0), table(20, 10), table(5, 30)];
    let bytes = encode_batches(EncodeFormat::Parquet, &batches, ParquetCompression::Zstd).unwrap();
    let reader =
        parquet::file::reader::SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
    use parquet::file::reader::FileReader;
    let rows: Vec<i64> = reader
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .collect();
    assert_eq!(rows, [10, 20, 5]);
}

#[tokio::test]
async fn what_cannot_be_encoded_is_a_validation_error() {
    let encode = Encode::new(EncodeConfig {
        format: EncodeFormat::Csv,
        compression: ParquetCompression::default(),
    })
    .unwrap()
    .named("to-csv");
    let error = encode
        .process(Payload::Bytes("a,b\n".into()))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), ErrorType::Validation);
    assert_eq!(error.context().component.as_deref(), Some("to-csv"));
    assert_eq!(
        encode.process(Payload::Empty).await.unwrap(),
        Payload::Empty
    );

    let none = encode_batches(EncodeFormat::Jsonl, &[], ParquetCompression::default());
    assert_eq!(none.unwrap_err().error_type(), ErrorType::Validation);
    let mixed = encode_batches(
        EncodeFormat::Csv,
        &[table(2, 0), table(2, 0).project(&[0]).unwrap()],
        ParquetCompression::default(),
    );
    let error = mixed.unwrap_err();
    assert_eq!(error.error_type(), ErrorType::Validation);
    assert!(error.message().contains("different schemas"), "{error}");
}

#[test]
fn the_config_refuses_unknown_codecs_and_keys() {
    for bad in [
        r#"{"format": "parquet", "compression": "brotli"}"#,
        r#"{"format": "xml"}"#,
        r#"{"format": "csv", "level": 3}"#,
    ] {
        assert!(serde_json::from_str::<EncodeConfig>(bad).is_err(), "{bad}");
    }
}
