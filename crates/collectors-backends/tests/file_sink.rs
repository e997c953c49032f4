//! `FileSink` on a temp directory: the shared contract, hostile keys, crash leftovers and
//! exact round trips of Arrow types, for JSON lines, CSV (with its sidecar index) and
//! (feature `parquet`) Parquet.
#![cfg(feature = "file-sink")]

use std::path::Path;
use std::sync::Arc;

use arrow_array::types::Date32Type;
use arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array, LargeStringArray,
    PrimitiveArray, RecordBatch, RecordBatchOptions, StringArray, TimestampMicrosecondArray,
    TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray, UInt64Array,
};
use arrow_schema::Schema;
use bytes::Bytes;
use chrono::{Duration, TimeZone, Utc};
use collectors_backends::{FileFormat, FileSink};
use collectors_core::conformance;
use collectors_core::{ErrorType, Payload, PayloadKind, QueryCriteria, Record, StorageBackend};

fn sink(dir: &Path, format: FileFormat) -> FileSink {
    FileSink::builder("files", dir.join("records"))
        .format(format)
        .build()
        .unwrap()
}

/// The formats this build has.
fn formats() -> Vec<FileFormat> {
    let mut formats = vec![FileFormat::Jsonl, FileFormat::Csv];
    if cfg!(feature = "parquet") {
        formats.push(FileFormat::Parquet);
    }
    formats
}

/// The formats this build has that hold tables only.
fn table_only_formats() -> Vec<FileFormat> {
    formats()
        .into_iter()
        .filter(|f| *f != FileFormat::Jsonl)
        .collect()
}

/// Whether `name` is the sidecar index of a CSV file.
fn is_index(name: &str) -> bool {
    name.ends_with(".index.json")
}

/// [`typed_batch`] as `format` holds it: CSV cannot tell an empty string from a null, so
/// its copy has none.
fn table(format: FileFormat) -> RecordBatch {
    let batch = typed_batch();
    if format != FileFormat::Csv {
        return batch;
    }
    let schema = batch.schema();
    let note = schema.index_of("note").unwrap();
    let mut columns = batch.columns().to_vec();
    columns[note] = Arc::new(LargeStringArray::from(vec!["a", "b", "c"]));
    RecordBatch::try_new(schema, columns).unwrap()
}

/// Names of the entries of `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Paths (with `/`) of the files under `dir`, at any depth, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                walk(root, &entry.path(), out);
            } else {
                let rel = entry.path().strip_prefix(root).unwrap().to_owned();
                out.push(
                    rel.to_str()
                        .unwrap()
                        .replace(std::path::MAIN_SEPARATOR, "/"),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Every column type the decoders produce, with nulls, and time-zoned timestamps as the CSV
/// decoder makes them ("+00:00").
fn typed_batch() -> RecordBatch {
    let ts = [1_700_000_000_i64, 1_700_000_001, 1_700_000_002];
    RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        (
            "small",
            Arc::new(Int32Array::from(vec![Some(-1), None, Some(7)])) as ArrayRef,
        ),
        (
            "big",
            Arc::new(UInt64Array::from(vec![u64::MAX, 0, 5])) as ArrayRef,
        ),
        (
            "value",
            Arc::new(Float64Array::from(vec![Some(1.5), None, Some(-2.25e-10)])) as ArrayRef,
        ),
        (
            "ratio",
            Arc::new(Float32Array::from(vec![0.1_f32, 3.5, -0.0])) as ArrayRef,
        ),
        (
            "ok",
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])) as ArrayRef,
        ),
        (
            "sensor",
            Arc::new(StringArray::from(vec![
                Some("s-1"),
                None,
                Some("é \"q\"\n🦀"),
            ])) as ArrayRef,
        ),
        (
            "note",
            Arc::new(LargeStringArray::from(vec!["a", "", "c"])) as ArrayRef,
        ),
        (
            "day",
            Arc::new(PrimitiveArray::<Date32Type>::from(vec![19_000, 0, -1])) as ArrayRef,
        ),
        (
            "ts_s",
            Arc::new(TimestampSecondArray::from(ts.to_vec()).with_timezone("+00:00")) as ArrayRef,
        ),
        (
            "ts_ms",
            Arc::new(
                TimestampMillisecondArray::from(
                    ts.iter().map(|t| t * 1_000 + 1).collect::<Vec<_>>(),
                )
                .with_timezone("+00:00"),
            ) as ArrayRef,
        ),
        (
            "ts_us",
            Arc::new(
                TimestampMicrosecondArray::from(vec![
                    Some(ts[0] * 1_000_000 + 123_456),
                    None,
                    Some(ts[2] * 1_000_000),
                ])
                .with_timezone("+00:00"),
            ) as ArrayRef,
        ),
        (
            "ts_ns",
            Arc::new(
                TimestampNanosecondArray::from(
                    ts.iter()
                        .map(|t| t * 1_000_000_000 + 987_654_321)
                        .collect::<Vec<_>>(),
                )
                .with_timezone("+00:00"),
            ) as ArrayRef,
        ),
        (
            "ts_naive",
            Arc::new(TimestampMicrosecondArray::from(vec![0, 1, -1])) as ArrayRef,
        ),
    ])
    .unwrap()
}

