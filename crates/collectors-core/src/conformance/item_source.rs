//! The [`ItemSource`] suite: the listing contract the engine runs.

use futures::StreamExt;

use crate::engine::{ItemSource, SourceItem};

async fn read_all(source: &dyn ItemSource, item: &SourceItem) -> Vec<u8> {
    let mut chunks = source
        .open(item)
        .await
        .unwrap_or_else(|e| panic!("open {}: {e}", item.item_id));
    let mut bytes = Vec::new();
    while let Some(chunk) = chunks.next().await {
        bytes.extend_from_slice(&chunk.unwrap_or_else(|e| panic!("read {}: {e}", item.item_id)));
    }
    bytes
}

/// Runs the [`ItemSource`] contract against `source`, which must hold exactly `expected`
/// items (`(item_id, content)`, any order).
///
/// Checks: `source_id` is set and every item carries it; `items` lists each item once, sorted
/// by id, and the same way twice; `pages` yields the same items in the same order; `open`
/// streams exactly the content, again the same while the version is unchanged; an item that
/// is not in the source cannot be opened; a replayable source is `checkpointed` and its
/// `acknowledge` accepts what it listed.
///
/// # Panics
///
/// At the first broken rule, naming it.
pub async fn item_source(source: &dyn ItemSource, expected: &[(&str, &[u8])]) {
    let id = source.source_id().to_owned();
    assert!(!id.is_empty(), "source_id must not be empty");
    let items = source
        .items()
        .await
        .unwrap_or_else(|e| panic!("items: {e}"));
    let ids: Vec<&str> = items.iter().map(|i| i.item_id.as_str()).collect();
    let mut want: Vec<&str> = expected.iter().map(|(i, _)| *i).collect();
    want.sort_unstable();
    assert_eq!(ids, want, "items lists every item once, sorted by id");
    assert!(
        items.iter().all(|i| i.source_id == id),
        "every item carries its source's id"
    );
    let again = source
        .items()
        .await
        .unwrap_or_else(|e| panic!("items again: {e}"));
    assert_eq!(again, items, "a listing is stable while nothing changes");

    let mut paged = Vec::new();
    let mut pages = source.pages();
    while let Some(page) = pages.next().await {
        paged.extend(page.unwrap_or_else(|e| panic!("pages: {e}")));
    }
    drop(pages);
    assert_eq!(paged, items, "pages yield the items of `items`, in order");

    for item in &items {
        let content = expected
            .iter()
            .find(|(i, _)| *i == item.item_id)
            .map(|(_, c)| *c)
            .unwrap_or_default();
        assert_eq!(
            read_all(source, item).await,
            content,
            "open streams the content of {}",
            item.item_id
        );
        assert_eq!(
            read_all(source, item).await,
            content,
            "opening {} again gives the same bytes",
            item.item_id
        );
    }
    let mut missing = items.first().cloned().unwrap_or_else(|| SourceItem {
        source_id: id.clone(),
        item_id: String::new(),
        version: String::new(),
        size: None,
        metadata: Default::default(),
    });
    missing.item_id = "no-such-item-in-this-source".into();
    assert!(
        source.open(&missing).await.is_err(),
        "an item that is not in the source cannot be opened"
    );
    assert!(source.checkpointed(), "a listed source is checkpointed");
    source
        .acknowledge(&items)
        .await
        .unwrap_or_else(|e| panic!("acknowledge: {e}"));
}
