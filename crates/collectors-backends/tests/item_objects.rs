//! One object per source item: an engine run of three CSV-like items into the local file
//! sink and into an object store (memory), the exact names, the row groups in batch order,
//! retries, abandoned items, failed publishes, create-only redo, and query/delete on items.
#![cfg(feature = "object-store")]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::{Array, Int64Array, StringArray};
use bytes::Bytes;
use collectors_backends::object_store::{ObjectStoreConfig, ObjectStoreStorage, get_connector};
use collectors_backends::{FileFormat, FileSink};
use collectors_core::{
    CancellationToken, Connector, DataSource, Engine, EngineConfig, Error, ErrorType,
    InMemorySource, Payload, QueryCriteria, Record, Result, RunOutcome, SourceItem, StorageBackend,
    StorageLocation, StoredRecord, async_trait,
};
use collectors_mocks::MockDecoder;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

const ITEMS: usize = 3;
const ROWS: usize = 250;
/// Rows per decoded batch: 250 rows are 7 batches (6 × 40 + 10).
const BATCH: usize = 40;

fn source() -> Arc<dyn DataSource> {
    let mut source = InMemorySource::new("files");
    for i in 0..ITEMS {
        let rows: String = (0..ROWS).map(|r| format!("k{i},{r}\n")).collect();
        source = source.with_item(format!("part-{i:02}.csv"), rows);
    }
    Arc::new(source)
}

fn engine(store: Arc<dyn StorageBackend>) -> Engine {
    Engine::builder("items")
        .source(source(), Arc::new(MockDecoder::new(BATCH)))
        .store(store)
        .checkpoints(Arc::new(collectors_core::InMemoryCheckpointStore::new()))
        .dead_letters(Arc::new(collectors_core::InMemoryDeadLetterSink::new()))
        .config(EngineConfig {
            max_items_in_flight: 2,
            // Store batches that span items and batches: each object still gets its own.
            store_batch_rows: 100,
            ..EngineConfig::default()
        })
        .build()
        .unwrap()
}

/// Paths (with `/`) of the files under `dir`, at any depth, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
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

/// The names of the three items' files (and for CSV, their hidden indexes), sorted.
fn expected_names(format: FileFormat) -> Vec<String> {
    let mut names = Vec::new();
    for i in 0..ITEMS {
        names.push(format!("files/part-{i:02}.csv.{}", format.extension()));
        if format == FileFormat::Csv {
            names.push(format!("files/.part-{i:02}.csv.csv.index.json"));
        }
    }
    names.sort();
    names
}

/// Checks one item's CSV file: a `key,value` header, then every row of the item, in order.
fn check_item_csv(bytes: &[u8], item: usize, rows: usize) {
    let text = std::str::from_utf8(bytes).unwrap();
    let expected: String = std::iter::once("key,value\n".to_owned())
        .chain((0..rows).map(|r| format!("k{item},{r}\n")))
        .collect();
    assert_eq!(text, expected, "item {item}: plain CSV, every row in order");
}

/// Checks one item's file of `format`.
fn check_item(format: FileFormat, bytes: Bytes, item: usize) {
    match format {
        FileFormat::Parquet => check_item_parquet(bytes, item),
        FileFormat::Csv => check_item_csv(&bytes, item, ROWS),
        _ => {}
    }
}

