//! One behaviour suite for object-store connectors, run against every store in
//! `services.rs`: listing with patterns and nested prefixes, fetch and metadata, each table
//! format, an object over the multipart threshold, create-only writes, hostile and odd
//! names, missing objects. (Wrong credentials and missing buckets are per service.)

use std::sync::Arc;

use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
use bytes::Bytes;
use collectors_backends::FileFormat;
use collectors_backends::object_store::{
    DataFrameFormat, ObjectStoreConnector, ObjectStoreSource, ObjectStoreStorage, WriteOptions,
};
use collectors_core::conformance::{self, ConnectorFixture};
use collectors_core::{
    Connector, DataSource, ErrorType, ListOptions, Payload, QueryCriteria, Record, Result,
    SourceItem, StorageBackend,
};
use futures::TryStreamExt;

use super::services::{Capabilities, SUITE_MULTIPART_THRESHOLD};

#[track_caller]
fn expect_error<T: std::fmt::Debug>(result: Result<T>, expected: ErrorType, rule: &str) -> String {
    match result {
        Ok(v) => panic!("{rule}: expected a {expected:?} error, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.error_type(), expected, "{rule}: {e}");
            e.to_string()
        }
    }
}

async fn put(store: &ObjectStoreConnector, name: &str, bytes: &[u8]) {
    store
        .write_file(
            name,
            Bytes::copy_from_slice(bytes),
            &WriteOptions::overwrite(),
        )
        .await
        .unwrap_or_else(|e| panic!("write_file({name}): {e}"));
}

async fn paths(store: &ObjectStoreConnector, options: ListOptions) -> Vec<String> {
    store
        .list_items(&options)
        .await
        .unwrap_or_else(|e| panic!("list_items({options:?}): {e}"))
        .into_iter()
        .map(|i| i.path)
        .collect()
}

/// The core `Connector` contract, on the standard fixture.
pub(crate) async fn connector_contract(store: &ObjectStoreConnector) {
    let fixture = ConnectorFixture::standard();
    for (path, contents) in &fixture.items {
        put(store, path, contents).await;
    }
    conformance::connector(store, &fixture).await;
}

fn table() -> RecordBatch {
    RecordBatch::try_from_iter_with_nullable([
        (
            "region",
            Arc::new(StringArray::from(vec![
                Some("north"),
                None,
                Some("é, \"quoted\""),
            ])) as _,
            true,
        ),
        (
            "amount",
            Arc::new(Int64Array::from(vec![10, -2, 30])) as _,
            true,
        ),
        (
            "share",
            Arc::new(Float64Array::from(vec![0.25, 0.5, 1.5])) as _,
            true,
        ),
    ])
    .unwrap()
}

/// Everything beyond the core contract.
pub(crate) async fn object_store(store: &ObjectStoreConnector, can: Capabilities) {
    listing(store).await;
    formats(store).await;
    if can.multipart {
        large_object(store).await;
    }
    if can.create_only {
        create_only(store).await;
    }
    hostile_names(store).await;
    odd_names(store).await;
    missing(store).await;
    workspace_escapes(store).await;
}