#[tokio::test]
async fn jsonl_meets_the_storage_backend_contract() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(dir.path(), FileFormat::Jsonl);
    conformance::storage_backend(
        &sink,
        &[
            PayloadKind::Table,
            PayloadKind::Json,
            PayloadKind::Bytes,
            PayloadKind::Empty,
        ],
    )
    .await;
}

#[cfg(feature = "parquet")]
#[tokio::test]
async fn parquet_meets_the_storage_backend_contract() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(dir.path(), FileFormat::Parquet);
    conformance::storage_backend(&sink, &[PayloadKind::Table]).await;
}

#[cfg(not(feature = "parquet"))]
#[test]
fn parquet_without_the_feature_is_a_configuration_error() {
    let err = FileSink::builder("files", "out")
        .format(FileFormat::Parquet)
        .build()
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Configuration);
    assert!(err.to_string().contains("parquet"), "{err}");
}

#[test]
fn the_builder_checks_its_settings() {
    let err = FileSink::builder(" ", "out").build().unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Configuration);
    let err = FileSink::builder("files", "").build().unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Configuration);
}

#[tokio::test]
async fn connect_creates_the_directory_and_calls_need_a_connection() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(dir.path(), FileFormat::Jsonl);
    assert!(!sink.dir().exists(), "build creates nothing");
    let err = sink.query(&QueryCriteria::new()).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Connection);
    assert_eq!(
        sink.delete("a").await.unwrap_err().error_type(),
        ErrorType::Connection
    );
    sink.connect().await.unwrap();
    assert!(sink.dir().is_dir());

    // A file where the directory should be: connect fails with a typed error, no panic.
    let blocked = FileSink::builder("files", dir.path().join("records/x.jsonl"))
        .build()
        .unwrap();
    std::fs::write(dir.path().join("records/x.jsonl"), b"not a dir").unwrap();
    assert!(blocked.connect().await.is_err());
}

#[tokio::test]
async fn every_type_and_the_whole_record_round_trip() {
    for format in formats() {
        let dir = tempfile::tempdir().unwrap();
        let sink = sink(dir.path(), format);
        sink.connect().await.unwrap();
        let created_at = Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap();
        let empty_rows = RecordBatch::new_empty(table(format).schema());
        let mut schema_with_metadata = table(format).schema().as_ref().clone();
        schema_with_metadata
            .metadata
            .insert("source", "sensors.csv");
        let tagged = table(format)
            .with_schema(Arc::new(schema_with_metadata))
            .unwrap();
        for (key, batch) in [
            ("typed", table(format)),
            ("no-rows", empty_rows),
            ("tagged", tagged),
        ] {
            let mut record = Record::keyed(key, Payload::Table(batch))
                .unwrap()
                .with_metadata("sensor", "s-1")
                .with_metadata("nested", serde_json::json!({"a": [1, 2.5, null]}));
            record.created_at = created_at;
            sink.store(record.clone()).await.unwrap();
            let found = sink.query(&QueryCriteria::new().key(key)).await.unwrap();
            assert_eq!(found.len(), 1, "{format}: {key}");
            assert_eq!(
                found[0].record, record,
                "{format}: {key} round-trips exactly"
            );
            assert_eq!(found[0].location.location_id, key);
        }
    }
}