/// Checks one item's Parquet file: plain rows `key`, `value`, one row group per batch, in
/// batch order, every row of the item.
fn check_item_parquet(bytes: Bytes, item: usize) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
    let groups: Vec<i64> = builder
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .collect();
    let mut expected = vec![BATCH as i64; ROWS / BATCH];
    expected.push((ROWS % BATCH) as i64);
    assert_eq!(groups, expected, "item {item}: one row group per batch");
    let fields: Vec<&str> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(fields, ["key", "value"], "plain columns, nothing added");
    let mut values = Vec::new();
    for batch in builder.build().unwrap() {
        let batch = batch.unwrap();
        let keys = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert!(keys.iter().all(|k| k == Some(format!("k{item}").as_str())));
        let column = batch
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(column.null_count(), 0);
        values.extend(column.values().iter().copied());
    }
    assert_eq!(
        values,
        (0..ROWS as i64).collect::<Vec<_>>(),
        "item {item}: every row, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_items_become_three_files_in_a_directory() {
    for format in [FileFormat::Parquet, FileFormat::Csv] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let sink = Arc::new(
            FileSink::builder("out", &out)
                .format(format)
                .build()
                .unwrap(),
        );
        let summary = engine(sink.clone())
            .run(CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(summary.outcome, RunOutcome::Completed, "{summary:?}");
        assert_eq!(summary.counts.stored, (ITEMS * ROWS) as u64);
        assert_eq!(
            files_under(&out),
            expected_names(format),
            "{format}: exactly one file per item, no temp left"
        );
        let file = |i: usize| out.join(format!("files/part-{i:02}.csv.{}", format.extension()));
        for i in 0..ITEMS {
            check_item(format, Bytes::from(std::fs::read(file(i)).unwrap()), i);
        }

        // query and delete work on the records inside the items' files.
        sink.connect().await.unwrap();
        let all = sink
            .query(&QueryCriteria::new().key_prefix("files/part-01"))
            .await
            .unwrap();
        assert_eq!(all.len(), ROWS.div_ceil(BATCH));
        let mut keys: Vec<String> = (0..ROWS.div_ceil(BATCH))
            .map(|b| format!("files/part-01.csv#{b}"))
            .collect();
        keys.sort();
        assert_eq!(
            all.iter().map(|s| s.record.key.clone()).collect::<Vec<_>>(),
            keys
        );
        let name = format!("files/part-01.csv.{}", format.extension());
        assert!(all.iter().all(|s| s.location.path.ends_with(&name)));
        assert_eq!(all[0].record.metadata["item_id"], "part-01.csv");
        let one = sink
            .query(&QueryCriteria::new().key("files/part-01.csv#6"))
            .await
            .unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].record.payload.num_rows(), Some(ROWS % BATCH));
        let middle = sink
            .query(&QueryCriteria::new().key("files/part-01.csv#3"))
            .await
            .unwrap();
        assert_eq!(middle[0].record.payload.num_rows(), Some(BATCH));

        assert!(sink.delete("files/part-01.csv#6").await.unwrap());
        assert!(!sink.delete("files/part-01.csv#6").await.unwrap());
        let left = sink
            .query(&QueryCriteria::new().key_prefix("files/part-01"))
            .await
            .unwrap();
        assert_eq!(left.len(), ROWS / BATCH, "{format}: the other batches stay");
        let bytes = Bytes::from(std::fs::read(file(1)).unwrap());
        if format == FileFormat::Parquet {
            let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
            assert_eq!(builder.metadata().num_row_groups(), ROWS / BATCH);
        } else {
            check_item_csv(&bytes, 1, ROWS - ROWS % BATCH);
        }
        assert_eq!(
            files_under(&out),
            expected_names(format),
            "{format}: rewritten in place"
        );
        // Deleting a batch in the middle keeps the rows around it, in order.
        assert!(sink.delete("files/part-01.csv#0").await.unwrap());
        let second = sink
            .query(&QueryCriteria::new().key("files/part-01.csv#1"))
            .await
            .unwrap();
        assert_eq!(second[0].record.payload.num_rows(), Some(BATCH));
        // Deleting an item's last record removes its file (and its index).
        for b in 1..ROWS / BATCH {
            assert!(
                sink.delete(&format!("files/part-01.csv#{b}"))
                    .await
                    .unwrap()
            );
        }
        let mut expected = expected_names(format);
        expected.retain(|n| !n.contains("part-01"));
        assert_eq!(files_under(&out), expected, "{format}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_items_become_three_objects_in_a_store() {
    for format in [FileFormat::Parquet, FileFormat::Jsonl, FileFormat::Csv] {
        let connector =
            Arc::new(get_connector("memory:///lake/out", &ObjectStoreConfig::new()).unwrap());
        let store = Arc::new(ObjectStoreStorage::new("lake", connector.clone(), format));
        let summary = engine(store.clone())
            .run(CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(summary.outcome, RunOutcome::Completed, "{summary:?}");
        assert_eq!(summary.counts.stored, (ITEMS * ROWS) as u64);
        let mut names: Vec<String> = connector
            .list_items(&collectors_core::ListOptions::new())
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.path)
            .collect();
        names.sort();
        assert_eq!(names, expected_names(format), "{format}");
        for i in 0..ITEMS {
            let bytes = connector
                .read_file(&format!("files/part-{i:02}.csv.{}", format.extension()))
                .await
                .unwrap();
            check_item(format, bytes, i);
        }
        store.connect().await.unwrap();
        let found = store
            .query(&QueryCriteria::new().key_prefix("files/"))
            .await
            .unwrap();
        assert_eq!(found.len(), ITEMS * ROWS.div_ceil(BATCH), "{format}");
        let rows: usize = found
            .iter()
            .filter_map(|s| s.record.payload.num_rows())
            .sum();
        assert_eq!(rows, ITEMS * ROWS);
        assert!(store.delete("files/part-02.csv#0").await.unwrap());
        let left = store
            .query(&QueryCriteria::new().key_prefix("files/part-02"))
            .await
            .unwrap();
        assert_eq!(left.len(), ROWS.div_ceil(BATCH) - 1, "{format}");
        let first = store
            .query(&QueryCriteria::new().key("files/part-02.csv#1"))
            .await
            .unwrap();
        let Payload::Table(batch) = &first[0].record.payload else {
            panic!("a table");
        };
        let values = batch
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(
            values.value(0),
            BATCH as i64,
            "{format}: the rows after it stay"
        );
    }
}