async fn listing(store: &ObjectStoreConnector) {
    for name in [
        "list/top.csv",
        "list/sample_1.csv",
        "list/notes.txt",
        "list/a/x.csv",
        "list/a/b/deep.parquet",
        "list/a/b/c/deeper.parquet",
        "list/a/bc/z.csv",
    ] {
        put(store, name, name.as_bytes()).await;
    }
    let under = |p: &str| ListOptions::new().under(p);
    assert_eq!(
        paths(store, under("list").matching("*.csv")).await,
        [
            "list/a/bc/z.csv",
            "list/a/x.csv",
            "list/sample_1.csv",
            "list/top.csv"
        ],
        "a pattern without `/` matches names at any depth"
    );
    assert_eq!(
        paths(store, under("list").matching("sample_*.csv")).await,
        ["list/sample_1.csv"]
    );
    assert_eq!(
        paths(store, under("list").matching("**/*.parquet")).await,
        ["list/a/b/c/deeper.parquet", "list/a/b/deep.parquet"],
        "`**/` crosses folders"
    );
    assert_eq!(
        paths(store, under("list").matching("a/*.csv")).await,
        ["list/a/x.csv"],
        "a pattern with `/` matches the path under the listed prefix, `*` stays in a folder"
    );
    assert_eq!(
        paths(store, under("list/a/b")).await,
        ["list/a/b/c/deeper.parquet", "list/a/b/deep.parquet"],
        "a prefix is whole folders: list/a/b does not take list/a/bc"
    );
    assert_eq!(
        paths(store, under("list/a/b/").matching("*.parquet")).await,
        ["list/a/b/c/deeper.parquet", "list/a/b/deep.parquet"],
        "a trailing `/` on the prefix changes nothing"
    );
    assert!(
        paths(store, under("list").matching("*.fcs"))
            .await
            .is_empty(),
        "a pattern that matches nothing is an empty list, not an error"
    );
    assert!(paths(store, under("no/such/folder")).await.is_empty());
    let pages: Vec<_> = store
        .list_stream(&under("list"))
        .try_collect()
        .await
        .expect("list_stream");
    assert_eq!(
        pages.iter().map(Vec::len).sum::<usize>(),
        7,
        "pages hold every object"
    );
    expect_error(
        store.list_items(&under("list").matching("{unclosed")).await,
        ErrorType::Validation,
        "an invalid glob",
    );
    let items = store
        .list_items(&under("list/a/b").matching("deep.parquet"))
        .await
        .unwrap();
    let item = &items[0];
    assert_eq!(item.name, "deep.parquet");
    assert_eq!(item.size, "list/a/b/deep.parquet".len() as u64);
    for key in ["e_tag", "version", "content_type", "uri"] {
        assert!(
            item.metadata.contains_key(key),
            "a listed item has `{key}`: {item:?}"
        );
    }
    assert_eq!(
        item.metadata["content_type"],
        "application/vnd.apache.parquet"
    );
}

async fn formats(store: &ObjectStoreConnector) {
    for format in [
        DataFrameFormat::Csv,
        DataFrameFormat::JsonLines,
        DataFrameFormat::Parquet,
    ] {
        let name = format!("tables/t.{}", format.extension());
        let written = store
            .write_dataframe(&name, &[table(), table()], None, &WriteOptions::overwrite())
            .await
            .unwrap_or_else(|e| panic!("write_dataframe({name}): {e}"));
        assert!(written.size > 0);
        let back = store
            .read_dataframe(&name, None)
            .await
            .unwrap_or_else(|e| panic!("read_dataframe({name}): {e}"));
        let rows: usize = back.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 6, "{format}: every row reads back");
        let all = arrow_select_concat(&back);
        assert_eq!(
            all.slice(0, 3),
            table(),
            "{format}: values, nulls and quoting survive"
        );
        let metadata = store.get_metadata(&name).await.unwrap();
        assert_eq!(metadata["size"], written.size, "{format}");
    }
    // The same bytes under another name: the format is given, not guessed.
    let csv = store.read_file("tables/t.csv").await.unwrap();
    put(store, "tables/no-extension", &csv).await;
    expect_error(
        store.read_dataframe("tables/no-extension", None).await,
        ErrorType::Validation,
        "a name with no table extension and no format",
    );
    let back = store
        .read_dataframe("tables/no-extension", Some(DataFrameFormat::Csv))
        .await
        .unwrap();
    assert_eq!(back.iter().map(RecordBatch::num_rows).sum::<usize>(), 6);
    put(store, "tables/empty.csv", b"").await;
    expect_error(
        store.read_dataframe("tables/empty.csv", None).await,
        ErrorType::Validation,
        "an empty CSV object",
    );
    put(store, "tables/garbage.parquet", b"not parquet at all").await;
    let message = expect_error(
        store.read_dataframe("tables/garbage.parquet", None).await,
        ErrorType::Validation,
        "bytes that are not Parquet",
    );
    assert!(message.contains("garbage.parquet"), "{message}");
}

fn arrow_select_concat(batches: &[RecordBatch]) -> RecordBatch {
    let schema = batches[0].schema();
    let columns = (0..schema.fields().len())
        .map(|i| {
            let arrays: Vec<_> = batches.iter().map(|b| b.column(i).as_ref()).collect();
            arrow_select::concat::concat(&arrays).unwrap()
        })
        .collect();
    RecordBatch::try_new(schema, columns).unwrap()
}

