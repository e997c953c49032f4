//! The registry's factories for the object stores: `local_file`, `memory`, `s3`, `gcs`,
//! `azure_blob`, each declaring its secret settings.

use std::sync::Arc;

use collectors_core::{Connector, DataSourceType, Error, Result};
use secrecy::ExposeSecret;

use super::factory::{ConnectorFactories, type_name};
use super::object_store_options::{has_scheme, settings_schema};
use super::settings::SourceSettings;
use crate::credentials::SecretFields;
use crate::object_store::{ObjectStoreConfig, get_connector};

/// S3's secret options (object_store's keys and their aliases).
const S3_SECRETS: &[&str] = &[
    "aws_secret_access_key",
    "secret_access_key",
    "aws_session_token",
    "session_token",
    "aws_token",
    "token",
];

/// Azure's secret options: account keys, SAS, client secrets, bearer tokens, a connection
/// string.
const AZURE_SECRETS: &[&str] = &[
    "azure_storage_account_key",
    "azure_storage_access_key",
    "azure_storage_master_key",
    "account_key",
    "access_key",
    "master_key",
    "azure_storage_sas_key",
    "azure_storage_sas_token",
    "sas_key",
    "sas_token",
    "azure_client_secret",
    "client_secret",
    "azure_storage_token",
    "bearer_token",
    "token",
    "azure_storage_connection_string",
    "connection_string",
];

/// GCS's secret options: the service-account key (JSON).
const GCS_SECRETS: &[&str] = &["google_service_account_key", "service_account_key"];

pub(super) fn register(factories: &mut ConnectorFactories) {
    // A cloud's type is offered only when its client is compiled in (features `aws`, `gcp`,
    // `azure`): a registry, and the service's document, never offer what cannot connect.
    let kinds: [(DataSourceType, &[&str], &[&str], bool); 5] = [
        (DataSourceType::LocalFile, &["file"], &[], true),
        (DataSourceType::Memory, &["memory"], &[], true),
        (
            DataSourceType::S3,
            &["s3", "s3a"],
            S3_SECRETS,
            cfg!(feature = "aws"),
        ),
        (
            DataSourceType::Gcs,
            &["gs"],
            GCS_SECRETS,
            cfg!(feature = "gcp"),
        ),
        (
            DataSourceType::AzureBlob,
            &["az", "azure", "abfs", "abfss", "adl"],
            AZURE_SECRETS,
            cfg!(feature = "azure"),
        ),
    ];
    for (source_type, schemes, secrets, _) in kinds.into_iter().filter(|k| k.3) {
        factories.register_with_schema(
            source_type,
            schemes,
            SecretFields::new().with_all(secrets),
            settings_schema(source_type, schemes),
            move |settings| {
                let (uri, config) = object_store_config(settings)?;
                if !has_scheme(&uri, schemes) {
                    return Err(Error::configuration(format!(
                        "a `{}` data source takes a {} URI, not {uri:?}",
                        type_name(settings.source_type()),
                        schemes
                            .iter()
                            .map(|s| format!("{s}://"))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ))
                    .with_component(settings.id()));
                }
                Ok(Arc::new(get_connector(&uri, &config)?) as Arc<dyn Connector>)
            },
        );
    }
}

/// The URI and the [`ObjectStoreConfig`] of an object-store data source's settings: `uri`,
/// and every other plain setting and secret as an option.
///
/// # Errors
///
/// [`Error::Configuration`] for a missing `uri` or an option that is not a string, boolean
/// or number (named by key).
pub fn object_store_config(settings: &SourceSettings) -> Result<(String, ObjectStoreConfig)> {
    let uri = settings.require_str("uri")?.to_owned();
    let mut config = ObjectStoreConfig::new();
    for (key, value) in settings.plain() {
        if key == "uri" {
            continue;
        }
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Bool(_) | serde_json::Value::Number(_) => value.to_string(),
            _ => {
                return Err(Error::configuration(format!(
                    "setting `{key}` must be a string, a boolean or a number"
                ))
                .with_component(settings.id()));
            }
        };
        config.set(key, text);
    }
    for (key, secret) in settings.secrets() {
        config.set(key, secret.expose_secret().to_owned());
    }
    Ok((uri, config))
}
