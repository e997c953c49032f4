//! The settings schema of each object-store data source type: its URI's schemes, and the
//! option names object_store's builder for the scheme knows, so that a form (or the REST
//! service's document) offers them and a typo is refused before anything is built.

use collectors_core::DataSourceType;
use serde_json::{Map, Value, json};

/// S3's own option names (object_store's `AmazonS3ConfigKey`, with its aliases).
const S3: &[&str] = &[
    "aws_access_key_id",
    "access_key_id",
    "aws_secret_access_key",
    "secret_access_key",
    "aws_default_region",
    "default_region",
    "aws_region",
    "region",
    "aws_bucket",
    "aws_bucket_name",
    "bucket_name",
    "bucket",
    "aws_endpoint_url",
    "aws_endpoint",
    "endpoint_url",
    "endpoint",
    "aws_endpoint_url_s3",
    "aws_session_token",
    "aws_token",
    "session_token",
    "token",
    "aws_virtual_hosted_style_request",
    "virtual_hosted_style_request",
    "aws_s3_express",
    "s3_express",
    "aws_imdsv1_fallback",
    "imdsv1_fallback",
    "aws_metadata_endpoint",
    "metadata_endpoint",
    "aws_unsigned_payload",
    "unsigned_payload",
    "aws_checksum_algorithm",
    "checksum_algorithm",
    "aws_container_credentials_relative_uri",
    "container_credentials_relative_uri",
    "aws_container_credentials_full_uri",
    "container_credentials_full_uri",
    "aws_container_authorization_token_file",
    "container_authorization_token_file",
    "aws_web_identity_token_file",
    "web_identity_token_file",
    "aws_role_arn",
    "role_arn",
    "aws_role_session_name",
    "role_session_name",
    "aws_endpoint_url_sts",
    "endpoint_url_sts",
    "aws_skip_signature",
    "skip_signature",
    "aws_copy_if_not_exists",
    "copy_if_not_exists",
    "aws_conditional_put",
    "conditional_put",
    "aws_disable_tagging",
    "disable_tagging",
    "aws_disable_bulk_delete",
    "disable_bulk_delete",
    "aws_request_payer",
    "request_payer",
    "aws_server_side_encryption",
    "server_side_encryption",
    "aws_sse_kms_key_id",
    "sse_kms_key_id",
    "aws_sse_bucket_key_enabled",
    "sse_bucket_key_enabled",
    "aws_sse_customer_key_base64",
    "sse_customer_key_base64",
];

/// GCS's own option names (`GoogleConfigKey`).
const GCS: &[&str] = &[
    "google_service_account",
    "service_account",
    "google_service_account_path",
    "service_account_path",
    "google_service_account_key",
    "service_account_key",
    "google_bucket",
    "google_bucket_name",
    "bucket",
    "bucket_name",
    "google_base_url",
    "base_url",
    "google_application_credentials",
    "application_credentials",
    "google_bearer_token",
    "bearer_token",
    "google_skip_signature",
    "skip_signature",
];

/// Azure's own option names (`AzureConfigKey`).
const AZURE: &[&str] = &[
    "azure_storage_account_key",
    "azure_storage_access_key",
    "azure_storage_master_key",
    "master_key",
    "account_key",
    "access_key",
    "azure_storage_account_name",
    "account_name",
    "azure_storage_client_id",
    "azure_client_id",
    "client_id",
    "azure_storage_client_secret",
    "azure_client_secret",
    "client_secret",
    "azure_storage_tenant_id",
    "azure_storage_authority_id",
    "azure_tenant_id",
    "azure_authority_id",
    "tenant_id",
    "authority_id",
    "azure_storage_authority_host",
    "azure_authority_host",
    "authority_host",
    "azure_storage_sas_key",
    "azure_storage_sas_token",
    "sas_key",
    "sas_token",
    "azure_storage_token",
    "bearer_token",
    "token",
    "azure_storage_use_emulator",
    "use_emulator",
    "azure_storage_endpoint",
    "azure_endpoint",
    "endpoint",
    "azure_msi_endpoint",
    "azure_identity_endpoint",
    "identity_endpoint",
    "msi_endpoint",
    "azure_object_id",
    "object_id",
    "azure_msi_resource_id",
    "msi_resource_id",
    "azure_federated_token_file",
    "federated_token_file",
    "azure_use_fabric_endpoint",
    "use_fabric_endpoint",
    "azure_use_azure_cli",
    "use_azure_cli",
    "azure_skip_signature",
    "skip_signature",
    "azure_container_name",
    "container_name",
    "azure_disable_tagging",
    "disable_tagging",
    "azure_fabric_token_service_url",
    "fabric_token_service_url",
    "azure_fabric_workload_host",
    "fabric_workload_host",
    "azure_fabric_session_token",
    "fabric_session_token",
    "azure_fabric_cluster_identifier",
    "fabric_cluster_identifier",
    "azure_credential_type",
    "credential_type",
    "azure_storage_encryption_key",
    "encryption_key",
];

/// The HTTP client's option names (`ClientConfigKey`), taken by every cloud, bare or behind
/// the cloud's prefix (`aws_allow_http`).
const CLIENT: &[&str] = &[
    "allow_http",
    "allow_invalid_certificates",
    "disable_system_certificates",
    "connect_timeout",
    "default_content_type",
    "http1_only",
    "http2_only",
    "http2_keep_alive_interval",
    "http2_keep_alive_timeout",
    "http2_keep_alive_while_idle",
    "http2_max_frame_size",
    "pool_idle_timeout",
    "pool_max_idle_per_host",
    "proxy_url",
    "proxy_ca_certificate",
    "proxy_excludes",
    "randomize_addresses",
    "read_timeout",
    "timeout",
    "user_agent",
];