async fn large_object(store: &ObjectStoreConnector) {
    // 13 MiB of non-repeating bytes: above the 6 MiB threshold, two 8 MiB-or-less parts.
    let mut bytes = Vec::with_capacity(13 << 20);
    let mut x: u32 = 0x9e37_79b9;
    while bytes.len() < 13 << 20 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    assert!(bytes.len() > SUITE_MULTIPART_THRESHOLD);
    let outcome = store
        .write_file(
            "big/blob.bin",
            Bytes::from(bytes.clone()),
            &WriteOptions::overwrite(),
        )
        .await
        .expect("multipart write");
    assert!(
        outcome.multipart,
        "an object over the threshold goes up in parts"
    );
    assert_eq!(outcome.size, bytes.len() as u64);
    let back = store.read_file("big/blob.bin").await.unwrap();
    assert!(
        back == bytes,
        "the multipart object reads back byte for byte"
    );
    let workspace = tempfile::tempdir().unwrap();
    let local = store
        .fetch_data("big/blob.bin", workspace.path())
        .await
        .unwrap();
    assert!(
        std::fs::read(&local).unwrap() == bytes,
        "and fetches byte for byte"
    );
    let leftovers: Vec<_> = std::fs::read_dir(local.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temp file is left beside it: {leftovers:?}"
    );
    let small = store
        .write_file(
            "big/small.bin",
            Bytes::from_static(b"tiny"),
            &WriteOptions::overwrite(),
        )
        .await
        .unwrap();
    assert!(!small.multipart, "a small object is one request");
}

async fn create_only(store: &ObjectStoreConnector) {
    let first = store
        .write_file(
            "once/a.txt",
            Bytes::from_static(b"first"),
            &WriteOptions::create_only(),
        )
        .await
        .expect("a create-only write of a new object");
    assert_eq!(first.size, 5);
    let message = expect_error(
        store
            .write_file(
                "once/a.txt",
                Bytes::from_static(b"second"),
                &WriteOptions::create_only(),
            )
            .await,
        ErrorType::InvalidState,
        "a create-only write over an existing object",
    );
    assert!(
        message.contains("once/a.txt"),
        "the error names the object: {message}"
    );
    assert_eq!(
        store.read_file("once/a.txt").await.unwrap(),
        "first",
        "nothing was overwritten"
    );
    expect_error(
        store
            .write_dataframe(
                "once/a.txt",
                &[table()],
                Some(DataFrameFormat::Csv),
                &WriteOptions::create_only(),
            )
            .await,
        ErrorType::InvalidState,
        "a create-only dataframe write over an existing object",
    );
    store
        .write_file(
            "once/a.txt",
            Bytes::from_static(b"third"),
            &WriteOptions::overwrite(),
        )
        .await
        .expect("an overwrite replaces it");
    assert_eq!(store.read_file("once/a.txt").await.unwrap(), "third");
}

async fn hostile_names(store: &ObjectStoreConnector) {
    let workspace = tempfile::tempdir().unwrap();
    for name in [
        "",
        "/etc/passwd",
        "../../etc/passwd",
        "a/../../b",
        "a//b",
        "./a",
        "nul\0byte",
        "new\nline",
    ] {
        let rule = format!("hostile name {name:?}");
        expect_error(store.read_file(name).await, ErrorType::Validation, &rule);
        expect_error(store.get_metadata(name).await, ErrorType::Validation, &rule);
        expect_error(
            store.fetch_data(name, workspace.path()).await,
            ErrorType::Validation,
            &rule,
        );
        expect_error(
            store
                .write_file(name, Bytes::from_static(b"x"), &WriteOptions::overwrite())
                .await,
            ErrorType::Validation,
            &rule,
        );
        expect_error(store.delete(name).await, ErrorType::Validation, &rule);
    }
    assert_eq!(
        std::fs::read_dir(workspace.path()).unwrap().count(),
        0,
        "nothing was written for a hostile name"
    );
}

async fn odd_names(store: &ObjectStoreConnector) {
    let workspace = tempfile::tempdir().unwrap();
    for name in [
        "odd/with space #1 %41 ?&=+.csv",
        "odd/ünïcødé/文件.csv",
        "odd/quote'\"and;semi.csv",
    ] {
        put(store, name, name.as_bytes()).await;
        assert_eq!(
            store.read_file(name).await.unwrap(),
            name.as_bytes(),
            "{name}"
        );
        let local = store.fetch_data(name, workspace.path()).await.unwrap();
        assert_eq!(local, workspace.path().join(name), "{name}");
        assert_eq!(std::fs::read(&local).unwrap(), name.as_bytes(), "{name}");
    }
    let listed = paths(store, ListOptions::new().under("odd")).await;
    let mut expected = vec![
        "odd/quote'\"and;semi.csv",
        "odd/with space #1 %41 ?&=+.csv",
        "odd/ünïcødé/文件.csv",
    ];
    expected.sort();
    assert_eq!(listed, expected, "odd names list exactly as written");
}

