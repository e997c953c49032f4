//! `LocalDirectorySource` against real files in a temp dir.
#![cfg(feature = "local")]

use std::path::Path;

use collectors_backends::LocalDirectorySource;
use collectors_core::conformance::{self, ConnectorFixture};
use collectors_core::{Connector, DataSource, ErrorType, ListOptions, Result, SourceItem};
use futures::TryStreamExt;

/// Every item of the source's listing.
async fn list_all(source: &LocalDirectorySource) -> Result<Vec<SourceItem>> {
    source.list().try_concat().await
}

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
    let ids: Vec<_> = list_all(&top)
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
    let items = list_all(&deep).await.unwrap();
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
    assert_eq!(list_all(&deep).await.unwrap()[0].version, c.version);
    std::thread::sleep(std::time::Duration::from_millis(20));
    write(dir.path(), "2024/03/c.csv", b"4444");
    assert_ne!(list_all(&deep).await.unwrap()[0].version, c.version);

    let all = LocalDirectorySource::builder("s", dir.path())
        .build()
        .unwrap();
    assert_eq!(
        list_all(&all).await.unwrap().len(),
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
    let item = list_all(&source).await.unwrap().remove(0);
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
    let item = list_all(&source).await.unwrap().remove(0);
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
    let item = list_all(&source).await.unwrap().remove(0);
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
        // Each chunk is allocated up front: the size is bounded.
        LocalDirectorySource::builder("s", dir.path()).chunk_size(64 * 1024 * 1024 + 1),
        LocalDirectorySource::builder("s", dir.path()).chunk_size(usize::MAX),
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

/// The warnings logged through `tracing`, captured by a global subscriber (tests run on many
/// threads, and listings on blocking ones): each test picks its own by a unique source id.
mod logs {
    use std::fmt::Write;
    use std::sync::{Mutex, Once};

    use tracing::field::{Field, Visit};
    use tracing::{Event, Level, Metadata, Subscriber, span};

    static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

    struct Capture;

    impl Subscriber for Capture {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            *metadata.level() <= Level::WARN
        }
        fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
            span::Id::from_u64(1)
        }
        fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
        fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut line = String::new();
            event.record(&mut Line(&mut line));
            LINES.lock().unwrap().push(line);
        }
        fn enter(&self, _: &span::Id) {}
        fn exit(&self, _: &span::Id) {}
    }

    struct Line<'a>(&'a mut String);

    impl Visit for Line<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, "{}={value:?} ", field.name());
        }
    }

    /// Installs the capture (once per test binary).
    pub(super) fn capture() {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            tracing::subscriber::set_global_default(Capture).unwrap();
        });
    }

    /// The warnings (and errors) logged so far that mention `needle`.
    pub(super) fn warnings(needle: &str) -> Vec<String> {
        LINES
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .cloned()
            .collect()
    }
}

#[cfg(unix)]
mod unreadable_entries {
    use std::os::unix::fs::symlink;

    use super::*;

