//! The [`Connector`] suite.

use std::path::PathBuf;

use uuid::Uuid;

use super::assert_error;
use crate::connector::{Connector, ListOptions};
use crate::models::ErrorType;

/// What the store behind a connector holds before the suite runs: `(path, contents)` pairs.
///
/// It must hold exactly these items, with at least one whose name ends in `.csv` and one that
/// does not.
#[derive(Debug, Clone)]
pub struct ConnectorFixture {
    /// The items as `(path, contents)`.
    pub items: Vec<(String, Vec<u8>)>,
}

impl ConnectorFixture {
    /// The standard fixture: seed the store with these items before running the suite.
    pub fn standard() -> Self {
        Self {
            items: vec![
                (
                    "data/2024/sales.csv".to_owned(),
                    b"region,amount\nnorth,10\n".to_vec(),
                ),
                (
                    "data/2024/notes.txt".to_owned(),
                    b"quarterly notes".to_vec(),
                ),
                ("readme.md".to_owned(), b"# fixture".to_vec()),
            ],
        }
    }
}

/// Runs the [`Connector`] contract against `connector`, whose store holds `fixture`.
///
/// Fetched files go to a fresh directory under the system temp dir, removed at the end.
///
/// # Panics
///
/// On the first broken rule, with a message naming it.
pub async fn connector(connector: &dyn Connector, fixture: &ConnectorFixture) {
    connector
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    connector
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect must be idempotent: {e}"));
    connector
        .test_connection()
        .await
        .unwrap_or_else(|e| panic!("test_connection: {e}"));

    let listed = connector
        .list_items(&ListOptions::new())
        .await
        .unwrap_or_else(|e| panic!("list_items: {e}"));
    let paths: Vec<_> = listed.iter().map(|i| i.path.clone()).collect();
    let mut expected: Vec<_> = fixture.items.iter().map(|(p, _)| p.clone()).collect();
    expected.sort();
    assert_eq!(
        paths, expected,
        "list_items lists every item, sorted by path"
    );
    for item in &listed {
        let (_, contents) = fixture
            .items
            .iter()
            .find(|(p, _)| *p == item.path)
            .expect("listed item is in the fixture");
        assert_eq!(item.size, contents.len() as u64, "{}: size", item.path);
        assert!(
            item.path.ends_with(&item.name),
            "{}: the name is the last path segment",
            item.path
        );
    }

    let csv = connector
        .list_items(&ListOptions::new().matching("*.csv"))
        .await
        .unwrap_or_else(|e| panic!("list_items with pattern: {e}"));
    let csv_paths: Vec<_> = csv.iter().map(|i| i.path.clone()).collect();
    let expected_csv: Vec<_> = expected
        .iter()
        .filter(|p| p.ends_with(".csv"))
        .cloned()
        .collect();
    assert!(!expected_csv.is_empty(), "the fixture needs a .csv item");
    assert_eq!(csv_paths, expected_csv, "a pattern filters by item name");
    let nested = expected
        .iter()
        .find(|p| p.contains('/'))
        .expect("the fixture needs an item in a folder");
    let folder = &nested[..nested.rfind('/').unwrap_or(0)];
    let under = connector
        .list_items(&ListOptions::new().under(folder))
        .await
        .unwrap_or_else(|e| panic!("list_items under a path: {e}"));
    let expected_under: Vec<_> = expected
        .iter()
        .filter(|p| p.starts_with(&format!("{folder}/")))
        .cloned()
        .collect();
    assert_eq!(
        under.iter().map(|i| i.path.clone()).collect::<Vec<_>>(),
        expected_under,
        "a path lists only the items under it"
    );
    assert_error(
        connector
            .list_items(&ListOptions::new().matching("[unclosed"))
            .await,
        ErrorType::Validation,
        "list_items with an invalid glob",
    );

    let workspace = std::env::temp_dir().join(format!(
        "collectors-conformance-{}",
        Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&workspace).unwrap_or_else(|e| panic!("creating the workspace: {e}"));
    for (path, contents) in &fixture.items {
        let local: PathBuf = connector
            .fetch_data(path, &workspace)
            .await
            .unwrap_or_else(|e| panic!("fetch_data({path}): {e}"));
        assert!(
            local.starts_with(&workspace),
            "fetch_data writes inside the workspace"
        );
        let written =
            std::fs::read(&local).unwrap_or_else(|e| panic!("reading {}: {e}", local.display()));
        assert_eq!(
            &written, contents,
            "fetch_data copies the exact bytes of {path}"
        );
        let metadata = connector
            .get_metadata(path)
            .await
            .unwrap_or_else(|e| panic!("get_metadata({path}): {e}"));
        assert!(
            !metadata.is_empty(),
            "get_metadata({path}) describes the item"
        );
    }
    for hostile in ["../../etc/passwd", "/etc/passwd", "data/../../escape.txt"] {
        assert_error(
            connector.fetch_data(hostile, &workspace).await,
            ErrorType::Validation,
            "fetch_data of a hostile path",
        );
    }
    assert!(
        !workspace
            .parent()
            .is_some_and(|p| p.join("escape.txt").exists()),
        "a hostile fetch wrote outside the workspace"
    );
    assert_error(
        connector.fetch_data("no/such/item.csv", &workspace).await,
        ErrorType::NotFound,
        "fetch_data of a missing item",
    );
    assert_error(
        connector.get_metadata("no/such/item.csv").await,
        ErrorType::NotFound,
        "get_metadata of a missing item",
    );
    // Best effort: a leftover temp dir is not a contract failure.
    let _ = std::fs::remove_dir_all(&workspace);

    connector
        .disconnect()
        .await
        .unwrap_or_else(|e| panic!("disconnect: {e}"));
    connector
        .disconnect()
        .await
        .unwrap_or_else(|e| panic!("disconnect must be idempotent: {e}"));
}
