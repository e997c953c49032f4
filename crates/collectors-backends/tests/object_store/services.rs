//! The stores the suite runs against: memory and a local directory always; S3 (moto) and
//! Azure Blob (Azurite) when `scripts/services` has started them and exported their endpoints.
//! With `CI=true` a missing service fails the test instead of skipping it.

use collectors_backends::object_store::{ObjectStoreConfig, ObjectStoreConnector, get_connector};

/// A fresh, empty place in one store: a connector to it and how it was made.
pub(crate) struct Place {
    pub(crate) connector: ObjectStoreConnector,
    pub(crate) uri: String,
    pub(crate) config: ObjectStoreConfig,
    /// Keeps a local directory alive for the test.
    pub(crate) _dir: Option<tempfile::TempDir>,
}

/// The multipart threshold the suite sets, so a 13 MiB object goes up in parts.
pub(crate) const SUITE_MULTIPART_THRESHOLD: usize = 6 * 1024 * 1024;

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `None` (with a message) when the service is not running and CI is not set.
fn env_or_skip(service: &str, vars: &[&str]) -> Option<Vec<String>> {
    let values: Vec<_> = vars.iter().map(|v| std::env::var(v).ok()).collect();
    if values.iter().all(Option::is_some) {
        return Some(values.into_iter().flatten().collect());
    }
    let missing: Vec<_> = vars
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| *k)
        .collect();
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{service} is not running (missing {}); scripts/services starts it",
            missing.join(", ")
        );
    }
    eprintln!(
        "SKIPPED: {service} is not running (missing {}); `source scripts/services` first",
        missing.join(", ")
    );
    None
}

fn finish(uri: String, config: ObjectStoreConfig, dir: Option<tempfile::TempDir>) -> Place {
    let connector = get_connector(&uri, &config)
        .unwrap_or_else(|e| panic!("get_connector({uri}): {e}"))
        .with_multipart_threshold(SUITE_MULTIPART_THRESHOLD);
    Place {
        connector,
        uri,
        config,
        _dir: dir,
    }
}

pub(crate) fn memory() -> Option<Place> {
    Some(finish("memory://".into(), ObjectStoreConfig::new(), None))
}

pub(crate) fn local() -> Option<Place> {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("file://{}", dir.path().display());
    Some(finish(uri, ObjectStoreConfig::new(), Some(dir)))
}

pub(crate) fn s3_config(key_id: &str, secret: &str) -> Option<(String, ObjectStoreConfig)> {
    let vars = env_or_skip(
        "S3 (moto)",
        &["COLLECTORS_TEST_S3_ENDPOINT", "COLLECTORS_TEST_S3_BUCKET"],
    )?;
    let config = ObjectStoreConfig::new()
        .with("aws_endpoint", &vars[0])
        .with("allow_http", "true")
        .with("aws_region", "us-east-1")
        .with("aws_access_key_id", key_id)
        .with("aws_secret_access_key", secret);
    Some((format!("s3://{}/run-{}/", vars[1], unique()), config))
}

pub(crate) fn s3() -> Option<Place> {
    let keys = env_or_skip(
        "S3 (moto)",
        &[
            "COLLECTORS_TEST_S3_ACCESS_KEY_ID",
            "COLLECTORS_TEST_S3_SECRET_ACCESS_KEY",
        ],
    )?;
    let (uri, config) = s3_config(&keys[0], &keys[1])?;
    Some(finish(uri, config, None))
}

pub(crate) fn azure_config(key: Option<&str>) -> Option<(String, ObjectStoreConfig)> {
    let vars = env_or_skip(
        "Azure Blob (Azurite)",
        &[
            "COLLECTORS_TEST_AZURE_ENDPOINT",
            "COLLECTORS_TEST_AZURE_ACCOUNT",
            "COLLECTORS_TEST_AZURE_KEY",
            "COLLECTORS_TEST_AZURE_CONTAINER",
        ],
    )?;
    let config = ObjectStoreConfig::new()
        .with("azure_storage_endpoint", &vars[0])
        .with("azure_storage_account_name", &vars[1])
        .with("azure_storage_access_key", key.unwrap_or(&vars[2]))
        .with("allow_http", "true");
    Some((format!("az://{}/run-{}/", vars[3], unique()), config))
}

pub(crate) fn azure() -> Option<Place> {
    let (uri, config) = azure_config(None)?;
    Some(finish(uri, config, None))
}

pub(crate) fn gcs() -> Option<Place> {
    let vars = env_or_skip(
        "GCS (fake-gcs-server)",
        &["COLLECTORS_TEST_GCS_BASE_URL", "COLLECTORS_TEST_GCS_BUCKET"],
    )?;
    let config = ObjectStoreConfig::new()
        .with("google_base_url", &vars[0])
        .with("google_bearer_token", "fake-gcs-accepts-any-token")
        .with("allow_http", "true");
    let uri = format!("gs://{}/run-{}/", vars[1], unique());
    Some(finish(uri, config, None))
}

/// What a service can do; the suite leaves out what it cannot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Capabilities {
    /// Multipart uploads.
    pub(crate) multipart: bool,
    /// Conditional (create-only) puts.
    pub(crate) create_only: bool,
}

impl Capabilities {
    pub(crate) const ALL: Self = Self {
        multipart: true,
        create_only: true,
    };
}

/// The capabilities of each service of this file.
pub(crate) fn capabilities(service: &str) -> Capabilities {
    match service {
        // fake-gcs-server behind the upload shim: no XML multipart, no conditional puts.
        "gcs" => Capabilities {
            multipart: false,
            create_only: false,
        },
        _ => Capabilities::ALL,
    }
}
