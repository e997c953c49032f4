//! `ObjectStoreConnector` against each store: memory and a local directory always, S3 on
//! moto and Azure Blob on Azurite when `scripts/services` runs them (with `CI=true` a missing
//! service fails).
#![cfg(feature = "object-store")]

// Some helpers serve only the cloud services' tests.
#[cfg_attr(
    not(all(feature = "aws", feature = "azure", feature = "gcp")),
    allow(dead_code)
)]
#[path = "object_store/services.rs"]
mod services;
#[path = "object_store/suite.rs"]
mod suite;

use std::sync::Arc;

use collectors_backends::FileFormat;
use collectors_backends::object_store::{ObjectStoreConfig, ObjectStoreStorage, get_connector};
use collectors_core::{ErrorType, PayloadKind};

macro_rules! suite_for {
    ($service:ident) => {
        mod $service {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn meets_the_connector_contract() {
                let Some(place) = services::$service() else {
                    return;
                };
                suite::connector_contract(&place.connector).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn passes_the_object_store_suite() {
                let Some(place) = services::$service() else {
                    return;
                };
                suite::object_store(
                    &place.connector,
                    services::capabilities(stringify!($service)),
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn the_source_meets_the_listed_data_source_contract() {
                let Some(place) = services::$service() else {
                    return;
                };
                suite::source_contract(Arc::new(place.connector)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn the_storage_meets_the_storage_backend_contract() {
                let Some(place) = services::$service() else {
                    return;
                };
                let connector = Arc::new(place.connector);
                let jsonl =
                    ObjectStoreStorage::new("lake-jsonl", connector.clone(), FileFormat::Jsonl);
                collectors_core::conformance::storage_backend(
                    &jsonl,
                    &[
                        PayloadKind::Table,
                        PayloadKind::Json,
                        PayloadKind::Bytes,
                        PayloadKind::Empty,
                    ],
                )
                .await;
                let parquet =
                    ObjectStoreStorage::new("lake-parquet", connector.clone(), FileFormat::Parquet);
                collectors_core::conformance::storage_backend(&parquet, &[PayloadKind::Table])
                    .await;
                let csv = ObjectStoreStorage::new("lake-csv", connector, FileFormat::Csv);
                collectors_core::conformance::storage_backend(&csv, &[PayloadKind::Table]).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn the_storage_writes_a_readable_dataset_and_create_only_replays_are_no_ops() {
                let Some(place) = services::$service() else {
                    return;
                };
                suite::storage_layout(
                    Arc::new(place.connector),
                    services::capabilities(stringify!($service)),
                )
                .await;
            }
        }
    };
}

suite_for!(memory);
suite_for!(local);
#[cfg(feature = "aws")]
suite_for!(s3);
#[cfg(feature = "azure")]
suite_for!(azure);
#[cfg(feature = "gcp")]
suite_for!(gcs);

#[test]
fn a_local_directory_that_does_not_exist_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = get_connector(missing.to_str().unwrap(), &ObjectStoreConfig::new()).unwrap_err();
    assert_eq!(err.error_type(), ErrorType::NotFound);
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn options_a_store_does_not_take_are_configuration_errors_naming_the_key_not_the_value() {
    let err = get_connector(
        "memory://",
        &ObjectStoreConfig::new().with("aws_secret_access_key", "hunter2"),
    )
    .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Configuration);
    assert!(err.to_string().contains("aws_secret_access_key"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[cfg(feature = "aws")]
mod s3_only {
    use super::*;
    use collectors_core::Connector;

    #[test]
    fn unknown_s3_options_name_the_key() {
        let err = get_connector(
            "s3://bucket/x",
            &ObjectStoreConfig::new().with("aws_sekret", "hunter2"),
        )
        .unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Configuration);
        assert!(
            err.to_string().contains("aws_sekret") && !err.to_string().contains("hunter2"),
            "{err}"
        );
    }

    #[test]
    fn the_connector_debug_shows_no_secret() {
        let connector = get_connector(
            "s3://bucket/x",
            &ObjectStoreConfig::new()
                .with("aws_access_key_id", "AKIASHOWNOWHERE")
                .with("aws_secret_access_key", "hunter2"),
        )
        .unwrap();
        let shown = format!("{connector:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("AKIASHOWNOWHERE"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn wrong_credentials_are_authentication_errors_without_the_secret() {
        let Some((uri, config)) = services::s3_config("AKIAWRONGWRONGWRONG0", "wrong-secret-value")
        else {
            return;
        };
        let connector = get_connector(&uri, &config).unwrap();
        let err = connector.test_connection().await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Authentication, "{err}");
        assert!(!err.is_retryable());
        assert!(
            !format!("{err} {err:?}").contains("wrong-secret-value"),
            "{err:?}"
        );
        let err = connector.read_file("a.csv").await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Authentication, "{err}");
        assert!(err.to_string().contains("a.csv"), "{err}");
    }

    #[tokio::test]
    async fn a_bucket_that_does_not_exist_is_not_found_naming_it() {
        let Some(place) = services::s3() else { return };
        let uri = place
            .uri
            .replacen("collectors-test", "no-such-bucket-here", 1);
        let connector = get_connector(&uri, &place.config).unwrap();
        let err = connector.test_connection().await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::NotFound, "{err}");
        assert!(err.to_string().contains("no-such-bucket-here"), "{err}");
    }
}

#[cfg(feature = "azure")]
mod azure_only {
    use super::*;
    use collectors_core::Connector;

    #[tokio::test]
    async fn wrong_credentials_are_authentication_errors_without_the_secret() {
        // A valid base64 key, but not the account's.
        let wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";
        let Some((uri, config)) = services::azure_config(Some(wrong)) else {
            return;
        };
        let connector = get_connector(&uri, &config).unwrap();
        let err = connector.test_connection().await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Authentication, "{err}");
        assert!(!format!("{err} {err:?}").contains(wrong), "{err:?}");
        let err = connector.read_file("a.csv").await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::Authentication, "{err}");
    }

    #[tokio::test]
    async fn a_container_that_does_not_exist_is_not_found_naming_it() {
        let Some(place) = services::azure() else {
            return;
        };
        let uri = place
            .uri
            .replacen("collectors-test", "no-such-container", 1);
        let connector = get_connector(&uri, &place.config).unwrap();
        let err = connector.test_connection().await.unwrap_err();
        assert_eq!(err.error_type(), ErrorType::NotFound, "{err}");
        assert!(err.to_string().contains("no-such-container"), "{err}");
    }
}