#[tokio::test]
async fn jsonl_holds_tables_without_columns_and_every_payload_kind() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(dir.path(), FileFormat::Jsonl);
    sink.connect().await.unwrap();
    let no_columns = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(3)),
    )
    .unwrap();
    let payloads = [
        Payload::Table(no_columns),
        Payload::Bytes(Bytes::from_static(b"\x00\xff\n{not json")),
        Payload::Json(serde_json::json!(["line\nbreak", {"k": null}])),
        Payload::Json(serde_json::Value::Null),
        Payload::Empty,
    ];
    for (i, payload) in payloads.into_iter().enumerate() {
        let record = Record::keyed(format!("k{i}"), payload).unwrap();
        sink.store(record.clone()).await.unwrap();
        let found = sink
            .query(&QueryCriteria::new().key(&record.key))
            .await
            .unwrap();
        assert_eq!(found[0].record, record);
    }
}

#[tokio::test]
async fn hostile_keys_stay_inside_the_directory_and_round_trip() {
    for format in formats() {
        let dir = tempfile::tempdir().unwrap();
        let sink = sink(dir.path(), format);
        sink.connect().await.unwrap();
        let keys = [
            "../../etc/passwd",
            "..",
            ".",
            ".hidden",
            "/absolute/path",
            "sensor-files/a.csv#0",
            "nul\0byte",
            "back\\slash",
            "C:\\windows\\system32",
            "ünïcødé/🦀 key",
            "%2F already encoded",
            "line\nbreak",
        ];
        let root = std::fs::canonicalize(sink.dir()).unwrap();
        for key in keys {
            let record = Record::keyed(key, Payload::Table(table(format))).unwrap();
            let location = sink.store(record).await.unwrap();
            assert_eq!(location.location_id, key);
            let path = Path::new(&location.path);
            assert!(
                path.components().all(|c| !matches!(
                    c,
                    std::path::Component::ParentDir | std::path::Component::CurDir
                )),
                "{key:?}: {path:?} has no `..` or `.`"
            );
            assert!(
                std::fs::canonicalize(path).unwrap().starts_with(&root),
                "{key:?}: {path:?} is inside the directory"
            );
        }
        // Nothing but the sink's directory beside it, nothing but its files in it.
        assert_eq!(entries(dir.path()), vec!["records".to_owned()]);
        let (indexes, names): (Vec<String>, Vec<String>) = files_under(sink.dir())
            .into_iter()
            .partition(|n| is_index(n));
        assert_eq!(names.len(), keys.len(), "{names:?}");
        if format == FileFormat::Csv {
            // Each CSV file has its index beside it, hidden.
            let mut expected: Vec<String> = names
                .iter()
                .map(|n| match n.rsplit_once('/') {
                    Some((folder, file)) => format!("{folder}/.{file}.index.json"),
                    None => format!(".{n}.index.json"),
                })
                .collect();
            expected.sort();
            assert_eq!(indexes, expected);
        } else {
            assert!(indexes.is_empty(), "{indexes:?}");
        }
        for name in &names {
            assert!(
                !name.split('/').any(|s| s.starts_with('.')),
                "{name}: no hidden file or folder"
            );
            assert!(name.ends_with(&format!(".{}", format.extension())));
        }
        // Readable where nothing needs encoding.
        assert!(
            names.contains(&format!(
                "sensor-files/a.csv/part-00000.{}",
                format.extension()
            )),
            "{names:?}"
        );
        assert!(
            names.contains(&format!("ünïcødé/🦀 key.{}", format.extension())),
            "{names:?}"
        );

        let found = sink.query(&QueryCriteria::new()).await.unwrap();
        let mut expected: Vec<&str> = keys.to_vec();
        expected.sort();
        let got: Vec<&str> = found.iter().map(|s| s.record.key.as_str()).collect();
        assert_eq!(got, expected, "{format}: every key comes back, sorted");

        // Deleting through a hostile id deletes that record, nothing else.
        assert!(sink.delete("../../etc/passwd").await.unwrap());
        assert!(!sink.delete("../../etc/passwd").await.unwrap());
        assert!(!sink.delete("../records").await.unwrap());
        assert!(!sink.delete("").await.unwrap());
        let left = files_under(sink.dir());
        assert_eq!(left.iter().filter(|n| !is_index(n)).count(), keys.len() - 1);
        assert_eq!(
            left.iter().filter(|n| is_index(n)).count(),
            indexes.len().saturating_sub(1),
            "{format}: the index goes with its file"
        );
        assert!(dir.path().join("records").is_dir());
    }
}

