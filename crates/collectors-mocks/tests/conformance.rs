//! Every hand-written mock passes the shared conformance suite of its contract.

use std::sync::Arc;

use collectors_core::conformance::{self, ConnectorFixture};
use collectors_core::{DataSource, Payload, PayloadKind};
use collectors_mocks::{MockConnector, MockDataSource, MockProcessor, MockStorageBackend};

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
async fn finite_mock_data_source_meets_the_source_contract() {
    conformance::data_source(
        || Arc::new(MockDataSource::scripted("scripted", ["a", "b", "c"])) as Arc<dyn DataSource>,
        Some(3),
    )
    .await;
}

#[tokio::test]
async fn endless_mock_data_source_meets_the_source_contract() {
    conformance::data_source(
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