/// A connected Parquet file sink writing under `out`.
async fn parquet_sink(out: &Path) -> FileSink {
    let sink = FileSink::builder("out", out)
        .format(FileFormat::Parquet)
        .build()
        .unwrap();
    sink.connect().await.unwrap();
    sink
}

fn item_record(item: &str, batch: u64, first: i64) -> Record {
    let table = arrow_array::RecordBatch::try_from_iter([
        (
            "key",
            Arc::new(StringArray::from(vec!["k", "k"])) as arrow_array::ArrayRef,
        ),
        (
            "value",
            Arc::new(Int64Array::from(vec![first, first + 1])) as _,
        ),
    ])
    .unwrap();
    Record::keyed(format!("files/{item}#{batch}"), Payload::Table(table))
        .unwrap()
        .with_metadata("source_id", "files")
        .with_metadata("item_id", item)
        .with_metadata("batch", batch)
}

#[tokio::test]
async fn a_retried_batch_is_written_once_and_an_unfinished_item_stays_invisible() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let sink = parquet_sink(&out).await;
    let first = [item_record("a.csv", 0, 0), item_record("b.csv", 0, 100)];
    sink.store_batch(&first).await.unwrap();
    // The engine retries a whole store batch: what is already in the item is not repeated.
    sink.store_batch(&first).await.unwrap();
    sink.store_batch(&[item_record("a.csv", 1, 2)])
        .await
        .unwrap();
    let visible: Vec<String> = files_under(&out)
        .into_iter()
        .filter(|n| !n.split('/').any(|s| s.starts_with('.')))
        .collect();
    assert!(
        visible.is_empty(),
        "nothing visible before finish_item: {visible:?}"
    );
    assert!(
        sink.query(&QueryCriteria::new()).await.unwrap().is_empty(),
        "nor queryable"
    );

    sink.finish_item(&SourceItem::listed("files", "a.csv", "v1"))
        .await
        .unwrap();
    sink.abandon_item(&SourceItem::listed("files", "b.csv", "v1"))
        .await;
    assert_eq!(
        files_under(&out),
        vec!["files/a.csv.parquet"],
        "b left no temp file"
    );
    let bytes = std::fs::read(out.join("files/a.csv.parquet")).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes)).unwrap();
    assert_eq!(
        reader.metadata().num_row_groups(),
        2,
        "batch 0 once, then batch 1"
    );

    // A second schema in one item's Parquet file is refused before anything is written.
    let other = Record::keyed(
        "files/c.csv#1",
        Payload::Table(
            arrow_array::RecordBatch::try_from_iter([(
                "x",
                Arc::new(Int64Array::from(vec![1])) as arrow_array::ArrayRef,
            )])
            .unwrap(),
        ),
    )
    .unwrap()
    .with_metadata("source_id", "files")
    .with_metadata("item_id", "c.csv")
    .with_metadata("batch", 1u64);
    sink.store_batch(&[item_record("c.csv", 0, 0)])
        .await
        .unwrap();
    let err = sink.store_batch(&[other]).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Validation, "{err}");
    sink.finish_item(&SourceItem::listed("files", "c.csv", "v1"))
        .await
        .unwrap();
    let bytes = std::fs::read(out.join("files/c.csv.parquet")).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes)).unwrap();
    assert_eq!(
        reader.metadata().num_row_groups(),
        1,
        "the good batch is published"
    );

    // An item with nothing stored publishes nothing.
    sink.finish_item(&SourceItem::listed("files", "empty.csv", "v1"))
        .await
        .unwrap();
    assert!(!out.join("files/empty.csv.parquet").exists());
}