#[tokio::test]
async fn an_empty_or_overlong_key_is_a_validation_error() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(dir.path(), FileFormat::Jsonl);
    sink.connect().await.unwrap();
    let mut empty = Record::new(Payload::Empty);
    empty.key = String::new();
    let err = sink.store(empty).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation);

    // A segment no file system takes, and a name longer than any store takes.
    for key in ["a".repeat(300), "abc/".repeat(300)] {
        let long = Record::keyed(key, Payload::Empty).unwrap();
        let err = sink.store_batch(&[long]).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Validation);
        assert!(
            err.to_string().contains("too long") || err.to_string().contains("at most"),
            "{err}"
        );
    }
    assert!(entries(sink.dir()).is_empty());
}

#[tokio::test]
async fn leftover_temp_files_are_ignored() {
    for format in formats() {
        let dir = tempfile::tempdir().unwrap();
        let sink = sink(dir.path(), format);
        sink.connect().await.unwrap();
        let record = Record::keyed("a.csv#0", Payload::Table(table(format))).unwrap();
        let location = sink.store(record.clone()).await.unwrap();
        let name = Path::new(&location.path)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();

        // What a crash mid-write leaves: a half-written temp file beside the target, and one
        // for a key never committed.
        let complete = std::fs::read(&location.path).unwrap();
        std::fs::write(
            sink.dir().join(format!(".{name}.0123456789abcdef.tmp")),
            &complete[..complete.len() / 2],
        )
        .unwrap();
        std::fs::write(
            sink.dir()
                .join(format!(".never.{}.feedface.tmp", format.extension())),
            b"{\"trunc",
        )
        .unwrap();

        let found = sink.query(&QueryCriteria::new()).await.unwrap();
        assert_eq!(found.len(), 1, "{format}: temp files are not records");
        assert_eq!(found[0].record, record);

        // Writing and deleting still work around them.
        sink.store(record.clone()).await.unwrap();
        assert!(sink.delete(&record.key).await.unwrap());
        assert!(sink.query(&QueryCriteria::new()).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn storing_a_key_twice_leaves_one_file() {
    for format in formats() {
        let dir = tempfile::tempdir().unwrap();
        let sink = sink(dir.path(), format);
        sink.connect().await.unwrap();
        let first = Record::keyed("k", Payload::Table(table(format))).unwrap();
        let second = Record::keyed("k", Payload::Table(table(format).slice(1, 1)))
            .unwrap()
            .with_metadata("v", 2);
        let a = sink.store(first).await.unwrap();
        let b = sink.store(second.clone()).await.unwrap();
        assert_eq!(a.path, b.path);
        // A batch repeating a key: the last one wins.
        sink.store_batch(&[second.clone(), second.clone()])
            .await
            .unwrap();
        let expected = if format == FileFormat::Csv {
            vec![".k.csv.index.json".to_owned(), "k.csv".to_owned()]
        } else {
            vec![format!("k.{}", format.extension())]
        };
        assert_eq!(
            entries(sink.dir()),
            expected,
            "{format}: one file (and its index), no temp left"
        );
        let found = sink.query(&QueryCriteria::new()).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].record.payload, second.payload);
        assert_eq!(found[0].location.metadata["rows"], 1);
    }
}

#[tokio::test]
async fn queries_filter_on_metadata_and_time_and_page() {
    for format in formats() {
        let dir = tempfile::tempdir().unwrap();
        let sink = sink(dir.path(), format);
        sink.connect().await.unwrap();
        let t0 = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let records: Vec<Record> = (0..6)
            .map(|i| {
                let mut r = Record::keyed(format!("day/{i}"), Payload::Table(table(format)))
                    .unwrap()
                    .with_metadata("even", i % 2 == 0);
                r.created_at = t0 + Duration::seconds(i);
                r
            })
            .collect();
        sink.store_batch(&records).await.unwrap();
        let keys = |found: Vec<collectors_core::StoredRecord>| -> Vec<String> {
            found.into_iter().map(|s| s.record.key).collect()
        };
        let even = sink
            .query(
                &QueryCriteria::new()
                    .metadata("even", true)
                    .offset(1)
                    .limit(5),
            )
            .await
            .unwrap();
        assert_eq!(keys(even), ["day/2", "day/4"]);
        let window = sink
            .query(
                &QueryCriteria::new()
                    .key_prefix("day/")
                    .created_after(t0 + Duration::seconds(2))
                    .created_before(t0 + Duration::seconds(4)),
            )
            .await
            .unwrap();
        assert_eq!(keys(window), ["day/2", "day/3"]);
        let none = sink
            .query(&QueryCriteria::new().key_prefix("night/"))
            .await
            .unwrap();
        assert!(none.is_empty());
    }
}

#[tokio::test]
async fn nan_and_infinities_cannot_be_written_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(dir.path(), FileFormat::Jsonl);
    sink.connect().await.unwrap();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let batch = RecordBatch::try_from_iter([(
            "value",
            Arc::new(Float64Array::from(vec![1.0, bad])) as ArrayRef,
        )])
        .unwrap();
        let err = sink
            .store(Record::keyed("nan", Payload::Table(batch.clone())).unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Validation, "{bad}");
        assert!(err.to_string().contains("\"value\""), "{err}");
        // In a batch, the other records are not written either.
        let good = Record::keyed("good", Payload::Table(typed_batch())).unwrap();
        let bad = Record::keyed("bad", Payload::Table(batch)).unwrap();
        let err = sink.store_batch(&[good, bad]).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Validation);
        assert!(
            entries(sink.dir()).is_empty(),
            "nothing written, no temp left"
        );
    }
}