async fn missing(store: &ObjectStoreConnector) {
    let workspace = tempfile::tempdir().unwrap();
    let message = expect_error(
        store.read_file("gone/none.csv").await,
        ErrorType::NotFound,
        "reading a missing object",
    );
    assert!(
        message.contains("gone/none.csv"),
        "the error names the object: {message}"
    );
    expect_error(
        store.get_metadata("gone/none.csv").await,
        ErrorType::NotFound,
        "metadata of a missing object",
    );
    expect_error(
        store.read_dataframe("gone/none.csv", None).await,
        ErrorType::NotFound,
        "a missing table",
    );
    expect_error(
        store.fetch_data("gone/none.csv", workspace.path()).await,
        ErrorType::NotFound,
        "fetching a missing object",
    );
    assert!(
        !workspace.path().join("gone").exists(),
        "a fetch of a missing object leaves nothing in the workspace, not even its folder"
    );
    assert!(
        !store.delete("gone/none.csv").await.unwrap(),
        "deleting nothing is Ok(false)"
    );
    put(store, "gone/here.csv", b"x").await;
    assert!(store.delete("gone/here.csv").await.unwrap());
    expect_error(
        store.read_file("gone/here.csv").await,
        ErrorType::NotFound,
        "a deleted object",
    );
}

async fn workspace_escapes(store: &ObjectStoreConnector) {
    put(store, "link/x.csv", b"secret").await;
    let outside = tempfile::tempdir().unwrap();
    let workspace = tempfile::tempdir().unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outside.path(), workspace.path().join("link")).unwrap();
        expect_error(
            store.fetch_data("link/x.csv", workspace.path()).await,
            ErrorType::Validation,
            "a fetch through a symbolic link leading out of the workspace",
        );
        assert_eq!(
            std::fs::read_dir(outside.path()).unwrap().count(),
            0,
            "nothing was written outside the workspace"
        );
    }
}

/// The engine's keys land as `{source}/{item}/part-NNNNN.parquet`, plain Parquet that reads
/// back as a table; a create-only store leaves an existing object as it was.
pub(crate) async fn storage_layout(connector: Arc<ObjectStoreConnector>, can: Capabilities) {
    let sink = ObjectStoreStorage::new("lake", connector.clone(), FileFormat::Parquet);
    sink.connect().await.unwrap();
    let records: Vec<Record> = (0..3)
        .map(|batch| {
            Record::keyed(
                format!("incoming/2024/a.csv#{batch}"),
                Payload::Table(table()),
            )
            .unwrap()
            .with_metadata("batch", batch)
        })
        .collect();
    sink.store_batch(&records).await.unwrap();
    let listed = paths(&connector, ListOptions::new().under("incoming")).await;
    assert_eq!(
        listed,
        [
            "incoming/2024/a.csv/part-00000.parquet",
            "incoming/2024/a.csv/part-00001.parquet",
            "incoming/2024/a.csv/part-00002.parquet",
        ],
        "one folder per source item, one part per batch, in order"
    );
    // Any Parquet reader sees the rows: here our own dataframe reader.
    let rows = connector
        .read_dataframe("incoming/2024/a.csv/part-00001.parquet", None)
        .await
        .unwrap();
    assert_eq!(rows.iter().map(RecordBatch::num_rows).sum::<usize>(), 3);
    let found = sink
        .query(&QueryCriteria::new().key_prefix("incoming/2024/a.csv#"))
        .await
        .unwrap();
    assert_eq!(found.len(), 3);
    assert!(
        found[0]
            .location
            .path
            .ends_with("incoming/2024/a.csv/part-00000.parquet")
    );

    csv_item(&connector, can).await;

    if !can.create_only {
        return;
    }
    let replay =
        ObjectStoreStorage::new("lake", connector.clone(), FileFormat::Parquet).create_only(true);
    replay.connect().await.unwrap();
    let other = RecordBatch::try_from_iter([(
        "x",
        Arc::new(Int64Array::from(vec![1])) as arrow_array::ArrayRef,
    )])
    .unwrap();
    let changed = Record::keyed("incoming/2024/a.csv#0", Payload::Table(other)).unwrap();
    replay
        .store_batch(&[changed])
        .await
        .expect("a create-only replay is a no-op, not an error");
    let kept = sink
        .query(&QueryCriteria::new().key("incoming/2024/a.csv#0"))
        .await
        .unwrap();
    assert_eq!(
        kept[0].record.payload,
        Payload::Table(table()),
        "create-only never overwrites"
    );
}