#[tokio::test]
async fn hostile_item_ids_stay_inside_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let sink = FileSink::builder("out", &out)
        .format(FileFormat::Jsonl)
        .build()
        .unwrap();
    sink.connect().await.unwrap();
    for item in [
        "../../escape.csv",
        "/abs.csv",
        "./x/../../y.csv",
        "nul\0.csv",
    ] {
        sink.store_batch(&[item_record(item, 0, 0)]).await.unwrap();
        sink.finish_item(&SourceItem::listed("files", item, "v1"))
            .await
            .unwrap();
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing written beside the output directory"
    );
    let names = files_under(&out);
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(
        names.contains(&"files/%2E%2E/%2E%2E/escape.csv.jsonl".to_owned()),
        "{names:?}"
    );
    let found = sink.query(&QueryCriteria::new()).await.unwrap();
    assert_eq!(found.len(), 4);

    // A folder that is a symlink out of the directory is refused.
    #[cfg(unix)]
    {
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, out.join("linked")).unwrap();
        let mut record = item_record("a.csv", 0, 0);
        record.key = "linked/a.csv#0".into();
        record.metadata.insert("source_id".into(), "linked".into());
        sink.store_batch(&[record]).await.unwrap_err();
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    }
}

/// A file sink whose `finish_item` fails for one item.
struct FailsToPublish {
    inner: FileSink,
    item: &'static str,
    calls: AtomicUsize,
}

#[async_trait]
impl StorageBackend for FailsToPublish {
    fn backend_id(&self) -> &str {
        self.inner.backend_id()
    }
    async fn connect(&self) -> Result<()> {
        self.inner.connect().await
    }
    async fn disconnect(&self) -> Result<()> {
        self.inner.disconnect().await
    }
    async fn store_batch(&self, records: &[Record]) -> Result<()> {
        self.inner.store_batch(records).await
    }
    async fn query(&self, criteria: &QueryCriteria) -> Result<Vec<StoredRecord>> {
        self.inner.query(criteria).await
    }
    async fn delete(&self, location_id: &str) -> Result<bool> {
        self.inner.delete(location_id).await
    }
    fn location_of(&self, record: &Record) -> StorageLocation {
        self.inner.location_of(record)
    }
    async fn finish_item(&self, item: &SourceItem) -> Result<()> {
        if item.item_id == self.item {
            self.calls.fetch_add(1, Ordering::SeqCst);
            return Err(Error::validation("the bucket refuses this object"));
        }
        self.inner.finish_item(item).await
    }
    async fn abandon_item(&self, item: &SourceItem) {
        self.inner.abandon_item(item).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_that_cannot_be_published_is_not_checkpointed_and_its_rows_fail() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let store = Arc::new(FailsToPublish {
        inner: FileSink::builder("out", &out)
            .format(FileFormat::Parquet)
            .build()
            .unwrap(),
        item: "part-01.csv",
        calls: AtomicUsize::new(0),
    });
    let checkpoints = Arc::new(collectors_core::InMemoryCheckpointStore::new());
    let summary = Engine::builder("items")
        .source(source(), Arc::new(MockDecoder::new(BATCH)))
        .store(store.clone())
        .checkpoints(checkpoints.clone())
        .dead_letters(Arc::new(collectors_core::InMemoryDeadLetterSink::new()))
        .build()
        .unwrap()
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        store.calls.load(Ordering::SeqCst),
        1,
        "a validation error is not retried"
    );
    let counts = summary.counts;
    assert_eq!(counts.stored, (2 * ROWS) as u64, "{summary:?}");
    assert_eq!(counts.failed, ROWS as u64, "{summary:?}");
    assert_eq!(
        counts.collected,
        counts.stored + counts.skipped + counts.dead_lettered + counts.failed
    );
    assert_eq!(
        files_under(&out),
        vec!["files/part-00.csv.parquet", "files/part-02.csv.parquet"],
        "the failed item left nothing, not even a temp file"
    );
    let done = collectors_core::CheckpointStore::done(checkpoints.as_ref(), "items")
        .await
        .unwrap();
    let mut ids: Vec<String> = done.keys().map(|(_, item)| item.clone()).collect();
    ids.sort();
    assert_eq!(
        ids,
        ["part-00.csv", "part-02.csv"],
        "part-01 is redone by the next run"
    );
}

