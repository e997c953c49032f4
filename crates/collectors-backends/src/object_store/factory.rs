//! [`get_connector`]: one URI and its configuration in, a connector to that store out.

use std::sync::Arc;

use ::object_store::ObjectStore;
use ::object_store::local::LocalFileSystem;
use ::object_store::memory::InMemory;
use collectors_core::{Error, Result};

use super::config::ObjectStoreConfig;
use super::connector::ObjectStoreConnector;
use super::uri::{StoreScheme, StoreUri};

/// Builds a connector to the store `uri` names, with the options of `config` (credentials,
/// endpoint, region …) over each cloud's standard environment.
///
/// | URI | store | feature |
/// |---|---|---|
/// | `file:///abs/dir`, `dir`, `/abs/dir` | the local directory (it must exist) | `object-store` |
/// | `memory://` | a new, empty in-process store | `object-store` |
/// | `s3://bucket/prefix` | Amazon S3 or a compatible server (`aws_endpoint`, `allow_http`) | `aws` |
/// | `gs://bucket/prefix` | Google Cloud Storage | `gcp` |
/// | `az://container/prefix`, `azure://…`, `abfs[s]://…` | Azure Blob Storage (`azure_storage_account_name`, `azure_storage_endpoint` for Azurite) | `azure` |
///
/// Cloud builders start from object_store's `from_env` (`AWS_*`, `GOOGLE_*`, `AZURE_*`), then
/// take the URI's bucket and every option of `config` (which win). Nothing is contacted
/// here: [`Connector::test_connection`](collectors_core::Connector::test_connection) does.
///
/// # Errors
///
/// [`Error::Configuration`] naming the URI: an empty or malformed URI, an unknown scheme, a
/// missing bucket, a scheme whose feature is not compiled in, an option key the store does
/// not know (the key is named, the value never), a value it cannot parse. A local directory
/// that does not exist is an [`Error::NotFound`].
///
/// ```
/// use collectors_backends::object_store::{get_connector, ObjectStoreConfig};
/// use collectors_core::ErrorType;
///
/// let dir = tempfile::tempdir().unwrap();
/// let local = get_connector(dir.path().to_str().unwrap(), &ObjectStoreConfig::new()).unwrap();
/// assert_eq!(local.uri().bucket(), None);
///
/// let err = get_connector("ftp://example.com/x", &ObjectStoreConfig::new()).unwrap_err();
/// assert_eq!(err.error_type(), ErrorType::Configuration);
/// assert!(err.to_string().contains("ftp://example.com/x"));
///
/// let err = get_connector("s3://", &ObjectStoreConfig::new()).unwrap_err();
/// assert!(err.to_string().contains("missing bucket"));
/// ```
pub fn get_connector(uri: &str, config: &ObjectStoreConfig) -> Result<ObjectStoreConnector> {
    let parsed = StoreUri::parse(uri)?;
    let store = build_store(&parsed, config)?;
    Ok(ObjectStoreConnector::new(parsed, store))
}

/// The object store `uri` names.
pub(crate) fn build_store(
    uri: &StoreUri,
    config: &ObjectStoreConfig,
) -> Result<Arc<dyn ObjectStore>> {
    let bad = |why: String| {
        Error::configuration(format!("store URI {:?}: {why}", uri.as_str()))
            .with_operation("get_connector")
    };
    match uri.scheme() {
        StoreScheme::Local => {
            if let Some(key) = config.keys().next() {
                return Err(bad(format!(
                    "a local directory takes no options, but `{key}` is set"
                )));
            }
            let root = uri
                .local_root()
                .unwrap_or_else(|| std::path::Path::new("."));
            match std::fs::metadata(root) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Err(bad(format!("{} is not a directory", root.display()))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::not_found(format!(
                        "store URI {:?}: directory {} does not exist",
                        uri.as_str(),
                        root.display()
                    ))
                    .with_operation("get_connector")
                    .with_source(e));
                }
                Err(e) => {
                    return Err(bad(format!("cannot read {}: {e}", root.display())).with_source(e));
                }
            }
            let store = LocalFileSystem::new_with_prefix(root)
                .map_err(|e| bad(format!("cannot open {}: {e}", root.display())).with_source(e))?;
            Ok(Arc::new(store))
        }
        StoreScheme::Memory => {
            if let Some(key) = config.keys().next() {
                return Err(bad(format!(
                    "memory:// takes no options, but `{key}` is set"
                )));
            }
            Ok(Arc::new(InMemory::new()))
        }
        StoreScheme::S3 => s3(uri, config).map_err(bad),
        StoreScheme::Gcs => gcs(uri, config).map_err(bad),
        StoreScheme::Azure => azure(uri, config).map_err(bad),
    }
}

