//! The [`DataSource`] suites: one for each shape of source, listed and live.

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;

use super::assert_error;
use crate::data_source::DataSource;
use crate::models::{ErrorType, SourceItem};

async fn read_all(source: &dyn DataSource, item: &SourceItem) -> Vec<u8> {
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

/// Every item of `source`'s listing, its pages in order.
async fn list_all(source: &dyn DataSource, what: &str) -> Vec<SourceItem> {
    let mut items = Vec::new();
    let mut pages = source.list();
    while let Some(page) = pages.next().await {
        items.extend(page.unwrap_or_else(|e| panic!("{what}: {e}")));
    }
    items
}

async fn connect_twice(source: &dyn DataSource) {
    source
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    source
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect must be idempotent: {e}"));
}

async fn disconnect_twice(source: &dyn DataSource) {
    source
        .disconnect()
        .await
        .unwrap_or_else(|e| panic!("disconnect: {e}"));
    source
        .disconnect()
        .await
        .unwrap_or_else(|e| panic!("disconnect must be idempotent: {e}"));
}

/// Runs the contract of a **listed** [`DataSource`] (files, objects: items that can be read
/// again) against `source`, which must hold exactly `expected` items (`(item_id, content)`,
/// any order).
///
/// Checks: `source_id` is set and every item carries it; `is_live` answers `false`;
/// `connect` and `disconnect` are idempotent; `list` yields each item once, sorted by id,
/// the same way twice, and no item carries inline content (each is listed); `open` streams
/// exactly the content, again the same while the version is unchanged; an item that is not
/// in the source is an [`Error::NotFound`](crate::Error::NotFound); `commit` accepts what
/// was listed.
///
/// # Panics
///
/// At the first broken rule, naming it.
pub async fn data_source_listed(source: &dyn DataSource, expected: &[(&str, &[u8])]) {
    let id = source.source_id().to_owned();
    assert!(!id.is_empty(), "source_id must not be empty");
    assert!(
        !source.is_live(),
        "a listed source answers is_live() = false (the engine's pending_items lists it)"
    );
    connect_twice(source).await;

    let items = list_all(source, "list").await;
    let ids: Vec<&str> = items.iter().map(|i| i.item_id.as_str()).collect();
    let mut want: Vec<&str> = expected.iter().map(|(i, _)| *i).collect();
    want.sort_unstable();
    assert_eq!(ids, want, "list yields every item once, sorted by id");
    assert!(
        items.iter().all(|i| i.source_id == id),
        "every item carries its source's id"
    );
    assert!(
        items.iter().all(|i| !i.is_live()),
        "a listed source's items carry no inline content (they are reopened with open)"
    );
    let again = list_all(source, "list again").await;
    assert_eq!(again, items, "a listing is stable while nothing changes");

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
    let mut missing = items
        .first()
        .cloned()
        .unwrap_or_else(|| SourceItem::listed(id.clone(), "", ""));
    missing.item_id = "no-such-item-in-this-source".into();
    assert_error(
        source.open(&missing).await.map(|_| ()),
        ErrorType::NotFound,
        "an item that is not in the source cannot be opened",
    );
    source
        .commit(&items)
        .await
        .unwrap_or_else(|e| panic!("commit: {e}"));
    disconnect_twice(source).await;
}

/// Runs the contract of a **live** [`DataSource`] (a socket, a queue, a sensor: items read
/// once) against sources built by `make` (called three times: for `collect`, for
/// `collect_stream` and for `list`; each call must give a fresh source with the same data).
///
/// With `expected_items = Some(n)` the source is finite and must yield exactly `n` items then
/// `None`; with `None` it is endless and the suite reads three items.
///
/// Checks: `source_id` is set and every item carries it; `collect` before `connect` is an
/// [`Error::Connection`](crate::Error::Connection); `connect` and `disconnect` are
/// idempotent; item ids are unique; an exhausted source keeps returning `None`;
/// `collect_stream` yields every item then ends (or keeps yielding, endless); `is_live`
/// answers `true`; `list` yields the same number of items, each live, carrying its content
/// (its `size` is the content's length) and opened as exactly that content; `commit` accepts
/// them.
///
/// # Panics
///
/// On the first broken rule, with a message naming it.
pub async fn data_source_live<F>(make: F, expected_items: Option<usize>)
where
    F: Fn() -> Arc<dyn DataSource>,
{
    let source = make();
    let id = source.source_id().to_owned();
    assert!(!id.is_empty(), "source_id must not be empty");
    assert_error(
        source.collect().await,
        ErrorType::Connection,
        "collect before connect",
    );

    connect_twice(source.as_ref()).await;
    let wanted = expected_items.unwrap_or(3);
    let mut ids = HashSet::new();
    for i in 0..wanted {
        let item = source
            .collect()
            .await
            .unwrap_or_else(|e| panic!("collect #{i}: {e}"))
            .unwrap_or_else(|| panic!("source ended after {i} items, expected {wanted}"));
        assert_eq!(item.source_id, id, "items carry the source's id");
        assert!(ids.insert(item.id), "item ids are unique");
    }
    if expected_items.is_some() {
        for _ in 0..2 {
            let next = source
                .collect()
                .await
                .unwrap_or_else(|e| panic!("collect after the end: {e}"));
            assert!(next.is_none(), "an exhausted source keeps returning None");
        }
    }
    disconnect_twice(source.as_ref()).await;

    let source = make();
    source
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let streamed: Vec<_> = source.collect_stream().take(wanted + 1).collect().await;
    let streamed: Vec<_> = streamed
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("collect_stream: {e}")))
        .collect();
    match expected_items {
        Some(n) => assert_eq!(
            streamed.len(),
            n,
            "collect_stream yields every item, then ends"
        ),
        None => assert_eq!(
            streamed.len(),
            wanted + 1,
            "an endless stream keeps yielding"
        ),
    }
    assert!(
        streamed.iter().all(|item| item.source_id == id),
        "streamed items carry the source's id"
    );
    source
        .disconnect()
        .await
        .unwrap_or_else(|e| panic!("disconnect: {e}"));

    let source = make();
    assert!(
        source.is_live(),
        "a live source answers is_live() = true (the engine's pending_items must not list it)"
    );
    source
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let mut items = Vec::new();
    {
        let mut pages = source.list();
        while expected_items.is_some() || items.len() < wanted {
            match pages.next().await {
                None => break,
                Some(page) => items.extend(page.unwrap_or_else(|e| panic!("list: {e}"))),
            }
        }
    }
    if let Some(n) = expected_items {
        assert_eq!(
            items.len(),
            n,
            "list yields every collected item, then ends"
        );
    }
    let mut listed_ids = HashSet::new();
    for item in &items {
        assert_eq!(item.source_id, id, "listed items carry the source's id");
        assert!(
            listed_ids.insert(item.item_id.clone()),
            "item ids are unique"
        );
        let content = item
            .content
            .clone()
            .unwrap_or_else(|| panic!("a live item carries its content ({})", item.item_id));
        assert_eq!(
            item.size,
            Some(content.len() as u64),
            "a live item's size is its content's length"
        );
        assert_eq!(
            read_all(source.as_ref(), item).await,
            content,
            "open gives a live item's content ({})",
            item.item_id
        );
    }
    source
        .commit(&items)
        .await
        .unwrap_or_else(|e| panic!("commit: {e}"));
    source
        .disconnect()
        .await
        .unwrap_or_else(|e| panic!("disconnect: {e}"));
}