#[tokio::test]
async fn a_changed_file_is_skipped_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(dir.path(), FileFormat::Jsonl);
    sink.connect().await.unwrap();
    let location = sink
        .store(Record::keyed("k", Payload::Table(typed_batch())).unwrap())
        .await
        .unwrap();
    sink.store(Record::keyed("other", Payload::Table(typed_batch())).unwrap())
        .await
        .unwrap();
    let text = std::fs::read_to_string(&location.path).unwrap();
    let rows = format!("\"rows\":{}", typed_batch().num_rows());
    assert!(text.contains(&rows), "{text}");
    // A header claiming more rows than the file holds must not size an allocation.
    let claims_more = text.replacen(&rows, "\"rows\":1000000000000", 1);
    for garbage in [
        &b""[..],
        b"{\"version\":1",
        b"\xff\xfe",
        claims_more.as_bytes(),
    ] {
        std::fs::write(&location.path, garbage).unwrap();
        let found = sink.query(&QueryCriteria::new()).await.unwrap();
        let keys: Vec<&str> = found.iter().map(|s| s.record.key.as_str()).collect();
        assert_eq!(keys, vec!["other"], "the changed file is skipped");
        assert!(
            !sink.delete("k").await.unwrap(),
            "nothing of ours to delete"
        );
    }
}

