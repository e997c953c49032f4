//! `ParquetDecoder`: any chunking gives the file's rows, projection picks columns, and bad
//! files fail as a whole with a validation error.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use collectors_core::{Decoded, Decoder, ErrorType, ItemDecoder, SourceItem};
use collectors_processors::{ParquetDecoder, ParquetOptions};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

fn table(rows: usize) -> RecordBatch {
    let ts = TimestampMicrosecondArray::from(
        (0..rows as i64).map(|i| i * 1_000_000).collect::<Vec<_>>(),
    )
    .with_timezone("+00:00");
    let sensors: StringArray = (0..rows).map(|i| Some(format!("s{}", i % 3))).collect();
    let values: Float64Array = (0..rows)
        .map(|i| (i % 7 != 0).then_some(i as f64 / 4.0))
        .collect();
    RecordBatch::try_from_iter([
        ("ts", Arc::new(ts) as ArrayRef),
        ("sensor", Arc::new(sensors) as ArrayRef),
        ("value", Arc::new(values) as ArrayRef),
    ])
    .unwrap()
}

fn file(batch: &RecordBatch, compression: Compression) -> Vec<u8> {
    let props = WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(300))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    out
}

fn decode(options: ParquetOptions, bytes: &[u8], chunk: usize) -> collectors_core::Result<Decoded> {
    let decoder = ParquetDecoder::new(options)?;
    let mut item = decoder.item_decoder();
    let mut out = Decoded::default();
    for part in bytes.chunks(chunk.max(1)) {
        item.feed(part, &mut out)?;
    }
    item.finish(&mut out)?;
    Ok(out)
}

fn concat(out: &Decoded) -> RecordBatch {
    arrow_select::concat::concat_batches(&out.batches[0].schema(), &out.batches).unwrap()
}

#[test]
fn any_chunking_gives_the_rows_of_the_file() {
    let batch = table(1000);
    for compression in [
        Compression::UNCOMPRESSED,
        Compression::SNAPPY,
        Compression::GZIP(Default::default()),
        Compression::LZ4_RAW,
        Compression::ZSTD(Default::default()),
    ] {
        let bytes = file(&batch, compression);
        for chunk in [1, 13, 4096, bytes.len()] {
            let out = decode(
                ParquetOptions {
                    batch_size: 128,
                    ..Default::default()
                },
                &bytes,
                chunk,
            )
            .unwrap();
            assert!(out.batches.iter().all(|b| b.num_rows() <= 128));
            assert!(out.rejects.is_empty());
            assert_eq!(concat(&out), batch, "chunks of {chunk}");
        }
    }
}

#[test]
fn columns_pick_a_projection() {
    let bytes = file(&table(50), Compression::SNAPPY);
    let options = ParquetOptions {
        columns: Some(vec!["value".into(), "ts".into()]),
        ..Default::default()
    };
    let out = concat(&decode(options, &bytes, 100).unwrap());
    let names: Vec<&String> = out.schema_ref().fields().iter().map(|f| f.name()).collect();
    // The file's order, whatever the order asked.
    assert_eq!(names, ["ts", "value"]);
    assert_eq!(out.column(1).as_primitive::<Float64Type>().value(1), 0.25);
}

#[test]
fn bad_files_and_options_are_typed_errors() {
    let bytes = file(&table(20), Compression::SNAPPY);
    for bad in [
        &b"not parquet at all"[..],
        &bytes[..bytes.len() - 10],
        &[][..],
    ] {
        let err = decode(ParquetOptions::default(), bad, 5).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Validation, "{err}");
        assert!(err.to_string().contains("Parquet"), "{err}");
    }
    let missing = ParquetOptions {
        columns: Some(vec!["nope".into()]),
        ..Default::default()
    };
    let err = decode(missing, &bytes, 64).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    let small = ParquetOptions {
        max_item_bytes: 100,
        ..Default::default()
    };
    let err = decode(small.clone(), &bytes, 64).unwrap_err();
    assert!(err.to_string().contains("max_item_bytes"), "{err}");
    let decoder = ParquetDecoder::new(small).unwrap();
    let item = SourceItem::listed("s", "big.parquet", "v1").with_size(10_000);
    assert!(decoder.decoder_for(&item).is_err());
    for options in [
        ParquetOptions {
            batch_size: 0,
            ..Default::default()
        },
        ParquetOptions {
            max_item_bytes: 0,
            ..Default::default()
        },
        ParquetOptions {
            columns: Some(vec![String::new()]),
            ..Default::default()
        },
    ] {
        let err = ParquetDecoder::new(options).unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration);
    }
}