    async fn ids(source: &LocalDirectorySource) -> Vec<String> {
        list_all(source)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.item_id)
            .collect()
    }

    #[tokio::test]
    async fn symlink_loops_are_skipped_with_a_warning_and_the_listing_goes_on() {
        logs::capture();
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.csv", b"1");
        write(dir.path(), "data/b.csv", b"2");
        write(dir.path(), "data/deeper/c.csv", b"3");
        // A directory linked to its parent, one linked to itself, and a → b → a.
        symlink("..", dir.path().join("data/deeper/up")).unwrap();
        symlink(".", dir.path().join("data/self")).unwrap();
        symlink("ping", dir.path().join("pong")).unwrap();
        symlink("pong", dir.path().join("ping")).unwrap();
        // And, as before, a dangling link.
        symlink("missing", dir.path().join("dangling.csv")).unwrap();

        for (id, pattern) in [("loops-all", None), ("loops-csv", Some("**/*.csv"))] {
            let mut builder = LocalDirectorySource::builder(id, dir.path());
            if let Some(pattern) = pattern {
                builder = builder.pattern(pattern);
            }
            let source = builder.build().unwrap();
            assert_eq!(
                ids(&source).await,
                ["a.csv", "data/b.csv", "data/deeper/c.csv"],
                "{pattern:?}"
            );
            let warnings = logs::warnings(&format!("source={id} "));
            for path in ["data/deeper/up", "data/self", "ping", "pong"] {
                assert!(
                    warnings.iter().any(|w| w.contains(path)),
                    "a warning names {path}: {warnings:#?}"
                );
            }
            assert!(
                !warnings.iter().any(|w| w.contains("dangling")),
                "dangling links are skipped quietly: {warnings:#?}"
            );
        }

        // The connector lists the same way, from a prefix too.
        let source = LocalDirectorySource::builder("loops-connector", dir.path())
            .build()
            .unwrap();
        let listed = source.list_items(&ListOptions::default()).await.unwrap();
        assert_eq!(listed.len(), 3);
        let under = ListOptions::new().under("data");
        let listed = source.list_items(&under).await.unwrap();
        let paths: Vec<_> = listed.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["data/b.csv", "data/deeper/c.csv"]);
    }

    #[tokio::test]
    async fn a_name_that_is_not_utf8_is_skipped_with_a_warning() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        logs::capture();
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.csv", b"1");
        let odd = dir.path().join(OsStr::from_bytes(b"caf\xe9.csv"));
        if std::fs::write(&odd, b"2").is_err() {
            eprintln!("skipped: this file system refuses non-UTF-8 names");
            return;
        }
        let source = LocalDirectorySource::builder("odd-names", dir.path())
            .build()
            .unwrap();
        assert_eq!(ids(&source).await, ["a.csv"]);
        let warnings = logs::warnings("source=odd-names ");
        assert!(warnings.iter().any(|w| w.contains("caf")), "{warnings:#?}");
    }

    #[tokio::test]
    async fn an_unreadable_directory_is_skipped_with_a_warning_but_an_unreadable_root_fails() {
        use std::os::unix::fs::PermissionsExt;
        logs::capture();
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.csv", b"1");
        write(dir.path(), "locked/b.csv", b"2");
        let locked = dir.path().join("locked");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::read_dir(&locked).is_ok() {
            std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
            eprintln!("skipped: running with privileges that read any directory (root)");
            return;
        }
        let source = LocalDirectorySource::builder("locked-dir", dir.path())
            .build()
            .unwrap();
        assert_eq!(ids(&source).await, ["a.csv"]);
        assert!(
            logs::warnings("source=locked-dir ")
                .iter()
                .any(|w| w.contains("locked")),
        );
        let root = LocalDirectorySource::builder("locked-root", &locked).build();
        if let Ok(root) = root {
            let err = list_all(&root).await.unwrap_err();
            assert_eq!(err.error_type(), ErrorType::DataFetch, "{err}");
            assert!(err.to_string().contains("locked"), "{err}");
        }
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn patterns_that_can_never_match_are_flagged_and_warned_about() {
    logs::capture();
    let dir = tempfile::tempdir().unwrap();
    for (n, pattern) in ["", "/etc/*", "../*.csv", "2024/../*.csv", "./a.csv"]
        .into_iter()
        .enumerate()
    {
        let builder =
            LocalDirectorySource::builder(format!("pattern-{n}"), dir.path()).pattern(pattern);
        let issue = builder.pattern_issue().expect(pattern);
        let source = builder
            .build()
            .expect("still valid: a warning, not an error");
        assert_eq!(source.pattern_issue().as_deref(), Some(issue.as_str()));
        let warnings = logs::warnings(&format!("source=pattern-{n} "));
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&format!("pattern={pattern} ")) && w.contains(&issue)),
            "the warning names the pattern and why: {warnings:#?}"
        );
    }
    for pattern in ["*.csv", "**/*.csv", "2024/*.csv"] {
        let builder = LocalDirectorySource::builder("fine", dir.path()).pattern(pattern);
        assert_eq!(builder.pattern_issue(), None, "{pattern}");
    }
    let none = LocalDirectorySource::builder("fine", dir.path());
    assert_eq!(none.pattern_issue(), None);
    assert!(logs::warnings("source=fine ").is_empty());
}

#[tokio::test]
async fn meets_the_listed_source_contract() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b/2.csv", b"x,2\n");
    write(dir.path(), "a.csv", b"x,1\n");
    write(dir.path(), "ignored.txt", b"no");
    let source = LocalDirectorySource::builder("files", dir.path())
        .pattern("**/*.csv")
        .build()
        .unwrap();
    collectors_core::conformance::data_source_listed(
        &source,
        &[("a.csv", b"x,1\n"), ("b/2.csv", b"x,2\n")],
    )
    .await;
}