#[tokio::test]
async fn csv_meets_the_storage_backend_contract() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(dir.path(), FileFormat::Csv);
    conformance::storage_backend(&sink, &[PayloadKind::Table]).await;
}

#[tokio::test]
async fn csv_and_parquet_take_tables_only() {
    for format in table_only_formats() {
        let dir = tempfile::tempdir().unwrap();
        let sink = sink(dir.path(), format);
        sink.connect().await.unwrap();
        for payload in [
            Payload::Json(serde_json::json!({"a": 1})),
            Payload::Bytes(Bytes::from_static(b"raw")),
            Payload::Empty,
        ] {
            let kind = format!("{:?}", payload.kind()).to_lowercase();
            let record = Record::keyed("k", payload).unwrap();
            let err = sink.store(record.clone()).await.unwrap_err();
            assert_eq!(err.error_type(), ErrorType::Validation);
            assert!(err.to_string().contains(&kind), "{err} names {kind}");
            // In a batch, the bad record fails the batch before any file is written.
            let good = Record::keyed("good", Payload::Table(table(format))).unwrap();
            let err = sink.store_batch(&[good, record]).await.unwrap_err();
            assert_eq!(err.error_type(), ErrorType::Validation);
        }
        assert!(entries(sink.dir()).is_empty(), "{format}");
    }
}

#[tokio::test]
async fn csv_refuses_what_it_cannot_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(dir.path(), FileFormat::Csv);
    sink.connect().await.unwrap();
    let one = |name: &str, column: ArrayRef| RecordBatch::try_from_iter([(name, column)]).unwrap();
    let dictionary: arrow_array::DictionaryArray<arrow_array::types::Int32Type> =
        vec!["a", "", "a"].into_iter().collect();
    let cases = [
        (
            "an empty string",
            one(
                "name",
                Arc::new(StringArray::from(vec![Some("a"), Some("")])),
            ),
        ),
        (
            "an empty string",
            one(
                "name",
                Arc::new(arrow_array::StringViewArray::from(vec!["", "b"])),
            ),
        ),
        ("an empty string", one("name", Arc::new(dictionary))),
        (
            "CSV does not hold",
            one(
                "nested",
                Arc::new(arrow_array::ListArray::from_iter_primitive::<
                    arrow_array::types::Int32Type,
                    _,
                    _,
                >(vec![Some(vec![Some(1)])])),
            ),
        ),
        (
            "without columns",
            RecordBatch::try_new_with_options(
                Arc::new(Schema::empty()),
                vec![],
                &RecordBatchOptions::new().with_row_count(Some(2)),
            )
            .unwrap(),
        ),
    ];
    for (reason, batch) in cases {
        let record = Record::keyed("bad", Payload::Table(batch)).unwrap();
        let err = sink.store(record.clone()).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Validation, "{err}");
        assert!(err.to_string().contains(reason), "{err}: {reason}");
        let good = Record::keyed("good", Payload::Table(table(FileFormat::Csv))).unwrap();
        let err = sink.store_batch(&[good, record]).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Validation);
    }
    assert!(
        entries(sink.dir()).is_empty(),
        "nothing written, no temp left"
    );

    // A null where the strings are is fine: it reads back as a null.
    let nulls = one("name", Arc::new(StringArray::from(vec![Some("a"), None])));
    let record = Record::keyed("nulls", Payload::Table(nulls)).unwrap();
    sink.store(record.clone()).await.unwrap();
    let found = sink.query(&QueryCriteria::new()).await.unwrap();
    assert_eq!(found[0].record, record);
}