#[tokio::test]
async fn create_only_redoes_the_same_version_and_refuses_another() {
    for format in [FileFormat::Parquet, FileFormat::Csv] {
        let connector =
            Arc::new(get_connector("memory:///lake", &ObjectStoreConfig::new()).unwrap());
        let store = ObjectStoreStorage::new("lake", connector.clone(), format).create_only(true);
        store.connect().await.unwrap();
        let publish = |version: &'static str, first: i64| {
            let store = &store;
            async move {
                store.store_batch(&[item_record("a.csv", 0, first)]).await?;
                store
                    .finish_item(&SourceItem::listed("files", "a.csv", version))
                    .await
            }
        };
        let name = format!("files/a.csv.{}", format.extension());
        publish("v1", 0).await.unwrap();
        let original = connector.read_file(&name).await.unwrap();
        // The redo of v1 (a crash between the upload and the checkpoint) is a no-op.
        publish("v1", 0).await.unwrap();
        // v2 is refused: the object stays v1's.
        let err = publish("v2", 10).await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::InvalidState, "{err}");
        assert!(!err.is_retryable());
        assert!(err.to_string().contains(&name), "{err}");
        assert_eq!(connector.read_file(&name).await.unwrap(), original);
        let found = store.query(&QueryCriteria::new()).await.unwrap();
        assert_eq!(found.len(), 1, "{format}");
        assert_eq!(
            found[0].record.payload,
            item_record("a.csv", 0, 0).payload,
            "{format}: v1's rows"
        );
    }
}

/// An item whose new version stores no rows (every row filtered or dead-lettered) must not
/// leave its old version's rows visible: the file or object of the old version goes, the
/// same version's stays, and a create-only store keeps what it has.
#[tokio::test]
async fn an_item_that_now_stores_no_rows_leaves_no_stale_file_or_object() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let sink = parquet_sink(&out).await;
    let connector = Arc::new(get_connector("memory:///lake", &ObjectStoreConfig::new()).unwrap());
    let objects = ObjectStoreStorage::new("lake", connector.clone(), FileFormat::Parquet);
    let kept = Arc::new(get_connector("memory:///kept", &ObjectStoreConfig::new()).unwrap());
    let create_only =
        ObjectStoreStorage::new("kept", kept.clone(), FileFormat::Parquet).create_only(true);
    let stores: [&dyn StorageBackend; 3] = [&sink, &objects, &create_only];
    for store in stores {
        store.connect().await.unwrap();
        store
            .store_batch(&[item_record("a.csv", 0, 0)])
            .await
            .unwrap();
        store
            .finish_item(&SourceItem::listed("files", "a.csv", "v1"))
            .await
            .unwrap();
        // The same version again, with nothing stored this time: its file stays.
        store
            .finish_item(&SourceItem::listed("files", "a.csv", "v1"))
            .await
            .unwrap();
    }
    assert!(out.join("files/a.csv.parquet").exists());
    assert!(connector.read_file("files/a.csv.parquet").await.is_ok());

    for store in stores {
        store
            .finish_item(&SourceItem::listed("files", "a.csv", "v2"))
            .await
            .unwrap();
    }
    assert!(
        !out.join("files/a.csv.parquet").exists(),
        "v1's file is gone"
    );
    assert!(files_under(&out).is_empty(), "{:?}", files_under(&out));
    let gone = connector
        .read_file("files/a.csv.parquet")
        .await
        .unwrap_err();
    assert_eq!(
        gone.error_type(),
        ErrorType::NotFound,
        "v1's object is gone"
    );
    assert!(
        kept.read_file("files/a.csv.parquet").await.is_ok(),
        "a create-only store replaces nothing"
    );
    assert!(sink.query(&QueryCriteria::new()).await.unwrap().is_empty());
    assert!(
        objects
            .query(&QueryCriteria::new())
            .await
            .unwrap()
            .is_empty()
    );
}

