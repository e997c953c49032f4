//! `LocalDirectorySource` against real files in a temp dir.
#![cfg(feature = "local")]

use std::path::Path;

use collectors_backends::LocalDirectorySource;
use collectors_core::conformance::{self, ConnectorFixture};
use collectors_core::{Connector, ErrorType, ItemSource, ListOptions, SourceItem};
use futures::TryStreamExt;

fn write(root: &Path, rel: &str, contents: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

fn seeded(fixture: &ConnectorFixture) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, contents) in &fixture.items {
        write(dir.path(), path, contents);
    }
    dir
}

#[tokio::test]
async fn meets_the_connector_contract() {
    let fixture = ConnectorFixture::standard();
    let dir = seeded(&fixture);
    let source = LocalDirectorySource::builder("fixture", dir.path())
        .build()
        .unwrap();
    conformance::connector(&source, &fixture).await;
}

#[tokio::test]
async fn items_are_the_matching_files_sorted_with_stable_ids_and_versions() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b.csv", b"1");
    write(dir.path(), "a.csv", b"22");
    write(dir.path(), "2024/03/c.csv", b"333");
    write(dir.path(), "2024/notes.txt", b"x");

    let top = LocalDirectorySource::builder("s", dir.path())
        .pattern("*.csv")
        .build()
        .unwrap();
    let ids: Vec<_> = top
        .items()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.item_id)
        .collect();
    assert_eq!(ids, ["a.csv", "b.csv"], "`*` does not cross `/`");

    let deep = LocalDirectorySource::builder("s", dir.path())
        .pattern("**/*.csv")
        .build()
        .unwrap();
    let items = deep.items().await.unwrap();
    let ids: Vec<_> = items.iter().map(|i| i.item_id.as_str()).collect();
    assert_eq!(ids, ["2024/03/c.csv", "a.csv", "b.csv"]);
    let c = &items[0];
    assert_eq!(c.source_id, "s");
    assert_eq!(c.size, Some(3));
    let (size, modified) = c.version.split_once('-').unwrap();
    assert_eq!(size, "3");
    chrono::DateTime::parse_from_rfc3339(modified).expect("the version ends in RFC 3339");
    assert!(modified.ends_with('Z') && modified.len() == "2024-01-01T00:00:00.000000000Z".len());

    // Same file, same version; a changed file, a new version.
    assert_eq!(deep.items().await.unwrap()[0].version, c.version);
    std::thread::sleep(std::time::Duration::from_millis(20));
    write(dir.path(), "2024/03/c.csv", b"4444");
    assert_ne!(deep.items().await.unwrap()[0].version, c.version);

    let all = LocalDirectorySource::builder("s", dir.path())
        .build()
        .unwrap();
    assert_eq!(
        all.items().await.unwrap().len(),
        4,
        "no pattern: every file"
    );
}

#[tokio::test]
async fn open_streams_in_bounded_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let contents: Vec<u8> = (0..(1024 * 1024 + 17)).map(|i| (i % 251) as u8).collect();
    write(dir.path(), "big.bin", &contents);
    let source = LocalDirectorySource::builder("s", dir.path())
        .chunk_size(64 * 1024)
        .build()
        .unwrap();
    let item = source.items().await.unwrap().remove(0);
    let chunks: Vec<_> = source
        .open(&item)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(chunks.iter().all(|c| c.len() <= 64 * 1024));
    assert_eq!(chunks.len(), 17, "16 full chunks and the 17-byte tail");
    assert_eq!(chunks.concat(), contents);

    // An empty file is an empty stream.
    write(dir.path(), "empty.csv", b"");
    let empty = SourceItem {
        item_id: "empty.csv".into(),
        ..item.clone()
    };
    let chunks: Vec<_> = source
        .open(&empty)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(chunks.is_empty());
}