#[tokio::test]
async fn a_csv_file_is_plain_csv_under_one_header_with_its_index_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(dir.path(), FileFormat::Csv);
    sink.connect().await.unwrap();
    let batch = RecordBatch::try_from_iter([
        (
            "ts",
            Arc::new(TimestampSecondArray::from(vec![0, 60]).with_timezone("+00:00")) as ArrayRef,
        ),
        (
            "sensor",
            Arc::new(StringArray::from(vec![Some("s-1"), Some("a,\"b\"")])) as ArrayRef,
        ),
        (
            "value",
            Arc::new(Float64Array::from(vec![Some(1.5), None])) as ArrayRef,
        ),
    ])
    .unwrap();
    let record = Record::keyed("day/one", Payload::Table(batch))
        .unwrap()
        .with_metadata("sensor", "s-1");
    let location = sink.store(record.clone()).await.unwrap();
    assert!(location.path.ends_with("day/one.csv"), "{}", location.path);
    let text = std::fs::read_to_string(&location.path).unwrap();
    assert_eq!(
        text,
        "ts,sensor,value\n1970-01-01T00:00:00Z,s-1,1.5\n1970-01-01T00:01:00Z,\"a,\"\"b\"\"\",\n"
    );
    let index_path = sink.dir().join("day/.one.csv.index.json");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    assert_eq!(index["data_bytes"], text.len());
    assert_eq!(index["records"][0]["key"], "day/one");
    assert_eq!(index["records"][0]["rows"], 2);
    assert_eq!(index["records"][0]["metadata"]["sensor"], "s-1");

    // A record of many rows reads back whole (the reader decodes it in chunks).
    let n = 20_000_i64;
    let many = RecordBatch::try_from_iter([
        (
            "n",
            Arc::new(Int64Array::from_iter_values(0..n)) as ArrayRef,
        ),
        (
            "half",
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|i| i as f64 / 2.0),
            )) as ArrayRef,
        ),
    ])
    .unwrap();
    let big = Record::keyed("day/many", Payload::Table(many)).unwrap();
    sink.store(big.clone()).await.unwrap();
    let found = sink
        .query(&QueryCriteria::new().key("day/many"))
        .await
        .unwrap();
    assert_eq!(found[0].record, big);
    assert!(sink.delete("day/many").await.unwrap());

    // Deleting the record removes both.
    assert!(sink.delete("day/one").await.unwrap());
    assert!(
        files_under(sink.dir()).is_empty(),
        "{:?}",
        files_under(sink.dir())
    );
}