/// A file sink that notes, at each `finish_item`, whether the item was already checkpointed.
struct WatchesOrder {
    inner: FileSink,
    checkpoints: Arc<collectors_core::InMemoryCheckpointStore>,
    finished: std::sync::Mutex<Vec<(String, bool)>>,
}

#[async_trait]
impl StorageBackend for WatchesOrder {
    fn backend_id(&self) -> &str {
        self.inner.backend_id()
    }
    async fn connect(&self) -> Result<()> {
        self.inner.connect().await
    }
    async fn disconnect(&self) -> Result<()> {
        self.inner.disconnect().await
    }
    async fn store_batch(&self, records: &[Record]) -> Result<()> {
        self.inner.store_batch(records).await
    }
    async fn query(&self, criteria: &QueryCriteria) -> Result<Vec<StoredRecord>> {
        self.inner.query(criteria).await
    }
    async fn delete(&self, location_id: &str) -> Result<bool> {
        self.inner.delete(location_id).await
    }
    async fn finish_item(&self, item: &SourceItem) -> Result<()> {
        let done = collectors_core::CheckpointStore::done(self.checkpoints.as_ref(), "items")
            .await
            .unwrap();
        let already = done.contains_key(&(item.source_id.clone(), item.item_id.clone()));
        self.finished
            .lock()
            .unwrap()
            .push((item.item_id.clone(), already));
        self.inner.finish_item(item).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_item_is_published_before_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = Arc::new(collectors_core::InMemoryCheckpointStore::new());
    let store = Arc::new(WatchesOrder {
        inner: FileSink::builder("out", dir.path().join("out"))
            .format(FileFormat::Parquet)
            .build()
            .unwrap(),
        checkpoints: checkpoints.clone(),
        finished: std::sync::Mutex::new(Vec::new()),
    });
    let summary = Engine::builder("items")
        .source(source(), Arc::new(MockDecoder::new(BATCH)))
        .store(store.clone())
        .checkpoints(checkpoints.clone())
        .dead_letters(Arc::new(collectors_core::InMemoryDeadLetterSink::new()))
        .build()
        .unwrap()
        .run(CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(summary.outcome, RunOutcome::Completed);
    let mut finished = store.finished.lock().unwrap().clone();
    finished.sort();
    assert_eq!(
        finished,
        (0..ITEMS)
            .map(|i| (format!("part-{i:02}.csv"), false))
            .collect::<Vec<_>>(),
        "finish_item once per item, each before its checkpoint"
    );
    let done = collectors_core::CheckpointStore::done(checkpoints.as_ref(), "items")
        .await
        .unwrap();
    assert_eq!(done.len(), ITEMS, "and then every item is checkpointed");
}

#[tokio::test]
async fn an_item_above_the_multipart_threshold_goes_up_in_parts() {
    for create_only in [false, true] {
        let connector = Arc::new(
            get_connector("memory:///lake", &ObjectStoreConfig::new())
                .unwrap()
                .with_multipart_threshold(1),
        );
        let temp = tempfile::tempdir().unwrap();
        let store = ObjectStoreStorage::new("lake", connector.clone(), FileFormat::Parquet)
            .create_only(create_only)
            .with_temp_dir(temp.path());
        store.connect().await.unwrap();
        let records: Vec<Record> = (0..5)
            .map(|b| item_record("big.csv", b, 2 * b as i64))
            .collect();
        store.store_batch(&records).await.unwrap();
        assert_eq!(
            std::fs::read_dir(temp.path()).unwrap().count(),
            1,
            "the item streams to one temp file"
        );
        let item = SourceItem::listed("files", "big.csv", "v1");
        store.finish_item(&item).await.unwrap();
        assert_eq!(
            std::fs::read_dir(temp.path()).unwrap().count(),
            0,
            "and it is gone"
        );
        let bytes = connector.read_file("files/big.csv.parquet").await.unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
        assert_eq!(reader.metadata().num_row_groups(), 5);
        if create_only {
            // The multipart path checks first: the same version is a redo, another refused.
            store.store_batch(&records).await.unwrap();
            store.finish_item(&item).await.unwrap();
            store.store_batch(&records).await.unwrap();
            let err = store
                .finish_item(&SourceItem::listed("files", "big.csv", "v2"))
                .await
                .unwrap_err();
            assert_eq!(err.error_type(), ErrorType::InvalidState, "{err}");
        }
    }
}