/// A CSV item: one plain CSV object that any CSV reader takes, its hidden index object beside
/// it, both replaced together by a redo; create-only refuses another version.
async fn csv_item(connector: &Arc<ObjectStoreConnector>, can: Capabilities) {
    let records = |version: i64| -> Vec<Record> {
        (0..2u64)
            .map(|batch| {
                let mut rows = table();
                if version > 1 {
                    rows = rows.slice(0, 1);
                }
                Record::keyed(format!("csv-items/b.csv#{batch}"), Payload::Table(rows))
                    .unwrap()
                    .with_metadata("source_id", "csv-items")
                    .with_metadata("item_id", "b.csv")
                    .with_metadata("batch", batch)
            })
            .collect()
    };
    let csv = ObjectStoreStorage::new("lake-csv", connector.clone(), FileFormat::Csv)
        .create_only(can.create_only);
    csv.connect().await.unwrap();
    csv.store_batch(&records(1)).await.unwrap();
    let item = SourceItem::listed("csv-items", "b.csv", "v1");
    csv.finish_item(&item).await.unwrap();
    let listed = paths(connector, ListOptions::new().under("csv-items")).await;
    assert_eq!(
        listed,
        ["csv-items/.b.csv.csv.index.json", "csv-items/b.csv.csv"],
        "one CSV object per item, its index hidden beside it"
    );
    let rows = connector
        .read_dataframe("csv-items/b.csv.csv", None)
        .await
        .unwrap();
    assert_eq!(
        rows.iter().map(RecordBatch::num_rows).sum::<usize>(),
        6,
        "a CSV reader sees both batches' rows under one header"
    );
    let found = csv
        .query(&QueryCriteria::new().key_prefix("csv-items/"))
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found[1].record.payload, Payload::Table(table()));
    assert_eq!(found[1].record.metadata["batch"], 1);

    // A redo of the same version is a no-op; another version replaces both objects, or
    // (create-only) is refused and both stay.
    csv.store_batch(&records(1)).await.unwrap();
    csv.finish_item(&item).await.unwrap();
    csv.store_batch(&records(2)).await.unwrap();
    let changed = csv
        .finish_item(&SourceItem::listed("csv-items", "b.csv", "v2"))
        .await;
    let rows_now = if can.create_only {
        assert_eq!(changed.unwrap_err().error_type(), ErrorType::InvalidState);
        3
    } else {
        changed.unwrap();
        1
    };
    let found = csv
        .query(&QueryCriteria::new().key("csv-items/b.csv#0"))
        .await
        .unwrap();
    assert_eq!(found[0].record.payload.num_rows(), Some(rows_now));
    assert!(csv.delete("csv-items/b.csv#0").await.unwrap());
    assert!(csv.delete("csv-items/b.csv#1").await.unwrap());
    assert!(
        paths(connector, ListOptions::new().under("csv-items"))
            .await
            .is_empty(),
        "deleting the last record removes the object and its index"
    );
}

/// The listed `DataSource` contract on objects matching `*.csv` (an empty one included), and
/// versions that change exactly when an object does.
pub(crate) async fn source_contract(connector: Arc<ObjectStoreConnector>) {
    let items: [(&str, &[u8]); 4] = [
        ("2024/b.csv", b"k,v\nb,2\n"),
        ("2024/01/a.csv", b"k,v\na,1\n"),
        ("top.csv", b"k,v\n"),
        ("empty.csv", b""),
    ];
    for (name, bytes) in items {
        put(&connector, name, bytes).await;
    }
    put(&connector, "notes.txt", b"not a csv").await;
    let source = ObjectStoreSource::new("objects", connector.clone())
        .with_pattern("*.csv")
        .unwrap();
    conformance::data_source_listed(&source, &items).await;

    let before: Vec<_> = source.list().try_concat().await.unwrap();
    put(&connector, "top.csv", b"k,v\nchanged,3\n").await;
    let after: Vec<_> = source.list().try_concat().await.unwrap();
    assert_eq!(before.len(), after.len());
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(old.item_id, new.item_id);
        if old.item_id == "top.csv" {
            assert_ne!(
                old.version, new.version,
                "a changed object has a new version"
            );
        } else {
            assert_eq!(
                old.version, new.version,
                "{}: unchanged, same version",
                old.item_id
            );
        }
    }
}