#[tokio::test]
async fn a_csv_file_that_does_not_match_its_index_is_skipped_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink(dir.path(), FileFormat::Csv);
    sink.connect().await.unwrap();
    let location = sink
        .store(Record::keyed("k", Payload::Table(table(FileFormat::Csv))).unwrap())
        .await
        .unwrap();
    sink.store(Record::keyed("other", Payload::Table(table(FileFormat::Csv))).unwrap())
        .await
        .unwrap();
    let data = std::fs::read(&location.path).unwrap();
    let index_path = sink.dir().join(".k.csv.index.json");
    let index = std::fs::read(&index_path).unwrap();
    let text = String::from_utf8(data.clone()).unwrap();
    // Same size, but a number where a boolean was, and a header of other names.
    let bad_value = text.replacen("true", "7777", 1);
    let bad_header = text.replacen("id,", "ix,", 1);
    assert_eq!(bad_value.len(), text.len());
    let rows = format!("\"rows\":{}", typed_batch().num_rows());
    let index_text = String::from_utf8(index.clone()).unwrap();
    assert!(index_text.contains(&rows), "{index_text}");
    let skipped: Vec<(Vec<u8>, Vec<u8>)> = vec![
        // A data file replaced without its index.
        (
            [data.as_slice(), b"4,1,1,1,1,true,x,y,2020-01-01,,,,,\n"].concat(),
            index.clone(),
        ),
        (Vec::new(), index.clone()),
        // An index that is not one.
        (data.clone(), b"{\"version\":1".to_vec()),
        (data.clone(), b"\xff\xfe".to_vec()),
    ];
    for (i, (data, index)) in skipped.into_iter().enumerate() {
        std::fs::write(&location.path, &data).unwrap();
        std::fs::write(&index_path, &index).unwrap();
        let found = sink.query(&QueryCriteria::new()).await.unwrap();
        let keys: Vec<&str> = found.iter().map(|s| s.record.key.as_str()).collect();
        assert_eq!(keys, vec!["other"], "case {i}: the changed file is skipped");
    }
    // A file of the size its index describes whose rows do not read back: an error that
    // names the file, never rows made up or silently dropped.
    let corrupt: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (bad_value.into_bytes(), index.clone()),
        (bad_header.into_bytes(), index.clone()),
        // An index claiming more rows than the file holds must not size an allocation.
        (
            data.clone(),
            index_text
                .replacen(&rows, "\"rows\":1000000000000", 1)
                .into_bytes(),
        ),
    ];
    for (i, (data, index)) in corrupt.into_iter().enumerate() {
        std::fs::write(&location.path, &data).unwrap();
        std::fs::write(&index_path, &index).unwrap();
        let err = sink
            .query(&QueryCriteria::new().key("k"))
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), ErrorType::InvalidState, "case {i}: {err}");
        assert!(err.to_string().contains("k.csv"), "case {i}: {err}");
    }
    std::fs::write(&location.path, &data).unwrap();
    std::fs::write(&index_path, &index).unwrap();
    assert_eq!(sink.query(&QueryCriteria::new()).await.unwrap().len(), 2);
    // A CSV file without an index is not ours: skipped, and not deleted.
    std::fs::remove_file(&index_path).unwrap();
    let found = sink.query(&QueryCriteria::new()).await.unwrap();
    assert_eq!(found.len(), 1);
    assert!(
        !sink.delete("k").await.unwrap(),
        "nothing of ours to delete"
    );
    assert!(Path::new(&location.path).exists());
}

#[tokio::test]
async fn csv_and_parquet_keep_nan_and_infinities() {
    for format in table_only_formats() {
        let dir = tempfile::tempdir().unwrap();
        let sink = sink(dir.path(), format);
        sink.connect().await.unwrap();
        let batch = RecordBatch::try_from_iter([
            (
                "value",
                Arc::new(Float64Array::from(vec![
                    f64::NAN,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                ])) as ArrayRef,
            ),
            (
                "small",
                Arc::new(Float32Array::from(vec![
                    f32::NAN,
                    f32::INFINITY,
                    f32::NEG_INFINITY,
                ])) as ArrayRef,
            ),
        ])
        .unwrap();
        sink.store(Record::keyed("k", Payload::Table(batch)).unwrap())
            .await
            .unwrap();
        let found = sink.query(&QueryCriteria::new()).await.unwrap();
        let Payload::Table(back) = &found[0].record.payload else {
            panic!("a table");
        };
        let values = back
            .column(0)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert!(values.value(0).is_nan(), "{format}");
        assert_eq!(values.value(1), f64::INFINITY, "{format}");
        assert_eq!(values.value(2), f64::NEG_INFINITY, "{format}");
        let small = back
            .column(1)
            .as_any()
            .downcast_ref::<Float32Array>()
            .unwrap();
        assert!(small.value(0).is_nan(), "{format}");
        assert_eq!(small.value(1), f32::INFINITY, "{format}");
        assert_eq!(small.value(2), f32::NEG_INFINITY, "{format}");
        assert_eq!(
            arrow_array::Array::null_count(values),
            0,
            "{format}: kept as values, not nulls"
        );
        assert_eq!(
            back.schema().field(0).data_type(),
            &arrow_schema::DataType::Float64,
            "{format}: the schema survives"
        );
    }
}