/// The option names of `source_type`, each one its builder parses (names a build of
/// object_store no longer knows are left out rather than offered).
pub(super) fn option_names(source_type: DataSourceType) -> Vec<String> {
    let (own, prefix): (&[&str], &str) = match source_type {
        DataSourceType::S3 => (S3, "aws_"),
        DataSourceType::Gcs => (GCS, "google_"),
        DataSourceType::AzureBlob => (AZURE, "azure_"),
        _ => return Vec::new(),
    };
    let mut names: Vec<String> = own.iter().map(|s| (*s).to_owned()).collect();
    for key in CLIENT {
        names.push((*key).to_owned());
        names.push(format!("{prefix}{key}"));
    }
    names.retain(|name| known(source_type, name));
    names.sort();
    names.dedup();
    names
}

#[allow(unused_variables)]
fn known(source_type: DataSourceType, name: &str) -> bool {
    match source_type {
        #[cfg(feature = "aws")]
        DataSourceType::S3 => name.parse::<object_store::aws::AmazonS3ConfigKey>().is_ok(),
        #[cfg(feature = "gcp")]
        DataSourceType::Gcs => name.parse::<object_store::gcp::GoogleConfigKey>().is_ok(),
        #[cfg(feature = "azure")]
        DataSourceType::AzureBlob => name.parse::<object_store::azure::AzureConfigKey>().is_ok(),
        _ => true,
    }
}

/// The JSON Schema of an object-store data source's settings: `uri` with one of `schemes`
/// (a plain path too for `local_file`), and the type's options, nothing else.
pub(super) fn settings_schema(source_type: DataSourceType, schemes: &[&str]) -> Value {
    let alternatives = schemes.join("|");
    // No query or fragment (`?`, `#`: percent-encode them in names), no control
    // character; a bucket or container is a host name.
    let pattern = match source_type {
        DataSourceType::LocalFile => {
            "^(file:///[^?#\\x00-\\x1f\\x7f]*|(?![A-Za-z][A-Za-z0-9+.-]*://)[^?#\\x00-\\x1f\\x7f]+)$"
                .to_owned()
        }
        DataSourceType::Memory => {
            "^memory://([A-Za-z0-9][A-Za-z0-9._-]*)?(/[^?#\\x00-\\x1f\\x7f]*)?$".to_owned()
        }
        // A container name has no dot; `az`, `abfs` and `abfss` also take the long form
        // `container@account.dfs.core.windows.net` (object_store's parse_url).
        DataSourceType::AzureBlob => format!(
            "^((az|abfs|abfss)://[A-Za-z0-9][A-Za-z0-9_-]*@[A-Za-z0-9-]+\\.(dfs|blob)\\.core\\.windows\\.net\
             |({alternatives})://[A-Za-z0-9][A-Za-z0-9_-]*)(/[^?#\\x00-\\x1f\\x7f]*)?$"
        ),
        _ => format!("^({alternatives})://[A-Za-z0-9][A-Za-z0-9._-]*(/[^?#\\x00-\\x1f\\x7f]*)?$"),
    };
    let mut properties = Map::new();
    properties.insert(
        "uri".into(),
        json!({
            "type": "string",
            "pattern": pattern,
            "description": format!("Where: a `{}` URI.", schemes.iter().map(|s| format!("{s}://")).collect::<Vec<_>>().join("`, `")),
        }),
    );
    for name in option_names(source_type) {
        properties.insert(
            name,
            json!({"type": ["string", "boolean", "number"],
                   "description": "An object_store option of the scheme."}),
        );
    }
    json!({
        "title": "ObjectStoreSettings",
        "description": "The settings of an object-store data source: its `uri`, and the \
                        object_store options of its scheme (strings, booleans or numbers).",
        "type": "object",
        "properties": properties,
        "required": ["uri"],
        "additionalProperties": false,
    })
}

/// Whether `uri` has one of `schemes` (a plain path counts as `file`).
pub(super) fn has_scheme(uri: &str, schemes: &[&str]) -> bool {
    match uri.trim().split_once("://") {
        Some((scheme, _)) => schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)),
        None => schemes.contains(&"file"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cloud_offers_its_own_and_the_clients_options() {
        let s3 = option_names(DataSourceType::S3);
        assert!(s3.iter().any(|n| n == "aws_region"));
        assert!(s3.iter().any(|n| n == "allow_http"));
        assert!(s3.iter().any(|n| n == "aws_allow_http"));
        assert!(!s3.iter().any(|n| n == "azure_storage_account_key"));
        assert!(option_names(DataSourceType::LocalFile).is_empty());
    }

    #[test]
    fn a_uri_must_have_the_types_scheme() {
        assert!(has_scheme("s3://bucket/x", &["s3", "s3a"]));
        assert!(has_scheme("S3A://bucket", &["s3", "s3a"]));
        assert!(!has_scheme("data/in", &["s3", "s3a"]));
        assert!(has_scheme("data/in", &["file"]));
        assert!(!has_scheme("gs://b", &["file"]));
    }
}