#[tokio::test]
async fn open_failures_are_typed_and_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "gone.csv", b"x");
    let source = LocalDirectorySource::builder("s", dir.path())
        .build()
        .unwrap();
    let item = source.items().await.unwrap().remove(0);
    std::fs::remove_file(dir.path().join("gone.csv")).unwrap();
    let err = source.open(&item).await.err().expect("missing file");
    assert_eq!(err.error_type(), ErrorType::NotFound);
    assert!(err.to_string().contains("gone.csv"), "{err}");

    let hostile = SourceItem {
        item_id: "../outside.csv".into(),
        ..item.clone()
    };
    let err = source.open(&hostile).await.err().expect("hostile id");
    assert_eq!(err.error_type(), ErrorType::Validation);
}

#[cfg(unix)]
#[tokio::test]
async fn an_unreadable_file_is_a_data_fetch_error_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "secret.csv", b"x");
    let path = dir.path().join("secret.csv");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&path).is_ok() {
        eprintln!("skipped: running with privileges that read any file (root)");
        return;
    }
    let source = LocalDirectorySource::builder("s", dir.path())
        .build()
        .unwrap();
    let item = source.items().await.unwrap().remove(0);
    let err = source.open(&item).await.err().expect("unreadable");
    assert_eq!(err.error_type(), ErrorType::DataFetch);
    assert!(err.to_string().contains("secret.csv"), "{err}");
}

#[test]
fn build_checks_the_directory_the_glob_and_the_chunk_size() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = LocalDirectorySource::builder("s", &missing)
        .build()
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::NotFound);
    assert!(err.to_string().contains("nope"), "{err}");

    write(dir.path(), "file.txt", b"x");
    let err = LocalDirectorySource::builder("s", dir.path().join("file.txt"))
        .build()
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Configuration);
    assert!(err.to_string().contains("file.txt"), "{err}");

    let err = LocalDirectorySource::builder("s", dir.path())
        .pattern("[unclosed")
        .build()
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Configuration);
    assert!(err.to_string().contains("[unclosed"), "{err}");

    for bad in [
        LocalDirectorySource::builder("s", dir.path()).chunk_size(0),
        LocalDirectorySource::builder(" ", dir.path()),
    ] {
        assert_eq!(
            bad.build().unwrap_err().error_type(),
            ErrorType::Configuration
        );
    }
}

#[tokio::test]
async fn connector_lists_the_sources_files_and_fetches_atomically() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "2024/a.csv", b"a");
    write(dir.path(), "2024/b.txt", b"b");
    write(dir.path(), "2025/c.csv", b"c");
    let source = LocalDirectorySource::builder("s", dir.path())
        .pattern("**/*.csv")
        .build()
        .unwrap();
    let listed: Vec<_> = source
        .list_items(&ListOptions::new())
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.path)
        .collect();
    assert_eq!(
        listed,
        ["2024/a.csv", "2025/c.csv"],
        "the source's pattern applies"
    );
    let under: Vec<_> = source
        .list_items(&ListOptions::new().under("/2025/"))
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.path)
        .collect();
    assert_eq!(under, ["2025/c.csv"]);
    assert_eq!(
        source
            .list_items(&ListOptions::new().under("../x"))
            .await
            .unwrap_err()
            .error_type(),
        ErrorType::Validation
    );

    let workspace = tempfile::tempdir().unwrap();
    let local = source
        .fetch_data("2024/a.csv", workspace.path())
        .await
        .unwrap();
    assert_eq!(local, workspace.path().join("2024/a.csv"));
    assert_eq!(std::fs::read(&local).unwrap(), b"a");
    // Fetching again replaces the copy; no temp files are left behind.
    write(dir.path(), "2024/a.csv", b"a2");
    source
        .fetch_data("2024/a.csv", workspace.path())
        .await
        .unwrap();
    assert_eq!(std::fs::read(&local).unwrap(), b"a2");
    let names: Vec<_> = std::fs::read_dir(workspace.path().join("2024"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["a.csv"]);

    let metadata = source.get_metadata("2024/b.txt").await.unwrap();
    assert_eq!(metadata["size"], 1);
    assert_eq!(metadata["name"], "b.txt");
}