#[cfg(feature = "aws")]
fn s3(
    uri: &StoreUri,
    config: &ObjectStoreConfig,
) -> std::result::Result<Arc<dyn ObjectStore>, String> {
    use ::object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
    let mut builder = AmazonS3Builder::from_env().with_url(uri.bucket_url().unwrap_or_default());
    for (key, value) in config.exposed() {
        let parsed: AmazonS3ConfigKey = key
            .parse()
            .map_err(|_| format!("unknown S3 option `{key}`"))?;
        builder = builder.with_config(parsed, value);
    }
    // An endpoint given without a region still needs one for signing.
    if config
        .expose("aws_region")
        .or(config.expose("region"))
        .is_none()
        && std::env::var_os("AWS_REGION").is_none()
        && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        builder = builder.with_region("us-east-1");
    }
    built(builder.build(), "S3", config)
}

#[cfg(not(feature = "aws"))]
fn s3(_: &StoreUri, _: &ObjectStoreConfig) -> std::result::Result<Arc<dyn ObjectStore>, String> {
    Err(not_compiled(StoreScheme::S3))
}

#[cfg(feature = "gcp")]
fn gcs(
    uri: &StoreUri,
    config: &ObjectStoreConfig,
) -> std::result::Result<Arc<dyn ObjectStore>, String> {
    use ::object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
    let mut builder =
        GoogleCloudStorageBuilder::from_env().with_url(uri.bucket_url().unwrap_or_default());
    for (key, value) in config.exposed() {
        let parsed: GoogleConfigKey = key
            .parse()
            .map_err(|_| format!("unknown GCS option `{key}`"))?;
        builder = builder.with_config(parsed, value);
    }
    built(builder.build(), "GCS", config)
}

#[cfg(not(feature = "gcp"))]
fn gcs(_: &StoreUri, _: &ObjectStoreConfig) -> std::result::Result<Arc<dyn ObjectStore>, String> {
    Err(not_compiled(StoreScheme::Gcs))
}

#[cfg(feature = "azure")]
fn azure(
    uri: &StoreUri,
    config: &ObjectStoreConfig,
) -> std::result::Result<Arc<dyn ObjectStore>, String> {
    use ::object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
    let mut builder =
        MicrosoftAzureBuilder::from_env().with_url(uri.bucket_url().unwrap_or_default());
    for (key, value) in config.exposed() {
        let parsed: AzureConfigKey = key
            .parse()
            .map_err(|_| format!("unknown Azure option `{key}`"))?;
        builder = builder.with_config(parsed, value);
    }
    built(builder.build(), "Azure", config)
}

#[cfg(not(feature = "azure"))]
fn azure(_: &StoreUri, _: &ObjectStoreConfig) -> std::result::Result<Arc<dyn ObjectStore>, String> {
    Err(not_compiled(StoreScheme::Azure))
}

/// A cloud store as the connector holds it, or why it could not be built (values of
/// `config` blanked out of the message).
#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
fn built<S: ObjectStore>(
    store: ::object_store::Result<S>,
    what: &str,
    config: &ObjectStoreConfig,
) -> std::result::Result<Arc<dyn ObjectStore>, String> {
    store
        .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        .map_err(|e| {
            format!(
                "cannot build the {what} client: {}",
                scrub(&e.to_string(), config)
            )
        })
}

#[allow(dead_code)] // used only when a cloud feature is off
fn not_compiled(scheme: StoreScheme) -> String {
    format!(
        "{scheme}:// needs the `{}` feature of collectors-backends, which is not compiled in",
        scheme.feature().unwrap_or_default()
    )
}

/// `message` with every configured value blanked out: builder errors may echo a value
/// ("unable to parse `…`"), and a value may be a secret.
#[allow(dead_code)] // used only by the cloud builders
fn scrub(message: &str, config: &ObjectStoreConfig) -> String {
    let mut out = message.to_owned();
    for (_, value) in config.exposed() {
        if value.len() >= 3 {
            out = out.replace(value, "[redacted]");
        }
    }
    out
}
