//! The [`DataSource`] suite.

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;

use super::assert_error;
use crate::data_source::DataSource;
use crate::models::ErrorType;

/// Runs the [`DataSource`] contract against sources built by `make` (called twice: once for
/// `collect`, once for `collect_stream`; each call must give a fresh source with the same
/// data).
///
/// With `expected_items = Some(n)` the source is finite and must yield exactly `n` items then
/// `None`; with `None` it is endless and the suite reads three items.
///
/// # Panics
///
/// On the first broken rule, with a message naming it.
pub async fn data_source<F>(make: F, expected_items: Option<usize>)
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

    source
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    source
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect must be idempotent: {e}"));
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
    source
        .disconnect()
        .await
        .unwrap_or_else(|e| panic!("disconnect: {e}"));
    source
        .disconnect()
        .await
        .unwrap_or_else(|e| panic!("disconnect must be idempotent: {e}"));

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
}
