//! Every hand-written mock passes the shared conformance suite of its contract.

use std::sync::Arc;

use collectors_core::conformance::{self, ConnectorFixture};
use collectors_core::{DataSource, Payload, PayloadKind};
use collectors_mocks::{
    MockCheckpointStore, MockConnector, MockDataSource, MockDeadLetterSink, MockListedSource,
    MockProcessor, MockStorageBackend,
};

#[tokio::test]
async fn mock_storage_backend_meets_the_storage_contract() {
    let backend = MockStorageBackend::new("mock-store");
    conformance::storage_backend(
        &backend,
        &[
            PayloadKind::Json,
            PayloadKind::Table,
            PayloadKind::Bytes,
            PayloadKind::Empty,
        ],
    )
    .await;
}

#[tokio::test]
async fn mock_checkpoint_store_meets_the_checkpoint_contract_leases_included() {
    conformance::checkpoint_store(&MockCheckpointStore::new(), true).await;
}

#[tokio::test]
async fn mock_dead_letter_sink_meets_the_dead_letter_contract() {
    let sink = MockDeadLetterSink::new();
    conformance::dead_letter_sink(&sink, || async {
        // A reader keeps one letter per key, the last written.
        let mut by_key = std::collections::BTreeMap::new();
        for letter in sink.letters() {
            by_key.insert(letter.key(), letter);
        }
        by_key.into_values().collect()
    })
    .await;
}

#[tokio::test]
async fn finite_mock_data_source_meets_the_live_source_contract() {
    conformance::data_source_live(
        || Arc::new(MockDataSource::scripted("scripted", ["a", "b", "c"])) as Arc<dyn DataSource>,
        Some(3),
    )
    .await;
}

#[tokio::test]
async fn endless_mock_data_source_meets_the_live_source_contract() {
    conformance::data_source_live(
        || Arc::new(MockDataSource::new("endless", "reading")) as Arc<dyn DataSource>,
        None,
    )
    .await;
}

#[tokio::test]
async fn mock_connector_meets_the_connector_contract() {
    let fixture = ConnectorFixture::standard();
    let connector = MockConnector::new("files");
    for (path, contents) in &fixture.items {
        connector.put(path.clone(), contents.clone());
    }
    conformance::connector(&connector, &fixture).await;
}

#[tokio::test]
async fn mock_processor_meets_the_processor_contract() {
    let processor = MockProcessor::new("json-only").accepting(&[PayloadKind::Json]);
    conformance::processor(
        &processor,
        Payload::Json(serde_json::json!({"v": 1})),
        Some(Payload::Bytes("raw".into())),
    )
    .await;
}

// The suites can fail: implementations that break a rule are caught.

mod broken {
    use collectors_core::bytes::Bytes;
    use collectors_core::{
        DataSource, InMemorySource, Payload, Processor, QueryCriteria, Record, Result, SourceItem,
        StorageBackend, StoredRecord, async_trait,
    };
    use collectors_mocks::MockStorageBackend;
    use futures::stream::BoxStream;

    /// Stores every record under a fresh key: replays duplicate.
    pub(crate) struct Duplicating(pub(crate) MockStorageBackend);

    #[async_trait]
    impl StorageBackend for Duplicating {
        fn backend_id(&self) -> &str {
            self.0.backend_id()
        }
        async fn connect(&self) -> Result<()> {
            self.0.connect().await
        }
        async fn disconnect(&self) -> Result<()> {
            self.0.disconnect().await
        }
        async fn store_batch(&self, records: &[Record]) -> Result<()> {
            for record in records {
                let mut record = record.clone();
                record.key = format!("{}~{}", record.key, self.0.len());
                self.0.store(record).await?;
            }
            Ok(())
        }
        async fn query(&self, criteria: &QueryCriteria) -> Result<Vec<StoredRecord>> {
            let mut loose = criteria.clone();
            if let Some(key) = loose.key.take() {
                loose.key_prefix = Some(key);
            }
            self.0.query(&loose).await
        }
        async fn delete(&self, location_id: &str) -> Result<bool> {
            self.0.delete(location_id).await
        }
    }

    /// Lists replayable items but keeps the default `is_live` (`true`): a dry run would
    /// leave it out.
    pub(crate) struct SaysLive(pub(crate) InMemorySource);

    #[async_trait]
    impl DataSource for SaysLive {
        fn source_id(&self) -> &str {
            self.0.source_id()
        }
        fn list(&self) -> BoxStream<'_, Result<Vec<SourceItem>>> {
            self.0.list()
        }
        async fn open(&self, item: &SourceItem) -> Result<BoxStream<'static, Result<Bytes>>> {
            self.0.open(item).await
        }
    }

    /// Accepts everything, so it never rejects invalid input.
    pub(crate) struct Lenient;

    #[async_trait]
    impl Processor for Lenient {
        fn name(&self) -> &str {
            "lenient"
        }
        fn validate_input(&self, _: &Payload) -> Result<()> {
            Ok(())
        }
        async fn process(&self, input: Payload) -> Result<Payload> {
            Ok(input)
        }
    }
}

#[tokio::test]
#[should_panic(expected = "storing a key twice must not duplicate it")]
async fn the_storage_suite_catches_a_backend_that_duplicates_replays() {
    conformance::storage_backend(
        &broken::Duplicating(MockStorageBackend::new("dup")),
        &[PayloadKind::Json],
    )
    .await;
}

#[tokio::test]
#[should_panic(expected = "validate_input on the invalid input")]
async fn the_processor_suite_catches_a_processor_that_accepts_invalid_input() {
    conformance::processor(
        &broken::Lenient,
        Payload::Json(1.into()),
        Some(Payload::Bytes("x".into())),
    )
    .await;
}

#[tokio::test]
async fn mock_listed_source_meets_the_listed_source_contract() {
    let source = MockListedSource::new("mock").with_chunk_size(2);
    source.put("one", "abc");
    source.put("two", "");
    conformance::data_source_listed(&source, &[("one", b"abc"), ("two", b"")]).await;
}

#[tokio::test]
#[should_panic(expected = "a listed source answers is_live() = false")]
async fn the_listed_source_suite_catches_a_source_that_claims_to_be_live() {
    let source =
        broken::SaysLive(collectors_core::InMemorySource::new("files").with_item("a", "1"));
    conformance::data_source_listed(&source, &[("a", b"1")]).await;
}
